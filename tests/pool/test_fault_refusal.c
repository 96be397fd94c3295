/* SPDX-License-Identifier: BSD-3-Clause */
/* test_fault_refusal.c — a server that is up but refuses new connections:
 * full (--maxclients below the pool size), a password set at run time, a
 * database that does not exist. Dials back off (a handful per second, not
 * one per acquire), waiters that a release can serve are served, and the
 * pool opens connections again once the server accepts them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "support/fault_load.h"
#include "support/pool_fixture.h"

TestSuite(fault_refusal, .init = given_base, .fini = rt_env_teardown, .timeout = 30);

static void finish(rt_load *l)
{
    rt_load_drain(l, 3000);
    rt_load_check(l);
    rt_load_free(l);
    close_pool_expect_freed();
}

/* ---- max clients ------------------------------------------------------- */

enum { MAXCLIENTS = 10, FULL_CLIENTS = 128, FULL_MAX_ACTIVE = 64 };

typedef struct full_run {
    rt_load *load;
    uint64_t dials_ramp;     /* dials in the first 500 ms */
    uint64_t dials_measured; /* dials in the measured window */
    double window_s;
} full_run;

/* 128 leased clients against a server of 10 clients, pool max_active 64:
 * after a 500 ms ramp, dials are counted for 2 s. */
static void load_against_a_full_server(full_run *run)
{
    rt_server_opts so = {.maxclients = MAXCLIENTS};
    redisconn_pool_options *o = given_options();
    rt_load_opts lo = {.leased = FULL_CLIENTS, .acquire_timeout_ms = 5000};
    uint64_t d0;
    int64_t t0;
    given_server_with(&so);
    o->max_active = FULL_MAX_ACTIVE;
    given_pool(o);
    run->load = rt_load_start(env.pool, env.base, &lo);
    rt_loop_quiet(env.base, 500); /* deliberate: the ramp (dials at cold start) is not measured */
    d0 = run->dials_ramp = pool_stats().dials;
    t0 = rt_now_ms();
    rt_loop_quiet(env.base, 2000); /* deliberate: dials are counted over a fixed window */
    run->dials_measured = pool_stats().dials - d0;
    run->window_s = (double)(rt_now_ms() - t0) / 1000.0;
    fprintf(stderr,
            "maxclients %d: %llu requests, %llu dials in the ramp, then %llu dials in %.1f s "
            "(%.1f/s), %d open\n",
            MAXCLIENTS, (unsigned long long)run->load->ok, (unsigned long long)d0,
            (unsigned long long)run->dials_measured, run->window_s,
            (double)run->dials_measured / run->window_s,
            pool_stats().active_count - pool_stats().dialing_count);
    rt_load_drain(run->load, 6000);
}

Test(fault_refusal, full_server_serves_every_acquire_from_the_connections_it_has)
{
    full_run run;
    load_against_a_full_server(&run);
    cr_assert_gt(run.load->ok, 1000);
    cr_assert_eq(run.load->failed, 0, "%llu requests failed, e.g. %s",
                 (unsigned long long)run.load->failed, run.load->last_errmsg);
    finish(run.load);
}

Test(fault_refusal, full_server_at_cold_start_costs_a_handful_of_dials_not_one_per_waiter)
{
    full_run run;
    load_against_a_full_server(&run);
    cr_assert_leq(run.dials_ramp, 3 * MAXCLIENTS, "%llu dials to open %d connections",
                  (unsigned long long)run.dials_ramp, MAXCLIENTS);
    finish(run.load);
}

Test(fault_refusal, full_server_costs_a_handful_of_dials_per_second)
{
    full_run run;
    load_against_a_full_server(&run);
    cr_assert_leq((double)run.dials_measured / run.window_s, 5.0, "%llu dials in %.1f s",
                  (unsigned long long)run.dials_measured, run.window_s);
    cr_assert_eq(pool_stats().last_dial_status, REDISCONN_ERR_CONNECT);
    finish(run.load);
}

/* ---- requirepass set and cleared at run time --------------------------- */

/* Two connections are open when the server starts requiring a password the
 * pool does not have; four leased clients then need more than two. Runs
 * 1 s of that; returns the dials made meanwhile. */
static uint64_t load_after_requirepass_is_set(rt_load **out)
{
    redisconn_pool_options *o = given_options();
    rt_load_opts lo = {.leased = 4, .acquire_timeout_ms = 2000};
    redisconn_conn *a, *b;
    redisReply *r;
    uint64_t d0;
    given_server_with(NULL);
    o->max_active = 8;
    given_pool(o);
    a = rt_acquire_ok(&env);
    b = rt_acquire_ok(&env);
    redisconn_release(a);
    redisconn_release(b);
    r = rt_cmd(env.srv, "CONFIG SET requirepass %s", "s3cret");
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "CONFIG SET requirepass");
    freeReplyObject(r);
    env.srv->opts.requirepass = "s3cret"; /* rt_cmd authenticates from now on */
    d0 = pool_stats().dials;
    *out = rt_load_start(env.pool, env.base, &lo);
    rt_loop_quiet(env.base, 1000); /* deliberate: dials are counted over a fixed window */
    fprintf(stderr, "requirepass: %llu requests, %llu failed, %llu dials in 1 s, %d open\n",
            (unsigned long long)(*out)->ok, (unsigned long long)(*out)->failed,
            (unsigned long long)(pool_stats().dials - d0),
            pool_stats().active_count - pool_stats().dialing_count);
    return pool_stats().dials - d0;
}

