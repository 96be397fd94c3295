/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blobcache_factory.c: factories of per-namespace caches — the generic one
 * (a make function plus the caches it made, kept in a short list: a server
 * uses a handful of namespaces), and the Redis and LRU flavours.
 */
#include "redisconn/blobcache.h"

#include <stdlib.h>
#include <string.h>

typedef struct ns_cache {
    struct ns_cache *next;
    redisconn_blobcache *cache;
    char ns[]; /* NUL-terminated */
} ns_cache;

struct redisconn_blobcache_factory {
    redisconn_blobcache_make_fn make;
    void *arg;
    void (*free_arg)(void *arg);
    ns_cache *caches; /* most recently made first */
};

/* An empty factory around `make`; nothing is made yet. */
redisconn_blobcache_factory *redisconn_blobcache_factory_new(redisconn_blobcache_make_fn make,
                                                             void *arg, void (*free_arg)(void *arg))
{
    redisconn_blobcache_factory *f;
    if (make == NULL || (f = calloc(1, sizeof(*f))) == NULL) return NULL;
    f->make = make;
    f->arg = arg;
    f->free_arg = free_arg;
    return f;
}

/* Frees the caches, then the argument, then the factory. */
void redisconn_blobcache_factory_free(redisconn_blobcache_factory *f)
{
    if (f == NULL) return;
    while (f->caches != NULL) {
        ns_cache *c = f->caches;
        f->caches = c->next;
        redisconn_blobcache_free(c->cache);
        free(c);
    }
    if (f->free_arg != NULL) f->free_arg(f->arg);
    free(f);
}

/* The cache made for `ns` before, or a new one kept for next time. */
redisconn_blobcache *redisconn_blobcache_factory_get(redisconn_blobcache_factory *f, const char *ns)
{
    size_t n;
    ns_cache *c;
    if (f == NULL || !redisconn_blobcache_namespace_valid(ns)) return NULL;
    for (c = f->caches; c != NULL; c = c->next)
        if (strcmp(c->ns, ns) == 0) return c->cache;
    n = strlen(ns);
    if ((c = malloc(sizeof(*c) + n + 1)) == NULL) return NULL;
    if ((c->cache = f->make(f->arg, ns)) == NULL) {
        free(c);
        return NULL;
    }
    memcpy(c->ns, ns, n + 1);
    c->next = f->caches;
    f->caches = c;
    return c->cache;
}

/* What the Redis factory needs to make its caches. */
typedef struct redis_source {
    struct redisconn_pool *pool; /* borrowed */
    char prefix[];               /* NUL-terminated */
} redis_source;

/* Redis: one cache per namespace on the same pool, with the same prefix. */
static redisconn_blobcache *make_redis(void *arg, const char *ns)
{
    redis_source *s = arg;
    return redisconn_blobcache_redis_new_prefixed(s->pool, s->prefix, ns);
}

/* The pool is borrowed: the factory never closes it; the prefix is copied. */
redisconn_blobcache_factory *redisconn_blobcache_factory_redis_prefixed(struct redisconn_pool *pool,
                                                                        const char *prefix)
{
    redis_source *s;
    redisconn_blobcache_factory *f;
    size_t n;
    if (prefix == NULL) prefix = REDISCONN_BLOBCACHE_REDIS_PREFIX;
    n = strnlen(prefix, REDISCONN_BLOBCACHE_MAX_PREFIX + 1);
    if (pool == NULL || n > REDISCONN_BLOBCACHE_MAX_PREFIX) return NULL;
    if ((s = malloc(sizeof(*s) + n + 1)) == NULL) return NULL;
    s->pool = pool;
    memcpy(s->prefix, prefix, n + 1);
    if ((f = redisconn_blobcache_factory_new(make_redis, s, free)) == NULL) free(s);
    return f;
}

/* The Go server's prefix. */
redisconn_blobcache_factory *redisconn_blobcache_factory_redis(struct redisconn_pool *pool)
{
    return redisconn_blobcache_factory_redis_prefixed(pool, NULL);
}

/* What the LRU factory needs to make its caches. */
typedef struct lru_source {
    struct event_base *base;
    size_t max_bytes;
    redisconn_blobcache *first; /* owned by the factory's list */
} lru_source;

/* The first namespace creates the store, the next ones share it. */
static redisconn_blobcache *make_lru(void *arg, const char *ns)
{
    lru_source *s = arg;
    if (s->first == NULL) return s->first = redisconn_blobcache_lru_new(s->base, s->max_bytes, ns);
    return redisconn_blobcache_lru_share(s->first, ns);
}

/* One store for every namespace; the source is freed with the factory. */
redisconn_blobcache_factory *redisconn_blobcache_factory_lru(struct event_base *base,
                                                             size_t max_bytes)
{
    lru_source *s;
    redisconn_blobcache_factory *f;
    if (base == NULL || max_bytes == 0 || (s = calloc(1, sizeof(*s))) == NULL) return NULL;
    s->base = base;
    s->max_bytes = max_bytes;
    if ((f = redisconn_blobcache_factory_new(make_lru, s, free)) == NULL) free(s);
    return f;
}
