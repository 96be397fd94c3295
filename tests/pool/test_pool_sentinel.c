/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_sentinel.c — a pool that finds its master through Sentinel:
 * discovery (URL and options forms), following a failover, and the
 * failures that must say why (unknown name, no sentinel reachable). Real
 * master, replica and three sentinels (support/sentinel_support.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"
#include "support/sentinel_support.h"

static rt_sentinel_env sent;

static void setup(void)
{
    given_base();
    rt_sentinels_start(&sent, NULL);
}

static void teardown(void)
{
    rt_env_teardown();
    rt_sentinels_stop(&sent);
}

TestSuite(pool_sentinel, .init = setup, .fini = teardown, .timeout = 60);

Test(pool_sentinel, a_sentinel_url_leads_to_the_master)
{
    given_pool_at(sent.url, given_options());
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    redisconn_release(c);
}

Test(pool_sentinel, the_options_form_leads_to_the_master)
{
    redisconn_pool_options *o = given_options();
    o->sentinel_master = "mymaster";
    given_pool_at(sent.addrs, o);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    redisconn_release(c);
}

Test(pool_sentinel, a_failover_moves_new_connections_to_the_new_master)
{
    rt_reply r;
    given_pool_at(sent.url, given_options());
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    redisconn_release(c);
    rt_await(env.base, strstr(env.log.buf, "opening new") != NULL, 100);
    rt_sentinels_failover(&sent, 20000);
    rt_await(env.base, pool_stats().failovers == 1, 5000);
    cr_assert(strstr(env.log.buf, "master of mymaster moved from") != NULL, "%s", env.log.buf);
    cr_assert_eq(pool_stats().idle_count, 0, "the idle connection to the old master closed");
    c = rt_acquire_eventually(&env, 5000, NULL);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    rt_command_wait(&env, c, &r, "SET %s %s", "after", "failover");
    cr_assert_str_eq(r.str, "OK");
    redisconn_release(c);
}

Test(pool_sentinel, an_unknown_master_name_fails_with_resolve_and_says_so)
{
    char url[256];
    rt_acq a = {0};
    snprintf(url, sizeof(url), "sentinel://%s/nosuchmaster", sent.addrs);
    given_pool_at(url, NULL);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &a));
    cr_assert(rt_wait_acq(&env, &a, 6000));
    cr_assert_eq(a.status, REDISCONN_ERR_RESOLVE, "got %s", redisconn_status_name(a.status));
    cr_assert(strstr(a.errmsg, "nosuchmaster") != NULL, "%s", a.errmsg);
}

Test(pool_sentinel, a_sentinel_down_at_start_is_skipped)
{
    char url[256];
    snprintf(url, sizeof(url), "sentinel://127.0.0.1:%d,%s/mymaster", rt_free_port(), sent.addrs);
    given_pool_at(url, NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    redisconn_release(c);
}

/* The subscribed sentinel (the first given) stops answering (SIGSTOP: no
 * FIN); the pool notices by its health-check PING, subscribes on another and
 * hears the switch there, without any command of its own. */
Test(pool_sentinel, a_silent_subscribed_sentinel_is_replaced_and_the_switch_still_heard)
{
    redisconn_pool_options *o = given_options();
    redisconn_conn *c;
    o->sentinel_timeout_ms = 300;
    given_pool_at(sent.url, o);
    c = rt_acquire_ok(&env);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    redisconn_release(c);
    rt_loop_quiet(env.base, 300); /* subscribed to sentinel 0 */
    rt_sentinels_pause(&sent, 0);
    rt_sentinels_failover_begin(&sent, 1);
    rt_await(env.base, pool_stats().failovers == 1, 15000);
    cr_assert_eq(pool_stats().idle_count, 0, "the idle connection to the old master closed");
    rt_sentinels_failover_end(&sent, 20000);
    c = rt_acquire_ok(&env);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    redisconn_release(c);
    rt_sentinels_resume(&sent, 0);
}

/* The switch is announced while the pool listens to a silent sentinel (its
 * PING allowed 5 s): when the pool subscribes again elsewhere, it asks for
 * the master and finds the switch it did not hear. */
Test(pool_sentinel, a_switch_announced_while_unsubscribed_is_found_on_resubscribing)
{
    redisconn_pool_options *o = given_options();
    redisconn_conn *c;
    o->sentinel_timeout_ms = 5000;
    given_pool_at(sent.url, o);
    c = rt_acquire_ok(&env);
    redisconn_release(c);
    rt_loop_quiet(env.base, 300); /* subscribed to sentinel 0 */
    rt_sentinels_pause(&sent, 0);
    rt_sentinels_failover_begin(&sent, 1);
    rt_sentinels_failover_end(&sent, 20000); /* blocks: announced before the pool can notice */
    cr_assert_eq(pool_stats().failovers, 0);
    rt_await(env.base, pool_stats().failovers == 1, 30000);
    c = rt_acquire_ok(&env);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    redisconn_release(c);
    rt_sentinels_resume(&sent, 0);
}

/* ROLE of `srv` says "slave". */
static int is_replica(rt_server *srv)
{
    redisReply *r = rt_cmd(srv, "ROLE");
    int yes = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
              r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "slave") == 0;
    if (r) freeReplyObject(r);
    return yes;
}

