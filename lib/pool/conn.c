/*
 * conn.c: a pooled connection — sending commands, routing replies back to
 * their owners exactly once, command deadlines, and tracking the state a
 * borrower leaves behind.
 *
 * Every command is wrapped in a redisconn__cmd record passed to hiredis as
 * privdata; hiredis calls on_reply() once per record (with NULL when the
 * context dies), except for subscriptions, whose record is called per message
 * and is owned by the connection until it is freed.
 */
#include "pool/internal.h"
#include "pool/classify.h"
#include "util/clock.h"
#include "adapters/libevent_adapter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

redisconn_conn *redisconn__conn_new(redisconn_pool *pool)
{
    redisconn_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) return NULL;
    conn->pool = pool;
    redisconn__list_init(&conn->cmds);
    redisconn__list_init(&conn->streams);
    conn->created_us = redisconn__now_us();
    conn->state = CONN_DEAD; /* neutral until the dialer moves it to CONN_DIALING */
    return conn;
}

/* Frees a dead connection's memory: streaming records and the struct. A
 * subscription that ended by UNSUBSCRIBE (hiredis dropped it without a NULL
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
    free(conn);
}

void redisconn__conn_set_error(redisconn_conn *conn, const char *msg)
{
    snprintf(conn->errstr, sizeof(conn->errstr), "%s", msg ? msg : "");
}

/* Status for callbacks of commands that got no reply. */
static int dead_status(redisconn_conn *conn, const redisAsyncContext *ac)
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
    int status = REDISCONN_OK, kind = rec->kind;

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
    if (conn->inflight == 0 && kind != CMD_INTERNAL) {
        if (conn->state == CONN_DRAINING) redisconn__conn_recycle(conn);
        if (conn->state == CONN_SHARED) redisconn__shared_drained(conn);
    }
}

/* The earliest deadline among pending commands, 0 if none. */
uint64_t redisconn__conn_earliest_deadline(const redisconn_conn *conn)
{
    uint64_t min = 0;
    for (const redisconn__link *l = conn->cmds.next; l != &conn->cmds; l = l->next) {
        const redisconn__cmd *rec = REDISCONN_CONTAINER_OF(l, const redisconn__cmd, link);
        if (rec->deadline_us && (min == 0 || rec->deadline_us < min)) min = rec->deadline_us;
    }
    return min;
}

/* Adapter timer: a deadline of some pending command may have passed. The
 * timer is armed lazily (only when a command finds it idle), so most firings
 * just re-arm for the oldest command still pending. */
static void on_deadline(void *owner)
{
    redisconn_conn *conn = owner;
    uint64_t next = redisconn__conn_earliest_deadline(conn), now;
    if (next == 0 || conn->ac == NULL) return;
    now = redisconn__now_us();
    if (next > now) {
        redisconn__ev_deadline(conn->ac, next);
        return;
    }
    if (conn->state == CONN_SHARED) {
        redisconn__shared_deadline(conn, now);
        return;
    }
    if (conn->state == CONN_DIALING) {
        conn->dial_status = REDISCONN_ERR_CONNECT; /* TIMEOUT is the acquire's own */
        redisconn__conn_set_error(conn, "connect timeout");
        redisconn__conn_close(conn, CLOSE_DIAL_FAILED, REDISCONN_ERR_CONNECT);
        return;
    }
    conn->pool->stats.command_timeouts++;
    redisconn__conn_set_error(conn, "command timeout");
    redisconn__log(conn->pool, REDISCONN_LOG_WARNING,
                   "redisconn: command timed out on %s; closing the connection",
                   conn->pool->addr.text);
    redisconn__conn_close(conn, CLOSE_COMMAND_TIMEOUT, REDISCONN_ERR_TIMEOUT);
}

/* hiredis is freeing the context: every pending callback has run. */
static void on_cleanup(void *owner)
{
    redisconn_conn *conn = owner;
    conn->ac = NULL;
    conn->broken = 1;
    redisconn__pool_conn_dead(conn);
}

