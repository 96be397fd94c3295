/* SPDX-License-Identifier: BSD-3-Clause */
/* test_cluster_redirect.c — redirections with real nodes, each test on a
 * cluster of its own (they move slots): MOVED while redis-cli reshards
 * slots under load (every callback once, no acknowledged write lost), ASK
 * during a migration driven step by step, TRYAGAIN and CLUSTERDOWN retried
 * a bounded number of times, and a redirection loop cut by max_redirects. */
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

TestSuite(cluster_redirect, .init = setup, .fini = teardown, .timeout = 120);

/* A client with `max_retries`, whose map is in. */
static void given_client(int max_retries)
{
    redisconn_cluster_options o;
    rt_reply r = {0};
    redisconn_cluster_options_init(&o);
    o.max_retries = max_retries;
    cl = rt_cluster_client(base, &rc, NULL, &o);
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    rt_await(base, r.calls == 1, 5000);
    cr_assert_eq(r.status, REDISCONN_OK);
}

/* Runs one command to completion and checks its callback fires once. */
static void run(rt_reply *r, const char *fmt, ...)
{
    va_list ap;
    memset(r, 0, sizeof(*r));
    va_start(ap, fmt);
    cr_assert_eq(redisconn_cluster_commandv(cl, 0, rt_reply_cb, r, fmt, ap), REDISCONN_OK);
    va_end(ap);
    rt_await(base, r->calls >= 1, 10000);
    rt_loop_quiet(base, 5); /* a second callback would come now */
    cr_assert_eq(r->calls, 1);
}

/* ---- MOVED while redis-cli reshards under load --------------------------- */

enum { KEYS = 1000000, IN_FLIGHT = 256, MOVING = 300 };

typedef struct op {
    int set_calls, get_calls, set_status, get_status;
    char got[24];
} op;

static op *ops;
static int issued, done, stop_issuing, errors;
static char tags[MOVING][32]; /* a tag in each of the slots being moved */

static void key_of(int i, char *key, size_t len)
{
    if (i % 2 == 0 && i < 20000) /* 10000 keys in the slots that move, then 1 in 55 */
        snprintf(key, len, "{%s}:%d", tags[(i / 2) % MOVING], i);
    else
        snprintf(key, len, "load:%d", i);
}

static void issue(void);

static void on_get(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    op *o = arg;
    (void)conn;
    o->get_calls++;
    o->get_status = status;
    if (status == REDISCONN_OK && reply->type == REDIS_REPLY_STRING)
        snprintf(o->got, sizeof(o->got), "%s", reply->str);
    else
        errors++;
    done++;
    issue();
}

static void on_set(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    op *o = arg;
    char key[48];
    (void)conn;
    o->set_calls++;
    o->set_status = status == REDISCONN_OK && reply->type == REDIS_REPLY_STATUS ? 0 : -1;
    if (o->set_status != 0) {
        errors++;
        done++;
        issue();
        return;
    }
    key_of((int)(o - ops), key, sizeof(key)); /* read it back at once */
    cr_assert_eq(redisconn_cluster_command(cl, 0, on_get, o, "GET %s", key), REDISCONN_OK);
}

/* Keeps IN_FLIGHT keys on their way (SET, then GET) until told to stop. */
static void issue(void)
{
    while (!stop_issuing && issued < KEYS && issued - done < IN_FLIGHT) {
        char key[48], val[24];
        int i = issued++;
        key_of(i, key, sizeof(key));
        snprintf(val, sizeof(val), "v%d", i);
        cr_assert_eq(redisconn_cluster_command(cl, 0, on_set, &ops[i], "SET %s %s", key, val),
                     REDISCONN_OK);
    }
}

