/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_metrics.c — redisconn_report_stats() (the seed's ReportStats)
 * against a real pool on a real redis-server: the gauges follow leases, the
 * wait counters mirror the pool's totals. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/metrics_fixture.h"
#include "support/pool_fixture.h"

static void setup(void)
{
    given_server();
    given_registry();
}

static void teardown(void)
{
    rt_registry_teardown();
    rt_env_teardown();
}

TestSuite(pool_metrics, .init = setup, .fini = teardown, .timeout = 30);

#define IDLE(p)       "redis_pool_conns{pool=\"" p "\",state=\"idle\"}"
#define IN_USE(p)     "redis_pool_conns{pool=\"" p "\",state=\"in-use\"}"
#define WAIT_COUNT(p) "redis_pool_wait_count_total{pool=\"" p "\"}"
#define WAIT_US(p)    "redis_pool_wait_duration_microseconds_total{pool=\"" p "\"}"

/* Reports env.pool as "default", then collects. */
static const rt_expo *report(void)
{
    cr_assert_eq(redisconn_report_stats(registry, env.pool, "default"), REDISCONN_OK);
    return collect_metrics();
}

Test(pool_metrics, report_registers_the_seed_families_with_their_types)
{
    given_pool(NULL);
    report();
    cr_assert_eq(redisconn_report_stats(registry, env.pool, "default"), REDISCONN_OK,
                 "the second report reuses the families");
    collect_metrics();
    cr_assert_str_eq(rt_expo_family(collected, "redis_pool_conns")->type, "gauge");
    cr_assert_str_eq(rt_expo_family(collected, "redis_pool_wait_count_total")->type, "counter");
    cr_assert_str_eq(rt_expo_family(collected, "redis_pool_wait_duration_microseconds_total")->type,
                     "counter");
    cr_assert_str_eq(rt_expo_family(collected, "redis_pool_wait_seconds")->type, "histogram");
    cr_assert_str_eq(rt_expo_family(collected, "redis_pool_dials_total")->type, "counter");
    cr_assert_str_eq(rt_expo_family(collected, "redis_pool_dial_errors_total")->type, "counter");
    cr_assert_str_eq(rt_expo_family(collected, "redis_pool_fast_failed_total")->type, "counter");
    cr_assert_str_eq(rt_expo_family(collected, "redis_pool_server_down")->type, "gauge");
    cr_assert_str_eq(rt_expo_family(collected, "redis_pool_failovers_total")->type, "counter");
    cr_assert_eq(collected->nfamilies, 9);
    cr_assert_eq(collected->n, 4 + REDISCONN_WAIT_BUCKETS + 3 + 5,
                 "idle, in-use, wait count, wait duration, the wait histogram's "
                 "finite buckets, +Inf bucket, _sum and _count, and the outage series");
}

Test(pool_metrics, a_down_server_shows_in_the_outage_series)
{
    char addr[64];
    rt_acq a = {0};
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", rt_free_port());
    given_pool_at(addr, NULL);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 1000, rt_acq_cb, &a));
    cr_assert(rt_wait_acq(&env, &a, 3000));
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 1000, rt_acq_cb, &(rt_acq){0}));
    rt_loop_quiet(env.base, 20); /* the second acquire fails at once, from the loop */
    report();
    cr_assert_eq(rt_expo_value(collected, "redis_pool_server_down{pool=\"default\"}"), 1);
    cr_assert_eq(rt_expo_value(collected, "redis_pool_dial_errors_total{pool=\"default\"}"), 1);
    cr_assert_eq(rt_expo_value(collected, "redis_pool_fast_failed_total{pool=\"default\"}"), 1);
    cr_assert_eq(rt_expo_value(collected, "redis_pool_dials_total{pool=\"default\"}"), 1);
}

Test(pool_metrics, fresh_pool_reports_zeros)
{
    given_pool(NULL);
    report();
    cr_assert_eq(rt_expo_value(collected, IDLE("default")), 0);
    cr_assert_eq(rt_expo_value(collected, IN_USE("default")), 0);
    cr_assert_eq(rt_expo_value(collected, WAIT_COUNT("default")), 0);
    cr_assert_eq(rt_expo_value(collected, WAIT_US("default")), 0);
    cr_assert_eq(rt_expo_value(collected, "redis_pool_failovers_total{pool=\"default\"}"), 0);
}

Test(pool_metrics, in_use_gauge_counts_leased_connections)
{
    given_pool(NULL);
    redisconn_conn *a = rt_acquire_ok(&env);
    redisconn_conn *b = rt_acquire_ok(&env);
    report();
    cr_assert_eq(rt_expo_value(collected, IN_USE("default")), 2);
    cr_assert_eq(rt_expo_value(collected, IDLE("default")), 0);
    redisconn_release(a);
    redisconn_release(b);
}

