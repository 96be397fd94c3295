/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * reply.c: the connection's side that faces the adapter — reading, handing
 * every reply to the record waiting for it (conn.c keeps the books), the
 * deadline timer, and the end of the context. A leaf above conn.c.
 *
 * Once connected, replies are read and dispatched here, never by hiredis's
 * redisProcessCallbacks(): that one hands a reply nobody asked for to the
 * next command (the wrong answer) or aborts the process, and cannot route a
 * PING or a channel-less unsubscribe on a subscribed connection. A reply
 * with no record waiting closes the connection with PROTOCOL.
 */
#include "pool/conn.h"
#include "pool/sub.h"
#include "util/clock.h"
#include "adapters/libevent_adapter.h"

#include <stdio.h>
#include <string.h>

/* Status for the commands of a context that died without an explicit close. */
static int dead_status(const redisconn_conn *conn, const redisAsyncContext *ac)
{
    if (conn->abort_status) return conn->abort_status;
    if (ac && !(ac->c.flags & REDIS_CONNECTED)) return REDISCONN_ERR_CONNECT;
    if (ac && ac->c.err == REDIS_ERR_PROTOCOL) return REDISCONN_ERR_PROTOCOL;
    if (ac && ac->c.err == REDIS_ERR_OOM) return REDISCONN_ERR_NOMEM;
    return REDISCONN_ERR_IO;
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

/* hiredis is freeing the context: what is pending fails, then the death is
 * told — unless dial.c tries the next address instead. A close asked for by
 * one of these callbacks must not re-enter hiredis's free: REDIS_IN_CALLBACK
 * makes redisAsyncFree() only note it. */
static void on_cleanup(void *owner)
{
    redisconn_conn *conn = owner;
    redisAsyncContext *ac = conn->ac;
    int status = dead_status(conn, ac);
    if (conn->reopen != NULL && conn->reopen(conn)) {
        conn->ac = NULL;
        conn->broken = 0;
        conn->dirty = 0;
        conn->errstr[0] = '\0';
        return;
    }
    if (conn->errstr[0] == '\0' && ac && ac->c.errstr[0])
        redisconn__conn_set_error(conn, ac->c.errstr);
    if (ac) ac->c.flags |= REDIS_IN_CALLBACK;
    redisconn__conn_fail_pending(conn, status);
    if (ac) ac->c.flags &= ~REDIS_IN_CALLBACK;
    redisconn__conn_dead(conn);
}

/* Runs `fn` as hiredis runs callbacks: a free asked for inside it waits. */
#define IN_CALLBACK(ac, stmt)                                                                      \
    do {                                                                                           \
        (ac)->c.flags |= REDIS_IN_CALLBACK;                                                        \
        stmt;                                                                                      \
        (ac)->c.flags &= ~REDIS_IN_CALLBACK;                                                       \
    } while (0)

/* The oldest record of `head`, or NULL. */
static redisconn__cmd *oldest(redisconn__link *head)
{
    redisconn__link *l = redisconn__list_first(head);
    return l ? REDISCONN_CONTAINER_OF(l, redisconn__cmd, link) : NULL;
}

/* A reply of a subscribed connection: to its subscription, to the PING (or
 * other command) sent while subscribed, or to a (P)UNSUBSCRIBE. */
static void dispatch_subscribed(redisconn_conn *conn, redisReply *r)
{
    redisAsyncContext *ac = conn->ac;
    redisconn__sub_route rt;
    redisconn__sub_decide(conn, r, &rt);
    if (rt.invalid) {
        redisconn__cmd *rec = oldest(&conn->sub_cmds);
        if (rec) IN_CALLBACK(ac, redisconn__conn_complete(conn, rec, REDISCONN_OK, r));
        return;
    }
    if (rt.leave_subscribed) ac->c.flags &= ~REDIS_SUBSCRIBED;
    if (rt.deliver && rt.deliver->cb)
        IN_CALLBACK(ac, rt.deliver->cb(conn, REDISCONN_OK, r, rt.deliver->privdata));
    if (rt.ended && !(ac->c.flags & REDIS_FREEING))
        IN_CALLBACK(ac, redisconn__conn_stream_final(rt.ended, REDISCONN_ERR_CANCELED));
    if (rt.unsub_done && !(ac->c.flags & REDIS_FREEING))
        IN_CALLBACK(ac, redisconn__conn_complete(conn, rt.unsub_done, REDISCONN_OK, r));
}

/* A reply no command asked for: close rather than hand it to the next
 * command or let hiredis abort. An error reply says why the server gives up
 * on us ("max number of clients reached", a shutdown): IO with its text. */
static void unsolicited(redisconn_conn *conn, redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        redisconn__conn_set_error(conn, r->str);
        freeReplyObject(r);
        redisconn__conn_close(conn, REDISCONN_ERR_IO);
        return;
    }
    freeReplyObject(r);
    redisconn__conn_set_error(conn, "the server sent a reply no command asked for");
    redisconn__conn_close(conn, REDISCONN_ERR_PROTOCOL);
}

/* Adapter: the connected socket is readable. Reads once, then hands every
 * complete reply to its record, in order. */
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
        redisconn__cmd *rec;
        if (redisGetReplyFromReader(c, &r) == REDIS_ERR) {
            redisconn__conn_set_error(conn, c->errstr);
            redisconn__conn_close(conn, REDISCONN_ERR_PROTOCOL);
            return;
        }
        if (r == NULL) return;
        if ((rec = oldest(&conn->cmds)) != NULL) { /* regular replies come before pub/sub */
            IN_CALLBACK(ac, redisconn__conn_complete(conn, rec, REDISCONN_OK, r));
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

static const redisconn__adapter_hooks reply_adapter_hooks = {on_deadline, on_cleanup, on_readable};

int redisconn__reply_attach(redisconn_conn *conn, redisAsyncContext *ac)
{
    if (redisconn__adapter_attach(ac, conn->env->base, conn->env->defer, &reply_adapter_hooks,
                                  conn) != 0)
        return -1;
    ac->data = conn;
    conn->ac = ac;
    return 0;
}
