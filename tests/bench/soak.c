/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * soak.c — a long mixed load through faults, counting every callback.
 *
 *   soak [-t SECONDS] [-p PORT] [-c CLIENTS] [-k KILL_PERIOD_MS] [-a SERVER_CPU]
 *
 * The soak starts and owns its redis-server (on PORT, default a free one;
 * `redis-server` from PATH, pinned to SERVER_CPU when given) because it kills
 * it: kill -9 and a restart on the same port half way through. Meanwhile, for
 * SECONDS (default 60):
 *  - CLIENTS leased workers: acquire -> SET k v -> GET k -> release;
 *  - CLIENTS pool-level workers: SET k v -> GET k without a lease;
 *  - 4 MULTI/EXEC workers: acquire -> MULTI, INCR, SET, EXEC (pipelined) -> release;
 *  - 2 SUBSCRIBE churn workers: acquire -> SUBSCRIBE a fresh channel ->
 *    PUBLISH to it (pool-level) -> the message -> UNSUBSCRIBE -> release;
 *  - every KILL_PERIOD_MS (default 2000) a side connection sends
 *    CLIENT KILL TYPE normal: every pool connection but the subscribed ones dies.
 * Keys and values are unique per request, so a reply that reached the wrong
 * request shows. Every operation started (an acquire that returned a handle,
 * a command that returned OK) is counted as issued, and its callback (for a
 * subscription: the final one) as completed; a callback with nothing of its
 * kind outstanding on its worker is a duplicate.
 *
 * Reports ops per kind, failed requests by status, dials, the heap in use
 * (mallinfo2) and RSS at start (after 1 s), at the end of the load and after
 * the pool was closed. The last line is "soak ... result=PASS|FAIL"; the
 * exit status is 0 only when every callback fired exactly once, no reply
 * reached another request, and the pool served again after the restart.
 */
#include "bench_common.h"
#include "soak_server.h"

#include <malloc.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "redisconn/pool.h"

enum { W_LEASE, W_POOL, W_MULTI, W_SUB, W_KINDS };
enum { O_ACQ, O_CMD, O_PCMD, O_SUB, O_UNSUB, O_KINDS };
enum { MULTI_WORKERS = 4, SUB_WORKERS = 2, STATUSES = 32 };

static const char *const worker_names[W_KINDS] = {"leased", "pool", "multi", "subscribe"};
static const char *const op_names[O_KINDS] = {"acquire", "lease_cmd", "pool_cmd", "subscribe",
                                              "unsubscribe"};

typedef struct soak soak;

typedef struct worker {
    soak *s;
    int id, kind;
    uint64_t seq;
    redisconn_conn *conn;
    struct event *timer; /* pause after a failure; subscribe cycle watchdog */
    char key[48], val[64], chan[48];
    size_t vlen;
    int pending[O_KINDS];
    int cycle_ok;  /* nothing failed in this request so far */
    int got_msg;   /* subscribe: the message arrived */
    int sub_ended; /* subscribe: the final call came */
    int active;    /* counted in s->busy */
    int64_t t0;
} worker;

typedef struct mem_sample {
    long long heap, rss;
} mem_sample;

struct soak {
    struct event_base *base;
    redisconn_pool *pool;
    worker *w;
    int nw, busy, stopping, closed;
    uint64_t issued[O_KINDS], completed[O_KINDS], dups[O_KINDS];
    uint64_t ok[W_KINDS], failed[W_KINDS], by_status[STATUSES], wrong, nils, sub_watchdogs;
    char wrong_sample[160];
    soak_server srv; /* the redis-server the soak owns */
    /* faults */
    redisContext *side;
    int kills;
    long long victims;
    int64_t t_restart_ms, recovery_ms, drain_ms;
    uint64_t ok_at_restart;
    uint64_t dials_before_kill, dials_after_restart;
};

static int64_t now_ms(void)
{
    return soak_now_ms();
}

/* ---- accounting ---------------------------------------------------------- */

