/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_sentinel_failover.c — a Sentinel pool under write load through a
 * failover of a real deployment (a master, a replica, three sentinels with
 * down-after 500 ms): SENTINEL FAILOVER with leased writes, with pool-level
 * writes and with both; kill -9 of the master; and a READONLY reply from a
 * demoted master the pool was not told about. Each load test asserts that
 * writes resume on the new master within a bound, that no write acknowledged
 * after the switch was taken by the old master (support/sentinel_load.h says
 * why the check is sound) and that every callback fired exactly once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"
#include "support/sentinel_load.h"
#include "support/sentinel_support.h"

enum {
    PACE_US = 2000,          /* between two writes of one worker */
    RESUME_BOUND_MS = 5000,  /* writes continue on the new master within this after the switch */
    SWITCH_BOUND_MS = 15000, /* the pool hears of the switch within this */
};

static rt_sentinel_env sent;
static rt_sload load;

static void setup(void)
{
    given_base();
    rt_sentinels_start(&sent, NULL);
}

static void teardown(void)
{
    rt_env_teardown();
    rt_sentinels_stop(&sent);
    free(load.ops);
}

TestSuite(pool_sentinel_failover, .init = setup, .fini = teardown, .timeout = 90);

/* A pool on the deployment whose log marks the switch for `load`. */
static void given_loaded_pool(void)
{
    redisconn_pool_options *o = given_options();
    o->log_fn = rt_sload_log_fn;
    o->log_arg = &load;
    o->log_level = REDISCONN_LOG_INFO;
    given_pool_at(sent.url, o);
    rt_sload_init(&load, env.pool, env.base, &env.log);
}

/* Runs the load for `warm_ms`, fails the master over (SENTINEL FAILOVER, or
 * kill -9 when `kill_master`), keeps it running until the pool saw the switch
 * and `after_ms` more, stops it, and checks: callbacks exactly once, the
 * bound, every write acknowledged after the switch on the new master. */
static void run_through_failover(const char *name, int leased, int pooled, int kill_master)
{
    int64_t t0;
    int lost;
    rt_sload_start(&load, leased, pooled, PACE_US);
    rt_await(env.base, load.oks >= 50, 5000);
    t0 = rt_now_ms();
    if (kill_master)
        rt_server_kill(sent.master);
    else
        rt_sentinels_failover_begin(&sent, 0);
    rt_await(env.base, load.switch_seq != 0, SWITCH_BOUND_MS);
    rt_await(env.base, rt_sload_oks_after_switch(&load) >= 50, RESUME_BOUND_MS);
    rt_sload_stop(&load, 5000);
    rt_sload_report(&load, name, t0);
    cr_assert_eq(pool_stats().failovers, 1);
    cr_assert_lt(load.first_ok_after_switch_ms - load.switch_ms, RESUME_BOUND_MS);
    rt_sentinels_failover_end(&sent, 20000);
    lost = rt_sload_expect_post_switch_writes_on(&load, sent.master);
    fprintf(stderr, "[%s] %d writes acknowledged before the switch are not on the new master\n",
            name, lost);
    for (int i = 1; i < RT_SLOAD_STATUSES; i++) {
        int status = -i;
        cr_assert(load.errors[i] == 0 || status == REDISCONN_ERR_CLOSED ||
                      status == REDISCONN_ERR_IO || status == REDISCONN_ERR_CONNECT ||
                      status == REDISCONN_ERR_NOT_MASTER,
                  "%d writes failed with %s", load.errors[i], redisconn_status_name(status));
    }
}

Test(pool_sentinel_failover, leased_writes_continue_on_the_new_master_after_sentinel_failover)
{
    given_loaded_pool();
    run_through_failover("leased", 16, 0, 0);
    cr_assert_eq(load.errors[0], 0, "error replies: %s", load.first_error_reply);
}

