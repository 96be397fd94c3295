/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cluster_bench.c — closed-loop benchmark of the redisconn cluster client.
 *
 *   cluster_bench -a HOST:PORT[,HOST:PORT...] -c CONCURRENCY -n TOTAL [-s POOL_MAX_ACTIVE]
 *                 [-m get|set]
 *
 * CONCURRENCY requests are kept in flight; each is one redisconn_cluster_command()
 * GET (mode "get") or SET (mode "set") of key "bench:<i mod 1024>", so the
 * keys spread over every master's slots. -s is each node pool's max_active
 * (the commands are multiplexed on its shared connections). The flags and
 * the result line are pool_bench's, plus -a for the seed nodes; the last
 * line contains ops_per_sec=N.
 */
#include "bench_common.h"

#include <event2/event.h>

#include "redisconn/cluster.h"

enum { KEYS = 1024 };

typedef struct bench {
    struct event_base *base;
    redisconn_cluster *cluster;
    bench_args args;
    bench_count n;
    int set_mode;
    char keys[KEYS][16];
} bench;

typedef struct client {
    bench *b;
    uint64_t t0;
} client;

static void start_one(client *c);

static void on_closed(redisconn_cluster *cluster, void *arg)
{
    (void)cluster;
    event_base_loopbreak(((bench *)arg)->base);
}

/* One request finished: record it, and start the next or wind down. */
static void complete(client *c, int ok)
{
    bench *b = c->b;
    int next = bench_record(&b->n, &b->args, c->t0, ok);
    if (next == BENCH_START_NEXT)
        start_one(c);
    else if (next == BENCH_ALL_DONE)
        redisconn_cluster_close(b->cluster, on_closed, b);
}

static void on_reply(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    (void)conn;
    complete(arg, status == REDISCONN_OK && reply->type != REDIS_REPLY_ERROR);
}

static void start_one(client *c)
{
    bench *b = c->b;
    const char *key = b->keys[b->n.started % KEYS];
    int rc;
    b->n.started++;
    c->t0 = bench_now_us();
    if (b->set_mode)
        rc = redisconn_cluster_command(b->cluster, 0, on_reply, c, "SET %s %s", key, "hello");
    else
        rc = redisconn_cluster_command(b->cluster, 0, on_reply, c, "GET %s", key);
    if (rc != REDISCONN_OK) complete(c, 0);
}

/* Takes "-a SEEDS" out of argv (bench_parse() knows the other flags). */
static const char *take_seeds(int *argc, char **argv)
{
    const char *seeds = NULL;
    int j = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "-a") == 0 && i + 1 < *argc) {
            seeds = argv[++i];
            continue;
        }
        argv[j++] = argv[i];
    }
    *argc = j;
    argv[j] = NULL;
    return seeds;
}

int main(int argc, char **argv)
{
    bench b;
    redisconn_cluster_options o;
    redisconn_error err;
    client *clients;
    const char *seeds = take_seeds(&argc, argv);

    memset(&b, 0, sizeof(b));
    b.args = bench_parse(argc, argv, "get, set (with -a HOST:PORT,... the seed nodes)", "get");
    b.set_mode = strcmp(b.args.mode, "set") == 0;
    if (seeds == NULL || (!b.set_mode && strcmp(b.args.mode, "get") != 0)) {
        fprintf(stderr, "cluster_bench: -a SEEDS is required; modes: get, set\n");
        return 2;
    }
    for (int i = 0; i < KEYS; i++)
        snprintf(b.keys[i], sizeof(b.keys[i]), "bench:%d", i);
    b.base = event_base_new();
    redisconn_cluster_options_init(&o);
    o.pool.max_active = b.args.pool_size;
    o.pool.max_idle = b.args.pool_size;
    b.cluster = redisconn_cluster_new(b.base, seeds, &o, &err);
    if (b.cluster == NULL) {
        fprintf(stderr, "cluster_bench: %s\n", err.message);
        return 2;
    }
    clients = calloc((size_t)b.args.concurrency, sizeof(*clients));
    bench_begin(&b.n, &b.args);
    for (int i = 0; i < b.args.concurrency && b.n.started < b.args.total; i++) {
        clients[i].b = &b;
        start_one(&clients[i]);
    }
    event_base_dispatch(b.base);
    bench_report("cluster", &b.args, &b.n);
    free(clients);
    event_base_free(b.base);
    return b.n.errors ? 1 : 0;
}
