/* SPDX-License-Identifier: BSD-3-Clause */
/* test_metrics.c — the metrics registry: registration rules, series updates,
 * histograms set from totals kept elsewhere, collection hooks, and the
 * Prometheus text exposition (every line parsed). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/metrics_fixture.h"

TestSuite(metrics, .init = given_registry, .fini = rt_registry_teardown, .timeout = 10);

static const char *const code_label[] = {"code"};

Test(metrics, counter_exposes_help_type_and_series_in_creation_order)
{
    redisconn_counter *c;
    const char *ok[] = {"200"}, *err[] = {"500"};
    cr_assert_eq(redisconn_metrics_add_counter(registry, "http_requests_total", "Requests served.",
                                               code_label, 1, &c),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_counter_add(c, ok, 3), REDISCONN_OK);
    cr_assert_eq(redisconn_counter_add(c, err, 1.5), REDISCONN_OK);
    cr_assert_eq(redisconn_counter_add(c, ok, 1), REDISCONN_OK);
    collect_metrics();
    cr_assert_str_eq(collected_text, "# HELP http_requests_total Requests served.\n"
                                     "# TYPE http_requests_total counter\n"
                                     "http_requests_total{code=\"200\"} 4\n"
                                     "http_requests_total{code=\"500\"} 1.5\n");
    cr_assert_eq(collected->lines, 4);
}

Test(metrics, families_are_exposed_in_registration_order)
{
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "zeta", "z", NULL, 0, NULL), REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_add_counter(registry, "alpha_total", "a", NULL, 0, NULL),
                 REDISCONN_OK);
    collect_metrics();
    cr_assert_str_eq(collected_text,
                     "# HELP zeta z\n# TYPE zeta gauge\nzeta 0\n"
                     "# HELP alpha_total a\n# TYPE alpha_total counter\nalpha_total 0\n");
}

Test(metrics, unlabeled_family_is_exposed_at_zero_from_registration)
{
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "temperature", "t", NULL, 0, NULL),
                 REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "temperature"), 0);
}

Test(metrics, labeled_family_without_series_is_not_exposed)
{
    cr_assert_eq(redisconn_metrics_add_counter(registry, "c_total", "c", code_label, 1, NULL),
                 REDISCONN_OK);
    collect_metrics();
    cr_assert_str_eq(collected_text, "");
}

Test(metrics, empty_registry_collects_an_empty_string)
{
    collect_metrics();
    cr_assert_str_eq(collected_text, "");
}

Test(metrics, every_line_of_a_mixed_registry_is_valid)
{
    static const char *const two[] = {"pool", "state"};
    const char *v1[] = {"a", "idle"}, *v2[] = {"b:c", "in-use"}, *h[] = {"GET"};
    static const char *const op[] = {"op"};
    redisconn_gauge *g;
    redisconn_counter *c;
    redisconn_histogram *hi;
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "conns", "Connections.", two, 2, &g),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_add_counter(registry, "ns:errors_total", "Errors.", NULL, 0, &c),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "latency_seconds", "Latency.", op, 1,
                                                 NULL, 0, &hi),
                 REDISCONN_OK);
    redisconn_gauge_set(g, v1, 3);
    redisconn_gauge_set(g, v2, -0.25);
    redisconn_counter_add(c, NULL, 7);
    redisconn_histogram_observe(hi, h, 0.003);
    collect_metrics();
    /* 2 comments each, 2 gauges, 1 counter, 11 + 1 buckets + sum + count. */
    cr_assert_eq(collected->lines, 6 + 2 + 1 + 14);
    cr_assert_str_eq(rt_expo_family(collected, "conns")->type, "gauge");
    cr_assert_str_eq(rt_expo_family(collected, "ns:errors_total")->type, "counter");
    cr_assert_str_eq(rt_expo_family(collected, "latency_seconds")->type, "histogram");
    cr_assert_eq(rt_expo_value(collected, "conns{pool=\"b:c\",state=\"in-use\"}"), -0.25);
    cr_assert_eq(rt_expo_value(collected, "ns:errors_total"), 7);
    cr_assert_eq(rt_expo_value(collected, "latency_seconds_bucket{op=\"GET\",le=\"0.005\"}"), 1);
    cr_assert_eq(rt_expo_value(collected, "latency_seconds_count{op=\"GET\"}"), 1);
}

