/* pool_support.h — recorders for acquire and reply callbacks, and a pool
 * environment (base + real server + pool) shared by the pool suites. */
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

typedef struct rt_env {
    struct event_base *base;
    rt_server *srv;
    redisconn_pool *pool;
    int closed; /* close callback count */
    int fds_before;
    rt_log log;
} rt_env;

/* Starts a server (opts may be NULL), a base, and records the fd baseline. */
void rt_env_init(rt_env *env, const rt_server_opts *opts);
/* Creates env->pool on env->srv with `opts` (NULL = defaults + test logging). */
redisconn_pool *rt_env_pool(rt_env *env, const redisconn_pool_options *opts);
/* Options with defaults plus log capture into env->log. */
void rt_env_options(rt_env *env, redisconn_pool_options *opts);
/* Closes the pool, runs the loop until the close callback, asserts it fired
 * exactly once, and that the fd count is back to the baseline. */
void rt_env_close_pool(rt_env *env);
/* Closes the pool if open, stops the server, frees the base. */
void rt_env_fini(rt_env *env);

/* Runs the loop until a->calls > 0. Returns 1 if it happened in time. */
int rt_wait_acq(rt_env *env, rt_acq *a, int timeout_ms);
int rt_wait_reply(rt_env *env, rt_reply *r, int timeout_ms);

/* Acquires synchronously (runs the loop): asserts success, returns the conn. */
redisconn_conn *rt_acquire_ok(rt_env *env);
redisconn_conn *rt_acquire_ok_on(redisconn_pool *pool, struct event_base *base);
/* Runs one command on `conn` and waits for its reply. */
void rt_command_wait(rt_env *env, redisconn_conn *conn, rt_reply *out, const char *fmt, ...);

#endif
