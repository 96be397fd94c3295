/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sub.c: the bookkeeping of subscriptions on one connection — which record
 * a pub/sub reply belongs to. A leaf below conn.c: it never calls anyone
 * back; conn.c asks it where a reply goes (a route) and makes the calls.
 *
 * hiredis 0.14 routes pub/sub replies through dictionaries it keeps private
 * and aborts on replies it does not expect (a nil channel, a PONG), so the
 * connection routes them itself: each (P)SUBSCRIBE record remembers the
 * names it subscribed; each (P)UNSUBSCRIBE record how many confirmations it
 * waits for. Lookups are linear in the names of the connection: a leased
 * connection subscribes to a handful.
 */
#include "pool/sub.h"
#include "pool/classify.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GONE 0x80000000u /* in a name's length word: unsubscribed */

typedef struct redisconn__sub {
    unsigned pattern : 1;
    unsigned live; /* STREAM: names still subscribed; UNSUB: confirmations still due */
    size_t len;    /* bytes in names */
    char names[];  /* STREAM: each name as a 4-byte length word, then its bytes */
} redisconn__sub;

static uint32_t word_at(const char *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

int redisconn__sub_track_subscribe(redisconn__cmd *rec, const char *cmd, size_t len, int pattern)
{
    redisconn__resp_args it;
    const char *a;
    size_t n, total = 0;
    redisconn__sub *s;
    char *w;

    if (redisconn__resp_args_begin(&it, cmd, len) < 2) return REDISCONN_ERR_INVALID;
    redisconn__resp_args_next(&it, &a, &n); /* the command name */
    while (redisconn__resp_args_next(&it, &a, &n) == 1)
        total += 4 + n;
    s = malloc(sizeof(*s) + total);
    if (s == NULL) return REDISCONN_ERR_NOMEM;
    s->pattern = pattern ? 1u : 0u;
    s->live = 0;
    s->len = total;
    w = s->names;
    redisconn__resp_args_begin(&it, cmd, len);
    redisconn__resp_args_next(&it, &a, &n);
    while (redisconn__resp_args_next(&it, &a, &n) == 1) {
        uint32_t word = (uint32_t)n;
        memcpy(w, &word, 4);
        memcpy(w + 4, a, n);
        w += 4 + n;
        s->live++;
    }
    rec->sub = s;
    return REDISCONN_OK;
}

/* Marks `name` unsubscribed in `s`; returns 1 if it was live there. */
static int drop_name(redisconn__sub *s, const char *name, size_t n)
{
    for (char *p = s->names; p < s->names + s->len;) {
        uint32_t w = word_at(p);
        size_t len = w & ~GONE;
        if (!(w & GONE) && len == n && memcmp(p + 4, name, n) == 0) {
            w |= GONE;
            memcpy(p, &w, 4);
            s->live--;
            return 1;
        }
        p += 4 + len;
    }
    return 0;
}

static int has_name(const redisconn__sub *s, const char *name, size_t n)
{
    for (const char *p = s->names; p < s->names + s->len;) {
        uint32_t w = word_at(p);
        size_t len = w & ~GONE;
        if (!(w & GONE) && len == n && memcmp(p + 4, name, n) == 0) return 1;
        p += 4 + len;
    }
    return 0;
}

/* The newest subscription record of kind `pattern` holding `name`. */
static redisconn__cmd *holder(const redisconn_conn *conn, int pattern, const char *name, size_t n)
{
    for (redisconn__link *l = conn->streams.prev; l != &conn->streams; l = l->prev) {
        redisconn__cmd *rec = REDISCONN_CONTAINER_OF(l, redisconn__cmd, link);
        if (rec->sub && rec->sub->pattern == (unsigned)(pattern != 0) && rec->sub->live &&
            has_name(rec->sub, name, n))
            return rec;
    }
    return NULL;
}

/* Names of kind `pattern` still subscribed on the connection. */
static unsigned live_names(const redisconn_conn *conn, int pattern)
{
    unsigned total = 0;
    for (redisconn__link *l = conn->streams.next; l != &conn->streams; l = l->next) {
        const redisconn__cmd *rec = REDISCONN_CONTAINER_OF(l, const redisconn__cmd, link);
        if (rec->sub && rec->sub->pattern == (unsigned)(pattern != 0)) total += rec->sub->live;
    }
    return total;
}

int redisconn__sub_track_unsubscribe(const redisconn_conn *conn, redisconn__cmd *rec,
                                     const char *cmd, size_t len, int pattern)
{
    redisconn__resp_args it;
    long argc = redisconn__resp_args_begin(&it, cmd, len);
    redisconn__sub *s;
    if (argc < 1) return REDISCONN_ERR_INVALID;
    s = malloc(sizeof(*s));
    if (s == NULL) return REDISCONN_ERR_NOMEM;
    s->pattern = pattern ? 1u : 0u;
    s->len = 0;
    if (argc > 1)
        s->live = (unsigned)(argc - 1);
    else /* every name of its kind; Redis confirms "none" once when there is none */
        s->live = live_names(conn, pattern) > 0 ? live_names(conn, pattern) : 1;
    rec->sub = s;
    return REDISCONN_OK;
}

void redisconn__sub_free(redisconn__cmd *rec)
{
    free(rec->sub);
    rec->sub = NULL;
}

/* A bulk string element, or NULL. */
static const redisReply *str_at(const redisReply *r, size_t i)
{
    if (i >= r->elements || r->element[i] == NULL) return NULL;
    return r->element[i]->type == REDIS_REPLY_STRING ? r->element[i] : NULL;
}

/* The oldest (P)UNSUBSCRIBE record of kind `pattern` still waiting. */
static redisconn__cmd *oldest_unsub(const redisconn_conn *conn, int pattern)
{
    for (redisconn__link *l = conn->unsubs.next; l != &conn->unsubs; l = l->next) {
        redisconn__cmd *rec = REDISCONN_CONTAINER_OF(l, redisconn__cmd, link);
        if (rec->sub->pattern == (unsigned)(pattern != 0) && rec->sub->live > 0) return rec;
    }
    return NULL;
}

/* An "unsubscribe"/"punsubscribe" confirmation: [kind, name|nil, count]. */
static void route_unsubscribe(const redisconn_conn *conn, const redisReply *r, int pattern,
                              redisconn__sub_route *rt)
{
    const redisReply *name = str_at(r, 1);
    redisconn__cmd *unsub = oldest_unsub(conn, pattern);
    if (name != NULL) {
        rt->deliver = holder(conn, pattern, name->str, name->len);
        if (rt->deliver && drop_name(rt->deliver->sub, name->str, name->len) &&
            rt->deliver->sub->live == 0)
            rt->ended = rt->deliver;
    }
    if (unsub != NULL && --unsub->sub->live == 0) rt->unsub_done = unsub;
    if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_INTEGER &&
        r->element[2]->integer == 0 && live_names(conn, 0) == 0 && live_names(conn, 1) == 0)
        rt->leave_subscribed = 1;
}

