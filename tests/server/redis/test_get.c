/* SPDX-License-Identifier: BSD-3-Clause */
/* test_get.c — the seed's UsePool / GetPool / Get(ctx) against a real
 * redis-server: the pool travels in the context, Get honours the context's
 * deadline and cancellation, and NOT_CONFIGURED comes through the callback. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"
#include "support/server_support.h"

static redisconn_ctx *bg;

static void setup(void)
{
    given_server();
    bg = redisconn_ctx_background(env.base);
    cr_assert_not_null(bg);
}

static void teardown(void)
{
    redisconn_ctx_unref(bg);
    rt_env_teardown();
}

TestSuite(get, .init = setup, .fini = teardown, .timeout = 30);

/* A pool of one connection, leased to the caller: every get has to wait. */
static redisconn_conn *exhaust_pool(void)
{
    redisconn_pool_options *o = given_options();
    o->max_active = 1;
    return given_exhausted(given_pool(o), 1)[0];
}

static int waiting_now(void)
{
    return pool_stats().waiting_count;
}

Test(get, use_pool_installs_the_pool_for_descendants)
{
    redisconn_ctx *ctx, *child;
    redisconn_canceler *c;
    given_pool(NULL);
    ctx = redisconn_use_pool(bg, env.pool);
    child = redisconn_ctx_with_cancel(ctx, &c);
    cr_assert_eq(redisconn_get_pool(ctx), env.pool);
    cr_assert_eq(redisconn_get_pool(child), env.pool);
    cr_assert_null(redisconn_get_pool(bg));
    cr_assert_null(redisconn_use_pool(bg, NULL));
    cr_assert_null(redisconn_use_pool(NULL, env.pool));
    redisconn_ctx_cancel(c);
    redisconn_ctx_unref(child);
    redisconn_ctx_unref(ctx);
}

Test(get, without_a_pool_fails_not_configured_through_the_callback_from_the_loop)
{
    rt_acq a = {0};
    cr_assert_not_null(redisconn_get(bg, rt_acq_cb, &a));
    cr_assert_eq(a.calls, 0, "fired from inside redisconn_get");
    cr_assert(rt_loop_until(env.base, &a.calls, 1000));
    cr_assert_eq(a.status, REDISCONN_ERR_NOT_CONFIGURED);
    cr_assert_null(a.conn);
    cr_assert_str_eq(a.errmsg, "Redis connection pool is not configured");
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(a.calls, 1);
}

Test(get, delivers_a_working_connection_from_the_pool)
{
    rt_acq a = {0};
    rt_reply r;
    redisconn_ctx *ctx;
    given_pool(NULL);
    ctx = redisconn_use_pool(bg, env.pool);
    cr_assert_not_null(redisconn_get(ctx, rt_acq_cb, &a));
    cr_assert_eq(a.calls, 0);
    cr_assert(rt_loop_until(env.base, &a.calls, 5000));
    cr_assert_eq(a.status, REDISCONN_OK, "%s", a.errmsg);
    rt_command_wait(&env, a.conn, &r, "INCR %s", "get:count");
    cr_assert_eq(r.integer, 1);
    redisconn_release(a.conn);
    redisconn_ctx_unref(ctx);
}

Test(get, connection_outlives_its_context)
{
    rt_acq a = {0};
    rt_reply r;
    redisconn_canceler *c;
    redisconn_ctx *pctx, *ctx;
    given_pool(NULL);
    pctx = redisconn_use_pool(bg, env.pool);
    ctx = redisconn_ctx_with_cancel(pctx, &c);
    redisconn_get(ctx, rt_acq_cb, &a);
    cr_assert(rt_loop_until(env.base, &a.calls, 5000));
    cr_assert_eq(a.status, REDISCONN_OK);
    redisconn_ctx_cancel(c);
    redisconn_ctx_unref(ctx);
    redisconn_ctx_unref(pctx);
    rt_loop_quiet(env.base, 20); /* the context's end must not touch the lease */
    rt_command_wait(&env, a.conn, &r, "PING");
    cr_assert_str_eq(r.str, "PONG");
    redisconn_release(a.conn);
}

Test(get, deadline_shorter_than_the_wait_fails_with_deadline)
{
    rt_acq a = {0};
    redisconn_conn *held = exhaust_pool();
    redisconn_ctx *pctx = redisconn_use_pool(bg, env.pool);
    redisconn_ctx *ctx = redisconn_ctx_with_timeout(pctx, 150, NULL);
    cr_assert_not_null(redisconn_get(ctx, rt_acq_cb, &a));
    rt_loop_quiet(env.base, 30); /* well before the 150 ms deadline: no answer yet */
    cr_assert_eq(a.calls, 0, "answered before the deadline");
    cr_assert_eq(waiting_now(), 1);
    cr_assert(rt_loop_until(env.base, &a.calls, 3000));
    cr_assert_eq(a.status, REDISCONN_ERR_DEADLINE, "got %s", redisconn_status_name(a.status));
    cr_assert_null(a.conn);
    rt_loop_quiet(env.base, 30); /* a second callback would come now */
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(waiting_now(), 0);
    redisconn_release(held);
    redisconn_ctx_unref(ctx);
    redisconn_ctx_unref(pctx);
}