Test(metrics, label_values_escape_backslash_quote_and_newline)
{
    static const char *const l[] = {"v"};
    const char *raw = "a\\b\"c\nd";
    const char *vals[] = {raw};
    redisconn_gauge *g;
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "esc", "e", l, 1, &g), REDISCONN_OK);
    cr_assert_eq(redisconn_gauge_set(g, vals, 1), REDISCONN_OK);
    collect_metrics();
    cr_assert_not_null(strstr(collected_text, "\nesc{v=\"a\\\\b\\\"c\\nd\"} 1\n"), "%s",
                       collected_text);
    const rt_sample *s = rt_expo_find(collected, "esc{v=\"a\\\\b\\\"c\\nd\"}");
    cr_assert_not_null(s);
    cr_assert_str_eq(s->values[0], raw, "escaping must round-trip");
}

Test(metrics, help_escapes_backslash_and_newline_but_not_quotes)
{
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "h", "say \"hi\"\\n\nnext", NULL, 0, NULL),
                 REDISCONN_OK);
    collect_metrics();
    cr_assert_not_null(strstr(collected_text, "# HELP h say \"hi\"\\\\n\\nnext\n"), "%s",
                       collected_text);
    cr_assert_str_eq(rt_expo_family(collected, "h")->help, "say \"hi\"\\n\nnext");
}

Test(metrics, duplicate_name_is_rejected_whatever_the_type)
{
    redisconn_counter *c = NULL, *again = NULL;
    cr_assert_eq(redisconn_metrics_add_counter(registry, "x_total", "x", NULL, 0, &c),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_add_counter(registry, "x_total", "x", NULL, 0, &again),
                 REDISCONN_ERR_STATE);
    cr_assert_null(again);
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "x_total", "x", NULL, 0, NULL),
                 REDISCONN_ERR_STATE);
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "x_total", "x", NULL, 0, NULL, 0, NULL),
                 REDISCONN_ERR_STATE);
    collect_metrics();
    cr_assert_eq(collected->nfamilies, 1);
}

Test(metrics, name_clashing_with_histogram_series_is_rejected)
{
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "lat", "l", NULL, 0, NULL, 0, NULL),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_add_counter(registry, "lat_count", "c", NULL, 0, NULL),
                 REDISCONN_ERR_STATE);
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "lat_bucket", "b", NULL, 0, NULL),
                 REDISCONN_ERR_STATE);
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "lat_sum", "s", NULL, 0, NULL),
                 REDISCONN_ERR_STATE);
    cr_assert_eq(redisconn_metrics_add_counter(registry, "q_sum", "q", NULL, 0, NULL),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "q", "q", NULL, 0, NULL, 0, NULL),
                 REDISCONN_ERR_STATE);
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "lat_max", "m", NULL, 0, NULL),
                 REDISCONN_OK);
}

