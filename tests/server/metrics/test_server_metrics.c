/* SPDX-License-Identifier: BSD-3-Clause */
/* test_server_metrics.c — GET /metrics of a server running in this process:
 * Prometheus text with its content type, the Redis module's pool families
 * (gauges that move with leases, the wait histogram), and a wait histogram
 * whose _count and _sum agree with the pool's statistics. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redisconn/metrics.h"
#include "support/expo.h"
#include "support/pool_support.h"
#include "support/server_fixture.h"

static rt_expo *ex;

static void setup(void)
{
    given_http_env_with_redis();
    ex = malloc(sizeof(*ex));
    cr_assert_not_null(ex);
}

static void teardown(void)
{
    rt_http_env_teardown();
    free(ex);
}

TestSuite(server_metrics, .init = setup, .fini = teardown, .timeout = 30);

#define IDLE        "redis_pool_conns{pool=\"default\",state=\"idle\"}"
#define IN_USE      "redis_pool_conns{pool=\"default\",state=\"in-use\"}"
#define WAIT_COUNT  "redis_pool_wait_count_total{pool=\"default\"}"
#define WAIT_US     "redis_pool_wait_duration_microseconds_total{pool=\"default\"}"
#define WAIT_HCOUNT "redis_pool_wait_seconds_count{pool=\"default\"}"
#define WAIT_HSUM   "redis_pool_wait_seconds_sum{pool=\"default\"}"

/* Starts the server with the Redis module. */
static void start_server(void)
{
    cr_assert_eq(rt_srv_env_start_redis(&http_env), REDISCONN_OK, "%s",
                 redisconn_server_error(http_env.srv));
}

/* GET /metrics: asserts 200 and the content type, parses every line. */
static const rt_expo *scrape(void)
{
    char ctype[128];
    rt_http *h = rt_srv_fetch(&http_env, "GET", "/metrics", NULL);
    cr_assert_eq(h->status, 200, "%d %s", h->status, h->body);
    cr_assert_not_null(rt_http_header(h, "Content-Type", ctype, sizeof(ctype)));
    cr_assert_str_eq(ctype, REDISCONN_METRICS_CONTENT_TYPE);
    rt_expo_parse(h->body, ex);
    rt_http_free(h);
    return ex;
}

/* Leases a connection through the server's context, like a handler. */
static redisconn_conn *lease(void)
{
    rt_acq a = {0};
    cr_assert_not_null(redisconn_get(redisconn_server_ctx(http_env.srv), rt_acq_cb, &a));
    cr_assert(rt_loop_until(http_env.base, &a.calls, 5000));
    cr_assert_eq(a.status, REDISCONN_OK, "%s", a.errmsg);
    return a.conn;
}

Test(server_metrics, server_and_host_share_one_registry)
{
    start_server();
    cr_assert_not_null(redisconn_server_metrics(http_env.srv));
    cr_assert_eq(redisconn_server_metrics(http_env.srv),
                 redisconn_host_metrics(redisconn_server_host(http_env.srv)));
}

Test(server_metrics, without_redis_the_text_has_no_pool_families)
{
    http_env.redis_opts.redis_addr = NULL; /* no address: no pool */
    start_server();
    scrape();
    cr_assert_null(rt_expo_family(ex, "redis_pool_conns"));
    cr_assert_eq(ex->n, 0, "an empty registry");
}

Test(server_metrics, redis_module_reports_its_pool_as_default)
{
    start_server();
    scrape();
    cr_assert_str_eq(rt_expo_family(ex, "redis_pool_conns")->type, "gauge");
    cr_assert_str_eq(rt_expo_family(ex, "redis_pool_wait_count_total")->type, "counter");
    cr_assert_str_eq(rt_expo_family(ex, "redis_pool_wait_duration_microseconds_total")->type,
                     "counter");
    cr_assert_str_eq(rt_expo_family(ex, "redis_pool_wait_seconds")->type, "histogram");
    cr_assert_eq(rt_expo_value(ex, IDLE), 0);
    cr_assert_eq(rt_expo_value(ex, IN_USE), 0);
    cr_assert_eq(rt_expo_value(ex, WAIT_COUNT), 0);
    cr_assert_eq(rt_expo_value(ex, WAIT_US), 0);
    cr_assert_eq(rt_expo_value(ex, WAIT_HCOUNT), 0);
    cr_assert_eq(rt_expo_value(ex, "redis_pool_wait_seconds_bucket{pool=\"default\",le=\"+Inf\"}"),
                 0);
}

