/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn.c: one connection's commands — records for what is pending, the send
 * path, command deadlines, the state a borrower leaves behind, and the end of
 * a connection. A leaf: it reports to its owner through env->hooks only.
 * Replies come in through reply.c.
 *
 * The connection keeps its own books of what is pending; hiredis is the
 * socket, the output buffer and the reply parser. Commands are appended to
 * hiredis's output buffer with redisAppendFormattedCommand() (no callback
 * node per command), and every reply is matched to the oldest record still
 * waiting, in order:
 *   cmds      commands sent while not subscribed (and so answered in order)
 *   sub_cmds  commands sent while subscribed (PING): hiredis's "invalid" list
 *   streams   (P)SUBSCRIBE records: every message, until the connection ends
 *   unsubs    (P)UNSUBSCRIBE records: their confirmations (sub.c counts them)
 * Records come from a free list of the environment: in steady state a
 * command allocates nothing.
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

/* Records kept for reuse per environment: bounds the memory they hold at
 * FREE_RECORDS_MAX * sizeof(redisconn__cmd) (64 KiB) per pool. */
enum { FREE_RECORDS_MAX = 1024 };

redisconn_conn *redisconn__conn_new(redisconn__conn_env *env, redisconn_pool *owner)
{
    redisconn_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) return NULL;
    conn->env = env;
    conn->pool = owner;
    redisconn__list_init(&conn->cmds);
    redisconn__list_init(&conn->sub_cmds);
    redisconn__list_init(&conn->streams);
    redisconn__list_init(&conn->unsubs);
    conn->created_us = redisconn__now_us();
    return conn;
}

static redisconn__cmd *alloc_record(redisconn__conn_env *env)
{
    redisconn__cmd *rec = env->free_cmds;
    if (rec == NULL) return malloc(sizeof(*rec));
    env->free_cmds = (redisconn__cmd *)(void *)rec->link.next;
    env->free_cmds_n--;
    return rec;
}

static void free_record(redisconn__conn_env *env, redisconn__cmd *rec)
{
    if (rec->sub != NULL) redisconn__sub_free(rec);
    if (env->free_cmds_n >= FREE_RECORDS_MAX) {
        free(rec);
        return;
    }
    rec->link.next = (redisconn__link *)(void *)env->free_cmds;
    env->free_cmds = rec;
    env->free_cmds_n++;
}

void redisconn__conn_env_free(redisconn__conn_env *env)
{
    while (env->free_cmds != NULL) {
        redisconn__cmd *rec = env->free_cmds;
        env->free_cmds = (redisconn__cmd *)(void *)rec->link.next;
        free(rec);
    }
    env->free_cmds_n = 0;
}

/* A subscription that never got its final call gets it here, from the loop. */
void redisconn__conn_free(redisconn_conn *conn)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&conn->streams)) != NULL) {
        redisconn__cmd *rec = REDISCONN_CONTAINER_OF(l, redisconn__cmd, link);
        redisconn__list_remove(l);
        if (!rec->finished && rec->cb)
            rec->cb(conn, conn->abort_status ? conn->abort_status : REDISCONN_ERR_CLOSED, NULL,
                    rec->privdata);
        free_record(conn->env, rec);
    }
    redisconn__addr_free(&conn->addr);
    free(conn->ips);
    free(conn);
}

void redisconn__conn_set_error(redisconn_conn *conn, const char *msg)
{
    snprintf(conn->errstr, sizeof(conn->errstr), "%s", msg ? msg : "");
}

void redisconn__conn_stream_final(redisconn__cmd *rec, int status)
{
    if (rec->finished) return;
    rec->finished = 1;
    if (rec->cb) rec->cb(rec->conn, status, NULL, rec->privdata);
}

void redisconn__conn_complete(redisconn_conn *conn, redisconn__cmd *rec, int status, redisReply *r)
{
    redisconn_reply_cb cb = rec->cb;
    void *cb_arg = rec->privdata;
    redisconn__cmd_kind kind = rec->kind;
    if (rec->abandoned) { /* timed out already: its owner has been told */
        cb = NULL;
        conn->abandoned--;
    }
    redisconn__list_remove(&rec->link);
    free_record(conn->env, rec);
    if (kind == CMD_INTERNAL)
        conn->internal--;
    else
        conn->inflight--;
    if (cb) cb(kind == CMD_POOL ? NULL : conn, status, r, cb_arg);
    if (r != NULL && r->type == REDIS_REPLY_ERROR && conn->env->hooks->readonly != NULL &&
        strncmp(r->str, "READONLY ", 9) == 0)
        conn->env->hooks->readonly(conn);
    if (conn->inflight == 0 && kind != CMD_INTERNAL) conn->env->hooks->drained(conn);
}

void redisconn__conn_fail_pending(redisconn_conn *conn, int status)
{
    redisconn__link *heads[3] = {&conn->cmds, &conn->sub_cmds, &conn->unsubs}, *l;
    conn->broken = 1;
    for (int i = 0; i < 3; i++)
        while ((l = redisconn__list_first(heads[i])) != NULL)
            redisconn__conn_complete(conn, REDISCONN_CONTAINER_OF(l, redisconn__cmd, link), status,
                                     NULL);
    for (l = conn->streams.next; l != &conn->streams; l = l->next)
        redisconn__conn_stream_final(REDISCONN_CONTAINER_OF(l, redisconn__cmd, link), status);
}

