/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * globalcache.c: the global blob cache carried in a context (a factory of
 * per-namespace caches), and get / set on it bounded by the context.
 */
#include "redisconn/blobcache.h"
#include "server/context/ctxop.h"

#include <stddef.h>
#include <stdlib.h>

/* The context key of the factory: an address nobody else can have. */
static const char factory_key;

/* The context's free function for the factory it owns. */
static void free_factory(void *factory)
{
    redisconn_blobcache_factory_free(factory);
}

/* A value node owning the factory. */
redisconn_ctx *redisconn_with_global_cache(redisconn_ctx *ctx, redisconn_blobcache_factory *factory)
{
    if (ctx == NULL || factory == NULL) return NULL;
    return redisconn_ctx_with_value(ctx, &factory_key, factory, free_factory);
}

/* The nearest factory's cache for `ns`. */
redisconn_blobcache *redisconn_global_cache(const redisconn_ctx *ctx, const char *ns)
{
    redisconn_blobcache_factory *f = ctx ? redisconn_ctx_value(ctx, &factory_key) : NULL;
    return f ? redisconn_blobcache_factory_get(f, ns) : NULL;
}

/* A get or set on the global cache, bound to its context. */
typedef struct cache_op {
    redisconn__ctxop op; /* first: ctxop frees the block through it */
    redisconn_blobcache_get_cb get_cb;
    redisconn_blobcache_set_cb set_cb; /* for sets; may be NULL */
    void *arg;
} cache_op;

_Static_assert(offsetof(cache_op, op) == 0, "the ctxop must come first");

/* Early or context failure: the caller's callback without a value. */
static void op_fail(redisconn__ctxop *op, int status)
{
    cache_op *c = (cache_op *)(void *)op;
    if (c->get_cb != NULL)
        c->get_cb(status, NULL, 0, c->arg);
    else if (c->set_cb != NULL)
        c->set_cb(status, c->arg);
}

/* The cache's answer to a get: delivered unless the context ended first. */
static void on_get(int status, const void *value, size_t len, void *arg)
{
    cache_op *c = arg;
    if (redisconn__ctxop_claim(&c->op)) c->get_cb(status, value, len, c->arg);
    redisconn__ctxop_free(&c->op);
}

/* The cache's answer to a set: delivered unless the context ended first. */
static void on_set(int status, void *arg)
{
    cache_op *c = arg;
    if (redisconn__ctxop_claim(&c->op) && c->set_cb != NULL) c->set_cb(status, c->arg);
    redisconn__ctxop_free(&c->op);
}

/*
 * Allocates the operation and finds the cache. REDISCONN_OK: start it now
 * on `*cache`; REDISCONN__CTXOP_EARLY_RC: its status is on its way; an error:
 * nothing was kept, nobody is called.
 */
static int prepare(redisconn_ctx *ctx, const char *ns, redisconn_blobcache_get_cb get_cb,
                   redisconn_blobcache_set_cb set_cb, void *arg, cache_op **out,
                   redisconn_blobcache **cache)
{
    redisconn_blobcache_factory *f = redisconn_ctx_value(ctx, &factory_key);
    cache_op *c = calloc(1, sizeof(*c));
    if (c == NULL) return REDISCONN_ERR_NOMEM;
    c->get_cb = get_cb;
    c->set_cb = set_cb;
    c->arg = arg;
    redisconn__ctxop_init(&c->op, ctx, op_fail, NULL); /* cache work runs to its end */
    if (f == NULL) return redisconn__ctxop_fail_later(&c->op, REDISCONN_ERR_NOT_CONFIGURED);
    if ((*cache = redisconn_blobcache_factory_get(f, ns)) == NULL) {
        redisconn__ctxop_free(&c->op);
        return REDISCONN_ERR_NOMEM; /* the namespace was checked: making it failed */
    }
    *out = c;
    return redisconn__ctxop_begin(&c->op, NULL);
}

/* Arguments checked first: an invalid call never schedules anything. */
int redisconn_cache_get(redisconn_ctx *ctx, const char *ns, const void *key, size_t keylen,
                        redisconn_blobcache_get_cb cb, void *arg)
{
    redisconn_blobcache *cache = NULL;
    cache_op *c = NULL;
    int rc;
    if (ctx == NULL || cb == NULL || !redisconn_blobcache_namespace_valid(ns) ||
        (key == NULL && keylen > 0))
        return REDISCONN_ERR_INVALID;
    rc = prepare(ctx, ns, cb, NULL, arg, &c, &cache);
    if (rc != REDISCONN_OK) return redisconn__ctxop_result(rc);
    rc = redisconn_blobcache_get(cache, key, keylen, on_get, c);
    return redisconn__ctxop_started(&c->op, rc);
}

/* Arguments checked first: an invalid call never schedules anything. */
int redisconn_cache_set(redisconn_ctx *ctx, const char *ns, const void *key, size_t keylen,
                        const void *value, size_t len, int64_t ttl_ms,
                        redisconn_blobcache_set_cb cb, void *arg)
{
    redisconn_blobcache *cache = NULL;
    cache_op *c = NULL;
    int rc;
    if (ctx == NULL || !redisconn_blobcache_namespace_valid(ns) || (key == NULL && keylen > 0) ||
        (value == NULL && len > 0) || ttl_ms < 0)
        return REDISCONN_ERR_INVALID;
    rc = prepare(ctx, ns, NULL, cb, arg, &c, &cache);
    if (rc != REDISCONN_OK) return redisconn__ctxop_result(rc);
    rc = redisconn_blobcache_set(cache, key, keylen, value, len, ttl_ms, on_set, c);
    return redisconn__ctxop_started(&c->op, rc);
}
