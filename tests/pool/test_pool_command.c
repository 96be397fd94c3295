/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_command.c — pool-level commands: no lease, multiplexed and
 * pipelined on shared connections; refused state-changing commands; per
 * command timeouts; faults mid-pipeline with every callback exactly once. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_command, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

static void expect_null_conn(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    cr_assert_null(conn, "pool-level commands have no connection");
    rt_reply_cb(conn, status, reply, arg);
}

Test(pool_command, command_runs_without_a_lease)
{
    rt_reply r = {0};
    given_pool(NULL);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, expect_null_conn, &r, "SET %s %s", "pk", "pv"),
                 REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_str_eq(r.str, "OK");
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_pool_command(env.pool, 0, expect_null_conn, &r, "GET pk"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_str_eq(r.str, "pv");
    cr_assert_eq(pool_stats().shared_count, 1);
    cr_assert_eq(pool_stats().in_use_count, 0);
}

Test(pool_command, command_calls_back_once_from_the_loop)
{
    rt_reply r = {0};
    given_pool(NULL);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, expect_null_conn, &r, "SET %s %s", "pk", "pv"),
                 REDISCONN_OK);
    cr_assert_eq(r.calls, 0);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    rt_loop_quiet(env.base, 10); /* a second callback would come now */
    cr_assert_eq(r.calls, 1);
}

static int counted;

static void count_cb(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    int *calls = arg;
    (void)conn;
    (void)reply;
    cr_assert_eq(status, REDISCONN_OK);
    (*calls)++;
    counted++;
}

Test(pool_command, thousands_of_commands_share_few_connections)
{
    enum { N = 5000 };
    static int calls[N];
    memset(calls, 0, sizeof(calls));
    counted = 0;
    redisconn_pool_options *o = given_options();
    o->max_shared = 2;
    given_pool(o);
    for (int i = 0; i < N; i++)
        cr_assert_eq(redisconn_pool_command(env.pool, 0, count_cb, &calls[i], "INCR n"),
                     REDISCONN_OK);
    rt_await(env.base, counted >= N, 5000);
    rt_loop_quiet(env.base, 10); /* a second callback would come now */
    for (int i = 0; i < N; i++)
        cr_assert_eq(calls[i], 1, "command %d called %d times", i, calls[i]);
    redisReply *x = rt_cmd(env.srv, "GET n");
    cr_assert_eq(atoi(x->str), N);
    freeReplyObject(x);
    cr_assert_leq(pool_stats().shared_count, 2);
    cr_assert_leq(pool_stats().dials, 2);
    cr_assert_eq(pool_stats().pool_commands, N);
}

Test(pool_command, state_changing_commands_are_refused_with_lease_required)
{
    static const char *refused[] = {
        "MULTI",     "EXEC",      "WATCH k", "SELECT 1",         "SUBSCRIBE c", "PSUBSCRIBE p*",
        "BLPOP l 1", "BRPOP l 1", "AUTH x",  "CLIENT SETNAME n", "UNSUBSCRIBE", "WAIT 1 0"};
    given_pool(NULL);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, NULL, refused[i]),
                     REDISCONN_ERR_LEASE_REQUIRED, "%s", refused[i]);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, NULL, "MONITOR"),
                 REDISCONN_ERR_UNSUPPORTED);
    rt_loop_quiet(env.base, 30); /* a dial would start now */
    cr_assert_eq(pool_stats().dials, 0, "nothing was sent");
}

