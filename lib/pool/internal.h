/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * internal.h — the pool's private structures and the hub-and-spokes layout
 * of lib/pool.
 *
 *   leaves   conn.c (commands, replies, deadlines), dial.c (locate, DNS,
 *            connect, handshake) — see conn.h; they report through hooks.
 *   hub      pool.c — the connection state machine (the only writer of
 *            conn->state, its lists and its counters), the routing decisions
 *            (put, dead connection, dial failed, deadline, close accounting,
 *            ensure dials), the pool's life cycle and stats.
 *   spokes   acquire.c (acquires, waiters, PING on borrow, deliveries),
 *            lease.c (commands on a lease, release, drain, reset),
 *            shared.c (pool-level commands), maint.c (the maintenance timer),
 *            options.c (defaults and validation).
 * Spokes call the hub and the leaves, never each other; the hub calls the
 * spokes. The leaves call nobody above them.
 *
 * OWNERSHIP. redisconn_pool owns every redisconn_conn (`conns` while alive,
 * then freed from the defer queue), every redisconn_acquire (waiters,
 * deliveries, the free list) and the pending pool-level commands. Everything
 * deferred goes through one defer queue per pool (`defer`), shared with the
 * connections' adapters.
 */
#ifndef REDISCONN_POOL_INTERNAL_H
#define REDISCONN_POOL_INTERNAL_H

#include <assert.h>
#include <stdint.h>

#include "redisconn/pool.h"
#include "util/defer.h"
#include "util/list.h"
#include "util/timer.h"
#include "pool/addr.h"
#include "pool/conn.h"
#include "pool/log.h"
#include "pool/resp.h"

/* Why a connection was closed: selects the stats counter. */
enum close_why {
    CLOSE_NONE = 0,
    CLOSE_BROKEN,
    CLOSE_IDLE_TIMEOUT,
    CLOSE_LIFETIME,
    CLOSE_MAX_IDLE,
    CLOSE_DIRTY,
    CLOSE_POOL_CLOSED,
    CLOSE_COMMAND_TIMEOUT,
    CLOSE_DIAL_FAILED,
    CLOSE_FAILOVER, /* dialed before a failover */
};

/* An acquire's life; zero is the neutral state of a record not in use. */
typedef enum redisconn__req_state {
    REQ_FREE = 0, /* fresh, or on the free list */
    REQ_WAITING,  /* in pool->waiters */
    REQ_TESTING,  /* bound to a conn whose PING is in flight */
    REQ_READY,    /* outcome decided, delivery queued */
    REQ_RUNNING,  /* its callback is running */
} redisconn__req_state;

struct redisconn_acquire {
    redisconn_pool *pool;
    redisconn__link node;        /* waiters or the free list */
    redisconn__defer_item later; /* the delivery */
    redisconn_acquire_cb cb;
    void *arg;
    redisconn_conn *conn; /* chosen connection (READY with success, or TESTING) */
    redisconn__timer timer;
    int64_t timeout_ms;
    uint64_t start_us;
    redisconn__req_state state;
    int status;
    char *errmsg; /* malloc'd, only on failure */
    unsigned waited : 1;
};

typedef struct redisconn__sentinel redisconn__sentinel;

/* The dial governor's state (backoff.c). */
typedef struct redisconn__backoff {
    int failures;           /* consecutive failed dials; > 0: an outage episode */
    uint64_t next_at;       /* no dial before this (in an episode) */
    uint64_t down_since;    /* the episode's first failure */
    uint64_t last_ok;       /* the last dial that succeeded, 0 = never */
    int window;             /* dials allowed in flight at once outside an episode */
    uint64_t rng;           /* jitter */
    int last_status;        /* the last failed dial's status, 0 outside an episode */
    char last_msg[200];     /* and its message */
    redisconn__timer timer; /* wakes the hub when a probe becomes possible */
} redisconn__backoff;

struct redisconn_pool {
    struct event_base *base;
    redisconn__addr addr;
    redisconn_pool_options opts; /* strings below are owned copies */
    char *username;
    char *password;
    char *client_name;
    char *sentinel_username;
    char *sentinel_password;
    redisconn__sentinel *sentinel; /* the Sentinel locator (sentinel.c), or NULL */
    unsigned epoch;                /* bumped by a failover: older connections retire */
    redisconn__log_cfg log;
    redisconn__conn_env env; /* what every connection of this pool shares */
    redisconn__defer defer;
    redisconn__resp_buf resp; /* the RESP encoder's buffer for this pool's commands */

