/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * secret_file.h: opening files that hold secrets (the admin token file, the
 * Redis password file) the same way: opened first, then checked with fstat
 * on that descriptor (no race with a rename): a regular file that neither
 * its group nor others may access at all. Messages name the file and what
 * it is ("admin tokens file"), never its contents.
 */
#ifndef REDISCONN_SERVER_SECRET_FILE_H
#define REDISCONN_SERVER_SECRET_FILE_H

#include <stddef.h>

/* Opens `path` read-only (close-on-exec) and checks it as above. Returns the
 * descriptor, or -1 with the reason in `err`, naming the file as `what`. */
int redisconn__secret_file_open(const char *path, const char *what, char *err, size_t errlen);

/* Reads the first line of the secret file `path` (without its "\n" or
 * "\r\n") into `buf`. Returns REDISCONN_OK, or REDISCONN_ERR_INVALID with
 * the reason in `err` (cannot open or read it, not private, empty first
 * line, longer than `len` - 1 bytes, a NUL byte in it). Every buffer that
 * held the file is wiped; on failure `buf` is wiped too. */
int redisconn__secret_file_first_line(const char *path, const char *what, char *buf, size_t len,
                                      char *err, size_t errlen);

#endif
