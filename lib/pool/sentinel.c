/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sentinel.c: the Sentinel locator — where the master of a name is, and
 * following it through failovers. A spoke of the pool: it is the pool's
 * locator (conn.h, the seam), and talks to the sentinels over connections of
 * its own made with the same conn.c/dial.c, in an environment of its own
 * (the sentinels' credentials, PING instead of SELECT).
 *
 *  - Discovery: SENTINEL get-master-addr-by-name, asking the sentinels in
 *    turn (each with a short timeout); the one that answered moves to the
 *    front; SENTINEL sentinels adds the ones we were not given. Dials wait in
 *    `waiting` while it runs. Every dial of a master connection checks ROLE in
 *    its handshake; a failed dial or a READONLY reply makes the next dial ask
 *    again (the dial governor paces it).
 *  - Following: one connection subscribed to +switch-master on one sentinel
 *    (on the next one when it goes away, or when it leaves a PING
 *    unanswered for the sentinel timeout: a sentinel cut off without a FIN).
 *    A switch of our master retires every connection of the pool
 *    (redisconn__pool_retire); a new subscription after a lost one asks
 *    again, for a switch announced while nobody listened.
 * While the subscription is up (or the answer is under a second old), dials
 * use the known master without asking.
 */
#include "pool/internal.h"
#include "pool/classify.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    FRESH_US = 1000000u,     /* an answer this recent is trusted without a subscription */
    RESUBSCRIBE_MS = 500,    /* pause before subscribing on the next sentinel */
    SUB_PING_MS = 1000,      /* the subscription's health check: a PING this often */
    MAX_LEARNED = 16,        /* most sentinels kept (given + learned) */
    SWITCH_CHANNEL_LEN = 14, /* "+switch-master" */
};

struct redisconn__sentinel {
    redisconn_pool *pool;
    redisconn__conn_env env; /* for the connections to sentinels */
    redisconn__addr *list;   /* the sentinels, the last that answered first */
    int n;
    redisconn__addr master; /* kind NONE until known */
    uint64_t master_at;
    redisconn__link waiting; /* master connections waiting for an answer */
    redisconn_conn *query;   /* asking one sentinel, or NULL */
    int query_index;
    int answered;        /* the current query got the master's address */
    redisconn_conn *sub; /* subscribed to +switch-master, or NULL */
    int sub_index;
    int subscribed;
    int dialing; /* which sentinel the connection being dialed is for */
    int conns;   /* connections to sentinels not yet freed */
    int last_status;
    char last_msg[200];
    redisconn__timer resub;
    redisconn__timer ping;          /* the subscription's next PING */
    unsigned lost_subscription : 1; /* a subscription died: ask again once resubscribed */
    unsigned closing : 1;
};

static redisconn__sentinel *of(redisconn_conn *conn)
{
    return REDISCONN_CONTAINER_OF(conn->env, redisconn__sentinel, env);
}

/* ---- connections to sentinels ------------------------------------------ */

static void locate_sentinel(void *self, redisconn_conn *conn)
{
    redisconn__sentinel *s = self;
    redisconn__dial_to(conn, &s->list[s->dialing]);
}

static void cancel_nothing(void *self, redisconn_conn *conn)
{
    (void)self; /* locate_sentinel() answers at once */
    (void)conn;
}

static redisconn_conn *dial_sentinel(redisconn__sentinel *s, int index)
{
    redisconn_conn *conn = redisconn__conn_new(&s->env, s->pool);
    if (conn == NULL) return NULL;
    s->conns++;
    s->dialing = index;
    redisconn__dial_start(conn);
    return conn;
}

static void free_sentinel_conn(redisconn__defer_item *item)
{
    redisconn_conn *conn = REDISCONN_CONTAINER_OF(item, redisconn_conn, later);
    redisconn__sentinel *s = of(conn);
    redisconn__conn_free(conn);
    s->conns--;
    if (s->closing) redisconn__pool_kick(s->pool);
}

