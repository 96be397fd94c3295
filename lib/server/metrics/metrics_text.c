/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics_text.c: collection — the hooks that run before it, and the
 * Prometheus text exposition format 0.0.4:
 *
 *   # HELP <name> <help, with \ and newline escaped>
 *   # TYPE <name> counter|gauge|histogram
 *   <name>{<label>="<value, with \ " and newline escaped>",...} <value>
 *
 * Histograms expose <name>_bucket{...,le="<bound>"} with cumulative counts
 * (the last one le="+Inf"), then <name>_sum and <name>_count. Every line ends
 * with '\n'.
 */
#include "server/metrics/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hooks ---------------------------------------------------------------- */

static redisconn__hook *find_hook(const redisconn_metrics *m, redisconn_metrics_hook_fn fn,
                                  const void *arg)
{
    for (redisconn__link *l = m->hooks.next; l != &m->hooks; l = l->next) {
        redisconn__hook *h = REDISCONN_CONTAINER_OF(l, redisconn__hook, link);
        if (h->fn == fn && h->arg == arg) return h;
    }
    return NULL;
}

/* Appends a hook; a (fn, arg) pair is registered at most once. */
int redisconn_metrics_on_collect(redisconn_metrics *m, redisconn_metrics_hook_fn fn, void *arg)
{
    redisconn__hook *h;
    if (m == NULL || fn == NULL) return REDISCONN_ERR_INVALID;
    if (find_hook(m, fn, arg) != NULL) return REDISCONN_ERR_STATE;
    if ((h = calloc(1, sizeof(*h))) == NULL) return REDISCONN_ERR_NOMEM;
    h->fn = fn;
    h->arg = arg;
    redisconn__list_push_back(&m->hooks, &h->link);
    return REDISCONN_OK;
}

/* Removes a hook now, or marks it when a collection is running. */
int redisconn_metrics_off_collect(redisconn_metrics *m, redisconn_metrics_hook_fn fn, void *arg)
{
    redisconn__hook *h;
    if (m == NULL || fn == NULL || (h = find_hook(m, fn, arg)) == NULL)
        return REDISCONN_ERR_INVALID;
    if (m->collecting) { /* the running loop holds pointers: unlink after it */
        h->fn = NULL;
        return REDISCONN_OK;
    }
    redisconn__list_remove(&h->link);
    free(h);
    return REDISCONN_OK;
}

/* Runs the hooks present when the collection started, in order; hooks
 * removed meanwhile are skipped, then freed. */
static void run_hooks(redisconn_metrics *m)
{
    redisconn__link *last = m->hooks.prev, *l, *next;
    if (last != &m->hooks) {
        for (l = m->hooks.next;; l = l->next) {
            redisconn__hook *h = REDISCONN_CONTAINER_OF(l, redisconn__hook, link);
            if (h->fn != NULL) h->fn(m, h->arg);
            if (l == last) break;
        }
    }
    for (l = m->hooks.next; l != &m->hooks; l = next) {
        redisconn__hook *h = REDISCONN_CONTAINER_OF(l, redisconn__hook, link);
        next = l->next;
        if (h->fn == NULL) {
            redisconn__list_remove(l);
            free(h);
        }
    }
}

/* ---- a growable output buffer --------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

/* Appends `n` bytes; after a failed allocation it only records the failure. */
static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->cap - b->len <= n) { /* keep room for the final NUL */
        size_t cap = b->cap ? b->cap : 1024;
        char *p;
        while (cap - b->len <= n)
            cap *= 2;
        if ((p = realloc(b->p, cap)) == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Appends a NUL-terminated string. */
static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Appends `s` with \ and newline escaped, and " too when `quote` is set. */
static void sb_escaped(sbuf *b, const char *s, int quote)
{
    const char *run = s;
    for (; *s != '\0'; s++) {
        const char *esc = NULL;
        if (*s == '\\')
            esc = "\\\\";
        else if (*s == '\n')
            esc = "\\n";
        else if (*s == '"' && quote)
            esc = "\\\"";
        if (esc == NULL) continue;
        sb_put(b, run, (size_t)(s - run));
        sb_puts(b, esc);
        run = s + 1;
    }
    sb_put(b, run, (size_t)(s - run));
}

/* ---- rendering ------------------------------------------------------------ */

/* Formats `v` as Prometheus does (Go's 'g' with the shortest exact digits;
 * "+Inf", "-Inf", "NaN") into `buf` (at least 32 bytes). Returns `buf`. */
static const char *format_double(double v, char *buf, size_t cap)
{
    if (isnan(v) || isinf(v)) {
        snprintf(buf, cap, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return buf;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    /* A locale may print a decimal comma: the format wants a point. */
    for (char *p = buf; *p != '\0'; p++)
        if (!(*p >= '0' && *p <= '9') && *p != 'e' && *p != '-' && *p != '+') *p = '.';
    return buf;
}

/* Appends a number in the exposition's spelling. */
static void sb_double(sbuf *b, double v)
{
    char num[40];
    sb_puts(b, format_double(v, num, sizeof(num)));
}

/* Writes `<name><suffix>{labels[,le="..."]} ` — the part before the value.
 * `le` is NULL for samples without a bucket bound. */
static void sample_head(sbuf *b, const redisconn__family *f, const redisconn__series *s,
                        const char *suffix, const char *le)
{
    const char *v = s->key;
    sb_puts(b, f->name);
    sb_puts(b, suffix);
    if (f->nlabels > 0 || le != NULL) {
        sb_puts(b, "{");
        for (size_t i = 0; i < f->nlabels; i++, v += strlen(v) + 1) {
            if (i > 0) sb_puts(b, ",");
            sb_puts(b, f->label_names[i]);
            sb_puts(b, "=\"");
            sb_escaped(b, v, 1);
            sb_puts(b, "\"");
        }
        if (le != NULL) {
            sb_puts(b, f->nlabels > 0 ? ",le=\"" : "le=\"");
            sb_puts(b, le);
            sb_puts(b, "\"");
        }
        sb_puts(b, "}");
    }
    sb_puts(b, " ");
}

/* One line: head, value, newline. */
static void sample(sbuf *b, const redisconn__family *f, const redisconn__series *s,
                   const char *suffix, const char *le, double value)
{
    sample_head(b, f, s, suffix, le);
    sb_double(b, value);
    sb_puts(b, "\n");
}

/* A histogram series: cumulative buckets, +Inf (== count), sum, count. */
static void histogram_series(sbuf *b, const redisconn__family *f, const redisconn__series *s)
{
    char le[40];
    uint64_t cum = 0;
    for (size_t i = 0; i < f->nbounds; i++) {
        cum += s->buckets[i];
        format_double(f->bounds[i], le, sizeof(le));
        sample(b, f, s, "_bucket", le, (double)cum);
    }
    sample(b, f, s, "_bucket", "+Inf", (double)s->count);
    sample(b, f, s, "_sum", NULL, s->value);
    sample(b, f, s, "_count", NULL, (double)s->count);
}

/* The TYPE keyword of a family type. */
static const char *type_name(int type)
{
    switch (type) {
    case REDISCONN__COUNTER:
        return "counter";
    case REDISCONN__GAUGE:
        return "gauge";
    default:
        return "histogram";
    }
}

/* A family: HELP, TYPE, its series. A family without series writes nothing. */
static void family(sbuf *b, const redisconn__family *f)
{
    if (redisconn__list_empty(&f->series_list)) return;
    sb_puts(b, "# HELP ");
    sb_puts(b, f->name);
    sb_puts(b, " ");
    sb_escaped(b, f->help, 0);
    sb_puts(b, "\n# TYPE ");
    sb_puts(b, f->name);
    sb_puts(b, " ");
    sb_puts(b, type_name(f->type));
    sb_puts(b, "\n");
    for (const redisconn__link *l = f->series_list.next; l != &f->series_list; l = l->next) {
        const redisconn__series *s = REDISCONN_CONTAINER_OF(l, const redisconn__series, link);
        if (f->type == REDISCONN__HISTOGRAM)
            histogram_series(b, f, s);
        else
            sample(b, f, s, "", NULL, s->value);
    }
}

/* Renders every family; on NOMEM nothing is returned and nothing leaks. */
static int render(const redisconn_metrics *m, char **out, size_t *len)
{
    sbuf b = {NULL, 0, 0, 0};
    for (const redisconn__link *l = m->families.next; l != &m->families; l = l->next)
        family(&b, REDISCONN_CONTAINER_OF(l, const redisconn__family, link));
    sb_put(&b, "", 0); /* allocates even for an empty registry */
    if (b.oom) {
        free(b.p);
        return REDISCONN_ERR_NOMEM;
    }
    b.p[b.len] = '\0'; /* sb_put() always leaves room for it */
    *out = b.p;
    *len = b.len;
    return REDISCONN_OK;
}

/* ---- collection ------------------------------------------------------------ */

/* Runs the hooks, then renders. */
static int collect(redisconn_metrics *m, char **out, size_t *len)
{
    if (m->collecting) return REDISCONN_ERR_STATE;
    m->collecting = 1;
    run_hooks(m);
    m->collecting = 0;
    return render(m, out, len);
}

/* Hooks, then text into a malloc'd string; *out is NULL on error. */
int redisconn_metrics_collect(redisconn_metrics *m, char **out, size_t *len)
{
    size_t n = 0;
    int rc;
    if (out != NULL) *out = NULL;
    if (m == NULL || out == NULL) return REDISCONN_ERR_INVALID;
    rc = collect(m, out, &n);
    if (rc == REDISCONN_OK && len != NULL) *len = n;
    return rc;
}

/* Hooks, then text into the caller's buffer, snprintf-style. */
int redisconn_metrics_collect_into(redisconn_metrics *m, char *buf, size_t cap, size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    int rc;
    if (m == NULL || len == NULL || (buf == NULL && cap > 0)) return REDISCONN_ERR_INVALID;
    if ((rc = collect(m, &text, &n)) != REDISCONN_OK) return rc;
    if (cap > 0) {
        size_t k = n < cap ? n : cap - 1;
        memcpy(buf, text, k);
        buf[k] = '\0';
    }
    free(text);
    *len = n;
    return REDISCONN_OK;
}
