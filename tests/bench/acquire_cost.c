/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * acquire_cost.c — what an acquire + release of an idle connection costs, in
 * instructions (under valgrind --tool=callgrind) and in memory.
 *
 *   acquire_cost -p PORT -s POOLSIZE -w WAITERS -k PAIRS      (mode "pairs")
 *   acquire_cost -p PORT -m memory -n N                        (mode "memory")
 *   acquire_cost -m loop -k PASSES                               (mode "loop")
 *
 * PAIRS. Setup, not measured: a pool with max_active = max_idle = POOLSIZE,
 * test_on_borrow_ms = -1 (no PING on borrow), a one-hour idle timeout, and
 * POOLSIZE real connections opened (acquired all, then released all: POOLSIZE
 * idle). Then, with WAITERS = 0, one pair is
 *     acquire (idle pop) + one loop pass that delivers its callback
 *     (event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK)) + release;
 * with WAITERS = W > 0, all POOLSIZE connections are leased and W acquires
 * (timeout 0) queued; one pair is then
 *     release (hand-off to the oldest waiter) + acquire (queued at the tail)
 *     + one loop pass that delivers the hand-off callback, which keeps the
 *     connection for the next pair.
 * After 200 warm-up pairs the K measured pairs run between
 * CALLGRIND_ZERO_STATS and CALLGRIND_DUMP_STATS_AT("pairs"): run it under
 *     valgrind --tool=callgrind --instr-atstart=no ./acquire_cost ...
 * and divide the dump's total by K for the whole pair (pool + libevent loop
 * pass + this harness); add --toggle-collect=redisconn_pool_acquire
 * --toggle-collect=redisconn_release --toggle-collect=on_pass for the pool's
 * own share (on_pass is the pool's defer-queue pass, lib/util/defer.c, which
 * delivers acquire callbacks; the share includes what those functions call: libevent's
 * event_active() and this program's 5-instruction callback). Without valgrind the client requests
 * are no-ops and the program prints the native time per pair.
 *
 * LOOP. The floor under any "callback from the loop" design on libevent 2.1:
 * the instructions of K idle loop passes, of K passes that each run one
 * event made active with event_active() (non-persistent, as the pool's
 * async event, and EV_PERSIST), dumped as "idle", "active", "active_persist".
 *
 * MEMORY. Client-side heap (glibc mallinfo2: uordblks + hblkhd) before and
 * after opening N idle connections, and before and after queueing N waiters
 * (timeout 0, then timeout 60 s, which adds a timer event per waiter). Kernel
 * socket buffers and the server's memory are not counted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <malloc.h>

#include <event2/event.h>
#ifdef REDISCONN_BENCH_HAVE_CALLGRIND_H
#include <valgrind/callgrind.h>
#else /* without valgrind's headers the client requests are no-ops */
#define CALLGRIND_START_INSTRUMENTATION ((void)0)
#define CALLGRIND_STOP_INSTRUMENTATION  ((void)0)
#define CALLGRIND_ZERO_STATS            ((void)0)
#define CALLGRIND_DUMP_STATS_AT(s)      ((void)(s))
#endif

#include "redisconn/pool.h"

enum { WARMUP_PAIRS = 200, LEASE_BATCH = 128 };

typedef struct cost {
    struct event_base *base;
    redisconn_pool *pool;
    redisconn_conn **leased; /* connections delivered by "collect" callbacks */
    long nleased, cap;
    redisconn_conn *held; /* the connection cycling through the pairs */
    long delivered;       /* "hold" callbacks that brought a connection */
    long failed;          /* callbacks without a connection */
} cost;

static cost g;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s -p PORT [-h HOST] -s POOLSIZE -w WAITERS -k PAIRS\n"
            "       %s -p PORT [-h HOST] -m memory -n N\n"
            "       %s -m loop -k PASSES\n",
            prog, prog, prog);
    exit(2);
}

