/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_close.c — closing the pool with everything in flight, and
 * callbacks that release, cancel or close from inside other callbacks. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_close, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

static void on_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    (*(int *)arg)++;
}

/* A pool of two: one connection leased, then three acquires (w[0] starts the
 * second dial, w[1] and w[2] wait), then the pool is closed; runs the loop
 * until every acquire was called back. Returns the lease. */
static redisconn_conn *close_with_a_lease_a_dial_and_two_waiters(rt_acq w[3])
{
    redisconn_pool_options *o = given_options();
    redisconn_conn *leased;
    memset(w, 0, 3 * sizeof(*w));
    o->max_active = 2;
    given_pool(o);
    leased = rt_acquire_ok(&env);
    for (int i = 0; i < 3; i++)
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &w[i]));
    close_pool();
    cr_assert_eq(w[0].calls + w[1].calls + w[2].calls, 0, "callbacks inside close");
    rt_await(env.base, w[0].calls && w[1].calls && w[2].calls, 1000);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    return leased;
}

/* Gives the lease back and lets the pool be freed (no assertion: cleanup). */
static void release_and_finish(redisconn_conn *leased)
{
    redisconn_release(leased);
    rt_loop_until(env.base, &env.closed, 2000);
}

Test(pool_close, close_fails_the_waiting_acquires_with_closed)
{
    rt_acq w[3];
    redisconn_conn *leased = close_with_a_lease_a_dial_and_two_waiters(w);
    for (int i = 1; i < 3; i++) {
        cr_assert_eq(w[i].calls, 1, "waiter %d: %d calls", i, w[i].calls);
        cr_assert_eq(w[i].status, REDISCONN_ERR_CLOSED);
    }
    release_and_finish(leased);
}

Test(pool_close, close_fails_the_acquire_whose_dial_is_in_progress_with_closed)
{
    rt_acq w[3];
    redisconn_conn *leased = close_with_a_lease_a_dial_and_two_waiters(w);
    cr_assert_eq(w[0].calls, 1, "the dialing acquire: %d calls", w[0].calls);
    cr_assert_eq(w[0].status, REDISCONN_ERR_CLOSED);
    release_and_finish(leased);
}

Test(pool_close, close_waits_for_the_lease_before_freeing_the_pool)
{
    rt_acq w[3];
    rt_reply r = {0};
    redisconn_conn *leased = close_with_a_lease_a_dial_and_two_waiters(w);
    cr_assert_eq(env.closed, 0, "pool freed while a lease is out");
    /* the lease still works until released */
    cr_assert_eq(redisconn_command(leased, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_str_eq(r.str, "PONG");
    redisconn_release(leased);
    expect_pool_freed();
    rt_await(env.base, rt_clients(env.srv) == 0, 50); /* the server sees the close */
    cr_assert_eq(rt_clients(env.srv), 0);
}

Test(pool_close, close_with_a_dial_in_progress_to_a_stalled_server_completes)
{
    rt_acq a = {0};
    given_pool(NULL);
    rt_server_pause(env.srv);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &a));
    /* Bounded: the connect completes and SELECT goes out meanwhile; nothing
     * shows it (the server is stopped) and no callback may fire. */
    rt_loop_quiet(env.base, 30);
    close_pool();
    cr_assert(rt_loop_until(env.base, &env.closed, 2000));
    rt_server_resume(env.srv);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.status, REDISCONN_ERR_CLOSED);
    cr_assert_eq(rt_count_fds(), env.fds_before);
}

Test(pool_close, close_while_draining_lets_commands_finish)
{
    rt_reply r = {0};
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "DEBUG SLEEP 0.1"), REDISCONN_OK);
    redisconn_release(c);
    close_pool();
    cr_assert(rt_loop_until(env.base, &env.closed, 3000));
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_eq(rt_count_fds(), env.fds_before);
}

static redisconn_pool *close_target;
static int close_count;

static void close_in_reply(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    rt_reply_cb(conn, status, reply, arg);
    cr_assert_eq(redisconn_pool_close(close_target, on_closed, &close_count), REDISCONN_OK);
    redisconn_release(conn);
}

