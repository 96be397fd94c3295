/* pool_support.c: see pool_support.h. */
#include "support/pool_support.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

void rt_acq_cb(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    rt_acq *a = arg;
    a->calls++;
    a->status = status;
    a->conn = conn;
    cr_assert((status == REDISCONN_OK) == (conn != NULL), "a connection iff success (status %d)",
              status);
    if (errmsg) snprintf(a->errmsg, sizeof(a->errmsg), "%s", errmsg);
    if (a->seq_counter) a->seq = ++*a->seq_counter;
    if (a->release && conn) {
        redisconn_release(conn);
        a->conn = NULL;
    }
}

void rt_never_acq_cb(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    (void)conn;
    (void)arg;
    cr_assert_fail("acquire callback must not fire (status %d, %s)", status, errmsg ? errmsg : "-");
}

void rt_reply_cb(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    rt_reply *r = arg;
    (void)conn;
    r->calls++;
    r->status = status;
    cr_assert((status == REDISCONN_OK) == (reply != NULL), "a reply iff success (status %d)",
              status);
    r->type = reply ? reply->type : -1;
    if (reply && reply->type == REDIS_REPLY_INTEGER) r->integer = reply->integer;
    if (reply && reply->str) {
        r->len = reply->len;
        snprintf(r->str, sizeof(r->str), "%s", reply->str);
    }
}

void rt_never_reply_cb(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    (void)conn;
    (void)reply;
    (void)arg;
    cr_assert_fail("reply callback must not fire (status %s)", redisconn_status_name(status));
}

void rt_env_init(rt_env *env, const rt_server_opts *opts)
{
    memset(env, 0, sizeof(*env));
    env->srv = rt_server_start(opts);
    env->base = event_base_new();
    cr_assert_not_null(env->base);
    env->fds_before = rt_count_fds();
}

void rt_env_options(rt_env *env, redisconn_pool_options *opts)
{
    redisconn_pool_options_init(opts);
    opts->log_fn = rt_log_fn;
    opts->log_arg = &env->log;
    opts->log_level = REDISCONN_LOG_DEBUG;
}

redisconn_pool *rt_env_pool(rt_env *env, const redisconn_pool_options *opts)
{
    redisconn_pool_options o;
    int err = 0;
    if (opts == NULL) {
        rt_env_options(env, &o);
        opts = &o;
    }
    env->pool = redisconn_pool_new_with_options(env->base, env->srv->addr, opts, &err);
    cr_assert_not_null(env->pool, "pool_new: %s", redisconn_strerror(err));
    return env->pool;
}

static void on_closed(redisconn_pool *pool, void *arg)
{
    rt_env *env = arg;
    (void)pool;
    env->closed++;
}

void rt_env_close_pool(rt_env *env)
{
    cr_assert_not_null(env->pool);
    cr_assert_eq(redisconn_pool_close(env->pool, on_closed, env), REDISCONN_OK);
    env->pool = NULL;
    cr_assert(rt_loop_until(env->base, &env->closed, 5000), "pool close did not complete");
    rt_loop_for(env->base, 10);
    cr_assert_eq(env->closed, 1, "close callback fired %d times", env->closed);
    cr_assert_eq(rt_count_fds(), env->fds_before, "fds leaked: %d before, %d after",
                 env->fds_before, rt_count_fds());
}

void rt_env_fini(rt_env *env)
{
    if (env->pool) rt_env_close_pool(env);
    if (env->base) event_base_free(env->base);
    rt_server_free(env->srv);
    env->base = NULL;
    env->srv = NULL;
}

int rt_wait_acq(rt_env *env, rt_acq *a, int timeout_ms)
{
    return rt_loop_until(env->base, &a->calls, timeout_ms);
}

int rt_wait_reply(rt_env *env, rt_reply *r, int timeout_ms)
{
    return rt_loop_until(env->base, &r->calls, timeout_ms);
}

redisconn_conn *rt_acquire_ok(rt_env *env)
{
    return rt_acquire_ok_on(env->pool, env->base);
}

redisconn_conn *rt_acquire_ok_on(redisconn_pool *pool, struct event_base *base)
{
    rt_acq a = {0};
    cr_assert_not_null(redisconn_pool_acquire(pool, 5000, rt_acq_cb, &a));
    cr_assert(rt_loop_until(base, &a.calls, 6000), "acquire did not complete");
    cr_assert_eq(a.status, REDISCONN_OK, "acquire: %s (%s)", redisconn_strerror(a.status),
                 a.errmsg);
    return a.conn;
}

void rt_command_wait(rt_env *env, redisconn_conn *conn, rt_reply *out, const char *fmt, ...)
{
    va_list ap;
    int rc;
    memset(out, 0, sizeof(*out));
    va_start(ap, fmt);
    rc = redisconn_commandv(conn, rt_reply_cb, out, fmt, ap);
    va_end(ap);
    cr_assert_eq(rc, REDISCONN_OK, "command: %s", redisconn_strerror(rc));
    cr_assert(rt_wait_reply(env, out, 6000), "no reply");
    cr_assert_eq(out->calls, 1);
}
