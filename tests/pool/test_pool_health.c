/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_health.c — keeping connections healthy: PING on borrow, idle
 * reaping by timer, lifetime, max_idle, min_idle, broken connections,
 * server restarts. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_health, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

Test(pool_health, connection_idle_past_threshold_is_pinged_on_borrow)
{
    redisconn_pool_options *o = given_options();
    o->test_on_borrow_ms = 50;
    given_pool(o);
    redisconn_release(rt_acquire_ok(&env));
    redisconn_release(rt_acquire_ok(&env)); /* idle for ~0 ms: no PING */
    cr_assert_eq(pool_stats().pings, 0);
    /* Deliberate: the connection must sit idle past the 50 ms threshold. */
    rt_loop_quiet(env.base, 80);
    long long before = rt_info_int(env.srv, "total_commands_processed");
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(pool_stats().pings, 1);
    /* the PING reached the server (INFO itself counts once more) */
    cr_assert_geq(rt_info_int(env.srv, "total_commands_processed") - before, 2);
    redisconn_release(c);
}

Test(pool_health, failed_ping_on_borrow_is_replaced_transparently)
{
    redisconn_pool_options *o = given_options();
    o->test_on_borrow_ms = 0;
    given_pool(o);
    redisconn_release(rt_acquire_ok(&env));
    redisReply *r = rt_cmd(env.srv, "CLIENT KILL TYPE normal");
    freeReplyObject(r);
    rt_acq a = {0};
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 3000, rt_acq_cb, &a));
    cr_assert(rt_wait_acq(&env, &a, 4000));
    cr_assert_eq(a.status, REDISCONN_OK, "%s", a.errmsg);
    rt_reply rep;
    rt_command_wait(&env, a.conn, &rep, "PING");
    cr_assert_str_eq(rep.str, "PONG");
    redisconn_release(a.conn);
    cr_assert_eq(pool_stats().dials, 2);
}

Test(pool_health, server_closing_an_idle_connection_is_noticed_without_traffic)
{
    given_pool(NULL);
    redisconn_release(rt_acquire_ok(&env));
    cr_assert_eq(pool_stats().idle_count, 1);
    redisReply *r = rt_cmd(env.srv, "CLIENT KILL TYPE normal");
    freeReplyObject(r);
    rt_await(env.base, pool_stats().active_count == 0 && pool_stats().closed_broken == 1, 100);
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.idle_count, 0);
    cr_assert_eq(st.active_count, 0);
    cr_assert_eq(st.closed_broken, 1);
}

Test(pool_health, idle_connections_are_reaped_by_timer_without_traffic)
{
    redisconn_pool_options *o = given_options();
    o->idle_timeout_ms = 100;
    given_pool(o);
    redisconn_conn *a = rt_acquire_ok(&env);
    redisconn_conn *b = rt_acquire_ok(&env);
    redisconn_release(a);
    redisconn_release(b);
    cr_assert_eq(rt_clients(env.srv), 2);
    rt_await(env.base,
             pool_stats().closed_idle_timeout == 2 && pool_stats().idle_count == 0 &&
                 rt_clients(env.srv) == 0,
             400);
    cr_assert_eq(pool_stats().idle_count, 0);
    cr_assert_eq(pool_stats().closed_idle_timeout, 2);
    cr_assert_eq(rt_clients(env.srv), 0);
}

Test(pool_health, connections_past_max_lifetime_are_not_reused)
{
    redisconn_pool_options *o = given_options();
    o->max_conn_lifetime_ms = 100;
    given_pool(o);
    redisconn_conn *first = rt_acquire_ok(&env);
    /* Deliberate: the lease must outlive the 100 ms lifetime. */
    rt_loop_quiet(env.base, 150);
    redisconn_release(first); /* too old: closed instead of pooled */
    cr_assert_eq(pool_stats().idle_count, 0);
    cr_assert_eq(pool_stats().closed_lifetime, 1);
    redisconn_release(rt_acquire_ok(&env));
    /* the idle one ages out by timer too */
    rt_await(env.base, pool_stats().closed_lifetime == 2 && pool_stats().idle_count == 0, 250);
    cr_assert_eq(pool_stats().idle_count, 0);
    cr_assert_eq(pool_stats().closed_lifetime, 2);
}

Test(pool_health, releases_beyond_max_idle_close_the_oldest_idle)
{
    redisconn_pool_options *o = given_options();
    redisconn_conn *c[3];
    o->max_idle = 2;
    given_pool(o);
    for (int i = 0; i < 3; i++)
        c[i] = rt_acquire_ok(&env);
    for (int i = 0; i < 3; i++)
        redisconn_release(c[i]);
    rt_await(env.base, pool_stats().closed_max_idle == 1 && pool_stats().idle_count == 2, 20);
    cr_assert_eq(pool_stats().idle_count, 2);
    cr_assert_eq(pool_stats().closed_max_idle, 1);
    /* the two most recently released stay: c[2] first */
    redisconn_conn *x = rt_acquire_ok(&env);
    cr_assert_eq(x, c[2]);
    redisconn_release(x);
}

Test(pool_health, min_idle_prewarms_connections_without_traffic)
{
    redisconn_pool_options *o = given_options();
    o->min_idle = 3;
    given_pool(o);
    rt_await(env.base, pool_stats().idle_count == 3 && rt_clients(env.srv) == 3, 200);
    cr_assert_eq(pool_stats().idle_count, 3);
    cr_assert_eq(rt_clients(env.srv), 3);
}

Test(pool_health, broken_leased_connection_is_replaced_for_a_waiter)
{
    redisconn_pool_options *o = given_options();
    rt_reply r;
    rt_acq w = {0};
    o->max_active = 1;
    redisconn_conn *c = given_exhausted(given_pool(o), 1)[0];
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &w));
    redisReply *k = rt_cmd(env.srv, "CLIENT KILL TYPE normal");
    freeReplyObject(k);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_eq(r.status, REDISCONN_ERR_IO);
    redisconn_release(c);
    cr_assert(rt_wait_acq(&env, &w, 3000));
    cr_assert_eq(w.status, REDISCONN_OK);
    cr_assert_neq(w.conn, NULL);
    rt_command_wait(&env, w.conn, &r, "PING");
    cr_assert_str_eq(r.str, "PONG");
    redisconn_release(w.conn);
    cr_assert_eq(pool_stats().dials, 2);
}

Test(pool_health, commands_on_a_broken_connection_fail_synchronously)
{
    rt_reply r = {0};
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_server_kill(env.srv);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_eq(r.status, REDISCONN_ERR_IO);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "PING"), REDISCONN_ERR_IO);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(r.calls, 1);
    redisconn_release(c);
}

Test(pool_health, pool_recovers_by_itself_after_a_server_restart)
{
    rt_acq a = {0};
    rt_reply r;
    given_pool(NULL);
    redisconn_release(rt_acquire_ok(&env));
    rt_server_kill(env.srv);
    /* the idle connection sees EOF */
    rt_await(env.base, pool_stats().active_count == 0, 50);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 2000, rt_acq_cb, &a));
    cr_assert(rt_wait_acq(&env, &a, 3000));
    cr_assert_eq(a.status, REDISCONN_ERR_CONNECT, "got %s", redisconn_status_name(a.status));
    rt_server_restart(env.srv);
    /* the dial governor lets a probe through once its back-off (≤ max) passed */
    redisconn_conn *c = rt_acquire_eventually(&env, env.opts.dial_backoff_max_ms + 1000, NULL);
    rt_command_wait(&env, c, &r, "PING");
    cr_assert_str_eq(r.str, "PONG");
    redisconn_release(c);
}
