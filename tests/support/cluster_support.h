/* SPDX-License-Identifier: BSD-3-Clause */
/* cluster_support.h — a real Redis Cluster for the tests: three masters and
 * three replicas (redis-server --cluster-enabled yes) on free loopback ports,
 * joined with redis-cli --cluster create, and ways to move slots. */
#ifndef REDISCONN_TEST_CLUSTER_SUPPORT_H
#define REDISCONN_TEST_CLUSTER_SUPPORT_H

#include "support/support.h"

#include <sys/types.h>

#define RT_CLUSTER_NODES 6

typedef struct rt_cluster {
    rt_server *node[RT_CLUSTER_NODES];
    int bus[RT_CLUSTER_NODES];
    char seeds[200]; /* "127.0.0.1:p0,127.0.0.1:p1,127.0.0.1:p2" (the first three) */
    int attached;    /* the binary's shared cluster: started and stopped by its main */
} rt_cluster;

/* Starts the six nodes, creates the cluster (3 masters, 1 replica each) and
 * waits until every node says cluster_state:ok. Fails the test if it cannot.
 * Node timeout 1000 ms (failovers in about 2 s). */
void rt_cluster_start(rt_cluster *c);
/* rt_cluster_start() with another cluster-node-timeout. */
void rt_cluster_start_with(rt_cluster *c, int node_timeout_ms);
/* Stops every node (idempotent); of an attached cluster, forgets it only. */
void rt_cluster_stop(rt_cluster *c);

/* ONE CLUSTER PER SUITE BINARY. A test binary whose tests share a cluster
 * (they only read and write keys of their own) has
 *     int main(int argc, char *argv[]) { return rt_cluster_main(argc, argv); }
 * which starts one cluster (node timeout 5000 ms: no failover under load),
 * runs the tests (each in its own process, as Criterion does) and stops it;
 * each test (or its .init) calls rt_cluster_attach() to get its nodes.
 * Tests that move slots, fail nodes over or kill them start their own. */
int rt_cluster_main(int argc, char *argv[]);
/* The binary's shared cluster (fails the test outside rt_cluster_main). */
void rt_cluster_attach(rt_cluster *c);

/* Node `i`'s id (CLUSTER MYID) into `id` (41 bytes). */
void rt_cluster_node_id(rt_cluster *c, int i, char *id);
/* The index of the node serving `port`, or -1. */
int rt_cluster_index_at(rt_cluster *c, int port);
/* The index of a replica of master `m` (as CLUSTER NODES of `m` says), or -1. */
int rt_cluster_replica_of(rt_cluster *c, int m);
/* Runs `fmt` on node `i`; fails the test unless the reply is not an error. */
void rt_cluster_ok(rt_cluster *c, int i, const char *fmt, ...);
/* Waits until every running node says cluster_state:ok and all agree on the
 * owner of every slot; fails the test after `timeout_ms`. */
void rt_cluster_wait_consistent(rt_cluster *c, int timeout_ms);

/* redis-cli with `fmt` arguments, in the background: returns its pid. */
pid_t rt_cli_spawn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 (and its exit status in *status) once the process has exited, else 0. */
int rt_proc_exited(pid_t pid, int *status);
/* The node serving `port`, or NULL. */
rt_server *rt_cluster_node_at(rt_cluster *c, int port);
/* The port of the master owning `slot` (CLUSTER SLOTS of node 0), or -1. */
int rt_cluster_slot_owner(rt_cluster *c, int slot);
/* Runs redis-cli with `fmt` arguments against the cluster; returns its exit status. */
int rt_cluster_cli(rt_cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

/* ---- the client under test ------------------------------------------------ */

#include "redisconn/cluster.h"

struct event_base;

/* A cluster client on `seeds` (NULL: c->seeds) with `opts` (NULL: the
 * defaults); fails the test if it cannot be made. */
redisconn_cluster *rt_cluster_client(struct event_base *base, rt_cluster *c, const char *seeds,
                                     const redisconn_cluster_options *opts);
/* Closes it and asserts the close callback fires exactly once, later. */
void rt_cluster_client_close(struct event_base *base, redisconn_cluster *cl);
/* A cluster suite's teardown: closes *cl if set (checked as above) and
 * clears it, stops the cluster, frees *base. */
void rt_cluster_suite_end(struct event_base **base, rt_cluster *c, redisconn_cluster **cl);
/* A redisconn_cluster_broadcast() callback; `arg` is int[3]: calls, then
 * the last call's nodes and failed. */
void rt_bcast_cb(redisconn_cluster *c, int nodes, int failed, const char *errmsg, void *arg);
/* The index of the master owning `slot` (CLUSTER SLOTS of a running node). */
int rt_cluster_master_index(rt_cluster *c, int slot);
/* A hash tag "<prefix><n>" (into tag, 32 bytes) whose slot master `m` owns;
 * returns the slot. */
int rt_cluster_tag_on(rt_cluster *c, int m, const char *prefix, char *tag);
/* The stats of `cl` (a shorthand). */
redisconn_cluster_stats rt_cluster_stats(const redisconn_cluster *cl);