static void subscribe(redisconn__sentinel *s);

/* ---- the answer, and who waited for it ---------------------------------- */

/* Dials every waiting connection to the master, or fails them all. */
static void answer_waiting(redisconn__sentinel *s, int status, const char *msg)
{
    redisconn__link batch, *l;
    redisconn__list_move(&batch, &s->waiting);
    while ((l = redisconn__list_first(&batch)) != NULL) {
        redisconn_conn *conn = REDISCONN_CONTAINER_OF(l, redisconn_conn, locate_link);
        redisconn__list_remove(l);
        if (status == REDISCONN_OK)
            redisconn__dial_to(conn, &s->master);
        else
            redisconn__dial_fail(conn, status, msg);
    }
}

/* Our master is now at ip:port. A change retires every connection. */
static int set_master(redisconn__sentinel *s, const char *ip, int port)
{
    redisconn_pool *pool = s->pool;
    redisconn__addr a;
    char text[300];
    const char *why;
    int changed;
    snprintf(text, sizeof(text), strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
    if (redisconn__addr_parse(text, &a, &why) != REDISCONN_OK) return REDISCONN_ERR_PROTOCOL;
    changed = s->master.kind != REDISCONN_ADDR_NONE && strcmp(s->master.text, a.text) != 0;
    if (changed) {
        redisconn__log(&pool->log, REDISCONN_LOG_WARNING,
                       "redisconn: master of %s moved from %s to %s", pool->addr.master_name,
                       s->master.text, a.text);
        pool->stats.failovers++;
    }
    redisconn__addr_free(&s->master);
    s->master = a;
    s->master_at = redisconn__now_us();
    if (changed) redisconn__pool_retire(pool);
    return REDISCONN_OK;
}

/* SENTINEL get-master-addr-by-name: [ip, port], or nil for an unknown name. */
static void on_master_addr(redisconn_conn *conn, int status, redisReply *r, void *privdata)
{
    redisconn__sentinel *s = of(conn);
    const char *at = s->list[s->query_index].text;
    (void)privdata;
    if (status != REDISCONN_OK || conn != s->query) return; /* dying: the dead hook goes on */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
        set_master(s, r->element[0]->str, atoi(r->element[1]->str)) == REDISCONN_OK) {
        s->answered = 1;
        if (s->query_index > 0) { /* the one that answered goes first next time */
            redisconn__addr first = s->list[s->query_index];
            memmove(&s->list[1], &s->list[0], (size_t)s->query_index * sizeof(s->list[0]));
            s->list[0] = first;
            s->query_index = 0;
        }
        answer_waiting(s, REDISCONN_OK, NULL);
        return;
    }
    snprintf(s->last_msg, sizeof(s->last_msg), "sentinel %s: %s", at,
             r->type == REDIS_REPLY_ERROR ? r->str : "does not know the master's name");
    s->last_status = REDISCONN_ERR_RESOLVE;
    redisconn__conn_close(conn, REDISCONN_ERR_CLOSED); /* the dead hook asks the next one */
}

/* Adds a sentinel we were not given (from SENTINEL sentinels). */
static void learn(redisconn__sentinel *s, const char *ip, const char *port)
{
    char text[300];
    const char *why;
    redisconn__addr a;
    snprintf(text, sizeof(text), strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, port);
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->list[i].text, text) == 0) return;
    if (s->n == MAX_LEARNED || redisconn__addr_parse(text, &a, &why) != REDISCONN_OK) return;
    s->list[s->n++] = a;
}

/* The value of `key` in one SENTINEL sentinels entry (a flat key/value array). */
static const char *field(const redisReply *e, const char *key)
{
    for (size_t i = 0; e->type == REDIS_REPLY_ARRAY && i + 1 < e->elements; i += 2)
        if (e->element[i]->type == REDIS_REPLY_STRING && strcmp(e->element[i]->str, key) == 0 &&
            e->element[i + 1]->type == REDIS_REPLY_STRING)
            return e->element[i + 1]->str;
    return NULL;
}

