/*
 * pool.c: the pool's life cycle — options, creation, the async event that
 * runs deferred work from the loop, statistics, and asynchronous close.
 */
#include "pool/internal.h"
#include "util/clock.h"

#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

void redisconn_pool_options_init(redisconn_pool_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_idle = 64;
    o->max_active = 512;
    o->idle_timeout_ms = 3 * 60 * 1000;
    o->wait = 1;
    o->max_waiters = 0;
    o->connect_timeout_ms = 5000;
    o->command_timeout_ms = 5000;
    o->test_on_borrow_ms = 60 * 1000;
    o->max_conn_lifetime_ms = 0;
    o->min_idle = 0;
    o->db = 0;
    o->max_shared = 2;
    o->log_level = REDISCONN_LOG_INFO;
}

/* Rejects option values that cannot mean anything. */
static int check_options(const redisconn_pool_options *o)
{
    if (o->max_idle < 0 || o->max_active < 0 || o->idle_timeout_ms < 0 || o->max_waiters < 0 ||
        o->connect_timeout_ms < 0 || o->command_timeout_ms < 0 || o->max_conn_lifetime_ms < 0 ||
        o->min_idle < 0 || o->db < 0 || o->max_shared < 1)
        return REDISCONN_ERR_INVALID;
    if (o->min_idle > o->max_idle) return REDISCONN_ERR_INVALID;
    if (o->max_active > 0 && o->min_idle > o->max_active) return REDISCONN_ERR_INVALID;
    if (o->username != NULL && o->password == NULL) return REDISCONN_ERR_INVALID;
    return REDISCONN_OK;
}

static void on_async(evutil_socket_t fd, short what, void *arg);

static char *dup_opt(const char *s, int *failed)
{
    char *p;
    if (s == NULL) return NULL;
    p = strdup(s);
    if (p == NULL) *failed = 1;
    return p;
}

static void pool_free(redisconn_pool *pool)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&pool->zombies)) != NULL) {
        redisconn__list_remove(l);
        redisconn__conn_free(REDISCONN_CONTAINER_OF(l, redisconn_conn, node));
    }
    while ((l = redisconn__list_first(&pool->free_reqs)) != NULL) {
        redisconn_acquire *req = REDISCONN_CONTAINER_OF(l, redisconn_acquire, node);
        redisconn__list_remove(l);
        if (req->timer) event_free(req->timer);
        free(req);
    }
    redisconn__shared_free(pool);
    if (pool->dns) evdns_base_free(pool->dns, 1);
    if (pool->async_ev) event_free(pool->async_ev);
    if (pool->maint_ev) event_free(pool->maint_ev);
    redisconn__addr_free(&pool->addr);
    if (pool->password) {
        memset(pool->password, 0, strlen(pool->password));
        free(pool->password);
    }
    free(pool->username);
    free(pool);
}

redisconn_pool *redisconn_pool_new_with_options(struct event_base *base, const char *addr,
                                                const redisconn_pool_options *opts, int *err)
{
    redisconn_pool_options defaults;
    redisconn_pool *pool;
    int rc, failed = 0;
    const char *why = NULL;

    if (opts == NULL) {
        redisconn_pool_options_init(&defaults);
        opts = &defaults;
    }
    rc = base == NULL ? REDISCONN_ERR_INVALID : check_options(opts);
    pool = rc == REDISCONN_OK ? calloc(1, sizeof(*pool)) : NULL;
    if (rc == REDISCONN_OK && pool == NULL) rc = REDISCONN_ERR_NOMEM;
    if (rc == REDISCONN_OK) rc = redisconn__addr_parse(addr, &pool->addr, &why);
    if (rc != REDISCONN_OK) {
        if (rc == REDISCONN_ERR_INVALID && why && opts->log_fn)
            opts->log_fn(REDISCONN_LOG_ERROR, why, opts->log_arg);
        free(pool);
        if (err) *err = rc;
        return NULL;
    }
    pool->base = base;
    pool->opts = *opts;
    if (pool->opts.max_active > 0 && pool->opts.max_idle > pool->opts.max_active)
        pool->opts.max_idle = pool->opts.max_active;
    pool->username = dup_opt(opts->username, &failed);
    pool->password = dup_opt(opts->password, &failed);
    pool->opts.username = pool->opts.password = NULL; /* never read through opts */
    redisconn__list_init(&pool->idle);
    redisconn__list_init(&pool->conns);
    redisconn__list_init(&pool->zombies);
    redisconn__list_init(&pool->waiters);
    redisconn__list_init(&pool->ready);
    redisconn__list_init(&pool->free_reqs);
    redisconn__list_init(&pool->failed);
    redisconn__list_init(&pool->shared);
    redisconn__list_init(&pool->pending);
    pool->async_ev = event_new(base, -1, EV_PERSIST, on_async, pool);
    if (failed || pool->async_ev == NULL) {
        pool_free(pool);
        if (err) *err = REDISCONN_ERR_NOMEM;
        return NULL;
    }
    if (pool->opts.min_idle > 0) redisconn__pool_kick(pool); /* pre-warm from the loop */
    if (err) *err = REDISCONN_OK;
    return pool;
}

