/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redigo_bench.c — the redigo-style baseline: a deliberately simple
 * connection pool shaped like Go's github.com/gomodule/redigo redis.Pool (the
 * pool the seed's NewPool returns), written here, on hiredis 0.14 async with
 * hiredis's bundled libevent adapter (<hiredis/adapters/libevent.h>).
 *
 *   redigo_bench -p PORT -c CONCURRENCY -n TOTAL [-s POOL_MAX_ACTIVE]
 *
 * Closed loop exactly like `pool_bench -m leased`: CONCURRENCY requests in
 * flight, each get -> GET -> put. Same flags and result line (bench=redigo).
 *
 * What the pool does, and what redigo does in the same place:
 *  - get: if an idle connection exists, pop the most recently used one (LIFO,
 *    redigo's idle.popFront) and return it at once — redigo's Get returns
 *    synchronously, so the caller gets the connection from inside the call.
 *    Else, under max_active, dial a new one and return it at once (hiredis
 *    queues commands until the connect completes; redigo blocks in Dial).
 *    Else wait in a FIFO queue (redigo: a goroutine blocked on the p.ch token
 *    channel, whose receivers are served in FIFO order).
 *  - put: a broken connection is closed; otherwise stamped with the time
 *    (pc.t = nowFunc()) and handed to the oldest waiter, or pushed on the
 *    front of the idle list, closing the oldest idle one beyond max_idle.
 *  - IdleTimeout (3 min, the seed's) prunes stale connections from the back
 *    of the idle list on get; TestOnBorrow (the seed's: PING when idle over a
 *    minute) is checked on every idle pop. Both read the clock like redigo;
 *    neither fires in a benchmark run.
 *  - Not done, as redigo does not do it either: deferring callbacks to the
 *    loop, acquire timeouts (Get without a context deadline), pipelining.
 *    redigo's per-command state tracking (lookupCommandInfo) and its "Do("")"
 *    flush on Close are not reproduced: they cost it, not us.
 */
#include "bench_common.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <hiredis/adapters/libevent.h>
#pragma GCC diagnostic pop

/* ---- the redigo-style pool ------------------------------------------------ */

enum {
    RP_IDLE_TIMEOUT_US = 3 * 60 * 1000000, /* the seed's IdleTimeout */
    RP_TEST_ON_BORROW_US = 60 * 1000000,   /* the seed's TestOnBorrow: PING if idle > 1 min */
};

typedef struct rp_conn rp_conn;
typedef struct rp_waiter rp_waiter;

/* Called when a waiting get is handed a connection (or NULL: dial failed). */
typedef void (*rp_ready_cb)(rp_waiter *w, rp_conn *conn);

/* A waiting get; embedded in the caller's struct (a blocked goroutine). */
struct rp_waiter {
    rp_waiter *next;
    rp_ready_cb cb;
};

typedef struct rp_pool {
    struct event_base *base;
    const char *host;
    int port;
    int max_active, max_idle;
    int active; /* open connections: idle + leased */
    int idle_n;
    rp_conn *idle_front, *idle_back; /* front = most recently returned */
    rp_waiter *wait_head, *wait_tail;
    long dial_errors;
} rp_pool;

/* redigo's poolConn */
struct rp_conn {
    rp_pool *pool;
    redisAsyncContext *ac;
    uint64_t t; /* returned to the pool at */
    rp_conn *prev, *next;
    unsigned broken : 1;  /* connect failed or I/O error: close on put */
    unsigned in_idle : 1; /* on the idle list */
    unsigned closed : 1;  /* rp_close() ran: no longer counted in active */
    unsigned gone : 1;    /* hiredis freed (or is freeing) the context */
};

static void idle_unlink(rp_pool *p, rp_conn *pc);

/* hiredis frees the context right after this (only for connected contexts). */
static void rp_on_disconnect(const redisAsyncContext *ac, int status)
{
    rp_conn *pc = ac->data;
    (void)status;
    pc->gone = 1;
    pc->broken = 1;
    if (pc->in_idle) { /* the server closed an idle connection */
        idle_unlink(pc->pool, pc);
        pc->pool->active--;
        free(pc);
    } else if (pc->closed) {
        free(pc);
    } /* else leased: the owner's put frees it */
}

/* A failed connect: hiredis fails the queued commands, then frees the
 * context without calling the disconnect callback. */
static void rp_on_connect(const redisAsyncContext *ac, int status)
{
    rp_conn *pc = ac->data;
    if (status != REDIS_OK) {
        pc->broken = 1;
        pc->gone = 1;
        pc->pool->dial_errors++;
    }
}

static rp_conn *rp_dial(rp_pool *p)
{
    rp_conn *pc = calloc(1, sizeof(*pc));
    if (pc == NULL) return NULL;
    pc->pool = p;
    pc->ac = redisAsyncConnect(p->host, p->port);
    if (pc->ac == NULL || pc->ac->err) {
        if (pc->ac) redisAsyncFree(pc->ac);
        free(pc);
        p->dial_errors++;
        return NULL;
    }
    pc->ac->data = pc;
    redisLibeventAttach(pc->ac, p->base);
    redisAsyncSetConnectCallback(pc->ac, rp_on_connect);
    redisAsyncSetDisconnectCallback(pc->ac, rp_on_disconnect);
    return pc;
}

static void rp_close(rp_conn *pc)
{
    pc->pool->active--;
    pc->closed = 1;
    if (pc->gone)
        free(pc);
    else
        redisAsyncDisconnect(pc->ac); /* rp_on_disconnect frees pc */
}

static void idle_push_front(rp_pool *p, rp_conn *pc)
{
    pc->prev = NULL;
    pc->next = p->idle_front;
    if (p->idle_front) p->idle_front->prev = pc;
    p->idle_front = pc;
    if (p->idle_back == NULL) p->idle_back = pc;
    pc->in_idle = 1;
    p->idle_n++;
}

static void idle_unlink(rp_pool *p, rp_conn *pc)
{
    if (pc->prev)
        pc->prev->next = pc->next;
    else
        p->idle_front = pc->next;
    if (pc->next)
        pc->next->prev = pc->prev;
    else
        p->idle_back = pc->prev;
    pc->prev = pc->next = NULL;
    pc->in_idle = 0;
    p->idle_n--;
}

static void rp_borrow_ping_done(redisAsyncContext *ac, void *reply, void *arg);

/* Pops an idle connection that passes the checks, or returns NULL. May defer
 * (returns NULL, *deferred = 1) when TestOnBorrow has to PING first. */
static rp_conn *rp_take_idle(rp_pool *p, rp_waiter *w, int *deferred)
{
    uint64_t now = bench_now_us();
    /* prune stale connections at the back (redigo: IdleTimeout) */
    while (p->idle_back && now - p->idle_back->t > (uint64_t)RP_IDLE_TIMEOUT_US) {
        rp_conn *pc = p->idle_back;
        idle_unlink(p, pc);
        rp_close(pc);
    }
    while (p->idle_front) {
        rp_conn *pc = p->idle_front;
        idle_unlink(p, pc);
        if (pc->broken || pc->ac->err) {
            rp_close(pc);
            continue;
        }
        if (now - pc->t >= (uint64_t)RP_TEST_ON_BORROW_US) { /* TestOnBorrow */
            if (redisAsyncCommand(pc->ac, rp_borrow_ping_done, w, "PING") == REDIS_OK) {
                *deferred = 1;
                return NULL;
            }
            rp_close(pc);
            continue;
        }
        return pc;
    }
    return NULL;
}

enum { RP_NOW, RP_LATER, RP_ERROR };

/*
 * Get: RP_NOW with *out set (like redigo's Get returning), RP_LATER when `w`
 * waits (its callback receives the connection, FIFO), RP_ERROR if a dial
 * could not even start.
 */
static int rp_get(rp_pool *p, rp_waiter *w, rp_ready_cb cb, rp_conn **out)
{
    int deferred = 0;
    w->cb = cb;
    *out = rp_take_idle(p, w, &deferred);
    if (*out != NULL) return RP_NOW;
    if (deferred) return RP_LATER;
    if (p->max_active == 0 || p->active < p->max_active) {
        *out = rp_dial(p);
        if (*out == NULL) return RP_ERROR;
        p->active++;
        return RP_NOW;
    }
    w->next = NULL;
    if (p->wait_tail)
        p->wait_tail->next = w;
    else
        p->wait_head = w;
    p->wait_tail = w;
    return RP_LATER;
}

static rp_waiter *rp_pop_waiter(rp_pool *p)
{
    rp_waiter *w = p->wait_head;
    if (w == NULL) return NULL;
    p->wait_head = w->next;
    if (p->wait_head == NULL) p->wait_tail = NULL;
    return w;
}

/* Put: hand-off to the oldest waiter, else back on the idle list. */
static void rp_put(rp_conn *pc)
{
    rp_pool *p = pc->pool;
    rp_waiter *w;
    if (pc->broken || pc->ac->err) {
        rp_close(pc);
        w = rp_pop_waiter(p); /* its token is free again: it dials */
        if (w != NULL) {
            rp_conn *fresh = rp_dial(p);
            if (fresh != NULL) p->active++;
            w->cb(w, fresh);
        }
        return;
    }
    pc->t = bench_now_us();
    w = rp_pop_waiter(p);
    if (w != NULL) {
        w->cb(w, pc);
        return;
    }
    idle_push_front(p, pc);
    if (p->idle_n > p->max_idle) {
        rp_conn *old = p->idle_back;
        idle_unlink(p, old);
        rp_close(old);
    }
}

static void rp_borrow_ping_done(redisAsyncContext *ac, void *reply, void *arg)
{
    rp_waiter *w = arg;
    rp_conn *pc = ac->data;
    rp_pool *p = pc->pool;
    rp_conn *next;
    int deferred = 0;
    redisReply *r = reply;
    if (r != NULL && r->type != REDIS_REPLY_ERROR) {
        w->cb(w, pc);
        return;
    }
    rp_close(pc); /* redigo: TestOnBorrow failed, close and try the next one */
    next = rp_take_idle(p, w, &deferred);
    if (next == NULL && !deferred) {
        next = rp_dial(p);
        if (next != NULL) p->active++;
    }
    if (!deferred) w->cb(w, next);
}

/* Closes the idle connections (the end of the run). */
static void rp_close_idle(rp_pool *p)
{
    while (p->idle_front) {
        rp_conn *pc = p->idle_front;
        idle_unlink(p, pc);
        rp_close(pc);
    }
}

/* ---- the closed-loop benchmark, as in pool_bench -m leased ----------------- */

typedef struct bench {
    struct event_base *base;
    rp_pool pool;
    bench_args args;
    bench_count n;
} bench;

typedef struct client {
    rp_waiter w; /* first: the waiter callback finds the client from it */
    bench *b;
    uint64_t t0;
} client;

static void start_one(client *c);

static void complete(client *c, int ok)
{
    bench *b = c->b;
    int next = bench_record(&b->n, &b->args, c->t0, ok);
    if (next == BENCH_START_NEXT)
        start_one(c);
    else if (next == BENCH_ALL_DONE)
        rp_close_idle(&b->pool);
}

static void on_get(redisAsyncContext *ac, void *reply, void *arg)
{
    client *c = arg;
    redisReply *r = reply;
    rp_put(ac->data);
    complete(c, r != NULL && r->type != REDIS_REPLY_ERROR);
}

static void send_get(client *c, rp_conn *pc)
{
    if (pc == NULL) {
        complete(c, 0);
        return;
    }
    if (redisAsyncCommand(pc->ac, on_get, c, "GET %s", "bench:key") != REDIS_OK) {
        rp_put(pc);
        complete(c, 0);
    }
}

static void on_ready(rp_waiter *w, rp_conn *pc)
{
    send_get((client *)(void *)w, pc);
}

static void start_one(client *c)
{
    bench *b = c->b;
    rp_conn *pc;
    b->n.started++;
    c->t0 = bench_now_us();
    switch (rp_get(&b->pool, &c->w, on_ready, &pc)) {
    case RP_NOW:
        send_get(c, pc);
        break;
    case RP_ERROR:
        complete(c, 0);
        break;
    default: /* waits: on_ready follows */
        break;
    }
}

int main(int argc, char **argv)
{
    bench b;
    client *clients;

    memset(&b, 0, sizeof(b));
    b.args = bench_parse(argc, argv, "leased", "leased");
    if (strcmp(b.args.mode, "leased") != 0) {
        fprintf(stderr, "redigo_bench: unknown mode '%s'\n", b.args.mode);
        return 2;
    }
    b.base = event_base_new();
    b.pool.base = b.base;
    b.pool.host = b.args.host;
    b.pool.port = b.args.port;
    b.pool.max_active = b.args.pool_size;
    b.pool.max_idle = b.args.pool_size;
    clients = calloc((size_t)b.args.concurrency, sizeof(*clients));
    bench_begin(&b.n, &b.args);
    for (int i = 0; i < b.args.concurrency && b.n.started < b.args.total; i++) {
        clients[i].b = &b;
        start_one(&clients[i]);
    }
    event_base_dispatch(b.base);
    if (b.pool.dial_errors) fprintf(stderr, "redigo_bench: %ld dials failed\n", b.pool.dial_errors);
    bench_report("redigo", &b.args, &b.n);
    free(clients);
    event_base_free(b.base);
    return b.n.errors ? 1 : 0;
}