void redisconn__sub_decide(const redisconn_conn *conn, const redisReply *r,
                           redisconn__sub_route *rt)
{
    const redisReply *kind = r->type == REDIS_REPLY_ARRAY ? str_at(r, 0) : NULL, *name;
    int pattern;
    memset(rt, 0, sizeof(*rt));
    if (kind == NULL) { /* an error, or anything but a pub/sub array */
        rt->invalid = 1;
        return;
    }
    if (kind->len == 4 && strncasecmp(kind->str, "pong", 4) == 0) {
        rt->invalid = 1; /* the answer to a PING sent while subscribed */
        return;
    }
    pattern = kind->str[0] == 'p' || kind->str[0] == 'P';
    if ((kind->len == 11 && strncasecmp(kind->str, "unsubscribe", 11) == 0) ||
        (kind->len == 12 && strncasecmp(kind->str, "punsubscribe", 12) == 0)) {
        route_unsubscribe(conn, r, pattern, rt);
        return;
    }
    name = str_at(r, 1);
    if (name == NULL) return;
    if ((kind->len == 7 && strncasecmp(kind->str, "message", 7) == 0) ||
        (kind->len == 8 && strncasecmp(kind->str, "pmessage", 8) == 0) ||
        (kind->len == 9 && strncasecmp(kind->str, "subscribe", 9) == 0) ||
        (kind->len == 10 && strncasecmp(kind->str, "psubscribe", 10) == 0))
        rt->deliver = holder(conn, pattern, name->str, name->len);
}
