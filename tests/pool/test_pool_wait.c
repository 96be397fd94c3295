/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_wait.c — waiting for a connection: FIFO waiters, hand-off,
 * acquire timeouts, cancellation, wait=false and max_waiters. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_wait, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

/* A pool of `max_active` connections, every one of them leased (env.held). */
static redisconn_conn **exhausted_pool(int max_active, int wait, int max_waiters)
{
    redisconn_pool_options *o = given_options();
    o->max_active = max_active;
    o->wait = wait;
    o->max_waiters = max_waiters;
    return given_exhausted(given_pool(o), max_active);
}

Test(pool_wait, waiters_are_served_in_fifo_order)
{
    rt_acq w[5];
    int seq = 0;
    redisconn_conn **held = exhausted_pool(1, 1, 0);
    memset(w, 0, sizeof(w));
    for (int i = 0; i < 5; i++) {
        w[i].seq_counter = &seq;
        w[i].release = 1; /* each hands the connection on to the next */
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &w[i]));
    }
    rt_loop_quiet(env.base, 50); /* nobody may be served before the release */
    for (int i = 0; i < 5; i++)
        cr_assert_eq(w[i].calls, 0, "waiter %d served early", i);
    redisconn_release(held[0]);
    cr_assert(rt_wait_acq(&env, &w[4], 3000));
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(w[i].calls, 1);
        cr_assert_eq(w[i].status, REDISCONN_OK);
        cr_assert_eq(w[i].seq, i + 1, "waiter %d served as #%d", i, w[i].seq);
    }
}

Test(pool_wait, released_connection_goes_to_the_oldest_waiter_not_idle)
{
    rt_acq w = {0};
    redisconn_conn **held = exhausted_pool(1, 1, 0);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &w));
    rt_loop_quiet(env.base, 20); /* deliberate: the waiter waits a measurable time */
    redisconn_release(held[0]);
    cr_assert(rt_wait_acq(&env, &w, 2000));
    cr_assert_eq(w.conn, held[0], "hand-off of the same connection");
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.idle_count, 0);
    cr_assert_eq(st.dials, 1);
    cr_assert_eq(st.wait_count, 1);
    cr_assert_gt(st.wait_duration_us, 0);
    uint64_t in_buckets = 0;
    for (int i = 0; i <= REDISCONN_WAIT_BUCKETS; i++)
        in_buckets += st.wait_buckets[i];
    cr_assert_eq(in_buckets, 1, "the wait is in the histogram");
    cr_assert_eq(st.wait_buckets[REDISCONN_WAIT_BUCKETS], 0);
    redisconn_release(w.conn);
}

Test(pool_wait, acquire_times_out_when_nothing_is_released)
{
    rt_acq w = {0};
    redisconn_conn **held = exhausted_pool(1, 1, 0);
    int64_t t0 = rt_now_ms();
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 100, rt_acq_cb, &w));
    cr_assert(rt_wait_acq(&env, &w, 3000));
    cr_assert_eq(w.status, REDISCONN_ERR_TIMEOUT);
    cr_assert_geq(rt_now_ms() - t0, 95, "timed out too early");
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.acquire_timeouts, 1);
    cr_assert_eq(st.waiting_count, 0);
    redisconn_release(held[0]);
    rt_loop_quiet(env.base, 20); /* the release must not reach the timed-out waiter */
    cr_assert_eq(w.calls, 1);
}

Test(pool_wait, cancel_of_a_waiting_acquire_fires_canceled_once)
{
    rt_acq w = {0};
    redisconn_conn **held = exhausted_pool(1, 1, 0);
    redisconn_acquire *h = redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &w);
    cr_assert_not_null(h);
    rt_loop_quiet(env.base, 20); /* it waits in the queue: nothing may serve it */
    cr_assert_eq(redisconn_acquire_cancel(h), REDISCONN_OK);
    cr_assert_eq(w.calls, 0, "cancel callback must come from the loop");
    cr_assert(rt_wait_acq(&env, &w, 1000));
    cr_assert_eq(w.status, REDISCONN_ERR_CANCELED);
    redisconn_release(held[0]);
    rt_loop_quiet(env.base, 30); /* the release must not reach the canceled waiter */
    cr_assert_eq(w.calls, 1);
    cr_assert_eq(pool_stats().idle_count, 1,
                 "the released connection went idle, not to the canceled waiter");
}

/* An acquire on a fresh pool (it starts a dial), canceled at once; runs the
 * loop until its callback. */
static void cancel_while_dialing(rt_acq *a)
{
    given_pool(NULL);
    redisconn_acquire *h = redisconn_pool_acquire(env.pool, 0, rt_acq_cb, a);
    cr_assert_not_null(h);
    cr_assert_eq(pool_stats().dialing_count, 1);
    cr_assert_eq(redisconn_acquire_cancel(h), REDISCONN_OK);
    cr_assert(rt_wait_acq(&env, a, 1000));
}

Test(pool_wait, cancel_while_dialing_fires_canceled_once)
{
    rt_acq a = {0};
    cancel_while_dialing(&a);
    cr_assert_eq(a.status, REDISCONN_ERR_CANCELED);
    rt_await(env.base, pool_stats().dialing_count == 0, 100); /* the dial completes meanwhile */
    rt_loop_quiet(env.base, 10);                              /* a second callback would come now */
    cr_assert_eq(a.calls, 1);
}

Test(pool_wait, cancel_while_dialing_keeps_the_new_connection)
{
    rt_acq a = {0};
    cancel_while_dialing(&a);
    rt_await(env.base, pool_stats().dialing_count == 0 && pool_stats().idle_count == 1, 100);
    cr_assert_eq(pool_stats().dialing_count, 0);
    cr_assert_eq(pool_stats().idle_count, 1, "the dial finished into the idle list");
}

