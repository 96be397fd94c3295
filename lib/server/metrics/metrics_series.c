/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics_series.c: series of a family — lookup by label values, creation on
 * first use, updates of counters, gauges and histograms, removal.
 */
#include "server/metrics/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Label values up to this many bytes (joined) are looked up without malloc. */
#define STACK_KEY 256

/*
 * Joins the label values into a lookup key: each value followed by a NUL, so
 * the key is unambiguous. Uses `stack` when it fits, else mallocs (*key then
 * differs from `stack` and the caller frees it). REDISCONN_OK, _INVALID
 * (missing values) or _NOMEM.
 */
static int make_key(const redisconn__family *f, const char *const *values, char *stack, char **key,
                    size_t *keylen)
{
    size_t len = 0, at = 0;
    char *k = stack;
    if (f->nlabels > 0 && values == NULL) return REDISCONN_ERR_INVALID;
    for (size_t i = 0; i < f->nlabels; i++) {
        if (values[i] == NULL) return REDISCONN_ERR_INVALID;
        len += strlen(values[i]) + 1;
    }
    if (len > STACK_KEY && (k = malloc(len)) == NULL) return REDISCONN_ERR_NOMEM;
    for (size_t i = 0; i < f->nlabels; i++) {
        size_t n = strlen(values[i]) + 1;
        memcpy(k + at, values[i], n);
        at += n;
    }
    *key = k;
    *keylen = len;
    return REDISCONN_OK;
}

/* Frees the series' memory; the caller has unlinked it. */
void redisconn__series_free(redisconn__series *s)
{
    free(s->key);
    free(s);
}

/* A new zeroed series of `f` owning a copy of `key`, linked into `f`. */
static redisconn__series *series_new(redisconn__family *f, const char *key, size_t keylen)
{
    size_t nb = f->type == REDISCONN__HISTOGRAM ? f->nbounds + 1 : 0;
    redisconn__series *s = calloc(1, sizeof(*s) + nb * sizeof(s->buckets[0]));
    if (s == NULL) return NULL;
    s->key = malloc(keylen + 1);
    if (s->key == NULL) {
        free(s);
        return NULL;
    }
    if (keylen > 0) memcpy(s->key, key, keylen);
    s->key[keylen] = '\0';
    s->keylen = keylen;
    s->entry.key = s->key;
    s->entry.keylen = keylen;
    redisconn__htab_insert(&f->series, &s->entry);
    redisconn__list_push_back(&f->series_list, &s->link);
    return s;
}

/* True when every label value in the joined key is valid UTF-8. */
static int key_utf8_valid(const char *key, size_t keylen)
{
    for (size_t at = 0; at < keylen; at += strlen(key + at) + 1)
        if (!redisconn__utf8_valid(key + at)) return 0;
    return 1;
}

/* Find-or-create by label values; validates UTF-8 only when creating. */
redisconn__series *redisconn__series_get(redisconn__family *f, const char *const *label_values,
                                         int *err)
{
    char stack[STACK_KEY], *key = NULL;
    size_t keylen = 0;
    redisconn__hentry *e;
    redisconn__series *s = NULL;

    *err = make_key(f, label_values, stack, &key, &keylen);
    if (*err != REDISCONN_OK) return NULL;
    e = redisconn__htab_find(&f->series, key, keylen);
    if (e != NULL) {
        s = REDISCONN_CONTAINER_OF(e, redisconn__series, entry);
    } else if (!key_utf8_valid(key, keylen)) {
        *err = REDISCONN_ERR_INVALID;
    } else if ((s = series_new(f, key, keylen)) == NULL) {
        *err = REDISCONN_ERR_NOMEM;
    }
    if (key != stack) free(key);
    return s;
}

/* The series of a family handle, or NULL with *err set. */
static redisconn__series *lookup(void *handle, const char *const *values, int *err)
{
    if (handle == NULL) {
        *err = REDISCONN_ERR_INVALID;
        return NULL;
    }
    return redisconn__series_get(handle, values, err);
}

