/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_resp.c — our RESP encoder (lib/pool/resp.c) must make the very bytes
 * hiredis's formatter makes, or refuse exactly when it refuses.
 *
 * Input byte 0 picks the mode, the rest split on NUL bytes is a format and
 * its arguments:
 *  - 0: a format whose conversions are %s (and %%), with string arguments;
 *  - 1: a format whose conversions are %b (and %%), with binary arguments;
 *  - 2: an argument vector, against redisFormatCommandArgv().
 * Other conversions in the fuzzed format are turned into "%%" (printf
 * conversions go to hiredis itself, so they are equal by construction), at
 * most MAX_CONV conversions are kept, and the call always passes MAX_CONV
 * arguments of the right types (unused ones are ignored by both).
 */
#include "fuzz.h"
#include "pool/resp.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define RF_TARGET "resp"

#define MAX_CONV 6

static redisconn__resp_buf buf;

/* Compares both encoders on one va_list pair. */
static void compare(const char *fmt, va_list a, va_list b)
{
    char *want = NULL;
    const char *got;
    size_t glen;
    int wlen = redisvFormatCommand(&want, fmt, a);
    int rc = redisconn__resp_vformat(&buf, &got, &glen, fmt, b);
    if (wlen < 0) {
        RF_CHECK(rc != REDISCONN_OK);
        return;
    }
    RF_CHECK(rc == REDISCONN_OK);
    RF_CHECK(glen == (size_t)wlen);
    RF_CHECK(memcmp(got, want, glen) == 0);
    redisFreeCommand(want);
}

static void both(const char *fmt, ...)
{
    va_list a, b;
    va_start(a, fmt);
    va_copy(b, a);
    compare(fmt, a, b);
    va_end(b);
    va_end(a);
}

/* Keeps the conversions of kind `conv` ('s' or 'b') and "%%", at most
 * MAX_CONV of them; any other '%' becomes "%%". */
static char *sanitize(const char *in, char conv)
{
    size_t n = strlen(in);
    char *out = rf_xmalloc(2 * n + 1), *o = out;
    int kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '%') {
            *o++ = in[i];
            continue;
        }
        if (i + 1 < n && in[i + 1] == conv && kept < MAX_CONV) {
            *o++ = '%';
            *o++ = conv;
            kept++;
            i++;
        } else if (i + 1 < n) {
            *o++ = '%';
            *o++ = '%';
            if (in[i + 1] == '%') i++;
        } else {
            *o++ = '%'; /* a final % is literal */
        }
    }
    *o = '\0';
    return out;
}

static void run_format(const rf_argv *a, char conv)
{
    const char *s[MAX_CONV];
    size_t len[MAX_CONV];
    char *fmt = sanitize(a->argc > 0 ? a->argv[0] : "", conv);
    for (int i = 0; i < MAX_CONV; i++) {
        s[i] = i + 1 < a->argc ? a->argv[i + 1] : "";
        len[i] = i + 1 < a->argc ? a->argvlen[i + 1] : 0;
    }
    if (conv == 's')
        both(fmt, s[0], s[1], s[2], s[3], s[4], s[5]);
    else
        both(fmt, s[0], len[0], s[1], len[1], s[2], len[2], s[3], len[3], s[4], len[4], s[5],
             len[5]);
    free(fmt);
}

static void run_argv(const rf_argv *a)
{
    char *want = NULL;
    const char *got;
    size_t glen;
    int wlen, rc;
    if (a->argc == 0) return;
    wlen = redisFormatCommandArgv(&want, a->argc, (const char **)a->argv, a->argvlen);
    rc = redisconn__resp_argv(&buf, &got, &glen, a->argc, (const char **)a->argv, a->argvlen);
    RF_CHECK(wlen > 0 && rc == REDISCONN_OK);
    RF_CHECK(glen == (size_t)wlen && memcmp(got, want, glen) == 0);
    redisFreeCommand(want);
}

int rf_run_resp(const uint8_t *data, size_t size)
{
    rf_argv a;
    if (size == 0) return 0;
    rf_argv_split(&a, NULL, data + 1, size - 1, MAX_CONV + 1);
    switch (data[0] % 3) {
    case 0:
        run_format(&a, 's');
        break;
    case 1:
        run_format(&a, 'b');
        break;
    default:
        run_argv(&a);
        break;
    }
    rf_argv_free(&a);
    return 0;
}

RF_ENTRY(rf_run_resp)