static void issued(worker *w, int op)
{
    w->s->issued[op]++;
    w->pending[op]++;
}

/* Counts a callback of kind `op`; returns 0 for a duplicate (ignore it). */
static int completed(worker *w, int op)
{
    if (w->pending[op] == 0) {
        w->s->dups[op]++;
        return 0;
    }
    w->pending[op]--;
    w->s->completed[op]++;
    return 1;
}

static void fail_status(worker *w, int status)
{
    w->cycle_ok = 0;
    if (-status >= 0 && -status < STATUSES) w->s->by_status[-status]++;
}

static void wrong_reply(worker *w, const char *what, const redisReply *r)
{
    soak *s = w->s;
    s->wrong++;
    w->cycle_ok = 0;
    if (s->wrong_sample[0] == '\0')
        snprintf(s->wrong_sample, sizeof(s->wrong_sample), "%s of %s: type %d \"%.60s\"", what,
                 w->key, r ? r->type : -1, r && r->str ? r->str : "");
}

static void start(worker *w);

/* A request is over: count it, then the next one (after 2 ms if it failed). */
static void finish(worker *w)
{
    soak *s = w->s;
    if (w->cycle_ok) {
        s->ok[w->kind]++;
        if (s->t_restart_ms && s->recovery_ms < 0) s->recovery_ms = now_ms() - s->t_restart_ms;
        start(w);
        return;
    }
    s->failed[w->kind]++;
    struct timeval tv = {0, 2000};
    evtimer_add(w->timer, &tv);
}

static void release_lease(worker *w)
{
    redisconn_conn *c = w->conn;
    w->conn = NULL;
    redisconn_release(c);
}

/* ---- leased and pool-level SET / GET ------------------------------------- */

static int send_kv(worker *w, int set, redisconn_reply_cb cb)
{
    const char *argv[3] = {set ? "SET" : "GET", w->key, w->val};
    size_t lens[3] = {3, strlen(w->key), w->vlen};
    int op = w->kind == W_POOL ? O_PCMD : O_CMD, rc;
    if (w->kind == W_POOL)
        rc = redisconn_pool_command_argv(w->s->pool, 0, cb, w, set ? 3 : 2, argv, lens);
    else
        rc = redisconn_command_argv(w->conn, cb, w, set ? 3 : 2, argv, lens);
    if (rc == REDISCONN_OK) issued(w, op);
    return rc;
}

/* Ends a leased or pool-level request. */
static void end_kv(worker *w)
{
    if (w->conn) release_lease(w);
    finish(w);
}

static void on_get(redisconn_conn *conn, int status, redisReply *r, void *arg)
{
    worker *w = arg;
    (void)conn;
    if (!completed(w, w->kind == W_POOL ? O_PCMD : O_CMD)) return;
    if (status != REDISCONN_OK) {
        fail_status(w, status);
    } else if (r->type == REDIS_REPLY_NIL) {
        w->s->nils++; /* the SET's data was lost in the restart */
        w->cycle_ok = 0;
    } else if (r->type != REDIS_REPLY_STRING || r->len != w->vlen ||
               memcmp(r->str, w->val, w->vlen) != 0) {
        if (r->type == REDIS_REPLY_ERROR)
            w->cycle_ok = 0;
        else
            wrong_reply(w, "GET", r);
    }
    end_kv(w);
}

static void on_set(redisconn_conn *conn, int status, redisReply *r, void *arg)
{
    worker *w = arg;
    int rc;
    (void)conn;
    if (!completed(w, w->kind == W_POOL ? O_PCMD : O_CMD)) return;
    if (status != REDISCONN_OK) {
        fail_status(w, status);
        end_kv(w);
        return;
    }
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0) {
        if (r->type == REDIS_REPLY_ERROR)
            w->cycle_ok = 0;
        else
            wrong_reply(w, "SET", r);
        end_kv(w);
        return;
    }
    rc = send_kv(w, 0, on_get);
    if (rc != REDISCONN_OK) {
        fail_status(w, rc);
        end_kv(w);
    }
}

