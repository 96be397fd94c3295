/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_outage.c — the dial governor: while dials fail the pool backs
 * off (one probe at a time), requests with nothing to wait for fail at once
 * with the last dial error, a lease out keeps them waiting instead, a cold
 * start dials a few at a time, and timeouts say what they waited for. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_outage, .init = given_base, .fini = rt_env_teardown, .timeout = 30);

/* A pool on a loopback port nobody listens on. */
static void pool_on_a_dead_port(redisconn_pool_options *o)
{
    static char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", rt_free_port());
    given_pool_at(addr, o);
}

/* Starts `n` acquires into a[] and runs the loop until all called back. */
static void acquire_all(rt_acq *a, int n, int timeout_ms)
{
    for (int i = 0; i < n; i++)
        cr_assert_not_null(redisconn_pool_acquire(env.pool, timeout_ms, rt_acq_cb, &a[i]));
    for (int i = 0; i < n; i++)
        cr_assert(rt_wait_acq(&env, &a[i], timeout_ms + 2000), "acquire %d never completed", i);
}

Test(pool_outage, a_burst_against_a_down_server_costs_a_handful_of_dials)
{
    static rt_acq a[1000];
    pool_on_a_dead_port(NULL);
    acquire_all(a, 1000, 2000);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(a[i].calls, 1);
        cr_assert_eq(a[i].status, REDISCONN_ERR_CONNECT, "%d: %s", i,
                     redisconn_status_name(a[i].status));
        cr_assert(strstr(a[i].errmsg, "refused") != NULL, "%d: %s", i, a[i].errmsg);
    }
    cr_assert_leq(pool_stats().dials, 3, "%llu dials", (unsigned long long)pool_stats().dials);
}

Test(pool_outage, acquires_during_the_back_off_fail_at_once_with_the_last_dial_error)
{
    rt_acq first = {0}, next = {0};
    redisconn_pool_options *o = given_options();
    o->dial_backoff_min_ms = 2000; /* a long first delay: the next acquire falls inside it */
    o->dial_backoff_max_ms = 2000;
    pool_on_a_dead_port(o);
    acquire_all(&first, 1, 1000);
    acquire_all(&next, 1, 1000);
    cr_assert_eq(next.status, REDISCONN_ERR_CONNECT);
    cr_assert(strstr(next.errmsg, "refused") != NULL, "%s", next.errmsg);
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.dials, 1, "no dial during the back-off");
    cr_assert_eq(st.fast_failed, 1);
    cr_assert_eq(st.server_down, 1);
    cr_assert_eq(st.last_dial_status, REDISCONN_ERR_CONNECT);
    cr_assert_neq(st.down_since_us, 0);
}

Test(pool_outage, the_probe_after_the_back_off_reaches_a_server_that_came_up)
{
    rt_acq first = {0};
    redisconn_pool_options *o = given_options();
    given_server_with(NULL);
    rt_server_stop(env.srv);
    o->dial_backoff_min_ms = 200;
    o->dial_backoff_max_ms = 400;
    given_pool(o);
    acquire_all(&first, 1, 1000);
    cr_assert_eq(first.status, REDISCONN_ERR_CONNECT);
    rt_server_restart(env.srv);
    redisconn_release(rt_acquire_eventually(&env, 1500, NULL));
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.server_down, 0);
    cr_assert_eq(st.last_dial_status, 0);
    cr_assert_leq(st.dials, 4, "%llu dials", (unsigned long long)st.dials);
}

Test(pool_outage, a_server_refusing_new_connections_keeps_waiters_for_a_release)
{
    rt_acq waiter = {0};
    rt_server_opts so = {.maxclients = 1};
    redisconn_pool_options *o = given_options();
    given_server_with(&so);
    o->max_active = 2;
    given_pool(o);
    redisconn_conn *held = rt_acquire_ok(&env); /* the one client the server takes */
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 3000, rt_acq_cb, &waiter));
    rt_await(env.base, pool_stats().dial_errors >= 1, 2000); /* "max number of clients" */
    rt_loop_quiet(env.base, 50); /* the waiter must not fail: a release will serve it */
    cr_assert_eq(waiter.calls, 0);
    redisconn_release(held);
    cr_assert(rt_wait_acq(&env, &waiter, 1000));
    cr_assert_eq(waiter.calls, 1);
    cr_assert_eq(waiter.status, REDISCONN_OK, "got %s", redisconn_status_name(waiter.status));
    cr_assert_eq(pool_stats().server_down, 0, "a connection is open: not down");
    redisconn_release(waiter.conn);
}