Test(pool_metrics, idle_gauge_counts_released_connections)
{
    given_pool(NULL);
    redisconn_conn *a = rt_acquire_ok(&env);
    redisconn_conn *b = rt_acquire_ok(&env);
    redisconn_release(a);
    redisconn_release(b);
    report();
    cr_assert_eq(rt_expo_value(collected, IDLE("default")), 2);
    cr_assert_eq(rt_expo_value(collected, IN_USE("default")), 0);
}

Test(pool_metrics, wait_counters_mirror_the_pool_totals)
{
    redisconn_pool_options *o = given_options();
    redisconn_pool_stats st;
    rt_acq w = {0};
    o->max_active = 1;
    redisconn_conn *held = given_exhausted(given_pool(o), 1)[0];
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &w));
    rt_loop_quiet(env.base, 20); /* deliberate: the waiter waits a measurable time */
    cr_assert_eq(w.calls, 0, "the waiter must wait");
    redisconn_release(held);
    cr_assert(rt_wait_acq(&env, &w, 2000));
    cr_assert_eq(w.status, REDISCONN_OK);
    redisconn_release(w.conn);
    st = pool_stats();
    cr_assert_eq(st.wait_count, 1);
    cr_assert_gt(st.wait_duration_us, 0);
    report();
    cr_assert_eq(rt_expo_value(collected, WAIT_COUNT("default")), 1);
    cr_assert_eq(rt_expo_value(collected, WAIT_US("default")), (double)st.wait_duration_us);
}

static void report_hook(redisconn_metrics *reg, void *arg)
{
    cr_assert_eq(redisconn_report_stats(reg, arg, "default"), REDISCONN_OK);
}

Test(pool_metrics, report_from_a_hook_refreshes_every_collection)
{
    given_pool(NULL);
    cr_assert_eq(redisconn_metrics_on_collect(registry, report_hook, env.pool), REDISCONN_OK);
    redisconn_conn *c = rt_acquire_ok(&env);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, IN_USE("default")), 1);
    cr_assert_eq(rt_expo_value(collected, IDLE("default")), 0);
    redisconn_release(c);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, IN_USE("default")), 0);
    cr_assert_eq(rt_expo_value(collected, IDLE("default")), 1);
    cr_assert_eq(redisconn_metrics_off_collect(registry, report_hook, env.pool), REDISCONN_OK);
}

static void count_close(redisconn_pool *pool, void *arg)
{
    (void)pool;
    ++*(int *)arg;
}

Test(pool_metrics, pools_are_told_apart_by_name)
{
    int other_closed = 0;
    given_pool(NULL);
    redisconn_pool *other = redisconn_pool_new(env.base, env.srv->addr, 0);
    cr_assert_not_null(other);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_report_stats(registry, env.pool, "cache"), REDISCONN_OK);
    cr_assert_eq(redisconn_report_stats(registry, other, "sessions"), REDISCONN_OK);
    collect_metrics();
    cr_assert_eq(rt_expo_value(collected, IN_USE("cache")), 1);
    cr_assert_eq(rt_expo_value(collected, IN_USE("sessions")), 0);
    redisconn_release(c);
    cr_assert_eq(redisconn_pool_close(other, count_close, &other_closed), REDISCONN_OK);
    cr_assert(rt_loop_until(env.base, &other_closed, 2000), "the other pool was not freed");
}

Test(pool_metrics, pool_name_is_escaped_as_a_label_value)
{
    given_pool(NULL);
    cr_assert_eq(redisconn_report_stats(registry, env.pool, "a\"b"), REDISCONN_OK);
    collect_metrics();
    cr_assert_not_null(rt_expo_find(collected, "redis_pool_conns{pool=\"a\\\"b\",state=\"idle\"}"));
}

Test(pool_metrics, conflicting_family_is_a_state_error)
{
    given_pool(NULL);
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "redis_pool_wait_count_total", "taken", NULL,
                                             0, NULL),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_report_stats(registry, env.pool, "default"), REDISCONN_ERR_STATE);
}

Test(pool_metrics, family_with_other_labels_is_a_state_error)
{
    static const char *const l[] = {"pool"};
    given_pool(NULL);
    cr_assert_eq(redisconn_metrics_add_gauge(registry, "redis_pool_conns", "taken", l, 1, NULL),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_report_stats(registry, env.pool, "default"), REDISCONN_ERR_STATE);
}

Test(pool_metrics, invalid_arguments_are_rejected)
{
    given_pool(NULL);
    cr_assert_eq(redisconn_report_stats(NULL, env.pool, "p"), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_report_stats(registry, NULL, "p"), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_report_stats(registry, env.pool, NULL), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_report_stats(registry, env.pool, "\xff"), REDISCONN_ERR_INVALID);
    collect_metrics();
    cr_assert_eq(collected->n, 0, "nothing registered by rejected calls");
}
