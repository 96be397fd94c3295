/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cluster.c: the cluster client's life cycle — seeds, a pool per node
 * (created when the map or a redirection first names the node, closed when
 * the map no longer does), statistics, leases by key, broadcasts to every
 * master, and asynchronous close.
 */
#include "cluster/internal.h"
#include "pool/addr.h"
#include "pool/replica.h"
#include "util/clock.h"
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

void redisconn_cluster_options_init(redisconn_cluster_options *o)
{
    memset(o, 0, sizeof(*o));
    redisconn_pool_options_init(&o->pool);
    o->max_redirects = 5;
    o->max_retries = 3;
    o->refresh_interval_ms = 30000;
    o->min_refresh_interval_ms = 100;
    o->refresh_timeout_ms = 2000;
    o->read_from_replicas = 0;
}

/* ---- nodes -------------------------------------------------------------- */

static void on_defer(redisconn__defer_item *item);

void redisconn__cluster_progress(redisconn_cluster *cl)
{
    if (cl->closed) redisconn__defer_post(&cl->defer, &cl->close_item, on_defer);
}

static void on_node_closed(redisconn_pool *pool, void *arg)
{
    redisconn__cl_node *n = arg;
    redisconn_cluster *cl = n->cluster;
    (void)pool;
    n->pool = NULL; /* the entry may be reused */
    cl->closing_pools--;
    redisconn__cluster_progress(cl);
}

/* Starts closing the node's pool (once); the entry is reusable when it completed. */
static void close_node(redisconn_cluster *cl, redisconn__cl_node *n)
{
    if (n->closing || n->pool == NULL) return;
    n->closing = 1;
    n->in_map = n->master = 0;
    n->nreplicas = 0;
    cl->closing_pools++;
    redisconn_pool_close(n->pool, on_node_closed, n);
}

/* An entry for a new node: a closed one to reuse, or a new one at the end.
 * Returns its index, or -1 when out of memory. */
static int free_entry(redisconn_cluster *cl)
{
    redisconn__cl_node *n;
    for (int i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]->closing && cl->nodes[i]->pool == NULL) {
            free(cl->nodes[i]->addr);
            free(cl->nodes[i]->replicas);
            memset(cl->nodes[i], 0, sizeof(*cl->nodes[i]));
            return i;
        }
    if (cl->nnodes == cl->cap) {
        int cap = cl->cap ? cl->cap * 2 : 8;
        redisconn__cl_node **nodes;
        if (cap > 65535) return -1; /* slots[] holds index + 1 in 16 bits */
        nodes = realloc(cl->nodes, (size_t)cap * sizeof(*nodes));
        if (nodes == NULL) return -1;
        cl->nodes = nodes;
        cl->cap = cap;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL) return -1;
    cl->nodes[cl->nnodes] = n;
    return cl->nnodes++;
}

/* The entry for "host:port" in the role `replica` (0: a master's), created
 * with its pool (sending READONLY for a replica) if there is none. Returns
 * its index, or -1 when out of memory or the pool cannot be made. */
static int node_of(redisconn_cluster *cl, const char *addr, unsigned replica)
{
    redisconn__cl_node *n;
    redisconn_error err;
    int i;
    for (i = 0; i < cl->nnodes; i++) {
        n = cl->nodes[i];
        if (!n->closing && n->replica == replica && strcmp(n->addr, addr) == 0) return i;
    }
    if ((i = free_entry(cl)) < 0) return -1;
    n = cl->nodes[i];
    n->cluster = cl;
    n->replica = replica & 1u;
    n->addr = strdup(addr);
    n->pool =
        n->addr ? redisconn_pool_new_with_options(cl->base, addr, &cl->opts.pool, &err) : NULL;
    if (n->pool != NULL && replica && redisconn__pool_set_readonly(n->pool) != REDISCONN_OK) {
        redisconn_pool_close(n->pool, NULL, NULL); /* a new pool: cannot happen */
        n->pool = NULL;
    }
    if (n->pool == NULL) { /* left as a closed entry, reused next time */
        n->closing = 1;
        return -1;
    }
    return i;
}

int redisconn__cluster_node(redisconn_cluster *cl, const char *addr)
{
    return node_of(cl, addr, 0);
}

