/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * failover_bench.c — a Sentinel pool under steady write load through a
 * SENTINEL FAILOVER.
 *
 *   failover_bench -a sentinel://HOST:PORT[,HOST:PORT...]/NAME [-c CONCURRENCY]
 *                  [-m both|leased|command] [-t SECONDS] [-f FAILOVER_AT_MS]
 *                  [-o SERIES.csv]
 *
 * CONCURRENCY writes are kept in flight (closed loop, default 64): with -m
 * both (the default) half are leased (acquire -> SET -> release), half
 * pool-level (redisconn_pool_command SET); every write has a key of its own.
 * At FAILOVER_AT_MS (default 2000) it sends SENTINEL FAILOVER NAME to the
 * first sentinel of the address, which a side connection (plain hiredis)
 * has SUBSCRIBEd to +switch-master on. It runs SECONDS (default 6) in all.
 * The deployment is the caller's (scripts/bench starts one).
 *
 * Prints, per 100 ms, "t_ms,leased_ok,command_ok,errors" to SERIES.csv
 * (default failover.csv), then one result line: the gap (the longest time
 * without a successful write, overall and per kind), errors by status
 * (errors_by_status=NAME:N;NAME:N), when
 * Sentinel sent the replica REPLICAOF NO ONE (+failover-state-wait-promotion)
 * and announced the switch (+switch-master), both on the side subscription
 * and minus the FAILOVER command, when the pool logged it, the writes
 * acknowledged between the promotion and that (acked_after_promotion), the
 * first write
 * acknowledged after that, and — checked on the new master afterwards — how
 * many acknowledged writes are missing there: before the pool knew of the
 * switch (taken by the old master after the promotion: asynchronous
 * replication loses them) and after it (must be 0). Exits 1 if a callback
 * fired twice or a write acknowledged after the switch is missing.
 */
#include "bench_common.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "redisconn/pool.h"

enum { SLOT_MS = 100, MAX_SLOTS = 6000, STATUSES = 32, KIND_LEASED = 0, KIND_COMMAND = 1 };

typedef struct op {
    uint64_t ack_us;
    uint64_t seq; /* order of delivery, compared with the switch's */
    unsigned char ok;
} op;

typedef struct bench bench;

typedef struct client {
    bench *b;
    int kind;
    int busy; /* a write in flight: its callback is due exactly once */
    long op;
    redisconn_conn *conn;
} client;

struct bench {
    struct event_base *base;
    redisconn_pool *pool;
    const char *addr, *mode, *csv;
    char master_name[130], sentinel_host[256];
    int sentinel_port, concurrency, seconds, failover_at_ms;
    uint64_t t0, stop_at, seq;
    int stopping, busy;
    op *ops;
    long nops, cap;
    long slot_ok[2][MAX_SLOTS], slot_err[MAX_SLOTS];
    long oks, errors, by_status[STATUSES], double_calls;
    uint64_t last_ok[3], gap[3]; /* per kind, [2] = any */
    uint64_t failover_us, announce_us, pool_switch_us, pool_switch_seq, first_after_us;
    uint64_t promote_us; /* +failover-state-wait-promotion: REPLICAOF NO ONE was sent */
    redisAsyncContext *side;
    struct event *timer;
};

static void start_one(client *c);

static long new_op(bench *b)
{
    if (b->nops == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1 << 16;
        b->ops = realloc(b->ops, (size_t)b->cap * sizeof(*b->ops));
        if (b->ops == NULL) {
            fprintf(stderr, "failover_bench: out of memory\n");
            exit(2);
        }
    }
    memset(&b->ops[b->nops], 0, sizeof(b->ops[0]));
    return b->nops++;
}

static void on_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    event_base_loopbreak(((bench *)arg)->base);
}

static void record_ok(bench *b, int kind, uint64_t now)
{
    for (int k = 0; k < 3; k++) {
        uint64_t *last = &b->last_ok[k];
        if (k != 2 && k != kind) continue;
        if (*last == 0) *last = b->t0;
        if (now - *last > b->gap[k]) b->gap[k] = now - *last;
        *last = now;
    }
    if (b->pool_switch_seq && !b->first_after_us) b->first_after_us = now;
    b->oks++;
}

