/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_prpc.c — the pRPC header parsers (lib/server/redis/prpc.c):
 * Content-Type to a request encoding, Accept to a response encoding, as any
 * client may send them.
 *
 * Input: byte 0 bit 0 / bit 1 make Content-Type / Accept absent (NULL); the
 * rest, split at its first NUL byte, is Content-Type then Accept.
 * Properties: 0 with a known format, or -1 with the documented HTTP status
 * (415 for Content-Type; 400 or 406 for Accept) and a message; absent or
 * empty headers mean binary; deterministic.
 */
#include "fuzz.h"
#include "server/redis/prpc.h"

#include <stdlib.h>
#include <string.h>

#define RF_TARGET "prpc"

static int known_format(int fmt)
{
    return fmt == REDISCONN__PRPC_BINARY || fmt == REDISCONN__PRPC_JSON ||
           fmt == REDISCONN__PRPC_TEXT;
}

/* One parser's result, checked. */
static int run(int accept, const char *h, int *fmt)
{
    redisconn__prpc_error e;
    int rc;
    memset(&e, 0, sizeof(e));
    *fmt = -1;
    rc = accept ? redisconn__prpc_response_format(h, fmt, &e)
                : redisconn__prpc_request_format(h, fmt, &e);
    RF_CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        RF_CHECK(known_format(*fmt));
        if (h == NULL || h[0] == '\0') RF_CHECK(*fmt == REDISCONN__PRPC_BINARY);
    } else {
        RF_CHECK(h != NULL && h[0] != '\0');
        RF_CHECK(accept ? (e.http == 400 || e.http == 406) : e.http == 415);
        RF_CHECK(e.msg[0] != '\0' && memchr(e.msg, '\0', sizeof(e.msg)) != NULL);
    }
    return rc;
}

int rf_run_prpc(const uint8_t *data, size_t size)
{
    rf_argv a;
    const char *ct, *accept;
    int f1, f2, rc;
    if (size == 0) return 0;
    rf_argv_split(&a, NULL, data + 1, size - 1, 2);
    ct = data[0] & 1 || a.argc < 1 ? NULL : a.argv[0];
    accept = data[0] & 2 || a.argc < 2 ? NULL : a.argv[1];
    rc = run(0, ct, &f1);
    RF_CHECK(run(0, ct, &f2) == rc && f1 == f2);
    rc = run(1, accept, &f1);
    RF_CHECK(run(1, accept, &f2) == rc && f1 == f2);
    rf_argv_free(&a);
    return 0;
}

RF_ENTRY(rf_run_prpc)
