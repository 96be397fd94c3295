/* SPDX-License-Identifier: BSD-3-Clause */
/* test_ctx_command.c — redisconn_ctx_command(): a pool-level command on the
 * pool in a context, against a real redis-server. The callback fires exactly
 * once, from the loop: with the reply, with NOT_CONFIGURED when there is no
 * pool, with the context's error when it is done before or ends during the
 * command (the late reply is dropped); refused commands fail the call. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"
#include "support/server_support.h"

static redisconn_ctx *bg, *ctx;

static void setup(void)
{
    given_server();
    bg = redisconn_ctx_background(env.base);
    cr_assert_not_null(bg);
    ctx = NULL;
}

static void teardown(void)
{
    rt_server_resume(env.srv);
    redisconn_ctx_unref(ctx);
    redisconn_ctx_unref(bg);
    rt_env_teardown();
}

TestSuite(ctx_command, .init = setup, .fini = teardown, .timeout = 30);

/* A pool with `opts` (NULL: defaults) in a context derived from bg. */
static redisconn_ctx *with_pool(const redisconn_pool_options *opts)
{
    given_pool(opts);
    ctx = redisconn_use_pool(bg, env.pool);
    cr_assert_not_null(ctx);
    return ctx;
}

/* Waits for the callback, then a little more to see that it fired once. */
static void wait_once(rt_reply *r)
{
    cr_assert(rt_wait_reply(&env, r, 5000), "no callback");
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(r->calls, 1, "callback fired %d times", r->calls);
}

