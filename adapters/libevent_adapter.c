/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libevent_adapter.c — see libevent_adapter.h for what this binding does
 * differently from hiredis's bundled libevent adapter, and why.
 */
#include "adapters/libevent_adapter.h"
#include "util/timer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <hiredis/sds.h>

typedef struct ev_adapter {
    redisAsyncContext *ac;
    struct event *rd; /* EV_READ | EV_PERSIST, added once */
    struct event *wr; /* EV_WRITE | EV_PERSIST, added only while connecting / partial write */
    redisconn__defer *defer;
    redisconn__defer_item flush; /* posted by the first command of an iteration */
    redisconn__timer timer;      /* the owner's deadline */
    const redisconn__adapter_hooks *hooks;
    void *owner;
    int *destroyed; /* points at a stack flag while a hiredis call is running */
    unsigned reading : 1;
    unsigned writing : 1;
} ev_adapter;

/*
 * Guards around calls that may free the context. hiredis can free it from
 * inside redisAsyncHandleRead/Write (I/O error, EOF, a reply callback that
 * asked for a free); the cleanup hook then sets *destroyed. Guards nest: an
 * inner destruction is propagated to the outer flag.
 */
typedef struct guard {
    int destroyed;
    int *saved;
} guard;

static void guard_enter(ev_adapter *e, guard *g)
{
    g->destroyed = 0;
    g->saved = e->destroyed;
    e->destroyed = &g->destroyed;
}

/* Returns 1 when the adapter is gone and must not be touched. */
static int guard_leave(ev_adapter *e, guard *g)
{
    if (g->destroyed) {
        if (g->saved) *g->saved = 1;
        return 1;
    }
    e->destroyed = g->saved;
    return 0;
}

static void handle_write(ev_adapter *e);

/* Once connected, the owner reads and dispatches (on_readable); before, hiredis
 * finishes the connect. */
static void on_read(evutil_socket_t fd, short what, void *arg)
{
    ev_adapter *e = arg;
    guard g;
    (void)fd;
    (void)what;
    guard_enter(e, &g);
    if (e->hooks->on_readable == NULL) {
        redisAsyncHandleRead(e->ac);
    } else {
        /* Readable before the connect was seen complete (a server that talks
         * first, e.g. "max number of clients"): complete it the way a
         * writable socket would — hiredis must not dispatch the reply. */
        if (!(e->ac->c.flags & REDIS_CONNECTED)) handle_write(e);
        if (!g.destroyed && (e->ac->c.flags & REDIS_CONNECTED)) e->hooks->on_readable(e->owner);
    }
    guard_leave(e, &g);
}

/*
 * hiredis writes with write(2), which raises SIGPIPE when the peer has gone.
 * Around the one write hiredis makes itself (the first, when the connect
 * completes) SIGPIPE is blocked in this thread and a SIGPIPE it raised is
 * consumed, as libcurl does; the process's disposition is never touched.
 */
typedef struct sigpipe_guard {
    sigset_t old;
    int was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *sg)
{
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &sg->old);
    sigpending(&pending);
    sg->was_pending = sigismember(&pending, SIGPIPE);
}

static void sigpipe_unblock(const sigpipe_guard *sg)
{
    sigset_t pipe, pending;
    struct timespec zero = {0, 0};
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    if (!sg->was_pending && sigismember(&pending, SIGPIPE)) sigtimedwait(&pipe, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, &sg->old, NULL);
}

/* An output buffer up to this size is kept from write to write. */
enum { OBUF_KEEP = 16 * 1024 };

/* Our own redisBufferWrite: send(2) with MSG_NOSIGNAL, so a peer that went
 * away gives EPIPE, never a signal. Returns 1 when everything was written. */
static int send_obuf(redisContext *c)
{
    size_t len = sdslen(c->obuf);
    ssize_t n;
    if (len == 0) return 1;
    n = send(c->fd, c->obuf, len, MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        c->err = REDIS_ERR_IO;
        snprintf(c->errstr, sizeof(c->errstr), "%s", strerror(errno));
        return -1;
    }
    if ((size_t)n == len) {
        if (sdsalloc(c->obuf) <= OBUF_KEEP) { /* keep the buffer: no regrowth per write */
            sdsclear(c->obuf);
            return 1;
        }
        sdsfree(c->obuf); /* after a large value: give the memory back */
        c->obuf = sdsempty();
        return c->obuf != NULL ? 1 : -1;
    }
    sdsrange(c->obuf, (int)n, -1); /* n < len: an sds length fits */
    return 0;
}