/* Given only sentinel 0, the pool learns the others (SENTINEL sentinels):
 * with sentinel 0 silent (SIGSTOP) through a failover, the READONLY of the
 * demoted master sends the pool to a sentinel it learned, which names the
 * new master. */
Test(pool_sentinel, sentinels_it_was_not_given_are_learned_and_asked)
{
    char url[128];
    rt_reply r = {0};
    redisconn_pool_options *o = given_options();
    redisconn_conn *c;
    snprintf(url, sizeof(url), "sentinel://127.0.0.1:%d/mymaster", sent.sentinel[0]->port);
    o->sentinel_timeout_ms = 300;
    given_pool_at(url, o);
    c = rt_acquire_ok(&env);
    redisconn_release(c);
    rt_loop_quiet(env.base, 300); /* the SENTINEL sentinels reply arrives */
    rt_sentinels_pause(&sent, 0);
    rt_sentinels_failover_begin(&sent, 1);
    rt_sentinels_failover_end(&sent, 20000);
    for (int i = 0; i < 100 && !is_replica(sent.replica); i++)
        rt_loop_quiet(env.base, 100); /* until the sentinels demote the old master */
    for (int i = 0; i < 50; i++) {    /* READONLY until the pool asked again */
        c = rt_acquire_eventually(&env, 5000, NULL);
        memset(&r, 0, sizeof(r));
        rt_command_wait(&env, c, &r, "SET %s %s", "learned", "yes");
        if (r.type == REDIS_REPLY_STATUS) break;
        redisconn_release(c);
        c = NULL;
        rt_loop_quiet(env.base, 100);
    }
    cr_assert_not_null(c, "no write succeeded after the failover: %s", r.str);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    redisconn_release(c);
    rt_sentinels_resume(&sent, 0);
}

Test(pool_sentinel, no_sentinel_reachable_fails_clearly_and_backs_off)
{
    static rt_acq a[20];
    char url[128];
    snprintf(url, sizeof(url), "sentinel://127.0.0.1:%d,127.0.0.1:%d/mymaster", rt_free_port(),
             rt_free_port());
    given_pool_at(url, NULL);
    for (int i = 0; i < 20; i++)
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 2000, rt_acq_cb, &a[i]));
    for (int i = 0; i < 20; i++) {
        cr_assert(rt_wait_acq(&env, &a[i], 4000));
        cr_assert_neq(a[i].status, REDISCONN_OK);
    }
    cr_assert(strstr(a[0].errmsg, "no sentinel answered") != NULL, "%s", a[0].errmsg);
    cr_assert_leq(pool_stats().dials, 3, "%llu dials", (unsigned long long)pool_stats().dials);
}

Test(pool_sentinel, the_pool_recovers_when_a_sentinel_comes_back)
{
    rt_acq a = {0};
    redisconn_conn *c;
    for (int i = 0; i < sent.nsentinels; i++)
        rt_server_stop(sent.sentinel[i]);
    given_pool_at(sent.url, given_options());
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 2000, rt_acq_cb, &a));
    cr_assert(rt_wait_acq(&env, &a, 4000));
    cr_assert_neq(a.status, REDISCONN_OK);
    cr_assert(strstr(a.errmsg, "no sentinel answered") != NULL, "%s", a.errmsg);
    rt_server_restart(sent.sentinel[1]);
    c = rt_acquire_eventually(&env, 5000, NULL);
    cr_assert_eq(rt_lease_port(&env, c), sent.master->port);
    redisconn_release(c);
}