Test(cluster_redirect, resharding_under_load_loses_no_write_and_calls_back_once)
{
    char from[41], to[41];
    int src = rt_cluster_master_index(&rc, 0), dst = rt_cluster_master_index(&rc, 16383), status;
    int exited = 0;
    int64_t t_cli;
    pid_t cli;
    redisconn_cluster_stats st;
    for (int s = 0, n = 0; s < MOVING; s++) /* redis-cli moves the source's first slots */
        while (redisconn_cluster_keyslot(tags[s], (size_t)snprintf(tags[s], 32, "m%d", n++)) != s)
            ;
    ops = calloc(KEYS, sizeof(*ops));
    given_client(3);
    rt_cluster_node_id(&rc, src, from);
    rt_cluster_node_id(&rc, dst, to);
    issue();
    rt_await(base, done >= 2000, 10000); /* keys exist in the slots before they move */
    t_cli = rt_now_ms();
    cli = rt_cli_spawn("--cluster reshard 127.0.0.1:%d --cluster-from %s --cluster-to %s "
                       "--cluster-slots %d --cluster-yes --cluster-pipeline 20",
                       rc.node[src]->port, from, to, MOVING);
    rt_await(base, exited || (exited = rt_proc_exited(cli, &status)), 100000);
    cr_assert_eq(status, 0, "redis-cli --cluster reshard failed");
    cr_assert_lt(issued, KEYS, "the load lasted as long as the resharding");
    stop_issuing = 1;
    t_cli = rt_now_ms() - t_cli;
    rt_await(base, done == issued, 20000);
    rt_loop_quiet(base, 20); /* a second callback would come now */
    cr_assert_eq(errors, 0);
    for (int i = 0; i < issued; i++) {
        char want[24];
        snprintf(want, sizeof(want), "v%d", i);
        cr_assert_eq(ops[i].set_calls, 1, "key %d: SET called back %d times", i, ops[i].set_calls);
        cr_assert_eq(ops[i].get_calls, 1, "key %d: GET called back %d times", i, ops[i].get_calls);
        cr_assert_str_eq(ops[i].got, want, "key %d", i);
    }
    rt_cluster_wait_consistent(&rc, 10000);
    cr_assert_eq(rt_cluster_slot_owner(&rc, MOVING - 1), rc.node[dst]->port, "the slots moved");
    for (int i = 0; i < issued; i += 97) { /* the acknowledged writes are on the new owners */
        char key[48], want[24];
        redisReply *x;
        key_of(i, key, sizeof(key));
        snprintf(want, sizeof(want), "v%d", i);
        x = rt_cmd(rt_cluster_node_at(&rc, rt_cluster_slot_owner(
                                               &rc, redisconn_cluster_keyslot(key, strlen(key)))),
                   "GET %s", key);
        cr_assert(x->type == REDIS_REPLY_STRING && strcmp(x->str, want) == 0, "key %s", key);
        freeReplyObject(x);
    }
    st = rt_cluster_stats(cl);
    printf("reshard under load: %d keys written and read back, %d slots moved in %lld ms, "
           "%llu MOVED, %llu ASK, %llu retries, %llu refreshes, 0 errors\n",
           issued, MOVING, (long long)t_cli, (unsigned long long)st.moved,
           (unsigned long long)st.ask, (unsigned long long)st.retries,
           (unsigned long long)st.refreshes);
    cr_assert_gt(st.moved, 0);
    cr_assert_gt(st.ask + st.moved, 0);
    free(ops);
}

/* ---- a migration step by step ------------------------------------------- */

typedef struct migration {
    int slot, src, dst;
    char tag[32], src_id[41], dst_id[41];
} migration;

/* Slot of `prefix` tag on master 0, moving to another master: keys
 * {tag}:0..9 written on the source, both sides marked, keys 0..4 migrated. */
static void given_half_migrated_slot(migration *m, const char *prefix)
{
    m->src = rt_cluster_master_index(&rc, 0);
    m->dst = rt_cluster_master_index(&rc, 16383);
    m->slot = rt_cluster_tag_on(&rc, m->src, prefix, m->tag);
    rt_cluster_node_id(&rc, m->src, m->src_id);
    rt_cluster_node_id(&rc, m->dst, m->dst_id);
    for (int i = 0; i < 10; i++)
        rt_cluster_ok(&rc, m->src, "SET {%s}:%d v%d", m->tag, i, i);
    rt_cluster_ok(&rc, m->dst, "CLUSTER SETSLOT %d IMPORTING %s", m->slot, m->src_id);
    rt_cluster_ok(&rc, m->src, "CLUSTER SETSLOT %d MIGRATING %s", m->slot, m->dst_id);
    for (int i = 0; i < 5; i++)
        rt_cluster_ok(&rc, m->src, "MIGRATE 127.0.0.1 %d {%s}:%d 0 5000", rc.node[m->dst]->port,
                      m->tag, i);
}

