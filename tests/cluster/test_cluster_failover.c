/* SPDX-License-Identifier: BSD-3-Clause */
/* test_cluster_failover.c — masters failing over under load, each test on a
 * cluster of its own (node timeout 1000 ms): CLUSTER FAILOVER on a replica
 * (followed through MOVED, no command lost), kill -9 of a master (commands
 * to its slots fail for a bounded time, then go to the promoted replica),
 * and a master that stops answering (timeouts make it suspect and refresh
 * the map from the other nodes). Every callback exactly once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "redisconn/cluster.h"
#include "support/cluster_support.h"
#include "support/pool_support.h"

static rt_cluster rc;
static struct event_base *base;
static redisconn_cluster *cl;

static void setup(void)
{
    base = event_base_new();
    rt_cluster_start(&rc);
}

static void teardown(void)
{
    rt_cluster_suite_end(&base, &rc, &cl);
}

TestSuite(cluster_failover, .init = setup, .fini = teardown, .timeout = 120);

static void given_client(void)
{
    redisconn_cluster_options o;
    rt_reply r = {0};
    redisconn_cluster_options_init(&o);
    o.pool.command_timeout_ms = 2000;
    cl = rt_cluster_client(base, &rc, NULL, &o);
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
}

/* ---- a closed-loop load: INCR of keys on every master ---------------------- */

enum { MAX_OPS = 400000, IN_FLIGHT = 32, KEYS = 64 };

typedef struct op {
    int calls, status; /* status -1: an error reply */
    int64_t sent_ms;   /* when it was issued */
    int64_t at_ms;     /* when it called back */
} op;

static op *ops;
static int issued, done, stop_issuing;
static char keys[KEYS][40];
static int on_victim[KEYS];   /* the key is on the master that fails */
static long long acked[KEYS]; /* INCRs acknowledged per key */
static int64_t killed_at;     /* when the master failed (0: not yet) */
static int first_back = -1;   /* the first command on its slots that succeeded after */
static char last_error[80];   /* the first error reply */

static void issue(void);

static void on_incr(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    op *o = arg;
    (void)conn;
    o->calls++;
    if (status == REDISCONN_OK && reply->type == REDIS_REPLY_INTEGER)
        o->status = 0;
    else
        o->status = status != REDISCONN_OK ? status : -1;
    if (status == REDISCONN_OK && reply->type == REDIS_REPLY_ERROR && last_error[0] == '\0')
        snprintf(last_error, sizeof(last_error), "%s", reply->str);
    o->at_ms = rt_now_ms();
    if (o->status == 0) acked[(o - ops) % KEYS]++;
    if (o->status == 0 && killed_at && o->sent_ms > killed_at && first_back < 0 &&
        on_victim[(o - ops) % KEYS])
        first_back = (int)(o - ops);
    done++;
    issue();
}

static void issue(void)
{
    while (!stop_issuing && issued < MAX_OPS && issued - done < IN_FLIGHT) {
        int i = issued++;
        ops[i].sent_ms = rt_now_ms();
        cr_assert_eq(redisconn_cluster_command(cl, 0, on_incr, &ops[i], "INCR %s", keys[i % KEYS]),
                     REDISCONN_OK);
    }
}

/* Keys spread over the masters; on_victim notes those on master `m`. */
static void given_load_keys(int m)
{
    ops = calloc(MAX_OPS, sizeof(*ops));
    for (int k = 0; k < KEYS; k++) {
        snprintf(keys[k], sizeof(keys[k]), "fo:%d", k);
        on_victim[k] =
            rt_cluster_master_index(&rc, redisconn_cluster_keyslot(keys[k], strlen(keys[k]))) == m;
    }
}

/* Stops the load and checks that every command called back exactly once. */
static void drain_load(void)
{
    stop_issuing = 1;
    rt_await(base, done == issued, 20000);
    rt_loop_quiet(base, 20); /* a second callback would come now */
    for (int i = 0; i < issued; i++)
        cr_assert_eq(ops[i].calls, 1, "command %d called back %d times", i, ops[i].calls);
}

/* The value of every key equals its acknowledged INCRs, give or take the
 * commands that failed without knowing whether they ran (IO, TIMEOUT). */
static void expect_no_acknowledged_write_lost(int unknown)
{
    long long total = 0, seen = 0;
    for (int k = 0; k < KEYS; k++) {
        int port = rt_cluster_slot_owner(&rc, redisconn_cluster_keyslot(keys[k], strlen(keys[k])));
        redisReply *x = rt_cmd(rt_cluster_node_at(&rc, port), "GET %s", keys[k]);
        long long v = x->type == REDIS_REPLY_STRING ? atoll(x->str) : 0;
        freeReplyObject(x);
        total += acked[k];
        seen += v;
        cr_assert_geq(v, acked[k] - unknown, "key %s: %lld of %lld acknowledged INCRs", keys[k], v,
                      acked[k]);
    }
    cr_assert_leq(seen, total + unknown);
}

