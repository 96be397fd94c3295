/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lease.c: what a borrower does with a leased connection — commands — and
 * how it comes back: release, draining the commands still in flight, and
 * resetting what the borrower left behind (DISCARD, UNWATCH, SELECT) or
 * closing what cannot be reset.
 */
#include "pool/internal.h"
#include "pool/classify.h"
#include "util/clock.h"

#include <stdarg.h>

/* Common argument checks of the public command functions. */
static int check_leased(const redisconn_conn *conn)
{
    if (conn == NULL) return REDISCONN_ERR_INVALID;
    if (conn->state == CONN_LOST) return REDISCONN_ERR_IO;
    if (conn->state != CONN_LEASED) return REDISCONN_ERR_STATE;
    if (conn->broken || conn->ac == NULL) return REDISCONN_ERR_IO;
    return REDISCONN_OK;
}

/* A leased command's deadline: `timeout_ms` when given; for a blocking
 * command its own timeout plus the command timeout (none when it blocks
 * forever); else the command timeout. */
static uint64_t lease_deadline(const redisconn_conn *conn, unsigned cls, const char *cmd,
                               size_t len, int64_t timeout_ms)
{
    int64_t t = conn->pool->opts.command_timeout_ms, block_ms;
    if (timeout_ms > 0) return redisconn__deadline_after(timeout_ms);
    if ((cls & CLS_BLOCKING) && redisconn__classify_block_ms(cmd, len, &block_ms)) {
        if (block_ms == 0) return 0;
        return redisconn__deadline_after(block_ms + (t > 0 ? t : 0));
    }
    return redisconn__deadline_after(t);
}

/* Sends an encoded command (in the pool's encoder buffer). */
static int user_send(redisconn_conn *conn, int64_t timeout_ms, redisconn_reply_cb cb,
                     void *privdata, const char *cmd, size_t len)
{
    unsigned cls = redisconn__classify(cmd, len);
    return redisconn__conn_send_user(conn, cls, cb, privdata, cmd, len,
                                     lease_deadline(conn, cls, cmd, len, timeout_ms));
}

/* redisconn_commandv() with a per-command timeout. */
static int commandv_timed(redisconn_conn *conn, int64_t timeout_ms, redisconn_reply_cb cb,
                          void *privdata, const char *fmt, va_list ap)
{
    const char *cmd;
    size_t len;
    int rc = check_leased(conn);
    if (rc != REDISCONN_OK) return rc;
    if (fmt == NULL || timeout_ms < 0) return REDISCONN_ERR_INVALID;
    rc = redisconn__resp_vformat(&conn->pool->resp, &cmd, &len, fmt, ap);
    if (rc != REDISCONN_OK) return rc;
    return user_send(conn, timeout_ms, cb, privdata, cmd, len);
}

int redisconn_command_formatted(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata,
                                const char *cmd, size_t len)
{
    unsigned cls;
    int rc = check_leased(conn);
    if (rc != REDISCONN_OK) return rc;
    if (cmd == NULL || len == 0) return REDISCONN_ERR_INVALID;
    cls = redisconn__classify(cmd, len);
    return redisconn__conn_send_user(conn, cls, cb, privdata, cmd, len,
                                     lease_deadline(conn, cls, cmd, len, 0));
}

int redisconn_commandv(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata, const char *fmt,
                       va_list ap)
{
    return commandv_timed(conn, 0, cb, privdata, fmt, ap);
}

int redisconn_command_with_timeout(redisconn_conn *conn, int64_t timeout_ms, redisconn_reply_cb cb,
                                   void *privdata, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = commandv_timed(conn, timeout_ms, cb, privdata, fmt, ap);
    va_end(ap);
    return rc;
}

int redisconn_command(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata, const char *fmt,
                      ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = redisconn_commandv(conn, cb, privdata, fmt, ap);
    va_end(ap);
    return rc;
}

int redisconn_command_argv_with_timeout(redisconn_conn *conn, int64_t timeout_ms,
                                        redisconn_reply_cb cb, void *privdata, int argc,
                                        const char **argv, const size_t *argvlen)
{
    const char *cmd;
    size_t len;
    int rc = check_leased(conn);
    if (rc != REDISCONN_OK) return rc;
    if (timeout_ms < 0) return REDISCONN_ERR_INVALID;
    rc = redisconn__resp_argv(&conn->pool->resp, &cmd, &len, argc, argv, argvlen);
    if (rc != REDISCONN_OK) return rc;
    return user_send(conn, timeout_ms, cb, privdata, cmd, len);
}

