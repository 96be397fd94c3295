/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * resp.h: our RESP encoder for the command path — hiredis's format syntax
 * ("SET %s %b", key, val, len) without vsprintf and without growing a string
 * per argument: pieces are collected in one pass, the size is known before a
 * byte is written, integers become text with a small loop, and the result
 * goes into a buffer reused from command to command. Formats the fast path
 * does not handle (printf conversions such as %d) go to hiredis's
 * redisvFormatCommand, so the bytes are always what hiredis would make
 * (tests/fuzz checks that byte for byte).
 */
#ifndef REDISCONN_POOL_RESP_H
#define REDISCONN_POOL_RESP_H

#include <stdarg.h>
#include <stddef.h>

/* A buffer the encoder writes into; zero-initialized = empty. Owned by one
 * pool (one thread): each result is valid until the next call with it. */
typedef struct redisconn__resp_buf {
    char *data;
    size_t cap;
} redisconn__resp_buf;

/* Encodes `fmt` (hiredis syntax) with `ap` into `b`; *out and *outlen get the
 * command. Returns REDISCONN_OK, REDISCONN_ERR_INVALID (a format hiredis
 * refuses) or REDISCONN_ERR_NOMEM. `ap` is consumed either way. */
int redisconn__resp_vformat(redisconn__resp_buf *b, const char **out, size_t *outlen,
                            const char *fmt, va_list ap);

/* Encodes an argument vector (lengths from `argvlen`, NULL = strlen). Returns
 * REDISCONN_OK, INVALID (argc < 1, a NULL argument) or NOMEM. */
int redisconn__resp_argv(redisconn__resp_buf *b, const char **out, size_t *outlen, int argc,
                         const char **argv, const size_t *argvlen);

/* Frees the buffer's memory; it may be used again (it regrows). */
void redisconn__resp_buf_free(redisconn__resp_buf *b);

#endif
