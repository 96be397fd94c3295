/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pool.c: the hub of lib/pool (see internal.h for the layout).
 *
 * It owns the connection state machine — redisconn__pool_set_state() (inline
 * in internal.h, it is on the hot path; its legal transitions are here) is
 * the only writer of conn->state, of the idle/shared/live lists and of their
 * counters — and every routing decision about a connection: where a healthy
 * one goes (put), what a death means (dead hook), a failed dial, a passed
 * deadline, close accounting, when to dial. It also holds the pool's life
 * cycle: creation, deferred housekeeping, asynchronous close, stats.
 */
#include "pool/internal.h"
#include "pool/replica.h"
#include "util/clock.h"
#include "util/str.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_MAX_SHARED = 2 };

/* ---- the connection state machine ----------------------------------- */

#define ST(s) (1u << (s))

#ifndef NDEBUG /* the tables exist for assert() only */
/* Legal transitions: legal_next[from] has the bit of every allowed `to`. */
static const unsigned legal_next[] = {
    [CONN_NEW] = ST(CONN_DIALING) | ST(CONN_DEAD),
    [CONN_DIALING] =
        ST(CONN_IDLE) | ST(CONN_LEASED) | ST(CONN_SHARED) | ST(CONN_CLOSING) | ST(CONN_DEAD),
    [CONN_IDLE] =
        ST(CONN_LEASED) | ST(CONN_TESTING) | ST(CONN_SHARED) | ST(CONN_CLOSING) | ST(CONN_DEAD),
    [CONN_TESTING] =
        ST(CONN_LEASED) | ST(CONN_IDLE) | ST(CONN_SHARED) | ST(CONN_CLOSING) | ST(CONN_DEAD),
    [CONN_LEASED] = ST(CONN_LEASED) | ST(CONN_IDLE) | ST(CONN_SHARED) | ST(CONN_DRAINING) |
                    ST(CONN_RESETTING) | ST(CONN_CLOSING) | ST(CONN_LOST),
    [CONN_DRAINING] = ST(CONN_RESETTING) | ST(CONN_CLOSING) | ST(CONN_DEAD),
    [CONN_RESETTING] =
        ST(CONN_IDLE) | ST(CONN_LEASED) | ST(CONN_SHARED) | ST(CONN_CLOSING) | ST(CONN_DEAD),
    [CONN_SHARED] = ST(CONN_CLOSING) | ST(CONN_DEAD),
    [CONN_CLOSING] = ST(CONN_DEAD),
    [CONN_LOST] = ST(CONN_DEAD),
    [CONN_DEAD] = 0,
};
#endif

#ifndef NDEBUG
int redisconn__pool_transition_ok(redisconn__conn_state from, redisconn__conn_state to)
{
    return (legal_next[from] & ST(to)) != 0;
}
#endif

/* ---- routing ----------------------------------------------------------- */

int redisconn__pool_conn_expired(const redisconn_conn *conn, uint64_t now)
{
    int64_t life = conn->pool->opts.max_conn_lifetime_ms;
    return life > 0 && now - conn->created_us >= redisconn__ms_to_us(life);
}

redisconn_conn *redisconn__pool_dial(redisconn_pool *pool, int for_shared)
{
    redisconn_conn *conn = redisconn__conn_new(&pool->env, pool);
    if (conn == NULL) {
        pool->stats.dial_errors++;
        return NULL;
    }
    pool->conn_count++;
    pool->stats.dials++;
    conn->for_shared = for_shared ? 1u : 0u;
    conn->epoch = pool->epoch;
    redisconn__pool_set_state(conn, CONN_DIALING);
    redisconn__dial_start(conn);
    return conn;
}

/* Closes a connection that no user holds and that is in no list of ours
 * any more (put's refusals). */
static void close_unheld(redisconn_conn *conn, int why)
{
    redisconn__pool_set_state(conn, CONN_CLOSING);
    conn->close_why = why;
    redisconn__conn_close(conn, REDISCONN_ERR_CLOSED);
}

/*
 * The reusability checklist and the routing of a healthy connection, in
 * order: pool closed or connection too old -> close; pool-level commands
 * need a carrier -> shared; someone waits -> hand-off; else idle (closing
 * the oldest idle one beyond max_idle).
 */
