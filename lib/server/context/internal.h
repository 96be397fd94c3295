/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * context/internal.h: what the rest of the server layer may know of a
 * context tree beyond redisconn/context.h — its defer queue.
 *
 * Every tree has ONE defer queue (util/defer.h), owned by its root (the
 * background context, one per event_base in a server): the server layer's
 * work that must run "from the loop, never inside the call" posts an item
 * embedded in its own object there — done-listeners (context.c), context
 * operations (ctxop.c, hence redisconn_get, redisconn_ctx_command and the
 * global cache), the server's shutdown steps (host/shutdown.c).
 *
 * RULE. Whoever posts an item holds a reference to a context of the tree
 * until the item has run or been canceled: the root, and with it the queue,
 * then outlive every queued item (freeing the root destroys the queue).
 */
#ifndef REDISCONN_SERVER_CONTEXT_INTERNAL_H
#define REDISCONN_SERVER_CONTEXT_INTERNAL_H

#include "redisconn/context.h"
#include "util/defer.h"

/* The defer queue of the tree `ctx` belongs to (its root's). `ctx` must be a
 * valid context; the queue lives as long as the tree's root. Can't fail. */
redisconn__defer *redisconn__context_defer(const redisconn_ctx *ctx);

#endif
