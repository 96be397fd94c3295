/* SPDX-License-Identifier: BSD-3-Clause */
/* fake_sentinel.h — a scripted sentinel for what real sentinels show only
 * transiently: an answer to SENTINEL get-master-addr-by-name that the test
 * chooses (e.g. a replica's address, for the role check). It runs in a child
 * process (so it holds no fd of the test process) and speaks just enough
 * RESP: PING, AUTH, CLIENT ..., SENTINEL get-master-addr-by-name <name>,
 * SENTINEL sentinels <name> (empty), SUBSCRIBE (confirmed, then silent).
 * The answer and the counters live in shared memory: the test changes the
 * one and reads the others at any time. */
#ifndef REDISCONN_TEST_FAKE_SENTINEL_H
#define REDISCONN_TEST_FAKE_SENTINEL_H

typedef struct rt_fake_sentinel rt_fake_sentinel;

/* Starts a fake sentinel on a free loopback port that names 127.0.0.1:`port`
 * as the master of "mymaster" (any other name: nil). Fails the test if it
 * cannot. */
rt_fake_sentinel *rt_fake_sentinel_start(int master_port);
/* From now on it names 127.0.0.1:`port`. */
void rt_fake_sentinel_set_master(rt_fake_sentinel *f, int master_port);
/* "127.0.0.1:<port>" of the fake itself. */
const char *rt_fake_sentinel_addr(const rt_fake_sentinel *f);
/* SENTINEL get-master-addr-by-name queries answered so far. */
int rt_fake_sentinel_queries(const rt_fake_sentinel *f);
/* Connections accepted so far. */
int rt_fake_sentinel_connections(const rt_fake_sentinel *f);
/* Kills the child and frees everything (NULL: no-op). */
void rt_fake_sentinel_stop(rt_fake_sentinel *f);

#endif
