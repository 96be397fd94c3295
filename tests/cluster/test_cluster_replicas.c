/* SPDX-License-Identifier: BSD-3-Clause */
/* test_cluster_replicas.c — reads from replicas (read_from_replicas), each
 * test on a cluster of its own (3 masters, 3 replicas, node timeout 1000
 * ms: the tests count commands on the servers, so they cannot share one):
 * with the option on, GETs are served by the replicas (INFO commandstats,
 * CLIENT LIST flag r) and see what was written through the masters; writes
 * and leases stay on the masters; a MOVED from a replica is followed (to
 * the new owner's replica); with the option off no connection reaches
 * a replica; a replica stopped (SIGSTOP) or killed costs no read, the reads
 * fall back to its master. Also the pool's READONLY handshake stage on a
 * server without cluster support, and the table's read-only marks against
 * the server's command flags. Every callback exactly once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cluster/internal.h"
#include "pool/replica.h"
#include "redisconn/cluster.h"
#include "support/cluster_support.h"
#include "support/pool_support.h"

#define CLIENT_NAME "rt-replicas"

enum { N = 300 };

static rt_cluster rc;
static struct event_base *base;
static redisconn_cluster *cl;
static rt_reply replies[N];
static char keys[N][24];

static void setup(void)
{
    base = event_base_new();
    for (int i = 0; i < N; i++)
        snprintf(keys[i], sizeof(keys[i]), "rep:%d", i);
}

static void teardown(void)
{
    rt_cluster_suite_end(&base, &rc, &cl);
}

TestSuite(cluster_replicas, .init = setup, .fini = teardown, .timeout = 60);

/* ---- the servers' side ------------------------------------------------------- */

/* 1 when node `i` says it is a master (ROLE). */
static int is_master(int i)
{
    redisReply *r = rt_cmd(rc.node[i], "ROLE");
    int m;
    cr_assert(r && r->type == REDIS_REPLY_ARRAY, "ROLE of node %d", i);
    m = strcmp(r->element[0]->str, "master") == 0;
    freeReplyObject(r);
    return m;
}

/* Field `field` ("calls", "rejected_calls") of command `cmd` in node `i`'s
 * INFO commandstats; 0 when the command did not run since CONFIG RESETSTAT. */
static long long cmdstat(int i, const char *cmd, const char *field)
{
    redisReply *r = rt_cmd(rc.node[i], "INFO commandstats");
    char line[64], key[64];
    const char *p, *f;
    long long v = 0;
    cr_assert(r && r->type == REDIS_REPLY_STRING, "INFO commandstats of node %d", i);
    snprintf(line, sizeof(line), "cmdstat_%s:", cmd);
    snprintf(key, sizeof(key), "%s=", field);
    p = strstr(r->str, line);
    if (p != NULL) {
        const char *eol = strchr(p, '\n');
        for (f = strstr(p, key); f && (eol == NULL || f < eol); f = strstr(f + 1, key))
            if (f[-1] == ':' || f[-1] == ',') {
                v = atoll(f + strlen(key));
                break;
            }
    }
    freeReplyObject(r);
    return v;
}

/* The sum of cmdstat() over the masters (`masters` 1) or the replicas (0). */
static long long cmdstat_sum(int masters, const char *cmd, const char *field)
{
    long long sum = 0;
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        if (is_master(i) == masters) sum += cmdstat(i, cmd, field);
    return sum;
}

/* Connections named CLIENT_NAME on node `i` (with flag `flag` among their
 * flags when `flag` is not 0), from CLIENT LIST. */
static int our_clients(int i, char flag)
{
    redisReply *r = rt_cmd(rc.node[i], "CLIENT LIST");
    char line[1024];
    int n = 0;
    cr_assert(r && r->type == REDIS_REPLY_STRING, "CLIENT LIST of node %d", i);
    for (const char *p = r->str; *p != '\0'; p += strcspn(p, "\n"), p += *p == '\n') {
        const char *flags;
        snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
        if (strstr(line, " name=" CLIENT_NAME " ") == NULL) continue;
        flags = strstr(line, " flags=");
        if (flag == 0 || (flags && memchr(flags + 7, flag, strcspn(flags + 7, " ")) != NULL)) n++;
    }
    freeReplyObject(r);
    return n;
}

