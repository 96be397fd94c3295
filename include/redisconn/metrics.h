/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/metrics.h — a small metrics registry (counters, gauges,
 * histograms with labels) and its Prometheus text exposition, format 0.0.4,
 * the C counterpart of the seed's tsmon metrics and ReportStats().
 *
 * MODEL. A registry holds metric families. A family has a name, a help text,
 * a type and a fixed list of label names, all given at registration. Its
 * series are addressed by label values: one value per label name, in the same
 * order; a series is created by the first update with its label values. A
 * family without labels has exactly one series, present (at 0) from
 * registration on. Families are exposed in registration order, series in
 * creation order.
 *
 * COLLECTION. Collection hooks run right before each collection, in the
 * order they were added, so that values mirroring some other state (a pool's
 * statistics) can be refreshed then — the seed's "populate on flush".
 *
 * THREADS. A registry is not thread-safe: use it from one thread (the thread
 * of the event loop that serves /metrics), or lock around every call.
 *
 * OWNERSHIP. The registry owns its families; family handles
 * (redisconn_counter, redisconn_gauge, redisconn_histogram) stay valid until
 * redisconn_metrics_free(). Every string and array passed in is copied; the
 * caller keeps its own buffers.
 */
#ifndef REDISCONN_METRICS_H
#define REDISCONN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The registry. Opaque; created by redisconn_metrics_new(), freed by redisconn_metrics_free(). */
typedef struct redisconn_metrics redisconn_metrics;
/** A counter family: monotonically increasing values. Owned by its registry. */
typedef struct redisconn_counter redisconn_counter;
/** A gauge family: values that go up and down. Owned by its registry. */
typedef struct redisconn_gauge redisconn_gauge;
/** A histogram family: observations counted in buckets. Owned by its registry. */
typedef struct redisconn_histogram redisconn_histogram;

/** HTTP Content-Type of the text exposition format produced here. */
#define REDISCONN_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/**
 * Creates an empty registry. Returns NULL when out of memory. The caller owns
 * it and frees it with redisconn_metrics_free().
 */
REDISCONN_EXPORT redisconn_metrics *redisconn_metrics_new(void);

/**
 * Frees the registry, its families and their series. Every family handle
 * from it becomes invalid. Must not be called from a collection hook.
 * Freeing NULL is a no-op.
 */
REDISCONN_EXPORT void redisconn_metrics_free(redisconn_metrics *m);

/**
 * Registers a counter family.
 *
 * `name` must match the Prometheus metric name syntax [a-zA-Z_:][a-zA-Z0-9_:]*
 * and must not clash with a family already registered (nor with the _bucket,
 * _sum and _count series of a registered histogram). `help` is any UTF-8 text
 * (may be empty). `label_names` holds `nlabels` distinct names matching
 * [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__"; it may be NULL when
 * `nlabels` is 0.
 *
 * Returns REDISCONN_OK and stores the family in `*out` (if `out` is not NULL;
 * the registry owns it), REDISCONN_ERR_INVALID for a NULL registry, name or
 * help, a malformed name or label name, or invalid UTF-8,
 * REDISCONN_ERR_STATE when the name is taken, or REDISCONN_ERR_NOMEM.
 */
REDISCONN_EXPORT int redisconn_metrics_add_counter(redisconn_metrics *m, const char *name,
                                                   const char *help, const char *const *label_names,
                                                   size_t nlabels, redisconn_counter **out);

/** Registers a gauge family; arguments and results as redisconn_metrics_add_counter(). */
REDISCONN_EXPORT int redisconn_metrics_add_gauge(redisconn_metrics *m, const char *name,
                                                 const char *help, const char *const *label_names,
                                                 size_t nlabels, redisconn_gauge **out);

/**
 * Registers a histogram family: as redisconn_metrics_add_counter(), plus
 * bucket upper bounds. `bounds` holds `nbounds` finite, strictly increasing
 * values; a last bound of +Inf is accepted and ignored, since the +Inf bucket
 * is always there. `bounds` NULL with `nbounds` 0 selects
 * REDISCONN_METRICS_DEFAULT_BUCKETS. The label name "le" is reserved.
 * The bounds are copied.
 */