int redisconn_command_argv(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata, int argc,
                           const char **argv, const size_t *argvlen)
{
    return redisconn_command_argv_with_timeout(conn, 0, cb, privdata, argc, argv, argvlen);
}

void redisconn_release(redisconn_conn *conn)
{
    if (conn == NULL) return;
    if (conn->state == CONN_LOST || (conn->state == CONN_LEASED &&
                                     (conn->broken || (conn->inflight == 0 && conn->dirty == 0)))) {
        redisconn__pool_unlease(conn); /* the common case: straight back */
        return;
    }
    if (conn->state != CONN_LEASED) return; /* released already */
    redisconn__pool_set_state(conn, CONN_DRAINING);
    if (conn->inflight == 0) redisconn__lease_recycle(conn);
}

/* Reply of a reset command (DISCARD / UNWATCH / SELECT). */
static void on_reset(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    (void)privdata;
    if (status != REDISCONN_OK || reply->type == REDIS_REPLY_ERROR) conn->reset_failed = 1;
    if (conn->internal > 0 || conn->broken) return; /* more to come, or dying */
    if (conn->reset_failed) {
        redisconn__pool_close_conn(conn, CLOSE_DIRTY, REDISCONN_ERR_IO);
        return;
    }
    redisconn__pool_put(conn);
}

/* Sends what undoes MULTI / WATCH / SELECT / CLIENT SETNAME, NO-EVICT,
 * NO-TOUCH (the table in docs/pool.md). Returns REDISCONN_OK when sent. */
static int send_reset(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    uint64_t deadline = redisconn__deadline_after(pool->opts.command_timeout_ms);
    unsigned d = conn->dirty;
    int rc = REDISCONN_OK;

    conn->reset_failed = 0;
    if (d & DIRTY_MULTI)
        rc = redisconn__conn_sendf(conn, on_reset, NULL, deadline, "DISCARD");
    else if (d & DIRTY_WATCH)
        rc = redisconn__conn_sendf(conn, on_reset, NULL, deadline, "UNWATCH");
    if (rc == REDISCONN_OK && (d & DIRTY_DB))
        rc = redisconn__conn_sendf(conn, on_reset, NULL, deadline, "SELECT %d", pool->opts.db);
    if (rc == REDISCONN_OK && (d & DIRTY_NAME))
        rc = redisconn__conn_sendf(conn, on_reset, NULL, deadline, "CLIENT SETNAME %s",
                                   pool->client_name ? pool->client_name : "");
    if (rc == REDISCONN_OK && (d & DIRTY_NOEVICT))
        rc = redisconn__conn_sendf(conn, on_reset, NULL, deadline, "CLIENT NO-EVICT off");
    if (rc == REDISCONN_OK && (d & DIRTY_NOTOUCH))
        rc = redisconn__conn_sendf(conn, on_reset, NULL, deadline, "CLIENT NO-TOUCH off");
    conn->dirty = 0;
    pool->stats.resets++;
    return rc;
}

void redisconn__lease_recycle(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    redisconn__pool_set_state(conn, CONN_RESETTING);
    if (conn->broken) return;
    if (pool->closed) {
        redisconn__pool_close_conn(conn, CLOSE_POOL_CLOSED, REDISCONN_ERR_CLOSED);
        return;
    }
    if (conn->dirty & DIRTY_CLOSE) {
        redisconn__log(&pool->log, REDISCONN_LOG_DEBUG,
                       "redisconn: closing a connection left subscribed or re-authenticated");
        redisconn__pool_close_conn(conn, CLOSE_DIRTY, REDISCONN_ERR_CLOSED);
        return;
    }
    if (conn->dirty) {
        if (send_reset(conn) != REDISCONN_OK)
            redisconn__pool_close_conn(conn, CLOSE_DIRTY, REDISCONN_ERR_IO);
        return;
    }
    redisconn__pool_put(conn);
}
