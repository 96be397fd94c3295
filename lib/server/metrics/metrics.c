/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics.c: the registry — creation, validation of names, registration of
 * families (counters, gauges, histograms) and lookup by name.
 */
#include "server/metrics/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const histogram_suffixes[] = {"_bucket", "_sum", "_count"};
#define N_SUFFIXES (sizeof(histogram_suffixes) / sizeof(histogram_suffixes[0]))

/* Longest name accepted: generous, and keeps the suffix buffers bounded. */
#define MAX_NAME 200

/* An empty registry, or NULL when out of memory. */
redisconn_metrics *redisconn_metrics_new(void)
{
    redisconn_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL) return NULL;
    if (redisconn__htab_init(&m->names) != 0) {
        free(m);
        return NULL;
    }
    redisconn__list_init(&m->families);
    redisconn__list_init(&m->hooks);
    return m;
}

/* Frees a family and its series; `f` may be partly built (calloc'd). */
static void family_free(redisconn__family *f)
{
    redisconn__link *l;
    if (f->series_list.next != NULL) {
        while ((l = redisconn__list_first(&f->series_list)) != NULL) {
            redisconn__list_remove(l);
            redisconn__series_free(REDISCONN_CONTAINER_OF(l, redisconn__series, link));
        }
    }
    redisconn__htab_destroy(&f->series);
    for (size_t i = 0; f->label_names != NULL && i < f->nlabels; i++)
        free(f->label_names[i]);
    free(f->label_names);
    free(f->bounds);
    free(f->help);
    free(f->name);
    free(f);
}

/* Frees families (with their series) and hooks; NULL is a no-op. */
void redisconn_metrics_free(redisconn_metrics *m)
{
    redisconn__link *l;
    if (m == NULL) return;
    while ((l = redisconn__list_first(&m->families)) != NULL) {
        redisconn__list_remove(l);
        family_free(REDISCONN_CONTAINER_OF(l, redisconn__family, link));
    }
    while ((l = redisconn__list_first(&m->hooks)) != NULL) {
        redisconn__list_remove(l);
        free(REDISCONN_CONTAINER_OF(l, redisconn__hook, link));
    }
    redisconn__htab_destroy(&m->names);
    free(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics (colon 1), without ':' for labels. */
static int name_valid(const char *s, int colon)
{
    size_t i = 0;
    if (s == NULL || s[0] == '\0' || strlen(s) > MAX_NAME) return 0;
    for (; s[i] != '\0'; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok) return 0;
    }
    return 1;
}

/* Label names: syntax, not reserved ("__*", "le" on histograms), distinct. */
static int label_names_valid(int type, const char *const *names, size_t n)
{
    if (n > 0 && names == NULL) return 0;
    for (size_t i = 0; i < n; i++) {
        if (!name_valid(names[i], 0) || strncmp(names[i], "__", 2) == 0) return 0;
        if (type == REDISCONN__HISTOGRAM && strcmp(names[i], "le") == 0) return 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0) return 0;
    }
    return 1;
}

/* Any family named exactly `name`[0..len), or NULL. */
static redisconn__family *find_family(const redisconn_metrics *m, const char *name, size_t len)
{
    redisconn__hentry *e = redisconn__htab_find(&m->names, name, len);
    return e ? REDISCONN_CONTAINER_OF(e, redisconn__family, entry) : NULL;
}

/* True when sample name `s` is already produced by a registered family:
 * its own name, or a histogram's name plus one of the suffixes. */
static int sample_name_taken(const redisconn_metrics *m, const char *s)
{
    size_t len = strlen(s);
    if (find_family(m, s, len) != NULL) return 1;
    for (size_t i = 0; i < N_SUFFIXES; i++) {
        size_t sl = strlen(histogram_suffixes[i]);
        const redisconn__family *f;
        if (len <= sl || strcmp(s + len - sl, histogram_suffixes[i]) != 0) continue;
        f = find_family(m, s, len - sl);
        if (f != NULL && f->type == REDISCONN__HISTOGRAM) return 1;
    }
    return 0;
}

/* True when a new family `name` of `type` would expose a sample name that a
 * registered family exposes too. */