Test(pool_close, close_from_inside_a_reply_callback_is_safe)
{
    rt_reply r = {0};
    close_target = given_pool(NULL);
    env.pool = NULL; /* closed by the test */
    redisconn_conn *c = rt_acquire_ok_on(close_target, env.base);
    cr_assert_eq(redisconn_command(c, close_in_reply, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_loop_until(env.base, &close_count, 2000));
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(close_count, 1);
    cr_assert_eq(rt_count_fds(), env.fds_before);
}

static void close_in_acquire(redisconn_conn *conn, int status, const char *msg, void *arg)
{
    rt_acq_cb(conn, status, msg, arg);
    cr_assert_eq(redisconn_pool_close(close_target, on_closed, &close_count), REDISCONN_OK);
    redisconn_release(conn);
}

Test(pool_close, close_from_inside_an_acquire_callback_fails_the_queued_ones)
{
    rt_acq first = {0}, second = {0};
    close_target = given_pool(NULL);
    env.pool = NULL; /* closed by the test */
    redisconn_release(rt_acquire_ok_on(close_target, env.base));
    cr_assert_not_null(redisconn_pool_acquire(close_target, 0, close_in_acquire, &first));
    cr_assert_not_null(redisconn_pool_acquire(close_target, 0, rt_acq_cb, &second));
    cr_assert(rt_loop_until(env.base, &close_count, 2000));
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(first.calls, 1);
    cr_assert_eq(first.status, REDISCONN_OK);
    cr_assert_eq(second.calls, 1);
    cr_assert_eq(second.status, REDISCONN_ERR_CLOSED);
    cr_assert_eq(close_count, 1);
}

/* A chain: each acquire callback cancels the next pending acquire. */
static redisconn_acquire *victims[4];

static void cancel_next(redisconn_conn *conn, int status, const char *msg, void *arg)
{
    rt_acq *a = arg;
    rt_acq_cb(conn, status, msg, arg);
    if (a->seq == 0 && victims[1]) {
        cr_assert_eq(redisconn_acquire_cancel(victims[1]), REDISCONN_OK);
        victims[1] = NULL;
    }
    if (conn) redisconn_release(conn);
}

Test(pool_close, cancel_of_another_acquire_inside_a_callback_fires_it_once)
{
    rt_acq a = {0}, b = {0};
    redisconn_conn **two = given_exhausted(given_pool(NULL), 2);
    redisconn_release(two[0]);
    redisconn_release(two[1]);
    victims[0] = redisconn_pool_acquire(env.pool, 0, cancel_next, &a);
    victims[1] = redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &b);
    rt_await(env.base, a.calls && b.calls, 1000);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.status, REDISCONN_OK);
    cr_assert_eq(b.calls, 1);
    cr_assert_eq(b.status, REDISCONN_ERR_CANCELED);
    cr_assert_eq(pool_stats().idle_count, 2, "the canceled acquire's connection went back");
}

/* The load of the next test: each served acquire sends a 10 ms command and
 * releases at once, so that connections are handed on under traffic. */
enum { LOAD = 64 };
static rt_acq load_acq[LOAD];
static rt_reply load_rep[LOAD];

static void command_and_release(redisconn_conn *conn, int status, const char *msg, void *arg)
{
    rt_acq *a = arg;
    rt_reply *r = &load_rep[a - load_acq];
    rt_acq_cb(conn, status, msg, arg);
    if (conn == NULL) return;
    a->conn = NULL;
    if (redisconn_command(conn, rt_reply_cb, r, "DEBUG SLEEP 0.01") != REDISCONN_OK)
        r->calls = 1, r->status = REDISCONN_ERR_IO;
    redisconn_release(conn);
}

static int load_served(void)
{
    int n = 0;
    for (int i = 0; i < LOAD; i++)
        n += load_acq[i].calls;
    return n;
}

/* Every acquire was called back, and every served one got its reply. */
static int load_done(void)
{
    for (int i = 0; i < LOAD; i++)
        if (load_acq[i].calls == 0 ||
            (load_acq[i].status == REDISCONN_OK && load_rep[i].calls == 0))
            return 0;
    return 1;
}

Test(pool_close, server_killed_under_load_every_callback_fires_exactly_once)
{
    redisconn_pool_options *o = given_options();
    o->max_active = 8;
    o->command_timeout_ms = 500;
    given_pool(o);
    for (int i = 0; i < LOAD; i++)
        cr_assert_not_null(
            redisconn_pool_acquire(env.pool, 3000, command_and_release, &load_acq[i]));
    rt_await(env.base, load_served() >= 8, 2000); /* traffic on every connection */
    rt_server_kill(env.srv);
    rt_await(env.base, load_done(), 5000);
    /* A timer firing for a command already answered (command timeout 500 ms)
     * would call back a second time now. */
    rt_loop_quiet(env.base, 600);
    for (int i = 0; i < LOAD; i++) {
        cr_assert_eq(load_acq[i].calls, 1, "acquire %d fired %d times", i, load_acq[i].calls);
        if (load_acq[i].status == REDISCONN_OK)
            cr_assert_eq(load_rep[i].calls, 1, "reply %d fired %d times", i, load_rep[i].calls);
        else
            cr_assert_eq(load_rep[i].calls, 0);
    }
}
