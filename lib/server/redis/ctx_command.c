/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctx_command.c: redisconn_ctx_command() — a pool-level command on the pool
 * in a context, bounded by the context's deadline and ended by its
 * cancellation (see redisconn/redisconn.h for the contract).
 *
 * The command itself cannot be withdrawn from a pipeline: when the context
 * ends first, the caller gets the context's error at once and the reply,
 * whenever it comes, is dropped (ctxop.h). A context with a cluster
 * (redisconn_use_cluster) sends it through the cluster instead, routed by
 * its keys.
 */
#include "redisconn/cluster.h"
#include "redisconn/redisconn.h"
#include "server/context/ctxop.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

/* A pool TIMEOUT this close to the context's deadline is the deadline
 * (the pool's timer and the context's use clocks of different grain). */
#define DEADLINE_SLACK_MS 10

typedef struct ctx_cmd {
    redisconn__ctxop op; /* first: ctxop frees the block through it */
    redisconn_reply_cb cb;
    void *privdata;
} ctx_cmd;

_Static_assert(offsetof(ctx_cmd, op) == 0, "the ctxop must come first");

/* Early or context failure: the caller's callback without a reply. */
static void cmd_fail(redisconn__ctxop *op, int status)
{
    ctx_cmd *c = (ctx_cmd *)(void *)op;
    if (c->cb != NULL) c->cb(NULL, status, NULL, c->privdata);
}

/* The pool's TIMEOUT is the context's DEADLINE when the timeout we gave
 * was the time left until it; any other status is the pool's. */
static int map_status(const redisconn__ctxop *op, int status)
{
    int64_t deadline;
    if (status != REDISCONN_ERR_TIMEOUT || !redisconn_ctx_deadline(op->ctx, &deadline))
        return status;
    if (redisconn_ctx_err(op->ctx) == REDISCONN_ERR_DEADLINE ||
        deadline - redisconn_ctx_now_ms(op->ctx) <= DEADLINE_SLACK_MS)
        return REDISCONN_ERR_DEADLINE;
    return status;
}

/* The pool's answer: delivered unless the context ended first (then the
 * reply, freed by the pool when we return, is simply dropped). */
static void on_reply(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    ctx_cmd *c = privdata;
    if (redisconn__ctxop_claim(&c->op) && c->cb != NULL)
        c->cb(conn, map_status(&c->op, status), reply, c->privdata);
    redisconn__ctxop_free(&c->op);
}

/* Where the context's commands go: its pool, or its cluster. */
typedef struct target {
    redisconn_pool *pool;
    redisconn_cluster *cluster;
} target;

/*
 * Allocates the command and decides how it starts. REDISCONN_OK: send it
 * now to `*to` with `*timeout` (0: the pool's); REDISCONN__CTXOP_EARLY_RC:
 * its status is on its way; an error: nothing was kept, nobody is called.
 */
static int prepare(redisconn_ctx *ctx, redisconn_reply_cb cb, void *privdata, ctx_cmd **out,
                   target *to, int64_t *timeout)
{
    int rc;
    ctx_cmd *c = calloc(1, sizeof(*c));
    if (c == NULL) return REDISCONN_ERR_NOMEM;
    c->cb = cb;
    c->privdata = privdata;
    redisconn__ctxop_init(&c->op, ctx, cmd_fail, NULL); /* a sent command cannot be withdrawn */
    to->pool = redisconn_get_pool(ctx);
    to->cluster = to->pool ? NULL : redisconn_get_cluster(ctx);
    if (to->pool == NULL && to->cluster == NULL)
        return redisconn__ctxop_fail_later(&c->op, REDISCONN_ERR_NOT_CONFIGURED);
    rc = redisconn__ctxop_begin(&c->op, timeout);
    if (rc == REDISCONN_OK) *out = c;
    return rc;
}

/* Format checked by the pool; early outcomes come from the loop. */
int redisconn_ctx_commandv(redisconn_ctx *ctx, redisconn_reply_cb cb, void *privdata,
                           const char *fmt, va_list ap)
{
    ctx_cmd *c = NULL;
    target to;
    int64_t timeout;
    int rc;
    if (ctx == NULL || fmt == NULL) return REDISCONN_ERR_INVALID;
    rc = prepare(ctx, cb, privdata, &c, &to, &timeout);
    if (rc != REDISCONN_OK) return redisconn__ctxop_result(rc);
    if (to.pool != NULL)
        rc = redisconn_pool_commandv(to.pool, timeout, on_reply, c, fmt, ap);
    else
        rc = redisconn_cluster_commandv(to.cluster, timeout, on_reply, c, fmt, ap);
    return redisconn__ctxop_started(&c->op, rc);
}

/* printf-style front of redisconn_ctx_commandv(). */
int redisconn_ctx_command(redisconn_ctx *ctx, redisconn_reply_cb cb, void *privdata,
                          const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = redisconn_ctx_commandv(ctx, cb, privdata, fmt, ap);
    va_end(ap);
    return rc;
}

/* Arguments checked before anything is scheduled; copied by the pool. */
int redisconn_ctx_command_argv(redisconn_ctx *ctx, redisconn_reply_cb cb, void *privdata, int argc,
                               const char **argv, const size_t *argvlen)
{
    ctx_cmd *c = NULL;
    target to;
    int64_t timeout;
    int rc;
    if (ctx == NULL || argc <= 0 || argv == NULL) return REDISCONN_ERR_INVALID;
    rc = prepare(ctx, cb, privdata, &c, &to, &timeout);
    if (rc != REDISCONN_OK) return redisconn__ctxop_result(rc);
    if (to.pool != NULL)
        rc = redisconn_pool_command_argv(to.pool, timeout, on_reply, c, argc, argv, argvlen);
    else
        rc = redisconn_cluster_command_argv(to.cluster, timeout, on_reply, c, argc, argv, argvlen);
    return redisconn__ctxop_started(&c->op, rc);
}
