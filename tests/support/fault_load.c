/* SPDX-License-Identifier: BSD-3-Clause */
/* fault_load.c: see fault_load.h. */
#include "support/fault_load.h"
#include "support/support.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

enum op_kind { OP_ACQUIRE, OP_LEASE_SET, OP_LEASE_GET, OP_POOL_SET, OP_POOL_GET };

struct rt_load_op {
    rt_load_client *c;
    uint64_t seq; /* the client's request number when started */
    int kind;
    int calls;
};

struct rt_load_client {
    rt_load *l;
    int id;
    int leased;
    uint64_t seq;
    int64_t t0;
    redisconn_conn *conn;
    struct event *pause;
    char key[64];
    char *val;
    size_t vlen;
    int active; /* counted in l->busy */
};

static void start_request(rt_load_client *c);

static rt_load_op *op_new(rt_load_client *c, int kind)
{
    rt_load *l = c->l;
    rt_load_op *op = calloc(1, sizeof(*op));
    cr_assert_not_null(op);
    op->c = c;
    op->seq = c->seq;
    op->kind = kind;
    if (l->nops == l->capops) {
        l->capops = l->capops ? l->capops * 2 : 4096;
        l->ops = realloc(l->ops, l->capops * sizeof(*l->ops));
        cr_assert_not_null(l->ops);
    }
    l->ops[l->nops++] = op;
    return op;
}

/* An operation that could not be started: its record is dropped (no callback
 * is owed). */
static void op_unstarted(rt_load *l)
{
    free(l->ops[--l->nops]);
}

/* Counts a callback of `op`; returns 0 when it is not the first (ignored). */
static int op_called(rt_load_op *op)
{
    rt_load *l = op->c->l;
    if (++op->calls > 1) {
        l->extra++;
        return 0;
    }
    l->called++;
    return 1;
}

static void on_pause_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_request(arg);
}

/* One request is over: count it, then start the next one (after a pause). */
static void finish(rt_load_client *c, int ok, int status, const char *errmsg)
{
    rt_load *l = c->l;
    int64_t now = rt_now_ms(), took = now - c->t0;
    int pause = ok ? l->opts.pause_ms : l->opts.fail_pause_ms;
    if (ok) {
        l->ok++;
        l->last_ok_ms = now;
        if (took > l->max_ok_ms) l->max_ok_ms = took;
    } else {
        l->failed++;
        l->fail_count++;
        l->fail_sum_ms += took;
        if (took > l->max_fail_ms) l->max_fail_ms = took;
        if (-status >= 0 && -status < RT_LOAD_STATUSES) l->by_status[-status]++;
        if (errmsg) snprintf(l->last_errmsg, sizeof(l->last_errmsg), "%s", errmsg);
    }
    if (pause > 0) {
        struct timeval tv = {pause / 1000, (pause % 1000) * 1000};
        evtimer_add(c->pause, &tv);
        return;
    }
    start_request(c);
}

static void wrong_reply(rt_load_client *c, const char *what, const redisReply *r)
{
    rt_load *l = c->l;
    l->wrong++;
    if (l->wrong_sample[0] == '\0')
        snprintf(l->wrong_sample, sizeof(l->wrong_sample), "%s of %s: type %d \"%.60s\"", what,
                 c->key, r->type, r->str ? r->str : "");
}

/* Checks a SET's reply; returns 1 when it is the OK this request expects. */
static int set_reply_ok(rt_load_client *c, const redisReply *r)
{
    if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0) return 1;
    if (r->type != REDIS_REPLY_ERROR) wrong_reply(c, "SET", r);
    return 0;
}

/* Checks a GET's reply: 1 = this request's value; 0 = something else (counted). */
static int get_reply_ok(rt_load_client *c, const redisReply *r)
{
    if (r->type == REDIS_REPLY_STRING && r->len == c->vlen && memcmp(r->str, c->val, c->vlen) == 0)
        return 1;
    if (r->type == REDIS_REPLY_NIL) {
        c->l->nils++; /* data lost by a server restart */
        return 0;
    }
    if (r->type != REDIS_REPLY_ERROR) wrong_reply(c, "GET", r);
    return 0;
}

static void release_and_finish(rt_load_client *c, int ok, int status, const char *msg)
{
    redisconn_conn *conn = c->conn;
    c->conn = NULL;
    redisconn_release(conn);
    finish(c, ok, status, msg);
}

static void on_lease_get(redisconn_conn *conn, int status, redisReply *r, void *arg)
{
    rt_load_op *op = arg;
    rt_load_client *c = op->c;
    (void)conn;
    if (!op_called(op)) return;
    if (status != REDISCONN_OK) {
        release_and_finish(c, 0, status, NULL);
        return;
    }
    release_and_finish(c, get_reply_ok(c, r), REDISCONN_OK, r->str);
}