redisconn_pool *redisconn_pool_new(struct event_base *base, const char *addr, int db)
{
    redisconn_pool_options o;
    redisconn_pool_options_init(&o);
    o.db = db;
    return redisconn_pool_new_with_options(base, addr, &o, NULL);
}

/* Schedules on_async() for this loop iteration. No syscall. */
void redisconn__pool_kick(redisconn_pool *pool)
{
    if (pool->async_pending) return;
    pool->async_pending = 1;
    event_active(pool->async_ev, EV_READ, 1);
}

void redisconn__pool_dial_failed_later(redisconn_conn *conn, int status, const char *msg)
{
    (void)status;
    (void)msg;
    redisconn__list_push_back(&conn->pool->failed, &conn->node);
    redisconn__pool_kick(conn->pool);
}

/* Closes every connection the pool itself holds; leased ones close on release
 * and draining ones once their commands finish. Rescans after each close
 * because closing runs callbacks that may close other connections. */
static void close_progress(redisconn_pool *pool)
{
    int again = 1;
    redisconn__pool_fail_waiters(pool, REDISCONN_ERR_CLOSED);
    redisconn__shared_fail_pending(pool, REDISCONN_ERR_CLOSED, NULL);
    if (pool->maint_at) {
        event_del(pool->maint_ev);
        pool->maint_at = 0;
    }
    while (again) {
        again = 0;
        for (redisconn__link *l = pool->conns.next; l != &pool->conns; l = l->next) {
            redisconn_conn *conn = REDISCONN_CONTAINER_OF(l, redisconn_conn, all);
            if (conn->state == CONN_LEASED || conn->state == CONN_DRAINING || conn->broken ||
                (conn->state == CONN_SHARED && conn->inflight > 0))
                continue; /* closed when released or drained */
            redisconn__conn_close(conn, CLOSE_POOL_CLOSED, REDISCONN_ERR_CLOSED);
            again = 1;
            break;
        }
    }
}

static void free_zombies(redisconn_pool *pool)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&pool->zombies)) != NULL) {
        redisconn__list_remove(l);
        redisconn__conn_free(REDISCONN_CONTAINER_OF(l, redisconn_conn, node));
    }
}

/* Deferred work, always from the loop: failed dials, acquire callbacks,
 * close progress, freeing dead connections and, last, the pool itself. */
static void on_async(evutil_socket_t fd, short what, void *arg)
{
    redisconn_pool *pool = arg;
    redisconn__link *l;
    (void)fd;
    (void)what;
    pool->async_pending = 0;
    while ((l = redisconn__list_first(&pool->failed)) != NULL) {
        redisconn__list_remove(l);
        redisconn__pool_conn_dead(REDISCONN_CONTAINER_OF(l, redisconn_conn, node));
    }
    redisconn__pool_deliver(pool);
    if (pool->closed) close_progress(pool);
    free_zombies(pool);
    if (!pool->closed) {
        redisconn__pool_ensure_dials(pool);
        redisconn__shared_kick(pool);
        return;
    }
    if (pool->close_done || !redisconn__list_empty(&pool->conns) || pool->in_use > 0 ||
        !redisconn__list_empty(&pool->ready) || !redisconn__list_empty(&pool->failed) ||
        pool->async_pending)
        return;
    pool->close_done = 1;
    if (pool->close_cb) pool->close_cb(pool, pool->close_arg);
    pool_free(pool);
}

int redisconn_pool_close(redisconn_pool *pool, redisconn_pool_close_cb cb, void *arg)
{
    if (pool == NULL) return REDISCONN_ERR_INVALID;
    if (pool->closed) return REDISCONN_ERR_STATE;
    pool->closed = 1;
    pool->close_cb = cb;
    pool->close_arg = arg;
    redisconn__log(pool, REDISCONN_LOG_DEBUG, "redisconn: closing the pool for %s",
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
}

struct event_base *redisconn_pool_base(const redisconn_pool *pool)
{
    return pool ? pool->base : NULL;
}