/* The rest of the keys migrated and the slot given to the target, as
 * redis-cli does it (the target first, then the source, then the others). */
static void finish_migration(migration *m)
{
    for (int i = 5; i < 10; i++)
        rt_cluster_ok(&rc, m->src, "MIGRATE 127.0.0.1 %d {%s}:%d 0 5000", rc.node[m->dst]->port,
                      m->tag, i);
    rt_cluster_ok(&rc, m->dst, "CLUSTER SETSLOT %d NODE %s", m->slot, m->dst_id);
    rt_cluster_ok(&rc, m->src, "CLUSTER SETSLOT %d NODE %s", m->slot, m->dst_id);
    for (int i = 0; i < RT_CLUSTER_NODES; i++) {
        redisReply *role = rt_cmd(rc.node[i], "ROLE");
        int master = strcmp(role->element[0]->str, "master") == 0;
        freeReplyObject(role);
        if (master && i != m->src && i != m->dst)
            rt_cluster_ok(&rc, i, "CLUSTER SETSLOT %d NODE %s", m->slot, m->dst_id);
    }
}

Test(cluster_redirect, ask_is_followed_with_asking_and_leaves_the_map_unchanged)
{
    migration m;
    rt_reply r;
    char key[48];
    given_client(3);
    given_half_migrated_slot(&m, "ask");
    run(&r, "GET {%s}:0", m.tag); /* migrated: the source answers ASK */
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_str_eq(r.str, "v0");
    cr_assert_eq(rt_cluster_stats(cl).ask, 1);
    run(&r, "GET {%s}:7", m.tag); /* not yet migrated: the source serves it */
    cr_assert_str_eq(r.str, "v7");
    cr_assert_eq(rt_cluster_stats(cl).ask, 1, "the map still sends the slot to the source");
    run(&r, "SET {%s}:new x", m.tag); /* a new key: created on the target, after ASKING */
    cr_assert_str_eq(r.str, "OK");
    cr_assert_eq(rt_cluster_stats(cl).ask, 2);
    run(&r, "GET {%s}:1", m.tag);
    cr_assert_str_eq(r.str, "v1");
    cr_assert_eq(rt_cluster_stats(cl).ask, 3);
    cr_assert_eq(rt_cluster_stats(cl).moved, 0, "ASK never patches the map");

    finish_migration(&m);
    run(&r, "GET {%s}:9", m.tag); /* the source now answers MOVED */
    cr_assert_str_eq(r.str, "v9");
    cr_assert_eq(rt_cluster_stats(cl).moved, 1);
    snprintf(key, sizeof(key), "{%s}:new", m.tag);
    run(&r, "GET %s", key); /* straight to the new owner */
    cr_assert_str_eq(r.str, "x");
    cr_assert_eq(rt_cluster_stats(cl).moved, 1, "the map was patched by the MOVED");
    cr_assert_eq(rt_cluster_stats(cl).ask, 3);
}

Test(cluster_redirect, tryagain_is_retried_a_bounded_number_of_times)
{
    migration m;
    rt_reply r = {0};
    given_client(2);
    given_half_migrated_slot(&m, "try");
    /* keys 1 (migrated) and 8 (not yet): the source answers TRYAGAIN */
    run(&r, "MGET {%s}:1 {%s}:8", m.tag, m.tag);
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_eq(r.type, REDIS_REPLY_ERROR);
    cr_assert(strncmp(r.str, "TRYAGAIN", 8) == 0, "%s", r.str);
    cr_assert_eq(rt_cluster_stats(cl).retries, 2, "max_retries retries, then the answer");

    /* again, and the migration ends during the back-off: the retry succeeds */
    memset(&r, 0, sizeof(r));
    cr_assert_eq(
        redisconn_cluster_command(cl, 0, rt_reply_cb, &r, "MGET {%s}:1 {%s}:8", m.tag, m.tag),
        REDISCONN_OK);
    rt_await(base, rt_cluster_stats(cl).retries == 3, 5000);
    finish_migration(&m); /* (the loop is not running: the back-off cannot end meanwhile) */
    rt_await(base, r.calls == 1, 5000);
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_eq(r.type, REDIS_REPLY_ARRAY, "%s", r.str);
    cr_assert_eq(rt_cluster_stats(cl).moved, 1);
    cr_assert_eq(rt_cluster_stats(cl).retries, 3);
}

