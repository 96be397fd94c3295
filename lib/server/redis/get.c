/*
 * get.c: the pool carried in a context (UsePool / GetPool) and Get(ctx) —
 * a pool acquire bounded by the context's deadline and canceled with it.
 *
 * A get is either waiting on the pool (acq set, plus a listener on the
 * context that cancels the acquire when the context ends) or failing early
 * (no pool, context already done: an event delivers the status from the
 * loop). Either way the callback runs once, from on_acquired() or
 * on_early(), and the request is freed after it returns.
 */
#include "redisconn/redisconn.h"

#include <stdlib.h>

#include <event2/event.h>

/* The context key of the pool: an address nobody else can have. */
static const char pool_key;

enum get_state { GET_WAITING, GET_EARLY, GET_RUNNING };

struct redisconn_get_req {
    redisconn_ctx *ctx; /* reference */
    redisconn_acquire_cb cb;
    void *arg;
    redisconn_acquire *acq;           /* GET_WAITING */
    redisconn_ctx_listener *listener; /* GET_WAITING, until the context ends */
    struct event *ev;                 /* GET_EARLY */
    int state;
    int status;  /* GET_EARLY: the status to deliver */
    int ctx_err; /* the context ended while waiting: its error */
    int user_canceled;
};

/* A value node holding the pool (not owned). */
redisconn_ctx *redisconn_use_pool(redisconn_ctx *ctx, redisconn_pool *pool)
{
    if (ctx == NULL || pool == NULL) return NULL;
    return redisconn_ctx_with_value(ctx, &pool_key, pool, NULL);
}

/* The nearest pool up the chain. */
redisconn_pool *redisconn_get_pool(const redisconn_ctx *ctx)
{
    return ctx ? redisconn_ctx_value(ctx, &pool_key) : NULL;
}

/* Frees a get: its listener, its event, its context reference. */
static void get_free(redisconn_get_req *g)
{
    if (g->listener != NULL) redisconn_ctx_listener_remove(g->listener);
    if (g->ev != NULL) event_free(g->ev);
    redisconn_ctx_unref(g->ctx);
    free(g);
}

/* The status the caller sees for the pool's `status`: the context's error
 * when the context is what ended the wait. The pool reports TIMEOUT only for
 * the acquire's own timeout (a dial that times out is CONNECT), and that
 * timeout is the time left until the context's deadline. */
static int map_status(const redisconn_get_req *g, int status)
{
    int64_t deadline;
    if (g->user_canceled) return status;
    if (status == REDISCONN_ERR_CANCELED && g->ctx_err != REDISCONN_OK) return g->ctx_err;
    if (status == REDISCONN_ERR_TIMEOUT &&
        (g->ctx_err == REDISCONN_ERR_DEADLINE || redisconn_ctx_deadline(g->ctx, &deadline)))
        return REDISCONN_ERR_DEADLINE;
    return status;
}

/* The pool's answer: runs the caller's callback, then frees the request. */
static void on_acquired(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    redisconn_get_req *g = arg;
    int mapped;
    g->acq = NULL;
    g->state = GET_RUNNING;
    if (g->listener != NULL) {
        redisconn_ctx_listener_remove(g->listener);
        g->listener = NULL;
    }
    mapped = map_status(g, status);
    g->cb(conn, mapped, mapped == status ? errmsg : redisconn_strerror(mapped), g->arg);
    get_free(g);
}

/* The context ended while the acquire waits: cancel it now. */
static void on_ctx_done(redisconn_ctx *ctx, int err, void *arg)
{
    redisconn_get_req *g = arg;
    (void)ctx;
    g->listener = NULL;
    g->ctx_err = err;
    if (g->acq != NULL) redisconn_acquire_cancel(g->acq);
}

/* Delivers an early failure from the loop. */
static void on_early(evutil_socket_t fd, short what, void *arg)
{
    redisconn_get_req *g = arg;
    (void)fd;
    (void)what;
    g->state = GET_RUNNING;
    g->cb(NULL, g->status, redisconn_strerror(g->status), g->arg);
    get_free(g);
}

/* Schedules an early failure with `status`. */
static int fail_early(redisconn_get_req *g, int status)
{
    g->ev = event_new(redisconn_ctx_base(g->ctx), -1, 0, on_early, g);
    if (g->ev == NULL) return -1;
    g->state = GET_EARLY;
    g->status = status;
    event_active(g->ev, EV_TIMEOUT, 1);
    return 0;
}

/* Starts the acquire with the time left as its timeout; -1 if it could not. */
static int start_acquire(redisconn_get_req *g, redisconn_pool *pool)
{
    int64_t deadline, timeout = 0;
    if (redisconn_ctx_deadline(g->ctx, &deadline)) {
        timeout = deadline - redisconn_ctx_now_ms(g->ctx);
        if (timeout <= 0) return fail_early(g, REDISCONN_ERR_DEADLINE);
    }
    g->listener = redisconn_ctx_on_done(g->ctx, on_ctx_done, g);
    if (g->listener == NULL) return -1;
    g->state = GET_WAITING;
    g->acq = redisconn_pool_acquire(pool, timeout, on_acquired, g);
    return g->acq ? 0 : -1;
}

/* Starts a get; the callback always comes later, from the loop. */
redisconn_get_req *redisconn_get(redisconn_ctx *ctx, redisconn_acquire_cb cb, void *arg)
{
    redisconn_get_req *g;
    redisconn_pool *pool;
    int rc;
    if (ctx == NULL || cb == NULL) return NULL;
    g = calloc(1, sizeof(*g));
    if (g == NULL) return NULL;
    g->ctx = redisconn_ctx_ref(ctx);
    g->cb = cb;
    g->arg = arg;
    pool = redisconn_get_pool(ctx);
    if (pool == NULL)
        rc = fail_early(g, REDISCONN_ERR_NOT_CONFIGURED);
    else if (redisconn_ctx_err(ctx) != REDISCONN_OK)
        rc = fail_early(g, redisconn_ctx_err(ctx));
    else
        rc = start_acquire(g, pool);
    if (rc != 0) {
        get_free(g);
        return NULL;
    }
    return g;
}

/* Cancels a get that has not called back yet. */
int redisconn_get_cancel(redisconn_get_req *req)
{
    if (req == NULL) return REDISCONN_ERR_INVALID;
    if (req->state == GET_RUNNING) return REDISCONN_ERR_STATE;
    req->user_canceled = 1;
    if (req->state == GET_EARLY) {
        req->status = REDISCONN_ERR_CANCELED;
        return REDISCONN_OK;
    }
    return redisconn_acquire_cancel(req->acq);
}