Test(pool_command, a_timeout_fails_only_that_command)
{
    rt_reply slow = {0}, next = {0};
    given_pool(NULL);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &next, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &next, 2000)); /* a shared connection exists */
    memset(&next, 0, sizeof(next));
    cr_assert_eq(redisconn_pool_command(env.pool, 100, rt_reply_cb, &slow, "DEBUG SLEEP 0.3"),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_pool_command(env.pool, 2000, rt_reply_cb, &next, "ECHO %s", "after"),
                 REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &slow, 2000));
    cr_assert_eq(slow.status, REDISCONN_ERR_TIMEOUT);
    cr_assert_eq(next.calls, 0, "the command behind it keeps waiting");
    cr_assert(rt_wait_reply(&env, &next, 2000));
    cr_assert_eq(next.status, REDISCONN_OK);
    cr_assert_str_eq(next.str, "after", "the late DEBUG reply was not passed on");
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(slow.calls, 1);
    cr_assert_eq(pool_stats().pool_command_timeouts, 1);
    cr_assert_eq(pool_stats().command_timeouts, 0, "the connection was kept");
}

/* A pool with a 100 ms command timeout and its shared connection, then two
 * PINGs sent while the server is stalled; runs the loop until both failed
 * and the stalled connection was closed, then resumes the server. */
static void two_commands_on_a_stalled_shared_connection(rt_reply r[3])
{
    redisconn_pool_options *o = given_options();
    memset(r, 0, 3 * sizeof(*r));
    o->command_timeout_ms = 100;
    given_pool(o);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r[0], "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r[0], 2000));
    memset(r, 0, 3 * sizeof(*r));
    rt_server_pause(env.srv);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r[0], "PING"), REDISCONN_OK);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r[1], "PING"), REDISCONN_OK);
    /* the timeout, then the stall deadline closes the connection */
    rt_await(env.base, r[0].calls && r[1].calls && pool_stats().command_timeouts >= 1, 400);
    rt_server_resume(env.srv);
}

Test(pool_command, commands_on_a_stalled_shared_connection_time_out)
{
    rt_reply r[3];
    two_commands_on_a_stalled_shared_connection(r);
    cr_assert_eq(r[0].status, REDISCONN_ERR_TIMEOUT);
    cr_assert_eq(r[1].status, REDISCONN_ERR_TIMEOUT);
}

Test(pool_command, stalled_shared_connection_is_closed)
{
    rt_reply r[3];
    two_commands_on_a_stalled_shared_connection(r);
    cr_assert_eq(pool_stats().command_timeouts, 1, "the stalled connection was closed");
}

Test(pool_command, pool_recovers_after_a_stalled_shared_connection)
{
    rt_reply r[3];
    two_commands_on_a_stalled_shared_connection(r);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r[2], "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r[2], 2000));
    cr_assert_str_eq(r[2].str, "PONG");
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(r[0].calls + r[1].calls + r[2].calls, 3);
}

static int restart_ok, restart_err, restart_calls;

static void restart_cb(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    int *calls = arg;
    (void)conn;
    (void)reply;
    (*calls)++;
    restart_calls++;
    if (status == REDISCONN_OK)
        restart_ok++;
    else
        restart_err++;
}

Test(pool_command, server_restart_mid_pipeline_calls_every_callback_exactly_once)
{
    /* 1000 INCRs answered; then a 300 ms server-side sleep followed by 2000
     * more INCRs, and the server is killed during the sleep: the pipeline of
     * 2001 outstanding commands is cut. */
    enum { N = 3000, FIRST = 1000 };
    static int calls[N];
    int sleep_calls = 0;
    redisconn_pool_options *o = given_options();
    memset(calls, 0, sizeof(calls));
    restart_ok = restart_err = restart_calls = 0;
    o->max_shared = 1; /* one pipeline */
    given_pool(o);
    for (int i = 0; i < FIRST; i++)
        cr_assert_eq(redisconn_pool_command(env.pool, 5000, restart_cb, &calls[i], "INCR r"),
                     REDISCONN_OK);
    rt_await(env.base, restart_calls >= FIRST, 2000);
    cr_assert_eq(restart_ok, FIRST);
    cr_assert_eq(
        redisconn_pool_command(env.pool, 5000, restart_cb, &sleep_calls, "DEBUG SLEEP 0.3"),
        REDISCONN_OK);
    for (int i = FIRST; i < N; i++)
        cr_assert_eq(redisconn_pool_command(env.pool, 5000, restart_cb, &calls[i], "INCR r"),
                     REDISCONN_OK);
    /* Bounded: the pipeline goes out and the server starts its 300 ms sleep;
     * nothing shows that, and no callback may fire meanwhile. */
    rt_loop_quiet(env.base, 50);
    rt_server_kill(env.srv);
    rt_await(env.base, restart_calls >= N + 1, 3000);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    for (int i = 0; i < N; i++)
        cr_assert_eq(calls[i], 1, "command %d: %d calls", i, calls[i]);
    cr_assert_eq(sleep_calls, 1);
    cr_assert_eq(restart_ok, FIRST);
    cr_assert_eq(restart_err, N - FIRST + 1, "the cut pipeline failed, each command once");
    rt_server_restart(env.srv);
    rt_reply r = {0};
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 3000));
    cr_assert_eq(r.status, REDISCONN_OK);
}