/* One write finished (`status` REDISCONN_OK and `ok`: +OK). */
static void complete(client *c, int status, int ok)
{
    bench *b = c->b;
    uint64_t now = bench_now_us();
    long slot = (long)((now - b->t0) / (SLOT_MS * 1000u));
    op *o = &b->ops[c->op];
    if (!c->busy) {
        b->double_calls++;
        return;
    }
    c->busy = 0;
    o->ack_us = now;
    o->seq = ++b->seq;
    o->ok = (unsigned char)ok;
    if (slot >= MAX_SLOTS) slot = MAX_SLOTS - 1;
    if (ok) {
        record_ok(b, c->kind, now);
        b->slot_ok[c->kind][slot]++;
    } else {
        int i = -status;
        b->errors++;
        b->slot_err[slot]++;
        b->by_status[i > 0 && i < STATUSES ? i : 0]++; /* [0]: an error reply */
    }
    if (!b->stopping) {
        start_one(c);
        return;
    }
    if (--b->busy == 0) redisconn_pool_close(b->pool, on_closed, b);
}

static int is_ok(int status, const redisReply *r)
{
    return status == REDISCONN_OK && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
}

static void on_set(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    client *c = arg;
    (void)conn;
    if (c->conn) redisconn_release(c->conn);
    c->conn = NULL;
    complete(c, status, is_ok(status, reply));
}

static void on_acquired(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    client *c = arg;
    int rc;
    (void)errmsg;
    if (status != REDISCONN_OK) {
        complete(c, status, 0);
        return;
    }
    c->conn = conn;
    rc = redisconn_command(conn, on_set, c, "SET fo:%ld %ld", c->op, c->op);
    if (rc != REDISCONN_OK) {
        redisconn_release(conn);
        c->conn = NULL;
        complete(c, rc, 0);
    }
}

static void start_one(client *c)
{
    bench *b = c->b;
    int rc = REDISCONN_OK;
    if (bench_now_us() >= b->stop_at) b->stopping = 1;
    if (b->stopping) {
        if (--b->busy == 0) redisconn_pool_close(b->pool, on_closed, b);
        return;
    }
    c->op = new_op(b);
    c->busy = 1;
    if (c->kind == KIND_COMMAND)
        rc = redisconn_pool_command(b->pool, 0, on_set, c, "SET fo:%ld %ld", c->op, c->op);
    else if (redisconn_pool_acquire(b->pool, 10000, on_acquired, c) == NULL)
        rc = REDISCONN_ERR_NOMEM;
    if (rc != REDISCONN_OK) complete(c, rc, 0);
}

/* The pool's log: "master of NAME moved from A to B" marks the switch. */
static void on_log(int level, const char *msg, void *arg)
{
    bench *b = arg;
    (void)level;
    if (b->pool_switch_us == 0 && strstr(msg, " moved from ") != NULL) {
        b->pool_switch_us = bench_now_us();
        b->pool_switch_seq = ++b->seq;
    }
    if (level >= REDISCONN_LOG_WARNING) fprintf(stderr, "[pool] %s\n", msg);
}

static void on_switch_message(redisAsyncContext *ac, void *reply, void *arg)
{
    bench *b = arg;
    redisReply *r = reply;
    (void)ac;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        strcmp(r->element[0]->str, "message") != 0)
        return;
    if (strcmp(r->element[1]->str, "+failover-state-wait-promotion") == 0) {
        if (b->promote_us == 0) b->promote_us = bench_now_us();
        return;
    }
    if (b->announce_us == 0 &&
        strncmp(r->element[2]->str, b->master_name, strlen(b->master_name)) == 0)
        b->announce_us = bench_now_us();
}

static redisContext *sentinel_sync(const bench *b)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout(b->sentinel_host, b->sentinel_port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "failover_bench: cannot connect to sentinel %s:%d\n", b->sentinel_host,
                b->sentinel_port);
        exit(2);
    }
    return c;
}

static void on_failover_timer(evutil_socket_t fd, short what, void *arg)
{
    bench *b = arg;
    redisContext *c = sentinel_sync(b);
    redisReply *r;
    (void)fd;
    (void)what;
    b->failover_us = bench_now_us();
    r = redisCommand(c, "SENTINEL FAILOVER %s", b->master_name);
    if (r == NULL || r->type != REDIS_REPLY_STATUS)
        fprintf(stderr, "failover_bench: SENTINEL FAILOVER: %s\n", r && r->str ? r->str : "?");
    if (r) freeReplyObject(r);
    redisFree(c);
}