Test(fault_refusal, requirepass_set_at_run_time_fails_new_dials_with_auth)
{
    rt_load *l;
    cr_assert_geq(load_after_requirepass_is_set(&l), 1);
    cr_assert_eq(pool_stats().last_dial_status, REDISCONN_ERR_AUTH);
    cr_assert_eq(pool_stats().dial_errors,
                 pool_stats().dials - 2 - (uint64_t)pool_stats().dialing_count,
                 "every dial after the first two failed (or is in flight)");
    finish(l);
}

Test(fault_refusal, requirepass_set_at_run_time_leaves_existing_connections_serving)
{
    rt_load *l;
    load_after_requirepass_is_set(&l);
    cr_assert_gt(l->ok, 500);
    cr_assert_eq(l->failed, 0, "%llu requests failed, e.g. %s", (unsigned long long)l->failed,
                 l->last_errmsg);
    cr_assert_eq(pool_stats().active_count - pool_stats().dialing_count, 2, "no new connection");
    finish(l);
}

Test(fault_refusal, requirepass_set_at_run_time_makes_dials_back_off)
{
    rt_load *l;
    uint64_t dials = load_after_requirepass_is_set(&l);
    cr_assert_leq(dials, 6, "%llu dials in 1 s", (unsigned long long)dials);
    finish(l);
}

Test(fault_refusal, requirepass_cleared_lets_the_pool_open_connections_again)
{
    rt_load *l;
    redisReply *r;
    int64_t t0;
    load_after_requirepass_is_set(&l);
    r = rt_cmd(env.srv, "CONFIG SET requirepass %s", "");
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "CONFIG SET requirepass \"\"");
    freeReplyObject(r);
    env.srv->opts.requirepass = NULL;
    t0 = rt_now_ms();
    rt_await(env.base, pool_stats().active_count - pool_stats().dialing_count > 2,
             given_options()->dial_backoff_max_ms + 500);
    fprintf(stderr, "requirepass cleared: a new connection after %lld ms\n",
            (long long)(rt_now_ms() - t0));
    cr_assert_eq(pool_stats().server_down, 0);
    cr_assert_eq(pool_stats().last_dial_status, 0, "the episode is over");
    finish(l);
}

/* ---- a database that does not exist ------------------------------------ */

/* One client acquires every 3 ms or so for 1 s from a pool on db 99 (the server
 * has 16). Returns the dials. */
static uint64_t acquires_on_a_missing_db(rt_load **out)
{
    redisconn_pool_options *o = given_options();
    rt_load_opts lo = {.leased = 1, .fail_pause_ms = 3};
    given_server_with(NULL);
    o->db = 99;
    given_pool(o);
    *out = rt_load_start(env.pool, env.base, &lo);
    rt_loop_quiet(env.base, 1000); /* deliberate: dials are counted over a fixed window */
    rt_load_drain(*out, 1000);
    fprintf(stderr, "db 99: %llu acquires, %llu dials, %llu fast-failed\n",
            (unsigned long long)(*out)->failed, (unsigned long long)pool_stats().dials,
            (unsigned long long)pool_stats().fast_failed);
    return pool_stats().dials;
}

Test(fault_refusal, missing_db_costs_one_dial_per_backoff_period_not_one_per_acquire)
{
    rt_load *l;
    uint64_t dials = acquires_on_a_missing_db(&l);
    cr_assert_geq(l->failed, 50, "only %llu acquires", (unsigned long long)l->failed);
    cr_assert_leq(dials, 8, "%llu dials for %llu acquires", (unsigned long long)dials,
                  (unsigned long long)l->failed);
    cr_assert_geq(pool_stats().fast_failed, l->failed - dials, "the others failed fast");
    finish(l);
}

Test(fault_refusal, missing_db_fails_every_acquire_with_select_and_the_server_message)
{
    rt_load *l;
    acquires_on_a_missing_db(&l);
    cr_assert_eq(l->ok, 0);
    cr_assert_eq(rt_load_count(l, REDISCONN_ERR_SELECT), l->failed, "all SELECT");
    cr_assert(strstr(l->last_errmsg, "DB index is out of range") != NULL, "%s", l->last_errmsg);
    finish(l);
}