Test(metrics, invalid_metric_names_are_rejected)
{
    const char *bad[] = {"", "1abc", "a-b", "a b", "caf\xc3\xa9", "a.b", "a{b}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(redisconn_metrics_add_counter(registry, bad[i], "h", NULL, 0, NULL),
                     REDISCONN_ERR_INVALID, "accepted \"%s\"", bad[i]);
    cr_assert_eq(redisconn_metrics_add_counter(registry, NULL, "h", NULL, 0, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_metrics_add_counter(registry, "ok", NULL, NULL, 0, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_metrics_add_counter(registry, "_a:b_C9", "h", NULL, 0, NULL),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_add_counter(registry, ":colon_first", "h", NULL, 0, NULL),
                 REDISCONN_OK);
}

/* Registers a gauge with one label name; returns the status. */
static int gauge_with_label(const char *label)
{
    const char *l[] = {label};
    return redisconn_metrics_add_gauge(registry, "g", "h", l, 1, NULL);
}

Test(metrics, invalid_label_names_are_rejected)
{
    const char *bad[] = {"", "1a", "a:b", "a-b", "__reserved", "\xc3\xa9"};
    static const char *const dup[] = {"a", "a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(gauge_with_label(bad[i]), REDISCONN_ERR_INVALID, "accepted \"%s\"", bad[i]);
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "g", "h", dup, 2, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "g", "h", NULL, 1, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(gauge_with_label("_ok9"), REDISCONN_OK);
}

Test(metrics, le_is_reserved_for_histograms_only)
{
    static const char *const le[] = {"le"};
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "h", "h", le, 1, NULL, 0, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "g", "g", le, 1, NULL), REDISCONN_OK);
}

Test(metrics, invalid_utf8_in_help_or_label_value_is_rejected)
{
    static const char *const l[] = {"v"};
    const char *truncated[] = {"\xc3"}, *overlong[] = {"\xc0\xaf"}, *surrogate[] = {"\xed\xa0\x80"};
    const char *fine[] = {"caf\xc3\xa9 \xf0\x9f\x98\x80"};
    redisconn_gauge *g;
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "bad_help", "\xff", NULL, 0, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "g", "g", l, 1, &g), REDISCONN_OK);
    cr_assert_eq(redisconn_gauge_set(g, truncated, 1), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_gauge_set(g, overlong, 1), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_gauge_set(g, surrogate, 1), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_gauge_set(g, fine, 1), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(collected->n, 1, "only the valid series exists");
}

Test(metrics, missing_label_values_are_rejected)
{
    static const char *const l[] = {"a", "b"};
    const char *half[] = {"x", NULL};
    redisconn_counter *c;
    cr_assert_eq(redisconn_metrics_add_counter(registry, "c", "c", l, 2, &c), REDISCONN_OK);
    cr_assert_eq(redisconn_counter_add(c, NULL, 1), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_counter_add(c, half, 1), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_counter_add(NULL, half, 1), REDISCONN_ERR_INVALID);
}

/* A counter "c_total" at 2. */
static redisconn_counter *counter_at_2(void)
{
    redisconn_counter *c;
    cr_assert_eq(redisconn_metrics_add_counter(registry, "c_total", "c", NULL, 0, &c),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_counter_add(c, NULL, 2), REDISCONN_OK);
    return c;
}

Test(metrics, counter_rejects_negative_deltas)
{
    redisconn_counter *c = counter_at_2();
    cr_assert_eq(redisconn_counter_add(c, NULL, -1), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_counter_set(c, NULL, -3), REDISCONN_ERR_INVALID);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "c_total"), 2);
}

Test(metrics, counter_rejects_nan_deltas)
{
    redisconn_counter *c = counter_at_2();
    cr_assert_eq(redisconn_counter_add(c, NULL, NAN), REDISCONN_ERR_INVALID);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "c_total"), 2);
}

Test(metrics, counter_set_mirrors_an_external_total)
{
    redisconn_counter *c;
    cr_assert_eq(redisconn_metrics_add_counter(registry, "c_total", "c", NULL, 0, &c),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_counter_set(c, NULL, 41), REDISCONN_OK);
    cr_assert_eq(redisconn_counter_set(c, NULL, 42), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "c_total"), 42);
}

Test(metrics, gauge_goes_up_and_down)
{
    redisconn_gauge *g;
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "g", "g", NULL, 0, &g), REDISCONN_OK);
    cr_assert_eq(redisconn_gauge_set(g, NULL, 5), REDISCONN_OK);
    cr_assert_eq(redisconn_gauge_add(g, NULL, -7.5), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "g"), -2.5);
}

