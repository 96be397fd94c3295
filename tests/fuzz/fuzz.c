/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz.c: the helpers every fuzz target shares (see fuzz.h). */
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void rf_fail(const char *target, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz: %s: ", target);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

void *rf_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) rf_fail("support", "out of memory (%zu bytes)", n);
    return p;
}

char *rf_cstr(const uint8_t *data, size_t size)
{
    char *s = rf_xmalloc(size + 1);
    if (size > 0) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Appends one piece to `a` (room is already there). */
static void add_piece(rf_argv *a, const char *s, size_t n)
{
    char *p = rf_xmalloc(n + 1);
    if (n > 0) memcpy(p, s, n);
    p[n] = '\0';
    a->argv[a->argc] = p;
    a->argvlen[a->argc++] = n;
}

void rf_argv_split(rf_argv *a, const char *prefix, const uint8_t *data, size_t size, int max)
{
    const char *s = (const char *)data, *end = s + size;
    size_t cap = (size_t)max + 2;
    a->argc = 0;
    a->argv = rf_xmalloc(cap * sizeof(*a->argv));
    a->argvlen = rf_xmalloc(cap * sizeof(*a->argvlen));
    if (prefix != NULL) add_piece(a, prefix, strlen(prefix));
    for (int k = 0; size > 0 && k < max; k++) { /* no bytes: no pieces */
        const char *nul = k + 1 < max ? memchr(s, '\0', (size_t)(end - s)) : NULL;
        if (nul == NULL) {
            add_piece(a, s, (size_t)(end - s));
            break;
        }
        add_piece(a, s, (size_t)(nul - s));
        s = nul + 1; /* a trailing NUL leaves one empty piece */
    }
    a->argv[a->argc] = NULL;
}

void rf_argv_free(rf_argv *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    free(a->argv);
    free(a->argvlen);
    memset(a, 0, sizeof(*a));
}

const char *rf_url_password(const char *text, char *buf, size_t len)
{
    static const char *const schemes[] = {"redis://", "rediss://", "unix://"};
    const char *s = NULL, *at = NULL, *colon;
    size_t n, authority;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && s == NULL; i++)
        if (strncmp(text, schemes[i], strlen(schemes[i])) == 0) s = text + strlen(schemes[i]);
    if (s == NULL) return NULL;
    authority = strcspn(s, "/?");
    for (const char *p = s; p < s + authority; p++)
        if (*p == '@') at = p;
    if (at == NULL || (colon = memchr(s, ':', (size_t)(at - s))) == NULL) return NULL;
    n = (size_t)(at - colon - 1);
    if (n < 6 || n >= len) return NULL;
    memcpy(buf, colon + 1, n);
    buf[n] = '\0';
    if (strstr(text, buf) != colon + 1 || strstr(colon + 2, buf) != NULL) return NULL;
    return buf;
}

static char tempdir[512];

/* Removes the temp dir and what the targets left in it. */
void rf_tempdir_remove(void)
{
    DIR *d;
    struct dirent *e;
    char path[1024];
    if (tempdir[0] == '\0') return;
    if ((d = opendir(tempdir)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(path, sizeof(path), "%s/%s", tempdir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(tempdir);
    tempdir[0] = '\0';
}

const char *rf_tempdir(void)
{
    static int registered;
    const char *base = getenv("TMPDIR");
    if (tempdir[0] != '\0') return tempdir;
    if (base == NULL || base[0] == '\0') base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(tempdir, sizeof(tempdir), "%s/redisconn-fuzz-XXXXXX", base);
    if (mkdtemp(tempdir) == NULL) rf_fail("support", "cannot create a temp dir in %s", base);
    if (!registered) atexit(rf_tempdir_remove);
    registered = 1;
    return tempdir;
}

void rf_write_file(const char *target, char *path, size_t pathlen, const char *name,
                   const uint8_t *data, size_t n)
{
    int fd;
    if (path[0] == '\0') snprintf(path, pathlen, "%s/%s", rf_tempdir(), name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) rf_fail(target, "cannot create %s", path);
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, data + off, n - off);
        if (w <= 0) rf_fail(target, "cannot write %s", path);
        off += (size_t)w;
    }
    close(fd);
}
