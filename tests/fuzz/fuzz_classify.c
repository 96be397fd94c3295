/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_classify.c — the parsers of RESP-formatted commands in
 * lib/pool/classify.h: redisconn__classify(), redisconn__classify_block_ms()
 * and the argument cursor redisconn__resp_args_*().
 *
 * Input byte 0 picks the mode, the rest is the payload:
 *  - even: the payload itself is the "command" (arbitrary bytes);
 *  - odd: the payload split on NUL bytes is an argv, formatted as RESP with
 *    redisFormatCommandArgv().
 * The command sits in an exact-size allocation: nothing may read past `len`
 * (and the results must not change when more bytes follow). The cursor yields
 * at most the announced count of arguments, each inside the buffer; on a
 * formatted argv it yields exactly that argv. A blocking timeout is >= 0 and
 * only for a CLS_BLOCKING command. On an argv, the case of the command name
 * changes nothing (Redis ignores it).
 */
#include "fuzz.h"
#include "pool/classify.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#define RF_TARGET "classify"

#define MAX_ARGS 16

/* What the parsers make of one buffer. */
typedef struct result {
    unsigned cls;
    int blocks;
    int64_t ms;
    long nargs; /* the cursor's count, -1 when malformed */
} result;

static int same_result(const result *a, const result *b)
{
    return a->cls == b->cls && a->blocks == b->blocks && a->ms == b->ms && a->nargs == b->nargs;
}

/* Walks the arguments of `cmd`; with `want` (a formatted argv), they must be
 * exactly its arguments. */
static long walk_args(const char *cmd, size_t len, const rf_argv *want)
{
    redisconn__resp_args it;
    const char *s;
    size_t n;
    long count = redisconn__resp_args_begin(&it, cmd, len), got = 0;
    int rc;
    if (want != NULL) RF_CHECK(count == want->argc);
    if (count < 0) return -1;
    while ((rc = redisconn__resp_args_next(&it, &s, &n)) == 1) {
        RF_CHECK(s >= cmd && n <= len && (size_t)(s - cmd) <= len - n);
        if (want != NULL)
            RF_CHECK(got < want->argc && n == want->argvlen[got] &&
                     (n == 0 || memcmp(s, want->argv[got], n) == 0));
        RF_CHECK(++got <= count);
    }
    RF_CHECK(rc == 0 || rc == -1);
    if (want != NULL) RF_CHECK(rc == 0 && got == count);
    return rc == 0 ? count : -1;
}

/* The parsers on `len` bytes at `cmd`, which may be followed by more. */
static void parse_all(const char *cmd, size_t len, const rf_argv *want, result *r)
{
    r->cls = redisconn__classify(cmd, len);
    r->ms = -7;
    r->blocks = redisconn__classify_block_ms(cmd, len, &r->ms);
    RF_CHECK(r->blocks == 0 || r->blocks == 1);
    if (r->blocks) {
        RF_CHECK(r->ms >= 0);
        RF_CHECK((r->cls & CLS_BLOCKING) != 0);
    } else {
        r->ms = -7; /* unspecified when not blocking */
    }
    r->nargs = walk_args(cmd, len, want);
}

/* parse_all() in an allocation of exactly `len` bytes, then followed by a
 * tail that would parse differently if read: both must agree. */
static void parse_exact(const char *cmd, size_t len, const rf_argv *want, result *r)
{
    static const char tail[] = "9999999\r\n$5\r\nMULTI\r\n$1\r\n0\r\n";
    char *copy = rf_xmalloc(len + sizeof(tail));
    result again;
    if (len > 0) memcpy(copy, cmd, len);
    parse_all(copy, len, want, r);
    memcpy(copy + len, tail, sizeof(tail));
    parse_all(copy, len, want, &again);
    RF_CHECK(same_result(r, &again));
    free(copy);
}

/* The results for argv formatted as RESP, with argv[0] mapped through `fold`. */
static void parse_argv(rf_argv *a, int (*fold)(int), result *r)
{
    char *cmd = NULL;
    int len;
    if (fold != NULL)
        for (size_t i = 0; i < a->argvlen[0]; i++)
            a->argv[0][i] = (char)fold((unsigned char)a->argv[0][i]);
    len = redisFormatCommandArgv(&cmd, a->argc, (const char **)a->argv, a->argvlen);
    if (len < 0) rf_fail(RF_TARGET, "redisFormatCommandArgv failed");
    parse_exact(cmd, (size_t)len, a, r);
    redisFreeCommand(cmd);
}

int rf_run_classify(const uint8_t *data, size_t size)
{
    rf_argv a;
    result r, upper, lower;
    if (size == 0) return 0;
    if ((data[0] & 1) == 0) {
        char *copy = rf_xmalloc(size - 1);
        if (size > 1) memcpy(copy, data + 1, size - 1);
        parse_exact(copy, size - 1, NULL, &r);
        free(copy);
        return 0;
    }
    rf_argv_split(&a, NULL, data + 1, size - 1, MAX_ARGS);
    if (a.argc > 0) {
        parse_argv(&a, NULL, &r);
        parse_argv(&a, toupper, &upper);
        parse_argv(&a, tolower, &lower);
        if (!same_result(&r, &upper) || !same_result(&r, &lower))
            rf_fail(RF_TARGET,
                    "\"%s\" depends on case: class %#x/%#x/%#x, blocks %d/%d/%d, ms "
                    "%lld/%lld/%lld",
                    a.argv[0], r.cls, upper.cls, lower.cls, r.blocks, upper.blocks, lower.blocks,
                    (long long)r.ms, (long long)upper.ms, (long long)lower.ms);
    }
    rf_argv_free(&a);
    return 0;
}

RF_ENTRY(rf_run_classify)