Test(metrics, special_values_are_written_as_prometheus_spells_them)
{
    static const char *const l[] = {"k"};
    const char *inf[] = {"inf"}, *ninf[] = {"ninf"}, *nan[] = {"nan"};
    redisconn_gauge *g;
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "g", "g", l, 1, &g), REDISCONN_OK);
    redisconn_gauge_set(g, inf, INFINITY);
    redisconn_gauge_set(g, ninf, -INFINITY);
    redisconn_gauge_set(g, nan, NAN);
    collect_metrics();
    cr_assert_not_null(strstr(collected_text, "g{k=\"inf\"} +Inf\n"));
    cr_assert_not_null(strstr(collected_text, "g{k=\"ninf\"} -Inf\n"));
    cr_assert_not_null(strstr(collected_text, "g{k=\"nan\"} NaN\n"));
}

Test(metrics, values_use_the_shortest_exact_decimal_form)
{
    static const char *const l[] = {"k"};
    const char *a[] = {"a"}, *b[] = {"b"}, *c[] = {"c"};
    redisconn_gauge *g;
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "g", "g", l, 1, &g), REDISCONN_OK);
    redisconn_gauge_set(g, a, 0.1);
    redisconn_gauge_set(g, b, 123456789012.0);
    redisconn_gauge_set(g, c, 1.0 / 3.0);
    collect_metrics();
    cr_assert_not_null(strstr(collected_text, "g{k=\"a\"} 0.1\n"), "%s", collected_text);
    cr_assert_not_null(strstr(collected_text, "g{k=\"b\"} 123456789012\n"), "%s", collected_text);
    cr_assert_eq(rt_expo_value(collected, "g{k=\"c\"}"), 1.0 / 3.0, "must round-trip exactly");
}

Test(metrics, histogram_buckets_are_cumulative)
{
    static const double bounds[] = {1, 2, 5};
    const double obs[] = {0.5, 1, 1.5, 3, 10};
    redisconn_histogram *h;
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "d", "d", NULL, 0, bounds, 3, &h),
                 REDISCONN_OK);
    for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
        cr_assert_eq(redisconn_histogram_observe(h, NULL, obs[i]), REDISCONN_OK);
    collect_metrics();
    cr_assert_str_eq(collected_text, "# HELP d d\n# TYPE d histogram\n"
                                     "d_bucket{le=\"1\"} 2\n"
                                     "d_bucket{le=\"2\"} 3\n"
                                     "d_bucket{le=\"5\"} 4\n"
                                     "d_bucket{le=\"+Inf\"} 5\n"
                                     "d_sum 16\n"
                                     "d_count 5\n");
}

Test(metrics, histogram_with_labels_puts_le_last)
{
    static const char *const l[] = {"op"};
    static const double bounds[] = {0.5};
    const char *get[] = {"GET"};
    redisconn_histogram *h;
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "t", "t", l, 1, bounds, 1, &h),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_histogram_observe(h, get, 0.25), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "t_bucket{op=\"GET\",le=\"0.5\"}"), 1);
    cr_assert_eq(rt_expo_value(collected, "t_bucket{op=\"GET\",le=\"+Inf\"}"), 1);
    cr_assert_eq(rt_expo_value(collected, "t_sum{op=\"GET\"}"), 0.25);
    cr_assert_eq(rt_expo_value(collected, "t_count{op=\"GET\"}"), 1);
}

Test(metrics, histogram_default_buckets_are_prometheus_defaults)
{
    static const double def[] = REDISCONN_METRICS_DEFAULT_BUCKETS;
    redisconn_histogram *h;
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "h", "h", NULL, 0, NULL, 0, &h),
                 REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(collected->n, (int)(sizeof(def) / sizeof(def[0])) + 3);
    cr_assert_not_null(rt_expo_find(collected, "h_bucket{le=\"0.005\"}"));
    cr_assert_not_null(rt_expo_find(collected, "h_bucket{le=\"10\"}"));
}