/* SENTINEL sentinels: the other sentinels of the master. The query is done. */
static void on_sentinels(redisconn_conn *conn, int status, redisReply *r, void *privdata)
{
    redisconn__sentinel *s = of(conn);
    (void)privdata;
    if (status != REDISCONN_OK) return;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *ip = field(r->element[i], "ip"), *port = field(r->element[i], "port");
        if (ip && port) learn(s, ip, port);
    }
    if (conn == s->query && s->answered) redisconn__conn_close(conn, REDISCONN_ERR_CLOSED);
}

/* Asks the sentinel at query_index, or fails the waiting dials when none is left. */
static void ask_next(redisconn__sentinel *s)
{
    char msg[300];
    s->query = NULL;
    if (s->closing) return;
    if (s->query_index < s->n) {
        s->query = dial_sentinel(s, s->query_index);
        if (s->query != NULL) return;
    }
    snprintf(msg, sizeof(msg), "no sentinel answered for master \"%s\"%s%s",
             s->pool->addr.master_name, s->last_msg[0] ? "; last: " : "", s->last_msg);
    answer_waiting(s, s->last_status ? s->last_status : REDISCONN_ERR_RESOLVE, msg);
}

/* Starts a discovery, unless one runs. */
static void discover(redisconn__sentinel *s)
{
    if (s->query != NULL || s->closing) return;
    subscribe(s); /* follow failovers from the first use on */
    s->query_index = 0;
    s->answered = 0;
    s->last_status = 0;
    s->last_msg[0] = '\0';
    ask_next(s);
}

/* ---- following failovers ------------------------------------------------ */

static void on_resub(void *arg)
{
    subscribe(arg);
}

