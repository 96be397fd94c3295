/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shared.c: pool-level commands. A stateless command needs no lease: the pool
 * puts it on a shared connection (the one with the fewest replies
 * outstanding), where it is pipelined with every other command of the loop
 * iteration — the adapter sends them in one write. More shared connections
 * are opened, up to max_shared, when the least loaded one has a deep
 * pipeline. Until a shared connection exists, commands wait in `pending`.
 *
 * Timeouts: replies arrive in order, so a command cannot be withdrawn from a
 * pipeline. A pool-level command that times out fails alone with TIMEOUT and
 * its reply, if it ever comes, is discarded; the commands behind it keep
 * their own deadlines. A connection whose abandoned command still has no
 * reply one command timeout later is considered stalled and closed: what is
 * pending on it then fails with TIMEOUT.
 */
#include "pool/internal.h"
#include "pool/classify.h"
#include "util/clock.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Open another shared connection when the least loaded one has this many
 * replies outstanding (and max_shared allows). 32, not more: with one
 * connection the client and the server take turns (one batch out, one batch
 * back); from 33 in flight on, two connections let them overlap. */
enum { SHARED_DEPTH = 32 };

typedef struct pending_cmd {
    redisconn__link link;
    redisconn_reply_cb cb;
    void *privdata;
    uint64_t deadline_us;
    size_t len;
    char cmd[]; /* the RESP-formatted command */
} pending_cmd;

/* The usable shared connection with the fewest outstanding replies;
 * connections with an abandoned (timed out) command only as a last resort. */
static redisconn_conn *pick(redisconn_pool *pool)
{
    redisconn_conn *best = NULL, *suspect = NULL;
    for (redisconn__link *l = pool->shared.next; l != &pool->shared; l = l->next) {
        redisconn_conn *c = REDISCONN_CONTAINER_OF(l, redisconn_conn, node);
        if (c->broken || c->epoch != pool->epoch) continue; /* dying, or retiring */
        if (c->abandoned) {
            if (suspect == NULL || c->inflight < suspect->inflight) suspect = c;
        } else if (best == NULL || c->inflight < best->inflight) {
            best = c;
        }
    }
    return best ? best : suspect;
}

/* Takes the most recently used idle connection for shared use, if any. */
static int adopt_idle(redisconn_pool *pool)
{
    redisconn__link *l = redisconn__list_first(&pool->idle);
    if (l == NULL) return 0;
    redisconn__shared_adopt(REDISCONN_CONTAINER_OF(l, redisconn_conn, node));
    return 1;
}

/* Opens (or adopts) one more shared connection if max_shared and the dial
 * governor allow; else the governor's timer or the next put() brings one. */
static void want_more(redisconn_pool *pool)
{
    const redisconn_pool_options *o = &pool->opts;
    if (pool->closed || pool->shared_n + pool->shared_dialing >= o->max_shared) return;
    if (adopt_idle(pool)) return;
    if (o->max_active > 0 && pool->active >= o->max_active) return; /* next put() adopts */
    if (redisconn__backoff_allowed(pool, redisconn__now_us()) == 0) {
        redisconn__backoff_wake_at_next(pool);
        return;
    }
    redisconn__pool_dial(pool, 1);
}

/* Fails pending commands whose deadline passed; re-arms for the rest. */
static void on_pending_timer(void *arg)
{
    redisconn_pool *pool = arg;
    uint64_t now = redisconn__now_us(), next = 0;
    redisconn__link *l = pool->pending.next;
    while (l != &pool->pending) {
        pending_cmd *p = REDISCONN_CONTAINER_OF(l, pending_cmd, link);
        if (p->deadline_us == 0 || p->deadline_us > now) {
            if (p->deadline_us && (next == 0 || p->deadline_us < next)) next = p->deadline_us;
            l = l->next;
            continue;
        }
        redisconn__list_remove(l);
        pool->stats.pool_command_timeouts++;
        if (p->cb) p->cb(NULL, REDISCONN_ERR_TIMEOUT, NULL, p->privdata);
        free(p);
        l = pool->pending.next; /* the callback may have changed the list */
    }
    redisconn__timer_arm(&pool->pending_timer, next);
}

void redisconn__shared_init(redisconn_pool *pool)
{
    redisconn__timer_init(&pool->pending_timer, pool->base, on_pending_timer, pool);
}

/* Moves waiting commands onto shared connections. Runs from the loop (a dial
 * completing) or from a submit with nothing pending to call back: a send
 * that fails leaves the command pending until its deadline. */