    redisconn__link idle;    /* LIFO: most recently used first */
    redisconn__link conns;   /* every live connection */
    redisconn__link waiters; /* FIFO */
    redisconn__link free_reqs;
    redisconn__link shared;  /* CONN_SHARED connections */
    redisconn__link pending; /* pool-level commands waiting for a shared connection */
    redisconn__timer pending_timer;
    redisconn__timer maint_timer;    /* idle reaping, lifetime, min_idle */
    redisconn__defer_item kick_item; /* ensure dials, close progress */

    /* Counters: written by redisconn__pool_set_state() / the acquire state
     * function only. */
    int conn_count; /* allocated connections, dead ones included */
    int active;     /* live connections (counted in max_active) */
    int idle_n;
    int in_use;
    int dialing;
    int shared_n;
    int shared_dialing;
    int waiting;
    int ready_n; /* acquires decided, callback not yet run */
    int free_reqs_n;
    redisconn__backoff backoff;

    redisconn_pool_stats stats;

    unsigned closed : 1;
    unsigned close_done : 1;
    redisconn_pool_close_cb close_cb;
    void *close_arg;
};

/* ---- pool.c: the hub --------------------------------------------------- */

#ifndef NDEBUG
/* True when the state machine allows `from` -> `to` (pool.c's table). */
int redisconn__pool_transition_ok(redisconn__conn_state from, redisconn__conn_state to);
#endif

/* States in which a connection has (or is getting) a context and counts in
 * max_active, as a bit mask. */
#define REDISCONN__CONN_LIVE                                                                       \
    (~((1u << CONN_NEW) | (1u << CONN_LOST) | (1u << CONN_DEAD)) & ((1u << (CONN_DEAD + 1)) - 1u))

/* The only writer of conn->state: moves `conn` to `to`, linking and
 * unlinking the idle, shared and live lists and keeping every counter.
 * Asserts that the transition is legal. Inline: every acquire and release
 * makes one or two transitions, and a constant `to` folds half of it. */
static inline void redisconn__pool_set_state(redisconn_conn *conn, redisconn__conn_state to)
{
    redisconn_pool *pool = conn->pool;
    redisconn__conn_state from = conn->state;
    unsigned live_from = REDISCONN__CONN_LIVE & (1u << from);
    unsigned live_to = REDISCONN__CONN_LIVE & (1u << to);

    assert(redisconn__pool_transition_ok(from, to));
    switch (from) {
    case CONN_DIALING:
        pool->dialing--;
        if (conn->for_shared) pool->shared_dialing--;
        break;
    case CONN_IDLE:
        redisconn__list_remove(&conn->node);
        pool->idle_n--;
        break;
    case CONN_LEASED:
    case CONN_LOST:
        pool->in_use--;
        break;
    case CONN_SHARED:
        redisconn__list_remove(&conn->node);
        pool->shared_n--;
        break;
    default:
        break;
    }
    switch (to) {
    case CONN_DIALING:
        pool->dialing++;
        if (conn->for_shared) pool->shared_dialing++;
        break;
    case CONN_IDLE:
        redisconn__list_push_front(&pool->idle, &conn->node);
        pool->idle_n++;
        break;
    case CONN_LEASED:
    case CONN_LOST:
        pool->in_use++;
        break;
    case CONN_SHARED:
        redisconn__list_push_back(&pool->shared, &conn->node);
        pool->shared_n++;
        break;
    default:
        break;
    }
    if (live_from && !live_to) {
        redisconn__list_remove(&conn->all);
        pool->active--;
    } else if (live_to && !live_from) {
        redisconn__list_push_back(&pool->conns, &conn->all);
        pool->active++;
    }
    conn->state = to;
    assert(pool->idle_n >= 0 && pool->in_use >= 0 && pool->dialing >= 0 && pool->active >= 0 &&
           pool->shared_n >= 0 && pool->shared_dialing >= 0 &&
           pool->shared_dialing <= pool->dialing);
}

/* Opens one more connection (for pool-level commands when `for_shared`).
 * Never fails synchronously: a failure comes back through the dead hook.
 * Returns the connection, or NULL when out of memory (counted as a dial error). */
