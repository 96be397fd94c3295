/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * classify.c: what a command does to the connection it runs on.
 *
 * The pool must never hand a connection to the next borrower in a state the
 * previous one left behind (MULTI, WATCH, another DB, a name, subscriptions,
 * ...), and hiredis 0.14 cannot follow some commands at all. We look at the
 * command name (and CLIENT's subcommand) of the RESP-formatted command; the
 * same table tells which commands block and which a subscribed connection
 * accepts.
 */
#include "pool/classify.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cmd_class {
    const char *name;
    unsigned cls;
};

#define ST CLS_STATEFUL

/* Commands that matter; anything else is CLS_PLAIN. */
static const struct cmd_class classes[] = {
    {"MULTI", CLS_MULTI | ST},
    {"EXEC", CLS_EXEC | ST},
    {"DISCARD", CLS_EXEC | ST},
    {"WATCH", CLS_WATCH | ST},
    {"UNWATCH", CLS_UNWATCH | ST},
    {"SELECT", CLS_SELECT | ST},
    {"SUBSCRIBE", CLS_STREAM | CLS_CLOSE | CLS_SUB_OK | ST},
    {"PSUBSCRIBE", CLS_STREAM | CLS_PATTERN | CLS_CLOSE | CLS_SUB_OK | ST},
    {"UNSUBSCRIBE", CLS_UNSUB | CLS_SUB_OK | ST},
    {"PUNSUBSCRIBE", CLS_UNSUB | CLS_PATTERN | CLS_SUB_OK | ST},
    {"PING", CLS_SUB_OK},
    {"SSUBSCRIBE", CLS_UNSUPPORTED},
    {"SUNSUBSCRIBE", CLS_UNSUPPORTED},
    {"MONITOR", CLS_UNSUPPORTED},
    {"HELLO", CLS_UNSUPPORTED},
    {"AUTH", CLS_CLOSE | ST},
    {"RESET", CLS_CLOSE | ST},
    {"READONLY", CLS_CLOSE | ST},
    {"READWRITE", CLS_CLOSE | ST},
    {"QUIT", CLS_CLOSE | ST},
    {"BLPOP", CLS_BLOCKING | ST},
    {"BRPOP", CLS_BLOCKING | ST},
    {"BRPOPLPUSH", CLS_BLOCKING | ST},
    {"BLMOVE", CLS_BLOCKING | ST},
    {"BLMPOP", CLS_BLOCKING | ST},
    {"BZPOPMIN", CLS_BLOCKING | ST},
    {"BZPOPMAX", CLS_BLOCKING | ST},
    {"BZMPOP", CLS_BLOCKING | ST},
    {"XREAD", CLS_BLOCKING},
    {"XREADGROUP", CLS_BLOCKING},
    {"WAIT", CLS_BLOCKING | ST},
    {"WAITAOF", CLS_BLOCKING | ST},
};

/* CLIENT subcommands that change the connection. */
static const struct cmd_class client_classes[] = {
    {"REPLY", CLS_UNSUPPORTED},
    {"TRACKING", CLS_CLOSE | ST},
    {"SETNAME", CLS_SETNAME | ST},
    {"NO-EVICT", CLS_NOEVICT | ST},
    {"NO-TOUCH", CLS_NOTOUCH | ST},
    {"CACHING", ST},
    {"PAUSE", ST},
    {"SETINFO", CLS_CLOSE | ST},
};

#undef ST

/* A decimal length of at most 10 digits ending in "\r\n" inside [*p, end);
 * advances *p past it. -1 when malformed. */
static long read_len(const char **p, const char *end)
{
    const char *q = *p;
    long v = 0;
    int digits = 0;
    while (q < end && *q >= '0' && *q <= '9' && digits < 10) {
        v = v * 10 + (*q - '0');
        q++;
        digits++;
    }
    if (digits == 0 || end - q < 2 || q[0] != '\r' || q[1] != '\n') return -1;
    *p = q + 2;
    return v;
}

long redisconn__resp_args_begin(redisconn__resp_args *it, const char *cmd, size_t len)
{
    it->p = cmd;
    it->end = cmd + len;
    it->left = 0;
    if (len == 0 || cmd[0] != '*') return -1;
    it->p++;
    it->left = read_len(&it->p, it->end);
    return it->left;
}

int redisconn__resp_args_next(redisconn__resp_args *it, const char **s, size_t *n)
{
    long len;
    if (it->left <= 0) return it->left == 0 ? 0 : -1;
    if (it->p >= it->end || *it->p != '$') return -1;
    it->p++;
    len = read_len(&it->p, it->end);
    if (len < 0 || it->end - it->p < len + 2) return -1;
    *s = it->p;
    *n = (size_t)len;
    it->p += len + 2;
    it->left--;
    return 1;
}