Test(metrics, histogram_bounds_must_be_increasing)
{
    static const double same[] = {1, 1}, down[] = {2, 1};
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "a", "h", NULL, 0, same, 2, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "a", "h", NULL, 0, down, 2, NULL),
                 REDISCONN_ERR_INVALID);
}

Test(metrics, histogram_bounds_must_be_numbers)
{
    static const double nan[] = {1, NAN};
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "a", "h", NULL, 0, nan, 2, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "a", "h", NULL, 0, NULL, 3, NULL),
                 REDISCONN_ERR_INVALID, "bounds missing");
}

Test(metrics, histogram_infinite_last_bound_is_the_inf_bucket)
{
    static const double inf_first[] = {INFINITY}, inf_last[] = {1, INFINITY};
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "a", "h", NULL, 0, inf_last, 2, NULL),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "b", "h", NULL, 0, inf_first, 1, NULL),
                 REDISCONN_OK);
    collect_metrics();
    cr_assert_not_null(rt_expo_find(collected, "a_bucket{le=\"1\"}"));
    cr_assert_eq(collected->n, 3 + 2 + 3 - 1, "the +Inf bound is not written twice");
}

Test(metrics, histogram_rejects_nan_observations)
{
    redisconn_histogram *h;
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "h", "h", NULL, 0, NULL, 0, &h),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_histogram_observe(h, NULL, NAN), REDISCONN_ERR_INVALID);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "h_count"), 0);
}

/* --- histograms set from totals kept elsewhere (redisconn_histogram_set) --- */

/* A histogram "w" with bounds 1, 2, 5; labeled "pool" when `labeled`. */
static redisconn_histogram *set_histogram(int labeled)
{
    static const char *const l[] = {"pool"};
    static const double bounds[] = {1, 2, 5};
    redisconn_histogram *h;
    cr_assert_eq(redisconn_metrics_add_histogram(registry, "w", "Waits.", labeled ? l : NULL,
                                                 labeled ? 1 : 0, bounds, 3, &h),
                 REDISCONN_OK);
    return h;
}

Test(metrics, histogram_set_exposes_cumulative_buckets_count_and_sum)
{
    const uint64_t counts[] = {2, 1, 0, 3};
    cr_assert_eq(redisconn_histogram_set(set_histogram(0), NULL, counts, 4, 20.5), REDISCONN_OK);
    collect_metrics();
    cr_assert_str_eq(collected_text, "# HELP w Waits.\n# TYPE w histogram\n"
                                     "w_bucket{le=\"1\"} 2\n"
                                     "w_bucket{le=\"2\"} 3\n"
                                     "w_bucket{le=\"5\"} 3\n"
                                     "w_bucket{le=\"+Inf\"} 6\n"
                                     "w_sum 20.5\n"
                                     "w_count 6\n");
}

Test(metrics, histogram_set_replaces_earlier_observations_and_sets)
{
    const uint64_t first[] = {5, 5, 5, 5}, second[] = {0, 1, 0, 0};
    redisconn_histogram *h = set_histogram(0);
    cr_assert_eq(redisconn_histogram_observe(h, NULL, 0.5), REDISCONN_OK);
    cr_assert_eq(redisconn_histogram_set(h, NULL, first, 4, 100), REDISCONN_OK);
    cr_assert_eq(redisconn_histogram_set(h, NULL, second, 4, 1.5), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "w_bucket{le=\"1\"}"), 0);
    cr_assert_eq(rt_expo_value(collected, "w_bucket{le=\"2\"}"), 1);
    cr_assert_eq(rt_expo_value(collected, "w_bucket{le=\"+Inf\"}"), 1);
    cr_assert_eq(rt_expo_value(collected, "w_count"), 1);
    cr_assert_eq(rt_expo_value(collected, "w_sum"), 1.5);
}