REDISCONN_EXPORT int redisconn_metrics_add_histogram(redisconn_metrics *m, const char *name,
                                                     const char *help,
                                                     const char *const *label_names, size_t nlabels,
                                                     const double *bounds, size_t nbounds,
                                                     redisconn_histogram **out);

/** The default histogram buckets (in seconds): Prometheus's client defaults. */
#define REDISCONN_METRICS_DEFAULT_BUCKETS                                                          \
    {                                                                                              \
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10                                    \
    }

/**
 * Looks a family up by name. Returns the family, valid until the registry is
 * freed, or NULL when no family of that name and type exists.
 */
REDISCONN_EXPORT redisconn_counter *redisconn_metrics_find_counter(const redisconn_metrics *m,
                                                                   const char *name);
/** Looks a gauge family up by name, as redisconn_metrics_find_counter(). */
REDISCONN_EXPORT redisconn_gauge *redisconn_metrics_find_gauge(const redisconn_metrics *m,
                                                               const char *name);
/** Looks a histogram family up by name, as redisconn_metrics_find_counter(). */
REDISCONN_EXPORT redisconn_histogram *redisconn_metrics_find_histogram(const redisconn_metrics *m,
                                                                       const char *name);

/*
 * Series updates. `label_values` holds exactly as many strings as the family
 * has label names, in the same order (NULL when it has none); they are
 * copied when a series is created and must be valid UTF-8. Each update
 * returns REDISCONN_OK, REDISCONN_ERR_INVALID (NULL family, NULL or non-UTF-8
 * label value, a value the type forbids) or REDISCONN_ERR_NOMEM (creating
 * the series); on error nothing changes.
 */

/** Adds `delta` (>= 0, not NaN) to a counter series. */
REDISCONN_EXPORT int redisconn_counter_add(redisconn_counter *c, const char *const *label_values,
                                           double delta);

/**
 * Sets a counter series to `total` (>= 0, not NaN). Meant for mirroring a
 * cumulative total kept elsewhere (a pool's wait count): the value should
 * only grow; a smaller one reads as a counter reset to Prometheus.
 */
REDISCONN_EXPORT int redisconn_counter_set(redisconn_counter *c, const char *const *label_values,
                                           double total);

/** Sets a gauge series to `value` (any double, NaN and infinities included). */
REDISCONN_EXPORT int redisconn_gauge_set(redisconn_gauge *g, const char *const *label_values,
                                         double value);

/** Adds `delta` (may be negative) to a gauge series. */
REDISCONN_EXPORT int redisconn_gauge_add(redisconn_gauge *g, const char *const *label_values,
                                         double delta);

/**
 * Records one observation (not NaN) in a histogram series: the count of every
 * bucket whose bound is >= `value` grows by one, as do the series' _count;
 * `value` is added to its _sum.
 */
REDISCONN_EXPORT int redisconn_histogram_observe(redisconn_histogram *h,
                                                 const char *const *label_values, double value);

/**
 * Sets a histogram series to totals kept elsewhere — a pool's wait-time
 * histogram (redisconn_pool_stats.wait_buckets) — instead of observing
 * values one by one.
 *
 * `bucket_counts` holds `n` NON-cumulative counts, one per bucket in bound
 * order: bucket_counts[i] counts the values <= bound i and above bound i-1;
 * the last element counts the values above the last finite bound (the +Inf
 * bucket). `n` must be the family's number of finite bounds plus one. The
 * exposition makes them cumulative; the series' _count becomes the total of
 * the counts and its _sum `sum` (any value but NaN). The array is copied.
 * Like redisconn_counter_set(), the totals should only grow between
 * collections; smaller ones read as a reset to Prometheus.
 *
 * Returns REDISCONN_OK, REDISCONN_ERR_INVALID (NULL family or counts, `n`
 * not matching the bounds, NaN `sum`, counts whose total overflows 64 bits,
 * bad label values) or REDISCONN_ERR_NOMEM; on error nothing changes.
 */
REDISCONN_EXPORT int redisconn_histogram_set(redisconn_histogram *h,
                                             const char *const *label_values,
                                             const uint64_t *bucket_counts, size_t n, double sum);