static void flush_pending(redisconn_pool *pool)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&pool->pending)) != NULL) {
        pending_cmd *p = REDISCONN_CONTAINER_OF(l, pending_cmd, link);
        redisconn_conn *conn = pick(pool);
        if (conn == NULL) return;
        if (redisconn__conn_send(conn, CMD_POOL, p->cb, p->privdata, p->cmd, p->len,
                                 p->deadline_us) != REDISCONN_OK)
            return;
        redisconn__list_remove(l);
        free(p);
    }
}

void redisconn__shared_adopt(redisconn_conn *conn)
{
    redisconn__pool_set_state(conn, CONN_SHARED);
    conn->for_shared = 0;
    conn->idle_since_us = redisconn__now_us();
    flush_pending(conn->pool);
}

/* Abandons the first timed-out command still owned by a caller, and tells
 * the caller. Returns 0 when there is none. */
static int abandon_one(redisconn_conn *conn, uint64_t now, uint64_t grace)
{
    for (redisconn__link *l = conn->cmds.next; l != &conn->cmds; l = l->next) {
        redisconn__cmd *rec = REDISCONN_CONTAINER_OF(l, redisconn__cmd, link);
        redisconn_reply_cb cb = rec->cb;
        if (rec->abandoned || rec->deadline_us == 0 || rec->deadline_us > now) continue;
        if (rec->kind != CMD_POOL) return -1; /* internal command stalled: close */
        rec->abandoned = 1;
        rec->cb = NULL;
        rec->deadline_us = now + grace; /* from now on: the stall deadline */
        conn->abandoned++;
        conn->pool->stats.pool_command_timeouts++;
        if (cb) cb(NULL, REDISCONN_ERR_TIMEOUT, NULL, rec->privdata);
        return 1;
    }
    return 0;
}

void redisconn__shared_deadline(redisconn_conn *conn, uint64_t now)
{
    int64_t t = conn->pool->opts.command_timeout_ms;
    uint64_t grace = redisconn__ms_to_us(t > 0 ? t : 5000), next;
    int r;
    for (redisconn__link *l = conn->cmds.next; l != &conn->cmds; l = l->next) {
        redisconn__cmd *rec = REDISCONN_CONTAINER_OF(l, redisconn__cmd, link);
        if (rec->abandoned && rec->deadline_us <= now) {
            conn->pool->stats.command_timeouts++;
            redisconn__pool_close_conn(conn, CLOSE_COMMAND_TIMEOUT, REDISCONN_ERR_TIMEOUT);
            return;
        }
    }
    while ((r = abandon_one(conn, now, grace)) > 0)
        if (conn->broken) return;
    if (r < 0) {
        redisconn__pool_close_conn(conn, CLOSE_COMMAND_TIMEOUT, REDISCONN_ERR_TIMEOUT);
        return;
    }
    next = redisconn__conn_earliest_deadline(conn);
    redisconn__conn_arm_deadline(conn, next);
}

void redisconn__shared_fail_pending(redisconn_pool *pool, int status)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&pool->pending)) != NULL) {
        pending_cmd *p = REDISCONN_CONTAINER_OF(l, pending_cmd, link);
        redisconn__list_remove(l);
        if (p->cb) p->cb(NULL, status, NULL, p->privdata);
        free(p);
    }
}

void redisconn__shared_dial_failed(redisconn_pool *pool, int status)
{
    if (pick(pool) == NULL && pool->shared_dialing == 0 && redisconn__pool_nothing_coming(pool))
        redisconn__shared_fail_pending(pool, status);
}

/* The server is down and nothing will carry the pending commands: they fail
 * with the last dial error, counted as fast failures. */
static void fail_fast(redisconn_pool *pool)
{
    redisconn__link *l;
    for (l = pool->pending.next; l != &pool->pending; l = l->next)
        pool->stats.fast_failed++;
    redisconn__shared_fail_pending(pool, pool->backoff.last_status);
}

void redisconn__shared_kick(redisconn_pool *pool)
{
    if (redisconn__list_empty(&pool->pending) || pick(pool) != NULL || pool->shared_dialing != 0)
        return;
    if (redisconn__pool_nothing_coming(pool)) {
        fail_fast(pool);
        return;
    }
    want_more(pool);
}

void redisconn__shared_free(redisconn_pool *pool)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&pool->pending)) != NULL) {
        redisconn__list_remove(l);
        free(REDISCONN_CONTAINER_OF(l, pending_cmd, link));
    }
    redisconn__timer_destroy(&pool->pending_timer);
}