/* 1 when every range in node `i`'s CLUSTER SLOTS lists a replica. */
static int slots_list_replicas(int i)
{
    redisReply *r = rt_cmd(rc.node[i], "CLUSTER SLOTS");
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0;
    for (size_t k = 0; ok && k < r->elements; k++)
        ok = r->element[k]->elements >= 4;
    if (r) freeReplyObject(r);
    return ok;
}

/* Starts the test's cluster and waits until its nodes list the replicas in
 * CLUSTER SLOTS: Redis 7.0 does about 8 s after cluster_state:ok, while
 * CLUSTER NODES shows them within a second. */
static void given_cluster(void)
{
    rt_cluster_start(&rc);
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        for (int64_t end = rt_now_ms() + 20000; !slots_list_replicas(i);) {
            cr_assert_lt(rt_now_ms(), end, "node %d: CLUSTER SLOTS lists no replicas", i);
            usleep(50000); /* the servers' gossip: nothing to wait on in our loop */
        }
}

/* Resets INFO commandstats on every node. */
static void reset_stats(void)
{
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        rt_cluster_ok(&rc, i, "CONFIG RESETSTAT");
}

/* Waits until every master's replica has what was written before: a write
 * of our own on each master, then WAIT 1 (the replication stream is in
 * order, so the replica acknowledging it has everything before it). */
static void sync_replicas(void)
{
    for (int m = 0; m < RT_CLUSTER_NODES; m++) {
        char tag[32];
        redisContext *c;
        redisReply *r;
        if (!is_master(m)) continue;
        rt_cluster_tag_on(&rc, m, "sync:", tag);
        c = redisConnect("127.0.0.1", rc.node[m]->port);
        cr_assert(c && !c->err);
        freeReplyObject(redisCommand(c, "SET %s x", tag));
        r = redisCommand(c, "WAIT 1 2000");
        cr_assert(r && r->type == REDIS_REPLY_INTEGER && r->integer >= 1,
                  "master %d: the replica did not acknowledge", m);
        freeReplyObject(r);
        redisFree(c);
    }
}

/* ---- the client's side --------------------------------------------------------- */

/* A client named CLIENT_NAME; refresh_interval_ms 500 (a replica back in
 * the map is seen soon) unless `periodic` is 0 (the map changes only on
 * demand: a MOVED can be provoked). */
static void given_client(int read_from_replicas, int command_timeout_ms, int periodic)
{
    redisconn_cluster_options o;
    redisconn_cluster_options_init(&o);
    o.read_from_replicas = read_from_replicas;
    o.pool.client_name = CLIENT_NAME;
    o.pool.command_timeout_ms = command_timeout_ms;
    o.refresh_interval_ms = periodic ? 500 : 0;
    cl = rt_cluster_client(base, &rc, NULL, &o);
}

/* Runs `fmt` ("SET %s v:%d" / "GET %s") on keys [0, n) at once; waits for
 * every callback, then a little more, and asserts each fired exactly once. */
static void run_all(int n, const char *fmt)
{
    memset(replies, 0, sizeof(replies));
    for (int i = 0; i < n; i++)
        cr_assert_eq(redisconn_cluster_command(cl, 0, rt_reply_cb, &replies[i], fmt, keys[i], i),
                     REDISCONN_OK);
    for (int i = 0; i < n; i++)
        rt_await(base, replies[i].calls > 0, 10000);
    rt_loop_quiet(base, 20); /* a second callback would come now */
    for (int i = 0; i < n; i++)
        cr_assert_eq(replies[i].calls, 1, "%s: %d callbacks", keys[i], replies[i].calls);
}

static void write_keys(int n)
{
    run_all(n, "SET %s v:%d");
    for (int i = 0; i < n; i++) {
        cr_assert_eq(replies[i].status, REDISCONN_OK, "%s: %s", keys[i],
                     redisconn_status_name(replies[i].status));
        cr_assert_str_eq(replies[i].str, "OK", "%s", keys[i]);
    }
}