/* ---- MULTI / EXEC -------------------------------------------------------- */

static void on_multi_part(redisconn_conn *conn, int status, redisReply *r, void *arg)
{
    worker *w = arg;
    (void)conn;
    if (!completed(w, O_CMD)) return;
    if (status != REDISCONN_OK) fail_status(w, status);
    if (status == REDISCONN_OK && w->pending[O_CMD] == 0) { /* EXEC's reply: [counter, OK] */
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_STATUS)
            wrong_reply(w, "EXEC", r);
    }
    if (w->pending[O_CMD] > 0) return;
    release_lease(w);
    finish(w);
}

static void send_transaction(worker *w)
{
    char counter[48];
    snprintf(counter, sizeof(counter), "soak:counter:%d", w->id);
    if (redisconn_command(w->conn, on_multi_part, w, "MULTI") == REDISCONN_OK) {
        issued(w, O_CMD);
        if (redisconn_command(w->conn, on_multi_part, w, "INCR %s", counter) == REDISCONN_OK)
            issued(w, O_CMD);
        if (redisconn_command(w->conn, on_multi_part, w, "SET %s %s", w->key, w->val) ==
            REDISCONN_OK)
            issued(w, O_CMD);
        if (redisconn_command(w->conn, on_multi_part, w, "EXEC") == REDISCONN_OK) {
            issued(w, O_CMD);
            return;
        }
    }
    w->cycle_ok = 0; /* a send failed: the replies of those sent end the request */
    if (w->pending[O_CMD] == 0) {
        release_lease(w);
        finish(w);
    }
}

/* ---- SUBSCRIBE churn ----------------------------------------------------- */

static void sub_maybe_done(worker *w)
{
    if (w->pending[O_SUB] || w->pending[O_UNSUB] || w->pending[O_PCMD]) return;
    evtimer_del(w->timer);
    if (w->conn) release_lease(w);
    if (!w->got_msg) w->cycle_ok = 0;
    finish(w);
}

static void on_unsub(redisconn_conn *conn, int status, redisReply *r, void *arg)
{
    worker *w = arg;
    (void)conn;
    (void)r;
    if (!completed(w, O_UNSUB)) return;
    if (status != REDISCONN_OK) fail_status(w, status);
    sub_maybe_done(w);
}

static void unsubscribe(worker *w)
{
    if (w->sub_ended || w->pending[O_UNSUB] || w->conn == NULL) return;
    if (redisconn_command(w->conn, on_unsub, w, "UNSUBSCRIBE %s", w->chan) == REDISCONN_OK)
        issued(w, O_UNSUB);
    else
        release_lease(w); /* the subscription's final call follows (closed) */
}

static void on_publish(redisconn_conn *conn, int status, redisReply *r, void *arg)
{
    worker *w = arg;
    (void)conn;
    (void)r;
    if (!completed(w, O_PCMD)) return;
    if (status != REDISCONN_OK) fail_status(w, status);
    sub_maybe_done(w);
}

static void on_sub(redisconn_conn *conn, int status, redisReply *r, void *arg)
{
    worker *w = arg;
    (void)conn;
    if (r == NULL) { /* the final call */
        if (!completed(w, O_SUB)) return;
        w->sub_ended = 1;
        if (status != REDISCONN_ERR_CANCELED) fail_status(w, status);
        if (w->conn) release_lease(w);
        sub_maybe_done(w);
        return;
    }
    if (w->pending[O_SUB] == 0) {
        w->s->dups[O_SUB]++;
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) {
        wrong_reply(w, "SUBSCRIBE", r);
        return;
    }
    if (strcmp(r->element[0]->str, "subscribe") == 0) {
        if (redisconn_pool_command(w->s->pool, 0, on_publish, w, "PUBLISH %s %s", w->chan,
                                   w->val) == REDISCONN_OK)
            issued(w, O_PCMD);
        else
            unsubscribe(w);
    } else if (strcmp(r->element[0]->str, "message") == 0) {
        if (strcmp(r->element[2]->str, w->val) != 0) wrong_reply(w, "message", r->element[2]);
        w->got_msg = 1;
        unsubscribe(w);
    }
}

