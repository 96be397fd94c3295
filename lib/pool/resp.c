/* SPDX-License-Identifier: BSD-3-Clause */
/* resp.c: see resp.h. */
#include "pool/resp.h"
#include "redisconn/common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

enum {
    MAX_PIECES = 64, /* literal runs and %s/%b arguments of one format */
    MAX_ARGS = 32    /* arguments of one format */
};

typedef struct piece {
    const char *p;
    size_t n;
} piece;

/* Decimal digits of v (v < 10^20). */
static size_t digits(size_t v)
{
    size_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Writes v in decimal at p; returns the end. Lengths and counts of
 * commands are mostly under 100: those take no division loop. */
static char *put_num(char *p, size_t v)
{
    char tmp[24];
    size_t n = 0;
    if (v < 10) {
        *p++ = (char)('0' + v);
        return p;
    }
    if (v < 100) {
        *p++ = (char)('0' + v / 10);
        *p++ = (char)('0' + v % 10);
        return p;
    }
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* Makes room for `need` bytes (power-of-two growth, kept across commands). */
static char *reserve(redisconn__resp_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 256;
    char *d;
    if (need <= b->cap) return b->data;
    while (cap < need)
        cap *= 2;
    d = realloc(b->data, cap);
    if (d == NULL) return NULL;
    b->data = d;
    b->cap = cap;
    return d;
}

/* "$len\r\n" + bytes + "\r\n" of one argument made of pieces[from..to). */
static char *put_arg(char *p, const piece *pieces, int from, int to, size_t len)
{
    *p++ = '$';
    p = put_num(p, len);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = from; i < to; i++) {
        const char *s = pieces[i].p;
        size_t n = pieces[i].n;
        if (n <= 16) { /* keys and short values: no call */
            for (size_t k = 0; k < n; k++)
                p[k] = s[k];
        } else {
            memcpy(p, s, n);
        }
        p += n;
    }
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* What one pass over a format found: the pieces and where arguments end. */
typedef struct parsed {
    piece pieces[MAX_PIECES];
    int npieces;
    int end[MAX_ARGS];    /* argument i is pieces [end[i-1], end[i]) */
    size_t len[MAX_ARGS]; /* its length */
    int argc;
} parsed;

/* Closes the argument being built (if touched). 0, or -1 when too many. */
static int end_arg(parsed *ps, int *touched, size_t *cur)
{
    if (!*touched) return 0;
    if (ps->argc == MAX_ARGS) return -1;
    ps->end[ps->argc] = ps->npieces;
    ps->len[ps->argc++] = *cur;
    *touched = 0;
    *cur = 0;
    return 0;
}

static int add_piece(parsed *ps, const char *p, size_t n, size_t *cur)
{
    if (ps->npieces == MAX_PIECES) return -1;
    ps->pieces[ps->npieces++] = (piece){p, n};
    *cur += n;
    return 0;
}

/* The fast path's one pass: literal runs, %s, %b, %%, spaces. Returns 0, or
 * -1 for anything else (a printf conversion, too many pieces): hiredis then
 * formats it. `ap` is consumed only as far as the pass got. */
static int parse(parsed *ps, const char *fmt, va_list ap)
{
    const char *c = fmt;
    int touched = 0;
    size_t cur = 0;
    ps->npieces = ps->argc = 0;
    while (*c != '\0') {
        if (*c == ' ') {
            if (end_arg(ps, &touched, &cur) != 0) return -1;
            c++;
        } else if (*c != '%' || c[1] == '\0') { /* a literal run (a final % is literal) */
            const char *start = c;
            while (*c != '\0' && *c != ' ' && (*c != '%' || c[1] == '\0'))
                c++;
            if (add_piece(ps, start, (size_t)(c - start), &cur) != 0) return -1;
            touched = 1;
        } else {
            const char *arg = c;
            size_t n = 1;
            if (c[1] == 's') {
                arg = va_arg(ap, const char *);
                n = strlen(arg);
            } else if (c[1] == 'b') {
                arg = va_arg(ap, const char *);
                n = va_arg(ap, size_t);
            } else if (c[1] != '%') {
                return -1; /* %d & co. */
            }
            if (n > 0 && add_piece(ps, arg, n, &cur) != 0) return -1;
            touched = 1;
            c += 2;
        }
    }
    return end_arg(ps, &touched, &cur);
}

/* Copies a command made by hiredis into `b`. */
static int adopt(redisconn__resp_buf *b, const char **out, size_t *outlen, char *cmd, int len)
{
    char *d;
    if (len == -2) return REDISCONN_ERR_INVALID; /* hiredis: -2 format error, -1 no memory */
    if (len < 0) return REDISCONN_ERR_NOMEM;
    d = reserve(b, (size_t)len);
    if (d == NULL) {
        redisFreeCommand(cmd);
        return REDISCONN_ERR_NOMEM;
    }
    memcpy(d, cmd, (size_t)len);
    redisFreeCommand(cmd);
    *out = d;
    *outlen = (size_t)len;
    return REDISCONN_OK;
}

int redisconn__resp_vformat(redisconn__resp_buf *b, const char **out, size_t *outlen,
                            const char *fmt, va_list ap)
{
    parsed ps;
    va_list copy;
    size_t total;
    char *p;
    int rc;

    va_copy(copy, ap);
    if (parse(&ps, fmt, ap) != 0) { /* hiredis formats what the fast path does not */
        char *cmd = NULL;
        int len = redisvFormatCommand(&cmd, fmt, copy);
        va_end(copy);
        return adopt(b, out, outlen, cmd, len);
    }
    va_end(copy);
    total = 1 + digits((size_t)ps.argc) + 2;
    for (int i = 0; i < ps.argc; i++)
        total += 1 + digits(ps.len[i]) + 2 + ps.len[i] + 2;
    p = reserve(b, total);
    if (p == NULL) return REDISCONN_ERR_NOMEM;
    *p++ = '*';
    p = put_num(p, (size_t)ps.argc);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < ps.argc; i++)
        p = put_arg(p, ps.pieces, i ? ps.end[i - 1] : 0, ps.end[i], ps.len[i]);
    rc = (size_t)(p - b->data) == total ? REDISCONN_OK : REDISCONN_ERR_INVALID;
    *out = b->data;
    *outlen = total;
    return rc;
}

int redisconn__resp_argv(redisconn__resp_buf *b, const char **out, size_t *outlen, int argc,
                         const char **argv, const size_t *argvlen)
{
    size_t total;
    char *p;
    if (argc <= 0 || argv == NULL) return REDISCONN_ERR_INVALID;
    total = 1 + digits((size_t)argc) + 2;
    for (int i = 0; i < argc; i++) {
        size_t n;
        if (argv[i] == NULL) return REDISCONN_ERR_INVALID;
        n = argvlen ? argvlen[i] : strlen(argv[i]);
        total += 1 + digits(n) + 2 + n + 2;
    }
    p = reserve(b, total);
    if (p == NULL) return REDISCONN_ERR_NOMEM;
    *p++ = '*';
    p = put_num(p, (size_t)argc);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < argc; i++) {
        piece one = {argv[i], argvlen ? argvlen[i] : strlen(argv[i])};
        p = put_arg(p, &one, 0, 1, one.n);
    }
    *out = b->data;
    *outlen = total;
    return REDISCONN_OK;
}

void redisconn__resp_buf_free(redisconn__resp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->cap = 0;
}
