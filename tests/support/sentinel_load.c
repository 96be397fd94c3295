/* SPDX-License-Identifier: BSD-3-Clause */
/* sentinel_load.c: see sentinel_load.h. */
#include "support/sentinel_load.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

static void next(rt_sload_worker *w);

static int new_op(rt_sload *l, int kind)
{
    if (l->nops == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->ops = realloc(l->ops, (size_t)l->cap * sizeof(*l->ops));
        cr_assert_not_null(l->ops);
    }
    memset(&l->ops[l->nops], 0, sizeof(l->ops[0]));
    l->ops[l->nops].kind = (unsigned char)kind;
    return l->nops++;
}

static void count_error(rt_sload *l, int status)
{
    int i = -status;
    l->failed++;
    l->errors[i > 0 && i < RT_SLOAD_STATUSES ? i : 0]++;
}

/* The op of `w` is over (`status` 0: answered). */
static void done(rt_sload_worker *w, int status)
{
    rt_sload *l = w->l;
    rt_sload_op *op = &l->ops[w->op];
    op->ack_seq = ++l->events;
    op->ack_ms = rt_now_ms();
    op->status = status;
    if (status != REDISCONN_OK) count_error(l, status);
    w->op = -1;
    next(w);
}

static void on_reply(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    rt_sload_worker *w = arg;
    rt_sload *l = w->l;
    rt_sload_op *op = &l->ops[w->op];
    (void)conn;
    op->reply_calls++;
    if (status == REDISCONN_OK && reply->type == REDIS_REPLY_STATUS &&
        strcmp(reply->str, "OK") == 0) {
        int64_t now = rt_now_ms();
        op->ok = 1;
        l->oks++;
        if (l->last_ok_ms && now - l->last_ok_ms > l->gap_ms) {
            l->gap_ms = now - l->last_ok_ms;
            l->gap_at_ms = l->last_ok_ms;
        }
        l->last_ok_ms = now;
        if (l->switch_seq && !l->first_ok_after_switch_ms) l->first_ok_after_switch_ms = now;
    } else if (status == REDISCONN_OK) {
        if (!l->first_error_reply[0] && reply->str)
            snprintf(l->first_error_reply, sizeof(l->first_error_reply), "%s", reply->str);
        l->errors[0]++; /* counted apart: an error reply, not a failed call */
        l->failed++;
    }
    if (w->conn) redisconn_release(w->conn);
    w->conn = NULL;
    done(w, status);
}

static void on_acquired(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    rt_sload_worker *w = arg;
    rt_sload *l = w->l;
    rt_sload_op *op = &l->ops[w->op];
    int rc;
    (void)errmsg;
    op->acq_calls++;
    if (status != REDISCONN_OK) {
        done(w, status);
        return;
    }
    w->conn = conn;
    rc = redisconn_command(conn, on_reply, w, "SET fo:%d %d", w->op, w->op);
    if (rc != REDISCONN_OK) { /* e.g. IO: the lease was retired before this callback */
        redisconn_release(conn);
        w->conn = NULL;
        done(w, rc);
        return;
    }
    op->want_reply = 1;
}

static void start_op(rt_sload_worker *w)
{
    rt_sload *l = w->l;
    int rc = REDISCONN_OK;
    w->op = new_op(l, w->kind);
    if (w->kind == RT_SLOAD_POOL) {
        rc = redisconn_pool_command(l->pool, 0, on_reply, w, "SET fo:%d %d", w->op, w->op);
        if (rc == REDISCONN_OK) l->ops[w->op].want_reply = 1;
    } else if (redisconn_pool_acquire(l->pool, 2000, on_acquired, w) == NULL) {
        rc = REDISCONN_ERR_NOMEM;
    }
    if (rc != REDISCONN_OK) done(w, rc);
}

static void on_pause(evutil_socket_t fd, short what, void *arg)
{
    rt_sload_worker *w = arg;
    (void)fd;
    (void)what;
    if (w->l->stop) {
        w->l->busy--;
        return;
    }
    start_op(w);
}

/* Pauses, then the next op (or idles once stopped). */
static void next(rt_sload_worker *w)
{
    rt_sload *l = w->l;
    struct timeval tv = {0, l->pace_us};
    if (l->stop) {
        l->busy--;
        return;
    }
    cr_assert_eq(event_base_once(l->base, -1, EV_TIMEOUT, on_pause, w, &tv), 0);
}

void rt_sload_init(rt_sload *l, redisconn_pool *pool, struct event_base *base, rt_log *log)
{
    memset(l, 0, sizeof(*l));
    l->pool = pool;
    l->base = base;
    l->log = log;
}

