/* test_pool_metrics.c — redisconn_report_stats() (the seed's ReportStats)
 * against a real pool on a real redis-server: the gauges follow leases, the
 * wait counters mirror the pool's totals. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "redisconn/metrics.h"
#include "support/expo.h"
#include "support/pool_support.h"

static rt_env env;
static redisconn_metrics *m;
static rt_expo *ex;
static char *text;

static void setup(void)
{
    rt_env_init(&env, NULL);
    m = redisconn_metrics_new();
    cr_assert_not_null(m);
    ex = malloc(sizeof(*ex));
    cr_assert_not_null(ex);
    text = NULL;
}

static void teardown(void)
{
    redisconn_metrics_free(m);
    free(ex);
    free(text);
    rt_env_fini(&env);
}

TestSuite(pool_metrics, .init = setup, .fini = teardown, .timeout = 30);

#define IDLE(p)       "redis_pool_conns{pool=\"" p "\",state=\"idle\"}"
#define IN_USE(p)     "redis_pool_conns{pool=\"" p "\",state=\"in-use\"}"
#define WAIT_COUNT(p) "redis_pool_wait_count_total{pool=\"" p "\"}"
#define WAIT_US(p)    "redis_pool_wait_duration_microseconds_total{pool=\"" p "\"}"

/* Collects and parses every line. */
static const rt_expo *collect(void)
{
    free(text);
    text = NULL;
    cr_assert_eq(redisconn_metrics_collect(m, &text, NULL), REDISCONN_OK);
    rt_expo_parse(text, ex);
    return ex;
}

/* Reports env.pool as "default", then collects. */
static const rt_expo *report(void)
{
    cr_assert_eq(redisconn_report_stats(m, env.pool, "default"), REDISCONN_OK);
    return collect();
}

Test(pool_metrics, report_registers_the_seed_families_with_their_types)
{
    rt_env_pool(&env, NULL);
    report();
    cr_assert_eq(redisconn_report_stats(m, env.pool, "default"), REDISCONN_OK,
                 "the second report reuses the families");
    collect();
    cr_assert_str_eq(rt_expo_family(ex, "redis_pool_conns")->type, "gauge");
    cr_assert_str_eq(rt_expo_family(ex, "redis_pool_wait_count_total")->type, "counter");
    cr_assert_str_eq(rt_expo_family(ex, "redis_pool_wait_duration_microseconds_total")->type,
                     "counter");
    cr_assert_str_eq(rt_expo_family(ex, "redis_pool_wait_seconds")->type, "histogram");
    cr_assert_eq(ex->nfamilies, 4);
    cr_assert_eq(ex->n, 4 + REDISCONN_WAIT_BUCKETS + 3,
                 "idle, in-use, wait count, wait duration, and the wait histogram's "
                 "finite buckets, +Inf bucket, _sum and _count");
}

Test(pool_metrics, fresh_pool_reports_zeros)
{
    rt_env_pool(&env, NULL);
    report();
    cr_assert_eq(rt_expo_value(ex, IDLE("default")), 0);
    cr_assert_eq(rt_expo_value(ex, IN_USE("default")), 0);
    cr_assert_eq(rt_expo_value(ex, WAIT_COUNT("default")), 0);
    cr_assert_eq(rt_expo_value(ex, WAIT_US("default")), 0);
}

Test(pool_metrics, in_use_gauge_counts_leased_connections)
{
    rt_env_pool(&env, NULL);
    redisconn_conn *a = rt_acquire_ok(&env);
    redisconn_conn *b = rt_acquire_ok(&env);
    report();
    cr_assert_eq(rt_expo_value(ex, IN_USE("default")), 2);
    cr_assert_eq(rt_expo_value(ex, IDLE("default")), 0);
    redisconn_release(a);
    redisconn_release(b);
}

Test(pool_metrics, idle_gauge_counts_released_connections)
{
    rt_env_pool(&env, NULL);
    redisconn_conn *a = rt_acquire_ok(&env);
    redisconn_conn *b = rt_acquire_ok(&env);
    redisconn_release(a);
    redisconn_release(b);
    report();
    cr_assert_eq(rt_expo_value(ex, IDLE("default")), 2);
    cr_assert_eq(rt_expo_value(ex, IN_USE("default")), 0);
}

