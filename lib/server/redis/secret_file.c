/* SPDX-License-Identifier: BSD-3-Clause */
/* secret_file.c: opening and checking files that hold secrets (see secret_file.h). */
#include "server/redis/secret_file.h"
#include "redisconn/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The descriptor must be a regular file private to its owner. */
static int check_fd(int fd, const char *path, const char *what, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s \"%s\": %s", what, path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s \"%s\" is not a regular file", what, path);
        return -1;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        snprintf(err, errlen,
                 "%s \"%s\" is accessible by group or others (mode %04o): "
                 "it holds secrets, make it private (chmod 600)",
                 what, path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

int redisconn__secret_file_open(const char *path, const char *what, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s \"%s\": %s", what, path, strerror(errno));
        return -1;
    }
    if (check_fd(fd, path, what, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads at most `cap` bytes of `fd` into `raw`; returns the count or -1. */
static ssize_t read_some(int fd, char *raw, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, raw + got, cap - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Cuts the first line out of `raw` (`n` bytes) into `buf`; -1 with a reason. */
static int first_line(const char *raw, size_t n, char *buf, size_t len, const char **why)
{
    const char *nl = memchr(raw, '\n', n);
    size_t line = nl ? (size_t)(nl - raw) : n;
    if (line > 0 && raw[line - 1] == '\r') line--;
    *why = line == 0 ? "its first line is empty" : NULL;
    if (line >= len || (nl == NULL && n > len)) *why = "its first line is too long";
    if (*why == NULL && memchr(raw, '\0', line) != NULL) *why = "its first line holds a NUL byte";
    if (*why != NULL) return -1;
    memcpy(buf, raw, line);
    buf[line] = '\0';
    return 0;
}

int redisconn__secret_file_first_line(const char *path, const char *what, char *buf, size_t len,
                                      char *err, size_t errlen)
{
    char raw[4096];
    const char *why = NULL;
    ssize_t n;
    int rc = REDISCONN_OK, fd = redisconn__secret_file_open(path, what, err, errlen);
    if (fd < 0) return REDISCONN_ERR_INVALID;
    n = read_some(fd, raw, len + 1 < sizeof(raw) ? len + 1 : sizeof(raw));
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "cannot read %s \"%s\": %s", what, path, strerror(errno));
        rc = REDISCONN_ERR_INVALID;
    } else if (first_line(raw, (size_t)n, buf, len, &why) != 0) {
        snprintf(err, errlen, "%s \"%s\": %s", what, path, why);
        rc = REDISCONN_ERR_INVALID;
    }
    explicit_bzero(raw, sizeof(raw));
    if (rc != REDISCONN_OK) explicit_bzero(buf, len);
    return rc;
}
