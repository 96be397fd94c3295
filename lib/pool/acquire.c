/*
 * acquire.c: acquiring connections — idle reuse (LIFO), waiters (FIFO),
 * hand-off of returned connections to the oldest waiter, dials on demand,
 * timeouts and cancellation, and delivery of every outcome from the loop.
 *
 * An acquire's outcome is decided in one place (req_finish) and delivered in
 * another (redisconn__pool_deliver, run from the pool's async event), so a
 * callback never fires from inside the call that started it and fires
 * exactly once.
 */
#include "pool/internal.h"
#include "util/clock.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

enum { FREE_REQS_MAX = 256 };

const uint64_t redisconn_wait_bucket_bounds_us[REDISCONN_WAIT_BUCKETS] = {
    100, 500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000, 10000000};

static redisconn_acquire *req_alloc(redisconn_pool *pool)
{
    redisconn__link *l = redisconn__list_first(&pool->free_reqs);
    redisconn_acquire *req;
    if (l != NULL) {
        redisconn__list_remove(l);
        pool->free_reqs_n--;
        return REDISCONN_CONTAINER_OF(l, redisconn_acquire, node);
    }
    req = calloc(1, sizeof(*req));
    if (req == NULL) return NULL;
    req->pool = pool;
    req->state = REQ_FREE; /* calloc's 0 is REQ_WAITING: never let a new record look queued */
    return req;
}

/* Returns a finished acquire to the free list (keeping its timer event). */
void redisconn__req_free(redisconn_acquire *req)
{
    redisconn_pool *pool = req->pool;
    if (req->errmsg != NULL) {
        free(req->errmsg);
        req->errmsg = NULL;
    }
    req->state = REQ_FREE;
    if (pool->free_reqs_n < FREE_REQS_MAX && !pool->closed) {
        redisconn__list_push_front(&pool->free_reqs, &req->node);
        pool->free_reqs_n++;
        return;
    }
    if (req->timer) event_free(req->timer);
    free(req);
}

static void disarm(redisconn_acquire *req)
{
    if (!req->timer_armed) return;
    event_del(req->timer);
    req->timer_armed = 0;
}

/* Decides the outcome of `req` and queues its callback. */
static void req_finish(redisconn_acquire *req, int status, const char *msg)
{
    redisconn_pool *pool = req->pool;
    if (req->state == REQ_WAITING) {
        redisconn__list_remove(&req->node);
        pool->waiting--;
    }
    disarm(req);
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
    req->state = REQ_READY;
    redisconn__list_push_back(&pool->ready, &req->node);
    redisconn__pool_kick(pool);
}

/* Leases `conn` to `req`; the callback comes from the loop. */
void redisconn__req_assign(redisconn_acquire *req, redisconn_conn *conn)
{
    redisconn__conn_state(conn, CONN_LEASED);
    conn->released = 0;
    req->conn = conn;
    req_finish(req, REDISCONN_OK, NULL);
}

static void on_req_timeout(evutil_socket_t fd, short what, void *arg)
{
    redisconn_acquire *req = arg;
    (void)fd;
    (void)what;
    req->timer_armed = 0;
    if (req->state == REQ_TESTING) {
        req->conn->req = NULL; /* the PING finishes; the conn returns to the pool */
        req->conn = NULL;
    }
    req->pool->stats.acquire_timeouts++;
    req_finish(req, REDISCONN_ERR_TIMEOUT, "timed out waiting for a Redis connection");
}

/* Starts the acquire's timeout the first time it has to wait. */
static int arm(redisconn_acquire *req, int64_t timeout_ms)
{
    struct timeval tv;
    if (timeout_ms <= 0 || req->timer_armed) return 0;
    if (req->timer == NULL) {
        req->timer = event_new(req->pool->base, -1, 0, on_req_timeout, req);
        if (req->timer == NULL) return -1;
    }
    tv.tv_sec = (time_t)(timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)((timeout_ms % 1000) * 1000);
    if (event_add(req->timer, &tv) != 0) return -1;
    req->timer_armed = 1;
    return 0;
}

/* Sends a PING on `conn` for `req` before leasing it. */
static void test_on_borrow(redisconn_acquire *req, redisconn_conn *conn)
{
    redisconn__conn_state(conn, CONN_TESTING);
    conn->req = req;
    req->conn = conn;
    req->state = REQ_TESTING;
    req->pool->stats.pings++;
    if (redisconn__conn_ping(conn) != REDISCONN_OK)
        redisconn__conn_close(conn, CLOSE_BROKEN, REDISCONN_ERR_IO); /* retries req */
}

