/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn.c: one connection — sending commands, routing every reply to its
 * command exactly once, command deadlines, and tracking the state a borrower
 * leaves behind. A leaf: it reports to its owner through env->hooks only.
 *
 * Every command is wrapped in a redisconn__cmd record passed to hiredis as
 * privdata; on_reply() runs once per record (with NULL when the context dies),
 * except for subscriptions, whose record gets every message and is owned by
 * the connection until it is freed.
 *
 * Once connected, the replies are dispatched here, not by hiredis's
 * redisProcessCallbacks(): hiredis 0.14 hands a reply nobody asked for to the
 * next command's callback or aborts the process, and cannot route a PING or
 * an unsubscribe without channels on a subscribed connection. The dispatch
 * keeps hiredis's callback lists (public in async.h) as the one record of
 * what is pending, so hiredis's own free still fails every pending callback.
 */
#include "pool/conn.h"
#include "pool/classify.h"
#include "pool/sub.h"
#include "util/clock.h"
#include "adapters/libevent_adapter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

redisconn_conn *redisconn__conn_new(redisconn__conn_env *env, redisconn_pool *owner)
{
    redisconn_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) return NULL;
    conn->env = env;
    conn->pool = owner;
    redisconn__list_init(&conn->cmds);
    redisconn__list_init(&conn->streams);
    redisconn__list_init(&conn->unsubs);
    conn->created_us = redisconn__now_us();
    return conn;
}

static void free_record(redisconn__cmd *rec)
{
    if (rec->sub != NULL) redisconn__sub_free(rec);
    free(rec);
}

/* A subscription that never got its final call (hiredis dropped it) gets it
 * here, from the loop. */
void redisconn__conn_free(redisconn_conn *conn)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&conn->streams)) != NULL) {
        redisconn__cmd *rec = REDISCONN_CONTAINER_OF(l, redisconn__cmd, link);
        redisconn__list_remove(l);
        if (!rec->finished && rec->cb)
            rec->cb(conn, conn->abort_status ? conn->abort_status : REDISCONN_ERR_CLOSED, NULL,
                    rec->privdata);
        free_record(rec);
    }
    redisconn__addr_free(&conn->addr);
    free(conn->ips);
    free(conn);
}

void redisconn__conn_set_error(redisconn_conn *conn, const char *msg)
{
    snprintf(conn->errstr, sizeof(conn->errstr), "%s", msg ? msg : "");
}

/* Status for callbacks of commands that got no reply. */
static int dead_status(const redisconn_conn *conn, const redisAsyncContext *ac)
{
    if (conn->abort_status) return conn->abort_status;
    if (ac && !(ac->c.flags & REDIS_CONNECTED)) return REDISCONN_ERR_CONNECT;
    if (ac && ac->c.err == REDIS_ERR_PROTOCOL) return REDISCONN_ERR_PROTOCOL;
    if (ac && ac->c.err == REDIS_ERR_OOM) return REDISCONN_ERR_NOMEM;
    return REDISCONN_ERR_IO;
}

/* hiredis is failing the pending callbacks of a dying context. */
static void mark_broken(redisconn_conn *conn, const redisAsyncContext *ac)
{
    conn->broken = 1;
    if (conn->errstr[0] == '\0' && ac && ac->c.errstr[0])
        redisconn__conn_set_error(conn, ac->c.errstr);
}

/* A subscription's final call: after its last unsubscribe, or at death. */
static void stream_final(redisconn__cmd *rec, int status)
{
    if (rec->finished) return; /* hiredis calls once per channel on free */
    rec->finished = 1;
    if (rec->cb) rec->cb(rec->conn, status, NULL, rec->privdata);
}

