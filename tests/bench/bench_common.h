/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_common.h — argument parsing, latency recording, CPU time, the
 * callgrind window and the result line shared by the benchmarks in
 * tests/bench/. Header-only so each benchmark is one self-contained
 * executable.
 *
 * The result line (bench_report) ends in ops_per_sec=N and carries the
 * process's user and system CPU time per request (getrusage(RUSAGE_SELF)
 * from bench_begin to bench_report, before the percentile sort).
 *
 * Under valgrind --tool=callgrind, bench_record dumps the counters twice: at
 * the completion of request W = max(TOTAL / 10, CONCURRENCY) (dump "warmup":
 * start-up, dials, first W requests) and at the completion of request
 * TOTAL - CONCURRENCY (dump "steady"). Between the two every completion
 * starts exactly one new request with CONCURRENCY in flight, so the "steady"
 * dump is exactly TOTAL - CONCURRENCY - W request cycles of the steady
 * state (printed as callgrind_window=N); the rest of the run (the last
 * requests, the close, the sort) lands in the final dump at exit. */
#ifndef REDISCONN_BENCH_COMMON_H
#define REDISCONN_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef REDISCONN_BENCH_HAVE_CALLGRIND_H
#include <valgrind/callgrind.h>
#else /* without valgrind's headers: no window dumps */
#define RUNNING_ON_VALGRIND        0
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

typedef struct bench_args {
    const char *host;
    int port;
    int concurrency;
    long total;
    int pool_size; /* -s, 0 = concurrency */
    const char *mode;
    const char *unix_path;
    const char *addr; /* -a: any address the pool takes (URL, sentinel://...), or NULL */
} bench_args;

static inline uint64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void bench_usage(const char *prog, const char *modes)
{
    fprintf(stderr,
            "usage: %s -p PORT -c CONCURRENCY -n TOTAL [-s POOL_MAX_ACTIVE] [-m MODE] [-h HOST]\n"
            "       [-a ADDRESS: instead of -h/-p, where supported]\n"
            "  modes: %s\n"
            "  prints one result line ending in ops_per_sec=N\n",
            prog, modes);
}

/* getopt-based parsing; exits 2 on bad input. */
static inline bench_args bench_parse(int argc, char **argv, const char *modes, const char *dflt)
{
    bench_args a = {"127.0.0.1", 6379, 64, 100000, 0, dflt, NULL, NULL};
    int opt;
    while ((opt = getopt(argc, argv, "p:c:n:s:m:h:a:")) != -1) {
        switch (opt) {
        case 'a':
            a.addr = optarg;
            break;
        case 'p':
            a.port = atoi(optarg);
            break;
        case 'c':
            a.concurrency = atoi(optarg);
            break;
        case 'n':
            a.total = atol(optarg);
            break;
        case 's':
            a.pool_size = atoi(optarg);
            break;
        case 'm':
            a.mode = optarg;
            break;
        case 'h':
            a.host = optarg;
            break;
        default:
            bench_usage(argv[0], modes);
            exit(2);
        }
    }
    if (a.port <= 0 || a.port > 65535 || a.concurrency <= 0 || a.total <= 0 || a.pool_size < 0) {
        bench_usage(argv[0], modes);
        exit(2);
    }
    if (a.pool_size == 0) a.pool_size = a.concurrency;
    return a;
}

/* Latency samples, one per completed request (µs). */
typedef struct bench_lat {
    uint32_t *us;
    long n, cap;
} bench_lat;

static inline void bench_lat_init(bench_lat *l, long cap)
{
    l->us = malloc((size_t)cap * sizeof(uint32_t));
    l->n = 0;
    l->cap = cap;
}

static inline void bench_lat_add(bench_lat *l, uint64_t us)
{
    if (l->n < l->cap) l->us[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int bench_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static inline uint32_t bench_pct(bench_lat *l, double p)
{
    long i;
    if (l->n == 0) return 0;
    i = (long)(p * (double)(l->n - 1));
    return l->us[i];
}

/* Progress of a closed-loop run. */
typedef struct bench_count {
    long started, done, errors;
    bench_lat lat;
    long cg_from, cg_to; /* the callgrind window: completions (cg_from, cg_to] */
    uint64_t t0_us;      /* bench_begin's clock */
    struct rusage ru0;   /* bench_begin's CPU times */
} bench_count;

/* Starts the clock and the CPU times; call right before the first request. */
static inline void bench_begin(bench_count *n, const bench_args *a)
{
    bench_lat_init(&n->lat, a->total);
    n->cg_from = a->total / 10 > a->concurrency ? a->total / 10 : a->concurrency;
    n->cg_to = a->total - a->concurrency;
    if (n->cg_to <= n->cg_from) n->cg_from = n->cg_to = -1; /* too short: no window */
    if (RUNNING_ON_VALGRIND && n->cg_to > 0) {
        printf("callgrind_window=%ld\n", n->cg_to - n->cg_from);
        fflush(stdout);
    }
    getrusage(RUSAGE_SELF, &n->ru0);
    n->t0_us = bench_now_us();
}

enum { BENCH_IDLE = 0, BENCH_START_NEXT = 1, BENCH_ALL_DONE = 2 };

/* Records one finished request (latency since `t0`); says whether the
 * caller should start another request or wind down because all are done. */
static inline int bench_record(bench_count *n, const bench_args *a, uint64_t t0, int ok)
{
    n->done++;
    if (!ok) n->errors++;
    if (n->done == n->cg_from) CALLGRIND_DUMP_STATS_AT("warmup");
    if (n->done == n->cg_to) CALLGRIND_DUMP_STATS_AT("steady");
    bench_lat_add(&n->lat, bench_now_us() - t0);
    if (n->started < a->total) return BENCH_START_NEXT;
    return n->done == a->total ? BENCH_ALL_DONE : BENCH_IDLE;
}

static inline double bench_tv_ns(struct timeval a, struct timeval b)
{
    return ((double)b.tv_sec - (double)a.tv_sec) * 1e9 +
           ((double)b.tv_usec - (double)a.tv_usec) * 1e3;
}

/* Stops the clock and the CPU times (the sort is not counted), prints the
 * result line; the last field is ops_per_sec=N (tools parse it). */
static inline void bench_report(const char *name, const bench_args *a, bench_count *n)
{
    uint64_t elapsed_us = bench_now_us() - n->t0_us;
    double secs = (double)elapsed_us / 1e6, done = n->done > 0 ? (double)n->done : 1.0;
    bench_lat *l = &n->lat;
    struct rusage ru1;
    getrusage(RUSAGE_SELF, &ru1);
    qsort(l->us, (size_t)l->n, sizeof(uint32_t), bench_cmp_u32);
    printf(
        "bench=%s mode=%s concurrency=%d pool=%d total=%ld errors=%ld seconds=%.3f "
        "p50_us=%u p99_us=%u user_ns_per_op=%.0f sys_ns_per_op=%.0f ops_per_sec=%.0f\n",
        name, a->mode, a->concurrency, a->pool_size, n->done, n->errors, secs, bench_pct(l, 0.50),
        bench_pct(l, 0.99), bench_tv_ns(n->ru0.ru_utime, ru1.ru_utime) / done,
        bench_tv_ns(n->ru0.ru_stime, ru1.ru_stime) / done, secs > 0 ? (double)n->done / secs : 0.0);
    fflush(stdout);
    free(l->us);
}

#endif