Test(server_metrics, in_use_gauge_counts_leases_taken_through_the_server_context)
{
    redisconn_conn *a, *b;
    start_server();
    a = lease();
    b = lease();
    scrape();
    cr_assert_eq(rt_expo_value(ex, IN_USE), 2);
    cr_assert_eq(rt_expo_value(ex, IDLE), 0);
    redisconn_release(a);
    redisconn_release(b);
}

Test(server_metrics, idle_gauge_counts_released_leases)
{
    redisconn_conn *a, *b;
    start_server();
    a = lease();
    b = lease();
    redisconn_release(a);
    redisconn_release(b);
    scrape();
    cr_assert_eq(rt_expo_value(ex, IN_USE), 0);
    cr_assert_eq(rt_expo_value(ex, IDLE), 2);
}

/* Collection hook of the next test: reports a pool of its own. */
static void report_test_pool(redisconn_metrics *m, void *pool)
{
    cr_assert_eq(redisconn_report_stats(m, pool, "test"), REDISCONN_OK);
}

/* One acquire that has to wait about `ms` for `held` to be released. */
static void wait_once(redisconn_pool *pool, redisconn_conn *held, int ms)
{
    rt_acq w = {0};
    cr_assert_not_null(redisconn_pool_acquire(pool, 5000, rt_acq_cb, &w));
    rt_loop_quiet(http_env.base, ms); /* deliberate: the wait lasts `ms`, nothing may serve it */
    cr_assert_eq(w.calls, 0, "the acquire must wait");
    redisconn_release(held);
    cr_assert(rt_loop_until(http_env.base, &w.calls, 2000));
    cr_assert_eq(w.status, REDISCONN_OK);
    redisconn_release(w.conn);
}

Test(server_metrics, wait_histogram_agrees_with_the_pool_statistics)
{
    redisconn_pool_options o;
    redisconn_pool_stats st;
    redisconn_pool *pool;
    char key[160];
    double prev = 0;
    start_server();
    redisconn_pool_options_init(&o);
    o.max_active = 1;
    pool = redisconn_pool_new_with_options(http_env.base, http_env.redis->addr, &o, NULL);
    cr_assert_not_null(pool);
    cr_assert_eq(redisconn_metrics_on_collect(redisconn_server_metrics(http_env.srv),
                                              report_test_pool, pool),
                 REDISCONN_OK);
    wait_once(pool, rt_acquire_ok_on(pool, http_env.base), 20);
    wait_once(pool, rt_acquire_ok_on(pool, http_env.base), 60);
    redisconn_pool_get_stats(pool, &st);
    scrape();
    cr_assert_eq(st.wait_count, 2);
    cr_assert_eq(rt_expo_value(ex, "redis_pool_wait_seconds_count{pool=\"test\"}"), 2);
    cr_assert_eq(rt_expo_value(ex, "redis_pool_wait_seconds_sum{pool=\"test\"}"),
                 (double)st.wait_duration_us / 1e6);
    cr_assert_eq(rt_expo_value(ex, "redis_pool_wait_count_total{pool=\"test\"}"), 2);
    for (int i = 0; i < REDISCONN_WAIT_BUCKETS; i++) {
        double v;
        snprintf(key, sizeof(key), "redis_pool_wait_seconds_bucket{pool=\"test\",le=\"%g\"}",
                 (double)redisconn_wait_bucket_bounds_us[i] / 1e6);
        v = rt_expo_value(ex, key);
        cr_assert_eq(v - prev, (double)st.wait_buckets[i], "bucket %s", key);
        prev = v;
    }
    cr_assert_eq(rt_expo_value(ex, "redis_pool_wait_seconds_bucket{pool=\"test\",le=\"+Inf\"}"), 2);
    cr_assert_eq(redisconn_metrics_off_collect(redisconn_server_metrics(http_env.srv),
                                               report_test_pool, pool),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_pool_close(pool, NULL, NULL), REDISCONN_OK);
}

Test(server_metrics, metrics_route_takes_only_get)
{
    rt_http *h;
    start_server();
    h = rt_srv_fetch(&http_env, "POST", "/metrics", "");
    cr_assert_eq(h->status, 405);
    rt_http_free(h);
}