Test(pool_metrics, wait_counters_mirror_the_pool_totals)
{
    redisconn_pool_options o;
    redisconn_pool_stats st;
    rt_acq w = {0};
    rt_env_options(&env, &o);
    o.max_active = 1;
    rt_env_pool(&env, &o);
    redisconn_conn *held = rt_acquire_ok(&env);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &w));
    rt_loop_for(env.base, 20);
    cr_assert_eq(w.calls, 0, "the waiter must wait");
    redisconn_release(held);
    cr_assert(rt_wait_acq(&env, &w, 2000));
    cr_assert_eq(w.status, REDISCONN_OK);
    redisconn_release(w.conn);
    redisconn_pool_get_stats(env.pool, &st);
    cr_assert_eq(st.wait_count, 1);
    cr_assert_gt(st.wait_duration_us, 0);
    report();
    cr_assert_eq(rt_expo_value(ex, WAIT_COUNT("default")), 1);
    cr_assert_eq(rt_expo_value(ex, WAIT_US("default")), (double)st.wait_duration_us);
}

static void report_hook(redisconn_metrics *reg, void *arg)
{
    cr_assert_eq(redisconn_report_stats(reg, arg, "default"), REDISCONN_OK);
}

Test(pool_metrics, report_from_a_hook_refreshes_every_collection)
{
    rt_env_pool(&env, NULL);
    cr_assert_eq(redisconn_metrics_on_collect(m, report_hook, env.pool), REDISCONN_OK);
    redisconn_conn *c = rt_acquire_ok(&env);
    collect();
    cr_assert_eq(rt_expo_value(ex, IN_USE("default")), 1);
    cr_assert_eq(rt_expo_value(ex, IDLE("default")), 0);
    redisconn_release(c);
    collect();
    cr_assert_eq(rt_expo_value(ex, IN_USE("default")), 0);
    cr_assert_eq(rt_expo_value(ex, IDLE("default")), 1);
    cr_assert_eq(redisconn_metrics_off_collect(m, report_hook, env.pool), REDISCONN_OK);
}

Test(pool_metrics, pools_are_told_apart_by_name)
{
    rt_env_pool(&env, NULL);
    redisconn_pool *other = redisconn_pool_new(env.base, env.srv->addr, 0);
    cr_assert_not_null(other);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_report_stats(m, env.pool, "cache"), REDISCONN_OK);
    cr_assert_eq(redisconn_report_stats(m, other, "sessions"), REDISCONN_OK);
    collect();
    cr_assert_eq(rt_expo_value(ex, IN_USE("cache")), 1);
    cr_assert_eq(rt_expo_value(ex, IN_USE("sessions")), 0);
    redisconn_release(c);
    cr_assert_eq(redisconn_pool_close(other, NULL, NULL), REDISCONN_OK);
    rt_loop_for(env.base, 20);
}

Test(pool_metrics, pool_name_is_escaped_as_a_label_value)
{
    rt_env_pool(&env, NULL);
    cr_assert_eq(redisconn_report_stats(m, env.pool, "a\"b"), REDISCONN_OK);
    collect();
    cr_assert_not_null(rt_expo_find(ex, "redis_pool_conns{pool=\"a\\\"b\",state=\"idle\"}"));
}

Test(pool_metrics, conflicting_family_is_a_state_error)
{
    rt_env_pool(&env, NULL);
    cr_assert_eq(
        redisconn_metrics_add_gauge(m, "redis_pool_wait_count_total", "taken", NULL, 0, NULL),
        REDISCONN_OK);
    cr_assert_eq(redisconn_report_stats(m, env.pool, "default"), REDISCONN_ERR_STATE);
}

Test(pool_metrics, family_with_other_labels_is_a_state_error)
{
    static const char *const l[] = {"pool"};
    rt_env_pool(&env, NULL);
    cr_assert_eq(redisconn_metrics_add_gauge(m, "redis_pool_conns", "taken", l, 1, NULL),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_report_stats(m, env.pool, "default"), REDISCONN_ERR_STATE);
}

Test(pool_metrics, invalid_arguments_are_rejected)
{
    rt_env_pool(&env, NULL);
    cr_assert_eq(redisconn_report_stats(NULL, env.pool, "p"), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_report_stats(m, NULL, "p"), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_report_stats(m, env.pool, NULL), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_report_stats(m, env.pool, "\xff"), REDISCONN_ERR_INVALID);
    collect();
    cr_assert_eq(ex->n, 0, "nothing registered by rejected calls");
}
