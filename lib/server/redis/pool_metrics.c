/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pool_metrics.c: redisconn_report_stats(), the seed's ReportStats — a pool's
 * statistics copied into a metrics registry, with only the public pool API.
 */
#include "redisconn/metrics.h"
#include "redisconn/pool.h"
#include "server/metrics/internal.h"
#include "server/redis/pool_metrics.h"

#define CONNS         "redis_pool_conns"
#define WAIT_COUNT    "redis_pool_wait_count_total"
#define WAIT_DURATION "redis_pool_wait_duration_microseconds_total"
#define WAIT_SECONDS  "redis_pool_wait_seconds"
#define DIALS         "redis_pool_dials_total"
#define DIAL_ERRORS   "redis_pool_dial_errors_total"
#define FAST_FAILED   "redis_pool_fast_failed_total"
#define SERVER_DOWN   "redis_pool_server_down"
#define FAILOVERS     "redis_pool_failovers_total"

/* The families of a report. */
typedef struct pool_families {
    redisconn__family *conns, *count, *duration, *waits, *dials, *dial_errors, *fast_failed, *down;
    redisconn__family *failovers;
} pool_families;

/* The pool's wait bucket bounds, in seconds. */
static void wait_bounds(double *out)
{
    for (size_t i = 0; i < REDISCONN_WAIT_BUCKETS; i++)
        out[i] = (double)redisconn_wait_bucket_bounds_us[i] / 1e6;
}

/* The outage families: dials, failed dials, requests failed at once while
 * the server was down, whether it is down now, and the Sentinel failovers
 * followed (0 for a pool on a fixed address). */
static int outage_families(redisconn_metrics *m, pool_families *f)
{
    static const char *const pool_label[] = {"pool"};
    int rc = redisconn__metrics_ensure(m, REDISCONN__COUNTER, DIALS,
                                       "Connections the Redis pool tried to open.", pool_label, 1,
                                       NULL, 0, &f->dials);
    if (rc != REDISCONN_OK) return rc;
    rc = redisconn__metrics_ensure(m, REDISCONN__COUNTER, DIAL_ERRORS,
                                   "Connection attempts of the Redis pool that failed.", pool_label,
                                   1, NULL, 0, &f->dial_errors);
    if (rc != REDISCONN_OK) return rc;
    rc = redisconn__metrics_ensure(
        m, REDISCONN__COUNTER, FAST_FAILED,
        "Requests of the Redis pool failed at once with the last dial error while the server was "
        "down.",
        pool_label, 1, NULL, 0, &f->fast_failed);
    if (rc != REDISCONN_OK) return rc;
    rc = redisconn__metrics_ensure(
        m, REDISCONN__GAUGE, SERVER_DOWN,
        "1 while the Redis pool considers the server down (dials failing, no connection open).",
        pool_label, 1, NULL, 0, &f->down);
    if (rc != REDISCONN_OK) return rc;
    return redisconn__metrics_ensure(m, REDISCONN__COUNTER, FAILOVERS,
                                     "Sentinel switches of the master the Redis pool followed.",
                                     pool_label, 1, NULL, 0, &f->failovers);
}

/* The families, registered on first use; an existing family of the same
 * name must have the same type, labels and bounds. */
static int families(redisconn_metrics *m, pool_families *f)
{
    static const char *const conn_labels[] = {"pool", "state"};
    static const char *const pool_label[] = {"pool"};
    double bounds[REDISCONN_WAIT_BUCKETS];
    int rc = redisconn__metrics_ensure(
        m, REDISCONN__GAUGE, CONNS,
        "Connections of the Redis pool, by state: idle or in-use (leased).", conn_labels, 2, NULL,
        0, &f->conns);
    if (rc != REDISCONN_OK) return rc;
    rc = redisconn__metrics_ensure(m, REDISCONN__COUNTER, WAIT_COUNT,
                                   "Acquires of the Redis pool that had to wait for a connection.",
                                   pool_label, 1, NULL, 0, &f->count);
    if (rc != REDISCONN_OK) return rc;
    rc = redisconn__metrics_ensure(
        m, REDISCONN__COUNTER, WAIT_DURATION,
        "Total time acquires of the Redis pool waited for a connection, in microseconds.",
        pool_label, 1, NULL, 0, &f->duration);
    if (rc != REDISCONN_OK) return rc;
    wait_bounds(bounds);
    rc = redisconn__metrics_ensure(
        m, REDISCONN__HISTOGRAM, WAIT_SECONDS,
        "How long acquires of the Redis pool that had to wait waited for a connection, in seconds.",
        pool_label, 1, bounds, REDISCONN_WAIT_BUCKETS, &f->waits);
    if (rc != REDISCONN_OK) return rc;
    return outage_families(m, f);
}

/* Sets the series of pool `name`; stops at the first failure. */
int redisconn_report_stats(redisconn_metrics *m, const redisconn_pool *pool, const char *name)
{
    redisconn_pool_stats st;
    if (pool == NULL) return REDISCONN_ERR_INVALID;
    redisconn_pool_get_stats(pool, &st);
    return redisconn__report_pool_stats(m, &st, name);
}

int redisconn__report_pool_stats(redisconn_metrics *m, const redisconn_pool_stats *stats,
                                 const char *name)
{
    pool_families f;
    redisconn_pool_stats st;
    const char *idle[2], *in_use[2], *label[1];
    int rc;

    if (m == NULL || stats == NULL || name == NULL || !redisconn__utf8_valid(name))
        return REDISCONN_ERR_INVALID;
    if ((rc = families(m, &f)) != REDISCONN_OK) return rc;
    st = *stats;
    idle[0] = in_use[0] = label[0] = name;
    idle[1] = "idle";
    in_use[1] = "in-use";
    rc = redisconn_gauge_set((redisconn_gauge *)(void *)f.conns, idle, st.idle_count);
    if (rc == REDISCONN_OK)
        rc = redisconn_gauge_set((redisconn_gauge *)(void *)f.conns, in_use, st.in_use_count);
    if (rc == REDISCONN_OK)
        rc = redisconn_counter_set((redisconn_counter *)(void *)f.count, label,
                                   (double)st.wait_count);
    if (rc == REDISCONN_OK)
        rc = redisconn_counter_set((redisconn_counter *)(void *)f.duration, label,
                                   (double)st.wait_duration_us);
    if (rc == REDISCONN_OK)
        rc = redisconn_histogram_set((redisconn_histogram *)(void *)f.waits, label, st.wait_buckets,
                                     REDISCONN_WAIT_BUCKETS + 1, (double)st.wait_duration_us / 1e6);
    if (rc == REDISCONN_OK)
        rc = redisconn_counter_set((redisconn_counter *)(void *)f.dials, label, (double)st.dials);
    if (rc == REDISCONN_OK)
        rc = redisconn_counter_set((redisconn_counter *)(void *)f.dial_errors, label,
                                   (double)st.dial_errors);
    if (rc == REDISCONN_OK)
        rc = redisconn_counter_set((redisconn_counter *)(void *)f.fast_failed, label,
                                   (double)st.fast_failed);
    if (rc == REDISCONN_OK)
        rc = redisconn_gauge_set((redisconn_gauge *)(void *)f.down, label, st.server_down);
    if (rc == REDISCONN_OK)
        rc = redisconn_counter_set((redisconn_counter *)(void *)f.failovers, label,
                                   (double)st.failovers);
    return rc;
}
