/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * defer.h: a queue of work to run from the event loop, soon.
 *
 * Every callback the library owes its caller fires from the loop, never from
 * inside the call that decided it (libuv's rule). Instead of one libevent
 * event per object (or per operation), an owner keeps one queue per
 * event_base it runs on — the pool has one for itself, its connections and
 * their adapters; the server layer one per root context — and objects embed
 * an item they post to it. Posting is O(1) and costs at most one
 * event_active() per loop pass, however many items are posted.
 *
 * A pass detaches the queue, then runs what it detached (libuv's
 * uv__write_callbacks): items posted while it runs go to the next pass, so a
 * callback that posts again cannot starve the loop.
 */
#ifndef REDISCONN_UTIL_DEFER_H
#define REDISCONN_UTIL_DEFER_H

#include "util/list.h"

struct event;
struct event_base;

typedef struct redisconn__defer_item redisconn__defer_item;

/* Runs the item's deferred work. The item is no longer queued when this is
 * called: it may be posted again, and its owner may free it. */
typedef void (*redisconn__defer_fn)(redisconn__defer_item *item);

/* Embedded in the object that defers work; zero-initialized = not queued. */
struct redisconn__defer_item {
    redisconn__link link;
    redisconn__defer_fn fn;
};

typedef struct redisconn__defer {
    struct event *ev;       /* EV_PERSIST, never added: made active by posts */
    redisconn__link queue;  /* items of the next pass */
    redisconn__link *batch; /* items of the pass running now, NULL between passes */
    int *gone;              /* set through when the queue is destroyed by an item */
    unsigned active : 1;    /* ev is active: the next pass is scheduled */
} redisconn__defer;

/* Prepares an empty queue on `base`. Returns 0, or -1 when out of memory
 * (then `q` holds nothing to destroy). */
int redisconn__defer_init(redisconn__defer *q, struct event_base *base);

/* Frees the queue's event. Items still queued are unlinked and never run;
 * their owners must not expect their callbacks. Safe to call from an item's
 * callback (the running pass stops at once). */
void redisconn__defer_destroy(redisconn__defer *q);

/* Queues `item` to run `fn` on the next pass. An item already queued stays
 * where it is (with its first `fn`). No syscall; can't fail. */
void redisconn__defer_post(redisconn__defer *q, redisconn__defer_item *item,
                           redisconn__defer_fn fn);

/* Takes `item` off its queue, if queued; its work will not run. */
static inline void redisconn__defer_cancel(redisconn__defer_item *item)
{
    redisconn__list_remove(&item->link);
}

/* True while `item` waits for a pass. */
static inline int redisconn__defer_queued(const redisconn__defer_item *item)
{
    return redisconn__linked(&item->link);
}

#endif
