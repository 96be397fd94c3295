/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blobcache_redis.c: the blob cache on Redis through a redisconn pool.
 *
 * An operation owns copies of its key (with the "<prefix><ns>:" prefix,
 * "luci.blobcache.<ns>:" by default: the Go server's keys) and value, leases a connection, sends
 * one binary-safe command (GET, SET or PSETEX, as an argument vector), releases the connection when
 * the reply arrives and calls back. On a Redis Cluster (redisconn/cluster.h)
 * the command goes through the cluster instead, routed by its key, without
 * a lease. Every step's callback comes from the pool (or the cluster), hence
 * from the loop; an operation needs nothing from the cache object once
 * started, so the cache may be freed while operations run.
 */
#include "redisconn/blobcache.h"
#include "redisconn/cluster.h"
#include "redisconn/pool.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct redis_cache {
    redisconn_pool *pool;       /* exactly one of the two */
    redisconn_cluster *cluster; /* commands routed by key, no lease */
    size_t plen;
    char prefix[]; /* "<prefix><ns>:", not NUL-terminated */
} redis_cache;

typedef struct redis_op {
    redisconn_blobcache_get_cb get_cb; /* exactly one of the two is set */
    redisconn_blobcache_set_cb set_cb; /* for sets; may be NULL */
    void *arg;
    int64_t ttl_ms;
    size_t klen, vlen;
    char data[]; /* prefixed key, then value */
} redis_op;

/* Keys and values larger than this are refused (Redis's own limit is 512 MB). */
#define MAX_BLOB (SIZE_MAX / 4)

/* Calls the owner back exactly once and frees the operation. */
static void finish(redis_op *op, int status, const char *value, size_t len)
{
    if (op->get_cb != NULL) {
        if (status != REDISCONN_OK) {
            value = NULL;
            len = 0;
        }
        op->get_cb(status, value, len, op->arg);
    } else if (op->set_cb != NULL) {
        op->set_cb(status, op->arg);
    }
    free(op);
}

/* Reply of GET / SET / PSETEX: a nil GET is a miss; anything unexpected is
 * an error, never a miss. */
static void on_reply(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    redis_op *op = privdata;
    /* Give the lease back first: `reply` stays valid until we return. */
    redisconn_release(conn);
    if (status != REDISCONN_OK) {
        finish(op, status, NULL, 0);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        finish(op, REDISCONN_ERR_REPLY, NULL, 0);
    } else if (op->get_cb != NULL && reply->type == REDIS_REPLY_NIL) {
        finish(op, REDISCONN_ERR_CACHE_MISS, NULL, 0);
    } else if (op->get_cb != NULL && reply->type == REDIS_REPLY_STRING) {
        finish(op, REDISCONN_OK, reply->str ? reply->str : "", reply->len);
    } else if (op->get_cb == NULL && reply->type == REDIS_REPLY_STATUS) {
        finish(op, REDISCONN_OK, NULL, 0);
    } else {
        finish(op, REDISCONN_ERR_PROTOCOL, NULL, 0); /* a reply type GET/SET never send */
    }
}

/* Command arguments under construction. */
typedef struct cmd_args {
    const char *argv[4];
    size_t lens[4];
    int argc;
} cmd_args;

/* Appends one argument (at most 4 are ever pushed). */
static void arg_push(cmd_args *a, const char *s, size_t n)
{
    a->argv[a->argc] = s;
    a->lens[a->argc] = n;
    a->argc++;
}

/* Sends the operation's command on a leased connection (or, `conn` NULL,
 * through `cluster`): GET key, SET key value, or PSETEX key ttl value. */
static int send_command(redis_op *op, redisconn_conn *conn, redisconn_cluster *cluster)
{
    char ttl[24];
    cmd_args a = {{NULL}, {0}, 0};

    if (op->get_cb != NULL)
        arg_push(&a, "GET", 3);
    else
        arg_push(&a, op->ttl_ms == 0 ? "SET" : "PSETEX", op->ttl_ms == 0 ? 3 : 6);
    arg_push(&a, op->data, op->klen);
    if (op->get_cb == NULL && op->ttl_ms != 0) {
        snprintf(ttl, sizeof(ttl), "%" PRId64, op->ttl_ms);
        arg_push(&a, ttl, strlen(ttl));
    }
    if (op->get_cb == NULL) arg_push(&a, op->data + op->klen, op->vlen);
    if (conn == NULL)
        return redisconn_cluster_command_argv(cluster, 0, on_reply, op, a.argc, a.argv, a.lens);
    return redisconn_command_argv(conn, on_reply, op, a.argc, a.argv, a.lens);
}

/* A connection (or an acquire failure): send, or call back the failure. */
static void on_acquired(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    redis_op *op = arg;
    (void)errmsg;
    if (status == REDISCONN_OK && (status = send_command(op, conn, NULL)) != REDISCONN_OK)
        redisconn_release(conn);
    if (status != REDISCONN_OK) finish(op, status, NULL, 0);
}

/* A new operation carrying the prefixed key and the value, or NULL. */
static redis_op *op_new(const redis_cache *rc, const void *key, size_t keylen, const void *value,
                        size_t len)
{
    redis_op *op;
    if (keylen > MAX_BLOB || len > MAX_BLOB) return NULL;
    if ((op = calloc(1, sizeof(*op) + rc->plen + keylen + len)) == NULL) return NULL;
    memcpy(op->data, rc->prefix, rc->plen);
    if (keylen > 0) memcpy(op->data + rc->plen, key, keylen);
    if (len > 0) memcpy(op->data + rc->plen + keylen, value, len);
    op->klen = rc->plen + keylen;
    op->vlen = len;
    return op;
}