Test(pool_outage, pool_level_commands_fail_with_the_dial_error_and_its_message)
{
    rt_reply r = {0};
    pool_on_a_dead_port(NULL);
    cr_assert_eq(redisconn_pool_command(env.pool, 1000, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 3000));
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.status, REDISCONN_ERR_CONNECT, "got %s", redisconn_status_name(r.status));
    cr_assert_not_null(redisconn_pool_errstr(env.pool));
    cr_assert(strstr(redisconn_pool_errstr(env.pool), "refused") != NULL, "%s",
              redisconn_pool_errstr(env.pool));
}

Test(pool_outage, pool_level_commands_during_the_back_off_fail_from_the_loop)
{
    rt_reply first = {0}, next = {0};
    redisconn_pool_options *o = given_options();
    o->dial_backoff_min_ms = 2000;
    o->dial_backoff_max_ms = 2000;
    pool_on_a_dead_port(o);
    cr_assert_eq(redisconn_pool_command(env.pool, 1000, rt_reply_cb, &first, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &first, 3000));
    cr_assert_eq(redisconn_pool_command(env.pool, 1000, rt_reply_cb, &next, "PING"), REDISCONN_OK);
    cr_assert_eq(next.calls, 0, "called back inside the call");
    cr_assert(rt_wait_reply(&env, &next, 500));
    cr_assert_eq(next.status, REDISCONN_ERR_CONNECT);
    cr_assert_eq(pool_stats().dials, 1);
    cr_assert_eq(pool_stats().fast_failed, 1);
}

Test(pool_outage, min_idle_refills_with_a_growing_back_off)
{
    redisconn_pool_options *o = given_options();
    o->min_idle = 2;
    o->dial_backoff_min_ms = 50;
    o->dial_backoff_max_ms = 400;
    pool_on_a_dead_port(o);
    rt_loop_quiet(env.base, 1200); /* the window the dial count is measured over */
    /* doubling from 50 ms (with jitter, ≥ half): a dozen at the very most,
     * where a fixed 50 ms would have made over 20 */
    cr_assert_leq(pool_stats().dials, 12, "%llu dials", (unsigned long long)pool_stats().dials);
    cr_assert_geq(pool_stats().dials, 3);
}

Test(pool_outage, a_wrong_db_backs_off_instead_of_dialing_per_acquire)
{
    static rt_acq a[50];
    redisconn_pool_options *o = given_options();
    given_server_with(NULL);
    o->db = 99;
    o->dial_backoff_min_ms = 1000;
    given_pool(o);
    acquire_all(a, 50, 1000);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(a[i].status, REDISCONN_ERR_SELECT, "%d: %s", i,
                     redisconn_status_name(a[i].status));
    cr_assert_leq(pool_stats().dials, 2, "%llu dials", (unsigned long long)pool_stats().dials);
}

Test(pool_outage, an_acquire_timeout_says_how_many_connections_are_leased)
{
    rt_acq a = {0};
    redisconn_pool_options *o = given_options();
    given_server_with(NULL);
    o->max_active = 1;
    given_exhausted(given_pool(o), 1);
    acquire_all(&a, 1, 100);
    cr_assert_eq(a.status, REDISCONN_ERR_TIMEOUT);
    cr_assert(strstr(a.errmsg, "1 of 1 connections leased, 0 acquires waiting ahead") != NULL, "%s",
              a.errmsg);
    cr_assert(strstr(a.errmsg, "after 100 ms") != NULL, "%s", a.errmsg);
    redisconn_release(env.held[0]);
}

Test(pool_outage, an_acquire_timeout_behind_a_stalled_dial_says_a_dial_is_in_progress)
{
    rt_acq a = {0};
    given_server_with(NULL);
    given_pool(NULL);
    rt_server_pause(env.srv); /* accepts the TCP connect, never answers SELECT */
    acquire_all(&a, 1, 200);
    rt_server_resume(env.srv);
    cr_assert_eq(a.status, REDISCONN_ERR_TIMEOUT);
    cr_assert(strstr(a.errmsg, "dial(s) to") != NULL, "%s", a.errmsg);
}
