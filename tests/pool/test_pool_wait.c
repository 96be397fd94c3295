/* test_pool_wait.c — waiting for a connection: FIFO waiters, hand-off,
 * acquire timeouts, cancellation, wait=false and max_waiters. */
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

TestSuite(pool_wait, .init = setup, .fini = teardown, .timeout = 30);

/* A pool of `max_active` connections, all of them leased into `held`. */
static void exhaust(int max_active, int wait, int max_waiters, redisconn_conn **held)
{
    redisconn_pool_options o;
    rt_env_options(&env, &o);
    o.max_active = max_active;
    o.wait = wait;
    o.max_waiters = max_waiters;
    rt_env_pool(&env, &o);
    for (int i = 0; i < max_active; i++)
        held[i] = rt_acquire_ok(&env);
}

Test(pool_wait, waiters_are_served_in_fifo_order)
{
    redisconn_conn *held[1];
    rt_acq w[5];
    int seq = 0;
    exhaust(1, 1, 0, held);
    memset(w, 0, sizeof(w));
    for (int i = 0; i < 5; i++) {
        w[i].seq_counter = &seq;
        w[i].release = 1; /* each hands the connection on to the next */
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &w[i]));
    }
    rt_loop_for(env.base, 50);
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
    redisconn_conn *held[1];
    rt_acq w = {0};
    exhaust(1, 1, 0, held);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &w));
    rt_loop_for(env.base, 20);
    redisconn_release(held[0]);
    cr_assert(rt_wait_acq(&env, &w, 2000));
    cr_assert_eq(w.conn, held[0], "hand-off of the same connection");
    redisconn_pool_stats st;
    redisconn_pool_get_stats(env.pool, &st);
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
    redisconn_conn *held[1];
    rt_acq w = {0};
    exhaust(1, 1, 0, held);
    int64_t t0 = rt_now_ms();
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 100, rt_acq_cb, &w));
    cr_assert(rt_wait_acq(&env, &w, 3000));
    cr_assert_eq(w.status, REDISCONN_ERR_TIMEOUT);
    cr_assert_geq(rt_now_ms() - t0, 95, "timed out too early");
    redisconn_pool_stats st;
    redisconn_pool_get_stats(env.pool, &st);
    cr_assert_eq(st.acquire_timeouts, 1);
    cr_assert_eq(st.waiting_count, 0);
    redisconn_release(held[0]);
    rt_loop_for(env.base, 20);
    cr_assert_eq(w.calls, 1);
}

Test(pool_wait, cancel_of_a_waiting_acquire_fires_canceled_once)
{
    redisconn_conn *held[1];
    rt_acq w = {0};
    exhaust(1, 1, 0, held);
    redisconn_acquire *h = redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &w);
    cr_assert_not_null(h);
    rt_loop_for(env.base, 20);
    cr_assert_eq(redisconn_acquire_cancel(h), REDISCONN_OK);
    cr_assert_eq(w.calls, 0, "cancel callback must come from the loop");
    cr_assert(rt_wait_acq(&env, &w, 1000));
    cr_assert_eq(w.status, REDISCONN_ERR_CANCELED);
    redisconn_release(held[0]);
    rt_loop_for(env.base, 30);
    cr_assert_eq(w.calls, 1);
    redisconn_pool_stats st;
    redisconn_pool_get_stats(env.pool, &st);
    cr_assert_eq(st.idle_count, 1, "the released connection went idle, not to the canceled waiter");
}

Test(pool_wait, cancel_while_dialing_fires_canceled_and_keeps_the_new_connection)
{
    rt_acq a = {0};
    rt_env_pool(&env, NULL);
    redisconn_acquire *h = redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &a);
    cr_assert_not_null(h);
    redisconn_pool_stats st;
    redisconn_pool_get_stats(env.pool, &st);
    cr_assert_eq(st.dialing_count, 1);
    cr_assert_eq(redisconn_acquire_cancel(h), REDISCONN_OK);
    cr_assert(rt_wait_acq(&env, &a, 1000));
    cr_assert_eq(a.status, REDISCONN_ERR_CANCELED);
    rt_loop_for(env.base, 100);
    cr_assert_eq(a.calls, 1);
    redisconn_pool_get_stats(env.pool, &st);
    cr_assert_eq(st.dialing_count, 0);
    cr_assert_eq(st.idle_count, 1, "the dial finished into the idle list");
}

