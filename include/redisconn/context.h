/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/context.h — request-scoped contexts, like Go's context.Context.
 *
 * A context is an immutable node in a tree rooted at a background context
 * bound to one event_base. Each node adds one thing to its parent: a value
 * (redisconn_ctx_with_value), a cancellation point (redisconn_ctx_with_cancel)
 * or a deadline (redisconn_ctx_with_deadline / _with_timeout). A context is
 * "done" once it, or any ancestor, has been canceled or has reached its
 * deadline; it then stays done forever with the same error.
 *
 * REFERENCES. Contexts are reference counted. Every function returning a
 * redisconn_ctx * hands the caller one new reference, to be dropped with
 * redisconn_ctx_unref(). A child holds a reference to its parent, so a parent
 * lives as long as any descendant. Functions taking a `const redisconn_ctx *`
 * or a borrowed `redisconn_ctx *` never keep it beyond the call unless they
 * say so (and then take their own reference).
 *
 * THREADS. A context tree belongs to its event_base and the thread running
 * it, like a pool. Deadline timers and done-listeners run on that loop.
 *
 * CLOCK. Deadlines are absolute milliseconds on the monotonic clock of the
 * tree's event_base (see redisconn_ctx_now_ms()), the clock its timers use.
 *
 * CALLBACK CONTRACT (libuv's rule). redisconn_ctx_on_done() either returns
 * NULL (the callback never fires) or a handle; then the callback fires exactly
 * once, from the loop, never inside the call that registered it — unless the
 * handle is removed first.
 */
#ifndef REDISCONN_CONTEXT_H
#define REDISCONN_CONTEXT_H

#include <stdint.h>

#include "common.h"
#include "server_status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;

/** A context node. Opaque, immutable, reference counted. */
typedef struct redisconn_ctx redisconn_ctx;
/** The right to cancel one context (Go's CancelFunc). Opaque. */
typedef struct redisconn_canceler redisconn_canceler;
/** A registered done-listener. Opaque; valid until its callback returns or it is removed. */
typedef struct redisconn_ctx_listener redisconn_ctx_listener;

/** Frees a value stored with redisconn_ctx_with_value(). */
typedef void (*redisconn_ctx_free_fn)(void *value);

/**
 * Done-listener callback. `ctx` is the context the listener was registered on
 * (borrowed: valid during the call; take a reference to keep it), `err` its
 * error (REDISCONN_ERR_CANCELED or REDISCONN_ERR_DEADLINE).
 */
typedef void (*redisconn_ctx_done_cb)(redisconn_ctx *ctx, int err, void *arg);

/**
 * Creates a root context bound to `base`: never done, no values, no deadline.
 * Returns a new reference, or NULL if `base` is NULL or memory is short.
 * `base` must outlive the context and every descendant.
 */
REDISCONN_EXPORT redisconn_ctx *redisconn_ctx_background(struct event_base *base);

/** Adds a reference to `ctx` and returns it (NULL stays NULL). */
REDISCONN_EXPORT redisconn_ctx *redisconn_ctx_ref(redisconn_ctx *ctx);

/**
 * Drops one reference. The last one frees the node: it stops its deadline
 * timer, calls the value's free function and drops its reference to the
 * parent. NULL is a no-op. Listeners and cancelers hold references, so a
 * context with a registered listener or an unused canceler is never freed.
 */
REDISCONN_EXPORT void redisconn_ctx_unref(redisconn_ctx *ctx);

/**
 * Derives a context carrying `value` under `key` (compared by address, so use
 * the address of a static object of yours). `free_fn` (may be NULL) is called
 * on `value` when the new node is freed. Returns a new reference, or NULL if
 * `parent` or `key` is NULL or memory is short — then `value` stays yours and
 * `free_fn` is not called. `parent` is borrowed; the child takes its own
 * reference.
 */
REDISCONN_EXPORT redisconn_ctx *redisconn_ctx_with_value(redisconn_ctx *parent, const void *key,
                                                         void *value,
                                                         redisconn_ctx_free_fn free_fn);

/**
 * Returns the value stored under `key` by the nearest node up the chain, or
 * NULL. The value is owned by that node and stays valid while `ctx` is.
 */
REDISCONN_EXPORT void *redisconn_ctx_value(const redisconn_ctx *ctx, const void *key);

/**
 * Derives a cancelable context. `*cancel` receives the canceler: call
 * redisconn_ctx_cancel() on it exactly once, when the work is over (it holds
 * a reference to the child). The child is also done when `parent` is, with
 * the parent's error. Returns a new reference, or NULL (and `*cancel` NULL) if
 * `parent` or `cancel` is NULL or memory is short.
 */
REDISCONN_EXPORT redisconn_ctx *redisconn_ctx_with_cancel(redisconn_ctx *parent,
                                                          redisconn_canceler **cancel);

/**
 * Derives a context that is done with REDISCONN_ERR_DEADLINE at `deadline_ms`
 * (see redisconn_ctx_now_ms()), through an evtimer on the tree's base. If the
 * parent's deadline is earlier, the parent's applies. A deadline already
 * passed makes the child done at once (its listeners still fire from the
 * loop). `cancel` may be NULL if you do not need to cancel early; otherwise it
 * receives a canceler as for redisconn_ctx_with_cancel(). Returns a new
 * reference, or NULL if `parent` is NULL or memory is short.
 */
REDISCONN_EXPORT redisconn_ctx *redisconn_ctx_with_deadline(redisconn_ctx *parent,
                                                            int64_t deadline_ms,
                                                            redisconn_canceler **cancel);

/** redisconn_ctx_with_deadline(parent, redisconn_ctx_now_ms(parent) + timeout_ms, cancel). */
REDISCONN_EXPORT redisconn_ctx *
redisconn_ctx_with_timeout(redisconn_ctx *parent, int64_t timeout_ms, redisconn_canceler **cancel);

/**
 * Cancels the canceler's context (and its descendants) with
 * REDISCONN_ERR_CANCELED unless it is already done, then frees the canceler
 * and drops its reference. Must be called exactly once per canceler; the
 * pointer is invalid afterwards. NULL is a no-op. Listeners fire from the
 * loop, never inside this call.
 */
REDISCONN_EXPORT void redisconn_ctx_cancel(redisconn_canceler *cancel);

/**
 * REDISCONN_OK while the context is not done; then REDISCONN_ERR_CANCELED or
 * REDISCONN_ERR_DEADLINE, forever.
 */
REDISCONN_EXPORT int redisconn_ctx_err(const redisconn_ctx *ctx);

/**
 * Returns 1 and stores the effective deadline (the earliest along the chain,
 * monotonic milliseconds) in `*out` if there is one; returns 0 otherwise.
 * `out` may be NULL.
 */
REDISCONN_EXPORT int redisconn_ctx_deadline(const redisconn_ctx *ctx, int64_t *out);

/** Now, in milliseconds on the monotonic clock deadlines of `ctx` use. */
REDISCONN_EXPORT int64_t redisconn_ctx_now_ms(const redisconn_ctx *ctx);

/** The event_base of the context's tree (borrowed). */
REDISCONN_EXPORT struct event_base *redisconn_ctx_base(const redisconn_ctx *ctx);

/**
 * Registers `cb` to run once when `ctx` is done. It runs from the loop: on the
 * loop pass after cancellation or the deadline, or on the next pass if `ctx`
 * is already done — never inside this call. The listener holds a reference
 * to `ctx` until it fires or is removed. A context that can never be done
 * (background and values only) keeps the listener until it is removed.
 * Returns the handle, or NULL if `ctx` or `cb` is NULL or memory is short
 * (then `cb` never fires).
 */
REDISCONN_EXPORT redisconn_ctx_listener *redisconn_ctx_on_done(redisconn_ctx *ctx,
                                                               redisconn_ctx_done_cb cb, void *arg);

/**
 * Removes a listener that has not fired: its callback will not run and the
 * handle is freed. Returns REDISCONN_OK, or REDISCONN_ERR_STATE when called
 * from the listener's own callback (it is freed when the callback returns).
 * A handle whose callback has returned must not be passed.
 */
REDISCONN_EXPORT int redisconn_ctx_listener_remove(redisconn_ctx_listener *listener);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_CONTEXT_H */
