/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libevent_adapter.h — binds a hiredis 0.14 redisAsyncContext to a libevent
 * event_base. Internal to redisconn; knows nothing of pools.
 *
 * Differences from <hiredis/adapters/libevent.h>:
 *  - the read event is persistent: registered once, never re-armed per reply;
 *  - commands do not register write interest: the first command of a loop
 *    iteration posts the connection's flush to the owner's defer queue (no
 *    syscall; one event for all connections of the queue), and every command
 *    queued before it runs goes out in one write(2). Write interest
 *    (EV_WRITE) is registered only while connecting or after a partial write;
 *  - a deadline timer, which hiredis 0.14 lacks; the owner uses it for the
 *    connect timeout and the command timeout;
 *  - writes of a connected context are send(2) with MSG_NOSIGNAL, and the one
 *    write hiredis makes itself (when the connect completes) runs with
 *    SIGPIPE blocked in the thread: a peer that went away never raises
 *    SIGPIPE in the caller's process, whatever its signal disposition;
 *  - the owner may take over reading (on_readable), e.g. to check replies
 *    before they are dispatched;
 *  - the context may be freed from inside any hiredis call the adapter makes
 *    (a reply callback freeing it, an I/O error); the adapter notices and never
 *    touches freed memory afterwards.
 */
#ifndef REDISCONN_LIBEVENT_ADAPTER_H
#define REDISCONN_LIBEVENT_ADAPTER_H

#include <stdint.h>

#include <hiredis/async.h>

#include "util/defer.h"

struct event_base;

typedef struct redisconn__adapter_hooks {
    /* The deadline set with redisconn__adapter_deadline() passed. Runs from the
     * loop, outside any hiredis call: the owner may free the context here. */
    void (*on_deadline)(void *owner);
    /* hiredis is freeing the context (after running pending callbacks with
     * NULL replies). The adapter's memory is already released; the owner must
     * not touch the context after returning and must not free it. */
    void (*on_cleanup)(void *owner);
    /* The connected socket is readable: the owner reads (redisBufferRead) and
     * dispatches the replies itself. NULL: hiredis's redisAsyncHandleRead(). */
    void (*on_readable)(void *owner);
} redisconn__adapter_hooks;

/* Attaches `ac` to `base`; flushes run from `defer`. Returns 0, or -1 on out
 * of memory or when `ac` already has an adapter. `hooks` and `defer` must
 * outlive the context. */
int redisconn__adapter_attach(redisAsyncContext *ac, struct event_base *base,
                              redisconn__defer *defer, const redisconn__adapter_hooks *hooks,
                              void *owner);

/* Arms the deadline timer to fire at `deadline_us` (redisconn__now_us() clock)
 * unless it is already armed for an earlier time. 0 disarms it. */
void redisconn__adapter_deadline(redisAsyncContext *ac, uint64_t deadline_us);

/* How many writes of `ac` may have sent bytes so far. A command queued when
 * this was N has surely not reached the server while it is still N: a reply
 * then cannot be its answer. */
uint64_t redisconn__adapter_writes(const redisAsyncContext *ac);

#endif
