/* test_pool_command.c — pool-level commands: no lease, multiplexed and
 * pipelined on shared connections; refused state-changing commands; per
 * command timeouts; faults mid-pipeline with every callback exactly once. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_support.h"

static rt_env env;

static void setup(void)
{
    rt_env_init(&env, NULL);
}

static void teardown(void)
{
    rt_env_fini(&env);
}

TestSuite(pool_command, .init = setup, .fini = teardown, .timeout = 30);

static redisconn_pool_stats stats(void)
{
    redisconn_pool_stats st;
    redisconn_pool_get_stats(env.pool, &st);
    return st;
}

static void expect_null_conn(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    cr_assert_null(conn, "pool-level commands have no connection");
    rt_reply_cb(conn, status, reply, arg);
}

Test(pool_command, command_runs_without_a_lease_and_calls_back_from_the_loop)
{
    rt_reply r = {0};
    rt_env_pool(&env, NULL);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, expect_null_conn, &r, "SET %s %s", "pk", "pv"),
                 REDISCONN_OK);
    cr_assert_eq(r.calls, 0);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_str_eq(r.str, "OK");
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_pool_command(env.pool, 0, expect_null_conn, &r, "GET pk"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_str_eq(r.str, "pv");
    rt_loop_for(env.base, 10);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(stats().shared_count, 1);
    cr_assert_eq(stats().in_use_count, 0);
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
    redisconn_pool_options o;
    memset(calls, 0, sizeof(calls));
    counted = 0;
    rt_env_options(&env, &o);
    o.max_shared = 2;
    rt_env_pool(&env, &o);
    for (int i = 0; i < N; i++)
        cr_assert_eq(redisconn_pool_command(env.pool, 0, count_cb, &calls[i], "INCR n"),
                     REDISCONN_OK);
    for (int i = 0; i < 500 && counted < N; i++)
        rt_loop_for(env.base, 10);
    for (int i = 0; i < N; i++)
        cr_assert_eq(calls[i], 1, "command %d called %d times", i, calls[i]);
    redisReply *x = rt_cmd(env.srv, "GET n");
    cr_assert_eq(atoi(x->str), N);
    freeReplyObject(x);
    cr_assert_leq(stats().shared_count, 2);
    cr_assert_leq(stats().dials, 2);
    cr_assert_eq(stats().pool_commands, N);
}

Test(pool_command, state_changing_commands_are_refused_with_lease_required)
{
    static const char *refused[] = {
        "MULTI",     "EXEC",      "WATCH k", "SELECT 1",         "SUBSCRIBE c", "PSUBSCRIBE p*",
        "BLPOP l 1", "BRPOP l 1", "AUTH x",  "CLIENT SETNAME n", "UNSUBSCRIBE", "WAIT 1 0"};
    rt_env_pool(&env, NULL);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, NULL, refused[i]),
                     REDISCONN_ERR_LEASE_REQUIRED, "%s", refused[i]);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, NULL, "MONITOR"),
                 REDISCONN_ERR_UNSUPPORTED);
    rt_loop_for(env.base, 30);
    cr_assert_eq(stats().dials, 0, "nothing was sent");
}

Test(pool_command, a_timeout_fails_only_that_command)
{
    rt_reply slow = {0}, next = {0};
    rt_env_pool(&env, NULL);
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
    rt_loop_for(env.base, 20);
    cr_assert_eq(slow.calls, 1);
    cr_assert_eq(stats().pool_command_timeouts, 1);
    cr_assert_eq(stats().command_timeouts, 0, "the connection was kept");
}

Test(pool_command, stalled_server_closes_the_connection_and_the_pool_recovers)
{
    rt_reply r[3];
    redisconn_pool_options o;
    memset(r, 0, sizeof(r));
    rt_env_options(&env, &o);
    o.command_timeout_ms = 100;
    rt_env_pool(&env, &o);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r[0], "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r[0], 2000));
    memset(r, 0, sizeof(r));
    rt_server_pause(env.srv);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r[0], "PING"), REDISCONN_OK);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r[1], "PING"), REDISCONN_OK);
    rt_loop_for(env.base, 400); /* timeout, then the stall deadline */
    rt_server_resume(env.srv);
    cr_assert_eq(r[0].status, REDISCONN_ERR_TIMEOUT);
    cr_assert_eq(r[1].status, REDISCONN_ERR_TIMEOUT);
    cr_assert_eq(stats().command_timeouts, 1, "the stalled connection was closed");
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r[2], "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r[2], 2000));
    cr_assert_str_eq(r[2].str, "PONG");
    rt_loop_for(env.base, 20);
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
    redisconn_pool_options o;
    memset(calls, 0, sizeof(calls));
    restart_ok = restart_err = restart_calls = 0;
    rt_env_options(&env, &o);
    o.max_shared = 1; /* one pipeline */
    rt_env_pool(&env, &o);
    for (int i = 0; i < FIRST; i++)
        cr_assert_eq(redisconn_pool_command(env.pool, 5000, restart_cb, &calls[i], "INCR r"),
                     REDISCONN_OK);
    for (int i = 0; i < 400 && restart_calls < FIRST; i++)
        rt_loop_for(env.base, 5);
    cr_assert_eq(restart_ok, FIRST);
    cr_assert_eq(
        redisconn_pool_command(env.pool, 5000, restart_cb, &sleep_calls, "DEBUG SLEEP 0.3"),
        REDISCONN_OK);
    for (int i = FIRST; i < N; i++)
        cr_assert_eq(redisconn_pool_command(env.pool, 5000, restart_cb, &calls[i], "INCR r"),
                     REDISCONN_OK);
    rt_loop_for(env.base, 50); /* sent; the server sleeps */
    rt_server_kill(env.srv);
    for (int i = 0; i < 300 && restart_calls < N + 1; i++)
        rt_loop_for(env.base, 10);
    rt_loop_for(env.base, 20);
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
    rt_env_pool(&env, NULL);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_eq(r.status, REDISCONN_ERR_CONNECT);
}

