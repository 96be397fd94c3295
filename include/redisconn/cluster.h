/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/cluster.h — a Redis Cluster client on a libevent event_base,
 * built on redisconn pools: one pool per node, commands routed by the slot
 * of their keys, redirections (MOVED, ASK) and topology changes followed.
 * Part of the pool library (link `redisconn`).
 *
 * THREADS, CALLBACK CONTRACT, OWNERSHIP: as in redisconn/pool.h. A cluster
 * belongs to one event_base and its thread; a call that takes a callback
 * either fails (and the callback never fires) or succeeds and the callback
 * fires exactly once, later, from the loop. The cluster owns its node pools;
 * replies passed to callbacks are freed when the callback returns.
 *
 * ROUTING. A command's keys come from a built-in table of the common
 * commands (lib/cluster/keys.c; docs/cluster.md lists it): the slot is
 * CRC16(key) mod 16384, or of the {hash tag} when the key has one. Commands
 * whose keys fall in different slots are refused (CROSSSLOT) before anything
 * is sent. Commands without keys go to a master; those that would be wrong
 * on one node of a cluster (FLUSHALL, FLUSHDB, KEYS, SCAN, DBSIZE,
 * RANDOMKEY, ...) are refused with REDISCONN_ERR_CLUSTER — use
 * redisconn_cluster_broadcast() for the ones that make sense on every master.
 *
 * REPLICAS (option read_from_replicas, off by default). When on, the cluster
 * keeps the replicas CLUSTER SLOTS lists for each master and gives each one a
 * pool whose connections send READONLY when they are dialed. A command (of
 * redisconn_cluster_command() or a variant) that the built-in table marks
 * read-only (GET, MGET, EXISTS, TTL, HGET, LRANGE, SMEMBERS, ZRANGE, ...;
 * docs/cluster.md has the list) goes to a replica of its slot's master,
 * round-robin over those not suspect; when the master has none, to the
 * master. A replica that cannot be reached, breaks, times out or answers
 * LOADING/MASTERDOWN is suspect (no reads for 1 s, then one read probes it)
 * and the read is resent to the master — once per command, not counted in
 * max_redirects or max_retries (so a stalled replica costs that read up to
 * two timeouts). MOVED from a replica is followed like any MOVED. Writes,
 * keyless commands, leases (redisconn_cluster_acquire), ASK targets and
 * broadcasts always go to masters. A replica serves what it has received: a
 * read may miss a write the master acknowledged moments ago, and during a
 * slot migration a replica answers for keys already moved away (nil)
 * instead of ASK.
 */
#ifndef REDISCONN_CLUSTER_H
#define REDISCONN_CLUSTER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;

/** The cluster client. Opaque; created by redisconn_cluster_new(), freed by
 * redisconn_cluster_close(). */
typedef struct redisconn_cluster redisconn_cluster;

/** Cluster options: call redisconn_cluster_options_init() first. */
typedef struct redisconn_cluster_options {
    /** Options of every node's pool (timeouts, limits, password, ...); `db` must be 0. */
    redisconn_pool_options pool;
    /** Most MOVED/ASK redirections one command follows. Default 5. */
    int max_redirects;
    /** Most retries of one command answered TRYAGAIN, CLUSTERDOWN or LOADING, or whose node
     * could not be reached before it was sent (CONNECT, RESOLVE), with back-off: 50 ms,
     * doubling, at most 1 s. Default 3. */
    int max_retries;
    /** The slot map is refreshed this often even when nothing moved, in ms; 0 = only on
     * demand. Default 30000. */
    int refresh_interval_ms;
    /** On-demand refreshes (after MOVED, a node failing) at most this often, in ms.
     * Default 100. */
    int min_refresh_interval_ms;
    /** How long one node may take to answer CLUSTER SLOTS before the next is asked, in
     * ms; 0 = the pools' command timeout. Default 2000. */
    int refresh_timeout_ms;
    /** 1: read-only commands go to the replicas of their slot's master (see REPLICAS
     * above: round-robin over the replicas not suspect, the master when there is none;
     * a replica that fails such a read has it resent to the master once). 0: every
     * command goes to a master, and no connection is ever opened to a replica.
     * Replica reads may be stale (asynchronous replication). Default 0. */
    int read_from_replicas;
} redisconn_cluster_options;

