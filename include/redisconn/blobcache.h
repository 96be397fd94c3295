/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/blobcache.h — an asynchronous cache of binary blobs by key, the
 * counterpart of the seed's caching.BlobCache, with two implementations:
 * Redis through a redisconn pool, and a bounded in-process LRU.
 *
 * INTERFACE. A cache is a table of operations plus the implementation's
 * state (`impl`). Callers use redisconn_blobcache_get() / _set(); anyone may
 * provide another implementation through redisconn_blobcache_new().
 *
 * NAMESPACES. Every cache object serves one namespace: the same key in two
 * namespaces names two different entries. A namespace is a non-empty string
 * of at most REDISCONN_BLOBCACHE_MAX_NAMESPACE printable ASCII characters
 * (no space), except ':' — so that "<namespace>:<key>" can never be read two
 * ways.
 *
 * CALLBACK CONTRACT (libuv's rule). get and set either return an error — the
 * callback then never fires — or return REDISCONN_OK and the callback fires
 * exactly once, later, from the event loop, never from inside the call.
 * A miss is REDISCONN_ERR_CACHE_MISS, distinct from every error: a cache that
 * cannot answer (Redis down) reports an error status, never a miss.
 *
 * THREADS. A cache belongs to one event_base and the thread running it, like
 * the pool: call it and get called back on that thread only.
 *
 * GLOBAL CACHE. A server has one global cache per namespace, the seed's
 * "default caching.BlobCache": a factory (redisconn_blobcache_factory) that
 * makes and keeps one cache per namespace is installed in a context with
 * redisconn_with_global_cache(); redisconn_global_cache(ctx, ns) finds the
 * cache of a namespace. The server installs an in-process LRU in its root
 * context; the Redis module, when Redis is configured, shadows it with
 * Redis. redisconn_cache_get() / _set() use the global cache of a context
 * and honour the context's deadline and cancellation.
 *
 * OWNERSHIP. Keys and values passed in are copied before the call returns.
 * The value passed to a get callback is owned by the cache and valid only
 * during the callback. Freeing a cache with operations in flight is allowed:
 * they still complete, each callback exactly once, as long as the loop runs.
 */
#ifndef REDISCONN_BLOBCACHE_H
#define REDISCONN_BLOBCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "server_status.h"
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct redisconn_pool;

/**
 * Get callback. `status` is REDISCONN_OK with the value in `value`/`len`
 * (`value` is never NULL then, even for an empty value), or
 * REDISCONN_ERR_CACHE_MISS, or an error; `value` is NULL and `len` 0 unless
 * the status is REDISCONN_OK. `value` is valid only during the callback.
 */
typedef void (*redisconn_blobcache_get_cb)(int status, const void *value, size_t len, void *arg);

/** Set callback: REDISCONN_OK once the value is stored, else an error status. */
typedef void (*redisconn_blobcache_set_cb)(int status, void *arg);

/**
 * Operations of an implementation. redisconn_blobcache_get() / _set() check
 * the common arguments before calling these, which must keep the callback
 * contract above. `destroy` frees `impl` (may be NULL if there is nothing to
 * free). The table must outlive every cache that uses it (make it static).
 */
typedef struct redisconn_blobcache_ops {
    const char *name; /**< implementation name, e.g. "redis" or "lru" */
    int (*get)(void *impl, const void *key, size_t keylen, redisconn_blobcache_get_cb cb,
               void *arg);
    int (*set)(void *impl, const void *key, size_t keylen, const void *value, size_t len,
               int64_t ttl_ms, redisconn_blobcache_set_cb cb, void *arg);
    void (*destroy)(void *impl);
} redisconn_blobcache_ops;

/**
 * A cache: operations plus state. Created by a constructor below, owned by
 * the caller until redisconn_blobcache_free(). Fields are read-only.
 */
typedef struct redisconn_blobcache {
    const redisconn_blobcache_ops *ops;
    void *impl;
} redisconn_blobcache;

/** Longest namespace accepted, in bytes. */
#define REDISCONN_BLOBCACHE_MAX_NAMESPACE 128

/**
 * Default key prefix of the Redis implementation: keys are
 * "<prefix><namespace>:<key>". It is the Go package's (module.go builds
 * `fmt.Sprintf("luci.blobcache.%s:", namespace)`), so a C server and a Go
 * LUCI server sharing one Redis share their caches.
 */
#define REDISCONN_BLOBCACHE_REDIS_PREFIX "luci.blobcache."

/** Longest key prefix accepted by redisconn_blobcache_redis_new_prefixed(), in bytes. */
#define REDISCONN_BLOBCACHE_MAX_PREFIX 256

/** How long the Redis implementation waits for a pool connection, in ms. */
#define REDISCONN_BLOBCACHE_REDIS_ACQUIRE_TIMEOUT_MS 1000

/**
 * Bytes the LRU charges per entry on top of its key (namespace prefix
 * included) and value: the entry header, hash bucket share and allocator
 * overhead, rounded up.
 */
#define REDISCONN_BLOBCACHE_LRU_ENTRY_OVERHEAD 96

/**
 * Wraps an implementation: returns a cache that dispatches to `ops` with
 * `impl`, or NULL when `ops` lacks get or set, or memory is short (then
 * `impl` is not destroyed). The cache owns `impl` from then on.
 */
REDISCONN_EXPORT redisconn_blobcache *redisconn_blobcache_new(const redisconn_blobcache_ops *ops,
                                                              void *impl);

/**
 * Frees the cache (calling ops->destroy(impl)). Operations in flight still
 * complete, see OWNERSHIP above. Freeing NULL is a no-op.
 */
REDISCONN_EXPORT void redisconn_blobcache_free(redisconn_blobcache *cache);

/** Returns 1 if `ns` is a valid namespace (see NAMESPACES), else 0. */
REDISCONN_EXPORT int redisconn_blobcache_namespace_valid(const char *ns);

/**
 * Looks `key` (`keylen` bytes, binary-safe; NULL only when `keylen` is 0) up.
 * `cb` fires once from the loop with the value, REDISCONN_ERR_CACHE_MISS, or
 * an error. Returns REDISCONN_OK, REDISCONN_ERR_INVALID (NULL cache or cb,
 * NULL key with a length) or REDISCONN_ERR_NOMEM; then `cb` never fires.
 */
REDISCONN_EXPORT int redisconn_blobcache_get(redisconn_blobcache *cache, const void *key,
                                             size_t keylen, redisconn_blobcache_get_cb cb,
                                             void *arg);

/**
 * Stores `value` (`len` bytes, binary-safe; NULL only when `len` is 0) under
 * `key` for `ttl_ms` milliseconds (0 = no expiry), replacing any previous
 * value. `cb` may be NULL; if not, it fires once from the loop. Returns
 * REDISCONN_OK, REDISCONN_ERR_INVALID (NULL cache, NULL key or value with a
 * length, negative ttl) or REDISCONN_ERR_NOMEM; then `cb` never fires.
 */
REDISCONN_EXPORT int redisconn_blobcache_set(redisconn_blobcache *cache, const void *key,
                                             size_t keylen, const void *value, size_t len,
                                             int64_t ttl_ms, redisconn_blobcache_set_cb cb,
                                             void *arg);

/**
 * The in-process LRU: a store bounded by `max_bytes`, counting for each entry
 * its key (with the namespace prefix), its value and
 * REDISCONN_BLOBCACHE_LRU_ENTRY_OVERHEAD. Storing beyond the bound evicts the
 * least recently used entries (a get or set makes an entry most recent); an
 * entry larger than the whole bound is not kept (its set still succeeds, and
 * any older value of the key is dropped). Expired entries read as misses and
 * are dropped when seen. Get and set are O(1) (expected).
 *
 * Returns a cache for namespace `ns` with a store of its own, or NULL (NULL
 * base, `max_bytes` 0, invalid namespace, out of memory). Callbacks are
 * delivered from the loop of `base` (one event per store, whatever the number
 * of operations), which must outlive the cache and its operations.
 */
REDISCONN_EXPORT redisconn_blobcache *redisconn_blobcache_lru_new(struct event_base *base,
                                                                  size_t max_bytes, const char *ns);

/**
 * Another namespace on the store of LRU cache `lru`: the entries of all the
 * namespaces share its byte bound and eviction order, never their keys. The
 * store lives until the last cache on it is freed. Returns NULL if `lru` is
 * not an LRU cache, `ns` is invalid, or memory is short.
 */
REDISCONN_EXPORT redisconn_blobcache *redisconn_blobcache_lru_share(redisconn_blobcache *lru,
                                                                    const char *ns);

/**
 * Bytes the LRU store behind `lru` charges now (see redisconn_blobcache_lru_new),
 * or 0 if `lru` is not an LRU cache. For tests and monitoring.
 */
REDISCONN_EXPORT size_t redisconn_blobcache_lru_bytes(const redisconn_blobcache *lru);

/**
 * The Redis implementation for namespace `ns`: keys are
 * "luci.blobcache.<ns>:<key>" (REDISCONN_BLOBCACHE_REDIS_PREFIX, the Go
 * server's keys); set runs SET (ttl 0) or PSETEX; get runs
 * GET, a nil reply being REDISCONN_ERR_CACHE_MISS. Each operation leases a
 * connection (waiting at most REDISCONN_BLOBCACHE_REDIS_ACQUIRE_TIMEOUT_MS),
 * runs one command and releases it. Failures are errors, never misses: the
 * acquire's status (CONNECT, TIMEOUT, CLOSED...), the command's (IO,
 * TIMEOUT...), or REDISCONN_ERR_REPLY when Redis answers with an error (such
 * as WRONGTYPE).
 *
 * Returns NULL for a NULL pool, an invalid namespace, or out of memory. The
 * cache does not own the pool, which must outlive the cache; closing the pool
 * fails the operations in flight (REDISCONN_ERR_CLOSED or an I/O status),
 * each still calling back exactly once.
 */
REDISCONN_EXPORT redisconn_blobcache *redisconn_blobcache_redis_new(struct redisconn_pool *pool,
                                                                    const char *ns);

/**
 * redisconn_blobcache_redis_new() with another key prefix: keys are
 * "<prefix><ns>:<key>", for deployments that keep their caches apart from
 * the Go servers'. `prefix` (copied) is at most REDISCONN_BLOBCACHE_MAX_PREFIX
 * bytes, may be "" and contain any byte but NUL; NULL means
 * REDISCONN_BLOBCACHE_REDIS_PREFIX. Returns NULL as redisconn_blobcache_redis_new()
 * does, and for a prefix that is too long.
 */
REDISCONN_EXPORT redisconn_blobcache *
redisconn_blobcache_redis_new_prefixed(struct redisconn_pool *pool, const char *prefix,
                                       const char *ns);

struct redisconn_cluster;

/**
 * The Redis implementation on a Redis Cluster client (redisconn/cluster.h):
 * the same keys ("<prefix><ns>:<key>"; NULL prefix:
 * REDISCONN_BLOBCACHE_REDIS_PREFIX) and commands as
 * redisconn_blobcache_redis_new_prefixed(), each sent with
 * redisconn_cluster_command() to the master owning the key's slot (no
 * lease; MOVED/ASK followed). Failures as there: the cluster's statuses,
 * REDISCONN_ERR_REPLY for an error reply. Returns NULL for a NULL cluster, an
 * invalid namespace or prefix, or out of memory. The cluster must outlive
 * the cache.
 */
REDISCONN_EXPORT redisconn_blobcache *
redisconn_blobcache_redis_cluster_new(struct redisconn_cluster *cluster, const char *prefix,
                                      const char *ns);

/* --- global cache -------------------------------------------------------- */

/**
 * A factory of per-namespace caches. Opaque: it owns the cache of every
 * namespace asked for so far (made on first request, then reused) and frees
 * them with itself.
 */
typedef struct redisconn_blobcache_factory redisconn_blobcache_factory;

/**
 * Makes the cache of namespace `ns` (valid, see NAMESPACES) for a factory:
 * returns a new cache, which the factory takes over, or NULL (out of memory;
 * the factory asks again next time). Called on the loop thread.
 */
typedef redisconn_blobcache *(*redisconn_blobcache_make_fn)(void *arg, const char *ns);

/**
 * Creates a factory that makes caches with `make(arg, ns)`. `free_arg` (may
 * be NULL) is called on `arg` when the factory is freed, after its caches.
 * Returns NULL if `make` is NULL or memory is short (then `arg` stays
 * yours). Free with redisconn_blobcache_factory_free(), or hand it to a
 * context with redisconn_with_global_cache().
 */
REDISCONN_EXPORT redisconn_blobcache_factory *
redisconn_blobcache_factory_new(redisconn_blobcache_make_fn make, void *arg,
                                void (*free_arg)(void *arg));

/**
 * The factory's cache for namespace `ns`: made on first request, the same
 * object afterwards. Borrowed: valid until the factory is freed. Returns
 * NULL for a NULL factory, an invalid namespace, or when making it failed.
 */
REDISCONN_EXPORT redisconn_blobcache *
redisconn_blobcache_factory_get(redisconn_blobcache_factory *factory, const char *ns);

/**
 * Frees the factory and every cache it made (operations in flight still
 * complete, see OWNERSHIP), then calls its free_arg. NULL is a no-op.
 */
REDISCONN_EXPORT void redisconn_blobcache_factory_free(redisconn_blobcache_factory *factory);

/**
 * A factory of Redis caches on `pool` (redisconn_blobcache_redis_new(pool,
 * ns) per namespace). The pool is not owned and must outlive every use of
 * the caches. Returns NULL for a NULL pool or out of memory.
 */
REDISCONN_EXPORT redisconn_blobcache_factory *
redisconn_blobcache_factory_redis(struct redisconn_pool *pool);

/**
 * redisconn_blobcache_factory_redis() whose caches use key prefix `prefix`
 * (copied; NULL: REDISCONN_BLOBCACHE_REDIS_PREFIX), see
 * redisconn_blobcache_redis_new_prefixed(). Returns NULL for a NULL pool, a
 * prefix over REDISCONN_BLOBCACHE_MAX_PREFIX bytes, or out of memory.
 */
REDISCONN_EXPORT redisconn_blobcache_factory *
redisconn_blobcache_factory_redis_prefixed(struct redisconn_pool *pool, const char *prefix);

/**
 * A factory of Redis caches on a cluster (redisconn_blobcache_redis_cluster_new(cluster,
 * prefix, ns) per namespace; `prefix` copied). The cluster is not owned and
 * must outlive every use of the caches. Returns NULL for a NULL cluster, a
 * prefix over REDISCONN_BLOBCACHE_MAX_PREFIX bytes, or out of memory.
 */
REDISCONN_EXPORT redisconn_blobcache_factory *
redisconn_blobcache_factory_redis_cluster(struct redisconn_cluster *cluster, const char *prefix);

/**
 * A factory of in-process LRU caches that all share ONE store bounded by
 * `max_bytes` (the first namespace asked for creates it with
 * redisconn_blobcache_lru_new(), the others join it with
 * redisconn_blobcache_lru_share()). Returns NULL for a NULL base,
 * `max_bytes` 0, or out of memory. `base` must outlive the caches.
 */
REDISCONN_EXPORT redisconn_blobcache_factory *
redisconn_blobcache_factory_lru(struct event_base *base, size_t max_bytes);

/**
 * Derives a context whose global cache is `factory`. The new context takes
 * ownership of the factory: it is freed (with its caches) when the context
 * node is freed, i.e. after the last reference to this context and to every
 * descendant is gone. Returns a new reference, or NULL (NULL argument, out
 * of memory) — then the factory stays the caller's. `ctx` is borrowed.
 */
REDISCONN_EXPORT redisconn_ctx *redisconn_with_global_cache(redisconn_ctx *ctx,
                                                            redisconn_blobcache_factory *factory);

/**
 * The global cache of namespace `ns` in `ctx`: the cache the nearest
 * factory up the chain makes for `ns`. Borrowed: valid as long as `ctx`
 * (the factory lives as long as the context node that holds it). Returns
 * NULL when no factory is installed, `ns` is invalid, or memory is short.
 */
REDISCONN_EXPORT redisconn_blobcache *redisconn_global_cache(const redisconn_ctx *ctx,
                                                             const char *ns);

/**
 * redisconn_blobcache_get() on the global cache of namespace `ns` in `ctx`,
 * bounded by the context:
 *  - no global cache in `ctx`: `cb` gets REDISCONN_ERR_NOT_CONFIGURED;
 *  - `ctx` already done: `cb` gets its error (CANCELED / DEADLINE);
 *  - `ctx` ends while the lookup runs: `cb` gets its error at once; the
 *    lookup's own result is dropped when it comes;
 *  - otherwise the cache's result (a value, REDISCONN_ERR_CACHE_MISS, or an
 *    error — never a miss for an error).
 * Returns REDISCONN_OK, or REDISCONN_ERR_INVALID (NULL ctx or cb, invalid
 * namespace, NULL key with a length) or REDISCONN_ERR_NOMEM; then `cb` never
 * fires. Otherwise `cb` fires exactly once, from the loop, never inside
 * this call. The key is copied.
 */
REDISCONN_EXPORT int redisconn_cache_get(redisconn_ctx *ctx, const char *ns, const void *key,
                                         size_t keylen, redisconn_blobcache_get_cb cb, void *arg);

/**
 * redisconn_blobcache_set() on the global cache of namespace `ns` in `ctx`,
 * bounded by the context as redisconn_cache_get() is. When the context ends
 * first, `cb` gets its error but the value may still be stored. `cb` may be
 * NULL. Returns REDISCONN_OK, or REDISCONN_ERR_INVALID (NULL ctx, invalid
 * namespace, NULL key or value with a length, negative ttl) or
 * REDISCONN_ERR_NOMEM; then `cb` never fires. Key and value are copied.
 */
REDISCONN_EXPORT int redisconn_cache_set(redisconn_ctx *ctx, const char *ns, const void *key,
                                         size_t keylen, const void *value, size_t len,
                                         int64_t ttl_ms, redisconn_blobcache_set_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_BLOBCACHE_H */