/* ---- requests ------------------------------------------------------------ */

static void on_acquired(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    worker *w = arg;
    (void)errmsg;
    if (!completed(w, O_ACQ)) return;
    if (status != REDISCONN_OK) {
        fail_status(w, status);
        finish(w);
        return;
    }
    w->conn = conn;
    if (w->kind == W_MULTI) {
        send_transaction(w);
    } else if (w->kind == W_SUB) {
        struct timeval watchdog = {2, 0};
        w->got_msg = w->sub_ended = 0;
        if (redisconn_command(conn, on_sub, w, "SUBSCRIBE %s", w->chan) != REDISCONN_OK) {
            w->cycle_ok = 0;
            release_lease(w);
            finish(w);
            return;
        }
        issued(w, O_SUB);
        evtimer_add(w->timer, &watchdog);
    } else {
        int rc = send_kv(w, 1, on_set);
        if (rc != REDISCONN_OK) {
            fail_status(w, rc);
            end_kv(w);
        }
    }
}

static void start(worker *w)
{
    soak *s = w->s;
    int n;
    if (s->stopping) {
        if (w->active) s->busy--;
        w->active = 0;
        return;
    }
    w->seq++;
    w->cycle_ok = 1;
    snprintf(w->key, sizeof(w->key), "soak:%d:%llu", w->id, (unsigned long long)w->seq);
    snprintf(w->chan, sizeof(w->chan), "soak:ch:%d:%llu", w->id, (unsigned long long)w->seq);
    n = snprintf(w->val, sizeof(w->val), "v:%d:%llu:%x", w->id, (unsigned long long)w->seq,
                 (unsigned)rand());
    w->vlen = (size_t)n;
    if (w->kind == W_POOL) {
        int rc = send_kv(w, 1, on_set);
        if (rc != REDISCONN_OK) {
            fail_status(w, rc);
            finish(w);
        }
        return;
    }
    if (redisconn_pool_acquire(s->pool, 2000, on_acquired, w) == NULL) {
        fail_status(w, REDISCONN_ERR_NOMEM);
        finish(w);
        return;
    }
    issued(w, O_ACQ);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;
    (void)fd;
    (void)what;
    if (w->kind == W_SUB && (w->pending[O_SUB] || w->pending[O_UNSUB] || w->pending[O_PCMD])) {
        w->s->sub_watchdogs++; /* no message: give the subscription up */
        if (w->conn) release_lease(w);
        return;
    }
    start(w);
}

/* ---- faults and phases --------------------------------------------------- */

static void client_kill(soak *s)
{
    redisReply *r;
    if (s->side == NULL) {
        struct timeval tv = {0, 500000};
        s->side = redisConnectWithTimeout("127.0.0.1", s->srv.port, tv);
        if (s->side == NULL || s->side->err) {
            if (s->side) redisFree(s->side);
            s->side = NULL;
            return;
        }
        redisSetTimeout(s->side, tv);
    }
    r = redisCommand(s->side, "CLIENT KILL TYPE normal SKIPME yes");
    if (r == NULL) {
        redisFree(s->side);
        s->side = NULL;
        return;
    }
    s->kills++;
    if (r->type == REDIS_REPLY_INTEGER) s->victims += r->integer;
    freeReplyObject(r);
}

static mem_sample sample_memory(void)
{
    mem_sample m;
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    struct mallinfo2 mi = mallinfo2();
    m.heap = (long long)mi.uordblks;
    if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    if (f) fclose(f);
    m.rss = (long long)resident * sysconf(_SC_PAGESIZE);
    return m;
}

