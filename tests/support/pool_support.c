/* SPDX-License-Identifier: BSD-3-Clause */
/* pool_support.c: see pool_support.h. */
#include "support/pool_support.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

int rt_wait_acq(rt_env *e, rt_acq *a, int timeout_ms)
{
    return rt_loop_until(e->base, &a->calls, timeout_ms);
}

int rt_wait_reply(rt_env *e, rt_reply *r, int timeout_ms)
{
    return rt_loop_until(e->base, &r->calls, timeout_ms);
}

redisconn_conn *rt_acquire_ok(rt_env *e)
{
    return rt_acquire_ok_on(e->pool, e->base);
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

/* INFO server's tcp_port, read from the reply itself. */
static void on_info_port(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    const char *p;
    (void)conn;
    *(int *)arg = -2;
    if (status != REDISCONN_OK || reply->type != REDIS_REPLY_STRING) return;
    p = strstr(reply->str, "tcp_port:");
    *(int *)arg = p ? atoi(p + 9) : -3;
}

int rt_lease_port(rt_env *e, redisconn_conn *conn)
{
    int port = 0;
    cr_assert_eq(redisconn_command(conn, on_info_port, &port, "INFO server"), REDISCONN_OK);
    rt_await(e->base, port != 0, 2000);
    return port;
}

void rt_command_wait(rt_env *e, redisconn_conn *conn, rt_reply *out, const char *fmt, ...)
{
    va_list ap;
    int rc;
    memset(out, 0, sizeof(*out));
    va_start(ap, fmt);
    rc = redisconn_commandv(conn, rt_reply_cb, out, fmt, ap);
    va_end(ap);
    cr_assert_eq(rc, REDISCONN_OK, "command: %s", redisconn_strerror(rc));
    cr_assert(rt_wait_reply(e, out, 6000), "no reply");
    cr_assert_eq(out->calls, 1);
}

redisconn_conn *rt_acquire_eventually(rt_env *e, int timeout_ms, int *failures)
{
    int64_t until = rt_now_ms() + timeout_ms;
    int failed = 0;
    for (;;) {
        rt_acq a = {0};
        cr_assert_not_null(redisconn_pool_acquire(e->pool, timeout_ms, rt_acq_cb, &a));
        cr_assert(rt_wait_acq(e, &a, timeout_ms + 1000), "acquire did not complete");
        if (a.status == REDISCONN_OK) {
            if (failures) *failures = failed;
            return a.conn;
        }
        failed++;
        cr_assert_lt(rt_now_ms(), until, "no connection within %d ms (%d failed, last: %s)",
                     timeout_ms, failed, redisconn_status_name(a.status));
        rt_loop_quiet(e->base, 10); /* deliberately: let the back-off delay pass */
    }
}
