/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault_load.h — closed-loop load for the fault suites (tests/pool/test_fault_*):
 * clients that keep requests going through a pool while a test breaks the
 * server, counting every callback, and a side connection that CLIENT KILLs
 * the pool's connections on a timer.
 *
 * A leased client repeats acquire -> SET k v -> GET k -> release; a pooled
 * client repeats pool-level SET k v -> GET k (the GET only once the SET was
 * answered OK). Keys and values are unique per request ("fault:<client>:<n>"),
 * so a reply delivered to the wrong request shows: a SET must get status OK,
 * a GET its own value. Every operation that was started (an acquire that
 * returned a handle, a command that returned OK) gets a record; its callback
 * must fire exactly once (rt_load_check()). Records live until rt_load_free().
 */
#ifndef REDISCONN_TEST_FAULT_LOAD_H
#define REDISCONN_TEST_FAULT_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "redisconn/pool.h"

struct event_base;

typedef struct rt_load_opts {
    int leased;                 /* leased clients */
    int pooled;                 /* pool-level clients */
    int64_t acquire_timeout_ms; /* 0: 2000 */
    int64_t command_timeout_ms; /* pool-level commands' own timeout; 0: the pool's */
    int pause_ms;               /* think time after a request that succeeded (0: none) */
    int fail_pause_ms;          /* after a failed request; 0: 1 ms */
    size_t value_size;          /* bytes per value; 0: about 24 */
} rt_load_opts;

/* Status slots of rt_load.by_status: index -status (REDISCONN_OK is 0). */
#define RT_LOAD_STATUSES 32

typedef struct rt_load_client rt_load_client;
typedef struct rt_load_op rt_load_op;

typedef struct rt_load {
    struct event_base *base;
    redisconn_pool *pool;
    rt_load_opts opts;
    rt_load_client *clients;
    int nclients;
    int stopping;    /* no request is started any more */
    int busy;        /* clients with a request in flight (or pausing) */
    uint64_t issued; /* operations started (records) */
    uint64_t called; /* first callbacks of those records */
    uint64_t extra;  /* callbacks beyond the first of a record: must stay 0 */
    uint64_t ok;     /* requests that completed entirely */
    uint64_t failed; /* requests that failed at some step */
    uint64_t wrong;  /* replies with OK status that belong to another request */
    uint64_t nils;   /* GETs answered nil after their SET's OK (data lost in a restart) */
    char wrong_sample[160];
    uint64_t by_status[RT_LOAD_STATUSES]; /* failed steps by status */
    int64_t last_ok_ms;                   /* rt_now_ms() of the last request that completed */
    int64_t max_ok_ms;                    /* longest request that completed (resettable) */
    int64_t max_fail_ms;                  /* longest request that failed (resettable) */
    int64_t fail_sum_ms; /* total time of failed requests (resettable with fail_count) */
    uint64_t fail_count; /* failed requests since the last reset */
    char last_errmsg[256];
    rt_load_op **ops; /* every record, for rt_load_check() */
    size_t nops, capops;
} rt_load;

/* Starts the clients on `pool` (their first requests go out now). */
rt_load *rt_load_start(redisconn_pool *pool, struct event_base *base, const rt_load_opts *o);
/* No more requests are started; what is in flight completes. */
void rt_load_stop(rt_load *l);
/* Stops and runs the loop until no client has anything in flight; fails the
 * test if that takes over `timeout_ms`. */
void rt_load_drain(rt_load *l, int timeout_ms);
/* Asserts that every started operation was called back exactly once and that
 * no reply reached another request. Call after rt_load_drain(). */
void rt_load_check(const rt_load *l);
/* Zeroes max_ok_ms, max_fail_ms, fail_sum_ms and fail_count. */
void rt_load_reset_latency(rt_load *l);
/* Failed steps with `status`. */
uint64_t rt_load_count(const rt_load *l, int status);
/* Prints the counters on stderr (a failing test's diagnostics). */
void rt_load_dump(const rt_load *l, const char *label);
/* Frees everything (the load must be drained). */
void rt_load_free(rt_load *l);

/* Puts SIGPIPE at its default disposition (terminate) and unblocks it, and
 * checks that it is: the .init of a test whose process must survive writes to
 * a peer that went away (Criterion runs it after the suite's .init). */
void rt_sigpipe_default(void);

/* A side connection to `port` that sends "CLIENT KILL TYPE normal SKIPME yes"
 * every `period_ms` from a timer on `base`: every normal client but itself
 * is disconnected. */
typedef struct rt_killer rt_killer;
rt_killer *rt_killer_start(struct event_base *base, int port, int period_ms);
/* Kills sent so far, and clients they disconnected in total. */
int rt_killer_rounds(const rt_killer *k);
long long rt_killer_victims(const rt_killer *k);
void rt_killer_stop(rt_killer *k);

#endif