void redisconn__pool_put(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    redisconn_acquire *waiter;
    uint64_t now;

    if (conn->broken) return; /* dying: the dead hook follows */
    now = redisconn__now_us();
    if (pool->closed) {
        close_unheld(conn, CLOSE_POOL_CLOSED);
        return;
    }
    if (redisconn__pool_conn_expired(conn, now)) {
        close_unheld(conn, CLOSE_LIFETIME);
        return;
    }
    if (conn->epoch != pool->epoch) { /* to the server before a failover */
        close_unheld(conn, CLOSE_FAILOVER);
        return;
    }
    if (conn->for_shared || redisconn__shared_wants_conn(pool)) {
        redisconn__shared_adopt(conn);
        return;
    }
    waiter = redisconn__acquire_first_waiter(pool);
    if (waiter != NULL) {
        redisconn__acquire_assign(waiter, conn);
        return;
    }
    redisconn__pool_set_state(conn, CONN_IDLE);
    conn->idle_since_us = now;
    if (pool->idle_n > pool->opts.max_idle) {
        redisconn__link *oldest = redisconn__list_last(&pool->idle);
        redisconn__pool_close_conn(REDISCONN_CONTAINER_OF(oldest, redisconn_conn, node),
                                   CLOSE_MAX_IDLE, REDISCONN_ERR_CLOSED);
        return;
    }
    redisconn__maint_conn(pool, conn);
}

void redisconn__pool_unlease(redisconn_conn *conn)
{
    if (conn->state == CONN_LOST) { /* died while leased */
        redisconn__pool_set_state(conn, CONN_DEAD);
        redisconn__pool_free_later(conn);
        redisconn__pool_kick(conn->pool);
        return;
    }
    assert(conn->state == CONN_LEASED);
    if (conn->broken) { /* hiredis is freeing it: the dead hook follows */
        redisconn__pool_set_state(conn, CONN_CLOSING);
        return;
    }
    redisconn__pool_put(conn);
}

void redisconn__pool_close_conn(redisconn_conn *conn, int why, int status)
{
    if (conn->dead || conn->abort_status) return;
    switch (conn->state) {
    case CONN_DIALING:
        conn->close_why = why;
        redisconn__dial_cancel(conn, status);
        return;
    case CONN_LEASED: /* stays leased: its user releases it */
        break;
    case CONN_IDLE:
    case CONN_TESTING:
    case CONN_DRAINING:
    case CONN_RESETTING:
    case CONN_SHARED:
        redisconn__pool_set_state(conn, CONN_CLOSING);
        break;
    default:
        return; /* closing or gone already */
    }
    conn->close_why = why;
    redisconn__conn_close(conn, status);
}

int redisconn__pool_nothing_coming(const redisconn_pool *pool)
{
    /* leased, testing, draining, resetting: may come back */
    int out = pool->active - pool->idle_n - pool->dialing - pool->shared_n;
    if (pool->backoff.failures == 0) return 0; /* not in an outage: a dial will be made */
    if (pool->dialing > 0 || out > 0) return 0;
    return redisconn__backoff_allowed(pool, redisconn__now_us()) == 0;
}

/* A dial failed: the governor backs off, and whoever now has nothing to wait
 * for fails with the dial's status and message. */
static void dial_failed(redisconn_pool *pool, redisconn_conn *conn)
{
    int status = conn->dial_status ? conn->dial_status : REDISCONN_ERR_CONNECT;
    const char *msg = conn->errstr[0] ? conn->errstr : NULL;
    uint64_t now = redisconn__now_us();
    redisconn_acquire *waiter;

    pool->stats.dial_errors++;
    if (pool->closed) return; /* canceled by the close: not an outage */
    if (pool->env.locator.failed != NULL)
        pool->env.locator.failed(pool->env.locator.self, conn, status);
    redisconn__backoff_failed(pool, status, msg, now);
    redisconn__log(&pool->log, REDISCONN_LOG_WARNING,
                   "redisconn: cannot connect to %s: %s%s%s (next dial in %.0f ms)",
                   conn->addr.text ? conn->addr.text : pool->addr.text, redisconn_strerror(status),
                   msg ? ": " : "", msg ? msg : "", (double)(pool->backoff.next_at - now) / 1000.0);
    if (conn->for_shared) redisconn__shared_dial_failed(pool, status);
    if (!redisconn__pool_nothing_coming(pool)) return;
    while ((waiter = redisconn__acquire_first_waiter(pool)) != NULL)
        redisconn__acquire_fail(waiter, status, msg);
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
    case CLOSE_FAILOVER:
        s->closed_failover++;
        break;
    case CLOSE_DIAL_FAILED:
        break;
    default:
        s->closed_broken++;
        break;
    }
}

