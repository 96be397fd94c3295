/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_state.c — a connection is never handed on dirty: release with
 * commands in flight, MULTI / WATCH / SELECT / SUBSCRIBE reset or closed,
 * command timeouts, and late replies that must not reach the next borrower. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_state, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

/* A pool with one connection, so the next borrower gets the same one. */
static void one_conn_pool(int command_timeout_ms)
{
    redisconn_pool_options *o = given_options();
    o->max_active = 1;
    o->command_timeout_ms = command_timeout_ms;
    given_pool(o);
}

Test(pool_state, release_with_commands_in_flight_lets_them_finish)
{
    rt_reply r[3];
    memset(r, 0, sizeof(r));
    one_conn_pool(5000);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r[0], "SET %s %s", "a", "1"), REDISCONN_OK);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r[1], "INCR %s", "a"), REDISCONN_OK);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r[2], "GET %s", "a"), REDISCONN_OK);
    redisconn_release(c);
    cr_assert_eq(pool_stats().idle_count, 0, "reused before its commands drained");
    cr_assert(rt_wait_reply(&env, &r[2], 2000));
    for (int i = 0; i < 3; i++)
        cr_assert_eq(r[i].calls, 1);
    cr_assert_eq(r[1].integer, 2);
    cr_assert_str_eq(r[2].str, "2");
    rt_await(env.base, pool_stats().idle_count == 1, 10); /* drained, then pooled */
    cr_assert_eq(pool_stats().idle_count, 1);
}

Test(pool_state, command_on_a_released_connection_is_refused)
{
    rt_reply r = {0};
    one_conn_pool(5000);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    redisconn_release(c); /* still draining: the struct is alive */
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "PING"), REDISCONN_ERR_STATE);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    rt_loop_quiet(env.base, 10); /* a second callback would come now */
    cr_assert_eq(r.calls, 1);
}

Test(pool_state, open_multi_is_discarded_before_reuse)
{
    rt_reply r;
    one_conn_pool(5000);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_command_wait(&env, c, &r, "MULTI");
    rt_command_wait(&env, c, &r, "SET %s %s", "m", "queued");
    cr_assert_str_eq(r.str, "QUEUED");
    redisconn_release(c);
    redisconn_conn *d = rt_acquire_ok(&env);
    cr_assert_eq(d, c, "same connection, reset");
    rt_command_wait(&env, d, &r, "EXISTS %s", "m");
    cr_assert_eq(r.type, REDIS_REPLY_INTEGER, "still in MULTI: got type %d", r.type);
    cr_assert_eq(r.integer, 0, "the queued SET must not have run");
    redisconn_release(d);
    cr_assert_eq(pool_stats().resets, 1);
}

Test(pool_state, open_watch_is_unwatched_before_reuse)
{
    rt_reply r;
    one_conn_pool(5000);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_command_wait(&env, c, &r, "WATCH %s", "w");
    redisconn_release(c);
    redisconn_conn *d = rt_acquire_ok(&env);
    cr_assert_eq(d, c);
    /* If WATCH survived, this outside write would abort the next EXEC. */
    redisReply *x = rt_cmd(env.srv, "SET w changed");
    freeReplyObject(x);
    rt_command_wait(&env, d, &r, "MULTI");
    rt_command_wait(&env, d, &r, "SET %s %s", "after", "1");
    rt_command_wait(&env, d, &r, "EXEC");
    cr_assert_eq(r.type, REDIS_REPLY_ARRAY, "EXEC aborted: the WATCH leaked to the next borrower");
    redisconn_release(d);
    cr_assert_eq(pool_stats().resets, 1);
}

Test(pool_state, selected_database_is_restored_before_reuse)
{
    rt_reply r;
    one_conn_pool(5000);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_command_wait(&env, c, &r, "SELECT 5");
    rt_command_wait(&env, c, &r, "SET %s %s", "in5", "x");
    redisconn_release(c);
    redisconn_conn *d = rt_acquire_ok(&env);
    cr_assert_eq(d, c);
    rt_command_wait(&env, d, &r, "EXISTS %s", "in5");
    cr_assert_eq(r.integer, 0, "next borrower landed in db 5");
    rt_command_wait(&env, d, &r, "SET %s %s", "in0", "y");
    redisconn_release(d);
    redisReply *x = rt_cmd(env.srv, "EXISTS in0");
    cr_assert_eq(x->integer, 1);
    freeReplyObject(x);
}

static void on_message(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    rt_reply *r = arg;
    (void)conn;
    r->calls++;
    r->status = status;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
        strcmp(reply->element[0]->str, "message") == 0)
        snprintf(r->str, sizeof(r->str), "%s", reply->element[2]->str);
}

/* A lease subscribed to "chan" that got one message ("hello"): `sub` has
 * two calls, the confirmation and the message. */
static redisconn_conn *subscribed_with_one_message(rt_reply *sub)
{
    one_conn_pool(5000);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, on_message, sub, "SUBSCRIBE %s", "chan"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, sub, 2000)); /* the subscribe confirmation */
    redisReply *x = rt_cmd(env.srv, "PUBLISH chan hello");
    freeReplyObject(x);
    rt_await(env.base, sub->calls >= 2, 1000);
    return c;
}

Test(pool_state, subscribed_connection_gets_messages)
{
    rt_reply sub = {0};
    redisconn_conn *c = subscribed_with_one_message(&sub);
    cr_assert_eq(sub.calls, 2);
    cr_assert_str_eq(sub.str, "hello");
    redisconn_release(c);
}