/* GETs keys [0, n) at once and asserts each read back what write_keys() wrote. */
static void read_keys(int n)
{
    char want[32];
    run_all(n, "GET %s");
    for (int i = 0; i < n; i++) {
        snprintf(want, sizeof(want), "v:%d", i);
        cr_assert_eq(replies[i].status, REDISCONN_OK, "%s: %s", keys[i],
                     redisconn_status_name(replies[i].status));
        cr_assert_str_eq(replies[i].str, want, "%s", keys[i]);
    }
}

/* How many of keys [0, n) master `m` owns. */
static int keys_on(int m, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += rt_cluster_master_index(&rc, redisconn_cluster_keyslot(keys[i], strlen(keys[i]))) == m;
    return k;
}

/* The per-node stats of the replica nodes: how many, their commands summed. */
static int replica_nodes(uint64_t *commands)
{
    redisconn_cluster_stats st = rt_cluster_stats(cl);
    int n = 0;
    *commands = 0;
    for (int i = 0; i < st.nodes; i++) {
        redisconn_pool_stats ps;
        int master;
        cr_assert_eq(redisconn_cluster_node_stats(cl, i, NULL, &master, &ps), REDISCONN_OK);
        if (master) continue;
        n++;
        *commands += ps.pool_commands;
    }
    return n;
}

/* ---- reads on replicas ------------------------------------------------------------ */

/* Moves `slot` from master `src` to master `dst` at once, as redis-cli
 * does: both sides marked, its keys migrated, then SETSLOT NODE on the
 * target, the source and the other masters. */
static void move_slot(int slot, int src, int dst)
{
    char src_id[41], dst_id[41];
    redisReply *k;
    rt_cluster_node_id(&rc, src, src_id);
    rt_cluster_node_id(&rc, dst, dst_id);
    rt_cluster_ok(&rc, dst, "CLUSTER SETSLOT %d IMPORTING %s", slot, src_id);
    rt_cluster_ok(&rc, src, "CLUSTER SETSLOT %d MIGRATING %s", slot, dst_id);
    k = rt_cmd(rc.node[src], "CLUSTER GETKEYSINSLOT %d 1000", slot);
    cr_assert(k && k->type == REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < k->elements; i++)
        rt_cluster_ok(&rc, src, "MIGRATE 127.0.0.1 %d %b 0 5000", rc.node[dst]->port,
                      k->element[i]->str, k->element[i]->len);
    freeReplyObject(k);
    rt_cluster_ok(&rc, dst, "CLUSTER SETSLOT %d NODE %s", slot, dst_id);
    rt_cluster_ok(&rc, src, "CLUSTER SETSLOT %d NODE %s", slot, dst_id);
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        if (i != src && i != dst && is_master(i))
            rt_cluster_ok(&rc, i, "CLUSTER SETSLOT %d NODE %s", slot, dst_id);
}

/* Waits until replica `i`, asked `GET key` after READONLY, answers with an
 * error starting with `prefix` (e.g. "MOVED") or, when `prefix` is NULL,
 * with a value: the servers' gossip, nothing to wait on in our loop. */
static void await_replica_says(int i, const char *key, const char *prefix)
{
    int64_t end = rt_now_ms() + 10000;
    redisContext *c = redisConnect("127.0.0.1", rc.node[i]->port);
    cr_assert(c && !c->err);
    freeReplyObject(redisCommand(c, "READONLY"));
    for (;;) {
        redisReply *r = redisCommand(c, "GET %s", key);
        int ok = r && (prefix ? r->type == REDIS_REPLY_ERROR &&
                                    strncmp(r->str, prefix, strlen(prefix)) == 0
                              : r->type == REDIS_REPLY_STRING);
        if (r) freeReplyObject(r);
        if (ok) break;
        cr_assert_lt(rt_now_ms(), end, "replica %d: GET %s never said %s", i, key,
                     prefix ? prefix : "a value");
        usleep(50000);
    }
    redisFree(c);
}

/* A MOVED from a replica (the client's map is stale: the slot moved to
 * another master) is followed like any MOVED, to the new owner's replica. */
