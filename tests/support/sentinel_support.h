/* SPDX-License-Identifier: BSD-3-Clause */
/* sentinel_support.h — a real Sentinel deployment for the tests: a master, a
 * replica and three sentinels (redis-server --sentinel) on free loopback
 * ports, monitoring the master as "mymaster" with a short down-after, and
 * operations that drive a failover. */
#ifndef REDISCONN_TEST_SENTINEL_SUPPORT_H
#define REDISCONN_TEST_SENTINEL_SUPPORT_H

#include "support/support.h"

#define RT_SENTINELS 3

typedef struct rt_sentinel_opts {
    const char *master_pass;   /* requirepass of master and replica (sentinels get auth-pass) */
    const char *sentinel_pass; /* requirepass of the sentinels */
    int sentinels;             /* how many to start, 0 = RT_SENTINELS */
} rt_sentinel_opts;

typedef struct rt_sentinel_env {
    rt_server *master, *replica;
    rt_server *sentinel[RT_SENTINELS];
    int nsentinels;
    char addrs[160];          /* "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3" */
    char url[220];            /* "sentinel://<addrs>/mymaster" */
    char conf[600];           /* the sentinels' config lines (kept for restarts) */
    int paused[RT_SENTINELS]; /* SIGSTOPped by rt_sentinels_pause(): not asked */
} rt_sentinel_env;

/* Starts them and waits until the replica is in sync and every sentinel knows
 * the master, the replica and the other sentinels. Fails the test if it cannot. */
void rt_sentinels_start(rt_sentinel_env *e, const rt_sentinel_opts *o);
/* Stops everything (idempotent). */
void rt_sentinels_stop(rt_sentinel_env *e);
/* The master's port as sentinel `i` reports it, or -1. */
int rt_sentinels_master_port(rt_sentinel_env *e, int i);
/* SENTINEL FAILOVER on sentinel 0; waits (up to `timeout_ms`) until every
 * sentinel reports the replica as master. Swaps e->master and e->replica.
 * Blocks: the test's loop does not run meanwhile. */
void rt_sentinels_failover(rt_sentinel_env *e, int timeout_ms);
/* The same in two halves, for tests whose loop must keep running: _begin
 * sends SENTINEL FAILOVER to sentinel `i` (asserting it was accepted) and
 * returns at once; _end waits until every sentinel not paused reports the
 * replica as master and swaps e->master and e->replica. A master killed
 * meanwhile (kill -9) is followed by _end as well. */
void rt_sentinels_failover_begin(rt_sentinel_env *e, int i);
void rt_sentinels_failover_end(rt_sentinel_env *e, int timeout_ms);
/* Waits until every sentinel not paused reports `port` as the master's. */
void rt_sentinels_await_master(rt_sentinel_env *e, int port, int timeout_ms);
/* SIGSTOP / SIGCONT sentinel `i`: it keeps its sockets and answers nothing
 * (a partitioned sentinel). */
void rt_sentinels_pause(rt_sentinel_env *e, int i);
void rt_sentinels_resume(rt_sentinel_env *e, int i);

#endif
