/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics/internal.h: the registry's data structures and internal calls,
 * shared by the registry (metrics.c), its series (metrics_series.c), the
 * collection and text exposition (metrics_text.c), UTF-8 checks (utf8.c), and
 * ReportStats (redis/pool_metrics.c, which registers its families through
 * redisconn__metrics_ensure()).
 *
 * A family is a struct redisconn__family, allocated inside the public handle
 * type of its kind (struct redisconn_counter / _gauge / _histogram, whose
 * only member it is), so handle <-> family conversions are plain casts.
 */
#ifndef REDISCONN_SERVER_METRICS_INTERNAL_H
#define REDISCONN_SERVER_METRICS_INTERNAL_H

#include "redisconn/metrics.h"
#include "util/list.h"
#include "util/hashtab.h"

#include <stdint.h>

enum redisconn__metric_type {
    REDISCONN__COUNTER = 0,
    REDISCONN__GAUGE = 1,
    REDISCONN__HISTOGRAM = 2,
};

/* One series: the label values and the value(s). */
typedef struct redisconn__series {
    redisconn__hentry entry; /* key: the label values, each followed by a NUL */
    redisconn__link link;    /* family->series_list, creation order */
    char *key;
    size_t keylen;
    double value;       /* counters and gauges; a histogram's _sum */
    uint64_t count;     /* histograms: _count */
    uint64_t buckets[]; /* histograms: per-bucket (not cumulative) counts, +Inf last */
} redisconn__series;

typedef struct redisconn__family {
    redisconn__hentry entry; /* registry->names, key: name */
    redisconn__link link;    /* registry->families, registration order */
    int type;
    char *name;
    char *help;
    char **label_names;
    size_t nlabels;
    double *bounds; /* histograms: finite upper bounds, +Inf implied */
    size_t nbounds;
    redisconn__htab series;
    redisconn__link series_list;
} redisconn__family;

struct redisconn_counter {
    redisconn__family fam;
};
struct redisconn_gauge {
    redisconn__family fam;
};
struct redisconn_histogram {
    redisconn__family fam;
};
_Static_assert(sizeof(struct redisconn_counter) == sizeof(redisconn__family) &&
                   sizeof(struct redisconn_gauge) == sizeof(redisconn__family) &&
                   sizeof(struct redisconn_histogram) == sizeof(redisconn__family),
               "a family handle is exactly a family");

typedef struct redisconn__hook {
    redisconn__link link;
    redisconn_metrics_hook_fn fn; /* NULL once removed during a collection */
    void *arg;
} redisconn__hook;

struct redisconn_metrics {
    redisconn__htab names;    /* family name -> family */
    redisconn__link families; /* registration order */
    redisconn__link hooks;    /* collection hooks, in order */
    int collecting;           /* inside redisconn_metrics_collect*() */
};

/* ---- metrics.c: the registry ---------------------------------------------- */

/* Finds the family `name` or registers it: an existing one must have the same
 * type, label names and (histograms) bounds, else REDISCONN_ERR_STATE.
 * `bounds` are finite and increasing (NULL, 0 for counters and gauges).
 * REDISCONN_ERR_INVALID / _NOMEM register nothing. Used by ReportStats. */
int redisconn__metrics_ensure(redisconn_metrics *m, int type, const char *name, const char *help,
                              const char *const *label_names, size_t nlabels, const double *bounds,
                              size_t nbounds, redisconn__family **out);

/* The family named `name` (any type): REDISCONN_OK with *out set, or
 * REDISCONN_ERR_INVALID (NULL argument, no such family). */
int redisconn__metrics_family(redisconn_metrics *m, const char *name, redisconn__family **out);

/* ---- metrics_series.c: the series of a family ------------------------------ */

/* The series of `f` with these label values, created (at zero) if missing.
 * Returns NULL with *err set to REDISCONN_ERR_INVALID (missing or non-UTF-8
 * values) or _NOMEM; nothing is created then. */
redisconn__series *redisconn__series_get(redisconn__family *f, const char *const *label_values,
                                         int *err);

/* Unlinks and frees the series of `f` with these label values. Returns
 * REDISCONN_OK, REDISCONN_ERR_INVALID (no such series) or _NOMEM (a long
 * key could not be built; nothing changed). */
int redisconn__series_remove(redisconn__family *f, const char *const *label_values);

/* Frees a series' memory; the caller has unlinked it first if needed. */
void redisconn__series_free(redisconn__series *s);

/* ---- utf8.c ----------------------------------------------------------------- */

/* 1 when `s` (NUL-terminated) is valid UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF), else 0. Can't fail. */
int redisconn__utf8_valid(const char *s);

#endif