Test(pool_state, subscribed_connection_is_closed_on_release)
{
    rt_reply sub = {0};
    redisconn_release(subscribed_with_one_message(&sub));
    rt_await(env.base, sub.calls >= 3, 50);
    rt_loop_quiet(env.base, 10); /* a fourth call would come now */
    cr_assert_eq(sub.calls, 3, "one final call when the subscription ends");
    cr_assert_neq(sub.status, REDISCONN_OK);
    cr_assert_eq(pool_stats().closed_dirty, 1);
    redisconn_conn *d = rt_acquire_ok(&env);
    cr_assert_neq(d, NULL);
    rt_reply r;
    rt_command_wait(&env, d, &r, "PING");
    cr_assert_str_eq(r.str, "PONG", "a fresh, unsubscribed connection");
    redisconn_release(d);
}

Test(pool_state, commands_hiredis_cannot_track_are_refused)
{
    rt_reply r = {0};
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "MONITOR"), REDISCONN_ERR_UNSUPPORTED);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "CLIENT REPLY OFF"),
                 REDISCONN_ERR_UNSUPPORTED);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "HELLO 3"), REDISCONN_ERR_UNSUPPORTED);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "SSUBSCRIBE x"), REDISCONN_ERR_UNSUPPORTED);
    rt_loop_quiet(env.base, 20); /* a refused command never calls back */
    cr_assert_eq(r.calls, 0);
    redisconn_release(c);
}

Test(pool_state, command_times_out_when_the_server_stalls)
{
    rt_reply r[2];
    memset(r, 0, sizeof(r));
    one_conn_pool(150);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_server_pause(env.srv);
    int64_t t0 = rt_now_ms();
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r[0], "PING"), REDISCONN_OK);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r[1], "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r[1], 3000));
    rt_server_resume(env.srv);
    cr_assert_geq(rt_now_ms() - t0, 140);
    cr_assert_eq(r[0].status, REDISCONN_ERR_TIMEOUT);
    cr_assert_eq(r[1].status, REDISCONN_ERR_TIMEOUT);
    cr_assert_eq(pool_stats().command_timeouts, 1);
    redisconn_release(c);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(r[0].calls + r[1].calls, 2);
}

Test(pool_state, late_reply_after_timeout_never_reaches_the_next_borrower)
{
    /* redis-py's CVE-2023-28858: a command abandoned by timeout left its
     * reply on a pooled connection, and the next user read it. */
    rt_reply r = {0}, r2;
    one_conn_pool(100);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_command_wait(&env, c, &r, "SET %s %s", "secret", "for-user-1");
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "DEBUG SLEEP 0.3"), REDISCONN_OK);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r2, "GET secret"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_eq(r.status, REDISCONN_ERR_TIMEOUT);
    redisconn_release(c);
    rt_loop_quiet(env.base, 400); /* the late replies arrive (or would) now: dropped */
    redisconn_conn *d = rt_acquire_ok(&env);
    rt_command_wait(&env, d, &r, "ECHO %s", "mine");
    cr_assert_eq(r.type, REDIS_REPLY_STRING);
    cr_assert_str_eq(r.str, "mine", "got someone else's reply: %s", r.str);
    redisconn_release(d);
}

static void release_in_reply_cb(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    rt_reply *r = arg;
    rt_reply_cb(conn, status, reply, arg);
    if (r->calls == 1) redisconn_release(conn);
}

Test(pool_state, release_inside_a_reply_callback_is_allowed)
{
    rt_reply r = {0};
    one_conn_pool(5000);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, release_in_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    rt_await(env.base, pool_stats().idle_count == 1, 10);
    cr_assert_eq(pool_stats().idle_count, 1);
    cr_assert_eq(pool_stats().in_use_count, 0);
}

Test(pool_state, unsubscribed_subscription_gets_its_final_call_canceled)
{
    rt_reply sub = {0};
    one_conn_pool(5000);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, on_message, &sub, "SUBSCRIBE %s", "ch2"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &sub, 2000));
    cr_assert_eq(redisconn_command(c, NULL, NULL, "UNSUBSCRIBE %s", "ch2"), REDISCONN_OK);
    rt_await(env.base, sub.calls >= 3, 1000);
    cr_assert_eq(sub.calls, 3, "the unsubscribe confirmation, then the final call");
    cr_assert_eq(sub.status, REDISCONN_ERR_CANCELED);
    redisconn_release(c);
    rt_loop_quiet(env.base, 20); /* a fourth call would come now */
    cr_assert_eq(sub.calls, 3);
}

Test(pool_state, large_values_survive_partial_writes)
{
    enum { SIZE = 8 * 1024 * 1024 };
    rt_reply r;
    char *big = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        big[i] = (char)('a' + i % 26);
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "SET big %b", big, (size_t)SIZE),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "STRLEN big"), REDISCONN_OK);
    rt_await(env.base, r.calls >= 2, 3000);
    cr_assert_eq(r.calls, 2);
    cr_assert_eq(r.integer, SIZE);
    rt_command_wait(&env, c, &r, "GETRANGE big %d %d", SIZE - 3, SIZE - 1);
    cr_assert_eq(r.len, 3);
    cr_assert_eq(memcmp(r.str, big + SIZE - 3, 3), 0);
    redisconn_release(c);
    free(big);
}
