/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * get.c: the pool carried in a context (UsePool / GetPool) and Get(ctx) —
 * a pool acquire bounded by the context's deadline and canceled with it,
 * built on the context-operation core (context/ctxop.h) like
 * redisconn_ctx_command():
 *
 *  - early outcomes (no pool, context done, deadline passed) come from the
 *    tree's defer queue;
 *  - the acquire runs with the time left until the deadline as its timeout;
 *  - if the context ends first, ctxop's abandon hook cancels the acquire and
 *    the caller gets the context's error at once; the pool's late answer is
 *    disposed of — a connection in it is released, never dropped;
 *  - otherwise the pool's answer is delivered (TIMEOUT read as DEADLINE).
 *
 * The handle is freed after the pool's answer, which always comes. A
 * context with a cluster (redisconn_use_cluster, kept here too) has no pool
 * to lease from: its gets fail with REDISCONN_ERR_CLUSTER, pointing at
 * redisconn_cluster_acquire().
 */
#include "redisconn/cluster.h"
#include "redisconn/redisconn.h"
#include "server/context/ctxop.h"

#include <stddef.h>
#include <stdlib.h>

/* The context keys of the pool and of the cluster: addresses nobody else
 * can have. Installing one masks the other (nearest wins). */
static const char pool_key, cluster_key;

/* What a get on a cluster-configured context is told. */
#define CLUSTER_MSG                                                                                \
    "Redis is a cluster here: a lease must be by key, with "                                       \
    "redisconn_cluster_acquire(redisconn_get_cluster(ctx), key, keylen, ...)"

struct redisconn_get_req {
    redisconn__ctxop op; /* first: ctxop frees the block through it */
    redisconn_acquire_cb cb;
    void *arg;
    redisconn_acquire *acq; /* until the pool's answer */
    int user_canceled;      /* redisconn_get_cancel() withdrew the acquire */
};

_Static_assert(offsetof(redisconn_get_req, op) == 0, "the ctxop must come first");

/* Two value nodes: `mask` hidden (NULL), then `key` holding `value`. */
static redisconn_ctx *with_masked(redisconn_ctx *ctx, const void *mask, const void *key,
                                  void *value)
{
    redisconn_ctx *masked, *out;
    if (ctx == NULL || value == NULL) return NULL;
    if (redisconn_ctx_value(ctx, mask) == NULL) /* nothing to hide */
        return redisconn_ctx_with_value(ctx, key, value, NULL);
    masked = redisconn_ctx_with_value(ctx, mask, NULL, NULL);
    out = masked ? redisconn_ctx_with_value(masked, key, value, NULL) : NULL;
    redisconn_ctx_unref(masked);
    return out;
}

/* A value node holding the pool (not owned). */
redisconn_ctx *redisconn_use_pool(redisconn_ctx *ctx, redisconn_pool *pool)
{
    return with_masked(ctx, &cluster_key, &pool_key, pool);
}

/* A value node holding the cluster (not owned). */
redisconn_ctx *redisconn_use_cluster(redisconn_ctx *ctx, redisconn_cluster *cluster)
{
    return with_masked(ctx, &pool_key, &cluster_key, cluster);
}

redisconn_cluster *redisconn_get_cluster(const redisconn_ctx *ctx)
{
    return ctx ? redisconn_ctx_value(ctx, &cluster_key) : NULL;
}

/* The nearest pool up the chain. */
redisconn_pool *redisconn_get_pool(const redisconn_ctx *ctx)
{
    return ctx ? redisconn_ctx_value(ctx, &pool_key) : NULL;
}

/* Early or context failure: the caller's callback without a connection. */
static void get_fail(redisconn__ctxop *op, int status)
{
    redisconn_get_req *g = (redisconn_get_req *)(void *)op;
    g->cb(NULL, status, status == REDISCONN_ERR_CLUSTER ? CLUSTER_MSG : redisconn_strerror(status),
          g->arg);
}

/* The context ended while the acquire waits: cancel it now (its CANCELED
 * answer comes later, from the loop, and is disposed of). */
static void get_abandon(redisconn__ctxop *op)
{
    redisconn_get_req *g = (redisconn_get_req *)(void *)op;
    if (g->acq != NULL) redisconn_acquire_cancel(g->acq);
}

/* The status the caller sees for the pool's `status`. The pool reports
 * TIMEOUT only for the acquire's own timeout (a dial that times out is
 * CONNECT), and that timeout is the time left until the context's deadline:
 * the deadline passed. */
static int map_status(const redisconn_get_req *g, int status)
{
    if (!g->user_canceled && status == REDISCONN_ERR_TIMEOUT &&
        redisconn_ctx_deadline(g->op.ctx, NULL))
        return REDISCONN_ERR_DEADLINE;
    return status;
}

/* The pool's answer: delivered unless the context ended first — then a
 * connection in it goes back to the pool. Frees the request either way. */
static void on_acquired(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    redisconn_get_req *g = arg;
    int mapped;
    g->acq = NULL;
    if (redisconn__ctxop_claim(&g->op)) {
        mapped = map_status(g, status);
        g->cb(conn, mapped, mapped == status ? errmsg : redisconn_strerror(mapped), g->arg);
    } else if (conn != NULL) {
        redisconn_release(conn); /* the caller has been told already */
    }
    redisconn__ctxop_free(&g->op);
}

/* Starts a get; the callback always comes later, from the loop. */
redisconn_get_req *redisconn_get(redisconn_ctx *ctx, redisconn_acquire_cb cb, void *arg)
{
    redisconn_get_req *g;
    redisconn_pool *pool;
    int64_t timeout;
    int rc;
    if (ctx == NULL || cb == NULL) return NULL;
    g = calloc(1, sizeof(*g));
    if (g == NULL) return NULL;
    g->cb = cb;
    g->arg = arg;
    redisconn__ctxop_init(&g->op, ctx, get_fail, get_abandon);
    pool = redisconn_get_pool(ctx);
    if (pool == NULL) {
        redisconn__ctxop_fail_later(&g->op, redisconn_get_cluster(ctx) != NULL
                                                ? REDISCONN_ERR_CLUSTER
                                                : REDISCONN_ERR_NOT_CONFIGURED);
        return g;
    }
    rc = redisconn__ctxop_begin(&g->op, &timeout);
    if (rc == REDISCONN__CTXOP_EARLY_RC) return g;
    if (rc != REDISCONN_OK) return NULL; /* freed */
    g->acq = redisconn_pool_acquire(pool, timeout, on_acquired, g);
    rc = redisconn__ctxop_started(&g->op, g->acq != NULL ? REDISCONN_OK : REDISCONN_ERR_NOMEM);
    return rc == REDISCONN_OK ? g : NULL;
}

/* Cancels a get that has not called back yet. */
int redisconn_get_cancel(redisconn_get_req *req)
{
    int rc;
    if (req == NULL) return REDISCONN_ERR_INVALID;
    rc = redisconn__ctxop_withdraw(&req->op, REDISCONN_ERR_CANCELED);
    if (rc != REDISCONN_OK) return redisconn__ctxop_result(rc);
    req->user_canceled = 1;
    return redisconn_acquire_cancel(req->acq);
}