Test(cluster_failover, a_manual_failover_is_followed_without_losing_a_command)
{
    int m = rt_cluster_master_index(&rc, 0), replica = rt_cluster_replica_of(&rc, m), failed = 0;
    int at;
    redisconn_cluster_stats st;
    cr_assert_geq(replica, 0);
    given_client();
    given_load_keys(m);
    issue();
    rt_await(base, done >= 500, 10000);
    rt_cluster_ok(&rc, replica, "CLUSTER FAILOVER");
    rt_await(base, rt_cluster_slot_owner(&rc, 0) == rc.node[replica]->port, 10000);
    rt_await(base, rt_cluster_stats(cl).moved > 0, 10000);
    at = done;
    rt_await(base, done >= at + 2000, 10000); /* and on, on the new master */
    drain_load();
    for (int i = 0; i < issued; i++) {
        if (ops[i].status != 0 && failed++ < 3)
            printf("command %d failed: %s\n", i, redisconn_status_name(ops[i].status));
    }
    st = rt_cluster_stats(cl);
    printf("manual failover under load: %d commands, %d failed, %llu MOVED, %llu refreshes\n",
           issued, failed, (unsigned long long)st.moved, (unsigned long long)st.refreshes);
    cr_assert_eq(failed, 0, "a coordinated failover loses no command");
    rt_await(base, rt_cluster_stats(cl).masters == 3 && rt_cluster_stats(cl).nodes == 3, 5000);
    expect_no_acknowledged_write_lost(0);
}

Test(cluster_failover, a_killed_master_is_replaced_within_a_bounded_time)
{
    int m = rt_cluster_master_index(&rc, 0), replica = rt_cluster_replica_of(&rc, m);
    int failed = 0, unknown = 0, elsewhere = 0, at;
    int64_t back_ms;
    redisconn_cluster_stats before, st;
    cr_assert_geq(replica, 0);
    given_client();
    given_load_keys(m);
    issue();
    rt_await(base, done >= 500, 10000);
    before = rt_cluster_stats(cl);
    rt_server_kill(rc.node[m]);
    killed_at = rt_now_ms(); /* (dead by now: kill waits for the exit) */
    /* the replica takes over; the client finds it and its slots work again */
    rt_await(base, first_back >= 0, 15000);
    back_ms = ops[first_back].at_ms - killed_at;
    at = done;
    rt_await(base, done >= at + 2000, 10000); /* and on */
    drain_load();
    for (int i = 0; i < issued; i++) {
        if (ops[i].status == 0) continue;
        failed++;
        unknown += ops[i].status == REDISCONN_ERR_IO || ops[i].status == REDISCONN_ERR_TIMEOUT;
        elsewhere += !on_victim[i % KEYS]; /* CLUSTERDOWN: every node, until the promotion */
        cr_assert_leq(ops[i].at_ms, killed_at + back_ms + 1000,
                      "command %d failed (%s) %lld ms after the kill, after the slots were back", i,
                      redisconn_status_name(ops[i].status), (long long)(ops[i].at_ms - killed_at));
    }
    st = rt_cluster_stats(cl);
    printf("kill -9 of a master under load: %d commands, %d failed (%d may have run, %d on the "
           "other masters; first error reply: %s), its slots served again after %lld ms, "
           "%llu refreshes\n",
           issued, failed, unknown, elsewhere, last_error[0] ? last_error : "none",
           (long long)back_ms, (unsigned long long)(st.refreshes - before.refreshes));
    cr_assert_lt(back_ms, 10000, "the promoted replica was found within 10 s");
    cr_assert_gt(st.refreshes, before.refreshes, "the failures refreshed the map");
    /* the last MOVED scheduled a refresh: the dead master leaves the map */
    rt_await(base, rt_cluster_stats(cl).masters == 3 && rt_cluster_stats(cl).nodes == 3, 5000);
    cr_assert_eq(rt_cluster_slot_owner(&rc, 0), rc.node[replica]->port);
    expect_no_acknowledged_write_lost(unknown);
}

static int refreshed(void *arg)
{
    return rt_cluster_stats(cl).refreshes > ((redisconn_cluster_stats *)arg)->refreshes;
}

Test(cluster_failover, a_master_that_stops_answering_is_suspect_and_refreshes_the_map)
{
    char tag[32];
    int m = rt_cluster_master_index(&rc, 0);
    rt_reply r = {0};
    redisconn_cluster_stats before;
    given_client();
    rt_cluster_tag_on(&rc, m, "stall", tag);
    before = rt_cluster_stats(cl);
    rt_server_pause(rc.node[m]);
    cr_assert_eq(redisconn_cluster_command(cl, 200, rt_reply_cb, &r, "GET {%s}", tag),
                 REDISCONN_OK);
    rt_await(base, r.calls == 1, 2000);
    cr_assert_eq(r.status, REDISCONN_ERR_TIMEOUT, "%s", redisconn_status_name(r.status));
    /* the refresh asks the other masters first: it completes while m is stopped */
    rt_loop_until_pred(base, refreshed, &before, 1000);
    cr_assert(refreshed(&before), "no refresh within 1 s of the timeout");
    rt_server_resume(rc.node[m]);
    cr_assert_eq(rt_cluster_stats(cl).refresh_errors, 0);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_reply_cb, &r, "SET {%s} back", tag),
                 REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
    cr_assert_str_eq(r.str, "OK", "the node answers again");
}