Test(metrics, histogram_observe_after_set_adds_to_the_totals)
{
    const uint64_t counts[] = {1, 0, 0, 0};
    redisconn_histogram *h = set_histogram(0);
    cr_assert_eq(redisconn_histogram_set(h, NULL, counts, 4, 0.5), REDISCONN_OK);
    cr_assert_eq(redisconn_histogram_observe(h, NULL, 3), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "w_bucket{le=\"5\"}"), 2);
    cr_assert_eq(rt_expo_value(collected, "w_count"), 2);
    cr_assert_eq(rt_expo_value(collected, "w_sum"), 3.5);
}

Test(metrics, histogram_set_creates_a_labeled_series_with_le_last)
{
    const char *pool[] = {"default"};
    const uint64_t counts[] = {0, 0, 7, 1};
    cr_assert_eq(redisconn_histogram_set(set_histogram(1), pool, counts, 4, 30), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "w_bucket{pool=\"default\",le=\"2\"}"), 0);
    cr_assert_eq(rt_expo_value(collected, "w_bucket{pool=\"default\",le=\"5\"}"), 7);
    cr_assert_eq(rt_expo_value(collected, "w_bucket{pool=\"default\",le=\"+Inf\"}"), 8);
    cr_assert_eq(rt_expo_value(collected, "w_count{pool=\"default\"}"), 8);
    cr_assert_eq(rt_expo_value(collected, "w_sum{pool=\"default\"}"), 30);
}

/* A histogram of bounds 1, 2, 5 with one observation of 1. */
static redisconn_histogram *histogram_with_one_observation(void)
{
    redisconn_histogram *h = set_histogram(0);
    cr_assert_eq(redisconn_histogram_observe(h, NULL, 1), REDISCONN_OK);
    return h;
}

Test(metrics, histogram_set_rejects_bad_counts_changing_nothing)
{
    const uint64_t five[] = {1, 1, 1, 1, 1}, huge[] = {UINT64_MAX, 1, 0, 0};
    redisconn_histogram *h = histogram_with_one_observation();
    cr_assert_eq(redisconn_histogram_set(h, NULL, five, 3, 1), REDISCONN_ERR_INVALID,
                 "the +Inf bucket is missing");
    cr_assert_eq(redisconn_histogram_set(h, NULL, five, 5, 1), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_histogram_set(h, NULL, huge, 4, 1), REDISCONN_ERR_INVALID,
                 "a total beyond 64 bits");
    cr_assert_eq(redisconn_histogram_set(h, NULL, NULL, 4, 1), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_histogram_set(NULL, NULL, five, 4, 1), REDISCONN_ERR_INVALID);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "w_count"), 1);
    cr_assert_eq(rt_expo_value(collected, "w_sum"), 1);
}

Test(metrics, histogram_set_rejects_a_nan_sum_changing_nothing)
{
    const uint64_t four[] = {1, 1, 1, 1};
    redisconn_histogram *h = histogram_with_one_observation();
    cr_assert_eq(redisconn_histogram_set(h, NULL, four, 4, NAN), REDISCONN_ERR_INVALID);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, "w_count"), 1);
    cr_assert_eq(rt_expo_value(collected, "w_sum"), 1);
}

Test(metrics, histogram_set_rejects_missing_or_invalid_label_values)
{
    const char *bad[] = {"\xff"};
    const uint64_t counts[] = {0, 0, 0, 0};
    redisconn_histogram *h = set_histogram(1);
    cr_assert_eq(redisconn_histogram_set(h, NULL, counts, 4, 0), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_histogram_set(h, bad, counts, 4, 0), REDISCONN_ERR_INVALID);
    collect_metrics();
    cr_assert_null(rt_expo_family(collected, "w"), "no series was created");
}

Test(metrics, find_returns_a_family_of_the_asked_type_only)
{
    redisconn_counter *c;
    cr_assert_eq(redisconn_metrics_add_counter(registry, "c_total", "c", NULL, 0, &c),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_find_counter(registry, "c_total"), c);
    cr_assert_null(redisconn_metrics_find_gauge(registry, "c_total"));
    cr_assert_null(redisconn_metrics_find_histogram(registry, "c_total"));
    cr_assert_null(redisconn_metrics_find_counter(registry, "nope"));
}

