/* SPDX-License-Identifier: BSD-3-Clause */
/* server_support.h — fixtures for the server-layer suites: a server running
 * in this process on a test event_base (port 0, log captured), recorders for
 * context listeners, and child processes running redisconn_server_main(). */
#ifndef REDISCONN_TEST_SERVER_SUPPORT_H
#define REDISCONN_TEST_SERVER_SUPPORT_H

#include <sys/types.h>

#include "redisconn/redisconn.h"
#include "redisconn/server.h"
#include "support/http_client.h"
#include "support/support.h"

/* An in-process server: base, optional real redis-server, server, log. */
typedef struct rt_srv_env {
    struct event_base *base;
    rt_server *redis; /* NULL unless asked for */
    redisconn_server *srv;
    redisconn_server_options opts; /* http_addr 127.0.0.1:0, log into `log` */
    rt_log log;
    int shutdown_calls;
    int shutdown_status;
    /* For rt_srv_env_start_redis(): redis_addr is `redis` when asked for. */
    redisconn_module_options redis_opts;
    redisconn_module *redis_mod; /* made by rt_srv_env_start_redis() */
} rt_srv_env;

/* Base, options, and a redis-server if `with_redis`. */
void rt_srv_env_init(rt_srv_env *e, int with_redis);
/* Creates and starts the server with `mods`; returns the start status
 * (e->srv stays set either way, to be shut down). */
int rt_srv_env_start(rt_srv_env *e, const redisconn_module *const *mods, size_t n);
/* Starts; asserts success. */
void rt_srv_env_start_ok(rt_srv_env *e, const redisconn_module *const *mods, size_t n);
/* Starts with one Redis module reading e->redis_opts (change them first);
 * returns the start status. The module is freed by rt_srv_env_fini(). */
int rt_srv_env_start_redis(rt_srv_env *e);
/* Shuts the server down and runs the loop until the completion callback;
 * asserts it fired exactly once with `REDISCONN_OK`. */
void rt_srv_env_shutdown(rt_srv_env *e);
/* Resumes redis if paused, shuts down if needed, frees the base and the
 * module, stops redis. */
void rt_srv_env_fini(rt_srv_env *e);
/* GET/POST... on the in-process server, run on e->base. Asserts a response. */
rt_http *rt_srv_fetch(rt_srv_env *e, const char *method, const char *path, const char *body);
/* The same with extra header lines ("Name: value\r\n"..., or NULL) and a
 * binary body of `len` bytes. */
rt_http *rt_srv_fetch_raw(rt_srv_env *e, const char *method, const char *path, const char *headers,
                          const void *body, size_t len);

/* GET `path` on the in-process server: returns the status, the body (NUL-
 * terminated, truncated) copied into `body`. */
int rt_srv_get(rt_srv_env *e, const char *path, char *body, size_t len);

/* GET handler doing what samples/hello_server.c does: INCR hello:count on a
 * connection from redisconn_get(request ctx), "count=N\n"; 503 when Redis is
 * not configured, 504 at the deadline, 500 otherwise. */
void rt_count_handler(redisconn_request *req, void *arg);

/* Records one done-listener callback. */
typedef struct rt_done {
    int calls;
    int err;
    redisconn_ctx *ctx;
} rt_done;
void rt_done_cb(redisconn_ctx *ctx, int err, void *arg);
/* Fails the test if it ever runs. */
void rt_never_done_cb(redisconn_ctx *ctx, int err, void *arg);

/* Forks a child that runs fn(arg) and _exit()s with its result, stdout and
 * stderr redirected to `out_path` (may be NULL: inherited). The child dies
 * with the test process. */
pid_t rt_spawn(int (*fn)(void *arg), void *arg, const char *out_path);
/* Waits for the child's exit code; kills it and returns -1 after timeout. */
int rt_wait_exit(pid_t pid, int timeout_ms);
/* Reads a whole (small) file into buf, NUL-terminated; returns its length or -1. */
long rt_read_file(const char *path, char *buf, size_t len);
/* A fresh path in the test temp dir with the given suffix. */
void rt_temp_path(char *buf, size_t len, const char *suffix);
/* Writes `text` to a fresh temp file (path in `buf`) and sets its mode. */
void rt_write_temp_file(char *buf, size_t len, const char *text, mode_t mode);

#endif