redisconn_conn *redisconn__pool_dial(redisconn_pool *pool, int for_shared);

/* Makes a healthy connection with nothing in flight available: to pending
 * pool-level commands, the oldest waiter, or the idle list — or closes it
 * when the pool closed or it is too old. A broken one is left to die. */
void redisconn__pool_put(redisconn_conn *conn);

/* A lease nobody holds any more, with nothing in flight and nothing to reset
 * (a release's fast path, an acquire canceled or failed after the choice):
 * back to the pool, or closed / freed when it broke or died meanwhile. */
void redisconn__pool_unlease(redisconn_conn *conn);

/* Closes `conn` for reason `why`; pending callbacks get `status`. A leased
 * connection stays leased (its user releases it); a dialing one fails its
 * dial. Idempotent. */
void redisconn__pool_close_conn(redisconn_conn *conn, int why, int status);

/* True when `conn` is older than max_conn_lifetime at `now`. */
int redisconn__pool_conn_expired(const redisconn_conn *conn, uint64_t now);

/* Dials for waiters no dial in progress will serve, and for min_idle, as far
 * as the dial governor allows; arms its timer when demand must wait. */
void redisconn__pool_ensure_dials(redisconn_pool *pool);

/* True when someone waiting for a connection now would wait for nothing: an
 * outage episode, no dial in flight or allowed now, and no connection out
 * that could come back. Such a request fails at once with the last dial error. */
int redisconn__pool_nothing_coming(const redisconn_pool *pool);

/* Schedules the pool's deferred housekeeping (dials, close progress). */
void redisconn__pool_kick(redisconn_pool *pool);

/* A dead connection's memory is released from the loop. */
void redisconn__pool_free_later(redisconn_conn *conn);

/* The server behind the pool changed (a failover): every connection to the
 * old one closes now — what is in flight on it fails with CLOSED, a leased one
 * stays its user's (commands on it fail IO) until released; dials already
 * under way are closed when they complete (put). The dial back-off earned by
 * the old server ends, so the new one is dialed at once. */
void redisconn__pool_retire(redisconn_pool *pool);

/* ---- backoff.c: the dial governor --------------------------------------- */

/* Prepares the governor (pool creation; allocates nothing) / frees its timer. */
void redisconn__backoff_init(redisconn_pool *pool);
void redisconn__backoff_free(redisconn_pool *pool);

/* How many dials may start at `now` besides those in flight: 0 during a
 * back-off delay or while a probe is in flight; else the window minus the
 * dials in flight (a few while nothing is open and no dial succeeded
 * recently). */
int redisconn__backoff_allowed(const redisconn_pool *pool, uint64_t now);

/* Arms the governor's timer for the end of the current back-off delay, if in
 * an episode: the hub is kicked then. */
void redisconn__backoff_wake_at_next(redisconn_pool *pool);

/* A dial failed with `status` and `msg` (may be NULL): starts or extends the
 * episode and sets the next delay. */
void redisconn__backoff_failed(redisconn_pool *pool, int status, const char *msg, uint64_t now);

/* An open connection broke (EOF, I/O error, failed PING, command timeout):
 * nothing is known to work any more — the window closes to slow start. */
void redisconn__backoff_conn_broke(redisconn_pool *pool);

/* A dial succeeded: ends the episode (logged when there was one) and
 * widens the window by one. */
void redisconn__backoff_succeeded(redisconn_pool *pool, uint64_t now);

/* The server changed (a failover): failures earned by the old one say nothing
 * about the new one. Ends the episode silently; dials slow-start. */
void redisconn__backoff_reset(redisconn_pool *pool);

/* True in an episode while no connection is open. */
int redisconn__backoff_server_down(const redisconn_pool *pool);

/* Writes "server down since ...: last dial error ..." into buf[len] and
 * returns 1 in an episode; returns 0 (buf untouched) otherwise. */
int redisconn__backoff_describe(const redisconn_pool *pool, uint64_t now, char *buf, size_t len);

/* ---- sentinel.c: the Sentinel locator --------------------------------- */

/* Makes the pool find its master through the sentinels of pool->addr (kind
 * SENTINEL): installs the locator and the ROLE check. REDISCONN_OK or NOMEM. */
int redisconn__sentinel_init(redisconn_pool *pool, const redisconn_pool_options *o);

