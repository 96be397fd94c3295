/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster/internal.h — the cluster client's structures (layer 3: built
 * on the pool's public API and a few of its helpers, never the other way).
 *
 *   cluster.c  life cycle, node pools, stats, leases, broadcast
 *   slots.c    the slot map: CRC16 slots, CLUSTER SLOTS, refreshes
 *   keys.c     which arguments of a command are keys (built-in table)
 *   route.c    one command's journey: dispatch, MOVED/ASK, retries
 */
#ifndef REDISCONN_CLUSTER_INTERNAL_H
#define REDISCONN_CLUSTER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "redisconn/cluster.h"
#include "pool/resp.h"
#include "util/defer.h"
#include "util/list.h"
#include "util/timer.h"

#define REDISCONN__SLOTS 16384

/* Replicas wait this long after failing a read before one read probes them. */
#define REDISCONN__REPLICA_RETRY_MS 1000

/* One node: a pool, kept while the slot map names it. An entry whose pool
 * closed (pool NULL, closing set) is reused for the next new node, so the
 * array grows only with the number of nodes known at once. A replica's entry
 * (read_from_replicas) is another entry than the same address as a master:
 * its pool sends READONLY, and a node changing role changes entry. */
typedef struct redisconn__cl_node {
    redisconn_cluster *cluster;
    char *addr;           /* "host:port" */
    redisconn_pool *pool; /* NULL once its close completed */
    unsigned master : 1;  /* a master in the current map */
    unsigned in_map : 1;  /* named by the current map (else closed after a refresh) */
    unsigned closing : 1; /* its pool is closing (or closed) */
    unsigned suspect : 1; /* its last command failed to connect, broke or timed out */
    unsigned replica : 1; /* a replica's entry: its pool sends READONLY */
    int *replicas;        /* a master's: its replicas in the current map (node indexes) */
    int nreplicas, replicas_cap;
    unsigned rr;          /* a master's: round robin over its replicas */
    uint64_t retry_at_us; /* a suspect replica's: no read before this (then one probe) */
} redisconn__cl_node;

/* A command on its way (route.c). */
typedef struct redisconn__cl_req {
    redisconn__link link; /* cluster->waiting (map awaited) or ->retrying (back-off) */
    redisconn_cluster *cluster;
    redisconn_reply_cb cb;
    void *privdata;
    int64_t timeout_ms;
    uint64_t wait_deadline_us; /* while in cluster->waiting: fails with TIMEOUT then */
    int slot;                  /* -1: no key, any master */
    int node;                  /* the node of the current attempt */
    int redirects;
    int retries;
    int ask_node;            /* >= 0: the next attempt goes to this node with ASKING */
    unsigned read : 1;       /* read-only, and read_from_replicas is on */
    unsigned on_replica : 1; /* the current attempt is on a replica */
    unsigned fell_back : 1;  /* a replica failed it: the master's from now on */
    redisconn__timer retry;
    size_t len;
    char cmd[]; /* RESP */
} redisconn__cl_req;

/* A broadcast to every master (cluster.c). */
typedef struct redisconn__cl_bcast redisconn__cl_bcast;

struct redisconn_cluster {
    struct event_base *base;
    redisconn_cluster_options opts; /* pool strings point at our copies */
    char *username, *password, *client_name;
    char **seeds; /* "host:port" */
    int nseeds;
    redisconn__cl_node **nodes;
    int nnodes, cap;
    uint16_t slots[REDISCONN__SLOTS]; /* node index + 1; 0 = no owner known */
    int have_map;
    int refreshing;                 /* a CLUSTER SLOTS is out */
    int refresh_next;               /* which candidate to ask next */
    int refresh_again;              /* asked for while one was out */
    int *candidates;                /* this refresh's order: node index, or -1 - seed index */
    int ncandidates;                /* entries in candidates */
    int rr;                         /* round robin over the masters for keyless commands */
    int *pairs;                     /* a CLUSTER SLOTS reply's (master, replica) node pairs */
    int npairs, pairs_cap;          /* (entries: twice the pairs) */
    char asked[300];                /* the address the CLUSTER SLOTS out was sent to */
    uint64_t last_attempt_us;       /* when the last refresh started (the throttle) */
    redisconn__timer refresh_timer; /* periodic refresh, and the throttled on-demand one */
    redisconn__timer wait_timer;    /* the earliest deadline in `waiting` */
    redisconn__link waiting;        /* requests waiting for a slot map */
    redisconn__link retrying;       /* requests waiting out a back-off */
    redisconn__defer defer;
    redisconn__defer_item close_item;
    redisconn__resp_buf resp; /* the RESP encoder's buffer */
    int closing_pools;        /* node pools whose close has not completed */
    int requests;             /* commands not yet called back (the close waits for them) */
    redisconn_cluster_stats stats;
    unsigned closed : 1;
    unsigned close_done : 1;
    redisconn_cluster_close_cb close_cb;
    void *close_arg;
};