/* Starts the acquire (or, on a cluster, the command); on failure the
 * operation is freed, nobody called. */
static int start(const redis_cache *rc, redis_op *op)
{
    int status;
    if (rc->cluster != NULL) {
        if ((status = send_command(op, NULL, rc->cluster)) != REDISCONN_OK) free(op);
        return status;
    }
    if (redisconn_pool_acquire(rc->pool, REDISCONN_BLOBCACHE_REDIS_ACQUIRE_TIMEOUT_MS, on_acquired,
                               op) != NULL)
        return REDISCONN_OK;
    free(op);
    return REDISCONN_ERR_NOMEM; /* the arguments are valid: only memory can fail */
}

/* Starts GET; the callback comes from the pool's callbacks. */
static int redis_get(void *impl, const void *key, size_t keylen, redisconn_blobcache_get_cb cb,
                     void *arg)
{
    redis_cache *rc = impl;
    redis_op *op = op_new(rc, key, keylen, NULL, 0);
    if (op == NULL) return REDISCONN_ERR_NOMEM;
    op->get_cb = cb;
    op->arg = arg;
    return start(rc, op);
}

/* Starts SET / PSETEX; the callback comes from the pool's callbacks. */
static int redis_set(void *impl, const void *key, size_t keylen, const void *value, size_t len,
                     int64_t ttl_ms, redisconn_blobcache_set_cb cb, void *arg)
{
    redis_cache *rc = impl;
    redis_op *op = op_new(rc, key, keylen, value, len);
    if (op == NULL) return REDISCONN_ERR_NOMEM;
    op->set_cb = cb;
    op->arg = arg;
    op->ttl_ms = ttl_ms;
    return start(rc, op);
}

static const redisconn_blobcache_ops redis_ops = {"redis", redis_get, redis_set, free};

/* A cache for one namespace on `pool` or `cluster`; the key prefix is built once. */
static redisconn_blobcache *cache_new(redisconn_pool *pool, redisconn_cluster *cluster,
                                      const char *prefix, const char *ns)
{
    size_t pl, n;
    redis_cache *rc;
    redisconn_blobcache *c;

    if (prefix == NULL) prefix = REDISCONN_BLOBCACHE_REDIS_PREFIX;
    pl = strnlen(prefix, REDISCONN_BLOBCACHE_MAX_PREFIX + 1);
    if ((pool == NULL && cluster == NULL) || pl > REDISCONN_BLOBCACHE_MAX_PREFIX ||
        !redisconn_blobcache_namespace_valid(ns))
        return NULL;
    n = strlen(ns);
    if ((rc = malloc(sizeof(*rc) + pl + n + 1)) == NULL) return NULL;
    rc->pool = pool;
    rc->cluster = cluster;
    rc->plen = pl + n + 1;
    memcpy(rc->prefix, prefix, pl);
    memcpy(rc->prefix + pl, ns, n);
    rc->prefix[pl + n] = ':';
    if ((c = redisconn_blobcache_new(&redis_ops, rc)) == NULL) free(rc);
    return c;
}

redisconn_blobcache *redisconn_blobcache_redis_new_prefixed(redisconn_pool *pool,
                                                            const char *prefix, const char *ns)
{
    return pool ? cache_new(pool, NULL, prefix, ns) : NULL;
}

/* The Go server's prefix. */
redisconn_blobcache *redisconn_blobcache_redis_new(redisconn_pool *pool, const char *ns)
{
    return redisconn_blobcache_redis_new_prefixed(pool, NULL, ns);
}

redisconn_blobcache *redisconn_blobcache_redis_cluster_new(redisconn_cluster *cluster,
                                                           const char *prefix, const char *ns)
{
    return cluster ? cache_new(NULL, cluster, prefix, ns) : NULL;
}

/* What a cluster factory makes its caches with. */
typedef struct cluster_factory {
    redisconn_cluster *cluster; /* borrowed */
    char prefix[];
} cluster_factory;

static redisconn_blobcache *make_on_cluster(void *arg, const char *ns)
{
    cluster_factory *f = arg;
    return redisconn_blobcache_redis_cluster_new(f->cluster, f->prefix, ns);
}

redisconn_blobcache_factory *redisconn_blobcache_factory_redis_cluster(redisconn_cluster *cluster,
                                                                       const char *prefix)
{
    cluster_factory *f;
    redisconn_blobcache_factory *factory;
    size_t n;
    if (prefix == NULL) prefix = REDISCONN_BLOBCACHE_REDIS_PREFIX;
    n = strnlen(prefix, REDISCONN_BLOBCACHE_MAX_PREFIX + 1);
    if (cluster == NULL || n > REDISCONN_BLOBCACHE_MAX_PREFIX) return NULL;
    if ((f = malloc(sizeof(*f) + n + 1)) == NULL) return NULL;
    f->cluster = cluster;
    memcpy(f->prefix, prefix, n + 1);
    factory = redisconn_blobcache_factory_new(make_on_cluster, f, free);
    if (factory == NULL) free(f);
    return factory;
}
