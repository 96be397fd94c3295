/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_password_file.c — the Redis password file reader
 * (redisconn__secret_file_first_line, lib/server/redis/secret_file.c) on
 * arbitrary file contents, written to a private file (mode 0600).
 *
 * Input: byte 0 picks the buffer length (1, 2, 8, 64, 1025 as the Redis
 * module passes, 4096); the rest is the file.
 * Properties: OK exactly when the first line (without "\n" or "\r\n") is
 * non-empty, shorter than the buffer and free of NUL bytes, and then the
 * buffer holds exactly that line; otherwise INVALID with a reason that never
 * quotes the line (checked for lines of 8+ bytes holding a '~') and a wiped
 * buffer. A lone '\r' ending a file without "\n" may be cut too (secret_file.c
 * does so; the header speaks of "\n" and "\r\n" only).
 */
#include "fuzz.h"
#include "server/redis/secret_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RF_TARGET "password_file"

static const size_t lens[] = {1, 2, 8, 64, 1025, 4096};

static char path[1024];

/* 1 if a first line of `line` bytes at `s` is a password for a `len` buffer. */
static int acceptable(const uint8_t *s, size_t line, size_t len)
{
    return line > 0 && line < len && memchr(s, '\0', line) == NULL;
}

int rf_run_password_file(const uint8_t *data, size_t size)
{
    const uint8_t *s = data + 1;
    const uint8_t *nl;
    size_t n, len, line, alt;
    char *buf, err[512];
    int rc, ok_line, ok_alt;

    if (size == 0) return 0;
    len = lens[data[0] % (sizeof(lens) / sizeof(lens[0]))];
    n = size - 1;
    rf_write_file(RF_TARGET, path, sizeof(path), "password", s, n);
    nl = memchr(s, '\n', n);
    line = nl ? (size_t)(nl - s) : n;
    if (nl != NULL && line > 0 && s[line - 1] == '\r') line--;
    alt = nl == NULL && line > 0 && s[line - 1] == '\r' ? line - 1 : line; /* the lone '\r' */
    ok_line = acceptable(s, line, len);
    ok_alt = acceptable(s, alt, len);

    buf = rf_xmalloc(len);
    memset(buf, 'Z', len);
    strcpy(err, "untouched");
    rc = redisconn__secret_file_first_line(path, "Redis password file", buf, len, err, sizeof(err));
    RF_CHECK(rc == REDISCONN_OK || rc == REDISCONN_ERR_INVALID);
    if (rc == REDISCONN_OK) {
        size_t got = strnlen(buf, len);
        RF_CHECK(got < len);
        if (!((ok_line && got == line) || (ok_alt && got == alt)))
            rf_fail(RF_TARGET, "read %zu bytes, the first line has %zu (buffer %zu)", got, line,
                    len);
        RF_CHECK(memcmp(buf, s, got) == 0);
    } else {
        RF_CHECK(!ok_line || !ok_alt); /* refused under one reading at least */
        for (size_t i = 0; i < len; i++)
            RF_CHECK(buf[i] == '\0');
        RF_CHECK(err[0] != '\0' && strcmp(err, "untouched") != 0);
        if (line >= 8 && memchr(s, '~', line) != NULL && memmem(err, strlen(err), s, line) != NULL)
            rf_fail(RF_TARGET, "the error quotes the password: %s", err);
    }
    free(buf);
    return 0;
}

RF_ENTRY(rf_run_password_file)