int redisconn__cluster_replica(redisconn_cluster *cl, const char *addr)
{
    return node_of(cl, addr, 1);
}

int redisconn__cluster_add_replica(redisconn_cluster *cl, int master, int replica)
{
    redisconn__cl_node *m = cl->nodes[master];
    for (int i = 0; i < m->nreplicas; i++)
        if (m->replicas[i] == replica) return 0;
    if (m->nreplicas == m->replicas_cap) {
        int cap = m->replicas_cap ? m->replicas_cap * 2 : 2;
        int *r = realloc(m->replicas, (size_t)cap * sizeof(*r));
        if (r == NULL) return -1;
        m->replicas = r;
        m->replicas_cap = cap;
    }
    m->replicas[m->nreplicas++] = replica;
    return 0;
}

void redisconn__cluster_node_host(const redisconn_cluster *cl, int node, char *out, size_t len)
{
    const char *addr, *colon;
    size_t n;
    out[0] = '\0';
    if (node < 0 || node >= cl->nnodes || cl->nodes[node]->addr == NULL) return;
    addr = cl->nodes[node]->addr;
    colon = strrchr(addr, ':');
    n = colon ? (size_t)(colon - addr) : strlen(addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') { /* "[::1]" */
        addr++;
        n -= 2;
    }
    snprintf(out, len, "%.*s", (int)n, addr);
}

void redisconn__cluster_drop_unused(redisconn_cluster *cl)
{
    for (int i = 0; i < cl->nnodes; i++)
        if (!cl->nodes[i]->in_map) close_node(cl, cl->nodes[i]);
}

/* ---- creation ------------------------------------------------------------ */

/* "host:port[,host:port...]" (after any "redis-cluster://" and credentials)
 * into cl->seeds, each checked as an address. */
static int parse_seeds(redisconn_cluster *cl, const char *list, const char **why)
{
    redisconn__addr probe;
    int rc = redisconn__addr_parse_sentinels(list, "seeds", &probe, why);
    if (rc != REDISCONN_OK) return rc;
    cl->seeds = calloc((size_t)probe.nsentinels, sizeof(*cl->seeds));
    for (int i = 0; cl->seeds && i < probe.nsentinels; i++) {
        cl->seeds[i] = strdup(probe.sentinels[i].text);
        if (cl->seeds[i] == NULL) rc = REDISCONN_ERR_NOMEM;
        cl->nseeds = i + 1;
    }
    if (cl->seeds == NULL) rc = REDISCONN_ERR_NOMEM;
    redisconn__addr_free(&probe);
    return rc;
}

/* Splits "redis-cluster://[[user]:password@]list" into credentials and list. */
static int parse_url(redisconn_cluster *cl, const char *addrs, const char **why)
{
    const char *list = addrs, *at;
    int failed = 0;
    if (strncmp(addrs, "redis-cluster://", 16) == 0) {
        list = addrs + 16;
        at = strrchr(list, '@');
        if (at != NULL) {
            char url[512];
            redisconn__addr a;
            int rc;
            snprintf(url, sizeof(url), "redis://%.*s@x:1", (int)(at - list), list);
            rc = redisconn__addr_parse(url, &a, why);
            if (rc != REDISCONN_OK) return rc;
            cl->username = redisconn__str_dup_opt(a.username, &failed);
            cl->password = redisconn__str_dup_opt(a.password, &failed);
            redisconn__addr_free(&a);
            list = at + 1;
        }
    }
    if (failed) return REDISCONN_ERR_NOMEM;
    return parse_seeds(cl, list, why);
}

static void cluster_free(redisconn_cluster *cl)
{
    for (int i = 0; i < cl->nnodes; i++) {
        free(cl->nodes[i]->addr);
        free(cl->nodes[i]->replicas);
        free(cl->nodes[i]);
    }
    free(cl->nodes);
    free(cl->candidates);
    free(cl->pairs);
    for (int i = 0; i < cl->nseeds; i++)
        free(cl->seeds[i]);
    free(cl->seeds);
    redisconn__timer_destroy(&cl->refresh_timer);
    redisconn__timer_destroy(&cl->wait_timer);
    redisconn__defer_destroy(&cl->defer);
    redisconn__resp_buf_free(&cl->resp);
    free(cl->username);
    free(cl->client_name);
    if (cl->password) {
        memset(cl->password, 0, strlen(cl->password));
        free(cl->password);
    }
    free(cl);
}

