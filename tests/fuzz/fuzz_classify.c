/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_classify.c — redisconn__classify() (lib/pool/classify.h).
 *
 * Input byte 0 picks the mode, the rest is the payload:
 *  - even: the payload itself is the "command" (arbitrary bytes: a malformed
 *    buffer must be CLS_UNSUPPORTED, never a read past its end);
 *  - odd: the payload split on NUL bytes is an argv, formatted as RESP with
 *    redisFormatCommandArgv() into an exact-size buffer; its class must not
 *    depend on the case of the command name (Redis ignores it).
 * Either way the class has only known bits, and does not change when the
 * buffer is followed by more bytes than `len` says.
 */
#include "fuzz.h"
#include "pool/classify.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#define RF_TARGET "classify"

#define MAX_ARGS 16

/* Every bit classify.h defines today and room for a few more. */
#define KNOWN_BITS 0xffffu

/* The class of `len` bytes in an allocation of exactly that size. */
static unsigned classify_exact(const char *cmd, size_t len)
{
    char *copy = rf_xmalloc(len);
    unsigned cls;
    if (len > 0) memcpy(copy, cmd, len);
    cls = redisconn__classify(copy, len);
    free(copy);
    RF_CHECK((cls & ~KNOWN_BITS) == 0);
    return cls;
}

/* The same bytes followed by a tail that would parse differently if read. */
static unsigned classify_with_tail(const char *cmd, size_t len)
{
    static const char tail[] = "9999999\r\n$5\r\nMULTI\r\n";
    char *copy = rf_xmalloc(len + sizeof(tail));
    unsigned cls;
    if (len > 0) memcpy(copy, cmd, len);
    memcpy(copy + len, tail, sizeof(tail));
    cls = redisconn__classify(copy, len);
    free(copy);
    return cls;
}

/* The class of argv formatted as RESP, with argv[0] mapped through `fold`. */
static unsigned classify_argv(rf_argv *a, int (*fold)(int), unsigned *with_tail)
{
    char *cmd = NULL;
    long long len;
    unsigned cls;
    if (fold != NULL)
        for (size_t i = 0; i < a->argvlen[0]; i++)
            a->argv[0][i] = (char)fold((unsigned char)a->argv[0][i]);
    len = redisFormatCommandArgv(&cmd, a->argc, (const char **)a->argv, a->argvlen);
    if (len < 0) rf_fail(RF_TARGET, "redisFormatCommandArgv failed");
    cls = classify_exact(cmd, (size_t)len);
    if (with_tail != NULL) *with_tail = classify_with_tail(cmd, (size_t)len);
    redisFreeCommand(cmd);
    return cls;
}

int rf_run_classify(const uint8_t *data, size_t size)
{
    rf_argv a;
    unsigned cls, tail, upper, lower;
    if (size == 0) return 0;
    if ((data[0] & 1) == 0) {
        cls = classify_exact((const char *)data + 1, size - 1);
        tail = classify_with_tail((const char *)data + 1, size - 1);
        RF_CHECK(cls == tail);
        return 0;
    }
    rf_argv_split(&a, NULL, data + 1, size - 1, MAX_ARGS);
    if (a.argc > 0) {
        cls = classify_argv(&a, NULL, &tail);
        RF_CHECK(cls == tail);
        upper = classify_argv(&a, toupper, NULL);
        lower = classify_argv(&a, tolower, NULL);
        if (cls != upper || cls != lower)
            rf_fail(RF_TARGET, "class of \"%s\" depends on case: %#x, upper %#x, lower %#x",
                    a.argv[0], cls, upper, lower);
    }
    rf_argv_free(&a);
    return 0;
}

RF_ENTRY(rf_run_classify)