/* Registers or drops write interest (EV_WRITE), idempotently. */
static void want_write(ev_adapter *e, int on)
{
    if (on && !e->writing) {
        if (event_add(e->wr, NULL) == 0) e->writing = 1;
    } else if (!on && e->writing) {
        event_del(e->wr);
        e->writing = 0;
    }
}

/* Writes what hiredis has buffered: through hiredis while connecting (it
 * checks the connect's outcome first), then ourselves with MSG_NOSIGNAL. What
 * does not fit waits for EV_WRITE. */
static void handle_write(ev_adapter *e)
{
    redisContext *c = &e->ac->c;
    int done;
    if (!(c->flags & REDIS_CONNECTED)) {
        sigpipe_guard sg;
        guard g;
        guard_enter(e, &g);
        sigpipe_block(&sg);
        redisAsyncHandleWrite(e->ac);
        sigpipe_unblock(&sg);
        guard_leave(e, &g);
        return;
    }
    done = c->err ? -1 : send_obuf(c);
    if (done < 0) { /* pending callbacks fail with IO; the cleanup hook follows */
        guard g;
        guard_enter(e, &g);
        redisAsyncFree(e->ac);
        guard_leave(e, &g);
        return;
    }
    want_write(e, !done);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    handle_write(arg);
}

/* Runs once per loop iteration in which commands were queued: one write(2)
 * carries every command queued since the last flush. */
static void on_flush(redisconn__defer_item *item)
{
    ev_adapter *e = REDISCONN_CONTAINER_OF(item, ev_adapter, flush);
    if (e->writing) return; /* EV_WRITE is registered and will send everything */
    handle_write(e);
}

static void on_timer(void *arg)
{
    ev_adapter *e = arg;
    guard g;
    guard_enter(e, &g);
    e->hooks->on_deadline(e->owner);
    guard_leave(e, &g);
}

static void ev_add_read(void *privdata)
{
    ev_adapter *e = privdata;
    if (e->reading) return;
    if (event_add(e->rd, NULL) == 0) e->reading = 1;
}

static void ev_del_read(void *privdata)
{
    ev_adapter *e = privdata;
    if (!e->reading) return;
    event_del(e->rd);
    e->reading = 0;
}

/* hiredis calls this for every command. Before the connection is up it
 * registers EV_WRITE (the connect completes on it); after, it only makes sure
 * a flush runs this loop iteration. */
static void ev_add_write(void *privdata)
{
    ev_adapter *e = privdata;
    if (e->writing) return;
    if (!(e->ac->c.flags & REDIS_CONNECTED)) {
        want_write(e, 1);
        return;
    }
    redisconn__defer_post(e->defer, &e->flush, on_flush);
}

static void ev_del_write(void *privdata)
{
    want_write(privdata, 0);
}

static void free_adapter(ev_adapter *e)
{
    redisconn__defer_cancel(&e->flush);
    redisconn__timer_destroy(&e->timer);
    if (e->rd) event_free(e->rd);
    if (e->wr) event_free(e->wr);
    free(e);
}

/* hiredis is freeing the context: drop our events and tell the owner. */
static void ev_cleanup(void *privdata)
{
    ev_adapter *e = privdata;
    const redisconn__adapter_hooks *hooks = e->hooks;
    void *owner = e->owner;
    if (e->destroyed) *e->destroyed = 1;
    e->ac->ev.data = NULL;
    free_adapter(e);
    hooks->on_cleanup(owner);
}

int redisconn__adapter_attach(redisAsyncContext *ac, struct event_base *base,
                              redisconn__defer *defer, const redisconn__adapter_hooks *hooks,
                              void *owner)
{
    ev_adapter *e;
    evutil_socket_t fd = ac->c.fd;

    if (ac->ev.data != NULL) return -1;
    e = calloc(1, sizeof(*e));
    if (e == NULL) return -1;
    e->ac = ac;
    e->defer = defer;
    e->hooks = hooks;
    e->owner = owner;
    redisconn__timer_init(&e->timer, base, on_timer, e);
    e->rd = event_new(base, fd, EV_READ | EV_PERSIST, on_read, e);
    e->wr = event_new(base, fd, EV_WRITE | EV_PERSIST, on_write, e);
    if (!e->rd || !e->wr) {
        free_adapter(e);
        return -1;
    }
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    ac->ev.data = e;
    return 0;
}

void redisconn__adapter_deadline(redisAsyncContext *ac, uint64_t deadline_us)
{
    ev_adapter *e = ac->ev.data;
    if (e == NULL) return;
    if (deadline_us == 0) {
        redisconn__timer_disarm(&e->timer);
        return;
    }
    redisconn__timer_arm(&e->timer, deadline_us);
}