/* A command's record is done: unlink, count, call back, report a drain. */
static void complete(redisconn_conn *conn, redisconn__cmd *rec, int status, redisReply *r)
{
    redisconn_reply_cb cb = rec->cb;
    void *cb_arg = rec->privdata;
    redisconn__cmd_kind kind = rec->kind;
    if (rec->abandoned) { /* timed out already: its owner has been told */
        cb = NULL;
        conn->abandoned--;
    }
    redisconn__list_remove(&rec->link);
    free_record(rec);
    if (kind == CMD_INTERNAL)
        conn->internal--;
    else
        conn->inflight--;
    if (cb) cb(kind == CMD_POOL ? NULL : conn, status, r, cb_arg);
    if (conn->inflight == 0 && kind != CMD_INTERNAL) conn->env->hooks->drained(conn);
}

/* The hiredis callback of every command we send. */
static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisconn__cmd *rec = privdata;
    redisconn_conn *conn = rec->conn;
    int status = REDISCONN_OK;

    if (r == NULL) {
        mark_broken(conn, ac);
        status = dead_status(conn, ac);
    }
    if (rec->kind == CMD_STREAM) {
        if (r != NULL) {
            if (rec->cb) rec->cb(conn, REDISCONN_OK, r, rec->privdata);
        } else {
            stream_final(rec, status);
        }
        return;
    }
    complete(conn, rec, status, r);
}

uint64_t redisconn__conn_earliest_deadline(const redisconn_conn *conn)
{
    uint64_t min = 0;
    const redisconn__link *heads[2] = {&conn->cmds, &conn->unsubs};
    for (int i = 0; i < 2; i++)
        for (const redisconn__link *l = heads[i]->next; l != heads[i]; l = l->next) {
            const redisconn__cmd *rec = REDISCONN_CONTAINER_OF(l, const redisconn__cmd, link);
            if (rec->deadline_us && (min == 0 || rec->deadline_us < min)) min = rec->deadline_us;
        }
    return min;
}

void redisconn__conn_arm_deadline(redisconn_conn *conn, uint64_t at_us)
{
    if (conn->ac != NULL && at_us != 0) redisconn__adapter_deadline(conn->ac, at_us);
}

/* Adapter timer: a deadline of some pending command may have passed. The
 * timer is armed lazily (only when a command finds it idle or later), so most
 * firings just re-arm for the oldest command still pending. */
static void on_deadline(void *owner)
{
    redisconn_conn *conn = owner;
    uint64_t next = redisconn__conn_earliest_deadline(conn), now;
    if (next == 0 || conn->ac == NULL) return;
    now = redisconn__now_us();
    if (next > now) {
        redisconn__adapter_deadline(conn->ac, next);
        return;
    }
    conn->env->hooks->deadline(conn, now);
}

void redisconn__conn_dead(redisconn_conn *conn)
{
    if (conn->dead) return;
    conn->dead = 1;
    conn->ac = NULL;
    conn->broken = 1;
    conn->env->hooks->dead(conn);
}

/* hiredis is freeing the context: every callback it knew of has run; the
 * (P)UNSUBSCRIBE records it never knew of fail now, then the death is told. */
static void on_cleanup(void *owner)
{
    redisconn_conn *conn = owner;
    redisconn__link *l;
    int status = dead_status(conn, conn->ac);
    if (conn->reopen != NULL && conn->reopen(conn)) { /* dial.c tries the next address */
        conn->ac = NULL;
        conn->broken = 0;
        conn->dirty = 0;
        conn->errstr[0] = '\0';
        return;
    }
    conn->broken = 1;
    while ((l = redisconn__list_first(&conn->unsubs)) != NULL)
        complete(conn, REDISCONN_CONTAINER_OF(l, redisconn__cmd, link), status, NULL);
    redisconn__conn_dead(conn);
}

/* Runs a callback of hiredis's lists the way hiredis does: a free asked for
 * inside it is deferred (REDIS_IN_CALLBACK) until it returns. */
static void run_callback(redisAsyncContext *ac, redisCallback *cb, redisReply *r)
{
    if (cb->fn == NULL) return;
    ac->c.flags |= REDIS_IN_CALLBACK;
    cb->fn(ac, r, cb->privdata);
    ac->c.flags &= ~REDIS_IN_CALLBACK;
}