Test(metrics, remove_series_drops_exactly_that_series)
{
    const char *a[] = {"a"}, *b[] = {"b"};
    redisconn_counter *c;
    cr_assert_eq(redisconn_metrics_add_counter(registry, "c", "c", code_label, 1, &c),
                 REDISCONN_OK);
    redisconn_counter_add(c, a, 1);
    redisconn_counter_add(c, b, 2);
    cr_assert_eq(redisconn_metrics_remove_series(registry, "c", a), REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_remove_series(registry, "c", a), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_metrics_remove_series(registry, "nope", a), REDISCONN_ERR_INVALID);
    collect_metrics();
    cr_assert_null(rt_expo_find(collected, "c{code=\"a\"}"));
    cr_assert_eq(rt_expo_value(collected, "c{code=\"b\"}"), 2);
}

Test(metrics, many_series_are_all_kept)
{
    redisconn_counter *c;
    char v[16];
    const char *vals[] = {v};
    cr_assert_eq(redisconn_metrics_add_counter(registry, "c", "c", code_label, 1, &c),
                 REDISCONN_OK);
    for (int i = 0; i < 400; i++) {
        snprintf(v, sizeof(v), "%d", i);
        cr_assert_eq(redisconn_counter_add(c, vals, i), REDISCONN_OK);
    }
    collect_metrics();
    cr_assert_eq(collected->n, 400);
    cr_assert_eq(rt_expo_value(collected, "c{code=\"399\"}"), 399);
}

/* ---- collection hooks ------------------------------------------------------ */

typedef struct hook_rec {
    int calls;
    int order; /* global sequence when it last ran */
    int *seq;
    redisconn_gauge *g;
} hook_rec;

static void hook(redisconn_metrics *reg, void *arg)
{
    hook_rec *h = arg;
    cr_assert_eq(reg, registry);
    h->calls++;
    if (h->seq) h->order = ++*h->seq;
    if (h->g) redisconn_gauge_set(h->g, NULL, h->calls);
}

static void never_hook(redisconn_metrics *reg, void *arg)
{
    (void)reg;
    (void)arg;
    cr_assert_fail("a removed hook ran");
}

Test(metrics, hooks_run_right_before_each_collection)
{
    hook_rec h = {0, 0, NULL, NULL};
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "scrapes", "s", NULL, 0, &h.g),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_on_collect(registry, hook, &h), REDISCONN_OK);
    cr_assert_eq(h.calls, 0, "hooks run only when collecting");
    for (int i = 1; i <= 3; i++) {
        collect_metrics();
        cr_assert_eq(h.calls, i);
        cr_assert_eq(rt_expo_value(collected, "scrapes"), i,
                     "the hook's update is in this collection");
    }
}