/* ---- cluster.c --------------------------------------------------------- */

/* The node for "host:port" as a master, created (with its pool) if unknown.
 * Returns its index, or -1 when out of memory or the pool cannot be made. */
int redisconn__cluster_node(redisconn_cluster *cl, const char *addr);

/* The same for "host:port" as a replica: an entry of its own whose pool's
 * connections send READONLY. */
int redisconn__cluster_replica(redisconn_cluster *cl, const char *addr);

/* Makes `replica` one of master `master`'s replicas (once). Returns 0, or -1
 * when out of memory (then it is not). */
int redisconn__cluster_add_replica(redisconn_cluster *cl, int master, int replica);

/* Closes the pools of nodes the current map no longer names. */
void redisconn__cluster_drop_unused(redisconn_cluster *cl);

/* The node's host ("127.0.0.1" of "127.0.0.1:7000", "::1" of "[::1]:7000")
 * into out; "" when `node` is not a node. For "MOVED 1 :7001" and empty
 * CLUSTER SLOTS endpoints: "the host you asked". */
void redisconn__cluster_node_host(const redisconn_cluster *cl, int node, char *out, size_t len);

/* Something the close waits for has finished: look again (from the loop). */
void redisconn__cluster_progress(redisconn_cluster *cl);

/* ---- slots.c ----------------------------------------------------------- */

/* The node index owning `slot`, or -1 (no map, or the slot uncovered). For
 * slot -1 (no key): the masters in turn, those not suspect first; -1 when
 * the map has none. */
int redisconn__slots_owner(redisconn_cluster *cl, int slot);

/* Asks for a new slot map: now, or — coalesced, one at a time, at most one
 * start per min_refresh_interval_ms — as soon as allowed. Candidates: the
 * map's masters not suspect, then the seeds, then the suspect ones. Waiting
 * requests are dispatched (or failed) when it completes. Can't fail. */
void redisconn__slots_refresh(redisconn_cluster *cl);

/* A replica of master `master` to send a read to: round robin over those in
 * the map, not closing and not suspect (a suspect one whose retry time came
 * is taken once, as a probe, and its retry time moved on); -1 when none. */
int redisconn__slots_replica(redisconn_cluster *cl, int master);

/* Parses a CLUSTER SLOTS reply (of the node at `asked`) into `owner` (node
 * index + 1 per slot, 0 = no owner known), creating node entries for the
 * masters it names and marking them in_map/master — and, with
 * read_from_replicas, entries for their replicas, listed as (master,
 * replica) pairs in cl->pairs (installed by the caller when the reply is a
 * map). Empty endpoints mean `asked`'s host; "?" (unknown) endpoints leave
 * their slots without owner (and are no replica). Returns the slots
 * covered, or -1 for a malformed reply. */
int redisconn__slots_parse(redisconn_cluster *cl, const redisReply *r, const char *asked,
                           uint16_t *owner);

/* Starts the periodic refresh timer (cluster creation). */
void redisconn__slots_init(redisconn_cluster *cl);

/* ---- keys.c ------------------------------------------------------------ */

/* The slot of a RESP command's keys: 0..16383, -1 when it has no key (or is
 * unknown: MOVED will correct a guess), or a negative status: CROSSSLOT,
 * CLUSTER (refused on a cluster), UNSUPPORTED (malformed). */
int redisconn__keys_slot(const char *cmd, size_t len);

/* 1 when the table marks the RESP command read-only (a replica may serve it
 * after READONLY), else 0 (writes, unknown or malformed commands). */
int redisconn__keys_is_read(const char *cmd, size_t len);

/* The table's entry `i` (0, 1, ... in order): its name, and in *read whether
 * it is marked read-only; NULL past the end. For the tests. */
const char *redisconn__keys_entry(size_t i, int *read);

/* ---- route.c ----------------------------------------------------------- */

/* Starts a formatted command (copied). REDISCONN_OK (cb fires once later) or
 * a negative status (cb never fires). */
int redisconn__route_submit(redisconn_cluster *cl, int64_t timeout_ms, redisconn_reply_cb cb,
                            void *privdata, const char *cmd, size_t len);

/* The slot map arrived (REDISCONN_OK) or could not be had (a status): the
 * waiting requests go on, or fail with that status (CONNECT when their slot
 * has still no owner). */
void redisconn__route_map_ready(redisconn_cluster *cl, int status);

/* The cluster closes: requests waiting out a back-off fail with CLOSED now. */
void redisconn__route_close(redisconn_cluster *cl);

/* Prepares the cluster's routing state (the waiting-list timer). */
void redisconn__route_init(redisconn_cluster *cl);

#endif