/* Pops the head of one of hiredis's callback lists into *out. */
static int shift_callback(redisCallbackList *list, redisCallback *out)
{
    redisCallback *cb = list->head;
    if (cb == NULL) return 0;
    list->head = cb->next;
    if (cb == list->tail) list->tail = NULL;
    *out = *cb;
    free(cb); /* hiredis 0.14 allocates list nodes with malloc */
    return 1;
}

/* Runs a record's callback as a hiredis callback would run. */
static void run_record(redisAsyncContext *ac, redisconn__cmd *rec, redisReply *r)
{
    redisCallback cb = {NULL, on_reply, 0, rec};
    run_callback(ac, &cb, r);
}

/* A reply of a subscribed connection: to its subscription, PING, or
 * (P)UNSUBSCRIBE, as sub.c decides. */
static void dispatch_subscribed(redisconn_conn *conn, redisReply *r)
{
    redisAsyncContext *ac = conn->ac;
    redisconn__sub_route rt;
    redisCallback cb;
    redisconn__sub_decide(conn, r, &rt);
    if (rt.invalid) {
        if (shift_callback(&ac->sub.invalid, &cb)) run_callback(ac, &cb, r);
        return;
    }
    if (rt.leave_subscribed) ac->c.flags &= ~REDIS_SUBSCRIBED;
    if (rt.deliver) run_record(ac, rt.deliver, r);
    if (rt.ended && !(ac->c.flags & REDIS_FREEING)) {
        ac->c.flags |= REDIS_IN_CALLBACK;
        stream_final(rt.ended, REDISCONN_ERR_CANCELED);
        ac->c.flags &= ~REDIS_IN_CALLBACK;
    }
    if (rt.unsub_done && !(ac->c.flags & REDIS_FREEING)) {
        ac->c.flags |= REDIS_IN_CALLBACK;
        complete(conn, rt.unsub_done, REDISCONN_OK, r);
        ac->c.flags &= ~REDIS_IN_CALLBACK;
    }
}

/* A reply no command asked for: close rather than hand it to the next
 * command (the wrong answer) or let hiredis abort. */
static void unsolicited(redisconn_conn *conn, redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        redisconn__conn_set_error(conn, r->str); /* e.g. the server going away */
        freeReplyObject(r);
        redisconn__conn_close(conn, REDISCONN_ERR_IO);
        return;
    }
    freeReplyObject(r);
    redisconn__conn_set_error(conn, "the server sent a reply no command asked for");
    redisconn__conn_close(conn, REDISCONN_ERR_PROTOCOL);
}

/* True when the oldest command waiting for a reply has not been written yet
 * (e.g. sent from the callback of the reply just dispatched): the server
 * cannot be answering it. */
static int oldest_unsent(const redisAsyncContext *ac)
{
    const redisCallback *cb = ac->replies.head;
    const redisconn__cmd *rec;
    if (cb == NULL || cb->fn != on_reply) return 0;
    rec = cb->privdata;
    return rec->write_mark == redisconn__adapter_writes(ac);
}

/* Adapter: the connected socket is readable. Reads once, then hands every
 * complete reply to its callback, in order; a reply with no command written
 * to answer is unsolicited. */
static void on_readable(void *owner)
{
    redisconn_conn *conn = owner;
    redisAsyncContext *ac = conn->ac;
    redisContext *c = &ac->c;
    void *r;

    if (redisBufferRead(c) == REDIS_ERR) {
        redisconn__conn_set_error(conn, c->errstr);
        redisconn__conn_close(conn,
                              c->err == REDIS_ERR_OOM ? REDISCONN_ERR_NOMEM : REDISCONN_ERR_IO);
        return;
    }
    for (;;) {
        redisCallback cb;
        if (redisGetReplyFromReader(c, &r) == REDIS_ERR) {
            redisconn__conn_set_error(conn, c->errstr);
            redisconn__conn_close(conn, REDISCONN_ERR_PROTOCOL);
            return;
        }
        if (r == NULL) return;
        if (oldest_unsent(ac)) {
            unsolicited(conn, r);
            return;
        }
        if (shift_callback(&ac->replies, &cb)) { /* regular replies come before pub/sub */
            run_callback(ac, &cb, r);
        } else if (c->flags & REDIS_SUBSCRIBED) {
            dispatch_subscribed(conn, r);
        } else {
            unsolicited(conn, r);
            return;
        }
        freeReplyObject(r);
        if (c->flags & REDIS_FREEING) { /* asked for inside a callback */
            redisAsyncFree(ac);
            return;
        }
    }
}

