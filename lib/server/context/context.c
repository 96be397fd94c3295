/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * context.c: immutable, reference-counted contexts with values, cancellation
 * and deadlines (see redisconn/context.h).
 *
 * Structure. Every node points to its parent (a reference), to its `owner`
 * — the nearest cancelable node up the chain, itself included, or the
 * background root — and to the root. Only owners carry state that changes:
 * their error, their waiting listeners and their cancelable children. A value
 * node asks its owner. Cancellation walks down the children lists.
 *
 * Deferral. The root owns the tree's defer queue (util/defer.h), the one
 * queue of the tree's event_base for the whole server layer: done-listeners
 * post themselves to it, and so do the context operations (ctxop.c), the
 * server's shutdown steps (host/shutdown.c) — whatever holds a reference to
 * a context of the tree while its item is queued, which keeps the root and
 * its queue alive (context/internal.h).
 */
#include "server/context/internal.h"
#include "util/clock.h"
#include "util/list.h"
#include "util/timer.h"

#include <assert.h>
#include <stdlib.h>
#include <sys/time.h>

#include <event2/event.h>

enum ctx_kind { CTX_BACKGROUND, CTX_VALUE, CTX_CANCEL };

enum listener_state {
    LISTENER_WAITING, /* on its owner's listeners: the context is not done */
    LISTENER_QUEUED,  /* posted to the root's defer queue */
    LISTENER_RUNNING, /* its callback runs; freed when it returns */
};

struct redisconn_canceler {
    redisconn_ctx *ctx;
};

struct redisconn_ctx_listener {
    redisconn__link node;       /* owner->listeners while waiting */
    redisconn__defer_item item; /* in the root's defer queue once queued */
    redisconn_ctx *ctx;         /* reference: keeps the root and its queue alive */
    redisconn_ctx_done_cb cb;
    void *arg;
    enum listener_state state;
};

struct redisconn_ctx {
    unsigned refs;
    enum ctx_kind kind;
    redisconn_ctx *parent; /* reference; NULL for the root */
    redisconn_ctx *owner;  /* ancestor-or-self, kept alive by the parent chain */
    redisconn_ctx *root;   /* ditto */
    int has_deadline;
    int64_t deadline_ms; /* effective (earliest along the chain) */
    /* CTX_VALUE */
    const void *key;
    void *value;
    redisconn_ctx_free_fn free_fn;
    /* owners: CTX_CANCEL (and the root, which is never done) */
    int err;
    redisconn__link children;  /* CTX_CANCEL nodes owned by this one, not yet done */
    redisconn__link sibling;   /* in the parent owner's children */
    redisconn__link listeners; /* waiting for this node to be done */
    redisconn__timer timer;    /* the deadline of a _with_deadline node (unarmed elsewhere) */
    redisconn_canceler canceler;
};

/* A CTX_BACKGROUND node: the root of a tree and what only the root has. */
typedef struct ctx_root {
    redisconn_ctx node; /* first: a root's node and the root convert by casts */
    struct event_base *base;
    redisconn__defer defer; /* the tree's defer queue */
} ctx_root;

static ctx_root *root_of(const redisconn_ctx *c)
{
    return (ctx_root *)(void *)c->root;
}

static void on_deadline(void *arg);

/* Allocates `size` bytes for a node under `parent` (NULL: a root),
 * inheriting root, owner and deadline. */
static redisconn_ctx *node_new(redisconn_ctx *parent, enum ctx_kind kind, size_t size)
{
    redisconn_ctx *c = calloc(1, size);
    if (c == NULL) return NULL;
    c->refs = 1;
    c->kind = kind;
    redisconn__list_init(&c->children);
    redisconn__list_init(&c->listeners);
    if (parent == NULL) return c;
    c->parent = redisconn_ctx_ref(parent);
    c->root = parent->root;
    c->owner = kind == CTX_CANCEL ? c : parent->owner;
    c->has_deadline = parent->has_deadline;
    c->deadline_ms = parent->deadline_ms;
    redisconn__timer_init(&c->timer, root_of(parent)->base, on_deadline, c);
    return c;
}

/* Frees one node whose last reference is gone (never a node with children
 * or listeners: those hold references to it). Freeing the root destroys its
 * defer queue, possibly from inside one of its passes (defer.h allows it):
 * nothing is queued then, since every queued item holds a reference. */
static void node_free(redisconn_ctx *c)
{
    assert(redisconn__list_empty(&c->listeners) && redisconn__list_empty(&c->children));
    redisconn__timer_destroy(&c->timer);
    redisconn__list_remove(&c->sibling);
    if (c->free_fn) c->free_fn(c->value);
    if (c->kind == CTX_BACKGROUND) redisconn__defer_destroy(&root_of(c)->defer);
    free(c);
}