static void check_moved_from_a_replica(void)
{
    char tag[32], key[48];
    int src = rt_cluster_master_index(&rc, 0), dst = rt_cluster_master_index(&rc, 16383);
    int slot = rt_cluster_tag_on(&rc, src, "mv", tag), src_rep, dst_rep;
    redisconn_cluster_stats before, st;
    rt_reply r = {0};
    snprintf(key, sizeof(key), "{%s}:k", tag);
    rt_cluster_ok(&rc, src, "SET %s moved", key);
    move_slot(slot, src, dst);
    sync_replicas();
    src_rep = rt_cluster_replica_of(&rc, src);
    dst_rep = rt_cluster_replica_of(&rc, dst);
    await_replica_says(src_rep, key, "MOVED");
    await_replica_says(dst_rep, key, NULL);
    reset_stats();
    before = rt_cluster_stats(cl);
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_reply_cb, &r, "GET %s", key), REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
    rt_loop_quiet(base, 20); /* a second callback would come now */
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.status, REDISCONN_OK, "%s", redisconn_status_name(r.status));
    cr_assert_str_eq(r.str, "moved");
    st = rt_cluster_stats(cl);
    cr_assert_eq(st.moved - before.moved, 1);
    cr_assert_eq(st.replica_commands - before.replica_commands, 2, "both attempts on replicas");
    cr_assert_eq(cmdstat(src_rep, "get", "rejected_calls"), 1, "the old owner's replica: MOVED");
    cr_assert_eq(cmdstat(dst_rep, "get", "calls"), 1, "the new owner's replica answered");
}

/* Writes go to the masters: every SET of keys [0, N) runs on a master, none
 * is sent to a replica (no MOVED, no rejected call there). */
static void check_writes_on_masters(void)
{
    uint64_t before = rt_cluster_stats(cl).replica_commands;
    reset_stats();
    write_keys(N);
    cr_assert_eq(cmdstat_sum(1, "set", "calls"), N, "every SET ran on a master");
    cr_assert_eq(cmdstat_sum(0, "set", "rejected_calls"), 0, "no SET was sent to a replica");
    cr_assert_eq(rt_cluster_stats(cl).replica_commands, before);
    cr_assert_eq(rt_cluster_stats(cl).moved, 0);
}

/* A lease by key is on the key's master, its connection without READONLY
 * (CLIENT INFO: the server's port, flags N), and its GET runs there. */