static int enqueue(redisconn_pool *pool, redisconn_reply_cb cb, void *privdata, const char *cmd,
                   size_t len, uint64_t deadline)
{
    pending_cmd *p = malloc(sizeof(*p) + len);
    if (p == NULL) return REDISCONN_ERR_NOMEM;
    p->cb = cb;
    p->privdata = privdata;
    p->deadline_us = deadline;
    p->len = len;
    memcpy(p->cmd, cmd, len);
    redisconn__list_push_back(&pool->pending, &p->link);
    redisconn__timer_arm(&pool->pending_timer, deadline);
    if (pool->shared_dialing != 0) return REDISCONN_OK; /* one dial serves the whole backlog */
    if (redisconn__pool_nothing_coming(pool))
        redisconn__pool_kick(pool); /* fails it from the loop (fail_fast) */
    else
        want_more(pool);
    return REDISCONN_OK;
}

/* Places one formatted command (owned by the caller). */
static int submit(redisconn_pool *pool, int64_t timeout_ms, redisconn_reply_cb cb, void *privdata,
                  const char *cmd, size_t len)
{
    unsigned cls = redisconn__classify(cmd, len);
    uint64_t deadline =
        redisconn__deadline_after(timeout_ms > 0 ? timeout_ms : pool->opts.command_timeout_ms);
    redisconn_conn *conn;
    int64_t block_ms;

    if (cls & CLS_UNSUPPORTED) return REDISCONN_ERR_UNSUPPORTED;
    if (cls & CLS_STATEFUL) return REDISCONN_ERR_LEASE_REQUIRED;
    if ((cls & CLS_BLOCKING) && redisconn__classify_block_ms(cmd, len, &block_ms))
        return REDISCONN_ERR_LEASE_REQUIRED; /* XREAD BLOCK would stall the pipeline */
    pool->stats.pool_commands++;
    conn = redisconn__list_empty(&pool->pending) ? pick(pool) : NULL;
    if (conn == NULL) return enqueue(pool, cb, privdata, cmd, len, deadline);
    if (conn->inflight >= SHARED_DEPTH) want_more(pool);
    return redisconn__conn_send(conn, CMD_POOL, cb, privdata, cmd, len, deadline);
}

static int check_pool(const redisconn_pool *pool, int64_t timeout_ms)
{
    if (pool == NULL || timeout_ms < 0) return REDISCONN_ERR_INVALID;
    if (pool->closed) return REDISCONN_ERR_CLOSED;
    return REDISCONN_OK;
}

int redisconn_pool_commandv(redisconn_pool *pool, int64_t timeout_ms, redisconn_reply_cb cb,
                            void *privdata, const char *fmt, va_list ap)
{
    const char *cmd;
    size_t len;
    int rc = check_pool(pool, timeout_ms);
    if (rc != REDISCONN_OK) return rc;
    if (fmt == NULL) return REDISCONN_ERR_INVALID;
    rc = redisconn__resp_vformat(&pool->resp, &cmd, &len, fmt, ap);
    if (rc != REDISCONN_OK) return rc;
    return submit(pool, timeout_ms, cb, privdata, cmd, len);
}

int redisconn_pool_command(redisconn_pool *pool, int64_t timeout_ms, redisconn_reply_cb cb,
                           void *privdata, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = redisconn_pool_commandv(pool, timeout_ms, cb, privdata, fmt, ap);
    va_end(ap);
    return rc;
}

int redisconn_pool_command_formatted(redisconn_pool *pool, int64_t timeout_ms,
                                     redisconn_reply_cb cb, void *privdata, const char *cmd,
                                     size_t len)
{
    int rc = check_pool(pool, timeout_ms);
    if (rc != REDISCONN_OK) return rc;
    if (cmd == NULL || len == 0) return REDISCONN_ERR_INVALID;
    return submit(pool, timeout_ms, cb, privdata, cmd, len);
}

int redisconn_pool_command_argv(redisconn_pool *pool, int64_t timeout_ms, redisconn_reply_cb cb,
                                void *privdata, int argc, const char **argv, const size_t *argvlen)
{
    const char *cmd;
    size_t len;
    int rc = check_pool(pool, timeout_ms);
    if (rc != REDISCONN_OK) return rc;
    rc = redisconn__resp_argv(&pool->resp, &cmd, &len, argc, argv, argvlen);
    if (rc != REDISCONN_OK) return rc;
    return submit(pool, timeout_ms, cb, privdata, cmd, len);
}
