/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * acquire.c: acquiring connections — idle reuse (LIFO), PING on borrow,
 * waiters (FIFO), timeouts and cancellation, and delivery of every outcome
 * from the loop.
 *
 * An acquire's outcome is decided in one place (finish) and delivered in
 * another (deliver, an item of the pool's defer queue), so a callback never
 * fires from inside the call that started it and fires exactly once.
 * req_set_state() is the only writer of req->state, the waiter queue, the
 * free list and their counters.
 */
#include "pool/internal.h"
#include "util/clock.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FREE_REQS_MAX = 256 };

const uint64_t redisconn_wait_bucket_bounds_us[REDISCONN_WAIT_BUCKETS] = {
    100, 500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000, 10000000};

#ifndef NDEBUG /* the tables exist for assert() only */
#define RS(s) (1u << (s))

static const unsigned req_legal_next[] = {
    [REQ_FREE] = RS(REQ_FREE) | RS(REQ_WAITING) | RS(REQ_TESTING) | RS(REQ_READY),
    [REQ_WAITING] = RS(REQ_READY),
    [REQ_TESTING] = RS(REQ_TESTING) | RS(REQ_WAITING) | RS(REQ_READY),
    [REQ_READY] = RS(REQ_RUNNING),
    [REQ_RUNNING] = RS(REQ_FREE),
};
#endif

static void deliver(redisconn__defer_item *item);

/* Keeps a record in the free list (with its timer event), or frees it. */
static void recycle_record(redisconn_acquire *req)
{
    redisconn_pool *pool = req->pool;
    if (pool->free_reqs_n < FREE_REQS_MAX && !pool->closed) {
        redisconn__list_push_front(&pool->free_reqs, &req->node);
        pool->free_reqs_n++;
        return;
    }
    redisconn__timer_destroy(&req->timer);
    free(req);
}

/*
 * The only writer of req->state. WAITING links the record into the waiter
 * queue (at the head when `front`: a retry keeps its turn); READY queues the
 * delivery; FREE returns the record to the free list or frees it — the
 * caller must not touch `req` after that.
 */
static inline void req_set_state(redisconn_acquire *req, redisconn__req_state to, int front)
{
    redisconn_pool *pool = req->pool;
    redisconn__req_state from = req->state;

    assert((req_legal_next[from] & RS(to)) != 0);
    if (from == REQ_WAITING) {
        redisconn__list_remove(&req->node);
        pool->waiting--;
    } else if (from == REQ_READY) {
        pool->ready_n--;
    }
    req->state = to;
    switch (to) {
    case REQ_WAITING:
        if (front)
            redisconn__list_push_front(&pool->waiters, &req->node);
        else
            redisconn__list_push_back(&pool->waiters, &req->node);
        pool->waiting++;
        break;
    case REQ_READY:
        pool->ready_n++;
        redisconn__defer_post(&pool->defer, &req->later, deliver);
        break;
    case REQ_FREE:
        recycle_record(req);
        break;
    default:
        break;
    }
    assert(pool->waiting >= 0 && pool->ready_n >= 0);
}

static void on_req_timeout(void *arg);

/* A record in state FREE: from the free list, or new. NULL when out of memory. */
static redisconn_acquire *req_alloc(redisconn_pool *pool)
{
    redisconn__link *l = redisconn__list_first(&pool->free_reqs);
    redisconn_acquire *req;
    if (l != NULL) {
        redisconn__list_remove(l);
        pool->free_reqs_n--;
        return REDISCONN_CONTAINER_OF(l, redisconn_acquire, node);
    }
    req = calloc(1, sizeof(*req)); /* state 0 is REQ_FREE */
    if (req == NULL) return NULL;
    req->pool = pool;
    redisconn__timer_init(&req->timer, pool->base, on_req_timeout, req);
    return req;
}

void redisconn__acquire_free_all(redisconn_pool *pool)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&pool->free_reqs)) != NULL) {
        redisconn_acquire *req = REDISCONN_CONTAINER_OF(l, redisconn_acquire, node);
        redisconn__list_remove(l);
        redisconn__timer_destroy(&req->timer);
        free(req);
    }
    pool->free_reqs_n = 0;
}

/* Decides the outcome of `req` and queues its callback. */
static void finish(redisconn_acquire *req, int status, const char *msg)
{
    redisconn_pool *pool = req->pool;
    redisconn__timer_disarm(&req->timer);
    if (req->waited) {
        uint64_t waited = redisconn__now_us() - req->start_us;
        int b = 0;
        while (b < REDISCONN_WAIT_BUCKETS && waited > redisconn_wait_bucket_bounds_us[b])
            b++;
        pool->stats.wait_buckets[b]++;
        pool->stats.wait_count++;
        pool->stats.wait_duration_us += waited;
        req->waited = 0;
    }
    req->status = status;
    if (msg != NULL && status != REDISCONN_OK) req->errmsg = strdup(msg);
    req_set_state(req, REQ_READY, 0);
}