static void check_lease_on_master(void)
{
    rt_acq a = {0};
    rt_reply r = {0};
    char laddr[32];
    int owner = rt_cluster_master_index(&rc, redisconn_cluster_keyslot(keys[7], strlen(keys[7])));
    reset_stats();
    cr_assert_not_null(
        redisconn_cluster_acquire(cl, keys[7], strlen(keys[7]), 5000, rt_acq_cb, &a));
    rt_await(base, a.calls == 1, 5000);
    cr_assert_eq(a.status, REDISCONN_OK, "%s", a.errmsg);
    cr_assert_eq(redisconn_command(a.conn, rt_reply_cb, &r, "CLIENT INFO"), REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
    snprintf(laddr, sizeof(laddr), " laddr=127.0.0.1:%d ", rc.node[owner]->port);
    cr_assert_not_null(strstr(r.str, laddr), "not on the key's master: %s", r.str);
    cr_assert_not_null(strstr(r.str, " flags=N "), "a master's connection, no READONLY: %s", r.str);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(redisconn_command(a.conn, rt_reply_cb, &r, "GET %s", keys[7]), REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
    cr_assert_str_eq(r.str, "v:7");
    redisconn_release(a.conn);
    rt_loop_quiet(base, 20); /* a second callback would come now */
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(cmdstat(owner, "get", "calls"), 1, "the lease's GET ran on the master");
    cr_assert_eq(rt_cluster_stats(cl).replica_commands, N, "and not through a replica");
}

Test(cluster_replicas, reads_go_to_the_replicas_writes_and_leases_to_the_masters)
{
    redisconn_cluster_stats st;
    uint64_t on_replicas;
    given_cluster();
    given_client(1, 0, 0);
    write_keys(N);
    sync_replicas();
    reset_stats();
    read_keys(N);
    st = rt_cluster_stats(cl);
    cr_assert_eq(st.replica_commands, N, "%llu GETs on replicas",
                 (unsigned long long)st.replica_commands);
    cr_assert_eq(st.replica_fallbacks, 0);
    cr_assert_eq(st.moved, 0, "the replicas served their masters' slots");
    cr_assert_eq(st.masters, 3);
    cr_assert_eq(st.replicas, 3);
    cr_assert_eq(st.nodes, 6);
    cr_assert_eq(replica_nodes(&on_replicas), 3);
    cr_assert_eq(on_replicas, N, "the replica pools carried the reads, nothing else");
    cr_assert_eq(cmdstat_sum(1, "get", "calls"), 0, "no GET reached a master");
    cr_assert_eq(cmdstat_sum(0, "get", "calls"), N, "every GET ran on a replica");
    for (int i = 0; i < RT_CLUSTER_NODES; i++) {
        if (is_master(i)) continue;
        cr_assert_gt(cmdstat(i, "get", "calls"), 0, "replica %d served none", i);
        cr_assert_gt(our_clients(i, 'r'), 0, "replica %d: no READONLY connection", i);
        cr_assert_eq(our_clients(i, 0), our_clients(i, 'r'), "replica %d: one without r", i);
    }
    printf("replica reads: %llu of %d GETs; per replica:", (unsigned long long)st.replica_commands,
           N);
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        if (!is_master(i)) printf(" %lld", cmdstat(i, "get", "calls"));
    printf("\n");
    check_writes_on_masters();
    check_lease_on_master();
    check_moved_from_a_replica();
}

Test(cluster_replicas, with_the_option_off_no_command_reaches_a_replica)
{
    redisconn_cluster_stats st;
    given_cluster();
    given_client(0, 0, 1);
    write_keys(N);
    sync_replicas();
    reset_stats();
    read_keys(N);
    st = rt_cluster_stats(cl);
    cr_assert_eq(st.replica_commands, 0);
    cr_assert_eq(st.replicas, 0);
    cr_assert_eq(st.nodes, 3, "no replica pool");
    cr_assert_eq(cmdstat_sum(1, "get", "calls"), N);
    cr_assert_eq(cmdstat_sum(0, "get", "calls"), 0);
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        if (!is_master(i)) cr_assert_eq(our_clients(i, 0), 0, "replica %d has a connection", i);
}

/* ---- a replica failing ------------------------------------------------------------ */

/* The master owning keys[0] and its replica (asserted to exist). */
static int victim(int *master)
{
    int rep;
    *master = rt_cluster_master_index(&rc, redisconn_cluster_keyslot(keys[0], strlen(keys[0])));
    rep = rt_cluster_replica_of(&rc, *master);
    cr_assert_geq(rep, 0, "master %d has no replica", *master);
    return rep;
}

Test(cluster_replicas, a_stopped_replica_costs_no_read_they_fall_back_to_the_master)
{
    redisconn_cluster_stats st;
    uint64_t before;
    int m, rep, on_m;
    given_cluster();
    given_client(1, 300, 1);
    write_keys(N);
    sync_replicas();
    read_keys(N); /* connections to the replicas are open */
    rep = victim(&m);
    on_m = keys_on(m, N);
    reset_stats();
    rt_server_pause(rc.node[rep]);
    read_keys(N);
    st = rt_cluster_stats(cl);
    cr_assert_eq(st.replica_fallbacks, (uint64_t)on_m, "%llu fallbacks for %d keys on master %d",
                 (unsigned long long)st.replica_fallbacks, on_m, m);
    cr_assert_eq(cmdstat(m, "get", "calls"), on_m, "the master served its keys");
    printf("stopped replica: %d of %d GETs fell back to master %d\n", on_m, N, m);
    before = st.replica_fallbacks;
    read_keys(N); /* the replica is suspect: its reads go to the master at once */
    st = rt_cluster_stats(cl);
    cr_assert_leq(st.replica_fallbacks - before, 1, "at most a probe: %llu",
                  (unsigned long long)(st.replica_fallbacks - before));
    printf("while suspect: %llu more fallbacks\n",
           (unsigned long long)(st.replica_fallbacks - before));
    rt_server_resume(rc.node[rep]);
    reset_stats();
    for (int64_t end = rt_now_ms() + 15000; rt_now_ms() < end;) { /* it serves again */
        read_keys(N);
        if (cmdstat(rep, "get", "calls") > 0) break;
        rt_loop_quiet(base, 100); /* the retry time and the map refresh are timers */
    }
    cr_assert_gt(cmdstat(rep, "get", "calls"), 0, "the resumed replica serves reads again");
}

Test(cluster_replicas, a_killed_replica_costs_no_read_they_fall_back_to_the_master)
{
    redisconn_cluster_stats st;
    int m, rep;
    given_cluster();
    given_client(1, 1000, 1);
    write_keys(N);
    sync_replicas();
    read_keys(N); /* connections to the replicas are open */
    rep = victim(&m);
    reset_stats();
    rt_server_kill(rc.node[rep]);
    read_keys(N);
    st = rt_cluster_stats(cl);
    cr_assert_geq(st.replica_fallbacks, 1);
    cr_assert_geq(cmdstat(m, "get", "calls"), (long long)st.replica_fallbacks);
    printf("killed replica: %llu of %d GETs fell back\n", (unsigned long long)st.replica_fallbacks,
           N);
    for (int64_t end = rt_now_ms() + 15000; rt_now_ms() < end;) { /* it leaves the map */
        read_keys(10);
        if (rt_cluster_stats(cl).replicas == 2) break;
        rt_loop_quiet(base, 100); /* the failure detection and the map refresh are timers */
    }
    st = rt_cluster_stats(cl);
    cr_assert_eq(st.replicas, 2, "the dead replica left the map");
    cr_assert_eq(st.nodes, 5, "and its pool was closed");
}

/* ---- the pool's READONLY stage and the table ------------------------------------- */

Test(cluster_replicas, a_refused_readonly_fails_the_dial_with_connect)
{
    rt_server *s = rt_server_start(&(rt_server_opts){0}); /* no cluster support */
    redisconn_pool *pool = redisconn_pool_new(base, s->addr, 0);
    rt_acq a = {0};
    cr_assert_not_null(pool);
    cr_assert_eq(redisconn__pool_set_readonly(pool), REDISCONN_OK);
    cr_assert_not_null(redisconn_pool_acquire(pool, 2000, rt_acq_cb, &a));
    cr_assert_eq(redisconn__pool_set_readonly(pool), REDISCONN_ERR_STATE, "a connection exists");
    rt_await(base, a.calls == 1, 5000);
    cr_assert_eq(a.status, REDISCONN_ERR_CONNECT, "%s", redisconn_status_name(a.status));
    cr_assert_not_null(strstr(a.errmsg, "READONLY refused by 127.0.0.1:"), "%s", a.errmsg);
    cr_assert_not_null(strstr(a.errmsg, "cluster support disabled"), "%s", a.errmsg);
    rt_loop_quiet(base, 20);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(redisconn_pool_close(pool, NULL, NULL), REDISCONN_OK);
    rt_loop_quiet(base, 50); /* the close completes from the loop */
    rt_server_free(s);
}

/* 1 when COMMAND INFO `name` lists flag `flag`. */
static int has_flag(rt_server *s, const char *name, const char *flag)
{
    redisReply *r = rt_cmd(s, "COMMAND INFO %s", name), *flags;
    int found = 0;
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                  r->element[0]->type == REDIS_REPLY_ARRAY,
              "COMMAND INFO %s", name);
    flags = r->element[0]->element[2];
    for (size_t i = 0; i < flags->elements; i++)
        found |= strcmp(flags->element[i]->str, flag) == 0;
    freeReplyObject(r);
    return found;
}

Test(cluster_replicas, the_read_only_marks_of_the_table_are_the_servers)
{
    rt_server *s = rt_server_start(&(rt_server_opts){0});
    const char *name;
    int read, marked = 0;
    for (size_t i = 0; (name = redisconn__keys_entry(i, &read)) != NULL; i++) {
        if (!read) continue;
        marked++;
        cr_assert(has_flag(s, name, "readonly"), "%s is not readonly", name);
        cr_assert_not(has_flag(s, name, "write"), "%s writes", name);
    }
    cr_assert_geq(marked, 60);
    rt_server_free(s);
}
