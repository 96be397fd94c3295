/*
 * ctxop.h: one asynchronous operation bound to a context, the machinery
 * behind redisconn_ctx_command() and redisconn_cache_get/_set().
 *
 * The owner embeds a redisconn__ctxop as the FIRST member of its own
 * malloc'd struct (redisconn__ctxop_free() frees that block). The outcome
 * reaches the user exactly once, from the loop, by one of three paths:
 *
 *  - early: a status known at the start (no pool, context already done) is
 *    delivered by an event on the next loop pass, through `fail`;
 *  - the context ends while the work runs: its error (CANCELED, DEADLINE) is
 *    delivered at once through `fail`; the work's own completion comes later
 *    and is then discarded;
 *  - the work completes first: redisconn__ctxop_claim() says so and the
 *    owner delivers the result itself.
 *
 * Sequence for the owner:
 *   init -> [fail_later | begin -> start the work -> started(rc)]
 *   completion callback: if (claim) deliver; free.
 */
#ifndef REDISCONN_SERVER_CTXOP_H
#define REDISCONN_SERVER_CTXOP_H

#include "redisconn/context.h"

struct event;

typedef struct redisconn__ctxop redisconn__ctxop;

/* Tells the user that the operation failed with `status` (the owner's
 * callback with no result). Called at most once per operation. */
typedef void (*redisconn__ctxop_fail_fn)(redisconn__ctxop *op, int status);

struct redisconn__ctxop {
    redisconn_ctx *ctx;               /* reference */
    redisconn_ctx_listener *listener; /* while the work runs */
    struct event *ev;                 /* early delivery */
    redisconn__ctxop_fail_fn fail;
    int status; /* early: the status to deliver */
    int state;  /* enum in ctxop.c */
};

/* The outcome is scheduled for early delivery: the start succeeded. */
#define REDISCONN__CTXOP_EARLY 1

/* What the public starting call returns for a redisconn__ctxop status. */
static inline int redisconn__ctxop_result(int rc)
{
    return rc == REDISCONN__CTXOP_EARLY ? REDISCONN_OK : rc;
}

/* Takes a reference to `ctx`. */
void redisconn__ctxop_init(redisconn__ctxop *op, redisconn_ctx *ctx, redisconn__ctxop_fail_fn fail);

/* Schedules the early delivery of `status`. Returns REDISCONN__CTXOP_EARLY,
 * or REDISCONN_ERR_NOMEM after freeing the operation (nobody is called). */
int redisconn__ctxop_fail_later(redisconn__ctxop *op, int status);

/* Before starting the work: a done context schedules its error (returns
 * REDISCONN__CTXOP_EARLY); otherwise listens for its end (REDISCONN_OK). On
 * REDISCONN_ERR_NOMEM the operation is freed and nobody is called. */
int redisconn__ctxop_begin(redisconn__ctxop *op);

/* After starting the work with result `rc`: on failure frees the operation
 * (nobody is called) and returns `rc`; else REDISCONN_OK. */
int redisconn__ctxop_started(redisconn__ctxop *op, int rc);

/* The work completed: returns 1 if its result is to be delivered now (the
 * context has not ended first), 0 if it must be discarded. */
int redisconn__ctxop_claim(redisconn__ctxop *op);

/* Frees the operation: listener, event, context reference, owner's block. */
void redisconn__ctxop_free(redisconn__ctxop *op);

#endif
