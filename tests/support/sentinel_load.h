/* SPDX-License-Identifier: BSD-3-Clause */
/* sentinel_load.h — steady write load on a pool across a failover, and the
 * checks that follow it: every callback exactly once, and no write
 * acknowledged by the old master after the switch.
 *
 * Workers run on the test's loop: "leased" ones acquire, SET a unique key,
 * release; "pool-level" ones send the SET with redisconn_pool_command(). Each
 * waits `pace_us` between writes. Every write is an op with its own key
 * ("fo:<op>") and records how often each of its callbacks fired, its status,
 * whether the server answered +OK, and WHEN in the loop's order it was
 * answered: `events` counts every callback and the switch. The pool's log
 * line "master of <name> moved from A to B" is written synchronously before
 * the pool retires its old connections, so rt_sload_log_fn() marks the switch
 * in that same order: an +OK with ack_seq > switch_seq was delivered after
 * the pool knew, and must therefore come from the new master — the key must
 * exist there (replication from the old master to the promoted one stops at
 * the promotion, before the switch is announced, so a write taken by the old
 * master after the switch can never reach the new one). */
#ifndef REDISCONN_TEST_SENTINEL_LOAD_H
#define REDISCONN_TEST_SENTINEL_LOAD_H

#include <stdint.h>

#include "support/pool_support.h"

enum { RT_SLOAD_LEASED = 1, RT_SLOAD_POOL = 2, RT_SLOAD_MAX_WORKERS = 64, RT_SLOAD_STATUSES = 32 };

typedef struct rt_sload_op {
    int64_t ack_seq; /* `events` when its last callback ran */
    int64_t ack_ms;
    int status;              /* the failing status (callback or refusal), 0 if none */
    unsigned char kind;      /* RT_SLOAD_LEASED / RT_SLOAD_POOL */
    unsigned char acq_calls; /* leased: acquire callbacks */
    unsigned char reply_calls;
    unsigned char want_reply; /* the SET was accepted: exactly one reply is due */
    unsigned char ok;         /* answered +OK */
} rt_sload_op;

typedef struct rt_sload rt_sload;

typedef struct rt_sload_worker {
    rt_sload *l;
    int kind;
    int op; /* the op in flight, -1 between ops */
    redisconn_conn *conn;
} rt_sload_worker;

struct rt_sload {
    redisconn_pool *pool;
    struct event_base *base;
    rt_log *log; /* rt_sload_log_fn() forwards here too */
    int pace_us;
    int stop;
    int busy; /* workers with an op or a pause pending */
    rt_sload_worker w[RT_SLOAD_MAX_WORKERS];
    int nworkers;
    rt_sload_op *ops;
    int nops, cap;
    int64_t events;
    int64_t switch_seq, switch_ms; /* 0 until the pool logged the switch */
    int64_t start_ms, last_ok_ms, gap_ms, gap_at_ms;
    int64_t first_ok_after_switch_ms;           /* 0 until then */
    int oks, failed, errors[RT_SLOAD_STATUSES]; /* errors by -status; [0]: an error reply */
    char first_error_reply[128];
};

/* Prepares `l` for `pool` on `base`: forwards the pool's log to `log`
 * (install rt_sload_log_fn with log_arg = l). */
void rt_sload_init(rt_sload *l, redisconn_pool *pool, struct event_base *base, rt_log *log);
/* Starts `leased` + `pooled` workers (at most RT_SLOAD_MAX_WORKERS). */
void rt_sload_start(rt_sload *l, int leased, int pooled, int pace_us);
/* The log hook: forwards to l->log and marks the switch. */
void rt_sload_log_fn(int level, const char *msg, void *arg);
/* Stops starting writes and runs the loop until every worker is idle;
 * asserts that every op got each due callback exactly once (after a quiet
 * 50 ms in which a second one would show). */
void rt_sload_stop(rt_sload *l, int timeout_ms);
/* Asserts that every write answered +OK after the switch exists on `srv`;
 * returns how many writes answered +OK before the switch are missing there
 * (lost with the old master: asynchronous replication). */
int rt_sload_expect_post_switch_writes_on(const rt_sload *l, rt_server *srv);
/* +OK answers after the switch. */
int rt_sload_oks_after_switch(const rt_sload *l);
/* Writes a summary line of the run (oks, errors by status, gap, first write
 * after the switch) to stderr, prefixed with `name`. */
void rt_sload_report(const rt_sload *l, const char *name, int64_t failover_ms);

#endif