/* Takes the most recently used idle connection that is still fit. */
static int take_idle(redisconn_acquire *req)
{
    redisconn_pool *pool = req->pool;
    redisconn__link *l;
    uint64_t now = 0;
    int need_clock = pool->opts.max_conn_lifetime_ms > 0 || pool->opts.test_on_borrow_ms >= 0;

    while ((l = redisconn__list_first(&pool->idle)) != NULL) {
        redisconn_conn *conn = REDISCONN_CONTAINER_OF(l, redisconn_conn, node);
        if (need_clock && now == 0) now = redisconn__now_us();
        if (redisconn__conn_expired(conn, now)) {
            redisconn__conn_close(conn, CLOSE_LIFETIME, REDISCONN_ERR_CLOSED);
            continue;
        }
        redisconn__list_remove(l);
        pool->idle_n--;
        if (pool->opts.test_on_borrow_ms >= 0 &&
            now - conn->idle_since_us > (uint64_t)pool->opts.test_on_borrow_ms * 1000u) {
            test_on_borrow(req, conn);
            return 1;
        }
        redisconn__req_assign(req, conn);
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
        req_finish(req, REDISCONN_ERR_EXHAUSTED, "connection pool exhausted");
        return;
    }
    if (!can_dial &&
        !req->waited) { /* waits for a release, not just a dial: the seed's WaitCount */
        req->waited = 1;
        req->start_us = redisconn__now_us();
    }
    req->state = REQ_WAITING;
    if (front)
        redisconn__list_push_front(&pool->waiters, &req->node);
    else
        redisconn__list_push_back(&pool->waiters, &req->node);
    pool->waiting++;
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
    pool->stats.acquires++;
    if (pool->closed) {
        req_finish(req, REDISCONN_ERR_CLOSED, NULL);
        return req;
    }
    if (take_idle(req)) {
        if (req->state == REQ_TESTING && arm(req, timeout_ms) != 0)
            redisconn_acquire_cancel(req); /* no timer: fail rather than wait forever */
        return req;
    }
    if (arm(req, timeout_ms) != 0) {
        redisconn__req_free(req);
        return NULL;
    }
    enqueue(req, 0);
    return req;
}

/* A connection chosen for `req` by PING on borrow died: try again. */
void redisconn__req_retry(redisconn_acquire *req)
{
    req->conn = NULL;
    if (req->pool->closed) {
        req_finish(req, REDISCONN_ERR_CLOSED, NULL);
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
        req_finish(req, REDISCONN_ERR_CANCELED, NULL);
        return REDISCONN_OK;
    case REQ_TESTING:
        req->conn->req = NULL; /* the PING finishes; the conn returns to the pool */
        req->conn = NULL;
        req_finish(req, REDISCONN_ERR_CANCELED, NULL);
        return REDISCONN_OK;
    case REQ_READY:
        conn = req->conn;
        req->conn = NULL;
        req->status = REDISCONN_ERR_CANCELED;
        free(req->errmsg);
        req->errmsg = NULL;
        if (conn != NULL) redisconn_release(conn);
        return REDISCONN_OK;
    default:
        return REDISCONN_ERR_STATE;
    }
}

/*
 * Makes a returned, healthy connection available: to the oldest waiter, or
 * to the idle list (closing the oldest idle one beyond max_idle).
 */
void redisconn__pool_put(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    redisconn__link *l;
    uint64_t now;

    if (conn->broken) return; /* dying: redisconn__pool_conn_dead() follows */
    now = redisconn__now_us();
    if (pool->closed || redisconn__conn_expired(conn, now)) {
        /* not a lease any more (the release fast path comes here from LEASED) */
        if (conn->state == CONN_LEASED) redisconn__conn_state(conn, CONN_RESETTING);
        redisconn__conn_close(conn, pool->closed ? CLOSE_POOL_CLOSED : CLOSE_LIFETIME,
                              REDISCONN_ERR_CLOSED);
        return;
    }
    if (conn->for_shared || (!redisconn__list_empty(&pool->pending) && pool->shared_n == 0 &&
                             pool->shared_dialing == 0)) {
        redisconn__shared_adopt(conn);
        return;
    }
    l = redisconn__list_first(&pool->waiters);
    if (l != NULL) {
        redisconn__req_assign(REDISCONN_CONTAINER_OF(l, redisconn_acquire, node), conn);
        return;
    }
    redisconn__conn_state(conn, CONN_IDLE);
    conn->idle_since_us = now;
    redisconn__list_push_front(&pool->idle, &conn->node);
    pool->idle_n++;
    if (pool->idle_n > pool->opts.max_idle) {
        l = redisconn__list_last(&pool->idle);
        redisconn__conn_close(REDISCONN_CONTAINER_OF(l, redisconn_conn, node), CLOSE_MAX_IDLE,
                              REDISCONN_ERR_CLOSED);
        return;
    }
    redisconn__maint_conn(pool, conn);
}