Test(cluster_redirect, clusterdown_is_retried_a_bounded_number_of_times)
{
    char tag[32];
    int m = rt_cluster_master_index(&rc, 0), lost;
    rt_reply r = {0};
    redisconn_cluster_stats st;
    given_client(2);
    lost = rt_cluster_tag_on(&rc, m, "lost", tag);      /* one slot of m's it stops serving */
    rt_cluster_tag_on(&rc, m, "down", tag);             /* another of its slots, asked for */
    rt_cluster_ok(&rc, m, "CLUSTER DELSLOTS %d", lost); /* m's view: not every slot served */
    run(&r, "GET {%s}", tag);
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_eq(r.type, REDIS_REPLY_ERROR);
    cr_assert(strncmp(r.str, "CLUSTERDOWN", 11) == 0, "%s", r.str);
    st = rt_cluster_stats(cl);
    cr_assert_eq(st.retries, 2);
    cr_assert_geq(st.refreshes, 2, "CLUSTERDOWN asks for a new map");

    memset(&r, 0, sizeof(r)); /* again, and the slot is served again during the back-off */
    cr_assert_eq(redisconn_cluster_command(cl, 0, rt_reply_cb, &r, "SET {%s} up", tag),
                 REDISCONN_OK);
    rt_await(base, rt_cluster_stats(cl).retries == 3, 5000);
    rt_cluster_ok(&rc, m, "CLUSTER ADDSLOTS %d", lost);
    rt_await(base, r.calls == 1, 5000);
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_str_eq(r.str, "OK");
}

Test(cluster_redirect, a_redirection_loop_ends_with_redirect_after_max_redirects)
{
    char tag[32], other_id[41];
    int m = rt_cluster_master_index(&rc, 0), other = rt_cluster_master_index(&rc, 16383), slot;
    rt_reply r;
    given_client(3);
    slot = rt_cluster_tag_on(&rc, m, "loop", tag);
    rt_cluster_node_id(&rc, other, other_id);
    /* m says the (empty) slot is the other's; the other still says it is m's */
    rt_cluster_ok(&rc, m, "CLUSTER SETSLOT %d NODE %s", slot, other_id);
    run(&r, "GET {%s}", tag);
    cr_assert_eq(r.status, REDISCONN_ERR_REDIRECT, "%s", redisconn_status_name(r.status));
    cr_assert_eq(rt_cluster_stats(cl).moved, 5, "max_redirects (5) followed, the 6th refused");
}

/* (Here, not in test_cluster: FLUSHALL would empty the shared cluster.) */
Test(cluster_redirect, a_broadcast_flushall_empties_every_master_once)
{
    int got[3] = {0};
    rt_reply r;
    given_client(3);
    for (int i = 0; i < 30; i++)
        run(&r, "SET flush:%d x", i);
    cr_assert_eq(redisconn_cluster_broadcast(cl, 0, rt_bcast_cb, got, "FLUSHALL"), REDISCONN_OK);
    cr_assert_eq(got[0], 0, "never from inside the call");
    rt_await(base, got[0] == 1, 5000);
    rt_loop_quiet(base, 20); /* a second callback would come now */
    cr_assert_eq(got[0], 1);
    cr_assert_eq(got[1], 3);
    cr_assert_eq(got[2], 0);
    for (int i = 0; i < RT_CLUSTER_NODES; i++) {
        redisReply *role = rt_cmd(rc.node[i], "ROLE"), *n;
        if (strcmp(role->element[0]->str, "master") == 0) {
            n = rt_cmd(rc.node[i], "DBSIZE");
            cr_assert_eq(n->integer, 0, "master %d not flushed", i);
            freeReplyObject(n);
        }
        freeReplyObject(role);
    }
}