static void print_progress(const soak *s, int64_t t_s)
{
    redisconn_pool_stats st;
    uint64_t ok = 0, failed = 0;
    redisconn_pool_get_stats(s->pool, &st);
    for (int k = 0; k < W_KINDS; k++) {
        ok += s->ok[k];
        failed += s->failed[k];
    }
    printf("t=%llds requests_ok=%llu failed=%llu dials=%llu open=%d kills=%d\n", (long long)t_s,
           (unsigned long long)ok, (unsigned long long)failed, (unsigned long long)st.dials,
           st.active_count - st.dialing_count, s->kills);
    fflush(stdout);
}

static void on_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    ((soak *)arg)->closed++;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg; /* only wakes the loop: run_until() checks its condition */
}

/* Runs the loop for `ms`, or until *flag == want when `flag` is set (a 10 ms
 * tick keeps a pass from blocking longer). Returns 1 when the flag got there. */
static int run_until(soak *s, const int *flag, int want, int ms)
{
    int64_t end = now_ms() + ms;
    while ((flag == NULL || *flag != want) && now_ms() < end)
        event_base_loop(s->base, EVLOOP_ONCE);
    return flag != NULL && *flag == want;
}

static void on_kill_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_kill(arg);
}

typedef struct soak_args {
    int seconds, port, clients, kill_period_ms, server_cpu;
} soak_args;

static soak_args parse_args(int argc, char **argv)
{
    soak_args a = {60, 0, 32, 2000, -1};
    int opt;
    while ((opt = getopt(argc, argv, "t:p:c:k:a:")) != -1) {
        switch (opt) {
        case 't':
            a.seconds = atoi(optarg);
            break;
        case 'p':
            a.port = atoi(optarg);
            break;
        case 'c':
            a.clients = atoi(optarg);
            break;
        case 'k':
            a.kill_period_ms = atoi(optarg);
            break;
        case 'a':
            a.server_cpu = atoi(optarg);
            break;
        default:
            a.seconds = -1;
        }
    }
    if (a.seconds < 4 || a.port < 0 || a.port > 65535 || a.clients < 1 || a.kill_period_ms < 10) {
        fprintf(stderr,
                "usage: %s [-t SECONDS (>= 4)] [-p PORT] [-c CLIENTS] "
                "[-k KILL_PERIOD_MS] [-a SERVER_CPU]\n",
                argv[0]);
        exit(2);
    }
    return a;
}

static void make_workers(soak *s, int clients)
{
    s->nw = 2 * clients + MULTI_WORKERS + SUB_WORKERS;
    s->w = calloc((size_t)s->nw, sizeof(*s->w));
    for (int i = 0; i < s->nw; i++) {
        worker *w = &s->w[i];
        w->s = s;
        w->id = i;
        w->kind = i < clients                       ? W_LEASE
                  : i < 2 * clients                 ? W_POOL
                  : i < 2 * clients + MULTI_WORKERS ? W_MULTI
                                                    : W_SUB;
        w->timer = evtimer_new(s->base, on_timer, w);
    }
}

static void print_memory(const char *when, mem_sample m)
{
    printf("memory_%s heap_bytes=%lld rss_bytes=%lld\n", when, m.heap, m.rss);
}

