/* SPDX-License-Identifier: BSD-3-Clause */
/* test_cluster.c — the cluster client against a real 3-master, 3-replica
 * Redis Cluster that the whole binary shares (rt_cluster_main: the tests
 * only read and write keys of their own): slots as the server computes
 * them, key positions as the server finds them, routing of many keys to
 * their owners, hash tags, refusals before anything is sent, leases by key,
 * broadcasts, a dead seed listed first, no seed reachable, and topology
 * replies with empty and unknown endpoints (a fake node). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cluster/internal.h"
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
    rt_cluster_attach(&rc);
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

TestSuite(cluster, .init = setup, .fini = teardown, .timeout = 60);

int main(int argc, char *argv[])
{
    return rt_cluster_main(argc, argv);
}

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

/* The slot the server finds for `argv` (COMMAND GETKEYS): -1 without keys,
 * REDISCONN_ERR_CROSSSLOT when they are in several slots. */
static int server_slot(int argc, const char **argv)
{
    const char *a[16] = {"COMMAND", "GETKEYS"};
    redisContext *c = redisConnect("127.0.0.1", rc.node[0]->port);
    redisReply *r;
    int slot = -1;
    for (int i = 0; i < argc; i++)
        a[i + 2] = argv[i];
    r = redisCommandArgv(c, argc + 2, a, NULL);
    cr_assert_not_null(r);
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        int s = redisconn_cluster_keyslot(r->element[i]->str, r->element[i]->len);
        if (slot >= 0 && s != slot) slot = REDISCONN_ERR_CROSSSLOT;
        if (slot != REDISCONN_ERR_CROSSSLOT) slot = s;
    }
    freeReplyObject(r);
    redisFree(c);
    return slot;
}

Test(cluster, key_positions_of_the_table_match_command_getkeys)
{
    static const char *cmds[][12] = {
        {"GET", "{a}1"},
        {"SET", "{a}1", "v", "EX", "10"},
        {"MSET", "{a}1", "v", "{a}2", "w"},
        {"MSET", "{a}1", "v", "{b}2", "w"},
        {"MGET", "{a}1", "{b}1"},
        {"DEL", "{a}1", "{a}2", "{a}3"},
        {"RENAME", "{a}1", "{b}1"},
        {"ZUNIONSTORE", "{a}d", "2", "{a}1", "{a}2"},
        {"ZUNIONSTORE", "{b}d", "2", "{a}1", "{a}2"},
        {"ZINTER", "2", "{a}1", "{b}2"},
        {"EVAL", "return 1", "2", "{a}1", "{a}2", "x"},
        {"EVAL", "return 1", "2", "{a}1", "{b}2", "{c}3"},
        {"EVAL", "return 1", "0"},
        {"XREAD", "COUNT", "1", "STREAMS", "{a}s", "{a}t", "0", "0"},
        {"XREAD", "STREAMS", "{a}s", "{b}t", "0", "0"},
        {"LMOVE", "{a}1", "{b}1", "LEFT", "RIGHT"},
        {"BITOP", "AND", "{a}d", "{a}1", "{a}2"},
        {"OBJECT", "ENCODING", "{a}1"},
        {"LMPOP", "2", "{a}1", "{b}1", "LEFT"},
        {"SINTERCARD", "2", "{a}1", "{a}2"},
        {"GEOSEARCHSTORE", "{a}d", "{b}s", "FROMMEMBER", "m", "BYRADIUS", "1", "km"},
        {"ZRANGESTORE", "{a}d", "{a}s", "0", "-1"},
        {"HSET", "{a}h", "f", "v"},
        {"PFCOUNT", "{a}1", "{a}2"},
        {"XGROUP", "CREATE", "{a}s", "g", "$"},
        {"SORT", "{a}l"},
        {"LCS", "{a}1", "{b}1"},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char **argv = cmds[i];
        char *cmd = NULL;
        int argc = 0, len;
        while (argc < 12 && argv[argc] != NULL)
            argc++;
        len = redisFormatCommandArgv(&cmd, argc, argv, NULL);
        cr_assert_eq(redisconn__keys_slot(cmd, (size_t)len), server_slot(argc, argv), "%s %s",
                     argv[0], argv[1]);
        redisFreeCommand(cmd);
    }
}

Test(cluster, every_key_is_written_on_the_master_owning_its_slot)
{
    enum { N = 300 };
    static rt_reply r[N];
    static char keys[N][24];
    given_cluster(NULL);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "route:%d", i);
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
    cr_assert_eq(st.commands, N);
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
    cr_assert_eq(
        redisconn_cluster_command(cl, 0, rt_never_reply_cb, NULL, "ZUNIONSTORE {x}d 2 {y}1 {y}2"),
        REDISCONN_ERR_CROSSSLOT, "the destination counts");
}

Test(cluster, commands_wrong_on_one_node_are_refused)
{
    given_cluster(NULL);
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_never_reply_cb, NULL, "FLUSHALL"),
                 REDISCONN_ERR_CLUSTER);
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_never_reply_cb, NULL, "KEYS *"),
                 REDISCONN_ERR_CLUSTER);
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_never_reply_cb, NULL, "scan 0"),
                 REDISCONN_ERR_CLUSTER, "names are case-insensitive");
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_never_reply_cb, NULL, "MULTI"),
                 REDISCONN_ERR_LEASE_REQUIRED, "a transaction needs redisconn_cluster_acquire");
}

