/*
 * release.c: returning connections — draining, resetting what the borrower
 * left behind, PING on borrow, and the maintenance timer that reaps idle and
 * aged connections and keeps min_idle warm even when there is no traffic.
 */
#include "pool/internal.h"
#include "util/clock.h"

#include <event2/event.h>

static uint64_t ms_to_us(int64_t ms)
{
    return (uint64_t)ms * 1000u;
}

/* True when `conn` is older than max_conn_lifetime. */
int redisconn__conn_expired(const redisconn_conn *conn, uint64_t now)
{
    int64_t life = conn->pool->opts.max_conn_lifetime_ms;
    return life > 0 && now - conn->created_us >= ms_to_us(life);
}

void redisconn_release(redisconn_conn *conn)
{
    if (conn == NULL || conn->state != CONN_LEASED || conn->released) return;
    conn->released = 1;
    if (conn->ac == NULL) { /* died while leased */
        redisconn__conn_state(conn, CONN_DEAD);
        redisconn__list_push_back(&conn->pool->zombies, &conn->node);
        redisconn__pool_kick(conn->pool);
        return;
    }
    if (conn->broken) { /* hiredis is freeing it: on_cleanup follows */
        redisconn__conn_state(conn, CONN_CLOSING);
        return;
    }
    if (conn->inflight == 0 && conn->dirty == 0) { /* the common case: straight back */
        redisconn__pool_put(conn);
        return;
    }
    redisconn__conn_state(conn, CONN_DRAINING);
    if (conn->inflight == 0) redisconn__conn_recycle(conn);
}

/* Reply of a reset command (DISCARD / UNWATCH / SELECT). */
static void on_reset(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    (void)privdata;
    if (status != REDISCONN_OK || reply->type == REDIS_REPLY_ERROR) conn->reset_failed = 1;
    if (conn->internal > 0 || conn->broken) return; /* more to come, or dying */
    if (conn->reset_failed) {
        redisconn__conn_close(conn, CLOSE_DIRTY, REDISCONN_ERR_IO);
        return;
    }
    redisconn__pool_put(conn);
}

/* Sends what undoes MULTI / WATCH / SELECT. Returns 0 when sent. */
static int send_reset(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    uint64_t deadline = 0;
    int rc = REDISCONN_OK;

    if (pool->opts.command_timeout_ms > 0)
        deadline = redisconn__now_us() + ms_to_us(pool->opts.command_timeout_ms);
    conn->reset_failed = 0;
    if (conn->dirty & DIRTY_MULTI)
        rc = redisconn__conn_sendf(conn, on_reset, NULL, deadline, "DISCARD");
    else if (conn->dirty & DIRTY_WATCH)
        rc = redisconn__conn_sendf(conn, on_reset, NULL, deadline, "UNWATCH");
    if (rc == REDISCONN_OK && (conn->dirty & DIRTY_DB))
        rc = redisconn__conn_sendf(conn, on_reset, NULL, deadline, "SELECT %d", pool->opts.db);
    conn->dirty = 0;
    pool->stats.resets++;
    return rc;
}

/*
 * A released connection has no user command left in flight: reuse it,
 * reset it first, or close it. May run inside a reply callback of `conn`.
 */
void redisconn__conn_recycle(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    redisconn__conn_state(conn, CONN_RESETTING);
    if (conn->broken) return;
    if (pool->closed) {
        redisconn__conn_close(conn, CLOSE_POOL_CLOSED, REDISCONN_ERR_CLOSED);
        return;
    }
    if (conn->dirty & DIRTY_CLOSE) {
        redisconn__log(pool, REDISCONN_LOG_DEBUG,
                       "redisconn: closing a connection left subscribed or re-authenticated");
        redisconn__conn_close(conn, CLOSE_DIRTY, REDISCONN_ERR_CLOSED);
        return;
    }
    if (conn->dirty) {
        if (send_reset(conn) != REDISCONN_OK)
            redisconn__conn_close(conn, CLOSE_DIRTY, REDISCONN_ERR_IO);
        return;
    }
    redisconn__pool_put(conn);
}

/* PING on borrow answered. */
static void on_ping(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    redisconn_acquire *req = conn->req;
    (void)privdata;
    if (conn->broken) return; /* redisconn__pool_conn_dead() retries the acquire */
    if (status != REDISCONN_OK || reply->type == REDIS_REPLY_ERROR) {
        redisconn__conn_close(conn, CLOSE_BROKEN, REDISCONN_ERR_IO);
        return;
    }
    conn->idle_since_us = redisconn__now_us();
    if (req == NULL) { /* the acquire gave up meanwhile */
        redisconn__pool_put(conn);
        return;
    }
    conn->req = NULL;
    redisconn__req_assign(req, conn);
}