/* Prints the pool's counters and exits. */
static void die(const char *what)
{
    fprintf(stderr, "acquire_cost: %s\n", what);
    if (g.pool != NULL) {
        redisconn_pool_stats st;
        redisconn_pool_get_stats(g.pool, &st);
        fprintf(stderr,
                "acquire_cost: active=%d idle=%d in_use=%d waiting=%d dialing=%d dials=%llu "
                "dial_errors=%llu closed_max_idle=%llu closed_broken=%llu delivered=%ld "
                "failed=%ld leased=%ld\n",
                st.active_count, st.idle_count, st.in_use_count, st.waiting_count, st.dialing_count,
                (unsigned long long)st.dials, (unsigned long long)st.dial_errors,
                (unsigned long long)st.closed_max_idle, (unsigned long long)st.closed_broken,
                g.delivered, g.failed, g.nleased);
    }
    exit(1);
}

/* Setup callback: stores the leased connection. */
static void on_collect(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    (void)arg;
    if (status != REDISCONN_OK) {
        fprintf(stderr, "acquire_cost: acquire failed: %s%s%s\n", redisconn_strerror(status),
                errmsg ? ": " : "", errmsg ? errmsg : "");
        g.failed++;
        return;
    }
    if (g.nleased == g.cap) die("too many connections delivered");
    g.leased[g.nleased++] = conn;
}

/* Measured callback: keeps the connection for the next pair. */
static void on_hold(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    (void)errmsg;
    (void)arg;
    if (status != REDISCONN_OK) {
        g.failed++;
        return;
    }
    g.held = conn;
    g.delivered++;
}

static void acquire_or_die(redisconn_acquire_cb cb)
{
    if (redisconn_pool_acquire(g.pool, 0, cb, NULL) == NULL) die("acquire returned NULL");
}

/*
 * Leases n connections (from idle, or dialing), running the loop until all
 * callbacks fired. In batches of LEASE_BATCH, each delivered before the next:
 * the pool caches 256 finished request records, and a freshly allocated one
 * that is served from the idle list at once decrements pool->waiting without
 * having incremented it (see docs/benchmarks.md, "A pool bug found"), after
 * which waiters no longer trigger dials.
 */
static void lease_n(long n)
{
    while (n > 0) {
        long k = n < LEASE_BATCH ? n : LEASE_BATCH, want = g.nleased + k;
        for (long i = 0; i < k; i++)
            acquire_or_die(on_collect);
        while (g.nleased < want) {
            if (g.failed) die("could not open the connections (maxclients? ulimit -n?)");
            event_base_loop(g.base, EVLOOP_ONCE);
        }
        n -= k;
    }
}

static void release_all(void)
{
    while (g.nleased > 0)
        redisconn_release(g.leased[--g.nleased]);
    event_base_loop(g.base, EVLOOP_NONBLOCK);
}

static void make_pool(const char *host, int port, int size)
{
    redisconn_pool_options o;
    char addr[128];
    redisconn_error err;
    g.base = event_base_new();
    if (g.base == NULL) die("event_base_new failed");
    redisconn_pool_options_init(&o);
    o.max_active = size;
    o.max_idle = size;
    o.test_on_borrow_ms = -1;
    o.idle_timeout_ms = 3600 * 1000;
    snprintf(addr, sizeof(addr), "%s:%d", host, port);
    g.pool = redisconn_pool_new_with_options(g.base, addr, &o, &err);
    if (g.pool == NULL) die(err.message);
    g.cap = size;
    g.leased = calloc((size_t)size, sizeof(*g.leased));
    if (g.leased == NULL) die("out of memory");
}

static void on_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    *(int *)arg = 1;
}

/* Closes the pool (failing the waiters), returns every lease, frees it all. */
static void teardown(void)
{
    int closed = 0;
    redisconn_pool_close(g.pool, on_closed, &closed);
    if (g.held) redisconn_release(g.held);
    g.held = NULL;
    release_all();
    while (!closed)
        event_base_loop(g.base, EVLOOP_ONCE);
    free(g.leased);
    event_base_free(g.base);
}

/*
 * One pass of the loop, as one iteration of a daemon's event_base_dispatch():
 * poll without blocking, run what is active, return. EVLOOP_NONBLOCK alone
 * would poll a second time after running the callbacks (libevent 2.1 only
 * stops a NONBLOCK loop on a pass with nothing active), doubling the loop's
 * share of the figure.
 */