static redisconn_cluster *new_failed(redisconn_cluster *cl, redisconn_error *err, int status,
                                     const char *why)
{
    if (cl) cluster_free(cl);
    if (err) {
        err->status = status;
        snprintf(err->message, sizeof(err->message), "%s", why);
    }
    return NULL;
}

/* The options every node's pool gets: ours, with the URL's credentials. */
static int check_options(redisconn_cluster *cl, const redisconn_cluster_options *o,
                         const char **why)
{
    int failed = 0;
    cl->opts = *o;
    if (o->pool.db != 0) {
        *why = "a cluster has only database 0 (option pool.db)";
        return REDISCONN_ERR_INVALID;
    }
    if (o->max_redirects < 0 || o->max_retries < 0 || o->refresh_interval_ms < 0 ||
        o->min_refresh_interval_ms < 0 || o->refresh_timeout_ms < 0) {
        *why = "cluster options must not be negative";
        return REDISCONN_ERR_INVALID;
    }
    if (o->read_from_replicas != 0 && o->read_from_replicas != 1) {
        *why = "cluster option read_from_replicas must be 0 or 1";
        return REDISCONN_ERR_INVALID;
    }
    if (cl->password == NULL) {
        cl->username = redisconn__str_dup_opt(o->pool.username, &failed);
        cl->password = redisconn__str_dup_opt(o->pool.password, &failed);
    }
    cl->client_name = redisconn__str_dup_opt(o->pool.client_name, &failed);
    cl->opts.pool.username = cl->username;
    cl->opts.pool.password = cl->password;
    cl->opts.pool.client_name = cl->client_name; /* node pools are made later */
    cl->opts.pool.sentinel_master = NULL;
    return failed ? REDISCONN_ERR_NOMEM : REDISCONN_OK;
}

redisconn_cluster *redisconn_cluster_new(struct event_base *base, const char *addrs,
                                         const redisconn_cluster_options *opts,
                                         redisconn_error *err)
{
    redisconn_cluster_options defaults;
    redisconn_cluster *cl;
    const char *why = "out of memory";
    int rc;
    if (opts == NULL) {
        redisconn_cluster_options_init(&defaults);
        opts = &defaults;
    }
    if (base == NULL || addrs == NULL)
        return new_failed(NULL, err, REDISCONN_ERR_INVALID, "no event_base or address given");
    cl = calloc(1, sizeof(*cl));
    if (cl == NULL) return new_failed(NULL, err, REDISCONN_ERR_NOMEM, why);
    cl->base = base;
    redisconn__list_init(&cl->waiting);
    redisconn__list_init(&cl->retrying);
    redisconn__timer_init(&cl->refresh_timer, base, NULL, cl);
    redisconn__route_init(cl);
    if (redisconn__defer_init(&cl->defer, base) != 0)
        return new_failed(cl, err, REDISCONN_ERR_NOMEM, why);
    rc = parse_url(cl, addrs, &why);
    if (rc == REDISCONN_OK) rc = check_options(cl, opts, &why);
    if (rc != REDISCONN_OK) return new_failed(cl, err, rc, why);
    redisconn__slots_init(cl);
    redisconn__slots_refresh(cl); /* the first map, from the seeds */
    if (err) {
        err->status = REDISCONN_OK;
        err->message[0] = '\0';
    }
    return cl;
}

/* ---- commands ------------------------------------------------------------ */

static int check(const redisconn_cluster *cl, int64_t timeout_ms)
{
    if (cl == NULL || timeout_ms < 0) return REDISCONN_ERR_INVALID;
    return cl->closed ? REDISCONN_ERR_CLOSED : REDISCONN_OK;
}

int redisconn_cluster_commandv(redisconn_cluster *cl, int64_t timeout_ms, redisconn_reply_cb cb,
                               void *privdata, const char *fmt, va_list ap)
{
    const char *cmd;
    size_t len;
    int rc = check(cl, timeout_ms);
    if (rc != REDISCONN_OK) return rc;
    if (fmt == NULL) return REDISCONN_ERR_INVALID;
    rc = redisconn__resp_vformat(&cl->resp, &cmd, &len, fmt, ap);
    if (rc != REDISCONN_OK) return rc;
    return redisconn__route_submit(cl, timeout_ms, cb, privdata, cmd, len);
}