static int name_clashes(const redisconn_metrics *m, int type, const char *name)
{
    char buf[MAX_NAME + 8];
    if (sample_name_taken(m, name)) return 1;
    if (type != REDISCONN__HISTOGRAM) return 0;
    for (size_t i = 0; i < N_SUFFIXES; i++) {
        strcpy(buf, name); /* name_valid() bounded it by MAX_NAME */
        strcat(buf, histogram_suffixes[i]);
        if (sample_name_taken(m, buf)) return 1;
    }
    return 0;
}

/* Histogram bounds: finite, strictly increasing, an optional +Inf last.
 * Returns how many finite bounds there are, or -1 if invalid. */
static long bounds_valid(const double *b, size_t n)
{
    if (n > 0 && isinf(b[n - 1]) && b[n - 1] > 0) n--;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1])) return -1;
    return (long)n;
}

/* A malloc'd copy of `s`, or NULL. */
static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) memcpy(d, s, n);
    return d;
}

/* Copies the descriptive parts into a calloc'd family. 0 or -1 (no memory). */
static int family_fill(redisconn__family *f, const char *name, const char *help,
                       const char *const *labels, size_t nlabels, const double *bounds,
                       size_t nbounds)
{
    redisconn__list_init(&f->series_list);
    if (redisconn__htab_init(&f->series) != 0) return -1;
    f->name = dup_str(name);
    f->help = dup_str(help);
    if (f->name == NULL || f->help == NULL) return -1;
    if (nlabels > 0) {
        f->label_names = calloc(nlabels, sizeof(*f->label_names));
        if (f->label_names == NULL) return -1;
        f->nlabels = nlabels;
        for (size_t i = 0; i < nlabels; i++)
            if ((f->label_names[i] = dup_str(labels[i])) == NULL) return -1;
    }
    if (nbounds > 0) {
        f->bounds = malloc(nbounds * sizeof(*bounds));
        if (f->bounds == NULL) return -1;
        memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
    }
    f->nbounds = nbounds;
    return 0;
}

/* Validates and registers a family. Histograms pass their finite bounds. */
static int add_family(redisconn_metrics *m, int type, const char *name, const char *help,
                      const char *const *labels, size_t nlabels, const double *bounds,
                      size_t nbounds, redisconn__family **out)
{
    redisconn__family *f;
    int err = REDISCONN_OK;

    if (m == NULL || help == NULL || !name_valid(name, 1) || !redisconn__utf8_valid(help) ||
        !label_names_valid(type, labels, nlabels))
        return REDISCONN_ERR_INVALID;
    if (name_clashes(m, type, name)) return REDISCONN_ERR_STATE;
    /* All three handle structs are exactly a family: allocate one. */
    f = calloc(1, sizeof(struct redisconn_histogram));
    if (f == NULL) return REDISCONN_ERR_NOMEM;
    f->type = type;
    if (family_fill(f, name, help, labels, nlabels, bounds, nbounds) != 0 ||
        (nlabels == 0 && redisconn__series_get(f, NULL, &err) == NULL)) {
        family_free(f);
        return REDISCONN_ERR_NOMEM;
    }
    f->entry.key = f->name;
    f->entry.keylen = strlen(f->name);
    redisconn__htab_insert(&m->names, &f->entry);
    redisconn__list_push_back(&m->families, &f->link);
    if (out != NULL) *out = f;
    return REDISCONN_OK;
}

/* Registers a counter; see metrics.h for the rules and statuses. */
int redisconn_metrics_add_counter(redisconn_metrics *m, const char *name, const char *help,
                                  const char *const *label_names, size_t nlabels,
                                  redisconn_counter **out)
{
    redisconn__family *f = NULL;
    int rc = add_family(m, REDISCONN__COUNTER, name, help, label_names, nlabels, NULL, 0, &f);
    if (rc == REDISCONN_OK && out != NULL) *out = (redisconn_counter *)(void *)f;
    return rc;
}

/* Registers a gauge; see metrics.h for the rules and statuses. */
int redisconn_metrics_add_gauge(redisconn_metrics *m, const char *name, const char *help,
                                const char *const *label_names, size_t nlabels,
                                redisconn_gauge **out)
{
    redisconn__family *f = NULL;
    int rc = add_family(m, REDISCONN__GAUGE, name, help, label_names, nlabels, NULL, 0, &f);
    if (rc == REDISCONN_OK && out != NULL) *out = (redisconn_gauge *)(void *)f;
    return rc;
}

