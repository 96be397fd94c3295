/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tokens.c: loading the admin token file and looking tokens up in constant
 * time (see tokens.h). Entries keep their token zero-padded to the full
 * width, so that every comparison reads the same number of bytes.
 */
#include "server/redis/tokens.h"
#include "server/redis/secret_file.h"
#include "redisconn/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct token_entry {
    unsigned char token[REDISCONN__TOKEN_MAX]; /* zero-padded */
    size_t len;
    int line;
    redisconn__identity id;
} token_entry;

struct redisconn__tokens {
    token_entry *v;
    size_t n, cap;
};

/* Where a parse is, for error messages. */
typedef struct parse_ctx {
    const char *path;
    int line;
    char *err;
    size_t errlen;
} parse_ctx;

/* "admin tokens file "<path>", line <n>: <why>"; returns INVALID. */
static int line_error(const parse_ctx *p, const char *fmt, ...) REDISCONN_PRINTF(2, 3);
/* Never quotes the line: only the file, the number and the reason. */
static int line_error(const parse_ctx *p, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "admin tokens file \"%s\", line %d: %s", p->path, p->line, why);
    return REDISCONN_ERR_INVALID;
}

/* Frees an identity's strings. */
static void identity_free(redisconn__identity *id)
{
    for (size_t i = 0; i < id->ngroups; i++)
        free(id->groups[i]);
    free(id->groups);
    free(id->name);
}

/* Wipes every entry (tokens included) before freeing. */
void redisconn__tokens_free(redisconn__tokens *t)
{
    if (t == NULL) return;
    for (size_t i = 0; i < t->n; i++)
        identity_free(&t->v[i].id);
    if (t->v != NULL) explicit_bzero(t->v, t->cap * sizeof(*t->v));
    free(t->v);
    free(t);
}

/* Entries loaded; 0 without a table. */
size_t redisconn__tokens_count(const redisconn__tokens *t)
{
    return t ? t->n : 0;
}

/* Printable ASCII, no space: what every field is made of. */
static int field_valid(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s <= ' ' || *s > '~') return 0;
    return 1;
}

/* Splits "a,b,c" into the identity's groups: REDISCONN_OK, _INVALID (an
 * empty group name) or _NOMEM. */
static int parse_groups(redisconn__identity *id, char *list)
{
    size_t n = 1;
    char *save = NULL;
    for (const char *p = list; *p != '\0'; p++)
        n += *p == ',';
    if (list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,") != NULL)
        return REDISCONN_ERR_INVALID;
    if ((id->groups = calloc(n, sizeof(*id->groups))) == NULL) return REDISCONN_ERR_NOMEM;
    for (char *g = strtok_r(list, ",", &save); g != NULL; g = strtok_r(NULL, ",", &save))
        if ((id->groups[id->ngroups++] = strdup(g)) == NULL) return REDISCONN_ERR_NOMEM;
    return REDISCONN_OK;
}

/* Makes room for one more entry; the new one is zeroed. */
static token_entry *entry_add(redisconn__tokens *t)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        token_entry *v = calloc(cap, sizeof(*v));
        if (v == NULL) return NULL;
        if (t->n > 0) memcpy(v, t->v, t->n * sizeof(*v));
        if (t->v != NULL) explicit_bzero(t->v, t->cap * sizeof(*t->v));
        free(t->v);
        t->v = v;
        t->cap = cap;
    }
    return &t->v[t->n];
}

/* The line of an entry holding `token` already, or 0 (load time: no secrecy needed). */
static int duplicate_line(const redisconn__tokens *t, const char *token, size_t len)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].len == len && memcmp(t->v[i].token, token, len) == 0) return t->v[i].line;
    return 0;
}

/* Adds the entry of a line split into its three fields. */
static int add_entry(redisconn__tokens *t, const parse_ctx *p, char **f)
{
    size_t len = strlen(f[0]);
    int dup = duplicate_line(t, f[0], len), rc;
    token_entry *e;
    if (len > REDISCONN__TOKEN_MAX)
        return line_error(p, "token longer than %d bytes", REDISCONN__TOKEN_MAX);
    if (dup) return line_error(p, "same token as line %d", dup);
    if ((e = entry_add(t)) == NULL) return REDISCONN_ERR_NOMEM;
    e->id.name = strdup(f[1]);
    rc = e->id.name == NULL ? REDISCONN_ERR_NOMEM : parse_groups(&e->id, f[2]);
    if (rc != REDISCONN_OK) {
        identity_free(&e->id);
        memset(&e->id, 0, sizeof(e->id));
        return rc == REDISCONN_ERR_INVALID ? line_error(p, "empty group name") : rc;
    }
    memcpy(e->token, f[0], len);
    e->len = len;
    e->line = p->line;
    t->n++;
    return REDISCONN_OK;
}