void rt_sload_start(rt_sload *l, int leased, int pooled, int pace_us)
{
    cr_assert_leq(leased + pooled, RT_SLOAD_MAX_WORKERS);
    l->pace_us = pace_us;
    l->start_ms = rt_now_ms();
    for (int i = 0; i < leased + pooled; i++) {
        rt_sload_worker *w = &l->w[l->nworkers++];
        w->l = l;
        w->kind = i < leased ? RT_SLOAD_LEASED : RT_SLOAD_POOL;
        w->op = -1;
        l->busy++;
        start_op(w);
    }
}

void rt_sload_log_fn(int level, const char *msg, void *arg)
{
    rt_sload *l = arg;
    if (l->log) rt_log_fn(level, msg, l->log);
    if (strstr(msg, "master of ") != NULL && strstr(msg, " moved from ") != NULL &&
        l->switch_seq == 0) {
        l->switch_seq = ++l->events;
        l->switch_ms = rt_now_ms();
    }
}

void rt_sload_stop(rt_sload *l, int timeout_ms)
{
    l->stop = 1;
    rt_await(l->base, l->busy == 0, timeout_ms);
    rt_loop_quiet(l->base, 50); /* a second callback of some op would come now */
    for (int i = 0; i < l->nops; i++) {
        const rt_sload_op *op = &l->ops[i];
        if (op->kind == RT_SLOAD_LEASED)
            cr_assert(op->acq_calls == 1 ||
                          (op->acq_calls == 0 && op->status == REDISCONN_ERR_NOMEM),
                      "op %d: %d acquire callbacks", i, op->acq_calls);
        cr_assert_eq(op->reply_calls, op->want_reply, "op %d: %d reply callbacks, %d due", i,
                     op->reply_calls, op->want_reply);
    }
}

static redisContext *connect_to(rt_server *srv)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", srv->port, tv);
    cr_assert(c && !c->err, "connect to %s", srv->addr);
    if (srv->opts.requirepass) freeReplyObject(redisCommand(c, "AUTH %s", srv->opts.requirepass));
    return c;
}

int rt_sload_expect_post_switch_writes_on(const rt_sload *l, rt_server *srv)
{
    redisContext *c = connect_to(srv);
    int lost_before = 0, checked = 0;
    cr_assert_gt(l->switch_seq, 0, "the pool never logged the switch");
    for (int i = 0; i < l->nops; i += 1000) {
        int end = i + 1000 < l->nops ? i + 1000 : l->nops, n = 0;
        for (int j = i; j < end; j++)
            if (l->ops[j].ok) {
                redisAppendCommand(c, "EXISTS fo:%d", j);
                n++;
            }
        for (int j = i; j < end; j++) {
            redisReply *r;
            if (!l->ops[j].ok) continue;
            cr_assert_eq(redisGetReply(c, (void **)&r), REDIS_OK);
            cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
            if (l->ops[j].ack_seq > l->switch_seq) {
                checked++;
                cr_assert_eq(r->integer, 1,
                             "write fo:%d was acknowledged %lld ms after the switch but is not on "
                             "the new master %s: the old master took it",
                             j, (long long)(l->ops[j].ack_ms - l->switch_ms), srv->addr);
            } else if (r->integer == 0) {
                lost_before++;
            }
            freeReplyObject(r);
        }
        (void)n;
    }
    redisFree(c);
    cr_assert_gt(checked, 0, "no write was acknowledged after the switch");
    return lost_before;
}

int rt_sload_oks_after_switch(const rt_sload *l)
{
    int n = 0;
    for (int i = 0; i < l->nops; i++)
        n += l->ops[i].ok && l->switch_seq && l->ops[i].ack_seq > l->switch_seq;
    return n;
}

void rt_sload_report(const rt_sload *l, const char *name, int64_t failover_ms)
{
    char errs[512];
    size_t n = 0;
    errs[0] = '\0';
    for (int i = 0; i < RT_SLOAD_STATUSES; i++)
        if (l->errors[i])
            n += (size_t)snprintf(errs + n, sizeof(errs) - n, " %s=%d",
                                  i ? redisconn_status_name(-i) : "error_reply", l->errors[i]);
    fprintf(
        stderr,
        "[%s] writes=%d ok=%d failed=%d%s; gap %lld ms (from t=%lld ms); switch seen %lld ms "
        "after the failover began; first +OK after it %lld ms later%s%s\n",
        name, l->nops, l->oks, l->failed, errs, (long long)l->gap_ms,
        (long long)(l->gap_at_ms - l->start_ms),
        (long long)(l->switch_ms ? l->switch_ms - failover_ms : -1),
        (long long)(l->first_ok_after_switch_ms ? l->first_ok_after_switch_ms - l->switch_ms : -1),
        l->first_error_reply[0] ? "; first error reply: " : "", l->first_error_reply);
}