/* Registers a histogram after checking its bounds (defaults for NULL). */
int redisconn_metrics_add_histogram(redisconn_metrics *m, const char *name, const char *help,
                                    const char *const *label_names, size_t nlabels,
                                    const double *bounds, size_t nbounds, redisconn_histogram **out)
{
    static const double defaults[] = REDISCONN_METRICS_DEFAULT_BUCKETS;
    redisconn__family *f = NULL;
    long n;
    int rc;

    if (bounds == NULL) {
        if (nbounds != 0) return REDISCONN_ERR_INVALID;
        bounds = defaults;
        nbounds = sizeof(defaults) / sizeof(defaults[0]);
    }
    if ((n = bounds_valid(bounds, nbounds)) < 0) return REDISCONN_ERR_INVALID;
    rc = add_family(m, REDISCONN__HISTOGRAM, name, help, label_names, nlabels, bounds, (size_t)n,
                    &f);
    if (rc == REDISCONN_OK && out != NULL) *out = (redisconn_histogram *)(void *)f;
    return rc;
}

/* The family `name` if it has type `type`, else NULL. */
static redisconn__family *find_typed(const redisconn_metrics *m, const char *name, int type)
{
    redisconn__family *f;
    if (m == NULL || name == NULL) return NULL;
    f = find_family(m, name, strlen(name));
    return f != NULL && f->type == type ? f : NULL;
}

/* The counter family `name`, or NULL (absent or another type). */
redisconn_counter *redisconn_metrics_find_counter(const redisconn_metrics *m, const char *name)
{
    return (redisconn_counter *)(void *)find_typed(m, name, REDISCONN__COUNTER);
}

/* The gauge family `name`, or NULL (absent or another type). */
redisconn_gauge *redisconn_metrics_find_gauge(const redisconn_metrics *m, const char *name)
{
    return (redisconn_gauge *)(void *)find_typed(m, name, REDISCONN__GAUGE);
}

/* The histogram family `name`, or NULL (absent or another type). */
redisconn_histogram *redisconn_metrics_find_histogram(const redisconn_metrics *m, const char *name)
{
    return (redisconn_histogram *)(void *)find_typed(m, name, REDISCONN__HISTOGRAM);
}

/* True when `f` has exactly these label names, in this order. */
static int same_labels(const redisconn__family *f, const char *const *names, size_t n)
{
    if (f->nlabels != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f->label_names[i], names[i]) != 0) return 0;
    return 1;
}

/* True when `f` has exactly these histogram bounds. */
static int same_bounds(const redisconn__family *f, const double *bounds, size_t n)
{
    if (f->nbounds != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (f->bounds[i] != bounds[i]) return 0;
    return 1;
}

/* Get-or-register for ReportStats: never registers a second family. */
int redisconn__metrics_ensure(redisconn_metrics *m, int type, const char *name, const char *help,
                              const char *const *label_names, size_t nlabels, const double *bounds,
                              size_t nbounds, redisconn__family **out)
{
    redisconn__family *f = find_family(m, name, strlen(name));
    if (f == NULL)
        return add_family(m, type, name, help, label_names, nlabels, bounds, nbounds, out);
    if (f->type != type || !same_labels(f, label_names, nlabels) ||
        !same_bounds(f, bounds, nbounds))
        return REDISCONN_ERR_STATE;
    *out = f;
    return REDISCONN_OK;
}

/* Lookup of a family of any type by name. */
int redisconn__metrics_family(redisconn_metrics *m, const char *name, redisconn__family **out)
{
    if (m == NULL || name == NULL) return REDISCONN_ERR_INVALID;
    *out = find_family(m, name, strlen(name));
    return *out != NULL ? REDISCONN_OK : REDISCONN_ERR_INVALID;
}

/* Unlinks and frees one series of a labeled family. */
int redisconn_metrics_remove_series(redisconn_metrics *m, const char *name,
                                    const char *const *label_values)
{
    redisconn__family *f;
    int rc = redisconn__metrics_family(m, name, &f);
    if (rc != REDISCONN_OK) return rc;
    if (f->nlabels == 0) return REDISCONN_ERR_INVALID;
    return redisconn__series_remove(f, label_values);
}