int redisconn__conn_ping(redisconn_conn *conn)
{
    uint64_t deadline = 0;
    if (conn->pool->opts.command_timeout_ms > 0)
        deadline = redisconn__now_us() + ms_to_us(conn->pool->opts.command_timeout_ms);
    return redisconn__conn_sendf(conn, on_ping, NULL, deadline, "PING");
}

/* When an idle connection must be looked at again: idle timeout or age. */
static uint64_t idle_deadline(const redisconn_conn *conn)
{
    const redisconn_pool_options *o = &conn->pool->opts;
    uint64_t at = 0;
    if (o->idle_timeout_ms > 0) at = conn->idle_since_us + ms_to_us(o->idle_timeout_ms);
    if (o->max_conn_lifetime_ms > 0) {
        uint64_t dies = conn->created_us + ms_to_us(o->max_conn_lifetime_ms);
        if (at == 0 || dies < at) at = dies;
    }
    return at;
}

static void on_maint(evutil_socket_t fd, short what, void *arg)
{
    redisconn_pool *pool = arg;
    (void)fd;
    (void)what;
    pool->maint_at = 0;
    redisconn__maint_run(pool);
}

/* Arms the maintenance timer for `at_us` unless it fires earlier already. */
void redisconn__maint_arm(redisconn_pool *pool, uint64_t at_us)
{
    struct timeval tv;
    if (at_us == 0 || pool->closed) return;
    if (pool->maint_at != 0 && pool->maint_at <= at_us) return;
    if (pool->maint_ev == NULL) {
        pool->maint_ev = event_new(pool->base, -1, 0, on_maint, pool);
        if (pool->maint_ev == NULL) return;
    }
    tv = redisconn__tv_until(at_us);
    if (event_add(pool->maint_ev, &tv) == 0) pool->maint_at = at_us;
}

/* A connection just went idle: make sure the timer will look at it. O(1). */
void redisconn__maint_conn(redisconn_pool *pool, const redisconn_conn *conn)
{
    /* Without a lifetime, a connection going idle now has the latest idle
     * deadline of all: an armed timer already fires earlier. */
    if (pool->maint_at != 0 && pool->opts.max_conn_lifetime_ms == 0) return;
    redisconn__maint_arm(pool, idle_deadline(conn));
}

/* Shared connections with nothing outstanding are reaped like idle ones.
 * Returns the earlier of `next` and their next deadline. */
static uint64_t maint_shared(redisconn_pool *pool, uint64_t now, uint64_t next)
{
    redisconn__link *l = pool->shared.next;
    while (l != &pool->shared) {
        redisconn_conn *conn = REDISCONN_CONTAINER_OF(l, redisconn_conn, node);
        uint64_t at;
        l = l->next;
        if (conn->broken || conn->inflight > 0) continue;
        at = idle_deadline(conn);
        if (at && at <= now) {
            redisconn__conn_close(
                conn, redisconn__conn_expired(conn, now) ? CLOSE_LIFETIME : CLOSE_IDLE_TIMEOUT,
                REDISCONN_ERR_CLOSED);
            continue;
        }
        if (at && (next == 0 || at < next)) next = at;
    }
    return next;
}

/*
 * Closes idle connections past their idle timeout (oldest first, never below
 * min_idle) or lifetime, tops up min_idle, and re-arms for the next deadline.
 * O(idle connections); runs only when some deadline is due.
 */
void redisconn__maint_run(redisconn_pool *pool)
{
    const redisconn_pool_options *o = &pool->opts;
    uint64_t now = redisconn__now_us(), next = 0;
    redisconn__link *l = pool->idle.prev;

    while (l != &pool->idle) {
        redisconn_conn *conn = REDISCONN_CONTAINER_OF(l, redisconn_conn, node);
        uint64_t at;
        l = l->prev; /* closing unlinks conn, never its neighbours */
        if (redisconn__conn_expired(conn, now)) {
            redisconn__conn_close(conn, CLOSE_LIFETIME, REDISCONN_ERR_CLOSED);
            continue;
        }
        if (o->idle_timeout_ms > 0 && pool->idle_n > o->min_idle &&
            now - conn->idle_since_us >= ms_to_us(o->idle_timeout_ms)) {
            redisconn__conn_close(conn, CLOSE_IDLE_TIMEOUT, REDISCONN_ERR_CLOSED);
            continue;
        }
        at = idle_deadline(conn);
        if (at <= now) /* kept for min_idle: only its age matters now */
            at = o->max_conn_lifetime_ms > 0 ? conn->created_us + ms_to_us(o->max_conn_lifetime_ms)
                                             : 0;
        if (at && (next == 0 || at < next)) next = at;
    }
    next = maint_shared(pool, now, next);
    redisconn__pool_ensure_dials(pool);
    if (o->min_idle > 0 && pool->idle_n + pool->dialing < o->min_idle &&
        pool->dial_backoff_until > now && (next == 0 || pool->dial_backoff_until < next))
        next = pool->dial_backoff_until;
    redisconn__maint_arm(pool, next);
}
