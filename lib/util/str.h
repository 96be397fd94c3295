/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * str.h: copies of option strings — the one place "strdup, but NULL stays
 * NULL and out-of-memory is remembered" is written (pool, addresses,
 * cluster options).
 */
#ifndef REDISCONN_UTIL_STR_H
#define REDISCONN_UTIL_STR_H

#include <stdlib.h>
#include <string.h>

/* A malloc'ed copy of the first `n` bytes of `s`, NUL-terminated; NULL when
 * out of memory. */
static inline char *redisconn__str_dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p == NULL) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* A copy of `s`, or NULL for NULL; sets *failed (and returns NULL) when out
 * of memory, so that several copies can be checked once. */
static inline char *redisconn__str_dup_opt(const char *s, int *failed)
{
    char *p;
    if (s == NULL) return NULL;
    p = redisconn__str_dup_n(s, strlen(s));
    if (p == NULL) *failed = 1;
    return p;
}

#endif