/* Runs "PING" through `c` so that the pool has its shared connection. */
static void warm_up(redisconn_ctx *c)
{
    rt_reply r = {0};
    cr_assert_eq(redisconn_ctx_command(c, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    wait_once(&r);
    cr_assert_eq(r.status, REDISCONN_OK);
}

/* A string value read back on a side connection. */
static void expect_value(const char *key, const char *want)
{
    redisReply *v = rt_cmd(env.srv, "GET %s", key);
    cr_assert_not_null(v);
    cr_assert_eq(v->type, REDIS_REPLY_STRING, "%s is not set", key);
    cr_assert_str_eq(v->str, want);
    freeReplyObject(v);
}

Test(ctx_command, runs_the_command_on_the_pool_of_the_context)
{
    rt_reply r = {0};
    cr_assert_eq(redisconn_ctx_command(with_pool(NULL), rt_reply_cb, &r, "SET %s %s", "k", "v"),
                 REDISCONN_OK);
    cr_assert_eq(r.calls, 0, "fired from inside the call");
    wait_once(&r);
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_eq(r.type, REDIS_REPLY_STATUS);
    cr_assert_str_eq(r.str, "OK");
    expect_value("k", "v");
}

Test(ctx_command, argv_variant_keeps_nul_bytes)
{
    const char *set[] = {"SET", "bin", "a\0b"};
    const size_t setlen[] = {3, 3, 3};
    const char *get[] = {"STRLEN", "bin"};
    rt_reply r = {0}, g = {0};
    cr_assert_eq(redisconn_ctx_command_argv(with_pool(NULL), rt_reply_cb, &r, 3, set, setlen),
                 REDISCONN_OK);
    wait_once(&r);
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_eq(redisconn_ctx_command_argv(ctx, rt_reply_cb, &g, 2, get, NULL), REDISCONN_OK);
    wait_once(&g);
    cr_assert_eq(g.integer, 3);
}

Test(ctx_command, error_reply_is_delivered_as_a_reply)
{
    rt_reply r = {0};
    freeReplyObject(rt_cmd(env.srv, "SET %s %s", "s", "text"));
    cr_assert_eq(redisconn_ctx_command(with_pool(NULL), rt_reply_cb, &r, "INCR %s", "s"),
                 REDISCONN_OK);
    wait_once(&r);
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_eq(r.type, REDIS_REPLY_ERROR);
}

Test(ctx_command, without_a_pool_fails_not_configured_from_the_loop)
{
    rt_reply r = {0};
    cr_assert_eq(redisconn_ctx_command(bg, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert_eq(r.calls, 0, "fired from inside the call");
    wait_once(&r);
    cr_assert_eq(r.status, REDISCONN_ERR_NOT_CONFIGURED);
    cr_assert_eq(r.type, -1, "no reply");
}

Test(ctx_command, canceled_context_fails_canceled_without_sending)
{
    rt_reply r = {0};
    redisconn_canceler *cancel;
    redisconn_ctx *c = redisconn_ctx_with_cancel(with_pool(NULL), &cancel);
    redisconn_ctx_cancel(cancel);
    cr_assert_eq(redisconn_ctx_command(c, rt_reply_cb, &r, "SET %s %s", "k", "v"), REDISCONN_OK);
    cr_assert_eq(r.calls, 0, "fired from inside the call");
    wait_once(&r);
    cr_assert_eq(r.status, REDISCONN_ERR_CANCELED);
    redisconn_ctx_unref(c);
    redisReply *v = rt_cmd(env.srv, "EXISTS %s", "k");
    cr_assert_eq(v->integer, 0, "the command must not run");
    freeReplyObject(v);
}

Test(ctx_command, passed_deadline_fails_deadline_without_sending)
{
    rt_reply r = {0};
    redisconn_ctx *c = redisconn_ctx_with_timeout(with_pool(NULL), 0, NULL);
    cr_assert_eq(redisconn_ctx_command(c, rt_reply_cb, &r, "SET %s %s", "k", "v"), REDISCONN_OK);
    wait_once(&r);
    cr_assert_eq(r.status, REDISCONN_ERR_DEADLINE);
    redisconn_ctx_unref(c);
    cr_assert_eq(rt_clients(env.srv), 0, "nothing was sent");
}

Test(ctx_command, deadline_passing_while_redis_stalls_fails_deadline_once)
{
    rt_reply r = {0};
    redisconn_ctx *c;
    warm_up(with_pool(NULL));
    rt_server_pause(env.srv);
    c = redisconn_ctx_with_timeout(ctx, 100, NULL);
    cr_assert_eq(redisconn_ctx_command(c, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    wait_once(&r);
    cr_assert_eq(r.status, REDISCONN_ERR_DEADLINE);
    rt_server_resume_expect_dropped(env.srv, env.base, &r.calls);
    redisconn_ctx_unref(c);
}

/* The server has run INCR n once. */
static int n_is_1(void)
{
    redisReply *v = rt_cmd(env.srv, "GET %s", "n");
    int yes = v != NULL && v->type == REDIS_REPLY_STRING && strcmp(v->str, "1") == 0;
    freeReplyObject(v);
    return yes;
}

/* INCR n sent through a cancelable context while Redis is stalled (so
 * nothing answers it), then the context canceled; returns the context. */
static redisconn_ctx *cancel_while_redis_stalls(rt_reply *r)
{
    redisconn_canceler *cancel;
    redisconn_ctx *c;
    warm_up(with_pool(NULL));
    rt_server_pause(env.srv);
    c = redisconn_ctx_with_cancel(ctx, &cancel);
    cr_assert_eq(redisconn_ctx_command(c, rt_reply_cb, r, "INCR %s", "n"), REDISCONN_OK);
    rt_loop_quiet(env.base, 30); /* Redis is stalled: nothing may answer yet */
    cr_assert_eq(r->calls, 0, "Redis is stalled: no answer yet");
    redisconn_ctx_cancel(cancel);
    return c;
}

Test(ctx_command, cancel_in_flight_fails_canceled_at_once)
{
    rt_reply r = {0};
    redisconn_ctx *c = cancel_while_redis_stalls(&r);
    cr_assert_eq(r.calls, 0, "fired from inside redisconn_ctx_cancel");
    wait_once(&r);
    cr_assert_eq(r.status, REDISCONN_ERR_CANCELED);
    redisconn_ctx_unref(c);
}

Test(ctx_command, cancel_in_flight_drops_the_late_reply)
{
    rt_reply r = {0};
    redisconn_ctx *c = cancel_while_redis_stalls(&r);
    wait_once(&r);
    rt_server_resume_expect_dropped(env.srv, env.base, &r.calls);
    redisconn_ctx_unref(c);
}

Test(ctx_command, command_canceled_in_flight_still_runs_on_the_server)
{
    rt_reply r = {0};
    redisconn_ctx *c = cancel_while_redis_stalls(&r);
    wait_once(&r);
    rt_server_resume(env.srv);
    rt_await(env.base, n_is_1(), 1000);
    expect_value("n", "1"); /* documented: the command itself still ran */
    redisconn_ctx_unref(c);
}

Test(ctx_command, without_a_deadline_the_pool_command_timeout_applies)
{
    redisconn_pool_options *o = given_options();
    rt_reply r = {0};
    o->command_timeout_ms = 100;
    warm_up(with_pool(o));
    rt_server_pause(env.srv);
    cr_assert_eq(redisconn_ctx_command(ctx, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    wait_once(&r);
    cr_assert_eq(r.status, REDISCONN_ERR_TIMEOUT, "got %s", redisconn_status_name(r.status));
}

Test(ctx_command, stateful_command_is_refused_with_lease_required)
{
    cr_assert_eq(redisconn_ctx_command(with_pool(NULL), rt_never_reply_cb, NULL, "MULTI"),
                 REDISCONN_ERR_LEASE_REQUIRED);
    cr_assert_eq(redisconn_ctx_command(ctx, rt_never_reply_cb, NULL, "SUBSCRIBE %s", "ch"),
                 REDISCONN_ERR_LEASE_REQUIRED);
    rt_loop_quiet(env.base, 20); /* a refused call never calls back */
}

Test(ctx_command, closed_pool_fails_the_call)
{
    with_pool(NULL);
    cr_assert_eq(redisconn_pool_close(env.pool, NULL, NULL), REDISCONN_OK);
    env.pool = NULL;
    cr_assert_eq(redisconn_ctx_command(ctx, rt_never_reply_cb, NULL, "PING"), REDISCONN_ERR_CLOSED);
    rt_loop_quiet(env.base, 20); /* a refused call never calls back */
}

Test(ctx_command, invalid_arguments_fail_the_call)
{
    const char *argv[] = {"PING"};
    cr_assert_eq(redisconn_ctx_command(NULL, rt_never_reply_cb, NULL, "PING"),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_ctx_command(with_pool(NULL), rt_never_reply_cb, NULL, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_ctx_command_argv(ctx, rt_never_reply_cb, NULL, 0, argv, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_ctx_command_argv(ctx, rt_never_reply_cb, NULL, 1, NULL, NULL),
                 REDISCONN_ERR_INVALID);
    rt_loop_quiet(env.base, 20); /* a refused call never calls back */
}