/* One line (NUL-terminated, `n` bytes read): a comment, a blank, or an entry. */
static int parse_line(redisconn__tokens *t, const parse_ctx *p, char *line, size_t n)
{
    char *fields[4], *save = NULL, *s = line;
    int k = 0;
    if (strlen(line) != n) return line_error(p, "NUL byte in the line");
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0' || *s == '#') return REDISCONN_OK;
    for (char *f = strtok_r(s, " \t", &save); f != NULL && k < 4; f = strtok_r(NULL, " \t", &save))
        fields[k++] = f;
    if (k != 3) return line_error(p, "want \"token identity group[,group...]\"");
    for (int i = 0; i < 3; i++)
        if (!field_valid(fields[i]))
            return line_error(p, "only printable ASCII characters may appear in a field");
    return add_entry(t, p, fields);
}

/* Parses every line of `f`. */
static int parse_file(redisconn__tokens *t, FILE *f, parse_ctx *p)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = REDISCONN_OK;
    while (rc == REDISCONN_OK && (n = getline(&line, &cap, f)) >= 0) {
        p->line++;
        rc = parse_line(t, p, line, (size_t)n);
    }
    if (rc == REDISCONN_OK && ferror(f)) {
        snprintf(p->err, p->errlen, "cannot read admin tokens file \"%s\"", p->path);
        rc = REDISCONN_ERR_INVALID;
    }
    if (line != NULL) explicit_bzero(line, cap);
    free(line);
    return rc;
}

/* Open, check the descriptor, parse; nothing is kept on failure. */
int redisconn__tokens_load(const char *path, redisconn__tokens **out, char *err, size_t errlen)
{
    char iobuf[4096];
    parse_ctx p = {path, 0, err, errlen};
    redisconn__tokens *t;
    FILE *f;
    int rc, fd = redisconn__secret_file_open(path, "admin tokens file", err, errlen);
    *out = NULL;
    if (fd < 0) return REDISCONN_ERR_INVALID;
    if ((t = calloc(1, sizeof(*t))) == NULL || (f = fdopen(fd, "r")) == NULL) {
        free(t);
        close(fd);
        snprintf(err, errlen, "out of memory");
        return REDISCONN_ERR_NOMEM;
    }
    setvbuf(f, iobuf, _IOFBF, sizeof(iobuf)); /* ours, to wipe */
    rc = parse_file(t, f, &p);
    fclose(f);
    explicit_bzero(iobuf, sizeof(iobuf));
    if (rc != REDISCONN_OK) {
        redisconn__tokens_free(t);
        return rc;
    }
    *out = t;
    return REDISCONN_OK;
}

/* 1 when x is 0, else 0, computed without a branch. */
static size_t ct_is_zero(size_t x)
{
    return 1u ^ ((x | (0u - x)) >> (sizeof(size_t) * CHAR_BIT - 1));
}

/* Every entry, every byte of the full width: no early exit (tokens.h). */
const redisconn__identity *redisconn__tokens_lookup(const redisconn__tokens *t, const char *token,
                                                    size_t len)
{
    unsigned char buf[REDISCONN__TOKEN_MAX];
    size_t found = 0;
    /* The presented length is the caller's own, not a secret. */
    if (t == NULL || token == NULL || len == 0 || len > REDISCONN__TOKEN_MAX) return NULL;
    memset(buf, 0, sizeof(buf));
    memcpy(buf, token, len);
    for (size_t i = 0; i < t->n; i++) {
        const token_entry *e = &t->v[i];
        size_t diff = e->len ^ len;
        for (size_t k = 0; k < REDISCONN__TOKEN_MAX; k++)
            diff |= (size_t)(e->token[k] ^ buf[k]);
        found |= (i + 1) & (0u - ct_is_zero(diff)); /* tokens are unique: one match at most */
    }
    explicit_bzero(buf, sizeof(buf));
    return found ? &t->v[found - 1].id : NULL;
}

/* Exact, case-sensitive group names. */
int redisconn__identity_in_group(const redisconn__identity *id, const char *group)
{
    if (id == NULL || group == NULL) return 0;
    for (size_t i = 0; i < id->ngroups; i++)
        if (strcmp(id->groups[i], group) == 0) return 1;
    return 0;
}