/* +switch-master messages: "<name> <old-ip> <old-port> <new-ip> <new-port>". */
static void on_switch(redisconn_conn *conn, int status, redisReply *r, void *privdata)
{
    redisconn__sentinel *s = privdata;
    char name[130], oip[64], oport[8], nip[64], nport[8];
    (void)conn;
    if (status != REDISCONN_OK || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    if (strcmp(r->element[0]->str, "subscribe") == 0) {
        s->subscribed = 1;
        redisconn__timer_arm(&s->ping, redisconn__deadline_after(SUB_PING_MS));
        if (s->lost_subscription) { /* a switch may have been announced meanwhile */
            s->lost_subscription = 0;
            discover(s);
        }
        return;
    }
    if (strcmp(r->element[0]->str, "message") != 0 || r->element[2]->type != REDIS_REPLY_STRING)
        return;
    if (sscanf(r->element[2]->str, "%129s %63s %7s %63s %7s", name, oip, oport, nip, nport) != 5 ||
        strcmp(name, s->pool->addr.master_name) != 0)
        return;
    set_master(s, nip, atoi(nport));
}

/* The subscription answered its PING: the next one in SUB_PING_MS. */
static void on_sub_pong(redisconn_conn *conn, int status, redisReply *r, void *privdata)
{
    redisconn__sentinel *s = privdata;
    (void)r;
    if (status != REDISCONN_OK || conn != s->sub || s->closing) return; /* the dead hook goes on */
    redisconn__timer_arm(&s->ping, redisconn__deadline_after(SUB_PING_MS));
}

/* PINGs the subscribed sentinel. No answer within the sentinel timeout
 * closes the connection (TIMEOUT, the deadline hook) and the next sentinel
 * is subscribed: a sentinel that stopped without closing (SIGSTOP, a
 * partition) would otherwise keep the pool deaf to +switch-master. */
static void on_ping_timer(void *arg)
{
    static const char cmd[] = "*1\r\n$4\r\nPING\r\n";
    redisconn__sentinel *s = arg;
    int64_t wait_ms = s->env.connect_timeout_ms > 0 ? s->env.connect_timeout_ms : 1000;
    if (s->sub == NULL || !s->subscribed || s->closing) return;
    if (redisconn__conn_send_user(s->sub, redisconn__classify(cmd, sizeof(cmd) - 1), on_sub_pong, s,
                                  cmd, sizeof(cmd) - 1,
                                  redisconn__deadline_after(wait_ms)) != REDISCONN_OK)
        redisconn__conn_close(s->sub, REDISCONN_ERR_IO);
}

static void subscribe(redisconn__sentinel *s)
{
    if (s->sub != NULL || s->closing || s->n == 0) return;
    s->sub_index %= s->n;
    s->sub = dial_sentinel(s, s->sub_index);
}

static void send_subscribe(redisconn__sentinel *s, redisconn_conn *conn)
{
    static const char cmd[] = "*2\r\n$9\r\nSUBSCRIBE\r\n$14\r\n+switch-master\r\n";
    if (redisconn__conn_send_user(conn, redisconn__classify(cmd, sizeof(cmd) - 1), on_switch, s,
                                  cmd, sizeof(cmd) - 1, 0) != REDISCONN_OK)
        redisconn__conn_close(conn, REDISCONN_ERR_NOMEM);
}

/* ---- the hooks of connections to sentinels ------------------------------ */

static void on_ready(redisconn_conn *conn)
{
    redisconn__sentinel *s = of(conn);
    uint64_t dl = redisconn__deadline_after(s->env.connect_timeout_ms);
    const char *name = s->pool->addr.master_name;
    if (conn == s->sub) {
        send_subscribe(s, conn);
        return;
    }
    if (redisconn__conn_sendf(conn, on_master_addr, NULL, dl, "SENTINEL get-master-addr-by-name %s",
                              name) != REDISCONN_OK ||
        redisconn__conn_sendf(conn, on_sentinels, NULL, dl, "SENTINEL sentinels %s", name) !=
            REDISCONN_OK)
        redisconn__conn_close(conn, REDISCONN_ERR_NOMEM);
}

static void on_dead(redisconn_conn *conn)
{
    redisconn__sentinel *s = of(conn);
    if (conn == s->query) {
        if (!s->answered) {
            if (s->last_msg[0] == '\0' && conn->errstr[0] != '\0')
                snprintf(s->last_msg, sizeof(s->last_msg), "sentinel %s: %s",
                         s->list[s->query_index].text, conn->errstr);
            if (s->last_status == 0)
                s->last_status = conn->dial_status ? conn->dial_status : REDISCONN_ERR_CONNECT;
            s->query_index++;
            ask_next(s);
        } else { /* dials located after the answer, before this end, ask again */
            s->query = NULL;
            if (!redisconn__list_empty(&s->waiting)) discover(s);
        }
    } else if (conn == s->sub) {
        s->sub = NULL;
        s->subscribed = 0;
        s->lost_subscription = 1;
        redisconn__timer_disarm(&s->ping);
        s->sub_index++;
        if (!s->closing) redisconn__timer_arm(&s->resub, redisconn__deadline_after(RESUBSCRIBE_MS));
    }
    redisconn__defer_post(s->env.defer, &conn->later, free_sentinel_conn);
}

static void on_drained(redisconn_conn *conn)
{
    (void)conn; /* the query closes itself; the subscription never drains */
}

static void on_deadline(redisconn_conn *conn, uint64_t now)
{
    (void)now;
    if (conn->dial_stage != DIAL_DONE)
        redisconn__dial_timeout(conn);
    else
        redisconn__conn_close(conn, REDISCONN_ERR_TIMEOUT);
}

static const redisconn__conn_hooks sentinel_conn_hooks = {on_ready, on_dead, on_drained,
                                                          on_deadline, NULL};

/* ---- the pool's locator ---------------------------------------------------- */

static void locate_master(void *self, redisconn_conn *conn)
{
    redisconn__sentinel *s = self;
    if (s->master.kind != REDISCONN_ADDR_NONE && s->query == NULL &&
        (s->subscribed || redisconn__now_us() - s->master_at < FRESH_US)) {
        redisconn__dial_to(conn, &s->master);
        return;
    }
    redisconn__list_push_back(&s->waiting, &conn->locate_link);
    discover(s);
}

static void cancel_locate(void *self, redisconn_conn *conn)
{
    (void)self;
    redisconn__list_remove(&conn->locate_link);
}

/* A dial to the master failed (not the master any more, unreachable): ask
 * again before the next one. */
static void dial_failed(void *self, redisconn_conn *conn, int status)
{
    redisconn__sentinel *s = self;
    (void)conn;
    (void)status;
    s->master_at = 0;
    s->subscribed = s->subscribed && status != REDISCONN_ERR_NOT_MASTER;
}

void redisconn__sentinel_readonly(redisconn_pool *pool)
{
    redisconn__sentinel *s = pool->sentinel;
    if (s == NULL) return;
    s->master_at = 0;
    discover(s); /* a different answer retires the connections */
}

int redisconn__sentinel_init(redisconn_pool *pool, const redisconn_pool_options *o)
{
    redisconn__sentinel *s = calloc(1, sizeof(*s));
    const redisconn__addr *a = &pool->addr;
    int failed = 0;
    if (s == NULL) return REDISCONN_ERR_NOMEM;
    s->pool = pool;
    s->list = calloc(MAX_LEARNED, sizeof(*s->list));
    failed |= s->list == NULL;
    for (int i = 0; !failed && i < a->nsentinels; i++, s->n++)
        failed |= redisconn__addr_copy(&s->list[i], &a->sentinels[i]) != REDISCONN_OK;
    redisconn__list_init(&s->waiting);
    redisconn__timer_init(&s->resub, pool->base, on_resub, s);
    redisconn__timer_init(&s->ping, pool->base, on_ping_timer, s);
    s->env = (redisconn__conn_env){
        .base = pool->base,
        .defer = &pool->defer,
        .hooks = &sentinel_conn_hooks,
        .locator = {locate_sentinel, cancel_nothing, NULL, s},
        .log = &pool->log,
        .connect_timeout_ms = o->sentinel_timeout_ms,
        .db = -1, /* sentinels have no databases: the handshake PINGs */
        .username = pool->sentinel_username,
        .password = pool->sentinel_password,
        .client_name = pool->client_name,
        .tcp_keepalive_s = o->tcp_keepalive_s,
    };
    pool->sentinel = s;
    pool->env.locator = (redisconn__locator){locate_master, cancel_locate, dial_failed, s};
    pool->env.check_role = 1;
    return failed ? REDISCONN_ERR_NOMEM : REDISCONN_OK;
}

void redisconn__sentinel_close(redisconn_pool *pool)
{
    redisconn__sentinel *s = pool->sentinel;
    if (s == NULL || s->closing) return;
    s->closing = 1;
    redisconn__timer_disarm(&s->resub);
    redisconn__timer_disarm(&s->ping);
    answer_waiting(s, REDISCONN_ERR_CLOSED, NULL);
    if (s->query) redisconn__dial_cancel(s->query, REDISCONN_ERR_CLOSED);
    if (s->sub) redisconn__dial_cancel(s->sub, REDISCONN_ERR_CLOSED);
}

redisconn__conn_env *redisconn__sentinel_env(redisconn_pool *pool)
{
    return &pool->sentinel->env;
}

int redisconn__sentinel_busy(const redisconn_pool *pool)
{
    return pool->sentinel != NULL && pool->sentinel->conns > 0;
}

void redisconn__sentinel_free(redisconn_pool *pool)
{
    redisconn__sentinel *s = pool->sentinel;
    if (s == NULL) return;
    redisconn__timer_destroy(&s->resub);
    redisconn__timer_destroy(&s->ping);
    for (int i = 0; i < s->n; i++)
        redisconn__addr_free(&s->list[i]);
    free(s->list);
    redisconn__addr_free(&s->master);
    free(s);
    pool->sentinel = NULL;
}