static unsigned lookup(const struct cmd_class *tab, size_t ntab, const char *s, size_t n)
{
    for (size_t i = 0; i < ntab; i++)
        if (strlen(tab[i].name) == n && strncasecmp(tab[i].name, s, n) == 0) return tab[i].cls;
    return CLS_PLAIN;
}

unsigned redisconn__classify(const char *cmd, size_t len)
{
    redisconn__resp_args it;
    const char *name, *sub;
    size_t nlen, slen;

    if (redisconn__resp_args_begin(&it, cmd, len) < 1) return CLS_UNSUPPORTED;
    if (redisconn__resp_args_next(&it, &name, &nlen) != 1) return CLS_UNSUPPORTED;
    if (nlen == 6 && strncasecmp(name, "CLIENT", 6) == 0) {
        if (redisconn__resp_args_next(&it, &sub, &slen) != 1) return CLS_PLAIN;
        return lookup(client_classes, sizeof(client_classes) / sizeof(client_classes[0]), sub,
                      slen);
    }
    if (nlen < 4 || nlen > 12) return CLS_PLAIN; /* fast path: GET, SET, INCR, ... */
    return lookup(classes, sizeof(classes) / sizeof(classes[0]), name, nlen);
}

/* Parses a timeout argument: seconds (a decimal, maybe fractional) or
 * milliseconds (an integer). Returns -1 when unreadable or negative. */
static int64_t parse_timeout(const char *s, size_t n, int seconds)
{
    char buf[40], *stop;
    double v;
    if (n == 0 || n >= sizeof(buf)) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    v = strtod(buf, &stop);
    if (*stop != '\0' || !(v >= 0) || v > 1e12) return -1;
    return (int64_t)(seconds ? v * 1000.0 + 0.999 : v);
}

/* Where a blocking command keeps its timeout: by position (1-based, 0 =
 * last), or after a keyword. */
static int block_arg(const char *name, size_t n, int *pos, int *seconds, const char **keyword)
{
    static const struct {
        const char *name;
        int pos, seconds;
    } t[] = {{"BLPOP", 0, 1},    {"BRPOP", 0, 1},    {"BRPOPLPUSH", 0, 1}, {"BLMOVE", 0, 1},
             {"BZPOPMIN", 0, 1}, {"BZPOPMAX", 0, 1}, {"BLMPOP", 1, 1},     {"BZMPOP", 1, 1},
             {"WAIT", 2, 0},     {"WAITAOF", 3, 0}};
    *keyword = NULL;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strlen(t[i].name) == n && strncasecmp(t[i].name, name, n) == 0) {
            *pos = t[i].pos;
            *seconds = t[i].seconds;
            return 1;
        }
    if ((n == 5 && strncasecmp(name, "XREAD", 5) == 0) ||
        (n == 10 && strncasecmp(name, "XREADGROUP", 10) == 0)) {
        *keyword = "BLOCK";
        *pos = -1;
        *seconds = 0;
        return 1;
    }
    return 0;
}

int redisconn__classify_block_ms(const char *cmd, size_t len, int64_t *ms)
{
    redisconn__resp_args it;
    const char *name, *a, *last = NULL, *kw;
    size_t nlen, alen, lastlen = 0;
    int pos, seconds, i = 0, found = 0, rc;
    int64_t v = -1;

    if (redisconn__resp_args_begin(&it, cmd, len) < 2) return 0;
    if (redisconn__resp_args_next(&it, &name, &nlen) != 1) return 0;
    if (!block_arg(name, nlen, &pos, &seconds, &kw)) return 0;
    while ((rc = redisconn__resp_args_next(&it, &a, &alen)) == 1) {
        i++;
        if (kw != NULL) {
            if (found) {
                v = parse_timeout(a, alen, 0);
                break;
            }
            if (alen == 7 && strncasecmp(a, "STREAMS", 7) == 0) return 0;
            found = alen == 5 && strncasecmp(a, kw, 5) == 0;
        } else if (i == pos) {
            v = parse_timeout(a, alen, seconds);
            break;
        }
        last = a;
        lastlen = alen;
    }
    if (rc < 0) return 0;
    if (kw == NULL && pos == 0 && last != NULL) v = parse_timeout(last, lastlen, seconds);
    if (v < 0) return 0;
    *ms = v;
    return 1;
}