Test(pool_wait, cancel_of_a_chosen_but_undelivered_acquire_returns_the_connection)
{
    rt_acq a = {0};
    given_pool(NULL);
    redisconn_release(rt_acquire_ok(&env));
    redisconn_acquire *h = redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &a);
    cr_assert_eq(redisconn_acquire_cancel(h), REDISCONN_OK);
    cr_assert(rt_wait_acq(&env, &a, 1000));
    cr_assert_eq(a.status, REDISCONN_ERR_CANCELED);
    cr_assert_null(a.conn);
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.idle_count, 1);
    cr_assert_eq(st.in_use_count, 0);
}

static void cancel_inside_cb(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    rt_acq *a = arg;
    (void)errmsg;
    a->calls++;
    a->status = status;
    cr_assert_eq(redisconn_acquire_cancel(*(redisconn_acquire **)a->errmsg), REDISCONN_ERR_STATE,
                 "cancel of its own acquire inside its callback");
    redisconn_release(conn);
}

Test(pool_wait, cancel_inside_its_own_callback_is_a_state_error)
{
    rt_acq a = {0};
    given_pool(NULL);
    redisconn_acquire *h = redisconn_pool_acquire(env.pool, 0, cancel_inside_cb, &a);
    memcpy(a.errmsg, &h, sizeof(h));
    cr_assert(rt_wait_acq(&env, &a, 2000));
    cr_assert_eq(a.status, REDISCONN_OK);
}

Test(pool_wait, wait_false_fails_exhausted_at_max_active)
{
    rt_acq w = {0};
    redisconn_conn **held = exhausted_pool(2, 0, 0);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 1000, rt_acq_cb, &w));
    cr_assert_eq(w.calls, 0);
    cr_assert(rt_wait_acq(&env, &w, 1000));
    cr_assert_eq(w.status, REDISCONN_ERR_EXHAUSTED);
    redisconn_release(held[0]);
    redisconn_release(held[1]);
}

Test(pool_wait, max_waiters_rejects_the_extra_waiter)
{
    rt_acq w[3];
    memset(w, 0, sizeof(w));
    redisconn_conn **held = exhausted_pool(1, 1, 2);
    for (int i = 0; i < 3; i++)
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &w[i]));
    cr_assert(rt_wait_acq(&env, &w[2], 1000));
    cr_assert_eq(w[2].status, REDISCONN_ERR_EXHAUSTED);
    cr_assert_eq(w[0].calls + w[1].calls, 0);
    w[0].release = w[1].release = 1;
    redisconn_release(held[0]);
    cr_assert(rt_wait_acq(&env, &w[1], 2000));
    cr_assert_eq(w[0].status, REDISCONN_OK);
    cr_assert_eq(w[1].status, REDISCONN_OK);
}

Test(pool_wait, invalid_acquire_arguments_return_null_without_a_callback)
{
    given_pool(NULL);
    cr_assert_null(redisconn_pool_acquire(NULL, 0, rt_never_acq_cb, NULL));
    cr_assert_null(redisconn_pool_acquire(env.pool, 0, NULL, NULL));
    cr_assert_null(redisconn_pool_acquire(env.pool, -1, rt_never_acq_cb, NULL));
    rt_loop_quiet(env.base, 50); /* a callback would come now */
}

Test(pool_wait, many_waiters_all_complete_exactly_once)
{
    enum { N = 200 };
    static rt_acq w[N];
    redisconn_pool_options *o = given_options();
    memset(w, 0, sizeof(w));
    o->max_active = 4;
    given_pool(o);
    for (int i = 0; i < N; i++) {
        w[i].release = 1;
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 10000, rt_acq_cb, &w[i]));
    }
    cr_assert(rt_wait_acq(&env, &w[N - 1], 10000));
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    for (int i = 0; i < N; i++) {
        cr_assert_eq(w[i].calls, 1);
        cr_assert_eq(w[i].status, REDISCONN_OK);
    }
    redisconn_pool_stats st = pool_stats();
    cr_assert_leq(st.dials, 4);
    cr_assert_eq(st.waiting_count, 0);
}

Test(pool_wait, many_simultaneous_idle_acquires_keep_the_waiting_count_exact)
{
    /* More acquire records than the pool keeps cached (256) served straight
     * from the idle list: none of them ever waited. */
    enum { N = 300 };
    static rt_acq a[N];
    static redisconn_conn *held[N];
    redisconn_pool_options *o = given_options();
    redisconn_pool_stats st;
    memset(a, 0, sizeof(a));
    o->max_idle = N;
    given_pool(o);
    for (int i = 0; i < N; i++)
        held[i] = rt_acquire_ok(&env);
    for (int i = 0; i < N; i++)
        redisconn_release(held[i]);
    for (int i = 0; i < N; i++)
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &a[i]));
    st = pool_stats();
    cr_assert_eq(st.waiting_count, 0, "waiting_count %d", st.waiting_count);
    cr_assert(rt_wait_acq(&env, &a[N - 1], 3000));
    rt_acq extra = {0};
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 2000, rt_acq_cb, &extra));
    cr_assert(rt_wait_acq(&env, &extra, 3000));
    cr_assert_eq(extra.status, REDISCONN_OK, "a new dial serves it (%s)",
                 redisconn_status_name(extra.status));
    st = pool_stats();
    cr_assert_eq(st.dials, N + 1);
    cr_assert_eq(st.waiting_count, 0);
    for (int i = 0; i < N; i++)
        redisconn_release(a[i].conn);
    redisconn_release(extra.conn);
}