/* Sends `cmd` (SET or GET) of the current request on the lease or the pool. */
static int send_cmd(rt_load_client *c, int kind, redisconn_reply_cb cb)
{
    int set = kind == OP_LEASE_SET || kind == OP_POOL_SET;
    const char *argv[3] = {set ? "SET" : "GET", c->key, c->val};
    size_t lens[3] = {3, strlen(c->key), c->vlen};
    int argc = set ? 3 : 2;
    rt_load_op *op = op_new(c, kind);
    int rc;
    if (c->leased)
        rc = redisconn_command_argv(c->conn, cb, op, argc, argv, lens);
    else
        rc = redisconn_pool_command_argv(c->l->pool, c->l->opts.command_timeout_ms, cb, op, argc,
                                         argv, lens);
    if (rc != REDISCONN_OK) {
        op_unstarted(c->l);
        return rc;
    }
    c->l->issued++;
    return REDISCONN_OK;
}

static void on_lease_set(redisconn_conn *conn, int status, redisReply *r, void *arg)
{
    rt_load_op *op = arg;
    rt_load_client *c = op->c;
    int rc;
    (void)conn;
    if (!op_called(op)) return;
    if (status != REDISCONN_OK || !set_reply_ok(c, r)) {
        release_and_finish(c, 0, status, r ? r->str : NULL);
        return;
    }
    rc = send_cmd(c, OP_LEASE_GET, on_lease_get);
    if (rc != REDISCONN_OK) release_and_finish(c, 0, rc, NULL);
}

static void on_acquired(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    rt_load_op *op = arg;
    rt_load_client *c = op->c;
    int rc;
    if (!op_called(op)) return;
    if (status != REDISCONN_OK) {
        finish(c, 0, status, errmsg);
        return;
    }
    c->conn = conn;
    rc = send_cmd(c, OP_LEASE_SET, on_lease_set);
    if (rc != REDISCONN_OK) release_and_finish(c, 0, rc, NULL);
}

static void on_pool_get(redisconn_conn *conn, int status, redisReply *r, void *arg)
{
    rt_load_op *op = arg;
    rt_load_client *c = op->c;
    (void)conn;
    if (!op_called(op)) return;
    if (status != REDISCONN_OK) {
        finish(c, 0, status, redisconn_pool_errstr(c->l->pool));
        return;
    }
    finish(c, get_reply_ok(c, r), REDISCONN_OK, r->str);
}

static void on_pool_set(redisconn_conn *conn, int status, redisReply *r, void *arg)
{
    rt_load_op *op = arg;
    rt_load_client *c = op->c;
    int rc;
    (void)conn;
    if (!op_called(op)) return;
    if (status != REDISCONN_OK || !set_reply_ok(c, r)) {
        finish(c, 0, status, r ? r->str : redisconn_pool_errstr(c->l->pool));
        return;
    }
    rc = send_cmd(c, OP_POOL_GET, on_pool_get);
    if (rc != REDISCONN_OK) finish(c, 0, rc, NULL);
}

/* The request's unique key and value: "fault:<client>:<n>", "v:<client>:<n>:" + filler. */
static void next_key(rt_load_client *c)
{
    int n;
    c->seq++;
    snprintf(c->key, sizeof(c->key), "fault:%d:%llu", c->id, (unsigned long long)c->seq);
    n = snprintf(c->val, c->vlen, "v:%d:%llu:", c->id, (unsigned long long)c->seq);
    if (n > 0 && (size_t)n < c->vlen) memset(c->val + n, 'x', c->vlen - (size_t)n);
}

static void start_request(rt_load_client *c)
{
    rt_load *l = c->l;
    int rc;
    if (l->stopping) {
        if (c->active) l->busy--;
        c->active = 0;
        return;
    }
    next_key(c);
    c->t0 = rt_now_ms();
    if (c->leased) {
        rt_load_op *op = op_new(c, OP_ACQUIRE);
        if (redisconn_pool_acquire(l->pool, l->opts.acquire_timeout_ms, on_acquired, op) == NULL) {
            op_unstarted(l);
            finish(c, 0, REDISCONN_ERR_INVALID, "acquire returned NULL");
            return;
        }
        l->issued++;
        return;
    }
    rc = send_cmd(c, OP_POOL_SET, on_pool_set);
    if (rc != REDISCONN_OK) finish(c, 0, rc, NULL);
}

rt_load *rt_load_start(redisconn_pool *pool, struct event_base *base, const rt_load_opts *o)
{
    rt_load *l = calloc(1, sizeof(*l));
    cr_assert_not_null(l);
    l->base = base;
    l->pool = pool;
    l->opts = *o;
    if (l->opts.acquire_timeout_ms == 0) l->opts.acquire_timeout_ms = 2000;
    if (l->opts.fail_pause_ms <= 0) l->opts.fail_pause_ms = 1;
    if (l->opts.value_size == 0) l->opts.value_size = 24;
    l->nclients = o->leased + o->pooled;
    l->clients = calloc((size_t)l->nclients, sizeof(*l->clients));
    cr_assert_not_null(l->clients);
    for (int i = 0; i < l->nclients; i++) {
        rt_load_client *c = &l->clients[i];
        c->l = l;
        c->id = i;
        c->leased = i < o->leased;
        c->vlen = l->opts.value_size;
        c->val = malloc(c->vlen + 1);
        c->pause = evtimer_new(base, on_pause_end, c);
        cr_assert(c->val && c->pause);
    }
    for (int i = 0; i < l->nclients; i++) {
        l->clients[i].active = 1;
        l->busy++;
        start_request(&l->clients[i]);
    }
    return l;
}