void redisconn__acquire_assign(redisconn_acquire *req, redisconn_conn *conn)
{
    redisconn__pool_set_state(conn, CONN_LEASED);
    req->conn = conn;
    finish(req, REDISCONN_OK, NULL);
}

void redisconn__acquire_fail(redisconn_acquire *req, int status, const char *msg)
{
    finish(req, status, msg);
}

void redisconn__acquire_fail_waiters(redisconn_pool *pool, int status)
{
    redisconn_acquire *req;
    while ((req = redisconn__acquire_first_waiter(pool)) != NULL)
        finish(req, status, NULL);
}

/* `req` stops waiting for the PING of its connection, which then returns to
 * the pool by itself (on_ping finds no acquire). */
static void untest(redisconn_acquire *req)
{
    if (req->state != REQ_TESTING) return;
    req->conn->req = NULL;
    req->conn = NULL;
}

/* What a timed-out acquire was waiting for, in words. */
static void describe_wait(const redisconn_acquire *req, char *buf, size_t len)
{
    const redisconn_pool *pool = req->pool;
    const redisconn_pool_options *o = &pool->opts;
    int ahead = 0, dials = pool->dialing - pool->shared_dialing;
    if (req->state == REQ_TESTING) {
        snprintf(buf, len, "PING on borrow of an idle connection unanswered");
        return;
    }
    if (redisconn__backoff_describe(pool, redisconn__now_us(), buf, len)) return;
    if (dials > 0) {
        snprintf(buf, len, "%d dial(s) to %s in progress", dials, pool->addr.text);
        return;
    }
    for (const redisconn__link *l = pool->waiters.next; l != &req->node && l != &pool->waiters;
         l = l->next)
        ahead++;
    if (o->max_active > 0)
        snprintf(buf, len, "%d of %d connections leased, %d acquires waiting ahead", pool->in_use,
                 o->max_active, ahead);
    else
        snprintf(buf, len, "%d connections leased, %d acquires waiting ahead", pool->in_use, ahead);
}

static void on_req_timeout(void *arg)
{
    redisconn_acquire *req = arg;
    char why[300], msg[400];
    describe_wait(req, why, sizeof(why));
    snprintf(msg, sizeof(msg), "timed out after %lld ms waiting for a Redis connection: %s",
             (long long)req->timeout_ms, why);
    untest(req);
    req->pool->stats.acquire_timeouts++;
    finish(req, REDISCONN_ERR_TIMEOUT, msg);
}

/* PING on borrow answered. */
static void on_ping(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    redisconn_acquire *req = conn->req;
    (void)privdata;
    if (conn->broken) return; /* the dead hook retries the acquire */
    if (status != REDISCONN_OK || reply->type == REDIS_REPLY_ERROR) {
        redisconn__pool_close_conn(conn, CLOSE_BROKEN, REDISCONN_ERR_IO);
        return;
    }
    conn->idle_since_us = redisconn__now_us();
    if (req == NULL) { /* the acquire gave up meanwhile */
        redisconn__pool_put(conn);
        return;
    }
    conn->req = NULL;
    redisconn__acquire_assign(req, conn);
}

/* Sends a PING on idle `conn` for `req` before leasing it. */
static void test_on_borrow(redisconn_acquire *req, redisconn_conn *conn)
{
    redisconn_pool *pool = req->pool;
    redisconn__pool_set_state(conn, CONN_TESTING);
    conn->req = req;
    req->conn = conn;
    req_set_state(req, REQ_TESTING, 0);
    pool->stats.pings++;
    if (redisconn__conn_sendf(conn, on_ping, NULL,
                              redisconn__deadline_after(pool->opts.command_timeout_ms),
                              "PING") != REDISCONN_OK)
        redisconn__pool_close_conn(conn, CLOSE_BROKEN, REDISCONN_ERR_IO); /* retries req */
}

/* Takes the most recently used idle connection that is still fit. */
static int take_idle(redisconn_acquire *req)
{
    redisconn_pool *pool = req->pool;
    const redisconn_pool_options *o = &pool->opts;
    redisconn__link *l;
    uint64_t now = 0;
    int need_clock = o->max_conn_lifetime_ms > 0 || o->test_on_borrow_ms >= 0;

    while ((l = redisconn__list_first(&pool->idle)) != NULL) {
        redisconn_conn *conn = REDISCONN_CONTAINER_OF(l, redisconn_conn, node);
        if (need_clock && now == 0) now = redisconn__now_us();
        if (redisconn__pool_conn_expired(conn, now)) {
            redisconn__pool_close_conn(conn, CLOSE_LIFETIME, REDISCONN_ERR_CLOSED);
            continue;
        }
        if (o->test_on_borrow_ms >= 0 &&
            now - conn->idle_since_us > redisconn__ms_to_us(o->test_on_borrow_ms)) {
            test_on_borrow(req, conn);
            return 1;
        }
        redisconn__acquire_assign(req, conn);
        return 1;
    }
    return 0;
}