uint64_t redisconn__conn_earliest_deadline(const redisconn_conn *conn)
{
    uint64_t min = 0;
    const redisconn__link *heads[3] = {&conn->cmds, &conn->sub_cmds, &conn->unsubs};
    for (int i = 0; i < 3; i++)
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

void redisconn__conn_dead(redisconn_conn *conn)
{
    if (conn->dead) return;
    conn->dead = 1;
    conn->ac = NULL;
    conn->broken = 1;
    conn->env->hooks->dead(conn);
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
    redisconn__cmd *rec = alloc_record(conn->env);
    if (rec == NULL) return NULL;
    rec->conn = conn;
    rec->cb = cb;
    rec->privdata = privdata;
    rec->deadline_us = kind == CMD_STREAM ? 0 : deadline_us;
    rec->sub = NULL;
    rec->kind = kind;
    rec->finished = 0;
    rec->abandoned = 0;
    return rec;
}

/* Appends the command to hiredis's output buffer and makes sure a flush
 * runs (the adapter's addWrite: this iteration's one write). */
static int append(redisconn_conn *conn, const char *cmd, size_t len)
{
    redisAsyncContext *ac = conn->ac;
    if (ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)) return REDISCONN_ERR_IO;
    if (redisAppendFormattedCommand(&ac->c, cmd, len) != REDIS_OK) return REDISCONN_ERR_NOMEM;
    if (ac->ev.addWrite) ac->ev.addWrite(ac->ev.data);
    return REDISCONN_OK;
}

/* Links a sent record where its reply will find it, and counts it. */
static void add_pending(redisconn_conn *conn, redisconn__cmd *rec)
{
    redisconn__link *head = rec->kind == CMD_STREAM                  ? &conn->streams
                            : rec->kind == CMD_UNSUB                 ? &conn->unsubs
                            : (conn->ac->c.flags & REDIS_SUBSCRIBED) ? &conn->sub_cmds
                                                                     : &conn->cmds;
    redisconn__list_push_back(head, &rec->link);
    if (rec->kind == CMD_STREAM) return;
    if (rec->kind == CMD_INTERNAL)
        conn->internal++;
    else
        conn->inflight++;
    if (rec->deadline_us) redisconn__adapter_deadline(conn->ac, rec->deadline_us);
}

/* (P)SUBSCRIBE and (P)UNSUBSCRIBE: sub.c keeps the names; the connection is
 * in subscribe mode from the first SUBSCRIBE on (like hiredis). */
static int send_pubsub(redisconn_conn *conn, unsigned cls, redisconn__cmd *rec, const char *cmd,
                       size_t len)
{
    int pattern = (cls & CLS_PATTERN) != 0, rc;
    if (rec->kind == CMD_UNSUB) {
        if (!(conn->ac->c.flags & REDIS_SUBSCRIBED)) return REDISCONN_ERR_INVALID;
        rc = redisconn__sub_track_unsubscribe(conn, rec, cmd, len, pattern);
    } else {
        rc = redisconn__sub_track_subscribe(rec, cmd, len, pattern);
    }
    if (rc == REDISCONN_OK) rc = append(conn, cmd, len);
    if (rc == REDISCONN_OK && rec->kind == CMD_STREAM) conn->ac->c.flags |= REDIS_SUBSCRIBED;
    return rc;
}

int redisconn__conn_send_user(redisconn_conn *conn, unsigned cls, redisconn_reply_cb cb,
                              void *privdata, const char *cmd, size_t len, uint64_t deadline_us)
{
    redisconn__cmd_kind kind = CMD_USER;
    redisconn__cmd *rec;
    int rc;

    if (conn->broken || conn->ac == NULL) return REDISCONN_ERR_IO;
    if (cls & CLS_UNSUPPORTED) return REDISCONN_ERR_UNSUPPORTED;
    if ((conn->ac->c.flags & REDIS_SUBSCRIBED) && !(cls & CLS_SUB_OK))
        return REDISCONN_ERR_SUBSCRIBED;
    if (cls & CLS_STREAM) kind = CMD_STREAM;
    if (cls & CLS_UNSUB) kind = CMD_UNSUB;
    rec = new_record(conn, kind, cb, privdata, deadline_us);
    if (rec == NULL) return REDISCONN_ERR_NOMEM;
    rc = kind == CMD_USER ? append(conn, cmd, len) : send_pubsub(conn, cls, rec, cmd, len);
    if (rc != REDISCONN_OK) {
        free_record(conn->env, rec);
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
    int rc;
    if (conn->broken || conn->ac == NULL) return REDISCONN_ERR_IO;
    rec = new_record(conn, kind, cb, privdata, deadline_us);
    if (rec == NULL) return REDISCONN_ERR_NOMEM;
    rc = append(conn, cmd, len);
    if (rc != REDISCONN_OK) {
        free_record(conn->env, rec);
        return rc;
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
    if (len < 0) return len == -1 ? REDISCONN_ERR_NOMEM : REDISCONN_ERR_INVALID;
    rc = redisconn__conn_send(conn, CMD_INTERNAL, cb, privdata, cmd, (size_t)len, deadline_us);
    redisFreeCommand(cmd);
    return rc;
}

/*
 * Frees the context: reply.c's cleanup hook fails what is pending with
 * `abort_status` (inside this call, or right after the running callback of the
 * connection returns when called from one) and reports the death. The first
 * close's status wins.
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

redisconn_pool *redisconn_conn_pool(const redisconn_conn *conn)
{
    return conn ? conn->pool : NULL;
}

const char *redisconn_conn_errstr(const redisconn_conn *conn)
{
    return conn && conn->errstr[0] ? conn->errstr : NULL;
}
