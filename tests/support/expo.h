/* SPDX-License-Identifier: BSD-3-Clause */
/* expo.h — a strict parser of the Prometheus text exposition format 0.0.4
 * for the metrics suites: every line must be a valid # HELP / # TYPE comment
 * or a sample `name{label="value",...} value`, or the test fails. */
#ifndef REDISCONN_TEST_EXPO_H
#define REDISCONN_TEST_EXPO_H

#include <stddef.h>

#define RT_EXPO_MAX_SAMPLES  512
#define RT_EXPO_MAX_FAMILIES 64

typedef struct rt_sample {
    char key[512];       /* "name{labels}" exactly as written (no labels: just "name") */
    char name[128];      /* the sample name */
    char values[8][256]; /* label values, unescaped, in order */
    char lnames[8][64];  /* label names, in order */
    int nlabels;
    double value;
} rt_sample;

typedef struct rt_family {
    char name[128];
    char type[16];  /* "" until its # TYPE line */
    char help[512]; /* unescaped */
    int has_help;
} rt_family;

typedef struct rt_expo {
    rt_sample samples[RT_EXPO_MAX_SAMPLES];
    int n;
    rt_family families[RT_EXPO_MAX_FAMILIES];
    int nfamilies;
    int lines;
} rt_expo;

/* Parses `text`, asserting (cr_assert) that it is valid exposition text:
 * every line well formed, a TYPE before the samples of each family, no TYPE
 * or sample twice, histogram samples named <family>_bucket/_sum/_count. */
void rt_expo_parse(const char *text, rt_expo *out);

/* The sample written as `key` ("name{labels}"), or NULL. */
const rt_sample *rt_expo_find(const rt_expo *e, const char *key);

/* Value of sample `key`; fails the test if absent. */
double rt_expo_value(const rt_expo *e, const char *key);

/* The family `name`, or NULL. */
const rt_family *rt_expo_family(const rt_expo *e, const char *name);

#endif