int redisconn_cluster_command(redisconn_cluster *cl, int64_t timeout_ms, redisconn_reply_cb cb,
                              void *privdata, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = redisconn_cluster_commandv(cl, timeout_ms, cb, privdata, fmt, ap);
    va_end(ap);
    return rc;
}

int redisconn_cluster_command_argv(redisconn_cluster *cl, int64_t timeout_ms, redisconn_reply_cb cb,
                                   void *privdata, int argc, const char **argv,
                                   const size_t *argvlen)
{
    const char *cmd;
    size_t len;
    int rc = check(cl, timeout_ms);
    if (rc != REDISCONN_OK) return rc;
    rc = redisconn__resp_argv(&cl->resp, &cmd, &len, argc, argv, argvlen);
    if (rc != REDISCONN_OK) return rc;
    return redisconn__route_submit(cl, timeout_ms, cb, privdata, cmd, len);
}

redisconn_acquire *redisconn_cluster_acquire(redisconn_cluster *cl, const char *key, size_t keylen,
                                             int64_t timeout_ms, redisconn_acquire_cb cb, void *arg)
{
    int node;
    if (cl == NULL || key == NULL || cb == NULL || cl->closed) return NULL;
    node = redisconn__slots_owner(cl, redisconn_cluster_keyslot(key, keylen));
    if (node < 0 && cl->nseeds > 0) node = redisconn__cluster_node(cl, cl->seeds[0]);
    if (node < 0) return NULL;
    /* before the first map: a seed's lease; its MOVED tells where the key is */
    return redisconn_pool_acquire(cl->nodes[node]->pool, timeout_ms, cb, arg);
}

/* ---- broadcast ------------------------------------------------------------ */

struct redisconn__cl_bcast {
    redisconn_cluster *cluster;
    redisconn_cluster_broadcast_cb cb;
    void *privdata;
    int nodes, left, failed;
    char errmsg[200];
};

static void on_bcast(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    redisconn__cl_bcast *b = privdata;
    (void)conn;
    if (status != REDISCONN_OK || reply->type == REDIS_REPLY_ERROR) {
        if (b->failed++ == 0)
            snprintf(b->errmsg, sizeof(b->errmsg), "%s",
                     status == REDISCONN_OK ? reply->str : redisconn_strerror(status));
    }
    if (--b->left > 0) return;
    b->cb(b->cluster, b->nodes, b->failed, b->failed ? b->errmsg : NULL, b->privdata);
    free(b);
}

int redisconn_cluster_broadcast(redisconn_cluster *cl, int64_t timeout_ms,
                                redisconn_cluster_broadcast_cb cb, void *privdata, const char *fmt,
                                ...)
{
    redisconn__cl_bcast *b;
    const char *cmd;
    size_t len;
    int rc = check(cl, timeout_ms);
    va_list ap;
    if (rc != REDISCONN_OK) return rc;
    if (cb == NULL || fmt == NULL) return REDISCONN_ERR_INVALID;
    if (!cl->have_map) return REDISCONN_ERR_STATE;
    va_start(ap, fmt);
    rc = redisconn__resp_vformat(&cl->resp, &cmd, &len, fmt, ap);
    va_end(ap);
    if (rc != REDISCONN_OK) return rc;
    b = calloc(1, sizeof(*b));
    if (b == NULL) return REDISCONN_ERR_NOMEM;
    *b = (redisconn__cl_bcast){.cluster = cl, .cb = cb, .privdata = privdata, .left = 1};
    for (int i = 0; i < cl->nnodes; i++) { /* `left` holds one extra until all are sent */
        redisconn__cl_node *n = cl->nodes[i];
        if (!n->master || !n->in_map || n->closing) continue;
        b->left++;
        b->nodes++;
        if (redisconn_pool_command_formatted(n->pool, timeout_ms, on_bcast, b, cmd, len) !=
            REDISCONN_OK) {
            b->left--;
            b->failed++;
        }
    }
    if (b->nodes == b->failed) { /* nothing was sent: nothing will call back */
        free(b);
        return REDISCONN_ERR_STATE;
    }
    b->left--; /* the extra one: the callbacks may now finish it */
    return REDISCONN_OK;
}