/**
 * Removes one series (e.g. of a pool that was closed) from the family named
 * `name`. Returns REDISCONN_OK, or REDISCONN_ERR_INVALID when there is no such
 * family or series. The single series of a family without labels cannot be
 * removed (REDISCONN_ERR_INVALID).
 */
REDISCONN_EXPORT int redisconn_metrics_remove_series(redisconn_metrics *m, const char *name,
                                                     const char *const *label_values);

/**
 * Collection hook: called synchronously by redisconn_metrics_collect*()
 * before the text is produced. It may update any series, register families
 * and add or remove hooks (its own included); a hook added during a
 * collection first runs at the next one. It must not collect or free the
 * registry.
 */
typedef void (*redisconn_metrics_hook_fn)(redisconn_metrics *m, void *arg);

/**
 * Adds a collection hook. The pair (`fn`, `arg`) identifies it: adding the
 * same pair twice is REDISCONN_ERR_STATE. Returns REDISCONN_OK,
 * REDISCONN_ERR_INVALID (NULL registry or fn) or REDISCONN_ERR_NOMEM. `arg`
 * must stay valid until the hook is removed or the registry freed.
 */
REDISCONN_EXPORT int redisconn_metrics_on_collect(redisconn_metrics *m,
                                                  redisconn_metrics_hook_fn fn, void *arg);

/**
 * Removes the hook (`fn`, `arg`); it never runs again, even when removed from
 * inside the current collection. Returns REDISCONN_OK, or
 * REDISCONN_ERR_INVALID when no such hook is registered.
 */
REDISCONN_EXPORT int redisconn_metrics_off_collect(redisconn_metrics *m,
                                                   redisconn_metrics_hook_fn fn, void *arg);

/**
 * Collects: runs the hooks, then renders every family in the Prometheus text
 * format 0.0.4 into a new NUL-terminated string. On REDISCONN_OK `*out` holds
 * it (the caller frees it with free()) and `*len` (if not NULL) its length.
 * Returns REDISCONN_ERR_INVALID for NULL arguments, REDISCONN_ERR_STATE when
 * called from a collection hook, or REDISCONN_ERR_NOMEM; then `*out` is NULL.
 */
REDISCONN_EXPORT int redisconn_metrics_collect(redisconn_metrics *m, char **out, size_t *len);

/**
 * Like redisconn_metrics_collect(), into the caller's buffer with snprintf
 * semantics: at most `cap - 1` bytes and a NUL are written (nothing when
 * `cap` is 0, `buf` may then be NULL) and `*len` receives the length of the
 * whole text. The text was truncated iff `*len >= cap`; collecting again with
 * a larger buffer runs the hooks again.
 */
REDISCONN_EXPORT int redisconn_metrics_collect_into(redisconn_metrics *m, char *buf, size_t cap,
                                                    size_t *len);

struct redisconn_pool;

/**
 * The seed's ReportStats(ctx, pool, name): copies the pool's statistics into
 * the registry, registering these families on first use:
 *
 *   redis_pool_conns{pool,state}                    gauge, state "idle" / "in-use"
 *   redis_pool_wait_count_total{pool}               counter: acquires that waited
 *   redis_pool_wait_duration_microseconds_total{pool} counter: total time they waited
 *   redis_pool_wait_seconds{pool}                   histogram of those waits, in seconds,
 *                                                   buckets redisconn_wait_bucket_bounds_us
 *
 * `name` is the "pool" label value that tells pools apart. The counters and
 * the histogram are set to the pool's cumulative totals: the histogram's
 * _count equals the wait count, its _sum the wait duration in seconds.
 * Call it from a collection hook so that every scrape sees fresh values.
 * Returns REDISCONN_OK, REDISCONN_ERR_INVALID (NULL argument, `name` not
 * UTF-8), REDISCONN_ERR_STATE (one of the names is registered with another
 * type, other labels or other bounds) or REDISCONN_ERR_NOMEM. Must be
 * called on the pool's loop thread.
 */
REDISCONN_EXPORT int redisconn_report_stats(redisconn_metrics *m, const struct redisconn_pool *pool,
                                            const char *name);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_METRICS_H */