/* A READONLY reply: the master may have moved; ask the sentinels. */
void redisconn__sentinel_readonly(redisconn_pool *pool);

/* Pool close: fails waiting dials with CLOSED, closes the connections to
 * sentinels. redisconn__sentinel_busy() is true until they are freed. */
void redisconn__sentinel_close(redisconn_pool *pool);
int redisconn__sentinel_busy(const redisconn_pool *pool);

/* Frees the locator (pool teardown; nothing busy). */
void redisconn__sentinel_free(redisconn_pool *pool);

/* The environment of the connections to sentinels (its DNS resolver is
 * freed with the pool's). */
redisconn__conn_env *redisconn__sentinel_env(redisconn_pool *pool);

/* ---- options.c --------------------------------------------------------- */

/* REDISCONN_OK, or REDISCONN_ERR_INVALID for values that cannot mean anything,
 * with the reason (a sentence naming the option and its value) in why[len]. */
int redisconn__options_check(const redisconn_pool_options *o, char *why, size_t len);

/* ---- acquire.c --------------------------------------------------------- */

/* Leases `conn` to `req` (waiting or testing); the callback comes from the loop. */
void redisconn__acquire_assign(redisconn_acquire *req, redisconn_conn *conn);

/* The oldest waiter, or NULL. */
static inline redisconn_acquire *redisconn__acquire_first_waiter(const redisconn_pool *pool)
{
    redisconn__link *l = redisconn__list_first(&pool->waiters);
    return l ? REDISCONN_CONTAINER_OF(l, redisconn_acquire, node) : NULL;
}

/* Decides that `req` (waiting) fails with `status` and `msg` (copied, may be NULL). */
void redisconn__acquire_fail(redisconn_acquire *req, int status, const char *msg);

/* Fails every waiter with `status`. */
void redisconn__acquire_fail_waiters(redisconn_pool *pool, int status);

/* The connection `req` was testing died: try another, or wait again at the
 * head of the queue. */
void redisconn__acquire_retry(redisconn_acquire *req);

/* Frees the records of the free list (pool teardown). */
void redisconn__acquire_free_all(redisconn_pool *pool);

/* ---- lease.c ----------------------------------------------------------- */

/* A released connection has no user command in flight: reset it, put it
 * back, or close it. May run inside a reply callback of `conn`. */
void redisconn__lease_recycle(redisconn_conn *conn);

/* ---- shared.c ---------------------------------------------------------- */

/* Prepares the pending-command timer (pool creation; allocates nothing). */
void redisconn__shared_init(redisconn_pool *pool);

/* `conn` starts carrying pool-level commands. */
void redisconn__shared_adopt(redisconn_conn *conn);

/* True when pending pool-level commands have no shared connection to go to
 * and none is being dialed: the next available connection should be adopted. */
static inline int redisconn__shared_wants_conn(const redisconn_pool *pool)
{
    return !redisconn__list_empty(&pool->pending) && pool->shared_n == 0 &&
           pool->shared_dialing == 0;
}

/* A deadline passed on shared `conn`: abandon or close (see shared.c). */
void redisconn__shared_deadline(redisconn_conn *conn, uint64_t now);

/* A dial for shared use failed with `status`: pending commands fail
 * if nothing else will carry them (no shared connection, no dial in flight or
 * allowed, no lease that could be adopted). */
void redisconn__shared_dial_failed(redisconn_pool *pool, int status);

/* Fails every pending pool-level command with `status` (calls back now). */
void redisconn__shared_fail_pending(redisconn_pool *pool, int status);

/* Finds or opens a shared connection for pending commands that have none. */
void redisconn__shared_kick(redisconn_pool *pool);

/* Frees pending commands without calling back (pool teardown). */
void redisconn__shared_free(redisconn_pool *pool);

/* ---- maint.c ----------------------------------------------------------- */

/* Prepares the maintenance timer (pool creation; allocates nothing). */
void redisconn__maint_init(redisconn_pool *pool);

/* Arms the maintenance timer for `at_us` unless it fires earlier already. */
void redisconn__maint_arm(redisconn_pool *pool, uint64_t at_us);

/* `conn` just went idle: make sure the timer will look at it. O(1). */
void redisconn__maint_conn(redisconn_pool *pool, const redisconn_conn *conn);

/* Stops the timer (pool close). */
void redisconn__maint_stop(redisconn_pool *pool);

#endif