/* The dead hook: takes the connection out of the accounting and decides what
 * happens to whoever relied on it. Never calls a user callback itself. */
static void on_dead(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    redisconn_acquire *req = conn->req;
    redisconn__conn_state prev = conn->state;

    redisconn__pool_set_state(conn, prev == CONN_LEASED ? CONN_LOST : CONN_DEAD);
    if (prev == CONN_DIALING) {
        dial_failed(pool, conn);
    } else {
        count_close(pool, conn->close_why);
        if (!pool->closed && (conn->close_why == CLOSE_NONE || conn->close_why == CLOSE_BROKEN ||
                              conn->close_why == CLOSE_COMMAND_TIMEOUT))
            redisconn__backoff_conn_broke(pool);
    }
    if (req != NULL) {
        conn->req = NULL;
        redisconn__acquire_retry(req);
    }
    if (prev != CONN_LEASED) redisconn__pool_free_later(conn);
    redisconn__pool_kick(pool);
}

/* The ready hook: the handshake is done. The governor opens up, and the
 * waiters it held back get their dials. */
static void on_ready(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    redisconn__backoff_succeeded(pool, redisconn__now_us());
    redisconn__pool_put(conn);
    redisconn__pool_ensure_dials(pool);
}

/* The drained hook: the last user or pool-level reply arrived. A released
 * lease is recycled; an idle shared connection closes once the pool closed,
 * else the maintenance timer watches its idle time. */
static void on_drained(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    if (conn->state == CONN_DRAINING) {
        redisconn__lease_recycle(conn);
        return;
    }
    if (conn->state != CONN_SHARED || conn->broken) return;
    if (pool->closed || conn->epoch != pool->epoch) {
        redisconn__pool_close_conn(conn, pool->closed ? CLOSE_POOL_CLOSED : CLOSE_FAILOVER,
                                   REDISCONN_ERR_CLOSED);
        return;
    }
    conn->idle_since_us = redisconn__now_us();
    redisconn__maint_conn(pool, conn);
}

/* The deadline hook. A leased command that times out closes its connection,
 * so that its late reply can never reach the next borrower. */
static void on_deadline(redisconn_conn *conn, uint64_t now)
{
    redisconn_pool *pool = conn->pool;
    switch (conn->state) {
    case CONN_SHARED:
        redisconn__shared_deadline(conn, now);
        return;
    case CONN_DIALING:
        redisconn__dial_timeout(conn);
        return;
    default:
        pool->stats.command_timeouts++;
        redisconn__conn_set_error(conn, "command timeout");
        redisconn__log(&pool->log, REDISCONN_LOG_WARNING,
                       "redisconn: command timed out on %s; closing the connection",
                       conn->addr.text ? conn->addr.text : pool->addr.text);
        redisconn__pool_close_conn(conn, CLOSE_COMMAND_TIMEOUT, REDISCONN_ERR_TIMEOUT);
        return;
    }
}

/* The readonly hook: a replica answered (Sentinel: the master moved). */
static void on_readonly(redisconn_conn *conn)
{
    redisconn__sentinel_readonly(conn->pool);
}

static const redisconn__conn_hooks pool_conn_hooks = {on_ready, on_dead, on_drained, on_deadline,
                                                      on_readonly};

void redisconn__pool_retire(redisconn_pool *pool)
{
    redisconn__link *l, *next;
    pool->epoch++;
    redisconn__backoff_reset(pool); /* the failures were the old server's */
    for (l = pool->conns.next; l != &pool->conns; l = next) {
        redisconn_conn *conn = REDISCONN_CONTAINER_OF(l, redisconn_conn, all);
        next = l->next; /* closing unlinks the one closed only; new dials come last */
        if (conn->epoch == pool->epoch || conn->state == CONN_DIALING) continue;
        redisconn__pool_close_conn(conn, CLOSE_FAILOVER, REDISCONN_ERR_CLOSED);
    }
    redisconn__pool_kick(pool); /* waiters and pool-level commands need new connections */
}

