/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_sentinel_role.c — the ROLE check of every master dial, against a
 * real master and a real replica and a fake sentinel (support/fake_sentinel.h)
 * that names whichever of the two the test says: a real sentinel names a
 * replica only for a moment during a failover. A dial to the replica fails
 * with NOT_MASTER saying so, makes the pool ask again without a dial storm,
 * and the pool follows the next answer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/fake_sentinel.h"
#include "support/pool_fixture.h"

static rt_server *master, *replica;
static rt_fake_sentinel *fake;
static char url[128];

static void setup(void)
{
    rt_server_opts ro = {0};
    char replicaof[32];
    given_base();
    master = rt_server_start(NULL);
    snprintf(replicaof, sizeof(replicaof), "127.0.0.1 %d", master->port);
    ro.extra[0] = "--replicaof";
    ro.extra[1] = replicaof;
    replica = rt_server_start(&ro);
    fake = rt_fake_sentinel_start(replica->port);
    snprintf(url, sizeof(url), "sentinel://%s/mymaster", rt_fake_sentinel_addr(fake));
    env.fds_before = rt_count_fds();
}

static void teardown(void)
{
    rt_env_teardown();
    rt_fake_sentinel_stop(fake);
    rt_server_free(replica);
    rt_server_free(master);
}

TestSuite(pool_sentinel_role, .init = setup, .fini = teardown, .timeout = 30);

Test(pool_sentinel_role, a_sentinel_naming_a_replica_fails_the_dial_with_not_master)
{
    rt_acq a = {0};
    char want[160];
    given_pool_at(url, given_options());
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 3000, rt_acq_cb, &a));
    cr_assert(rt_wait_acq(&env, &a, 4000));
    cr_assert_eq(a.status, REDISCONN_ERR_NOT_MASTER, "got %s: %s", redisconn_status_name(a.status),
                 a.errmsg);
    snprintf(want, sizeof(want), "%s is not the master (ROLE: slave)", replica->addr);
    cr_assert(strstr(a.errmsg, want) != NULL, "%s", a.errmsg);
    cr_assert_eq(pool_stats().last_dial_status, REDISCONN_ERR_NOT_MASTER);
}

/* One acquire every 10 ms for 2 s: the dials back off, and each one asks
 * the sentinel again first (its answer may have changed). */
Test(pool_sentinel_role, a_role_mismatch_asks_again_without_a_dial_storm)
{
    static rt_acq a[200];
    int64_t end;
    int i = 0;
    redisconn_pool_stats st;
    given_pool_at(url, given_options());
    for (end = rt_now_ms() + 2000; rt_now_ms() < end && i < 200; i++) {
        cr_assert_not_null(redisconn_pool_acquire(env.pool, 1000, rt_acq_cb, &a[i]));
        rt_loop_quiet(env.base, 10); /* the pacing of the requests is the point */
    }
    for (int j = 0; j < i; j++) {
        cr_assert(rt_wait_acq(&env, &a[j], 3000));
        cr_assert_eq(a[j].calls, 1);
        cr_assert_neq(a[j].status, REDISCONN_OK);
    }
    st = pool_stats();
    cr_assert_geq(st.dials, 3, "%llu dials", (unsigned long long)st.dials);
    cr_assert_leq(st.dials, 10, "%llu dials for %d acquires in 2 s: a storm",
                  (unsigned long long)st.dials, i);
    cr_assert_geq(rt_fake_sentinel_queries(fake), 3, "asked again after a mismatch");
    cr_assert_leq(rt_fake_sentinel_queries(fake), (int)st.dials + 1, "%d queries, %llu dials",
                  rt_fake_sentinel_queries(fake), (unsigned long long)st.dials);
}

Test(pool_sentinel_role, after_a_role_mismatch_the_pool_dials_the_master_named_next)
{
    rt_acq a = {0};
    rt_reply r = {0};
    redisconn_conn *c;
    redisReply *g;
    given_pool_at(url, given_options());
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 3000, rt_acq_cb, &a));
    cr_assert(rt_wait_acq(&env, &a, 4000));
    cr_assert_eq(a.status, REDISCONN_ERR_NOT_MASTER);
    rt_fake_sentinel_set_master(fake, master->port);
    c = rt_acquire_eventually(&env, 5000, NULL);
    rt_command_wait(&env, c, &r, "SET %s %s", "role", "checked");
    cr_assert_str_eq(r.str, "OK");
    redisconn_release(c);
    g = rt_cmd(master, "GET role");
    cr_assert(g && g->type == REDIS_REPLY_STRING && strcmp(g->str, "checked") == 0);
    freeReplyObject(g);
}