Test(cluster, a_broadcast_reaches_every_master_once)
{
    int got[3] = {0};
    rt_reply r;
    given_cluster(NULL);
    run(&r, "GET %s", "bcast", NULL); /* the map is in */
    cr_assert_eq(redisconn_cluster_broadcast(cl, 0, rt_bcast_cb, got, "SCRIPT LOAD %s",
                                             "return 'bcast-test'"),
                 REDISCONN_OK);
    rt_await(base, got[0] == 1, 5000);
    rt_loop_quiet(base, 20); /* a second callback would come now */
    cr_assert_eq(got[0], 1);
    cr_assert_eq(got[1], 3);
    cr_assert_eq(got[2], 0);
    redisReply *sha =
        rt_cmd(rc.node[0], "EVAL %s 0 %s", "return redis.sha1hex(ARGV[1])", "return 'bcast-test'");
    int masters = 0;
    for (int i = 0; i < RT_CLUSTER_NODES; i++) { /* loaded on every master */
        redisReply *role = rt_cmd(rc.node[i], "ROLE"), *x;
        if (strcmp(role->element[0]->str, "master") == 0) {
            x = rt_cmd(rc.node[i], "SCRIPT EXISTS %s", sha->str);
            cr_assert_eq(x->element[0]->integer, 1, "not loaded on master %d", i);
            freeReplyObject(x);
            masters++;
        }
        freeReplyObject(role);
    }
    freeReplyObject(sha);
    cr_assert_eq(masters, 3);
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
    redisconn_cluster_stats st;
    snprintf(seeds, sizeof(seeds), "127.0.0.1:%d", rt_free_port());
    given_cluster(seeds);
    cr_assert_eq(redisconn_cluster_command(cl, 1000, rt_reply_cb, &r, "GET k"), REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
    cr_assert_eq(r.status, REDISCONN_ERR_CONNECT, "%s", redisconn_status_name(r.status));
    rt_loop_quiet(base, 20); /* a second callback would come now */
    cr_assert_eq(r.calls, 1);
    redisconn_cluster_get_stats(cl, &st);
    cr_assert_geq(st.refresh_errors, 1);
}

Test(cluster, a_dead_seed_listed_first_costs_nothing_but_its_dial)
{
    char seeds[300];
    rt_reply r;
    redisconn_cluster_stats st;
    snprintf(seeds, sizeof(seeds), "127.0.0.1:%d,%s", rt_free_port(), rc.seeds);
    given_cluster(seeds);
    run(&r, "SET %s %s", "deadseed", "1");
    cr_assert_eq(r.status, REDISCONN_OK, "%s", redisconn_status_name(r.status));
    cr_assert_str_eq(r.str, "OK");
    redisconn_cluster_get_stats(cl, &st);
    cr_assert_eq(st.refreshes, 1);
    cr_assert_eq(st.refresh_errors, 0, "the next seed answered in the same refresh");
    cr_assert_eq(st.masters, 3);
    cr_assert_eq(st.nodes, 3, "the dead seed's pool is closed once the map is in");
}

Test(cluster, empty_and_unknown_endpoints_in_cluster_slots)
{
    /* A fake node (a real one cannot be made to say this): slots 0-8191 are
     * served by "" (the node asked, at another port), 8192-16383 by "?". */
    char reply[200], addr[64];
    int port = rt_free_port(), found = 0;
    rt_reply r = {0};
    rt_fake *fake;
    redisconn_cluster_stats st;
    snprintf(reply, sizeof(reply),
             "*2\r\n*3\r\n:0\r\n:8191\r\n*2\r\n$0\r\n\r\n:%d\r\n"
             "*3\r\n:8192\r\n:16383\r\n*2\r\n$1\r\n?\r\n:7000\r\n",
             port);
    fake = rt_fake_start(reply, strlen(reply), 0);
    given_cluster(rt_fake_addr(fake));
    /* "{a}" is in slot 15495: unknown owner, so no node to send it to */
    cr_assert_eq(redisconn_cluster_command(cl, 500, rt_reply_cb, &r, "GET {a}"), REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
    cr_assert_eq(r.status, REDISCONN_ERR_CONNECT, "%s", redisconn_status_name(r.status));
    redisconn_cluster_get_stats(cl, &st);
    cr_assert_eq(st.slots_covered, 8192);
    cr_assert_eq(st.masters, 1);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    for (int i = 0; i < st.nodes; i++) {
        const char *a;
        int master;
        cr_assert_eq(redisconn_cluster_node_stats(cl, i, &a, &master, NULL), REDISCONN_OK);
        found += strcmp(a, addr) == 0 && master;
    }
    cr_assert_eq(found, 1, "the empty endpoint is the asked node's host");
    cr_assert_eq(redisconn_cluster_node_stats(cl, st.nodes, NULL, NULL, NULL),
                 REDISCONN_ERR_INVALID);
    close_cluster();
    rt_fake_stop(fake);
}
