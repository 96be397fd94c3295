/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_tokens.c — the admin token file parser (redisconn__tokens_load,
 * lib/server/redis/tokens.c) on arbitrary file contents. The loader takes a
 * path only, so each input is written to a private file (mode 0600).
 *
 * Properties: the status is OK, INVALID or NOMEM, with a reason unless OK;
 * after OK the table has one identity per entry line, the first field of
 * every entry line finds an identity that is in each of its groups, and a
 * token truncated by one byte or extended by one finds a different identity
 * or none; an error message never quotes a token (checked for tokens of at
 * least 12 bytes holding a character no message uses).
 */
#include "fuzz.h"
#include "server/redis/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RF_TARGET "tokens"

static char path[1024];

/* The first field of an entry line [s, e) (the loader's view: trailing CR/LF
 * cut, leading blanks skipped, then up to a blank); NULL for a blank or
 * comment line. */
static const char *first_field(const char *s, const char *e, size_t *n)
{
    while (e > s && (e[-1] == '\r' || e[-1] == '\n'))
        e--;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    if (s == e || *s == '#') return NULL;
    *n = strcspn(s, " \t");
    if (*n > (size_t)(e - s)) *n = (size_t)(e - s);
    return s;
}

/* A token worth searching for in an error message: long, with a character
 * that none of the loader's messages contains. */
static int searchable(const char *tok, size_t n)
{
    return n >= 12 && memchr(tok, '~', n) != NULL;
}

/* Checks every entry line of a file that loaded. */
static void check_loaded(const redisconn__tokens *t, const char *text, size_t size)
{
    size_t entries = 0, n;
    for (const char *s = text, *end = text + size; s < end;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl + 1 : end;
        const char *tok = first_field(s, e, &n);
        const redisconn__identity *id, *other;
        s = e;
        if (tok == NULL) continue;
        entries++;
        id = redisconn__tokens_lookup(t, tok, n);
        RF_CHECK(id != NULL && id->name != NULL && id->ngroups >= 1);
        for (size_t g = 0; g < id->ngroups; g++)
            RF_CHECK(redisconn__identity_in_group(id, id->groups[g]) == 1);
        other = redisconn__tokens_lookup(t, tok, n - 1); /* n - 1 == 0: refused */
        RF_CHECK(other != id);
        if (tok + n < end && tok[n] != '\0') {
            other = redisconn__tokens_lookup(t, tok, n + 1);
            RF_CHECK(other != id);
        }
    }
    RF_CHECK(redisconn__tokens_count(t) == entries);
}

/* An error message must quote no token. */
static void check_secret(const char *err, const char *text, size_t size)
{
    size_t n;
    for (const char *s = text, *end = text + size; s < end;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl + 1 : end;
        const char *tok = first_field(s, e, &n);
        s = e;
        if (tok == NULL || !searchable(tok, n)) continue;
        if (memmem(err, strlen(err), tok, n) != NULL)
            rf_fail(RF_TARGET, "an error message quotes a token: %s", err);
    }
}

int rf_run_tokens(const uint8_t *data, size_t size)
{
    char err[512], *text;
    redisconn__tokens *t = NULL;
    int rc;

    rf_write_file(RF_TARGET, path, sizeof(path), "tokens", data, size);
    strcpy(err, "untouched");
    rc = redisconn__tokens_load(path, &t, err, sizeof(err));
    text = rf_cstr(data, size);
    RF_CHECK(rc == REDISCONN_OK || rc == REDISCONN_ERR_INVALID || rc == REDISCONN_ERR_NOMEM);
    if (rc == REDISCONN_OK) {
        RF_CHECK(t != NULL);
        RF_CHECK(memchr(data, '\0', size) == NULL); /* a NUL byte is refused */
        check_loaded(t, text, size);
    } else {
        RF_CHECK(t == NULL);
        RF_CHECK(err[0] != '\0' && strcmp(err, "untouched") != 0);
        check_secret(err, text, size);
    }
    redisconn__tokens_free(t);
    free(text);
    return 0;
}

RF_ENTRY(rf_run_tokens)
