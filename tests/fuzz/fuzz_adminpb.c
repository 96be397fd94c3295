/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_adminpb.c — the admin endpoint's request decoder
 * (redisconn__adminpb_decode_flush_all, lib/server/redis/adminpb.c): an HTTP
 * body in binary protobuf, JSON or text format, as anyone may POST it.
 *
 * Input: byte 0 % 3 picks the format (enum redisconn__prpc_format), the rest
 * is the body, in an exact-size allocation.
 * Properties: 0 with async 0 or 1, or -1 with a reason; deterministic; bytes
 * after `len` change nothing. For a body that decodes, what the format's
 * rules say must hold: binary — an unknown field (or field 1 with another
 * wire type) appended changes nothing, "async" appended last wins; JSON —
 * surrounding whitespace changes nothing; text — a comment line before or
 * after changes nothing.
 */
#include "fuzz.h"
#include "server/redis/adminpb.h"
#include "server/redis/prpc.h"

#include <stdlib.h>
#include <string.h>

#define RF_TARGET "adminpb"

/* Decodes `len` bytes of `body` framed by `pre` and `post` (may be ""), from
 * an exact-size copy; returns the status, *async set on 0. */
static int decode(int fmt, const char *pre, const uint8_t *body, size_t len, const char *post,
                  size_t postlen, int *async)
{
    size_t a = strlen(pre), total = a + len + postlen;
    char *copy = rf_xmalloc(total), err[256];
    int rc;
    memcpy(copy, pre, a);
    if (len > 0) memcpy(copy + a, body, len);
    memcpy(copy + a + len, post, postlen);
    err[0] = '\0';
    *async = -1;
    rc = redisconn__adminpb_decode_flush_all(fmt, copy, total, async, err, sizeof(err));
    free(copy);
    RF_CHECK(rc == 0 || rc == -1);
    if (rc == 0) RF_CHECK(*async == 0 || *async == 1);
    if (rc != 0) RF_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
    return rc;
}

/* `pre` + body + `post` must decode to `want` (-1: the body's own value). */
static void expect_same(int fmt, const char *pre, const uint8_t *body, size_t len, const char *post,
                        size_t postlen, int async, int want)
{
    int got;
    if (decode(fmt, pre, body, len, post, postlen, &got) != 0)
        rf_fail(RF_TARGET, "format %d: a body that decodes stops decoding when framed", fmt);
    if (got != (want < 0 ? async : want))
        rf_fail(RF_TARGET, "format %d: framing changed async from %d to %d", fmt, async, got);
}

int rf_run_adminpb(const uint8_t *data, size_t size)
{
    const uint8_t *body = data + 1;
    size_t len;
    int fmt, async, again, rc;
    char *tail, err[256];
    if (size == 0) return 0;
    fmt = data[0] % 3;
    len = size - 1;
    rc = decode(fmt, "", body, len, "", 0, &async);
    RF_CHECK(decode(fmt, "", body, len, "", 0, &again) == rc && (rc != 0 || again == async));
    tail = rf_xmalloc(len + 4); /* the same bytes with more after them */
    if (len > 0) memcpy(tail, body, len);
    memcpy(tail + len, "\x08\x01}\n", 4);
    RF_CHECK(redisconn__adminpb_decode_flush_all(fmt, tail, len, &again, err, sizeof(err)) == rc &&
             (rc != 0 || again == async));
    free(tail);
    if (rc != 0) return 0;
    switch (fmt) {
    case REDISCONN__PRPC_BINARY:
        expect_same(fmt, "", body, len, "\x10\x05", 2, async, -1);     /* field 2 varint */
        expect_same(fmt, "", body, len, "\x0a\x00", 2, async, -1);     /* field 1, bytes */
        expect_same(fmt, "", body, len, "\x1d\0\0\0\0", 5, async, -1); /* field 3 fixed32 */
        expect_same(fmt, "", body, len, "\x08\x01", 2, async, 1);
        expect_same(fmt, "", body, len, "\x08\x00", 2, async, 0);
        expect_same(fmt, "", body, len, "\x08\x80\x01", 3, async, 1); /* any non-zero varint */
        break;
    case REDISCONN__PRPC_JSON:
        expect_same(fmt, " \t\r\n", body, len, " \n", 2, async, -1);
        break;
    default:
        expect_same(fmt, "# before\n", body, len, "\n# after\n", 9, async, -1);
        break;
    }
    return 0;
}

RF_ENTRY(rf_run_adminpb)
