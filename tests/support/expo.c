/* SPDX-License-Identifier: BSD-3-Clause */
/* expo.c: see expo.h. A strict reading of the 0.0.4 text format, written
 * independently of the library's renderer. */
#include "support/expo.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_name_char(char c, int first, int colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return 1;
    if (colon && c == ':') return 1;
    return !first && c >= '0' && c <= '9';
}

/* Reads a metric (colon 1) or label name at *p into out; advances *p. */
static void read_name(const char **p, char *out, size_t cap, int colon, const char *line)
{
    size_t n = 0;
    cr_assert(is_name_char(**p, 1, colon), "bad name start in line: %s", line);
    while (is_name_char(**p, n == 0, colon)) {
        cr_assert(n + 1 < cap, "name too long: %s", line);
        out[n++] = *(*p)++;
    }
    out[n] = '\0';
}

static rt_family *family(rt_expo *e, const char *name, int create)
{
    for (int i = 0; i < e->nfamilies; i++)
        if (strcmp(e->families[i].name, name) == 0) return &e->families[i];
    if (!create) return NULL;
    cr_assert(e->nfamilies < RT_EXPO_MAX_FAMILIES);
    rt_family *f = &e->families[e->nfamilies++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    return f;
}

/* Unescapes text after a HELP name: only \\ and \n are valid escapes. */
static void parse_help(rt_expo *e, const char *p, const char *line)
{
    char name[128];
    size_t n = 0;
    read_name(&p, name, sizeof(name), 1, line);
    cr_assert_eq(*p, ' ', "HELP needs a space after the name: %s", line);
    rt_family *f = family(e, name, 1);
    cr_assert_not(f->has_help, "second HELP for %s", name);
    f->has_help = 1;
    for (p++; *p != '\0'; p++) {
        char c = *p;
        if (c == '\\') {
            p++;
            cr_assert(*p == '\\' || *p == 'n', "bad escape in HELP: %s", line);
            c = *p == 'n' ? '\n' : '\\';
        }
        cr_assert(n + 1 < sizeof(f->help));
        f->help[n++] = c;
    }
    f->help[n] = '\0';
}

static void parse_type(rt_expo *e, const char *p, const char *line)
{
    char name[128];
    read_name(&p, name, sizeof(name), 1, line);
    cr_assert_eq(*p, ' ', "TYPE needs a space after the name: %s", line);
    p++;
    cr_assert(strcmp(p, "counter") == 0 || strcmp(p, "gauge") == 0 || strcmp(p, "histogram") == 0 ||
                  strcmp(p, "summary") == 0 || strcmp(p, "untyped") == 0,
              "bad TYPE: %s", line);
    rt_family *f = family(e, name, 1);
    cr_assert_eq(f->type[0], '\0', "second TYPE for %s", name);
    /* No sample of it can precede this line: samples need their TYPE first. */
    snprintf(f->type, sizeof(f->type), "%s", p);
}

/* Reads `"value"` with \\ \" \n escapes into out. */
static void read_label_value(const char **p, char *out, size_t cap, const char *line)
{
    size_t n = 0;
    cr_assert_eq(**p, '"', "label value must be quoted: %s", line);
    for ((*p)++; **p != '"'; (*p)++) {
        char c = **p;
        cr_assert(c != '\0' && c != '\n', "unterminated label value: %s", line);
        if (c == '\\') {
            (*p)++;
            cr_assert(**p == '\\' || **p == '"' || **p == 'n', "bad escape: %s", line);
            c = **p == 'n' ? '\n' : **p;
        }
        cr_assert(n + 1 < cap);
        out[n++] = c;
    }
    (*p)++;
    out[n] = '\0';
}

static void read_labels(const char **p, rt_sample *s, const char *line)
{
    (*p)++; /* '{' */
    while (**p != '}') {
        cr_assert(s->nlabels < 8);
        read_name(p, s->lnames[s->nlabels], sizeof(s->lnames[0]), 0, line);
        for (int i = 0; i < s->nlabels; i++)
            cr_assert_str_neq(s->lnames[i], s->lnames[s->nlabels], "label twice: %s", line);
        cr_assert_eq(**p, '=', "expected '=': %s", line);
        (*p)++;
        read_label_value(p, s->values[s->nlabels], sizeof(s->values[0]), line);
        s->nlabels++;
        cr_assert(**p == ',' || **p == '}', "expected ',' or '}': %s", line);
        if (**p == ',') (*p)++;
    }
    (*p)++;
}

static double read_value(const char *p, const char *line)
{
    char *end;
    double v;
    if (strcmp(p, "+Inf") == 0) return INFINITY;
    if (strcmp(p, "-Inf") == 0) return -INFINITY;
    if (strcmp(p, "NaN") == 0) return NAN;
    cr_assert(*p != '\0' && *p != ' ', "missing value: %s", line);
    v = strtod(p, &end);
    cr_assert(*end == '\0', "bad value (or a timestamp we never write): %s", line);
    return v;
}

/* The family a sample belongs to: its name, or a histogram's name for
 * _bucket / _sum / _count samples. */
static const rt_family *sample_family(rt_expo *e, const rt_sample *s)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    const rt_family *f = family(e, s->name, 0);
    if (f != NULL && f->type[0] != '\0' && strcmp(f->type, "histogram") != 0) return f;
    cr_assert(f == NULL || strcmp(f->type, "histogram") != 0,
              "histogram sample without _bucket/_sum/_count: %s", s->key);
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(s->name), k = strlen(sfx[i]);
        char base[128];
        if (n <= k || strcmp(s->name + n - k, sfx[i]) != 0) continue;
        snprintf(base, sizeof(base), "%.*s", (int)(n - k), s->name);
        const rt_family *h = family(e, base, 0);
        if (h != NULL && strcmp(h->type, "histogram") == 0) {
            cr_assert(i != 0 || (s->nlabels > 0 && strcmp(s->lnames[s->nlabels - 1], "le") == 0),
                      "_bucket sample without le: %s", s->key);
            return h;
        }
    }
    return NULL;
}