static const redisconn__adapter_hooks conn_adapter_hooks = {on_deadline, on_cleanup, on_readable};

int redisconn__conn_attach(redisconn_conn *conn, redisAsyncContext *ac)
{
    if (redisconn__adapter_attach(ac, conn->env->base, conn->env->defer, &conn_adapter_hooks,
                                  conn) != 0)
        return -1;
    ac->data = conn;
    conn->ac = ac;
    return 0;
}

/* Updates the dirty bits from a command about to be sent. */
static void track_state(redisconn_conn *conn, unsigned cls)
{
    if (cls & CLS_MULTI) conn->dirty |= DIRTY_MULTI;
    if (cls & CLS_EXEC) conn->dirty &= ~(unsigned)(DIRTY_MULTI | DIRTY_WATCH);
    if (cls & CLS_WATCH) conn->dirty |= DIRTY_WATCH;
    if (cls & CLS_UNWATCH) conn->dirty &= ~(unsigned)DIRTY_WATCH;
    if (cls & CLS_SELECT) conn->dirty |= DIRTY_DB;
    if (cls & CLS_SETNAME) conn->dirty |= DIRTY_NAME;
    if (cls & CLS_NOEVICT) conn->dirty |= DIRTY_NOEVICT;
    if (cls & CLS_NOTOUCH) conn->dirty |= DIRTY_NOTOUCH;
    if (cls & (CLS_CLOSE | CLS_STREAM | CLS_UNSUB)) conn->dirty |= DIRTY_CLOSE;
}

static redisconn__cmd *new_record(redisconn_conn *conn, redisconn__cmd_kind kind,
                                  redisconn_reply_cb cb, void *privdata, uint64_t deadline_us)
{
    redisconn__cmd *rec = malloc(sizeof(*rec));
    if (rec == NULL) return NULL;
    rec->conn = conn;
    rec->cb = cb;
    rec->privdata = privdata;
    rec->deadline_us = kind == CMD_STREAM ? 0 : deadline_us;
    rec->write_mark = 0;
    rec->sub = NULL;
    rec->kind = kind;
    rec->finished = 0;
    rec->abandoned = 0;
    return rec;
}

/* Links a sent record and counts it. */
static void add_pending(redisconn_conn *conn, redisconn__cmd *rec)
{
    redisconn__link *head = rec->kind == CMD_STREAM  ? &conn->streams
                            : rec->kind == CMD_UNSUB ? &conn->unsubs
                                                     : &conn->cmds;
    redisconn__list_push_back(head, &rec->link);
    rec->write_mark = redisconn__adapter_writes(conn->ac);
    if (rec->kind == CMD_STREAM) return;
    if (rec->kind == CMD_INTERNAL)
        conn->internal++;
    else
        conn->inflight++;
    if (rec->deadline_us) redisconn__adapter_deadline(conn->ac, rec->deadline_us);
}

/* (P)UNSUBSCRIBE has no reply of its own in hiredis 0.14: it is sent bare and
 * its record completes on its confirmations (sub.c counts them). */
static int send_unsubscribe(redisconn_conn *conn, unsigned cls, redisconn__cmd *rec,
                            const char *cmd, size_t len)
{
    int rc = redisconn__sub_track_unsubscribe(conn, rec, cmd, len, (cls & CLS_PATTERN) != 0);
    if (rc != REDISCONN_OK) return rc;
    if (redisAsyncFormattedCommand(conn->ac, NULL, NULL, cmd, len) != REDIS_OK)
        return REDISCONN_ERR_INVALID; /* not subscribed */
    return REDISCONN_OK;
}