void rt_load_stop(rt_load *l)
{
    l->stopping = 1;
}

void rt_load_drain(rt_load *l, int timeout_ms)
{
    rt_load_stop(l);
    rt_await(l->base, l->busy == 0, timeout_ms);
}

void rt_load_check(const rt_load *l)
{
    cr_assert_eq(l->busy, 0, "rt_load_check before rt_load_drain");
    cr_assert_eq(l->extra, 0, "%llu callbacks fired more than once", (unsigned long long)l->extra);
    for (size_t i = 0; i < l->nops; i++)
        cr_assert_eq(l->ops[i]->calls, 1, "operation %zu (kind %d, client %d) called back %d times",
                     i, l->ops[i]->kind, l->ops[i]->c->id, l->ops[i]->calls);
    cr_assert_eq(l->called, l->issued, "%llu of %llu operations called back",
                 (unsigned long long)l->called, (unsigned long long)l->issued);
    cr_assert_eq(l->wrong, 0, "%llu replies reached the wrong request, e.g. %s",
                 (unsigned long long)l->wrong, l->wrong_sample);
}

void rt_load_reset_latency(rt_load *l)
{
    l->max_ok_ms = l->max_fail_ms = l->fail_sum_ms = 0;
    l->fail_count = 0;
}

uint64_t rt_load_count(const rt_load *l, int status)
{
    return -status >= 0 && -status < RT_LOAD_STATUSES ? l->by_status[-status] : 0;
}

void rt_load_dump(const rt_load *l, const char *label)
{
    fprintf(stderr,
            "[%s] issued %llu called %llu extra %llu ok %llu failed %llu wrong %llu nils %llu",
            label, (unsigned long long)l->issued, (unsigned long long)l->called,
            (unsigned long long)l->extra, (unsigned long long)l->ok, (unsigned long long)l->failed,
            (unsigned long long)l->wrong, (unsigned long long)l->nils);
    for (int i = 0; i < RT_LOAD_STATUSES; i++)
        if (l->by_status[i])
            fprintf(stderr, " %s=%llu", i ? redisconn_status_name(-i) : "error-reply",
                    (unsigned long long)l->by_status[i]);
    fprintf(stderr, " (last error: %s)\n", l->last_errmsg);
}

void rt_load_free(rt_load *l)
{
    if (l == NULL) return;
    for (int i = 0; i < l->nclients; i++) {
        event_free(l->clients[i].pause);
        free(l->clients[i].val);
    }
    for (size_t i = 0; i < l->nops; i++)
        free(l->ops[i]);
    free(l->ops);
    free(l->clients);
    free(l);
}

void rt_sigpipe_default(void)
{
    struct sigaction sa;
    sigset_t pipe;
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigprocmask(SIG_UNBLOCK, &pipe, NULL);
    cr_assert_eq(sigaction(SIGPIPE, NULL, &sa), 0);
    cr_assert_eq(sa.sa_handler, SIG_DFL, "SIGPIPE must be at its default disposition");
}

/* ---- the killer -------------------------------------------------------- */

struct rt_killer {
    struct event *tick;
    redisContext *c;
    int port;
    int rounds;
    long long victims;
};

static void on_kill_tick(evutil_socket_t fd, short what, void *arg)
{
    rt_killer *k = arg;
    redisReply *r;
    (void)fd;
    (void)what;
    if (k->c == NULL) {
        struct timeval tv = {0, 200000};
        k->c = redisConnectWithTimeout("127.0.0.1", k->port, tv);
        if (k->c == NULL || k->c->err) {
            if (k->c) redisFree(k->c);
            k->c = NULL;
            return;
        }
        redisSetTimeout(k->c, tv);
    }
    r = redisCommand(k->c, "CLIENT KILL TYPE normal SKIPME yes");
    if (r == NULL) {
        redisFree(k->c);
        k->c = NULL;
        return;
    }
    k->rounds++;
    if (r->type == REDIS_REPLY_INTEGER) k->victims += r->integer;
    freeReplyObject(r);
}

rt_killer *rt_killer_start(struct event_base *base, int port, int period_ms)
{
    rt_killer *k = calloc(1, sizeof(*k));
    struct timeval tv = {period_ms / 1000, (period_ms % 1000) * 1000};
    cr_assert_not_null(k);
    k->port = port;
    k->tick = event_new(base, -1, EV_PERSIST, on_kill_tick, k);
    cr_assert_not_null(k->tick);
    event_add(k->tick, &tv);
    return k;
}

int rt_killer_rounds(const rt_killer *k)
{
    return k->rounds;
}

long long rt_killer_victims(const rt_killer *k)
{
    return k->victims;
}

void rt_killer_stop(rt_killer *k)
{
    if (k == NULL) return;
    event_free(k->tick);
    if (k->c) redisFree(k->c);
    free(k);
}