/* The plain pool's locator: its one fixed address, answered at once. */
static void fixed_locate(void *self, redisconn_conn *conn)
{
    redisconn_pool *pool = self;
    redisconn__dial_to(conn, &pool->addr);
}

static void fixed_cancel(void *self, redisconn_conn *conn)
{
    (void)self; /* fixed_locate() never leaves an answer pending */
    (void)conn;
}

void redisconn__pool_ensure_dials(redisconn_pool *pool)
{
    const redisconn_pool_options *o = &pool->opts;
    int need = pool->waiting - (pool->dialing - pool->shared_dialing), allowed;
    if (pool->closed || (need <= 0 && o->min_idle == 0)) return;
    if (o->min_idle > 0) {
        int warm = o->min_idle - pool->idle_n - pool->dialing;
        if (warm > need) need = warm;
    }
    if (need <= 0 || (o->max_active > 0 && pool->active >= o->max_active)) return;
    allowed = redisconn__backoff_allowed(pool, redisconn__now_us());
    if (allowed == 0) { /* the governor wakes us when a probe is allowed */
        redisconn__backoff_wake_at_next(pool);
        return;
    }
    if (need > allowed) need = allowed;
    while (need-- > 0 && (o->max_active == 0 || pool->active < o->max_active))
        redisconn__pool_dial(pool, 0);
}

/* ---- life cycle -------------------------------------------------------- */

static void on_kick(redisconn__defer_item *item);
static void free_conn(redisconn__defer_item *item);

void redisconn__pool_kick(redisconn_pool *pool)
{
    redisconn__defer_post(&pool->defer, &pool->kick_item, on_kick);
}

static void free_conn(redisconn__defer_item *item)
{
    redisconn_conn *conn = REDISCONN_CONTAINER_OF(item, redisconn_conn, later);
    redisconn_pool *pool = conn->pool;
    assert(conn->state == CONN_DEAD);
    redisconn__conn_free(conn);
    pool->conn_count--;
    if (pool->closed) redisconn__pool_kick(pool);
}

void redisconn__pool_free_later(redisconn_conn *conn)
{
    redisconn__defer_post(conn->env->defer, &conn->later, free_conn);
}

/* Frees the pool's memory; nothing may refer to it any more. */
static void pool_free(redisconn_pool *pool)
{
    redisconn__acquire_free_all(pool);
    redisconn__shared_free(pool);
    redisconn__timer_destroy(&pool->maint_timer);
    redisconn__backoff_free(pool);
    redisconn__resp_buf_free(&pool->resp);
    if (pool->sentinel) {
        redisconn__dial_env_free(redisconn__sentinel_env(pool));
        redisconn__conn_env_free(redisconn__sentinel_env(pool));
    }
    redisconn__sentinel_free(pool);
    redisconn__dial_env_free(&pool->env);
    redisconn__conn_env_free(&pool->env);
    redisconn__defer_destroy(&pool->defer);
    redisconn__addr_free(&pool->addr);
    if (pool->password) {
        memset(pool->password, 0, strlen(pool->password));
        free(pool->password);
    }
    free(pool->username);
    free(pool->client_name);
    free(pool->sentinel_username);
    if (pool->sentinel_password) {
        memset(pool->sentinel_password, 0, strlen(pool->sentinel_password));
        free(pool->sentinel_password);
    }
    free(pool);
}

/* Closes every connection the pool itself holds; leased ones close on
 * release and busy ones once their commands drain. Closing one unlinks only
 * that one (what runs inside is internal callbacks and the dead hook). */
static void close_progress(redisconn_pool *pool)
{
    redisconn__link *l, *next;
    redisconn__acquire_fail_waiters(pool, REDISCONN_ERR_CLOSED);
    redisconn__shared_fail_pending(pool, REDISCONN_ERR_CLOSED);
    redisconn__sentinel_close(pool);
    redisconn__maint_stop(pool);
    for (l = pool->conns.next; l != &pool->conns; l = next) {
        redisconn_conn *conn = REDISCONN_CONTAINER_OF(l, redisconn_conn, all);
        next = l->next;
        if (conn->state == CONN_LEASED || conn->state == CONN_DRAINING || conn->broken ||
            (conn->state == CONN_SHARED && conn->inflight > 0))
            continue; /* closed when released or drained */
        redisconn__pool_close_conn(conn, CLOSE_POOL_CLOSED, REDISCONN_ERR_CLOSED);
    }
}

