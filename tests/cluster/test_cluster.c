/* SPDX-License-Identifier: BSD-3-Clause */
/* test_cluster.c — the cluster client against a real 3-master, 3-replica
 * Redis Cluster: slots as the server computes them, routing of many keys to
 * their owners, hash tags, refusals before anything is sent, leases by key,
 * broadcasts, and no seed reachable. */
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
static int closed;

static void setup(void)
{
    base = event_base_new();
    rt_cluster_start(&rc);
}

static void on_closed(redisconn_cluster *c, void *arg)
{
    (void)c;
    ++*(int *)arg;
}

/* Closes the cluster and asserts the close callback fired once. */
static void close_cluster(void)
{
    if (cl == NULL) return;
    cr_assert_eq(redisconn_cluster_close(cl, on_closed, &closed), REDISCONN_OK);
    cr_assert_eq(closed, 0, "close called back inside the call");
    cl = NULL;
    rt_await(base, closed == 1, 5000);
    rt_loop_quiet(base, 10); /* a second close callback would come now */
    cr_assert_eq(closed, 1);
}

static void teardown(void)
{
    close_cluster();
    rt_cluster_stop(&rc);
    event_base_free(base);
}

TestSuite(cluster, .init = setup, .fini = teardown, .timeout = 90);

static redisconn_cluster *given_cluster(const char *seeds)
{
    redisconn_error err;
    cl = redisconn_cluster_new(base, seeds ? seeds : rc.seeds, NULL, &err);
    cr_assert_not_null(cl, "%s", err.message);
    return cl;
}

/* Runs one cluster command to completion. */
static void run(rt_reply *r, const char *fmt, const char *key, const char *val)
{
    memset(r, 0, sizeof(*r));
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_reply_cb, r, fmt, key, val), REDISCONN_OK);
    rt_await(base, r->calls == 1, 5000);
}

Test(cluster, keyslot_matches_the_servers_cluster_keyslot)
{
    static const char *keys[] = {"", "a", "foo", "user:1000", "{user}:1", "x{}y", "{}", "a{b}c{d}"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        redisReply *r = rt_cmd(rc.node[0], "CLUSTER KEYSLOT %s", keys[i]);
        cr_assert_eq(redisconn_cluster_keyslot(keys[i], strlen(keys[i])), r->integer, "%s",
                     keys[i]);
        freeReplyObject(r);
    }
}

Test(cluster, every_key_is_written_on_the_master_owning_its_slot)
{
    enum { N = 300 };
    static rt_reply r[N];
    static char keys[N][16];
    given_cluster(NULL);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        cr_assert_eq(
            redisconn_cluster_command(cl, 0, rt_reply_cb, &r[i], "SET %s %s", keys[i], keys[i]),
            REDISCONN_OK);
    }
    for (int i = 0; i < N; i++) {
        rt_await(base, r[i].calls == 1, 5000);
        cr_assert_eq(r[i].status, REDISCONN_OK, "%s: %s", keys[i],
                     redisconn_status_name(r[i].status));
        cr_assert_str_eq(r[i].str, "OK", "%s", keys[i]);
    }
    for (int i = 0; i < N; i += 7) { /* on the owner itself, without redirection */
        int port = rt_cluster_slot_owner(&rc, redisconn_cluster_keyslot(keys[i], strlen(keys[i])));
        redisReply *x = rt_cmd(rt_cluster_node_at(&rc, port), "GET %s", keys[i]);
        cr_assert_eq(x->type, REDIS_REPLY_STRING, "%s not on %d", keys[i], port);
        freeReplyObject(x);
    }
    redisconn_cluster_stats st;
    redisconn_cluster_get_stats(cl, &st);
    cr_assert_eq(st.moved, 0, "routed by the map, not by redirections");
    cr_assert_eq(st.masters, 3);
    cr_assert_eq(st.slots_covered, 16384);
}

Test(cluster, keys_with_one_hash_tag_go_to_one_slot_together)
{
    rt_reply r;
    given_cluster(NULL);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_reply_cb, &r, "MSET {u1}:a 1 {u1}:b 2"),
                 REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
    cr_assert_str_eq(r.str, "OK");
    run(&r, "GET %s", "{u1}:b", NULL);
    cr_assert_str_eq(r.str, "2");
}

Test(cluster, keys_in_different_slots_are_refused_before_sending)
{
    given_cluster(NULL);
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_never_reply_cb, NULL, "MSET a 1 b 2"),
                 REDISCONN_ERR_CROSSSLOT);
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_never_reply_cb, NULL, "DEL a b c"),
                 REDISCONN_ERR_CROSSSLOT);
}

Test(cluster, commands_wrong_on_one_node_are_refused)
{
    given_cluster(NULL);
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_never_reply_cb, NULL, "FLUSHALL"),
                 REDISCONN_ERR_CLUSTER);
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_never_reply_cb, NULL, "KEYS *"),
                 REDISCONN_ERR_CLUSTER);
}

static void on_bcast(redisconn_cluster *c, int nodes, int failed, const char *errmsg, void *arg)
{
    int *out = arg;
    (void)c;
    (void)errmsg;
    out[0]++;
    out[1] = nodes;
    out[2] = failed;
}

Test(cluster, a_broadcast_reaches_every_master_once)
{
    int got[3] = {0};
    rt_reply r;
    given_cluster(NULL);
    run(&r, "SET %s %s", "before", "flush"); /* the map is in */
    cr_assert_eq(redisconn_cluster_broadcast(cl, 0, on_bcast, got, "FLUSHALL"), REDISCONN_OK);
    rt_await(base, got[0] == 1, 5000);
    rt_loop_quiet(base, 20); /* a second callback would come now */
    cr_assert_eq(got[0], 1);
    cr_assert_eq(got[1], 3);
    cr_assert_eq(got[2], 0);
    run(&r, "GET %s", "before", NULL);
    cr_assert_eq(r.type, REDIS_REPLY_NIL);
}

Test(cluster, a_lease_by_key_is_on_the_keys_master)
{
    rt_acq a = {0};
    rt_reply r, w;
    given_cluster(NULL);
    run(&w, "SET %s %s", "leased", "v"); /* the map is in */
    cr_assert_not_null(redisconn_cluster_acquire(cl, "leased", 6, 5000, rt_acq_cb, &a));
    rt_await(base, a.calls == 1, 5000);
    cr_assert_eq(a.status, REDISCONN_OK);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_command(a.conn, rt_reply_cb, &r, "GET leased"), REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
    cr_assert_str_eq(r.str, "v", "not a MOVED: the lease is on the owner");
    redisconn_release(a.conn);
}

Test(cluster, no_seed_reachable_fails_the_command_with_connect)
{
    char seeds[64];
    rt_reply r = {0};
    snprintf(seeds, sizeof(seeds), "127.0.0.1:%d", rt_free_port());
    given_cluster(seeds);
    cr_assert_eq(redisconn_cluster_command(cl, 1000, rt_reply_cb, &r, "GET k"), REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
    cr_assert_neq(r.status, REDISCONN_OK);
}