Test(pool_sentinel_failover, pool_level_writes_continue_on_the_new_master_after_sentinel_failover)
{
    given_loaded_pool();
    run_through_failover("pool-level", 0, 16, 0);
    cr_assert_eq(load.errors[0], 0, "error replies: %s", load.first_error_reply);
}

Test(pool_sentinel_failover, leased_and_pool_level_writes_together_follow_sentinel_failover)
{
    given_loaded_pool();
    run_through_failover("both", 8, 8, 0);
    cr_assert_eq(load.errors[0], 0, "error replies: %s", load.first_error_reply);
    cr_assert_geq(pool_stats().closed_failover, 1, "connections to the old master retired");
}

Test(pool_sentinel_failover, the_pool_follows_a_master_killed_with_sigkill)
{
    given_loaded_pool();
    run_through_failover("kill -9", 8, 8, 1);
}

/* While the master is dead the dials to it back off (up to 2 s); the switch
 * names another server, so the next dial goes at once, not after the delay
 * earned by the dead one. */
Test(pool_sentinel_failover, a_switch_ends_the_dial_back_off_earned_by_the_dead_master)
{
    given_loaded_pool();
    rt_sload_start(&load, 0, 8, PACE_US);
    rt_await(env.base, load.oks >= 50, 5000);
    rt_server_kill(sent.master);
    rt_await(env.base, load.switch_seq != 0, SWITCH_BOUND_MS);
    cr_assert_gt(pool_stats().dial_errors, 3, "the pool was backing off");
    rt_await(env.base, load.first_ok_after_switch_ms != 0, RESUME_BOUND_MS);
    rt_sload_stop(&load, 5000);
    cr_assert_lt(load.first_ok_after_switch_ms - load.switch_ms, 300,
                 "first write on the new master %lld ms after the switch",
                 (long long)(load.first_ok_after_switch_ms - load.switch_ms));
}

/* Which sentinel the pool follows: the one with a client in SUBSCRIBE. */
static int subscribed_on(int i)
{
    redisReply *r = rt_cmd(sent.sentinel[i], "CLIENT LIST");
    int yes = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "cmd=subscribe") != NULL;
    if (r) freeReplyObject(r);
    return yes;
}

Test(pool_sentinel_failover, a_readonly_reply_makes_the_pool_ask_the_sentinels_again)
{
    redisconn_pool_options *o = given_options();
    redisconn_conn *c;
    redisReply *r;
    rt_reply set = {0};
    rt_server *old;
    o->sentinel_timeout_ms = 300;
    given_pool_at(sent.url, o);
    c = rt_acquire_ok(&env);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    rt_await(env.base, subscribed_on(0), 2000);
    /* The sentinel the pool follows is cut off; the others fail the master
     * over, and the old master is demoted as Sentinel would do some seconds
     * later: the pool is not told, and the lease still points at it. */
    rt_sentinels_pause(&sent, 0);
    rt_sentinels_failover_begin(&sent, 1);
    rt_sentinels_failover_end(&sent, 20000);
    old = sent.replica;
    r = rt_cmd(old, "REPLICAOF 127.0.0.1 %d", sent.master->port);
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "REPLICAOF: %s", r ? r->str : "no reply");
    freeReplyObject(r);
    cr_assert_eq(pool_stats().failovers, 0, "the pool heard nothing yet");

    rt_command_wait(&env, c, &set, "SET %s %s", "on", "old");
    cr_assert_eq(set.type, REDIS_REPLY_ERROR);
    cr_assert(strncmp(set.str, "READONLY", 8) == 0, "%s", set.str);
    rt_await(env.base, pool_stats().failovers == 1, 3000);
    cr_assert(strstr(env.log.buf, "master of mymaster moved from") != NULL, "%s", env.log.buf);
    redisconn_release(c);
    c = rt_acquire_ok(&env);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    redisconn_release(c);
    rt_sentinels_resume(&sent, 0);
}