/* Housekeeping from the loop: dials for waiters and pool-level commands, or,
 * once closed, close progress and — when nothing refers to the pool any
 * more — the close callback and the free. */
static void on_kick(redisconn__defer_item *item)
{
    redisconn_pool *pool = REDISCONN_CONTAINER_OF(item, redisconn_pool, kick_item);
    if (!pool->closed) {
        redisconn__pool_ensure_dials(pool);
        redisconn__shared_kick(pool);
        return;
    }
    close_progress(pool);
    if (pool->close_done || pool->conn_count > 0 || pool->ready_n > 0 ||
        redisconn__sentinel_busy(pool) || redisconn__defer_queued(&pool->kick_item))
        return;
    pool->close_done = 1;
    if (pool->close_cb) pool->close_cb(pool, pool->close_arg);
    pool_free(pool);
}

/* Fills a zeroed pool whose address is parsed: options (a URL's user,
 * password and db override them), lists, timers, the environment its
 * connections share. Returns REDISCONN_OK or NOMEM (then the caller frees). */
static int pool_init(redisconn_pool *pool, struct event_base *base,
                     const redisconn_pool_options *opts)
{
    int failed = 0;
    pool->base = base;
    pool->opts = *opts;
    if (pool->opts.max_active > 0 && pool->opts.max_idle > pool->opts.max_active)
        pool->opts.max_idle = pool->opts.max_active;
    if (pool->opts.max_shared == 0) pool->opts.max_shared = DEFAULT_MAX_SHARED;
    if (pool->opts.max_active > 0 && pool->opts.max_shared > pool->opts.max_active)
        pool->opts.max_shared = pool->opts.max_active; /* only the default gets here */
    if (pool->addr.db >= 0) pool->opts.db = pool->addr.db;
    pool->username =
        redisconn__str_dup_opt(pool->addr.password ? pool->addr.username : opts->username, &failed);
    pool->password =
        redisconn__str_dup_opt(pool->addr.password ? pool->addr.password : opts->password, &failed);
    pool->client_name = redisconn__str_dup_opt(opts->client_name, &failed);
    pool->sentinel_username = redisconn__str_dup_opt(opts->sentinel_username, &failed);
    pool->sentinel_password = redisconn__str_dup_opt(opts->sentinel_password, &failed);
    pool->opts.username = pool->opts.password = pool->opts.client_name = NULL; /* use the copies */
    pool->opts.sentinel_username = pool->opts.sentinel_password = NULL;
    pool->opts.sentinel_master = NULL;
    pool->log = (redisconn__log_cfg){opts->log_fn, opts->log_arg, opts->log_level};
    pool->env = (redisconn__conn_env){
        .base = base,
        .defer = &pool->defer,
        .hooks = &pool_conn_hooks,
        .locator = {fixed_locate, fixed_cancel, NULL, pool},
        .log = &pool->log,
        .connect_timeout_ms = opts->connect_timeout_ms,
        .db = pool->opts.db,
        .username = pool->username,
        .password = pool->password,
        .client_name = pool->client_name,
        .tcp_keepalive_s = opts->tcp_keepalive_s,
    };
    redisconn__list_init(&pool->idle);
    redisconn__list_init(&pool->conns);
    redisconn__list_init(&pool->waiters);
    redisconn__list_init(&pool->free_reqs);
    redisconn__list_init(&pool->shared);
    redisconn__list_init(&pool->pending);
    redisconn__maint_init(pool);
    redisconn__shared_init(pool);
    redisconn__backoff_init(pool);
    if (redisconn__defer_init(&pool->defer, base) != 0) failed = 1;
    if (!failed && pool->addr.kind == REDISCONN_ADDR_SENTINEL &&
        redisconn__sentinel_init(pool, opts) != REDISCONN_OK)
        failed = 1;
    return failed ? REDISCONN_ERR_NOMEM : REDISCONN_OK;
}

