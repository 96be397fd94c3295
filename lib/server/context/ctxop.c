/*
 * ctxop.c: operations bound to a context (see ctxop.h). The state says who
 * may still deliver: the early event, the context listener or the work.
 */
#include "server/context/ctxop.h"

#include <stdlib.h>

#include <event2/event.h>

enum op_state {
    OP_NEW,       /* not decided yet */
    OP_EARLY,     /* the early event will deliver */
    OP_RUNNING,   /* the work runs; the listener or the work will deliver */
    OP_DELIVERED, /* the user has been told; only freeing is left */
};

/* Reference to the context, nothing else yet. */
void redisconn__ctxop_init(redisconn__ctxop *op, redisconn_ctx *ctx, redisconn__ctxop_fail_fn fail)
{
    op->ctx = redisconn_ctx_ref(ctx);
    op->listener = NULL;
    op->ev = NULL;
    op->fail = fail;
    op->status = 0;
    op->state = OP_NEW;
}

/* Everything the operation holds, then the owner's block (op is its first
 * member, so its address is the block's). */
void redisconn__ctxop_free(redisconn__ctxop *op)
{
    if (op->listener != NULL) redisconn_ctx_listener_remove(op->listener);
    if (op->ev != NULL) event_free(op->ev);
    redisconn_ctx_unref(op->ctx);
    free(op);
}

/* The early event: delivers the status chosen at the start, then frees. */
static void on_early(evutil_socket_t fd, short what, void *arg)
{
    redisconn__ctxop *op = arg;
    (void)fd;
    (void)what;
    op->state = OP_DELIVERED;
    op->fail(op, op->status);
    redisconn__ctxop_free(op);
}

/* Delivery on the next loop pass, never inside the starting call. */
int redisconn__ctxop_fail_later(redisconn__ctxop *op, int status)
{
    op->ev = event_new(redisconn_ctx_base(op->ctx), -1, 0, on_early, op);
    if (op->ev == NULL) {
        redisconn__ctxop_free(op);
        return REDISCONN_ERR_NOMEM;
    }
    op->state = OP_EARLY;
    op->status = status;
    event_active(op->ev, EV_TIMEOUT, 1);
    return REDISCONN__CTXOP_EARLY;
}

/* The context ended while the work runs: its error goes out now; the work's
 * completion, still to come, will be discarded (it frees the operation). */
static void on_ctx_done(redisconn_ctx *ctx, int err, void *arg)
{
    redisconn__ctxop *op = arg;
    (void)ctx;
    op->listener = NULL;
    if (op->state != OP_RUNNING) return;
    op->state = OP_DELIVERED;
    op->fail(op, err);
}

/* A done context fails early; a live one is watched while the work runs. */
int redisconn__ctxop_begin(redisconn__ctxop *op)
{
    int err = redisconn_ctx_err(op->ctx);
    if (err != REDISCONN_OK) return redisconn__ctxop_fail_later(op, err);
    op->listener = redisconn_ctx_on_done(op->ctx, on_ctx_done, op);
    if (op->listener == NULL) {
        redisconn__ctxop_free(op);
        return REDISCONN_ERR_NOMEM;
    }
    op->state = OP_RUNNING;
    return REDISCONN_OK;
}

/* A work that did not start will never complete: nobody is to be called. */
int redisconn__ctxop_started(redisconn__ctxop *op, int rc)
{
    if (rc != REDISCONN_OK) redisconn__ctxop_free(op);
    return rc;
}

/* The work's result wins unless the context's error was delivered first. */
int redisconn__ctxop_claim(redisconn__ctxop *op)
{
    if (op->state != OP_RUNNING) return 0;
    op->state = OP_DELIVERED;
    if (op->listener != NULL) {
        redisconn_ctx_listener_remove(op->listener);
        op->listener = NULL;
    }
    return 1;
}