Test(pool_command, pending_commands_fail_with_the_dial_error_when_the_server_is_down)
{
    rt_reply r = {0};
    rt_server_stop(env.srv);
    given_pool(NULL);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_eq(r.status, REDISCONN_ERR_CONNECT);
}

Test(pool_command, shared_connections_count_in_max_active)
{
    redisconn_pool_options *o = given_options();
    rt_reply r = {0};
    o->max_active = 1;
    redisconn_conn *c = given_exhausted(given_pool(o), 1)[0];
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    rt_loop_quiet(env.base, 50); /* it must wait: no connection left for it */
    cr_assert_eq(r.calls, 0, "no connection left for it");
    cr_assert_eq(pool_stats().active_count, 1);
    redisconn_release(c);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_str_eq(r.str, "PONG");
    cr_assert_eq(pool_stats().shared_count, 1);
    cr_assert_eq(pool_stats().dials, 1, "the released connection was adopted");
}

/* A 50 ms command in flight on the shared connection when the pool is
 * closed; returns the closing pool. */
static redisconn_pool *close_with_a_command_in_flight(rt_reply *r)
{
    given_pool(NULL);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, r, "DEBUG SLEEP 0.05"),
                 REDISCONN_OK);
    /* Bounded: the dial completes and the command goes out; the server is
     * asleep in it then, so nothing can be asked to show it. */
    rt_loop_quiet(env.base, 10);
    return close_pool();
}

Test(pool_command, commands_after_close_are_refused_with_closed)
{
    rt_reply r = {0};
    redisconn_pool *p = close_with_a_command_in_flight(&r);
    cr_assert_eq(redisconn_pool_command(p, 0, rt_reply_cb, &r, "PING"), REDISCONN_ERR_CLOSED);
    rt_loop_until(env.base, &env.closed, 2000); /* cleanup: the pool frees itself */
}

Test(pool_command, command_in_flight_at_close_finishes)
{
    rt_reply r = {0};
    close_with_a_command_in_flight(&r);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_eq(r.status, REDISCONN_OK);
    expect_pool_freed();
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(rt_count_fds(), env.fds_before);
}

Test(pool_command, argv_variant_is_binary_safe)
{
    rt_reply r = {0};
    const char *argv[] = {"SET", "bk", "x\0y\0z"};
    const size_t len[] = {3, 2, 5};
    given_pool(NULL);
    cr_assert_eq(redisconn_pool_command_argv(env.pool, 0, rt_reply_cb, &r, 3, argv, len),
                 REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r, "STRLEN bk"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_eq(r.integer, 5);
}

Test(pool_command, idle_shared_connections_are_reaped)
{
    redisconn_pool_options *o = given_options();
    rt_reply r = {0};
    o->idle_timeout_ms = 100;
    given_pool(o);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_eq(pool_stats().shared_count, 1);
    rt_await(env.base, pool_stats().shared_count == 0 && rt_clients(env.srv) == 0, 400);
    cr_assert_eq(pool_stats().shared_count, 0);
    cr_assert_eq(pool_stats().active_count, 0);
    cr_assert_eq(rt_clients(env.srv), 0);
}
