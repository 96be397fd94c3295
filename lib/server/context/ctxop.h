/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctxop.h: one asynchronous operation bound to a context — the core that
 * redisconn_get(), redisconn_ctx_command() and redisconn_cache_get/_set()
 * share.
 *
 * The owner embeds a redisconn__ctxop as the FIRST member of its own
 * malloc'd struct (redisconn__ctxop_free() frees that block). The outcome
 * reaches the user exactly once, from the loop, by one of three paths:
 *
 *  - early: a status known at the start (no pool, context already done,
 *    deadline already passed) is posted to the tree's defer queue and
 *    delivered on the next pass through `fail`; then the operation is freed;
 *  - the context ends while the work runs: `abandon` (if any) runs first, so
 *    the owner can withdraw the work (cancel an acquire), then the context's
 *    error (CANCELED, DEADLINE) goes out at once through `fail`. The work's
 *    own completion still comes: redisconn__ctxop_claim() returns 0, and the
 *    owner disposes of the late result — releases a connection, drops a
 *    reply — and frees the operation;
 *  - the work completes first: redisconn__ctxop_claim() returns 1 and the
 *    owner delivers the result itself, then frees the operation.
 *
 * Sequence for the owner:
 *   init -> [fail_later | begin -> start the work -> started(rc)]
 *   completion callback: if (claim) deliver; else dispose of the result; free.
 *
 * States (one writer: ctxop.c): NEW -> EARLY -> DELIVERED, or
 * NEW -> RUNNING -> DELIVERED; an operation is freed in any state.
 */
#ifndef REDISCONN_SERVER_CTXOP_H
#define REDISCONN_SERVER_CTXOP_H

#include <stdint.h>

#include "redisconn/context.h"
#include "util/defer.h"

typedef struct redisconn__ctxop redisconn__ctxop;

/* Tells the user that the operation failed with `status` (the owner's
 * callback with no result). Called at most once per operation, from the
 * loop; the operation is still allocated during the call. */
typedef void (*redisconn__ctxop_fail_fn)(redisconn__ctxop *op, int status);

/* The context ended while the work runs, before the user is told: withdraw
 * the work if it can be (its completion must still come, exactly once).
 * Must not free the operation nor call the user. */
typedef void (*redisconn__ctxop_abandon_fn)(redisconn__ctxop *op);

enum redisconn__ctxop_state {
    REDISCONN__CTXOP_NEW,       /* not decided yet */
    REDISCONN__CTXOP_EARLY,     /* the early item will deliver `status` */
    REDISCONN__CTXOP_RUNNING,   /* the work runs; the listener or the work will deliver */
    REDISCONN__CTXOP_DELIVERED, /* the user has been told; disposing and freeing are left */
};

struct redisconn__ctxop {
    redisconn__defer_item early;      /* EARLY: in the tree's defer queue */
    redisconn_ctx *ctx;               /* reference: keeps the tree (and its queue) alive */
    redisconn_ctx_listener *listener; /* RUNNING, until the context ends */
    redisconn__ctxop_fail_fn fail;
    redisconn__ctxop_abandon_fn abandon; /* may be NULL: the work cannot be withdrawn */
    int status;                          /* EARLY: the status to deliver */
    enum redisconn__ctxop_state state;
};

/* The outcome is scheduled for early delivery: the start succeeded. */
#define REDISCONN__CTXOP_EARLY_RC 1

/* What the public starting call returns for a redisconn__ctxop status. */
static inline int redisconn__ctxop_result(int rc)
{
    return rc == REDISCONN__CTXOP_EARLY_RC ? REDISCONN_OK : rc;
}

/* Prepares a NEW operation on `ctx` (takes a reference); `abandon` may be
 * NULL. Allocates nothing; can't fail. */
void redisconn__ctxop_init(redisconn__ctxop *op, redisconn_ctx *ctx, redisconn__ctxop_fail_fn fail,
                           redisconn__ctxop_abandon_fn abandon);

/* Schedules the early delivery of `status` (a NEW operation). Returns
 * REDISCONN__CTXOP_EARLY_RC; can't fail (posting allocates nothing). */
int redisconn__ctxop_fail_later(redisconn__ctxop *op, int status);

/*
 * Before starting the work (a NEW operation): a done context schedules its
 * error, a deadline already passed schedules REDISCONN_ERR_DEADLINE (both:
 * REDISCONN__CTXOP_EARLY_RC); otherwise listens for the context's end and
 * returns REDISCONN_OK, with the time left until the deadline in
 * `*timeout_ms` (0: no deadline) when `timeout_ms` is not NULL. On
 * REDISCONN_ERR_NOMEM the operation is freed and nobody is called.
 */
int redisconn__ctxop_begin(redisconn__ctxop *op, int64_t *timeout_ms);

/* After starting the work with result `rc`: on failure frees the operation
 * (nobody is called) and returns `rc`; else REDISCONN_OK. */
int redisconn__ctxop_started(redisconn__ctxop *op, int rc);

/* The work completed: returns 1 if its result is to be delivered now (the
 * context has not ended first; the operation is DELIVERED from now on), 0 if
 * the owner must dispose of it instead. */
int redisconn__ctxop_claim(redisconn__ctxop *op);

/*
 * The user withdraws the operation before being told: an EARLY operation
 * will deliver `status` instead (returns REDISCONN__CTXOP_EARLY_RC); a
 * RUNNING one returns REDISCONN_OK — the owner withdraws the work, whose
 * completion is then claimed and delivered as usual; a DELIVERED one
 * returns REDISCONN_ERR_STATE (nothing left to withdraw).
 */
int redisconn__ctxop_withdraw(redisconn__ctxop *op, int status);

/* Frees the operation in any state: listener, queued item, context
 * reference, then the owner's block. Nobody is called. */
void redisconn__ctxop_free(redisconn__ctxop *op);

#endif