/* sentinel://[auth@]host:port[,...]/name: the first sentinel and the name. */
static void parse_address(bench *b)
{
    const char *s = strstr(b->addr, "://"), *at, *slash, *end;
    if (s == NULL) {
        fprintf(stderr, "failover_bench: -a needs a sentinel:// address\n");
        exit(2);
    }
    s += 3;
    slash = strchr(s, '/');
    at = strchr(s, '@');
    if (at && (!slash || at < slash)) s = at + 1;
    if (slash == NULL || sscanf(s, "%255[^:]:%d", b->sentinel_host, &b->sentinel_port) != 2) {
        fprintf(stderr, "failover_bench: cannot read the first sentinel of %s\n", b->addr);
        exit(2);
    }
    end = strchr(slash + 1, '?');
    snprintf(b->master_name, sizeof(b->master_name), "%.*s",
             (int)(end ? end - slash - 1 : (long)strlen(slash + 1)), slash + 1);
}

static void side_subscribe(bench *b)
{
    b->side = redisAsyncConnect(b->sentinel_host, b->sentinel_port);
    if (b->side == NULL || b->side->err || redisLibeventAttach(b->side, b->base) != REDIS_OK) {
        fprintf(stderr, "failover_bench: side subscription failed\n");
        exit(2);
    }
    redisAsyncCommand(b->side, on_switch_message, b,
                      "SUBSCRIBE +switch-master +failover-state-wait-promotion");
}

/* Missing acknowledged writes on the master the sentinel names now. */
static void check_new_master(const bench *b, long *lost_before, long *lost_after)
{
    redisContext *s = sentinel_sync(b), *m;
    redisReply *r = redisCommand(s, "SENTINEL get-master-addr-by-name %s", b->master_name);
    struct timeval tv = {5, 0};
    *lost_before = *lost_after = -1;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return;
    m = redisConnectWithTimeout(r->element[0]->str, atoi(r->element[1]->str), tv);
    freeReplyObject(r);
    redisFree(s);
    if (m == NULL || m->err) return;
    *lost_before = *lost_after = 0;
    for (long i = 0; i < b->nops; i += 10000) {
        long end = i + 10000 < b->nops ? i + 10000 : b->nops;
        for (long j = i; j < end; j++)
            if (b->ops[j].ok) redisAppendCommand(m, "EXISTS fo:%ld", j);
        for (long j = i; j < end; j++) {
            redisReply *e;
            if (!b->ops[j].ok) continue;
            if (redisGetReply(m, (void **)&e) != REDIS_OK) return;
            if (e->type == REDIS_REPLY_INTEGER && e->integer == 0) {
                if (b->pool_switch_seq && b->ops[j].seq > b->pool_switch_seq)
                    (*lost_after)++;
                else
                    (*lost_before)++;
            }
            freeReplyObject(e);
        }
    }
    redisFree(m);
}

static void write_series(const bench *b)
{
    FILE *f = fopen(b->csv, "w");
    long slots = (long)b->seconds * 1000 / SLOT_MS;
    if (f == NULL) {
        fprintf(stderr, "failover_bench: cannot write %s\n", b->csv);
        exit(2);
    }
    fprintf(f, "t_ms,leased_ok,command_ok,errors\n");
    for (long i = 0; i < slots && i < MAX_SLOTS; i++)
        fprintf(f, "%ld,%ld,%ld,%ld\n", i * SLOT_MS, b->slot_ok[KIND_LEASED][i],
                b->slot_ok[KIND_COMMAND][i], b->slot_err[i]);
    fclose(f);
}

static double ms_since(uint64_t t, uint64_t from)
{
    return t && from ? ((double)t - (double)from) / 1000.0 : -1.0;
}

/* Writes acknowledged after the promotion was sent, before the pool knew. */
static long acked_in_window(const bench *b)
{
    long n = 0;
    for (long i = 0; b->promote_us && i < b->nops; i++)
        n += b->ops[i].ok && b->ops[i].ack_us >= b->promote_us &&
             (!b->pool_switch_seq || b->ops[i].seq < b->pool_switch_seq);
    return n;
}