/** Fills `opts` with the defaults (see the fields). */
REDISCONN_EXPORT void redisconn_cluster_options_init(redisconn_cluster_options *opts);

/**
 * Creates a cluster client from its seed nodes: "host:port[,host:port...]" or
 * "redis-cluster://[[user]:password@]host:port[,host:port...]" (the
 * credentials are every node's AUTH). The slot map is fetched from the seeds
 * at once, asynchronously; commands issued before it arrives wait for it.
 * `opts` may be NULL for the defaults. Returns NULL (and the reason in `err`,
 * if not NULL) for a malformed address or option, or out of memory. `base`
 * must outlive the cluster.
 */
REDISCONN_EXPORT redisconn_cluster *redisconn_cluster_new(struct event_base *base,
                                                          const char *addrs,
                                                          const redisconn_cluster_options *opts,
                                                          redisconn_error *err);

/**
 * Sends a command to the node that owns the slot of its keys (hiredis format
 * syntax, like redisconn_pool_command()): multiplexed and pipelined on that
 * node's shared connections. MOVED and ASK are followed (up to
 * max_redirects), TRYAGAIN, CLUSTERDOWN and LOADING retried with back-off
 * (up to max_retries), and so is a command whose node could not be reached
 * before it was sent (CONNECT, RESOLVE: it never ran); a command whose node
 * left the map before it was sent goes to the new owner. A connection that
 * breaks or times out after sending (IO, TIMEOUT) is not retried: the
 * command may have run. Those failures mark the node suspect and refresh
 * the map (docs/cluster.md).
 *
 * The callback fires exactly once with `conn` NULL: OK with the reply (also
 * the last TRYAGAIN/CLUSTERDOWN error reply when the retries are used up),
 * or a status — those of redisconn_pool_command(), plus REDIRECT (more than
 * max_redirects redirections), CONNECT (no node serves the slot), TIMEOUT
 * (also: no slot map within the timeout). Returned synchronously instead of
 * the callback: CROSSSLOT, CLUSTER (not meaningful on a cluster: see
 * redisconn_cluster_broadcast()), LEASE_REQUIRED (stateful or blocking: see
 * redisconn_cluster_acquire()), UNSUPPORTED, INVALID, CLOSED, NOMEM.
 * `timeout_ms` > 0 bounds each attempt (0 = the pools' command timeout).
 */
REDISCONN_EXPORT int redisconn_cluster_command(redisconn_cluster *cluster, int64_t timeout_ms,
                                               redisconn_reply_cb cb, void *privdata,
                                               const char *fmt, ...);

/** va_list variant of redisconn_cluster_command(). */
REDISCONN_EXPORT int redisconn_cluster_commandv(redisconn_cluster *cluster, int64_t timeout_ms,
                                                redisconn_reply_cb cb, void *privdata,
                                                const char *fmt, va_list ap);

/** Argument-vector variant of redisconn_cluster_command(); arguments are copied. */
REDISCONN_EXPORT int redisconn_cluster_command_argv(redisconn_cluster *cluster, int64_t timeout_ms,
                                                    redisconn_reply_cb cb, void *privdata, int argc,
                                                    const char **argv, const size_t *argvlen);

/**
 * Leases a connection to the master that owns the slot of `key` (for
 * MULTI/EXEC or WATCH on keys of one slot, blocking commands, ...): the
 * acquire of redisconn_pool_acquire() on that node's pool, with its callback
 * contract and statuses. The lease is a plain pool lease: a MOVED or ASK
 * reply on it is the caller's to handle (its slot moved meanwhile).
 * Before the first slot map the lease is on the first seed. Returns the
 * handle, or NULL for bad arguments, a closed cluster or out of memory (then
 * `cb` never fires).
 */
