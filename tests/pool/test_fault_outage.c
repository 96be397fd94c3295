/* SPDX-License-Identifier: BSD-3-Clause */
/* test_fault_outage.c — a server that is down (refused connects): a burst
 * of acquires, and steady load through a kill -9 and a restart. The dial
 * governor must keep dials to a handful, fail requests fast with the dial
 * error, and reach the server again within the back-off cap. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "support/fault_load.h"
#include "support/pool_fixture.h"

TestSuite(fault_outage, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

enum { BURST = 1000 };

static rt_acq burst[BURST];

static int burst_done(void)
{
    for (int i = 0; i < BURST; i++)
        if (burst[i].calls == 0) return 0;
    return 1;
}

/* The server is killed, then BURST acquires are made at once; returns the
 * milliseconds until every callback had fired. */
static int64_t burst_against_a_down_server(void)
{
    int64_t t0;
    given_pool(NULL);
    rt_server_kill(env.srv);
    t0 = rt_now_ms();
    for (int i = 0; i < BURST; i++)
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 2000, rt_acq_cb, &burst[i]));
    rt_await(env.base, burst_done(), 3000);
    t0 = rt_now_ms() - t0;
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    return t0;
}

Test(fault_outage, burst_of_1000_acquires_against_a_down_server_costs_at_most_4_dials)
{
    burst_against_a_down_server();
    redisconn_pool_stats st = pool_stats();
    cr_assert_leq(st.dials, 4, "%llu dials for %d acquires", (unsigned long long)st.dials, BURST);
    cr_assert_eq(st.dial_errors, st.dials);
    cr_assert_eq(st.server_down, 1);
    close_pool_expect_freed();
}

Test(fault_outage, burst_against_a_down_server_fails_every_acquire_once_with_connect_and_why)
{
    int64_t took = burst_against_a_down_server();
    for (int i = 0; i < BURST; i++) {
        cr_assert_eq(burst[i].calls, 1, "acquire %d: %d callbacks", i, burst[i].calls);
        cr_assert_eq(burst[i].status, REDISCONN_ERR_CONNECT, "acquire %d: %s", i,
                     redisconn_status_name(burst[i].status));
        cr_assert(strstr(burst[i].errmsg, "refused") != NULL, "acquire %d: \"%s\"", i,
                  burst[i].errmsg);
    }
    cr_assert_lt(took, 1000, "failing %d acquires took %lld ms: not fast", BURST, (long long)took);
    close_pool_expect_freed();
}

/* ---- steady load through kill -9 and restart ----------------------------- */

typedef struct outage {
    rt_load *load;
    uint64_t dials_during; /* dials from the kill to the restart */
    uint64_t requests_during;
    uint64_t fast_failed_during;
    int64_t recovery_ms; /* restart (server answering) -> first request served */
} outage;

enum { OUTAGE_MS = 1500 };

static void steady_load_through_an_outage(outage *out)
{
    redisconn_pool_options *o = given_options();
    rt_load_opts lo = {.leased = 128, .pooled = 4, .acquire_timeout_ms = 1000, .pause_ms = 1};
    redisconn_pool_stats st0, st1;
    uint64_t ok0, req0;
    int64_t t_restart;

    o->max_active = 64;
    o->connect_timeout_ms = 1000;
    o->command_timeout_ms = 1000;
    given_pool(o);
    out->load = rt_load_start(env.pool, env.base, &lo);
    rt_await(env.base, out->load->ok >= 200, 3000); /* traffic on every connection */

    rt_server_kill(env.srv);
    st0 = pool_stats();
    req0 = out->load->ok + out->load->failed;
    rt_load_reset_latency(out->load);
    /* Deliberate: the outage lasts OUTAGE_MS; the point is what the pool
     * does meanwhile under steady load. */
    rt_loop_quiet(env.base, OUTAGE_MS);
    st1 = pool_stats();
    out->dials_during = st1.dials - st0.dials;
    out->requests_during = out->load->ok + out->load->failed - req0;
    out->fast_failed_during = st1.fast_failed - st0.fast_failed;

    rt_server_restart(env.srv);
    t_restart = rt_now_ms();
    ok0 = out->load->ok;
    rt_await(env.base, out->load->ok > ok0, o->dial_backoff_max_ms + 1000);
    out->recovery_ms = out->load->last_ok_ms - t_restart;
    fprintf(stderr,
            "outage %d ms: %llu requests, %llu dials, %llu fast-failed, avg failure %.2f ms, "
            "max failure %lld ms; recovery %lld ms after the restart\n",
            OUTAGE_MS, (unsigned long long)out->requests_during,
            (unsigned long long)out->dials_during, (unsigned long long)out->fast_failed_during,
            out->load->fail_count ? (double)out->load->fail_sum_ms / (double)out->load->fail_count
                                  : 0.0,
            (long long)out->load->max_fail_ms, (long long)out->recovery_ms);
    rt_load_drain(out->load, 3000);
    rt_load_check(out->load);
}

static void finish_outage(outage *out)
{
    rt_load_free(out->load);
    close_pool_expect_freed();
}

Test(fault_outage, outage_under_steady_load_costs_a_handful_of_dials_not_one_per_request)
{
    outage out;
    steady_load_through_an_outage(&out);
    cr_assert_geq(out.requests_during, 200, "only %llu requests during the outage",
                  (unsigned long long)out.requests_during);
    cr_assert_leq(out.dials_during, 10, "%llu dials during a %d ms outage",
                  (unsigned long long)out.dials_during, OUTAGE_MS);
    finish_outage(&out);
}

Test(fault_outage, requests_during_an_outage_fail_fast_with_the_dial_error)
{
    outage out;
    steady_load_through_an_outage(&out);
    cr_assert_gt(out.fast_failed_during, 0);
    cr_assert_gt(rt_load_count(out.load, REDISCONN_ERR_CONNECT), 100);
    cr_assert_eq(rt_load_count(out.load, REDISCONN_ERR_TIMEOUT), 0,
                 "nothing waits for a dial that will not come");
    cr_assert_lt((double)out.load->fail_sum_ms / (double)out.load->fail_count, 20.0,
                 "failures are fast on average");
    finish_outage(&out);
}

Test(fault_outage, pool_serves_again_within_the_backoff_cap_after_a_restart)
{
    outage out;
    steady_load_through_an_outage(&out);
    cr_assert_leq(out.recovery_ms, given_options()->dial_backoff_max_ms + 500,
                  "first request served %lld ms after the restart", (long long)out.recovery_ms);
    finish_outage(&out);
}
