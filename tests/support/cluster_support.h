/* SPDX-License-Identifier: BSD-3-Clause */
/* cluster_support.h — a real Redis Cluster for the tests: three masters and
 * three replicas (redis-server --cluster-enabled yes) on free loopback ports,
 * joined with redis-cli --cluster create, and ways to move slots. */
#ifndef REDISCONN_TEST_CLUSTER_SUPPORT_H
#define REDISCONN_TEST_CLUSTER_SUPPORT_H

#include "support/support.h"

#define RT_CLUSTER_NODES 6

typedef struct rt_cluster {
    rt_server *node[RT_CLUSTER_NODES];
    int bus[RT_CLUSTER_NODES];
    char seeds[200]; /* "127.0.0.1:p0,127.0.0.1:p1,127.0.0.1:p2" (the first three) */
} rt_cluster;

/* Starts the six nodes, creates the cluster (3 masters, 1 replica each) and
 * waits until every node says cluster_state:ok. Fails the test if it cannot. */
void rt_cluster_start(rt_cluster *c);
/* Stops every node (idempotent). */
void rt_cluster_stop(rt_cluster *c);
/* The node serving `port`, or NULL. */
rt_server *rt_cluster_node_at(rt_cluster *c, int port);
/* The port of the master owning `slot` (CLUSTER SLOTS of node 0), or -1. */
int rt_cluster_slot_owner(rt_cluster *c, int slot);
/* Runs redis-cli with `fmt` arguments against the cluster; returns its exit status. */
int rt_cluster_cli(rt_cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