/* Queues `req` behind the other waiters (or in front, when retrying). */
static void enqueue(redisconn_acquire *req, int front)
{
    redisconn_pool *pool = req->pool;
    const redisconn_pool_options *o = &pool->opts;
    int can_dial = o->max_active == 0 || pool->active < o->max_active;

    if ((!o->wait && !can_dial) || (o->max_waiters > 0 && pool->waiting >= o->max_waiters)) {
        finish(req, REDISCONN_ERR_EXHAUSTED, "connection pool exhausted");
        return;
    }
    if (redisconn__pool_nothing_coming(pool)) { /* the server is down: fail fast */
        const redisconn__backoff *b = &pool->backoff;
        pool->stats.fast_failed++;
        finish(req, b->last_status, b->last_msg[0] ? b->last_msg : NULL);
        return;
    }
    if (!can_dial && !req->waited) { /* waits for a release, not a dial: the seed's WaitCount */
        req->waited = 1;
        req->start_us = redisconn__now_us();
    }
    req_set_state(req, REQ_WAITING, front);
    redisconn__pool_ensure_dials(pool);
}

redisconn_acquire *redisconn_pool_acquire(redisconn_pool *pool, int64_t timeout_ms,
                                          redisconn_acquire_cb cb, void *arg)
{
    redisconn_acquire *req;
    if (pool == NULL || cb == NULL || timeout_ms < 0) return NULL;
    req = req_alloc(pool);
    if (req == NULL) return NULL;
    req->cb = cb;
    req->arg = arg;
    req->conn = NULL;
    req->waited = 0;
    req->timeout_ms = timeout_ms;
    pool->stats.acquires++;
    if (pool->closed) {
        finish(req, REDISCONN_ERR_CLOSED, NULL);
        return req;
    }
    if (take_idle(req)) {
        if (req->state != REQ_READY &&
            redisconn__timer_arm(&req->timer, redisconn__deadline_after(timeout_ms)) != 0)
            redisconn_acquire_cancel(req); /* no timer: fail rather than wait forever */
        return req;
    }
    if (redisconn__timer_arm(&req->timer, redisconn__deadline_after(timeout_ms)) != 0) {
        req_set_state(req, REQ_FREE, 0);
        return NULL;
    }
    enqueue(req, 0);
    return req;
}

void redisconn__acquire_retry(redisconn_acquire *req)
{
    req->conn = NULL;
    if (req->pool->closed) {
        finish(req, REDISCONN_ERR_CLOSED, NULL);
        return;
    }
    if (!take_idle(req)) enqueue(req, 1);
}

int redisconn_acquire_cancel(redisconn_acquire *req)
{
    redisconn_conn *conn;
    if (req == NULL) return REDISCONN_ERR_INVALID;
    switch (req->state) {
    case REQ_WAITING:
    case REQ_TESTING:
        untest(req);
        finish(req, REDISCONN_ERR_CANCELED, NULL);
        return REDISCONN_OK;
    case REQ_READY:
        conn = req->conn;
        req->conn = NULL;
        req->status = REDISCONN_ERR_CANCELED;
        free(req->errmsg);
        req->errmsg = NULL;
        if (conn != NULL) redisconn__pool_unlease(conn);
        return REDISCONN_OK;
    default:
        return REDISCONN_ERR_STATE;
    }
}

/* Runs one decided acquire's callback, from the loop. A connection chosen
 * before the pool closed or the connection broke goes back instead. */
static void deliver(redisconn__defer_item *item)
{
    redisconn_acquire *req = REDISCONN_CONTAINER_OF(item, redisconn_acquire, later);
    redisconn_pool *pool = req->pool;
    redisconn_conn *conn = req->conn;

    if (conn != NULL && (pool->closed || conn->broken)) {
        req->conn = NULL;
        req->status = pool->closed ? REDISCONN_ERR_CLOSED : REDISCONN_ERR_IO;
        redisconn__pool_unlease(conn);
        conn = NULL;
    }
    req_set_state(req, REQ_RUNNING, 0);
    req->cb(conn, req->status, req->errmsg, req->arg);
    if (req->errmsg != NULL) {
        free(req->errmsg);
        req->errmsg = NULL;
    }
    req_set_state(req, REQ_FREE, 0);
    if (pool->closed) redisconn__pool_kick(pool);
}
