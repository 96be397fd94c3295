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

#include <stdint.h>

#include "redisconn/cluster.h"
#include "pool/resp.h"
#include "util/defer.h"
#include "util/list.h"
#include "util/timer.h"

#define REDISCONN__SLOTS 16384

/* One node: a pool, kept while the slot map names it. */
typedef struct redisconn__cl_node {
    char *addr; /* "host:port" */
    redisconn_pool *pool;
    unsigned master : 1;  /* a master in the current map */
    unsigned in_map : 1;  /* named by the current map (else closed after a refresh) */
    unsigned closing : 1; /* its pool is closing */
} redisconn__cl_node;

/* A command on its way (route.c). */
typedef struct redisconn__cl_req {
    redisconn__link link; /* cluster->waiting while the map is awaited */
    redisconn_cluster *cluster;
    redisconn_reply_cb cb;
    void *privdata;
    int64_t timeout_ms;
    int slot; /* -1: no key, any master */
    int redirects;
    int retries;
    int ask_node; /* >= 0: the next attempt goes to this node with ASKING */
    unsigned resent_after_refresh : 1;
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
    int refreshing;    /* a CLUSTER SLOTS is out */
    int refresh_next;  /* which node or seed to ask next */
    int refresh_again; /* asked for while one was out */
    uint64_t last_refresh_us;
    redisconn__timer refresh_timer; /* periodic refresh, and the throttled on-demand one */
    redisconn__link waiting;        /* requests waiting for a slot map */
    redisconn__defer defer;
    redisconn__defer_item close_item;
    redisconn__resp_buf resp; /* the RESP encoder's buffer */
    int closing_pools; /* node pools whose close has not completed */
    int requests;      /* commands not yet called back (the close waits for them) */
    redisconn_cluster_stats stats;
    unsigned closed : 1;
    unsigned close_done : 1;
    redisconn_cluster_close_cb close_cb;
    void *close_arg;
};

/* ---- cluster.c --------------------------------------------------------- */

/* The node for "host:port", created (with its pool) if unknown. Returns its
 * index, or -1 when out of memory or the pool cannot be made. */
int redisconn__cluster_node(redisconn_cluster *cl, const char *addr);

/* Closes the pools of nodes the current map no longer names. */
void redisconn__cluster_drop_unused(redisconn_cluster *cl);

/* Something the close waits for has finished: look again (from the loop). */
void redisconn__cluster_progress(redisconn_cluster *cl);

/* ---- slots.c ----------------------------------------------------------- */

/* The node index owning `slot`, or -1 (no map, or the slot uncovered). For
 * slot -1 (no key): some master, or -1. */
int redisconn__slots_owner(const redisconn_cluster *cl, int slot);

/* Asks for a new slot map now (coalesced: one at a time; throttled to
 * min_refresh_interval_ms unless `urgent`). Waiting requests are dispatched
 * (or failed) when it completes. */
void redisconn__slots_refresh(redisconn_cluster *cl, int urgent);

/* Starts the periodic refresh timer (cluster creation). */
void redisconn__slots_init(redisconn_cluster *cl);

/* ---- keys.c ------------------------------------------------------------ */

/* The slot of a RESP command's keys: 0..16383, -1 when it has no key (or is
 * unknown: MOVED will correct a guess), or a negative status: CROSSSLOT,
 * CLUSTER (refused on a cluster), UNSUPPORTED (malformed). */
int redisconn__keys_slot(const char *cmd, size_t len);

/* ---- route.c ----------------------------------------------------------- */

/* Starts a formatted command (copied). REDISCONN_OK (cb fires once later) or
 * a negative status (cb never fires). */
int redisconn__route_submit(redisconn_cluster *cl, int64_t timeout_ms, redisconn_reply_cb cb,
                            void *privdata, const char *cmd, size_t len);

/* The slot map arrived (ok) or could not be had (status, msg): the waiting
 * requests go on or fail. */
void redisconn__route_map_ready(redisconn_cluster *cl, int status, const char *msg);

#endif