REDISCONN_EXPORT redisconn_acquire *redisconn_cluster_acquire(redisconn_cluster *cluster,
                                                              const char *key, size_t keylen,
                                                              int64_t timeout_ms,
                                                              redisconn_acquire_cb cb, void *arg);

/** Callback of redisconn_cluster_broadcast(): `nodes` masters were sent the
 * command, `failed` of them did not answer OK (an error reply or a failure
 * status); `errmsg` is the first failure's message (valid during the call). */
typedef void (*redisconn_cluster_broadcast_cb)(redisconn_cluster *cluster, int nodes, int failed,
                                               const char *errmsg, void *privdata);

/**
 * Sends one command to every master of the current slot map (e.g. FLUSHALL,
 * SCRIPT LOAD, CONFIG SET). The callback fires once, after every master
 * answered. Returns REDISCONN_OK, or INVALID, CLOSED, STATE (no slot map yet:
 * try again after the first command succeeded), NOMEM — then `cb` never fires.
 */
REDISCONN_EXPORT int redisconn_cluster_broadcast(redisconn_cluster *cluster, int64_t timeout_ms,
                                                 redisconn_cluster_broadcast_cb cb, void *privdata,
                                                 const char *fmt, ...);

/** The slot (0..16383) of `key`: CRC16 of the key, or of its {hash tag}. */
REDISCONN_EXPORT int redisconn_cluster_keyslot(const char *key, size_t keylen);

/** Cluster statistics: totals and what the routing did. */
typedef struct redisconn_cluster_stats {
    int nodes;                  /**< nodes with a pool now */
    int masters;                /**< masters in the slot map */
    int slots_covered;          /**< slots with an owner in the map (16384 when healthy) */
    uint64_t commands;          /**< commands accepted */
    uint64_t moved;             /**< MOVED redirections followed */
    uint64_t ask;               /**< ASK redirections followed */
    uint64_t retries;           /**< TRYAGAIN / CLUSTERDOWN retries */
    uint64_t refreshes;         /**< slot map refreshes completed */
    uint64_t refresh_errors;    /**< refreshes that found no node to answer */
    redisconn_pool_stats pool;  /**< the node pools' stats, summed */
    int replicas;               /**< replicas in the slot map with a pool (read_from_replicas) */
    uint64_t replica_commands;  /**< read-only commands sent to a replica (attempts) */
    uint64_t replica_fallbacks; /**< of those, resent to the master after the replica failed */
} redisconn_cluster_stats;

/** Copies the statistics into `*stats`. */
REDISCONN_EXPORT void redisconn_cluster_get_stats(const redisconn_cluster *cluster,
                                                  redisconn_cluster_stats *stats);

/**
 * The stats of the pool of node `index` (0 .. stats.nodes-1: the nodes with
 * a pool now, replicas included when read_from_replicas is on) and its
 * address ("host:port", owned by the cluster, valid until the next loop
 * iteration); `is_master`: a master of the current map (0 for a replica).
 * Any output may be NULL. Returns REDISCONN_OK, or INVALID.
 */
REDISCONN_EXPORT int redisconn_cluster_node_stats(const redisconn_cluster *cluster, int index,
                                                  const char **addr, int *is_master,
                                                  redisconn_pool_stats *stats);

/** Cluster close completion callback: the cluster is freed when it returns. */
typedef void (*redisconn_cluster_close_cb)(redisconn_cluster *cluster, void *arg);

/**
 * Closes the cluster: commands waiting for the slot map or a redirection fail
 * with CLOSED, the node pools close (as redisconn_pool_close()), and when
 * they are all freed `cb` (may be NULL) fires once, from the loop. Calling it
 * twice is REDISCONN_ERR_STATE.
 */
REDISCONN_EXPORT int redisconn_cluster_close(redisconn_cluster *cluster,
                                             redisconn_cluster_close_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_CLUSTER_H */