static void parse_sample(rt_expo *e, const char *line)
{
    const char *p = line;
    cr_assert(e->n < RT_EXPO_MAX_SAMPLES);
    rt_sample *s = &e->samples[e->n];
    memset(s, 0, sizeof(*s));
    read_name(&p, s->name, sizeof(s->name), 1, line);
    if (*p == '{') read_labels(&p, s, line);
    cr_assert_eq(*p, ' ', "expected a space before the value: %s", line);
    snprintf(s->key, sizeof(s->key), "%.*s", (int)(p - line), line);
    s->value = read_value(p + 1, line);
    const rt_family *f = sample_family(e, s);
    cr_assert(f != NULL && f->type[0] != '\0', "sample before its TYPE: %s", line);
    cr_assert_null(rt_expo_find(e, s->key), "sample twice: %s", s->key);
    e->n++;
}

void rt_expo_parse(const char *text, rt_expo *e)
{
    const char *p = text;
    memset(e, 0, sizeof(*e));
    cr_assert(*text == '\0' || text[strlen(text) - 1] == '\n', "text must end with a newline");
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = (size_t)(nl - p);
        char *line = malloc(n + 1);
        memcpy(line, p, n);
        line[n] = '\0';
        cr_assert(n > 0, "empty line");
        if (strncmp(line, "# HELP ", 7) == 0)
            parse_help(e, line + 7, line);
        else if (strncmp(line, "# TYPE ", 7) == 0)
            parse_type(e, line + 7, line);
        else {
            cr_assert_neq(line[0], '#', "unknown comment: %s", line);
            parse_sample(e, line);
        }
        free(line);
        e->lines++;
        p = nl + 1;
    }
}

const rt_sample *rt_expo_find(const rt_expo *e, const char *key)
{
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->samples[i].key, key) == 0) return &e->samples[i];
    return NULL;
}

double rt_expo_value(const rt_expo *e, const char *key)
{
    const rt_sample *s = rt_expo_find(e, key);
    cr_assert_not_null(s, "no sample %s", key);
    return s->value;
}

const rt_family *rt_expo_family(const rt_expo *e, const char *name)
{
    for (int i = 0; i < e->nfamilies; i++)
        if (strcmp(e->families[i].name, name) == 0) return &e->families[i];
    return NULL;
}
