/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * classify.c: what a command does to the connection it runs on.
 *
 * The pool must never hand a connection to the next borrower in a state the
 * previous one left behind (MULTI, WATCH, another DB, subscriptions), and
 * hiredis 0.14 cannot follow some commands at all. We look at the command
 * name (and CLIENT's subcommand) of the RESP-formatted command.
 */
#include "pool/classify.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cmd_class {
    const char *name;
    unsigned cls;
};

/* Commands that matter; anything else is CLS_PLAIN. */
static const struct cmd_class classes[] = {
    {"MULTI", CLS_MULTI | CLS_STATEFUL},
    {"EXEC", CLS_EXEC | CLS_STATEFUL},
    {"DISCARD", CLS_EXEC | CLS_STATEFUL},
    {"WATCH", CLS_WATCH | CLS_STATEFUL},
    {"UNWATCH", CLS_UNWATCH | CLS_STATEFUL},
    {"SELECT", CLS_SELECT | CLS_STATEFUL},
    {"SUBSCRIBE", CLS_STREAM | CLS_CLOSE | CLS_STATEFUL},
    {"PSUBSCRIBE", CLS_STREAM | CLS_CLOSE | CLS_STATEFUL},
    {"UNSUBSCRIBE", CLS_UNSUB | CLS_STATEFUL},
    {"PUNSUBSCRIBE", CLS_UNSUB | CLS_STATEFUL},
    {"SSUBSCRIBE", CLS_UNSUPPORTED},
    {"SUNSUBSCRIBE", CLS_UNSUPPORTED},
    {"MONITOR", CLS_UNSUPPORTED},
    {"HELLO", CLS_UNSUPPORTED},
    {"AUTH", CLS_CLOSE | CLS_STATEFUL},
    {"RESET", CLS_CLOSE | CLS_STATEFUL},
    {"READONLY", CLS_CLOSE | CLS_STATEFUL},
    {"READWRITE", CLS_CLOSE | CLS_STATEFUL},
    {"QUIT", CLS_CLOSE | CLS_STATEFUL},
    {"BLPOP", CLS_STATEFUL},
    {"BRPOP", CLS_STATEFUL},
    {"BRPOPLPUSH", CLS_STATEFUL},
    {"BLMOVE", CLS_STATEFUL},
    {"BLMPOP", CLS_STATEFUL},
    {"BZPOPMIN", CLS_STATEFUL},
    {"BZPOPMAX", CLS_STATEFUL},
    {"BZMPOP", CLS_STATEFUL},
    {"WAIT", CLS_STATEFUL},
    {"WAITAOF", CLS_STATEFUL},
};

/* CLIENT subcommands that change the connection. */
static const struct cmd_class client_classes[] = {
    {"REPLY", CLS_UNSUPPORTED}, {"TRACKING", CLS_CLOSE | CLS_STATEFUL},
    {"SETNAME", CLS_STATEFUL},  {"NO-EVICT", CLS_STATEFUL},
    {"NO-TOUCH", CLS_STATEFUL}, {"CACHING", CLS_STATEFUL},
    {"PAUSE", CLS_STATEFUL},
};

/* Reads the bulk string at *p ("$<len>\r\n<bytes>\r\n"); advances *p. */
static int next_bulk(const char **p, const char *end, const char **s, size_t *n)
{
    const char *q = *p;
    char *stop;
    long len;
    if (q >= end || *q != '$') return -1;
    len = strtol(q + 1, &stop, 10);
    if (len < 0 || stop + 2 > end || stop[0] != '\r') return -1;
    q = stop + 2;
    if (q + len + 2 > end) return -1;
    *s = q;
    *n = (size_t)len;
    *p = q + len + 2;
    return 0;
}

static unsigned lookup(const struct cmd_class *tab, size_t ntab, const char *s, size_t n)
{
    for (size_t i = 0; i < ntab; i++)
        if (strlen(tab[i].name) == n && strncasecmp(tab[i].name, s, n) == 0) return tab[i].cls;
    return CLS_PLAIN;
}

unsigned redisconn__classify(const char *cmd, size_t len)
{
    const char *p = cmd, *end = cmd + len, *name, *sub;
    size_t nlen, slen;

    /* Skip "*<argc>\r\n". */
    p = memchr(p, '\n', len);
    if (p == NULL) return CLS_UNSUPPORTED;
    p++;
    if (next_bulk(&p, end, &name, &nlen) != 0) return CLS_UNSUPPORTED;
    if (nlen == 6 && strncasecmp(name, "CLIENT", 6) == 0) {
        if (next_bulk(&p, end, &sub, &slen) != 0) return CLS_PLAIN;
        return lookup(client_classes, sizeof(client_classes) / sizeof(client_classes[0]), sub,
                      slen);
    }
    if (nlen < 4 || nlen > 12) return CLS_PLAIN; /* fast path: GET, SET, INCR, ... */
    return lookup(classes, sizeof(classes) / sizeof(classes[0]), name, nlen);
}
