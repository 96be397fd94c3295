/* test_pool_close.c — closing the pool with everything in flight, and
 * callbacks that release, cancel or close from inside other callbacks. */
#include <criterion/criterion.h>
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

TestSuite(pool_close, .init = setup, .fini = teardown, .timeout = 30);

static void on_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    (*(int *)arg)++;
}

Test(pool_close, close_fails_waiters_closes_dials_and_waits_for_leases)
{
    redisconn_pool_options o;
    rt_acq w[3];
    rt_reply r = {0};
    int closed = 0;
    memset(w, 0, sizeof(w));
    rt_env_options(&env, &o);
    o.max_active = 2;
    rt_env_pool(&env, &o);
    redisconn_conn *leased = rt_acquire_ok(&env);
    /* w[0] triggers the second (in-progress) dial, w[1..2] wait */
    for (int i = 0; i < 3; i++)
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &w[i]));
    redisconn_pool *p = env.pool;
    env.pool = NULL;
    cr_assert_eq(redisconn_pool_close(p, on_closed, &closed), REDISCONN_OK);
    cr_assert_eq(w[0].calls + w[1].calls + w[2].calls, 0, "callbacks inside close");
    rt_loop_for(env.base, 100);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(w[i].calls, 1, "waiter %d: %d calls", i, w[i].calls);
        cr_assert_eq(w[i].status, REDISCONN_ERR_CLOSED);
    }
    cr_assert_eq(closed, 0, "pool freed while a lease is out");
    /* the lease still works until released */
    cr_assert_eq(redisconn_command(leased, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000));
    cr_assert_str_eq(r.str, "PONG");
    redisconn_release(leased);
    cr_assert(rt_loop_until(env.base, &closed, 2000));
    rt_loop_for(env.base, 20);
    cr_assert_eq(closed, 1);
    cr_assert_eq(rt_count_fds(), env.fds_before);
    cr_assert_eq(rt_clients(env.srv), 0);
}

Test(pool_close, close_with_a_dial_in_progress_to_a_stalled_server_completes)
{
    rt_acq a = {0};
    int closed = 0;
    rt_env_pool(&env, NULL);
    rt_server_pause(env.srv);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &a));
    rt_loop_for(env.base, 30);
    redisconn_pool *p = env.pool;
    env.pool = NULL;
    redisconn_pool_close(p, on_closed, &closed);
    cr_assert(rt_loop_until(env.base, &closed, 2000));
    rt_server_resume(env.srv);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.status, REDISCONN_ERR_CLOSED);
    cr_assert_eq(rt_count_fds(), env.fds_before);
}

Test(pool_close, close_while_draining_lets_commands_finish)
{
    rt_reply r = {0};
    int closed = 0;
    rt_env_pool(&env, NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "DEBUG SLEEP 0.1"), REDISCONN_OK);
    redisconn_release(c);
    redisconn_pool *p = env.pool;
    env.pool = NULL;
    redisconn_pool_close(p, on_closed, &closed);
    cr_assert(rt_loop_until(env.base, &closed, 3000));
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
    rt_env_pool(&env, NULL);
    close_target = env.pool;
    env.pool = NULL;
    redisconn_conn *c = rt_acquire_ok_on(close_target, env.base);
    cr_assert_eq(redisconn_command(c, close_in_reply, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_loop_until(env.base, &close_count, 2000));
    rt_loop_for(env.base, 20);
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
    rt_env_pool(&env, NULL);
    close_target = env.pool;
    env.pool = NULL;
    redisconn_release(rt_acquire_ok_on(close_target, env.base));
    cr_assert_not_null(redisconn_pool_acquire(close_target, 0, close_in_acquire, &first));
    cr_assert_not_null(redisconn_pool_acquire(close_target, 0, rt_acq_cb, &second));
    cr_assert(rt_loop_until(env.base, &close_count, 2000));
    rt_loop_for(env.base, 20);
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
    rt_env_pool(&env, NULL);
    redisconn_conn *x = rt_acquire_ok(&env);
    redisconn_conn *y = rt_acquire_ok(&env);
    redisconn_release(x);
    redisconn_release(y);
    victims[0] = redisconn_pool_acquire(env.pool, 0, cancel_next, &a);
    victims[1] = redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &b);
    rt_loop_for(env.base, 50);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.status, REDISCONN_OK);
    cr_assert_eq(b.calls, 1);
    cr_assert_eq(b.status, REDISCONN_ERR_CANCELED);
    redisconn_pool_stats st;
    redisconn_pool_get_stats(env.pool, &st);
    cr_assert_eq(st.idle_count, 2, "the canceled acquire's connection went back");
}

Test(pool_close, server_killed_under_load_every_callback_fires_exactly_once)
{
    enum { N = 64 };
    static rt_acq acq[N];
    static rt_reply rep[N];
    redisconn_pool_options o;
    memset(acq, 0, sizeof(acq));
    memset(rep, 0, sizeof(rep));
    rt_env_options(&env, &o);
    o.max_active = 8;
    o.command_timeout_ms = 500;
    rt_env_pool(&env, &o);
    for (int i = 0; i < N; i++)
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 3000, rt_acq_cb, &acq[i]));
    int done = 0;
    for (int round = 0; round < 400 && done < N; round++) {
        rt_loop_for(env.base, 5);
        for (int i = 0; i < N; i++)
            if (acq[i].calls == 1 && acq[i].conn) {
                redisconn_conn *c = acq[i].conn;
                acq[i].conn = NULL;
                if (redisconn_command(c, rt_reply_cb, &rep[i], "DEBUG SLEEP 0.01") != REDISCONN_OK)
                    rep[i].calls = 1, rep[i].status = REDISCONN_ERR_IO;
                redisconn_release(c);
            }
        if (round == 3) rt_server_kill(env.srv);
        done = 0;
        for (int i = 0; i < N; i++)
            done += acq[i].calls;
    }
    rt_loop_for(env.base, 600);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(acq[i].calls, 1, "acquire %d fired %d times", i, acq[i].calls);
        if (acq[i].status == REDISCONN_OK)
            cr_assert_eq(rep[i].calls, 1, "reply %d fired %d times", i, rep[i].calls);
        else
            cr_assert_eq(rep[i].calls, 0);
    }
}