/* A dial failed: fail the oldest waiter that no other dial will serve. */
static void dial_failed(redisconn_pool *pool, redisconn_conn *conn)
{
    redisconn__link *l = redisconn__list_first(&pool->waiters);
    int status = conn->dial_status ? conn->dial_status : REDISCONN_ERR_CONNECT;
    pool->stats.dial_errors++;
    pool->dial_backoff_until = redisconn__now_us() + 1000000u;
    if (pool->opts.min_idle > 0) redisconn__maint_arm(pool, pool->dial_backoff_until);
    redisconn__log(pool, REDISCONN_LOG_WARNING, "redisconn: cannot connect to %s: %s%s%s",
                   pool->addr.text, redisconn_strerror(status), conn->errstr[0] ? ": " : "",
                   conn->errstr);
    if (conn->for_shared) {
        redisconn__shared_dial_failed(pool, status, conn->errstr[0] ? conn->errstr : NULL);
        return;
    }
    if (pool->closed || l == NULL || pool->waiting <= pool->dialing - pool->shared_dialing) return;
    req_finish(REDISCONN_CONTAINER_OF(l, redisconn_acquire, node), status,
               conn->errstr[0] ? conn->errstr : NULL);
}

static void count_close(redisconn_pool *pool, int why)
{
    redisconn_pool_stats *s = &pool->stats;
    switch (why) {
    case CLOSE_IDLE_TIMEOUT:
        s->closed_idle_timeout++;
        break;
    case CLOSE_LIFETIME:
        s->closed_lifetime++;
        break;
    case CLOSE_MAX_IDLE:
        s->closed_max_idle++;
        break;
    case CLOSE_DIRTY:
        s->closed_dirty++;
        break;
    case CLOSE_POOL_CLOSED:
        s->closed_pool_closed++;
        break;
    case CLOSE_DIAL_FAILED:
        break;
    default:
        s->closed_broken++;
        break;
    }
}

/*
 * hiredis freed the connection's context (or it never had one). Takes it
 * out of the pool's accounting and decides what happens to whoever was
 * waiting on it. Never calls a user callback itself.
 */
void redisconn__pool_conn_dead(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    redisconn_acquire *req = conn->req;
    int prev = conn->state;

    conn->ac = NULL;
    conn->broken = 1;
    if (prev != CONN_LEASED) redisconn__conn_state(conn, CONN_DEAD); /* updates the counts */
    if (redisconn__linked(&conn->all)) {
        redisconn__list_remove(&conn->all);
        pool->active--;
    }
    if (prev == CONN_IDLE) pool->idle_n--;
    if (prev == CONN_IDLE || prev == CONN_SHARED) redisconn__list_remove(&conn->node);
    if (prev == CONN_DIALING)
        dial_failed(pool, conn);
    else
        count_close(pool, conn->close_why);
    if (req != NULL) {
        conn->req = NULL;
        redisconn__req_retry(req);
    }
    if (prev != CONN_LEASED) redisconn__list_push_back(&pool->zombies, &conn->node);
    redisconn__pool_kick(pool);
}

/* Opens connections for waiters no dial will serve, and for min_idle. */
void redisconn__pool_ensure_dials(redisconn_pool *pool)
{
    const redisconn_pool_options *o = &pool->opts;
    int need = pool->waiting - (pool->dialing - pool->shared_dialing);
    if (pool->closed || (need <= 0 && o->min_idle == 0)) return;
    if (o->min_idle > 0 && redisconn__now_us() >= pool->dial_backoff_until) {
        int warm = o->min_idle - pool->idle_n - pool->dialing;
        if (warm > need) need = warm;
    }
    while (need-- > 0 && (o->max_active == 0 || pool->active < o->max_active))
        redisconn__dial(pool);
}

void redisconn__pool_fail_waiters(redisconn_pool *pool, int status)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&pool->waiters)) != NULL)
        req_finish(REDISCONN_CONTAINER_OF(l, redisconn_acquire, node), status, NULL);
}

/*
 * Runs the callbacks of decided acquires, from the loop. Only those queued
 * before this run are delivered now: a callback that acquires again is served
 * on the next run, so a busy caller cannot starve the loop.
 */
void redisconn__pool_deliver(redisconn_pool *pool)
{
    redisconn__link batch;
    redisconn__link *l;

    if (redisconn__list_empty(&pool->ready)) return;
    batch.next = pool->ready.next;
    batch.prev = pool->ready.prev;
    batch.next->prev = &batch;
    batch.prev->next = &batch;
    redisconn__list_init(&pool->ready);

    while ((l = redisconn__list_first(&batch)) != NULL) {
        redisconn_acquire *req = REDISCONN_CONTAINER_OF(l, redisconn_acquire, node);
        redisconn_conn *conn = req->conn;
        redisconn__list_remove(l);
        if (conn != NULL && (pool->closed || conn->broken)) {
            /* chosen before the pool closed or the connection broke */
            req->conn = NULL;
            req->status = pool->closed ? REDISCONN_ERR_CLOSED : REDISCONN_ERR_IO;
            redisconn_release(conn);
            conn = NULL;
        }
        req->state = REQ_RUNNING;
        req->cb(conn, req->status, req->errmsg, req->arg);
        redisconn__req_free(req);
    }
}