/* Adds a non-negative delta; nothing changes on error. */
int redisconn_counter_add(redisconn_counter *c, const char *const *label_values, double delta)
{
    redisconn__series *s;
    int err;
    if (isnan(delta) || delta < 0) return REDISCONN_ERR_INVALID;
    if ((s = lookup(c, label_values, &err)) == NULL) return err;
    s->value += delta;
    return REDISCONN_OK;
}

/* Sets a mirrored total (>= 0); nothing changes on error. */
int redisconn_counter_set(redisconn_counter *c, const char *const *label_values, double total)
{
    redisconn__series *s;
    int err;
    if (isnan(total) || total < 0) return REDISCONN_ERR_INVALID;
    if ((s = lookup(c, label_values, &err)) == NULL) return err;
    s->value = total;
    return REDISCONN_OK;
}

/* Sets any value; fails only on a bad series. */
int redisconn_gauge_set(redisconn_gauge *g, const char *const *label_values, double value)
{
    redisconn__series *s;
    int err;
    if ((s = lookup(g, label_values, &err)) == NULL) return err;
    s->value = value;
    return REDISCONN_OK;
}

/* Adds any delta; fails only on a bad series. */
int redisconn_gauge_add(redisconn_gauge *g, const char *const *label_values, double delta)
{
    redisconn__series *s;
    int err;
    if ((s = lookup(g, label_values, &err)) == NULL) return err;
    s->value += delta;
    return REDISCONN_OK;
}

/* Index of the first bucket whose bound is >= v (nbounds: the +Inf one). */
static size_t bucket_index(const redisconn__family *f, double v)
{
    size_t lo = 0, hi = f->nbounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->bounds[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Counts one non-NaN observation in its bucket, _count and _sum. */
int redisconn_histogram_observe(redisconn_histogram *h, const char *const *label_values,
                                double value)
{
    redisconn__series *s;
    int err;
    if (isnan(value)) return REDISCONN_ERR_INVALID;
    if ((s = lookup(h, label_values, &err)) == NULL) return err;
    s->buckets[bucket_index(&h->fam, value)]++;
    s->count++;
    s->value += value;
    return REDISCONN_OK;
}

/* Total of `n` counts, or -1 when it overflows 64 bits. */
static int total_counts(const uint64_t *counts, size_t n, uint64_t *total)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        if (counts[i] > UINT64_MAX - t) return -1;
        t += counts[i];
    }
    *total = t;
    return 0;
}

/* Replaces a series' buckets, _count and _sum with totals kept elsewhere. */
int redisconn_histogram_set(redisconn_histogram *h, const char *const *label_values,
                            const uint64_t *bucket_counts, size_t n, double sum)
{
    redisconn__series *s;
    uint64_t total;
    int err;
    if (h == NULL || bucket_counts == NULL || n != h->fam.nbounds + 1 || isnan(sum) ||
        total_counts(bucket_counts, n, &total) != 0)
        return REDISCONN_ERR_INVALID;
    if ((s = lookup(h, label_values, &err)) == NULL) return err;
    memcpy(s->buckets, bucket_counts, n * sizeof(s->buckets[0]));
    s->count = total;
    s->value = sum;
    return REDISCONN_OK;
}

/* The series of `f` with these label values, unlinked and freed. */
int redisconn__series_remove(redisconn__family *f, const char *const *label_values)
{
    char stack[STACK_KEY], *key = NULL;
    size_t keylen = 0;
    redisconn__hentry *e;
    redisconn__series *s;
    int rc = make_key(f, label_values, stack, &key, &keylen);
    if (rc != REDISCONN_OK) return rc;
    e = redisconn__htab_find(&f->series, key, keylen);
    if (key != stack) free(key);
    if (e == NULL) return REDISCONN_ERR_INVALID;
    s = REDISCONN_CONTAINER_OF(e, redisconn__series, entry);
    redisconn__htab_remove(&f->series, e);
    redisconn__list_remove(&s->link);
    redisconn__series_free(s);
    return REDISCONN_OK;
}