/* Prints the report; returns 1 when every check passed. */
static int report(const soak *s, const soak_args *a, double secs, mem_sample m0, mem_sample m1,
                  mem_sample m2, const redisconn_pool_stats *st)
{
    uint64_t ok = 0, failed = 0, issued_all = 0, completed_all = 0, dups = 0;
    int pass;
    printf("soak seconds=%.1f drain_and_close_ms=%lld clients=%d+%d+%d+%d kill_period_ms=%d "
           "port=%d\n",
           secs, (long long)s->drain_ms, a->clients, a->clients, MULTI_WORKERS, SUB_WORKERS,
           a->kill_period_ms, s->srv.port);
    for (int k = 0; k < W_KINDS; k++) {
        ok += s->ok[k];
        failed += s->failed[k];
        printf("requests_%s ok=%llu failed=%llu\n", worker_names[k], (unsigned long long)s->ok[k],
               (unsigned long long)s->failed[k]);
    }
    for (int o = 0; o < O_KINDS; o++) {
        issued_all += s->issued[o];
        completed_all += s->completed[o];
        dups += s->dups[o];
        printf("ops_%s issued=%llu completed=%llu duplicates=%llu\n", op_names[o],
               (unsigned long long)s->issued[o], (unsigned long long)s->completed[o],
               (unsigned long long)s->dups[o]);
    }
    printf("errors");
    for (int i = 1; i < STATUSES; i++)
        if (s->by_status[i])
            printf(" %s=%llu", redisconn_status_name(-i), (unsigned long long)s->by_status[i]);
    printf(" error_replies=%llu\n", (unsigned long long)s->by_status[0]);
    printf("faults client_kills=%d clients_killed=%lld server_kill9_restarts=1 "
           "recovery_ms=%lld dials_kill_to_restart=%llu sub_watchdogs=%llu\n",
           s->kills, s->victims, (long long)s->recovery_ms,
           (unsigned long long)(s->dials_after_restart - s->dials_before_kill),
           (unsigned long long)s->sub_watchdogs);
    printf("pool dials=%llu dial_errors=%llu fast_failed=%llu command_timeouts=%llu "
           "closed_broken=%llu closed_dirty=%llu pool_commands=%llu\n",
           (unsigned long long)st->dials, (unsigned long long)st->dial_errors,
           (unsigned long long)st->fast_failed, (unsigned long long)st->command_timeouts,
           (unsigned long long)st->closed_broken, (unsigned long long)st->closed_dirty,
           (unsigned long long)st->pool_commands);
    print_memory("start", m0);
    print_memory("end", m1);
    print_memory("closed", m2);
    printf("checks wrong_replies=%llu nil_after_set=%llu%s%s\n", (unsigned long long)s->wrong,
           (unsigned long long)s->nils, s->wrong ? " first_wrong=" : "", s->wrong_sample);
    pass = issued_all == completed_all && dups == 0 && s->wrong == 0 && s->recovery_ms >= 0 &&
           s->closed == 1;
    printf("soak requests_ok=%llu requests_failed=%llu ops_issued=%llu ops_completed=%llu "
           "duplicates=%llu ops_per_sec=%.0f result=%s\n",
           (unsigned long long)ok, (unsigned long long)failed, (unsigned long long)issued_all,
           (unsigned long long)completed_all, (unsigned long long)dups,
           (double)completed_all / secs, pass ? "PASS" : "FAIL");
    return pass;
}

/* Starts the server and the pool; returns 0, or 2 (printed why). */
static int setup(soak *s, const soak_args *a)
{
    redisconn_pool_options o;
    redisconn_error err;
    char addr[64];
    memset(s, 0, sizeof(*s));
    s->srv.cpu = a->server_cpu;
    s->srv.port = a->port ? a->port : soak_free_port();
    s->recovery_ms = -1;
    snprintf(s->srv.dir, sizeof(s->srv.dir), "/tmp/redisconn-soak-XXXXXX");
    if (mkdtemp(s->srv.dir) == NULL || soak_server_start(&s->srv) != 0) {
        fprintf(stderr, "soak: cannot start redis-server on port %d\n", s->srv.port);
        return 2;
    }
    s->base = event_base_new();
    redisconn_pool_options_init(&o);
    o.max_active = 64;
    o.max_idle = 64;
    o.connect_timeout_ms = 1000;
    o.command_timeout_ms = 1000;
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", s->srv.port);
    s->pool = redisconn_pool_new_with_options(s->base, addr, &o, &err);
    if (s->pool == NULL) {
        fprintf(stderr, "soak: %s\n", err.message);
        return 2;
    }
    make_workers(s, a->clients);
    return 0;
}

