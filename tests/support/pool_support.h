/* SPDX-License-Identifier: BSD-3-Clause */
/* pool_support.h — recorders for acquire and reply callbacks, and operations
 * that run one acquire or command to completion. The fixture that sets up a
 * pool is in support/pool_fixture.h. */
#ifndef REDISCONN_TEST_POOL_SUPPORT_H
#define REDISCONN_TEST_POOL_SUPPORT_H

#include "redisconn/pool.h"
#include "support/support.h"

/* Records one acquire callback; `calls` must end at exactly 1. */
typedef struct rt_acq {
    int calls;
    int status;
    redisconn_conn *conn;
    char errmsg[256];
    int seq; /* global order in which acquire callbacks fired (1-based) */
    int *seq_counter;
    int release; /* release the connection inside the callback */
} rt_acq;
void rt_acq_cb(redisconn_conn *conn, int status, const char *errmsg, void *arg);
/* Fails the test if it ever runs (libuv's never_cb). */
void rt_never_acq_cb(redisconn_conn *conn, int status, const char *errmsg, void *arg);

/* Records one reply callback (copies what it needs from the reply). */
typedef struct rt_reply {
    int calls;
    int status;
    int type; /* REDIS_REPLY_* or -1 without reply */
    long long integer;
    char str[256];
    size_t len;
} rt_reply;
void rt_reply_cb(redisconn_conn *conn, int status, redisReply *reply, void *arg);
/* Fails the test if it ever runs. */
void rt_never_reply_cb(redisconn_conn *conn, int status, redisReply *reply, void *arg);

/* A pool under test with its base, server, options and log (the fixture of
 * support/pool_fixture.h keeps one in the global `env`). */
#define RT_MAX_HELD 16

typedef struct rt_env {
    struct event_base *base;
    rt_server *srv;
    redisconn_pool *pool;              /* NULL once closing (close_pool) */
    int closed;                        /* close callbacks of that pool */
    int fds_before;                    /* fd baseline: base and server open */
    rt_log log;                        /* the pool's log, when captured */
    redisconn_pool_options opts;       /* given_options() */
    redisconn_conn *held[RT_MAX_HELD]; /* given_exhausted() */
} rt_env;

/* Runs the loop until a->calls > 0. Returns 1 if it happened in time. */
int rt_wait_acq(rt_env *e, rt_acq *a, int timeout_ms);
int rt_wait_reply(rt_env *e, rt_reply *r, int timeout_ms);

/* Acquires synchronously (runs the loop): asserts success, returns the conn. */
redisconn_conn *rt_acquire_ok(rt_env *e);
redisconn_conn *rt_acquire_ok_on(redisconn_pool *pool, struct event_base *base);
/* Acquires until one succeeds within `timeout_ms` (a pool recovering from an
 * outage fails acquires fast until its back-off lets a probe through);
 * asserts success. *failures (may be NULL) gets how many failed first. */
redisconn_conn *rt_acquire_eventually(rt_env *e, int timeout_ms, int *failures);
/* The port of the server `conn` is connected to (its INFO server), waiting
 * up to 2 s; fails the test without an answer. */
int rt_lease_port(rt_env *e, redisconn_conn *conn);
/* Runs one command on `conn` and waits for its reply. */
void rt_command_wait(rt_env *e, redisconn_conn *conn, rt_reply *out, const char *fmt, ...);

#endif