static void report(const bench *b, long lost_before, long lost_after)
{
    char errs[512] = "";
    size_t n = 0;
    for (int i = 0; i < STATUSES; i++)
        if (b->by_status[i])
            n += (size_t)snprintf(errs + n, sizeof(errs) - n, "%s%s:%ld", n ? ";" : "",
                                  i ? redisconn_status_name(-i) : "ERROR_REPLY", b->by_status[i]);
    printf("bench=failover mode=%s concurrency=%d seconds=%d writes=%ld ok=%ld errors=%ld "
           "errors_by_status=%s gap_ms=%.1f gap_leased_ms=%.1f gap_command_ms=%.1f "
           "failover_at_ms=%.1f promote_ms=%.1f announce_ms=%.1f pool_switch_ms=%.1f "
           "first_write_after_ms=%.1f acked_after_promotion=%ld lost_before_switch=%ld "
           "lost_after_switch=%ld double_callbacks=%ld\n",
           b->mode, b->concurrency, b->seconds, b->nops, b->oks, b->errors, n ? errs : "none",
           (double)b->gap[2] / 1000.0, (double)b->gap[KIND_LEASED] / 1000.0,
           (double)b->gap[KIND_COMMAND] / 1000.0, ms_since(b->failover_us, b->t0),
           ms_since(b->promote_us, b->failover_us), ms_since(b->announce_us, b->failover_us),
           ms_since(b->pool_switch_us, b->failover_us),
           ms_since(b->first_after_us, b->pool_switch_us), acked_in_window(b), lost_before,
           lost_after, b->double_calls);
    fflush(stdout);
}

static void usage(void)
{
    fprintf(stderr, "usage: failover_bench -a sentinel://HOST:PORT[,...]/NAME [-c CONCURRENCY] "
                    "[-m both|leased|command] [-t SECONDS] [-f FAILOVER_AT_MS] [-o SERIES.csv]\n");
    exit(2);
}

static void parse_args(bench *b, int argc, char **argv)
{
    int opt;
    b->mode = "both";
    b->csv = "failover.csv";
    b->concurrency = 64;
    b->seconds = 6;
    b->failover_at_ms = 2000;
    while ((opt = getopt(argc, argv, "a:c:m:t:f:o:")) != -1) {
        switch (opt) {
        case 'a':
            b->addr = optarg;
            break;
        case 'c':
            b->concurrency = atoi(optarg);
            break;
        case 'm':
            b->mode = optarg;
            break;
        case 't':
            b->seconds = atoi(optarg);
            break;
        case 'f':
            b->failover_at_ms = atoi(optarg);
            break;
        case 'o':
            b->csv = optarg;
            break;
        default:
            usage();
        }
    }
    if (b->addr == NULL || b->concurrency < 1 || b->seconds < 1 ||
        b->seconds * 1000 / SLOT_MS > MAX_SLOTS || b->failover_at_ms < 0 ||
        (strcmp(b->mode, "both") && strcmp(b->mode, "leased") && strcmp(b->mode, "command")))
        usage();
}

int main(int argc, char **argv)
{
    static bench b;
    redisconn_pool_options o;
    redisconn_error err;
    client *clients;
    struct timeval at;
    long lost_before, lost_after;

    parse_args(&b, argc, argv);
    parse_address(&b);
    b.base = event_base_new();
    redisconn_pool_options_init(&o);
    o.max_active = b.concurrency;
    o.max_idle = b.concurrency;
    o.log_fn = on_log;
    o.log_arg = &b;
    o.log_level = REDISCONN_LOG_INFO;
    b.pool = redisconn_pool_new_with_options(b.base, b.addr, &o, &err);
    if (b.pool == NULL) {
        fprintf(stderr, "failover_bench: %s\n", err.message);
        return 2;
    }
    side_subscribe(&b);
    clients = calloc((size_t)b.concurrency, sizeof(*clients));
    b.t0 = bench_now_us();
    b.stop_at = b.t0 + (uint64_t)b.seconds * 1000000u;
    at = (struct timeval){b.failover_at_ms / 1000, (b.failover_at_ms % 1000) * 1000};
    b.timer = evtimer_new(b.base, on_failover_timer, &b);
    evtimer_add(b.timer, &at);
    for (int i = 0; i < b.concurrency; i++) {
        clients[i].b = &b;
        clients[i].kind = strcmp(b.mode, "leased") == 0    ? KIND_LEASED
                          : strcmp(b.mode, "command") == 0 ? KIND_COMMAND
                                                           : i % 2;
        b.busy++;
        start_one(&clients[i]);
    }
    event_base_dispatch(b.base);
    redisAsyncFree(b.side);
    event_free(b.timer);
    write_series(&b);
    check_new_master(&b, &lost_before, &lost_after);
    report(&b, lost_before, lost_after);
    free(clients);
    free(b.ops);
    event_base_free(b.base);
    return b.double_calls || lost_after != 0 ? 1 : 0;
}
