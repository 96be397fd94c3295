/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_basic.c — the pool's everyday contract against a real redis-server:
 * lazy connect, SELECT, commands, release, idle reuse (LIFO), callback rules. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_basic, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

Test(pool_basic, new_pool_opens_no_connection_until_first_use)
{
    given_pool(NULL);
    rt_loop_quiet(env.base, 100); /* no dial may start by itself */
    cr_assert_eq(rt_clients(env.srv), 0);
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.active_count, 0);
    cr_assert_eq(st.dials, 0);
}

Test(pool_basic, acquire_delivers_a_working_connection)
{
    rt_reply r;
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_command_wait(&env, c, &r, "SET %s %s", "k", "v");
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_str_eq(r.str, "OK");
    rt_command_wait(&env, c, &r, "GET %s", "k");
    cr_assert_eq(r.type, REDIS_REPLY_STRING);
    cr_assert_str_eq(r.str, "v");
    redisconn_release(c);
    cr_assert_eq(rt_clients(env.srv), 1);
}

Test(pool_basic, acquire_callback_never_fires_inside_acquire)
{
    rt_acq a = {0};
    given_pool(NULL);
    redisconn_release(rt_acquire_ok(&env)); /* one idle connection: the fast path */
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 1000, rt_acq_cb, &a));
    cr_assert_eq(a.calls, 0, "fired from inside redisconn_pool_acquire");
    cr_assert(rt_wait_acq(&env, &a, 2000));
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(a.calls, 1);
    redisconn_release(a.conn);
}

Test(pool_basic, new_connection_selects_the_pool_db)
{
    rt_reply r;
    redisconn_pool_options *o = given_options();
    o->db = 3;
    given_pool(o);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_command_wait(&env, c, &r, "SET %s %s", "indb3", "yes");
    redisconn_release(c);
    redisReply *rep = rt_cmd(env.srv, "SELECT 3");
    freeReplyObject(rep);
    redisContext *sc = redisConnect("127.0.0.1", env.srv->port);
    rep = redisCommand(sc, "SELECT 3");
    freeReplyObject(rep);
    rep = redisCommand(sc, "GET indb3");
    cr_assert_str_eq(rep->str, "yes");
    freeReplyObject(rep);
    rep = redisCommand(sc, "SELECT 0");
    freeReplyObject(rep);
    rep = redisCommand(sc, "EXISTS indb3");
    cr_assert_eq(rep->integer, 0, "the key went to db 0");
    freeReplyObject(rep);
    redisFree(sc);
}

Test(pool_basic, released_connection_is_reused_most_recent_first)
{
    given_pool(NULL);
    redisconn_conn *a = rt_acquire_ok(&env);
    redisconn_conn *b = rt_acquire_ok(&env);
    cr_assert_neq(a, b);
    redisconn_release(a);
    redisconn_release(b); /* b is the most recently used */
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(c, b, "LIFO: expected the last released connection");
    redisconn_conn *d = rt_acquire_ok(&env);
    cr_assert_eq(d, a);
    redisconn_release(c);
    redisconn_release(d);
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.dials, 2);
    cr_assert_eq(st.idle_count, 2);
    cr_assert_eq(st.in_use_count, 0);
}

Test(pool_basic, stats_count_leased_connections_as_in_use)
{
    redisconn_pool_stats st;
    given_exhausted(given_pool(NULL), 2);
    st = pool_stats();
    cr_assert_eq(st.active_count, 2);
    cr_assert_eq(st.in_use_count, 2);
    cr_assert_eq(st.idle_count, 0);
    redisconn_release(env.held[0]);
    redisconn_release(env.held[1]);
}

Test(pool_basic, stats_count_released_connections_as_idle)
{
    redisconn_pool_stats st;
    redisconn_conn **held = given_exhausted(given_pool(NULL), 2);
    redisconn_release(held[0]);
    st = pool_stats();
    cr_assert_eq(st.in_use_count, 1);
    cr_assert_eq(st.idle_count, 1);
    redisconn_release(held[1]);
    st = pool_stats();
    cr_assert_eq(st.idle_count, 2);
    cr_assert_eq(st.acquires, 2);
}

Test(pool_basic, release_inside_acquire_callback_is_allowed)
{
    rt_acq a = {0};
    a.release = 1;
    given_pool(NULL);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 1000, rt_acq_cb, &a));
    cr_assert(rt_wait_acq(&env, &a, 2000));
    cr_assert_eq(a.status, REDISCONN_OK);
    cr_assert_eq(pool_stats().idle_count, 1);
}

Test(pool_basic, argv_command_is_binary_safe)
{
    rt_reply r;
    const char *argv[] = {"SET", "bin", "a\0b"};
    const size_t lens[] = {3, 3, 3};
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_command_argv(c, rt_reply_cb, &r, 3, argv, lens), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    rt_command_wait(&env, c, &r, "STRLEN bin");
    cr_assert_eq(r.integer, 3);
    redisconn_release(c);
}

Test(pool_basic, error_reply_is_delivered_with_ok_status)
{
    rt_reply r;
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_command_wait(&env, c, &r, "NOSUCHCOMMAND");
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_eq(r.type, REDIS_REPLY_ERROR);
    cr_assert(strstr(r.str, "unknown command") != NULL, "%s", r.str);
    redisconn_release(c);
}

Test(pool_basic, close_with_idle_connections_frees_everything)
{
    given_pool(NULL);
    redisconn_conn *a = rt_acquire_ok(&env);
    redisconn_conn *b = rt_acquire_ok(&env);
    redisconn_release(a);
    redisconn_release(b);
    close_pool_expect_freed();
    rt_await(env.base, rt_clients(env.srv) == 0, 50);
    cr_assert_eq(rt_clients(env.srv), 0);
}

Test(pool_basic, close_twice_is_a_state_error)
{
    redisconn_pool *p = given_pool(NULL);
    close_pool();
    cr_assert_eq(redisconn_pool_close(p, NULL, NULL), REDISCONN_ERR_STATE);
    expect_pool_freed();
}

Test(pool_basic, acquire_after_close_fails_with_closed)
{
    rt_acq a = {0};
    given_pool(NULL);
    redisconn_pool *p = close_pool();
    cr_assert_not_null(redisconn_pool_acquire(p, 0, rt_acq_cb, &a));
    cr_assert_eq(a.calls, 0);
    cr_assert(rt_wait_acq(&env, &a, 1000));
    cr_assert_eq(a.status, REDISCONN_ERR_CLOSED);
    rt_loop_quiet(env.base, 50); /* a second callback would come now */
    cr_assert_eq(a.calls, 1);
    expect_pool_freed();
}