static const redisconn__ev_hooks conn_hooks = {on_deadline, on_cleanup};

int redisconn__conn_attach(redisconn_conn *conn, redisAsyncContext *ac)
{
    if (redisconn__ev_attach(ac, conn->pool->base, &conn_hooks, conn) != 0) return -1;
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

int redisconn__conn_send(redisconn_conn *conn, int kind, redisconn_reply_cb cb, void *privdata,
                         const char *cmd, size_t len, uint64_t deadline_us)
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
    rec->kind = (unsigned)kind & 3u;
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
    if (deadline_us) redisconn__ev_deadline(conn->ac, deadline_us);
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
 * Aborts the connection: pending callbacks get `abort_status` (hiredis runs
 * them synchronously inside redisAsyncFree, or right after the current
 * callback returns when called from one), then on_cleanup() reports the
 * death to the pool. Idempotent.
 */
void redisconn__conn_close(redisconn_conn *conn, int why, int abort_status)
{
    redisAsyncContext *ac = conn->ac;
    if (conn->state == CONN_DEAD || (conn->broken && conn->abort_status)) return;
    conn->close_why = why;
    conn->abort_status = abort_status ? abort_status : REDISCONN_ERR_CLOSED;
    conn->broken = 1;
    if (conn->state == CONN_IDLE) {
        redisconn__list_remove(&conn->node);
        conn->pool->idle_n--;
        conn->state = CONN_CLOSING;
    }
    if (conn->dns_req != NULL) {
        redisconn__dial_abort(conn); /* the DNS callback reports the death */
        return;
    }
    if (ac == NULL) {
        redisconn__pool_conn_dead(conn);
        return;
    }
    redisAsyncFree(ac);
}

static uint64_t command_deadline(const redisconn_pool *pool)
{
    if (pool->opts.command_timeout_ms <= 0) return 0;
    return redisconn__now_us() + (uint64_t)pool->opts.command_timeout_ms * 1000u;
}

static int user_send(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata, char *cmd,
                     int len)
{
    int rc;
    if (len < 0) return len == -2 ? REDISCONN_ERR_NOMEM : REDISCONN_ERR_INVALID;
    rc = redisconn__conn_send(conn, CMD_USER, cb, privdata, cmd, (size_t)len,
                              command_deadline(conn->pool));
    redisFreeCommand(cmd);
    return rc;
}

/* Common argument checks of the public command functions. */
static int check_leased(const redisconn_conn *conn)
{
    if (conn == NULL) return REDISCONN_ERR_INVALID;
    if (conn->released || conn->state != CONN_LEASED) return REDISCONN_ERR_STATE;
    if (conn->broken || conn->ac == NULL) return REDISCONN_ERR_IO;
    return REDISCONN_OK;
}

int redisconn_commandv(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata, const char *fmt,
                       va_list ap)
{
    char *cmd = NULL;
    int len, rc = check_leased(conn);
    if (rc != REDISCONN_OK) return rc;
    if (fmt == NULL) return REDISCONN_ERR_INVALID;
    len = redisvFormatCommand(&cmd, fmt, ap);
    return user_send(conn, cb, privdata, cmd, len);
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

int redisconn_command_argv(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata, int argc,
                           const char **argv, const size_t *argvlen)
{
    char *cmd = NULL;
    int len, rc = check_leased(conn);
    if (rc != REDISCONN_OK) return rc;
    len = redisconn__format_argv(&cmd, argc, argv, argvlen);
    return user_send(conn, cb, privdata, cmd, len);
}

/* Formats an argument vector into RESP; NULL arguments are refused. Returns
 * the length, or -1 (invalid) / -2 (out of memory) like hiredis. */
int redisconn__format_argv(char **cmd, int argc, const char **argv, const size_t *argvlen)
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