static inline void loop_pass(void)
{
    event_base_loop(g.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* One measured pair without waiters: idle pop, delivery, release. */
static inline void pair_idle(void)
{
    acquire_or_die(on_hold);
    loop_pass();
    redisconn_release(g.held);
}

/* One measured pair with waiters: hand-off, queued acquire, delivery. */
static inline void pair_waiters(void)
{
    redisconn_release(g.held);
    acquire_or_die(on_hold);
    loop_pass();
}

static int run_pairs(const char *host, int port, int size, long waiters, long pairs)
{
    redisconn_pool_stats st;
    uint64_t t0, t1;
    long expect;

    make_pool(host, port, size);
    lease_n(size); /* opens POOLSIZE real connections */
    release_all(); /* ... now all idle */
    if (waiters > 0) {
        lease_n(size);
        g.held = g.leased[--g.nleased]; /* the one that cycles */
        for (long i = 0; i < waiters; i++)
            acquire_or_die(on_hold);
        event_base_loop(g.base, EVLOOP_NONBLOCK);
    }
    redisconn_pool_get_stats(g.pool, &st);
    if (st.active_count != size || st.waiting_count != waiters ||
        st.idle_count != (waiters > 0 ? 0 : size))
        die("setup did not reach the expected pool state");

    for (int i = 0; i < WARMUP_PAIRS; i++)
        waiters > 0 ? pair_waiters() : pair_idle();

    CALLGRIND_START_INSTRUMENTATION; /* no-op if already instrumenting */
    CALLGRIND_ZERO_STATS;
    t0 = now_ns();
    if (waiters > 0)
        for (long i = 0; i < pairs; i++)
            pair_waiters();
    else
        for (long i = 0; i < pairs; i++)
            pair_idle();
    t1 = now_ns();
    CALLGRIND_DUMP_STATS_AT("pairs");
    CALLGRIND_STOP_INSTRUMENTATION;

    expect = WARMUP_PAIRS + pairs;
    redisconn_pool_get_stats(g.pool, &st);
    if (g.delivered != expect || g.failed != 0 || st.waiting_count != waiters ||
        st.active_count != size || st.dials != (uint64_t)size)
        die("the pairs did not behave as expected");
    printf("bench=acquire_cost pool=%d waiters=%ld pairs=%ld native_ns_per_pair=%.1f\n", size,
           waiters, pairs, (double)(t1 - t0) / (double)pairs);
    fflush(stdout);
    teardown();
    return 0;
}

/* Client heap in use: small chunks plus mmap'd blocks. */
static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static double per(size_t before, size_t after, long n)
{
    return ((double)after - (double)before) / (double)n;
}

static int run_memory(const char *host, int port, long n)
{
    size_t m0, m1, m2, m3, m4, m5, m6;
    long total_waiters = 3 * n, conns = 2 * n + 1;

    make_pool(host, port, (int)conns);
    /* one connection first, so that what the pool and libevent allocate once
     * (timers, the first epoll buffers) is not charged to the N */
    lease_n(1);
    release_all();
    m0 = heap_bytes();
    /* two batches of n new idle connections: the first batch also fills the
     * pool's cache of finished request records (up to 256 per pool) */
    lease_n(1 + n);
    release_all();
    m1 = heap_bytes();
    lease_n(1 + 2 * n);
    release_all();
    m2 = heap_bytes();

    /* lease everything, then queue three batches of n waiters: timeout 0
     * (the first batch reuses the cached request records), timeout 0 again,
     * then timeout 60 s (a timer event per waiter) */
    lease_n(conns);
    for (long i = 0; i < n; i++)
        acquire_or_die(on_hold);
    event_base_loop(g.base, EVLOOP_NONBLOCK);
    m3 = heap_bytes();
    for (long i = 0; i < n; i++)
        acquire_or_die(on_hold);
    event_base_loop(g.base, EVLOOP_NONBLOCK);
    m4 = heap_bytes();
    for (long i = 0; i < n; i++)
        if (redisconn_pool_acquire(g.pool, 60000, on_hold, NULL) == NULL) die("acquire failed");
    event_base_loop(g.base, EVLOOP_NONBLOCK);
    m5 = heap_bytes();
    {
        redisconn_pool_stats st;
        redisconn_pool_get_stats(g.pool, &st);
        if (st.waiting_count != total_waiters || st.active_count != conns)
            die("memory setup did not reach the expected pool state");
    }
    teardown();
    m6 = heap_bytes();
    printf("bench=memory n=%ld idle_conn_bytes=%.0f idle_conn_first_batch_bytes=%.0f "
           "waiter_bytes=%.0f waiter_first_batch_bytes=%.0f waiter_with_timeout_bytes=%.0f "
           "heap_left_after_close=%.0f\n",
           n, per(m1, m2, n), per(m0, m1, n), per(m3, m4, n), per(m2, m3, n), per(m4, m5, n),
           (double)m6 - (double)m0);
    return 0;
}

static long fired;

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fired++;
}

static int run_loop(long passes)
{
    struct event_base *base = event_base_new();
    struct event *rd, *once, *persist;
    int fds[2];
    uint64_t t[4];

    if (base == NULL || pipe(fds) != 0) die("cannot set up the loop");
    /* one registered fd, as a pool with a connection has */
    rd = event_new(base, fds[0], EV_READ | EV_PERSIST, on_event, NULL);
    once = event_new(base, -1, 0, on_event, NULL);
    persist = event_new(base, -1, EV_PERSIST, on_event, NULL);
    if (rd == NULL || once == NULL || persist == NULL || event_add(rd, NULL) != 0)
        die("cannot create the events");
    for (int i = 0; i < WARMUP_PAIRS; i++) {
        event_active(once, EV_READ, 1);
        event_active(persist, EV_READ, 1);
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_ZERO_STATS;
    t[0] = now_ns();
    for (long i = 0; i < passes; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    t[1] = now_ns();
    CALLGRIND_DUMP_STATS_AT("idle");
    for (long i = 0; i < passes; i++) {
        event_active(once, EV_READ, 1);
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
    t[2] = now_ns();
    CALLGRIND_DUMP_STATS_AT("active");
    for (long i = 0; i < passes; i++) {
        event_active(persist, EV_READ, 1);
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
    t[3] = now_ns();
    CALLGRIND_DUMP_STATS_AT("active_persist");
    CALLGRIND_STOP_INSTRUMENTATION;
    if (fired != WARMUP_PAIRS * 2 + passes * 2) die("events did not fire as expected");
    printf("bench=loop passes=%ld native_ns_idle=%.1f native_ns_active=%.1f "
           "native_ns_active_persist=%.1f\n",
           passes, (double)(t[1] - t[0]) / (double)passes, (double)(t[2] - t[1]) / (double)passes,
           (double)(t[3] - t[2]) / (double)passes);
    event_free(rd);
    event_free(once);
    event_free(persist);
    event_base_free(base);
    close(fds[0]);
    close(fds[1]);
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *mode = "pairs";
    int port = 6379, size = 64, opt;
    long waiters = 0, pairs = 10000, n = 1000;

    while ((opt = getopt(argc, argv, "p:h:s:w:k:m:n:")) != -1) {
        switch (opt) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'h':
            host = optarg;
            break;
        case 's':
            size = atoi(optarg);
            break;
        case 'w':
            waiters = atol(optarg);
            break;
        case 'k':
            pairs = atol(optarg);
            break;
        case 'm':
            mode = optarg;
            break;
        case 'n':
            n = atol(optarg);
            break;
        default:
            usage(argv[0]);
        }
    }
    if (port <= 0 || port > 65535 || size <= 0 || waiters < 0 || pairs <= 0 || n <= 0)
        usage(argv[0]);
    if (strcmp(mode, "pairs") == 0) return run_pairs(host, port, size, waiters, pairs);
    if (strcmp(mode, "memory") == 0) return run_memory(host, port, n);
    if (strcmp(mode, "loop") == 0) return run_loop(pairs);
    usage(argv[0]);
    return 2;
}