/* Fills `err` (may be NULL) and returns NULL. */
static redisconn_pool *new_failed(redisconn_error *err, int status, const char *fmt, ...)
    REDISCONN_PRINTF(3, 4);

static redisconn_pool *new_failed(redisconn_error *err, int status, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL) return NULL;
    err->status = status;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return NULL;
}

redisconn_pool *redisconn_pool_new_with_options(struct event_base *base, const char *addr,
                                                const redisconn_pool_options *opts,
                                                redisconn_error *err)
{
    redisconn_pool_options defaults;
    redisconn_pool *pool;
    char why[200];
    const char *awhy = "invalid address";
    int rc;

    if (opts == NULL) {
        redisconn_pool_options_init(&defaults);
        opts = &defaults;
    }
    if (base == NULL) return new_failed(err, REDISCONN_ERR_INVALID, "no event_base given");
    if (redisconn__options_check(opts, why, sizeof(why)) != REDISCONN_OK)
        return new_failed(err, REDISCONN_ERR_INVALID, "%s", why);
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL) return new_failed(err, REDISCONN_ERR_NOMEM, "out of memory");
    if (opts->sentinel_master != NULL)
        rc = redisconn__addr_parse_sentinels(addr, opts->sentinel_master, &pool->addr, &awhy);
    else
        rc = redisconn__addr_parse(addr, &pool->addr, &awhy);
    if (rc != REDISCONN_OK) {
        free(pool);
        if (rc == REDISCONN_ERR_NOMEM) return new_failed(err, rc, "out of memory");
        if (addr != NULL && strchr(addr, '@') == NULL && strlen(addr) < 120)
            return new_failed(err, rc, "address \"%s\": %s", addr, awhy);
        return new_failed(err, rc, "address (not shown: it may hold a password): %s", awhy);
    }
    rc = pool_init(pool, base, opts);
    if (rc != REDISCONN_OK) {
        pool_free(pool);
        return new_failed(err, rc, "out of memory");
    }
    if (pool->opts.min_idle > 0) redisconn__pool_kick(pool); /* pre-warm from the loop */
    if (err) {
        err->status = REDISCONN_OK;
        err->message[0] = '\0';
    }
    return pool;
}

redisconn_pool *redisconn_pool_new(struct event_base *base, const char *addr, int db)
{
    redisconn_pool_options o;
    redisconn_pool_options_init(&o);
    o.db = db;
    return redisconn_pool_new_with_options(base, addr, &o, NULL);
}

int redisconn_pool_close(redisconn_pool *pool, redisconn_pool_close_cb cb, void *arg)
{
    if (pool == NULL) return REDISCONN_ERR_INVALID;
    if (pool->closed) return REDISCONN_ERR_STATE;
    pool->closed = 1;
    pool->close_cb = cb;
    pool->close_arg = arg;
    redisconn__log(&pool->log, REDISCONN_LOG_DEBUG, "redisconn: closing the pool for %s",
                   pool->addr.text);
    redisconn__pool_kick(pool);
    return REDISCONN_OK;
}

void redisconn_pool_get_stats(const redisconn_pool *pool, redisconn_pool_stats *stats)
{
    if (pool == NULL || stats == NULL) return;
    *stats = pool->stats;
    stats->active_count = pool->active;
    stats->idle_count = pool->idle_n;
    stats->in_use_count = pool->in_use;
    stats->waiting_count = pool->waiting;
    stats->dialing_count = pool->dialing;
    stats->shared_count = pool->shared_n;
    stats->server_down = redisconn__backoff_server_down(pool);
    stats->last_dial_status = pool->backoff.last_status;
    stats->down_since_us = pool->backoff.down_since;
}

const char *redisconn_pool_errstr(const redisconn_pool *pool)
{
    if (pool == NULL || pool->backoff.failures == 0 || pool->backoff.last_msg[0] == '\0')
        return NULL;
    return pool->backoff.last_msg;
}

int redisconn__pool_set_readonly(redisconn_pool *pool)
{
    if (pool == NULL) return REDISCONN_ERR_INVALID;
    if (pool->closed || pool->conn_count > 0) return REDISCONN_ERR_STATE;
    pool->env.readonly = 1;
    return REDISCONN_OK;
}

struct event_base *redisconn_pool_base(const redisconn_pool *pool)
{
    return pool ? pool->base : NULL;
}