Test(get, canceled_context_cancels_the_waiting_acquire_at_once)
{
    rt_acq a = {0};
    redisconn_canceler *c;
    redisconn_conn *held = exhaust_pool();
    redisconn_ctx *pctx = redisconn_use_pool(bg, env.pool);
    redisconn_ctx *ctx = redisconn_ctx_with_cancel(pctx, &c); /* no deadline at all */
    redisconn_pool_stats st;
    cr_assert_not_null(redisconn_get(ctx, rt_acq_cb, &a));
    rt_loop_quiet(env.base, 30); /* it waits: nothing may answer it yet */
    cr_assert_eq(a.calls, 0);
    redisconn_ctx_cancel(c);
    cr_assert_eq(a.calls, 0, "fired from inside redisconn_ctx_cancel");
    cr_assert(rt_loop_until(env.base, &a.calls, 500), "the acquire kept waiting");
    cr_assert_eq(a.status, REDISCONN_ERR_CANCELED);
    cr_assert_eq(waiting_now(), 0);
    redisconn_release(held); /* nobody waits now: it goes idle */
    rt_await(env.base, pool_stats().idle_count == 1, 20);
    st = pool_stats();
    cr_assert_eq(st.idle_count, 1);
    cr_assert_eq(a.calls, 1);
    redisconn_ctx_unref(ctx);
    redisconn_ctx_unref(pctx);
}

Test(get, on_a_canceled_context_fails_canceled_from_the_loop)
{
    rt_acq a = {0};
    redisconn_canceler *c;
    redisconn_ctx *pctx, *ctx;
    given_pool(NULL);
    pctx = redisconn_use_pool(bg, env.pool);
    ctx = redisconn_ctx_with_cancel(pctx, &c);
    redisconn_ctx_cancel(c);
    cr_assert_not_null(redisconn_get(ctx, rt_acq_cb, &a));
    cr_assert_eq(a.calls, 0);
    cr_assert(rt_loop_until(env.base, &a.calls, 1000));
    cr_assert_eq(a.status, REDISCONN_ERR_CANCELED);
    redisconn_ctx_unref(ctx);
    redisconn_ctx_unref(pctx);
}

Test(get, on_an_expired_context_fails_deadline_without_dialing)
{
    rt_acq a = {0};
    redisconn_pool_stats st;
    redisconn_ctx *pctx, *ctx;
    given_pool(NULL);
    pctx = redisconn_use_pool(bg, env.pool);
    ctx = redisconn_ctx_with_timeout(pctx, 0, NULL);
    cr_assert_not_null(redisconn_get(ctx, rt_acq_cb, &a));
    cr_assert(rt_loop_until(env.base, &a.calls, 1000));
    cr_assert_eq(a.status, REDISCONN_ERR_DEADLINE);
    st = pool_stats();
    cr_assert_eq(st.dials, 0);
    redisconn_ctx_unref(ctx);
    redisconn_ctx_unref(pctx);
}

Test(get, get_cancel_fails_the_get_with_canceled)
{
    rt_acq a = {0};
    redisconn_conn *held = exhaust_pool();
    redisconn_ctx *ctx = redisconn_use_pool(bg, env.pool);
    redisconn_get_req *g = redisconn_get(ctx, rt_acq_cb, &a);
    cr_assert_not_null(g);
    rt_loop_quiet(env.base, 20); /* it waits: nothing may answer it yet */
    cr_assert_eq(redisconn_get_cancel(g), REDISCONN_OK);
    cr_assert_eq(a.calls, 0, "fired from inside redisconn_get_cancel");
    cr_assert(rt_loop_until(env.base, &a.calls, 1000));
    cr_assert_eq(a.status, REDISCONN_ERR_CANCELED);
    redisconn_release(held);
    redisconn_ctx_unref(ctx);
}

Test(get, null_arguments_return_null_without_a_callback)
{
    cr_assert_null(redisconn_get(NULL, rt_never_acq_cb, NULL));
    cr_assert_null(redisconn_get(bg, NULL, NULL));
    rt_loop_quiet(env.base, 20); /* a callback would come now */
}

Test(get, pool_errors_pass_through_unchanged)
{
    rt_acq a = {0};
    redisconn_ctx *ctx;
    given_pool(NULL);
    ctx = redisconn_use_pool(bg, env.pool);
    close_pool();
    cr_assert_not_null(redisconn_get(ctx, rt_acq_cb, &a));
    cr_assert(rt_loop_until(env.base, &a.calls, 1000));
    cr_assert_eq(a.status, REDISCONN_ERR_CLOSED);
    redisconn_ctx_unref(ctx);
    expect_pool_freed();
}
