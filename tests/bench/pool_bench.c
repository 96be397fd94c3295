/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pool_bench.c — closed-loop benchmark of the redisconn pool.
 *
 *   pool_bench -p PORT -c CONCURRENCY -n TOTAL [-s POOL_MAX_ACTIVE] [-m leased|command]
 *   pool_bench -a ADDRESS ...   (any address the pool takes: redis://..., unix://...,
 *                                sentinel://host:port[,host:port...]/mymaster)
 *
 * CONCURRENCY requests are kept in flight; each is acquire -> GET -> release
 * (mode "leased") or one pool-level GET (mode "command": no lease, commands
 * multiplexed and pipelined on shared connections). The last output line
 * contains ops_per_sec=N. A request whose callback fires twice aborts the
 * run, so a run that finishes had every callback exactly once.
 */
#include "bench_common.h"

#include <event2/event.h>

#include "redisconn/pool.h"

typedef struct bench {
    struct event_base *base;
    redisconn_pool *pool;
    bench_args args;
    bench_count n;
    int command_mode;
} bench;

typedef struct client {
    bench *b;
    uint64_t t0;
    int busy; /* a request in flight: one callback due */
} client;

static void start_one(client *c);

static void on_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    event_base_loopbreak(((bench *)arg)->base);
}

/* One request finished: record it, and start the next or wind down. */
static void complete(client *c, int ok)
{
    bench *b = c->b;
    int next;
    if (!c->busy) {
        fprintf(stderr, "pool_bench: a callback fired twice\n");
        abort();
    }
    c->busy = 0;
    next = bench_record(&b->n, &b->args, c->t0, ok);
    if (next == BENCH_START_NEXT)
        start_one(c);
    else if (next == BENCH_ALL_DONE)
        redisconn_pool_close(b->pool, on_closed, b);
}

static void on_get(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    (void)reply;
    redisconn_release(conn);
    complete(arg, status == REDISCONN_OK);
}

static void on_acquired(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    client *c = arg;
    (void)errmsg;
    if (status != REDISCONN_OK ||
        redisconn_command(conn, on_get, c, "GET %s", "bench:key") != REDISCONN_OK) {
        redisconn_release(conn);
        complete(c, 0);
    }
}

static void on_pool_get(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    (void)conn;
    (void)reply;
    complete(arg, status == REDISCONN_OK);
}

static void start_one(client *c)
{
    bench *b = c->b;
    b->n.started++;
    c->busy = 1;
    c->t0 = bench_now_us();
    if (b->command_mode) {
        if (redisconn_pool_command(b->pool, 0, on_pool_get, c, "GET %s", "bench:key") !=
            REDISCONN_OK)
            complete(c, 0);
        return;
    }
    if (redisconn_pool_acquire(b->pool, 10000, on_acquired, c) == NULL) complete(c, 0);
}

int main(int argc, char **argv)
{
    bench b;
    char addr[128];
    redisconn_pool_options o;
    redisconn_error err;
    client *clients;

    memset(&b, 0, sizeof(b));
    b.args = bench_parse(argc, argv, "leased, command", "leased");
    b.command_mode = strcmp(b.args.mode, "command") == 0;
    if (!b.command_mode && strcmp(b.args.mode, "leased") != 0) {
        fprintf(stderr, "pool_bench: unknown mode '%s'\n", b.args.mode);
        return 2;
    }
    b.base = event_base_new();
    snprintf(addr, sizeof(addr), "%s:%d", b.args.host, b.args.port);
    redisconn_pool_options_init(&o);
    o.max_active = b.args.pool_size;
    o.max_idle = b.args.pool_size;
    b.pool = redisconn_pool_new_with_options(b.base, b.args.addr ? b.args.addr : addr, &o, &err);
    if (b.pool == NULL) {
        fprintf(stderr, "pool_bench: %s\n", err.message);
        return 2;
    }
    clients = calloc((size_t)b.args.concurrency, sizeof(*clients));
    bench_begin(&b.n, &b.args);
    for (int i = 0; i < b.args.concurrency && b.n.started < b.args.total; i++) {
        clients[i].b = &b;
        start_one(&clients[i]);
    }
    event_base_dispatch(b.base);
    bench_report("pool", &b.args, &b.n);
    free(clients);
    event_base_free(b.base);
    return b.n.errors ? 1 : 0;
}