Test(metrics, hooks_run_in_the_order_they_were_added)
{
    int seq = 0;
    hook_rec a = {0, 0, &seq, NULL}, b = {0, 0, &seq, NULL};
    cr_assert_eq(redisconn_metrics_on_collect(registry, hook, &a), REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_on_collect(registry, hook, &b), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(a.order, 1);
    cr_assert_eq(b.order, 2);
}

Test(metrics, removed_hook_never_runs)
{
    cr_assert_eq(redisconn_metrics_on_collect(registry, never_hook, NULL), REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_off_collect(registry, never_hook, NULL), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(redisconn_metrics_off_collect(registry, never_hook, NULL), REDISCONN_ERR_INVALID);
}

Test(metrics, same_hook_twice_is_rejected)
{
    hook_rec h = {0, 0, NULL, NULL};
    cr_assert_eq(redisconn_metrics_on_collect(registry, hook, &h), REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_on_collect(registry, hook, &h), REDISCONN_ERR_STATE);
    collect_metrics();
    cr_assert_eq(h.calls, 1);
}

static int self_removals;

static void self_removing_hook(redisconn_metrics *reg, void *arg)
{
    (void)arg;
    self_removals++;
    cr_assert_eq(redisconn_metrics_off_collect(reg, self_removing_hook, NULL), REDISCONN_OK);
    /* A later hook removed from here must not run in this collection either. */
    cr_assert_eq(redisconn_metrics_off_collect(reg, never_hook, NULL), REDISCONN_OK);
}

static void removes_only_itself(redisconn_metrics *reg, void *arg)
{
    (void)arg;
    self_removals++;
    cr_assert_eq(redisconn_metrics_off_collect(reg, removes_only_itself, NULL), REDISCONN_OK);
}

Test(metrics, hook_may_remove_itself)
{
    self_removals = 0;
    cr_assert_eq(redisconn_metrics_on_collect(registry, removes_only_itself, NULL), REDISCONN_OK);
    collect_metrics();
    collect_metrics();
    cr_assert_eq(self_removals, 1);
}

Test(metrics, hook_removed_by_an_earlier_hook_does_not_run)
{
    /* the earlier hook removes itself too, in the same callback */
    self_removals = 0;
    cr_assert_eq(redisconn_metrics_on_collect(registry, self_removing_hook, NULL), REDISCONN_OK);
    cr_assert_eq(redisconn_metrics_on_collect(registry, never_hook, NULL), REDISCONN_OK);
    collect_metrics();
    collect_metrics();
    cr_assert_eq(self_removals, 1);
}

static hook_rec added_late;

static void adding_hook(redisconn_metrics *reg, void *arg)
{
    (void)arg;
    redisconn_metrics_on_collect(reg, hook, &added_late);
}

Test(metrics, hook_added_during_a_collection_runs_from_the_next_one)
{
    memset(&added_late, 0, sizeof(added_late));
    cr_assert_eq(redisconn_metrics_on_collect(registry, adding_hook, NULL), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(added_late.calls, 0);
    collect_metrics();
    cr_assert_eq(added_late.calls, 1);
}

static void collecting_hook(redisconn_metrics *reg, void *arg)
{
    char *out = NULL;
    size_t len;
    (void)arg;
    cr_assert_eq(redisconn_metrics_collect(reg, &out, NULL), REDISCONN_ERR_STATE);
    cr_assert_null(out);
    cr_assert_eq(redisconn_metrics_collect_into(reg, NULL, 0, &len), REDISCONN_ERR_STATE);
    ++*(int *)arg;
}

Test(metrics, collecting_from_a_hook_is_a_state_error)
{
    int ran = 0;
    cr_assert_eq(redisconn_metrics_on_collect(registry, collecting_hook, &ran), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(ran, 1);
}

Test(metrics, collect_into_truncates_like_snprintf)
{
    char small[10], big[256];
    size_t len = 0, biglen = 0;
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "gauge_one", "help", NULL, 0, NULL),
                 REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(redisconn_metrics_collect_into(registry, small, sizeof(small), &len),
                 REDISCONN_OK);
    cr_assert_eq(len, strlen(collected_text));
    cr_assert_eq(strlen(small), sizeof(small) - 1);
    cr_assert_eq(strncmp(small, collected_text, sizeof(small) - 1), 0);
    cr_assert_eq(redisconn_metrics_collect_into(registry, big, sizeof(big), &biglen), REDISCONN_OK);
    cr_assert_eq(biglen, len);
    cr_assert_str_eq(big, collected_text);
    cr_assert_eq(redisconn_metrics_collect_into(registry, NULL, 0, &len), REDISCONN_OK);
    cr_assert_eq(len, biglen, "cap 0 only measures");
}

Test(metrics, collect_rejects_null_arguments)
{
    size_t len;
    cr_assert_eq(redisconn_metrics_collect(NULL, &collected_text, &len), REDISCONN_ERR_INVALID);
    cr_assert_null(collected_text);
    cr_assert_eq(redisconn_metrics_collect(registry, NULL, &len), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_metrics_collect_into(registry, NULL, 5, &len), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_metrics_on_collect(registry, NULL, NULL), REDISCONN_ERR_INVALID);
}