/* A root node: never done; owns its tree's defer queue. */
redisconn_ctx *redisconn_ctx_background(struct event_base *base)
{
    ctx_root *r;
    redisconn_ctx *c;
    if (base == NULL) return NULL;
    c = node_new(NULL, CTX_BACKGROUND, sizeof(ctx_root));
    if (c == NULL) return NULL;
    c->owner = c->root = c;
    r = root_of(c);
    r->base = base;
    redisconn__timer_init(&c->timer, base, on_deadline, c); /* never armed */
    if (redisconn__defer_init(&r->defer, base) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

/* The root's queue: any node of the tree leads to it. */
redisconn__defer *redisconn__context_defer(const redisconn_ctx *ctx)
{
    return &root_of(ctx)->defer;
}

/* One more reference; NULL stays NULL. */
redisconn_ctx *redisconn_ctx_ref(redisconn_ctx *ctx)
{
    if (ctx != NULL) ctx->refs++;
    return ctx;
}

/* Frees up the chain iteratively, so long chains cannot overflow the stack. */
void redisconn_ctx_unref(redisconn_ctx *ctx)
{
    while (ctx != NULL && --ctx->refs == 0) {
        redisconn_ctx *parent = ctx->parent;
        node_free(ctx);
        ctx = parent;
    }
}

/*
 * A due listener, run by the root's defer queue: its callback, then it is
 * freed. Dropping its reference may free the whole tree, queue included.
 */
static void on_listener_due(redisconn__defer_item *item)
{
    redisconn_ctx_listener *lis = REDISCONN_CONTAINER_OF(item, redisconn_ctx_listener, item);
    redisconn_ctx *ctx = lis->ctx;
    assert(lis->state == LISTENER_QUEUED);
    lis->state = LISTENER_RUNNING;
    lis->cb(ctx, redisconn_ctx_err(ctx), lis->arg);
    free(lis);
    redisconn_ctx_unref(ctx);
}

/* Posts a listener whose context is done; it runs on the next pass. */
static void listener_queue(redisconn_ctx_listener *lis)
{
    lis->state = LISTENER_QUEUED;
    redisconn__defer_post(redisconn__context_defer(lis->ctx), &lis->item, on_listener_due);
}

/*
 * Makes an owner node and its cancelable descendants done with `err`: stops
 * timers, queues listeners for the loop. Calls no user code.
 */
static void ctx_finish(redisconn_ctx *c, int err)
{
    redisconn__link *l;
    if (c->err != REDISCONN_OK) return;
    c->err = err;
    redisconn__timer_disarm(&c->timer);
    while ((l = redisconn__list_first(&c->listeners)) != NULL) {
        redisconn__list_remove(l);
        listener_queue(REDISCONN_CONTAINER_OF(l, redisconn_ctx_listener, node));
    }
    while ((l = redisconn__list_first(&c->children)) != NULL) {
        redisconn__list_remove(l);
        ctx_finish(REDISCONN_CONTAINER_OF(l, redisconn_ctx, sibling), err);
    }
}

redisconn_ctx *redisconn_ctx_with_value(redisconn_ctx *parent, const void *key, void *value,
                                        redisconn_ctx_free_fn free_fn)
{
    redisconn_ctx *c;
    if (parent == NULL || key == NULL) return NULL;
    c = node_new(parent, CTX_VALUE, sizeof(*c));
    if (c == NULL) return NULL;
    c->key = key;
    c->value = value;
    c->free_fn = free_fn;
    return c;
}

/* Walks up the chain: the nearest node with `key` wins. */
void *redisconn_ctx_value(const redisconn_ctx *ctx, const void *key)
{
    for (const redisconn_ctx *c = ctx; c != NULL; c = c->parent)
        if (c->kind == CTX_VALUE && c->key == key) return c->value;
    return NULL;
}

/* A cancelable node under `parent`: done at once if the parent is, else
 * linked into the parent owner's children (the root never cancels). */
static redisconn_ctx *cancel_node_new(redisconn_ctx *parent)
{
    redisconn_ctx *c = node_new(parent, CTX_CANCEL, sizeof(*c));
    redisconn_ctx *owner = parent->owner;
    if (c == NULL) return NULL;
    if (owner->err != REDISCONN_OK)
        c->err = owner->err;
    else if (owner->kind == CTX_CANCEL)
        redisconn__list_push_back(&owner->children, &c->sibling);
    return c;
}

/* Hands out the node's canceler, which holds a reference. */
static void give_canceler(redisconn_ctx *c, redisconn_canceler **cancel)
{
    c->canceler.ctx = redisconn_ctx_ref(c);
    *cancel = &c->canceler;
}

/* A cancelable child and its canceler (which holds a reference). */
redisconn_ctx *redisconn_ctx_with_cancel(redisconn_ctx *parent, redisconn_canceler **cancel)
{
    redisconn_ctx *c;
    if (cancel != NULL) *cancel = NULL;
    if (parent == NULL || cancel == NULL) return NULL;
    c = cancel_node_new(parent);
    if (c == NULL) return NULL;
    give_canceler(c, cancel);
    return c;
}

/* The deadline timer: finishes the node (and its subtree) with DEADLINE. */
static void on_deadline(void *arg)
{
    ctx_finish(arg, REDISCONN_ERR_DEADLINE);
}

/* Arms the node's deadline timer for the time left on the base's clock, or
 * finishes it if the deadline passed. -1 when out of memory. */
static int arm_deadline(redisconn_ctx *c, int64_t deadline_ms)
{
    int64_t rem = deadline_ms - redisconn_ctx_now_ms(c);
    c->has_deadline = 1;
    c->deadline_ms = deadline_ms;
    if (c->err != REDISCONN_OK) return 0;
    if (rem <= 0) {
        ctx_finish(c, REDISCONN_ERR_DEADLINE);
        return 0;
    }
    return redisconn__timer_arm(&c->timer, redisconn__deadline_after(rem));
}

redisconn_ctx *redisconn_ctx_with_deadline(redisconn_ctx *parent, int64_t deadline_ms,
                                           redisconn_canceler **cancel)
{
    redisconn_ctx *c;
    if (cancel != NULL) *cancel = NULL;
    if (parent == NULL) return NULL;
    c = cancel_node_new(parent);
    if (c == NULL) return NULL;
    if ((!parent->has_deadline || deadline_ms < parent->deadline_ms) &&
        arm_deadline(c, deadline_ms) != 0) {
        redisconn_ctx_unref(c);
        return NULL;
    }
    if (cancel != NULL) give_canceler(c, cancel);
    return c;
}

redisconn_ctx *redisconn_ctx_with_timeout(redisconn_ctx *parent, int64_t timeout_ms,
                                          redisconn_canceler **cancel)
{
    if (cancel != NULL) *cancel = NULL;
    if (parent == NULL) return NULL;
    return redisconn_ctx_with_deadline(parent, redisconn_ctx_now_ms(parent) + timeout_ms, cancel);
}

/* Cancels unless already done, then drops the canceler's reference. */
void redisconn_ctx_cancel(redisconn_canceler *cancel)
{
    redisconn_ctx *c;
    if (cancel == NULL) return;
    c = cancel->ctx;
    cancel->ctx = NULL;
    ctx_finish(c, REDISCONN_ERR_CANCELED);
    redisconn_ctx_unref(c);
}

/* The owner's error: OK until done, then fixed forever. */
int redisconn_ctx_err(const redisconn_ctx *ctx)
{
    return ctx ? ctx->owner->err : REDISCONN_ERR_INVALID;
}

/* The effective deadline, inherited down the chain. */
int redisconn_ctx_deadline(const redisconn_ctx *ctx, int64_t *out)
{
    if (ctx == NULL || !ctx->has_deadline) return 0;
    if (out) *out = ctx->deadline_ms;
    return 1;
}

/* The base's monotonic clock, the one its timers use. */
int64_t redisconn_ctx_now_ms(const redisconn_ctx *ctx)
{
    struct timeval tv = {0, 0};
    if (ctx == NULL || event_gettime_monotonic(root_of(ctx)->base, &tv) != 0) return 0;
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* The base of the root. */
struct event_base *redisconn_ctx_base(const redisconn_ctx *ctx)
{
    return ctx ? root_of(ctx)->base : NULL;
}

redisconn_ctx_listener *redisconn_ctx_on_done(redisconn_ctx *ctx, redisconn_ctx_done_cb cb,
                                              void *arg)
{
    redisconn_ctx_listener *lis;
    redisconn_ctx *owner;
    if (ctx == NULL || cb == NULL) return NULL;
    lis = calloc(1, sizeof(*lis));
    if (lis == NULL) return NULL;
    lis->ctx = redisconn_ctx_ref(ctx);
    lis->cb = cb;
    lis->arg = arg;
    owner = ctx->owner;
    if (owner->err == REDISCONN_OK) {
        lis->state = LISTENER_WAITING;
        redisconn__list_push_back(&owner->listeners, &lis->node);
    } else {
        listener_queue(lis);
    }
    return lis;
}

/* Unlinks and frees a listener that is not running; it will never fire. */
int redisconn_ctx_listener_remove(redisconn_ctx_listener *listener)
{
    redisconn_ctx *ctx;
    if (listener == NULL) return REDISCONN_ERR_INVALID;
    if (listener->state == LISTENER_RUNNING) return REDISCONN_ERR_STATE;
    ctx = listener->ctx;
    redisconn__list_remove(&listener->node);  /* WAITING */
    redisconn__defer_cancel(&listener->item); /* QUEUED */
    free(listener);
    redisconn_ctx_unref(ctx);
    return REDISCONN_OK;
}