/* kill -9, then a restart on the same port; returns 0, or 2. */
static int kill_and_restart(soak *s, int64_t t_s)
{
    redisconn_pool_stats st;
    redisconn_pool_get_stats(s->pool, &st);
    s->dials_before_kill = st.dials;
    soak_server_kill(&s->srv, SIGKILL);
    printf("t=%llds kill -9 of redis-server\n", (long long)t_s);
    run_until(s, NULL, 0, 200); /* the pool notices the outage */
    if (soak_server_start(&s->srv) != 0) {
        fprintf(stderr, "soak: cannot restart redis-server\n");
        return 2;
    }
    redisconn_pool_get_stats(s->pool, &st);
    s->dials_after_restart = st.dials;
    s->t_restart_ms = now_ms();
    return 0;
}

/* The load for a->seconds, with the kill -9 half way; memory at 1 s and at
 * the end into m[0], m[1]. Returns 0, or 2. */
static int run_load(soak *s, const soak_args *a, mem_sample m[2])
{
    int64_t t0 = now_ms(), half = t0 + a->seconds * 500LL, end = t0 + a->seconds * 1000LL;
    int64_t next_report = t0 + 10000;
    for (int i = 0; i < s->nw; i++) {
        s->w[i].active = 1;
        s->busy++;
        start(&s->w[i]);
    }
    run_until(s, NULL, 0, 1000);
    m[0] = sample_memory();
    while (now_ms() < end) {
        int64_t now = now_ms(), until = end;
        if (half > now && half < until) until = half;
        if (next_report < until) until = next_report;
        run_until(s, NULL, 0, (int)(until - now));
        now = now_ms();
        if (now >= next_report) {
            print_progress(s, (now - t0) / 1000);
            next_report += 10000;
        }
        if (half && now >= half) {
            if (kill_and_restart(s, (now - t0) / 1000) != 0) return 2;
            half = 0;
        }
    }
    m[1] = sample_memory();
    return 0;
}

/* Frees everything and stops the server. */
static void teardown(soak *s)
{
    char cmd[300];
    for (int i = 0; i < s->nw; i++)
        event_free(s->w[i].timer);
    free(s->w);
    if (s->side) redisFree(s->side);
    event_base_free(s->base);
    soak_server_kill(&s->srv, SIGTERM);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->srv.dir);
    if (system(cmd) != 0) fprintf(stderr, "soak: could not remove %s\n", s->srv.dir);
}

int main(int argc, char **argv)
{
    soak_args a = parse_args(argc, argv);
    soak s;
    redisconn_pool_stats st;
    mem_sample m[3];
    struct event *tick, *killer;
    struct timeval tick_tv = {0, 10000},
                   kill_tv = {a.kill_period_ms / 1000, (a.kill_period_ms % 1000) * 1000};
    int64_t t0;
    double load_secs;
    int pass;

    signal(SIGPIPE, SIG_DFL); /* a write that raised it would end the soak */
    if (setup(&s, &a) != 0) return 2;
    tick = event_new(s.base, -1, EV_PERSIST, on_tick, NULL);
    event_add(tick, &tick_tv);
    killer = event_new(s.base, -1, EV_PERSIST, on_kill_timer, &s);
    event_add(killer, &kill_tv);
    t0 = now_ms();
    if (run_load(&s, &a, m) != 0) return 2;
    event_del(killer);
    s.stopping = 1;
    load_secs = (double)(now_ms() - t0) / 1000.0;
    if (!run_until(&s, &s.busy, 0, 30000))
        fprintf(stderr, "soak: %d workers still waiting for a callback after 30 s\n", s.busy);
    redisconn_pool_get_stats(s.pool, &st);
    redisconn_pool_close(s.pool, on_closed, &s);
    run_until(&s, &s.closed, 1, 10000);
    s.drain_ms = now_ms() - t0 - (int64_t)(load_secs * 1000.0);
    m[2] = sample_memory();
    pass = report(&s, &a, load_secs, m[0], m[1], m[2], &st);
    event_free(killer);
    event_free(tick);
    teardown(&s);
    return pass ? 0 : 1;
}