int redisconn__conn_send_user(redisconn_conn *conn, unsigned cls, redisconn_reply_cb cb,
                              void *privdata, const char *cmd, size_t len, uint64_t deadline_us)
{
    redisconn__cmd_kind kind = CMD_USER;
    redisconn__cmd *rec;
    int rc = REDISCONN_OK;

    if (conn->broken || conn->ac == NULL) return REDISCONN_ERR_IO;
    if (cls & CLS_UNSUPPORTED) return REDISCONN_ERR_UNSUPPORTED;
    if ((conn->ac->c.flags & REDIS_SUBSCRIBED) && !(cls & CLS_SUB_OK))
        return REDISCONN_ERR_SUBSCRIBED;
    if (cls & CLS_STREAM) kind = CMD_STREAM;
    if (cls & CLS_UNSUB) kind = CMD_UNSUB;
    rec = new_record(conn, kind, cb, privdata, deadline_us);
    if (rec == NULL) return REDISCONN_ERR_NOMEM;
    if (kind == CMD_UNSUB) {
        rc = send_unsubscribe(conn, cls, rec, cmd, len);
    } else {
        if (kind == CMD_STREAM)
            rc = redisconn__sub_track_subscribe(rec, cmd, len, (cls & CLS_PATTERN) != 0);
        if (rc == REDISCONN_OK &&
            redisAsyncFormattedCommand(conn->ac, on_reply, rec, cmd, len) != REDIS_OK)
            rc = REDISCONN_ERR_IO;
    }
    if (rc != REDISCONN_OK) {
        free_record(rec);
        return rc;
    }
    track_state(conn, cls);
    add_pending(conn, rec);
    return REDISCONN_OK;
}

int redisconn__conn_send(redisconn_conn *conn, redisconn__cmd_kind kind, redisconn_reply_cb cb,
                         void *privdata, const char *cmd, size_t len, uint64_t deadline_us)
{
    redisconn__cmd *rec;
    if (conn->broken || conn->ac == NULL) return REDISCONN_ERR_IO;
    rec = new_record(conn, kind, cb, privdata, deadline_us);
    if (rec == NULL) return REDISCONN_ERR_NOMEM;
    if (redisAsyncFormattedCommand(conn->ac, on_reply, rec, cmd, len) != REDIS_OK) {
        free(rec);
        return REDISCONN_ERR_IO;
    }
    add_pending(conn, rec);
    return REDISCONN_OK;
}

int redisconn__conn_sendf(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata,
                          uint64_t deadline_us, const char *fmt, ...)
{
    char *cmd;
    int len, rc;
    va_list ap;
    va_start(ap, fmt);
    len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0) return len == -2 ? REDISCONN_ERR_NOMEM : REDISCONN_ERR_INVALID;
    rc = redisconn__conn_send(conn, CMD_INTERNAL, cb, privdata, cmd, (size_t)len, deadline_us);
    redisFreeCommand(cmd);
    return rc;
}

/*
 * Pending callbacks get `abort_status` — hiredis runs them synchronously
 * inside redisAsyncFree, or right after the current callback returns when
 * called from one — then on_cleanup() reports the death. The first close's
 * status wins.
 */
void redisconn__conn_close(redisconn_conn *conn, int abort_status)
{
    if (conn->dead || conn->abort_status) return;
    conn->abort_status = abort_status ? abort_status : REDISCONN_ERR_CLOSED;
    conn->broken = 1;
    if (conn->ac == NULL) {
        redisconn__conn_dead(conn);
        return;
    }
    redisAsyncFree(conn->ac);
}

int redisconn__conn_format_argv(char **cmd, int argc, const char **argv, const size_t *argvlen)
{
    if (argc <= 0 || argv == NULL) return -1;
    for (int i = 0; i < argc; i++)
        if (argv[i] == NULL) return -1;
    return redisFormatCommandArgv(cmd, argc, argv, argvlen);
}

redisconn_pool *redisconn_conn_pool(const redisconn_conn *conn)
{
    return conn ? conn->pool : NULL;
}

const char *redisconn_conn_errstr(const redisconn_conn *conn)
{
    return conn && conn->errstr[0] ? conn->errstr : NULL;
}
