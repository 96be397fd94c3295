/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn.c: one connection — sending commands, routing replies back to their
 * owners exactly once, command deadlines, and tracking the state a borrower
 * leaves behind. A leaf: it reports to its owner through env->hooks only.
 *
 * Every command is wrapped in a redisconn__cmd record passed to hiredis as
 * privdata; hiredis calls on_reply() once per record (with NULL when the
 * context dies), except for subscriptions, whose record is called per message
 * and is owned by the connection until it is freed.
 */
#include "pool/conn.h"
#include "pool/classify.h"
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
    conn->created_us = redisconn__now_us();
    return conn;
}

/* A subscription that ended by UNSUBSCRIBE (hiredis dropped it without a NULL
 * call) gets its final call here, from the loop. */
void redisconn__conn_free(redisconn_conn *conn)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&conn->streams)) != NULL) {
        redisconn__cmd *rec = REDISCONN_CONTAINER_OF(l, redisconn__cmd, link);
        redisconn__list_remove(l);
        if (!rec->finished && rec->cb)
            rec->cb(conn, conn->abort_status ? conn->abort_status : REDISCONN_ERR_CLOSED, NULL,
                    rec->privdata);
        free(rec);
    }
    redisconn__addr_free(&conn->addr);
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
    if (ac && ac->err == REDIS_ERR_PROTOCOL) return REDISCONN_ERR_PROTOCOL;
    if (ac && ac->err == REDIS_ERR_OOM) return REDISCONN_ERR_NOMEM;
    return REDISCONN_ERR_IO;
}

/* hiredis is failing the pending callbacks of a dying context. */
static void mark_broken(redisconn_conn *conn, const redisAsyncContext *ac)
{
    conn->broken = 1;
    if (conn->errstr[0] == '\0' && ac && ac->errstr && ac->errstr[0])
        redisconn__conn_set_error(conn, ac->errstr);
}

static void stream_reply(redisconn__cmd *rec, int status, redisReply *reply)
{
    if (reply != NULL) {
        if (rec->cb) rec->cb(rec->conn, REDISCONN_OK, reply, rec->privdata);
        return;
    }
    if (rec->finished) return; /* hiredis calls once per channel on free */
    rec->finished = 1;
    if (rec->cb) rec->cb(rec->conn, status, NULL, rec->privdata);
}

/* The hiredis callback of every command we send. */
static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisconn__cmd *rec = privdata;
    redisconn_conn *conn = rec->conn;
    redisconn_reply_cb cb = rec->cb;
    void *cb_arg = rec->privdata;
    redisconn__cmd_kind kind = rec->kind;
    int status = REDISCONN_OK;

    if (r == NULL) {
        mark_broken(conn, ac);
        status = dead_status(conn, ac);
    }
    if (kind == CMD_STREAM) {
        stream_reply(rec, status, r);
        return;
    }
    if (rec->abandoned) { /* timed out already: its owner has been told */
        cb = NULL;
        conn->abandoned--;
    }
    redisconn__list_remove(&rec->link);
    free(rec);
    if (kind == CMD_INTERNAL)
        conn->internal--;
    else
        conn->inflight--;
    if (cb) cb(kind == CMD_POOL ? NULL : conn, status, r, cb_arg);
    if (conn->inflight == 0 && kind != CMD_INTERNAL) conn->env->hooks->drained(conn);
}

uint64_t redisconn__conn_earliest_deadline(const redisconn_conn *conn)
{
    uint64_t min = 0;
    for (const redisconn__link *l = conn->cmds.next; l != &conn->cmds; l = l->next) {
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

/* hiredis is freeing the context: every pending callback has run. */
static void on_cleanup(void *owner)
{
    redisconn__conn_dead(owner);
}

static const redisconn__adapter_hooks conn_ev_hooks = {on_deadline, on_cleanup};

int redisconn__conn_attach(redisconn_conn *conn, redisAsyncContext *ac)
{
    if (redisconn__adapter_attach(ac, conn->env->base, conn->env->defer, &conn_ev_hooks, conn) != 0)
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
    if (cls & (CLS_CLOSE | CLS_STREAM | CLS_UNSUB)) conn->dirty |= DIRTY_CLOSE;
}

/* (P)UNSUBSCRIBE registers no callback in hiredis 0.14: send it bare. */
static int send_unsubscribe(redisconn_conn *conn, redisconn_reply_cb cb, const char *cmd,
                            size_t len)
{
    if (cb != NULL) return REDISCONN_ERR_INVALID;
    if (redisAsyncFormattedCommand(conn->ac, NULL, NULL, cmd, len) != REDIS_OK)
        return REDISCONN_ERR_INVALID; /* not subscribed */
    conn->dirty |= DIRTY_CLOSE;
    return REDISCONN_OK;
}

int redisconn__conn_send(redisconn_conn *conn, redisconn__cmd_kind kind, redisconn_reply_cb cb,
                         void *privdata, const char *cmd, size_t len, uint64_t deadline_us)
{
    redisconn__cmd *rec;
    unsigned cls = CLS_PLAIN;

    if (conn->broken || conn->ac == NULL) return REDISCONN_ERR_IO;
    if (kind == CMD_USER) {
        cls = redisconn__classify(cmd, len);
        if (cls & CLS_UNSUPPORTED) return REDISCONN_ERR_UNSUPPORTED;
        if (cls & CLS_UNSUB) return send_unsubscribe(conn, cb, cmd, len);
        if (cls & CLS_STREAM) kind = CMD_STREAM;
    }
    rec = malloc(sizeof(*rec));
    if (rec == NULL) return REDISCONN_ERR_NOMEM;
    rec->conn = conn;
    rec->cb = cb;
    rec->privdata = privdata;
    rec->deadline_us = kind == CMD_STREAM ? 0 : deadline_us;
    rec->kind = kind;
    rec->finished = 0;
    rec->abandoned = 0;
    if (redisAsyncFormattedCommand(conn->ac, on_reply, rec, cmd, len) != REDIS_OK) {
        free(rec);
        return REDISCONN_ERR_IO;
    }
    track_state(conn, cls);
    if (kind == CMD_STREAM) {
        redisconn__list_push_back(&conn->streams, &rec->link);
        return REDISCONN_OK;
    }
    redisconn__list_push_back(&conn->cmds, &rec->link);
    if (kind == CMD_INTERNAL)
        conn->internal++;
    else
        conn->inflight++;
    if (deadline_us) redisconn__adapter_deadline(conn->ac, deadline_us);
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
