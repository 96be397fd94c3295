/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * maint.c: the maintenance timer — it reaps idle connections past their idle
 * timeout (never below min_idle) or their lifetime, reaps idle shared
 * connections the same way, keeps min_idle warm, and works without traffic.
 *
 * One timer per pool, armed for the earliest idle deadline: a connection
 * going idle re-arms it only when it would fire later than that connection's
 * deadline (O(1) on the release path); the run itself is O(idle).
 */
#include "pool/internal.h"
#include "util/clock.h"

static void on_maint(void *arg);

void redisconn__maint_init(redisconn_pool *pool)
{
    redisconn__timer_init(&pool->maint_timer, pool->base, on_maint, pool);
}

void redisconn__maint_arm(redisconn_pool *pool, uint64_t at_us)
{
    if (pool->closed) return;
    redisconn__timer_arm(&pool->maint_timer, at_us);
}

void redisconn__maint_stop(redisconn_pool *pool)
{
    redisconn__timer_disarm(&pool->maint_timer);
}

/* When an idle connection must be looked at again: idle timeout or age. */
static uint64_t idle_deadline(const redisconn_conn *conn)
{
    const redisconn_pool_options *o = &conn->pool->opts;
    uint64_t at = 0;
    if (o->idle_timeout_ms > 0)
        at = redisconn__deadline_at(conn->idle_since_us, o->idle_timeout_ms);
    if (o->max_conn_lifetime_ms > 0) {
        uint64_t dies = redisconn__deadline_at(conn->created_us, o->max_conn_lifetime_ms);
        if (at == 0 || dies < at) at = dies;
    }
    return at;
}

void redisconn__maint_conn(redisconn_pool *pool, const redisconn_conn *conn)
{
    /* Without a lifetime, a connection going idle now has the latest idle
     * deadline of all: an armed timer already fires earlier. */
    if (redisconn__timer_armed(&pool->maint_timer) && pool->opts.max_conn_lifetime_ms == 0) return;
    redisconn__maint_arm(pool, idle_deadline(conn));
}

/* The earlier of two deadlines, 0 meaning none. */
static uint64_t earlier(uint64_t a, uint64_t b)
{
    return a == 0 || (b != 0 && b < a) ? b : a;
}

/* Shared connections with nothing outstanding are reaped like idle ones.
 * Returns the earlier of `next` and their next deadline. */
static uint64_t maint_shared(redisconn_pool *pool, uint64_t now, uint64_t next)
{
    redisconn__link *l = pool->shared.next;
    while (l != &pool->shared) {
        redisconn_conn *conn = REDISCONN_CONTAINER_OF(l, redisconn_conn, node);
        uint64_t at;
        l = l->next; /* closing unlinks conn, never its neighbours */
        if (conn->broken || conn->inflight > 0) continue;
        at = idle_deadline(conn);
        if (at && at <= now) {
            redisconn__pool_close_conn(
                conn, redisconn__pool_conn_expired(conn, now) ? CLOSE_LIFETIME : CLOSE_IDLE_TIMEOUT,
                REDISCONN_ERR_CLOSED);
            continue;
        }
        next = earlier(next, at);
    }
    return next;
}

/* Closes idle connections past their idle timeout (oldest first, never
 * below min_idle) or lifetime; returns the next idle deadline. */
static uint64_t maint_idle(redisconn_pool *pool, uint64_t now)
{
    const redisconn_pool_options *o = &pool->opts;
    redisconn__link *l = pool->idle.prev;
    uint64_t next = 0;

    while (l != &pool->idle) {
        redisconn_conn *conn = REDISCONN_CONTAINER_OF(l, redisconn_conn, node);
        uint64_t at;
        l = l->prev; /* closing unlinks conn, never its neighbours */
        if (redisconn__pool_conn_expired(conn, now)) {
            redisconn__pool_close_conn(conn, CLOSE_LIFETIME, REDISCONN_ERR_CLOSED);
            continue;
        }
        if (o->idle_timeout_ms > 0 && pool->idle_n > o->min_idle &&
            now - conn->idle_since_us >= redisconn__ms_to_us(o->idle_timeout_ms)) {
            redisconn__pool_close_conn(conn, CLOSE_IDLE_TIMEOUT, REDISCONN_ERR_CLOSED);
            continue;
        }
        at = idle_deadline(conn);
        if (at <= now) /* kept for min_idle: only its age matters now */
            at = redisconn__deadline_at(conn->created_us, o->max_conn_lifetime_ms);
        next = earlier(next, at);
    }
    return next;
}

/* The timer fired: reap, top up min_idle, re-arm for the next deadline. */
static void on_maint(void *arg)
{
    redisconn_pool *pool = arg;
    uint64_t now = redisconn__now_us(), next;

    next = maint_idle(pool, now);
    next = maint_shared(pool, now, next);
    redisconn__pool_ensure_dials(pool); /* min_idle, paced by the dial governor */
    redisconn__maint_arm(pool, next);
}
