/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctxop.c: operations bound to a context (see ctxop.h). The state says who
 * may still deliver: the early item, the context listener or the work; this
 * file is its only writer.
 */
#include "server/context/ctxop.h"
#include "server/context/internal.h"

#include <assert.h>
#include <stdlib.h>

void redisconn__ctxop_init(redisconn__ctxop *op, redisconn_ctx *ctx, redisconn__ctxop_fail_fn fail,
                           redisconn__ctxop_abandon_fn abandon)
{
    op->early.link.prev = op->early.link.next = NULL;
    op->early.fn = NULL;
    op->ctx = redisconn_ctx_ref(ctx);
    op->listener = NULL;
    op->fail = fail;
    op->abandon = abandon;
    op->status = 0;
    op->state = REDISCONN__CTXOP_NEW;
}

/* Everything the operation holds, then the owner's block (op is its first
 * member, so its address is the block's). The item goes before the context
 * reference: the queue may go with the tree. */
void redisconn__ctxop_free(redisconn__ctxop *op)
{
    if (op->listener != NULL) redisconn_ctx_listener_remove(op->listener);
    redisconn__defer_cancel(&op->early);
    redisconn_ctx_unref(op->ctx);
    free(op);
}

/* The early item: delivers the status chosen at the start, then frees. */
static void on_early(redisconn__defer_item *item)
{
    redisconn__ctxop *op = REDISCONN_CONTAINER_OF(item, redisconn__ctxop, early);
    assert(op->state == REDISCONN__CTXOP_EARLY);
    op->state = REDISCONN__CTXOP_DELIVERED;
    op->fail(op, op->status);
    redisconn__ctxop_free(op);
}

/* Delivery on the next loop pass, never inside the starting call. */
int redisconn__ctxop_fail_later(redisconn__ctxop *op, int status)
{
    assert(op->state == REDISCONN__CTXOP_NEW);
    op->state = REDISCONN__CTXOP_EARLY;
    op->status = status;
    redisconn__defer_post(redisconn__context_defer(op->ctx), &op->early, on_early);
    return REDISCONN__CTXOP_EARLY_RC;
}

/* The context ended while the work runs: the owner withdraws the work, then
 * the context's error goes out now; the work's completion, still to come,
 * is disposed of by the owner (claim returns 0), who frees the operation. */
static void on_ctx_done(redisconn_ctx *ctx, int err, void *arg)
{
    redisconn__ctxop *op = arg;
    (void)ctx;
    op->listener = NULL;
    if (op->state != REDISCONN__CTXOP_RUNNING) return;
    op->state = REDISCONN__CTXOP_DELIVERED;
    if (op->abandon != NULL) op->abandon(op);
    op->fail(op, err);
}

/* A done context or a passed deadline fails early; a live one is watched
 * while the work runs. */
int redisconn__ctxop_begin(redisconn__ctxop *op, int64_t *timeout_ms)
{
    int64_t deadline;
    int err = redisconn_ctx_err(op->ctx);
    assert(op->state == REDISCONN__CTXOP_NEW);
    if (err != REDISCONN_OK) return redisconn__ctxop_fail_later(op, err);
    if (timeout_ms != NULL) {
        *timeout_ms = 0;
        if (redisconn_ctx_deadline(op->ctx, &deadline)) {
            *timeout_ms = deadline - redisconn_ctx_now_ms(op->ctx);
            if (*timeout_ms <= 0) return redisconn__ctxop_fail_later(op, REDISCONN_ERR_DEADLINE);
        }
    }
    op->listener = redisconn_ctx_on_done(op->ctx, on_ctx_done, op);
    if (op->listener == NULL) {
        redisconn__ctxop_free(op);
        return REDISCONN_ERR_NOMEM;
    }
    op->state = REDISCONN__CTXOP_RUNNING;
    return REDISCONN_OK;
}

/* A work that did not start will never complete: nobody is to be called. */
int redisconn__ctxop_started(redisconn__ctxop *op, int rc)
{
    assert(op->state == REDISCONN__CTXOP_RUNNING);
    if (rc != REDISCONN_OK) redisconn__ctxop_free(op);
    return rc;
}

/* The work's result wins unless the context's error was delivered first. */
int redisconn__ctxop_claim(redisconn__ctxop *op)
{
    if (op->state != REDISCONN__CTXOP_RUNNING) {
        assert(op->state == REDISCONN__CTXOP_DELIVERED);
        return 0;
    }
    op->state = REDISCONN__CTXOP_DELIVERED;
    if (op->listener != NULL) {
        redisconn_ctx_listener_remove(op->listener);
        op->listener = NULL;
    }
    return 1;
}

/* An early outcome is replaced; running work is the owner's to withdraw. */
int redisconn__ctxop_withdraw(redisconn__ctxop *op, int status)
{
    switch (op->state) {
    case REDISCONN__CTXOP_EARLY:
        op->status = status;
        return REDISCONN__CTXOP_EARLY_RC;
    case REDISCONN__CTXOP_RUNNING:
        return REDISCONN_OK;
    default:
        return REDISCONN_ERR_STATE;
    }
}