Test(pool_wait, cancel_of_a_chosen_but_undelivered_acquire_returns_the_connection)
{
    rt_acq a = {0};
    rt_env_pool(&env, NULL);
    redisconn_release(rt_acquire_ok(&env));
    redisconn_acquire *h = redisconn_pool_acquire(env.pool, 0, rt_acq_cb, &a);
    cr_assert_eq(redisconn_acquire_cancel(h), REDISCONN_OK);
    cr_assert(rt_wait_acq(&env, &a, 1000));
    cr_assert_eq(a.status, REDISCONN_ERR_CANCELED);
    cr_assert_null(a.conn);
    redisconn_pool_stats st;
    redisconn_pool_get_stats(env.pool, &st);
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
    rt_env_pool(&env, NULL);
    redisconn_acquire *h = redisconn_pool_acquire(env.pool, 0, cancel_inside_cb, &a);
    memcpy(a.errmsg, &h, sizeof(h));
    cr_assert(rt_wait_acq(&env, &a, 2000));
    cr_assert_eq(a.status, REDISCONN_OK);
}

Test(pool_wait, wait_false_fails_exhausted_at_max_active)
{
    redisconn_conn *held[2];
    rt_acq w = {0};
    exhaust(2, 0, 0, held);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 1000, rt_acq_cb, &w));
    cr_assert_eq(w.calls, 0);
    cr_assert(rt_wait_acq(&env, &w, 1000));
    cr_assert_eq(w.status, REDISCONN_ERR_EXHAUSTED);
    redisconn_release(held[0]);
    redisconn_release(held[1]);
}

Test(pool_wait, max_waiters_rejects_the_extra_waiter)
{
    redisconn_conn *held[1];
    rt_acq w[3];
    memset(w, 0, sizeof(w));
    exhaust(1, 1, 2, held);
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

Test(pool_wait, invalid_acquire_arguments_return_null_and_never_call_back)
{
    rt_env_pool(&env, NULL);
    cr_assert_null(redisconn_pool_acquire(NULL, 0, rt_never_acq_cb, NULL));
    cr_assert_null(redisconn_pool_acquire(env.pool, 0, NULL, NULL));
    cr_assert_null(redisconn_pool_acquire(env.pool, -1, rt_never_acq_cb, NULL));
    rt_loop_for(env.base, 50);
}

Test(pool_wait, many_waiters_all_complete_exactly_once)
{
    enum { N = 200 };
    static rt_acq w[N];
    redisconn_pool_options o;
    memset(w, 0, sizeof(w));
    rt_env_options(&env, &o);
    o.max_active = 4;
    rt_env_pool(&env, &o);
    for (int i = 0; i < N; i++) {
        w[i].release = 1;
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 10000, rt_acq_cb, &w[i]));
    }
    cr_assert(rt_wait_acq(&env, &w[N - 1], 10000));
    rt_loop_for(env.base, 20);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(w[i].calls, 1);
        cr_assert_eq(w[i].status, REDISCONN_OK);
    }
    redisconn_pool_stats st;
    redisconn_pool_get_stats(env.pool, &st);
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
    redisconn_pool_options o;
    redisconn_pool_stats st;
    memset(a, 0, sizeof(a));
    rt_env_options(&env, &o);
    o.max_idle = N;
    rt_env_pool(&env, &o);
    for (int i = 0; i < N; i++)
        held[i] = rt_acquire_ok(&env);
    for (int i = 0; i < N; i++)
        redisconn_release(held[i]);
    for (int i = 0; i < N; i++)
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &a[i]));
    redisconn_pool_get_stats(env.pool, &st);
    cr_assert_eq(st.waiting_count, 0, "waiting_count %d", st.waiting_count);
    cr_assert(rt_wait_acq(&env, &a[N - 1], 3000));
    rt_acq extra = {0};
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 2000, rt_acq_cb, &extra));
    cr_assert(rt_wait_acq(&env, &extra, 3000));
    cr_assert_eq(extra.status, REDISCONN_OK, "a new dial serves it (%s)",
                 redisconn_status_name(extra.status));
    redisconn_pool_get_stats(env.pool, &st);
    cr_assert_eq(st.dials, N + 1);
    cr_assert_eq(st.waiting_count, 0);
    for (int i = 0; i < N; i++)
        redisconn_release(a[i].conn);
    redisconn_release(extra.conn);
}