/* ---- stats and close -------------------------------------------------------- */

static void add_stats(redisconn_pool_stats *sum, const redisconn_pool_stats *s)
{
    sum->active_count += s->active_count;
    sum->idle_count += s->idle_count;
    sum->in_use_count += s->in_use_count;
    sum->waiting_count += s->waiting_count;
    sum->dialing_count += s->dialing_count;
    sum->shared_count += s->shared_count;
    sum->wait_count += s->wait_count;
    sum->wait_duration_us += s->wait_duration_us;
    sum->acquires += s->acquires;
    sum->dials += s->dials;
    sum->dial_errors += s->dial_errors;
    sum->acquire_timeouts += s->acquire_timeouts;
    sum->command_timeouts += s->command_timeouts;
    sum->pool_commands += s->pool_commands;
    sum->pool_command_timeouts += s->pool_command_timeouts;
    sum->fast_failed += s->fast_failed;
    sum->server_down += s->server_down;
}

void redisconn_cluster_get_stats(const redisconn_cluster *cl, redisconn_cluster_stats *stats)
{
    if (cl == NULL || stats == NULL) return;
    *stats = cl->stats;
    memset(&stats->pool, 0, sizeof(stats->pool));
    stats->nodes = stats->masters = stats->replicas = 0;
    for (int i = 0; i < cl->nnodes; i++) {
        redisconn_pool_stats s;
        if (cl->nodes[i]->closing) continue;
        stats->nodes++;
        stats->masters += cl->nodes[i]->master && cl->nodes[i]->in_map;
        stats->replicas += cl->nodes[i]->replica && cl->nodes[i]->in_map;
        redisconn_pool_get_stats(cl->nodes[i]->pool, &s);
        add_stats(&stats->pool, &s);
    }
}

int redisconn_cluster_node_stats(const redisconn_cluster *cl, int index, const char **addr,
                                 int *is_master, redisconn_pool_stats *stats)
{
    const redisconn__cl_node *n = NULL;
    if (cl == NULL || index < 0) return REDISCONN_ERR_INVALID;
    for (int i = 0; i < cl->nnodes && n == NULL; i++) /* the index-th node with a pool */
        if (!cl->nodes[i]->closing && index-- == 0) n = cl->nodes[i];
    if (n == NULL) return REDISCONN_ERR_INVALID;
    if (addr) *addr = n->addr;
    if (is_master) *is_master = n->master && n->in_map;
    if (stats) redisconn_pool_get_stats(n->pool, stats);
    return REDISCONN_OK;
}

/* From the loop: the close progresses, and completes once every pool closed. */
static void on_defer(redisconn__defer_item *item)
{
    redisconn_cluster *cl = REDISCONN_CONTAINER_OF(item, redisconn_cluster, close_item);
    redisconn__route_map_ready(cl, REDISCONN_ERR_CLOSED); /* the waiting requests */
    redisconn__route_close(cl);                           /* those in back-off */
    for (int i = 0; i < cl->nnodes; i++)
        close_node(cl, cl->nodes[i]);
    if (cl->closing_pools > 0 || cl->refreshing || cl->requests > 0 || cl->close_done ||
        redisconn__defer_queued(&cl->close_item))
        return;
    cl->close_done = 1;
    if (cl->close_cb) cl->close_cb(cl, cl->close_arg);
    cluster_free(cl);
}

int redisconn_cluster_close(redisconn_cluster *cl, redisconn_cluster_close_cb cb, void *arg)
{
    if (cl == NULL) return REDISCONN_ERR_INVALID;
    if (cl->closed) return REDISCONN_ERR_STATE;
    cl->closed = 1;
    cl->close_cb = cb;
    cl->close_arg = arg;
    redisconn__timer_disarm(&cl->refresh_timer);
    redisconn__timer_disarm(&cl->wait_timer);
    redisconn__defer_post(&cl->defer, &cl->close_item, on_defer);
    return REDISCONN_OK;
}