Test(pool_command, shared_connections_count_in_max_active)
{
    redisconn_pool_options o;
    rt_reply r = {0};
    rt_env_options(&env, &o);
    o.max_active = 1;
    rt_env_pool(&env, &o);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    rt_loop_for(env.base, 50);
    cr_assert_eq(r.calls, 0, "no connection left for it");
    cr_assert_eq(stats().active_count, 1);
    redisconn_release(c);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_str_eq(r.str, "PONG");
    cr_assert_eq(stats().shared_count, 1);
    cr_assert_eq(stats().dials, 1, "the released connection was adopted");
}

Test(pool_command, commands_after_close_are_refused_and_in_flight_ones_finish)
{
    rt_reply r = {0};
    int closed = 0;
    rt_env_pool(&env, NULL);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r, "DEBUG SLEEP 0.05"),
                 REDISCONN_OK);
    rt_loop_for(env.base, 10);
    redisconn_pool *p = env.pool;
    env.pool = NULL;
    cr_assert_eq(redisconn_pool_close(p, NULL, NULL), REDISCONN_OK);
    cr_assert_eq(redisconn_pool_command(p, 0, rt_reply_cb, &r, "PING"), REDISCONN_ERR_CLOSED);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_eq(r.status, REDISCONN_OK);
    rt_loop_for(env.base, 50);
    (void)closed;
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(rt_count_fds(), env.fds_before);
}

Test(pool_command, argv_variant_is_binary_safe)
{
    rt_reply r = {0};
    const char *argv[] = {"SET", "bk", "x\0y\0z"};
    const size_t len[] = {3, 2, 5};
    rt_env_pool(&env, NULL);
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
    redisconn_pool_options o;
    rt_reply r = {0};
    rt_env_options(&env, &o);
    o.idle_timeout_ms = 100;
    rt_env_pool(&env, &o);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_eq(stats().shared_count, 1);
    rt_loop_for(env.base, 400);
    cr_assert_eq(stats().shared_count, 0);
    cr_assert_eq(stats().active_count, 0);
    cr_assert_eq(rt_clients(env.srv), 0);
}
