/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hiredis_bench.c — the baseline: raw hiredis 0.14 async with its bundled
 * libevent adapter (<hiredis/adapters/libevent.h>), one connection per
 * request in flight (at most 64 connections; beyond that requests share
 * connections round-robin, pipelined), closed loop of GET.
 *
 *   hiredis_bench -p PORT -c CONCURRENCY -n TOTAL
 */
#include "bench_common.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>

enum { MAX_CONNS = 64 };

typedef struct bench {
    struct event_base *base;
    redisAsyncContext *conns[MAX_CONNS];
    int nconns;
    bench_args args;
    bench_count n;
} bench;

typedef struct client {
    bench *b;
    redisAsyncContext *ac;
    uint64_t t0;
} client;

static void start_one(client *c);

static void on_get(redisAsyncContext *ac, void *reply, void *arg)
{
    client *c = arg;
    bench *b = c->b;
    int next = bench_record(&b->n, &b->args, c->t0, reply != NULL);
    (void)ac;
    if (next == BENCH_START_NEXT)
        start_one(c);
    else if (next == BENCH_ALL_DONE)
        for (int i = 0; i < b->nconns; i++)
            redisAsyncDisconnect(b->conns[i]);
}

static void start_one(client *c)
{
    c->b->n.started++;
    c->t0 = bench_now_us();
    if (redisAsyncCommand(c->ac, on_get, c, "GET %s", "bench:key") != REDIS_OK)
        on_get(c->ac, NULL, c);
}

int main(int argc, char **argv)
{
    bench b;
    client *clients;

    memset(&b, 0, sizeof(b));
    b.args = bench_parse(argc, argv, "raw", "raw");
    b.base = event_base_new();
    b.nconns = b.args.concurrency < MAX_CONNS ? b.args.concurrency : MAX_CONNS;
    b.args.pool_size = b.nconns;
    for (int i = 0; i < b.nconns; i++) {
        b.conns[i] = redisAsyncConnect(b.args.host, b.args.port);
        if (b.conns[i] == NULL || b.conns[i]->err) {
            fprintf(stderr, "hiredis_bench: connect failed\n");
            return 1;
        }
        redisLibeventAttach(b.conns[i], b.base);
    }
    clients = calloc((size_t)b.args.concurrency, sizeof(*clients));
    bench_begin(&b.n, &b.args);
    for (int i = 0; i < b.args.concurrency && b.n.started < b.args.total; i++) {
        clients[i].b = &b;
        clients[i].ac = b.conns[i % b.nconns];
        start_one(&clients[i]);
    }
    event_base_dispatch(b.base);
    bench_report("hiredis", &b.args, &b.n);
    free(clients);
    event_base_free(b.base);
    return b.n.errors ? 1 : 0;
}
