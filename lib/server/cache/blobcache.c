/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blobcache.c: the blob cache interface — argument checks common to every
 * implementation, dispatch through the operations table, namespaces.
 */
#include "redisconn/blobcache.h"

#include <stdlib.h>
#include <string.h>

/* Wraps ops + impl; NULL (impl untouched) without get/set or memory. */
redisconn_blobcache *redisconn_blobcache_new(const redisconn_blobcache_ops *ops, void *impl)
{
    redisconn_blobcache *c;
    if (ops == NULL || ops->get == NULL || ops->set == NULL) return NULL;
    if ((c = malloc(sizeof(*c))) == NULL) return NULL;
    c->ops = ops;
    c->impl = impl;
    return c;
}

/* Destroys impl, then the wrapper; NULL is a no-op. */
void redisconn_blobcache_free(redisconn_blobcache *cache)
{
    if (cache == NULL) return;
    if (cache->ops->destroy != NULL) cache->ops->destroy(cache->impl);
    free(cache);
}

/* Printable ASCII without space and ':', 1..MAX bytes: "<ns>:" is then a
 * prefix no other namespace's keys can start with. */
int redisconn_blobcache_namespace_valid(const char *ns)
{
    size_t n = 0;
    if (ns == NULL) return 0;
    for (; ns[n] != '\0'; n++)
        if (ns[n] <= ' ' || ns[n] > '~' || ns[n] == ':' || n >= REDISCONN_BLOBCACHE_MAX_NAMESPACE)
            return 0;
    return n > 0;
}

/* Checks what every implementation needs, then dispatches. */
int redisconn_blobcache_get(redisconn_blobcache *cache, const void *key, size_t keylen,
                            redisconn_blobcache_get_cb cb, void *arg)
{
    if (cache == NULL || cb == NULL || (key == NULL && keylen > 0)) return REDISCONN_ERR_INVALID;
    return cache->ops->get(cache->impl, key, keylen, cb, arg);
}

/* Checks what every implementation needs, then dispatches. */
int redisconn_blobcache_set(redisconn_blobcache *cache, const void *key, size_t keylen,
                            const void *value, size_t len, int64_t ttl_ms,
                            redisconn_blobcache_set_cb cb, void *arg)
{
    if (cache == NULL || (key == NULL && keylen > 0) || (value == NULL && len > 0) || ttl_ms < 0)
        return REDISCONN_ERR_INVALID;
    return cache->ops->set(cache->impl, key, keylen, value, len, ttl_ms, cb, arg);
}
