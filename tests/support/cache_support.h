/* SPDX-License-Identifier: BSD-3-Clause */
/* cache_support.h — recorders for blob cache callbacks and helpers that run
 * one operation to completion, checking the callback contract on the way. */
#ifndef REDISCONN_TEST_CACHE_SUPPORT_H
#define REDISCONN_TEST_CACHE_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "redisconn/blobcache.h"

struct event_base;

/* Records get callbacks (copies the value); `calls` must end at exactly 1. */
typedef struct rt_get {
    int calls;
    int status;
    size_t len;
    int value_null;
    unsigned char value[8192];
} rt_get;
/* Checks: a value iff REDISCONN_OK, len 0 without one. */
void rt_get_cb(int status, const void *value, size_t len, void *arg);
/* Fail the test if they ever run. */
void rt_never_get_cb(int status, const void *value, size_t len, void *arg);

typedef struct rt_set {
    int calls;
    int status;
} rt_set;
void rt_set_cb(int status, void *arg);
void rt_never_set_cb(int status, void *arg);

/* Starts a get (asserting it returns REDISCONN_OK and does not call back
 * inside), runs the loop until the callback, then a little more to see it
 * fire exactly once. Returns the callback's status. */
int rt_cache_get(struct event_base *base, redisconn_blobcache *c, const void *key, size_t keylen,
                 rt_get *out);
/* The same for a set. */
int rt_cache_set(struct event_base *base, redisconn_blobcache *c, const void *key, size_t keylen,
                 const void *value, size_t len, int64_t ttl_ms);
/* String conveniences (key and value without their NUL). */
int rt_cache_gets(struct event_base *base, redisconn_blobcache *c, const char *key, rt_get *out);
int rt_cache_sets(struct event_base *base, redisconn_blobcache *c, const char *key,
                  const char *value, int64_t ttl_ms);

/* The same through the global cache of `ctx` (redisconn_cache_get/_set),
 * namespace `ns`. */
int rt_ctx_cache_get(struct event_base *base, redisconn_ctx *ctx, const char *ns, const void *key,
                     size_t keylen, rt_get *out);
int rt_ctx_cache_set(struct event_base *base, redisconn_ctx *ctx, const char *ns, const void *key,
                     size_t keylen, const void *value, size_t len, int64_t ttl_ms);

/* Gets `key` again and again (each get run to completion, as above) until
 * it misses or `timeout_ms` has passed; returns 1 once it missed. For
 * waiting for a TTL to expire without a fixed sleep. */
int rt_cache_await_miss(struct event_base *base, redisconn_blobcache *c, const char *key,
                        int timeout_ms);
int rt_ctx_cache_await_miss(struct event_base *base, redisconn_ctx *ctx, const char *ns,
                            const void *key, size_t keylen, int timeout_ms);

/* Behaviours every global cache must have, checked through redisconn_cache_*
 * on `ctx` (each fails the test when broken): */
/* a get after a set hits with the same bytes (namespace "ns"); */
void rt_check_cache_hit(struct event_base *base, redisconn_ctx *ctx);
/* an absent key misses, without a value; */
void rt_check_cache_miss(struct event_base *base, redisconn_ctx *ctx);
/* an entry set with a 100 ms TTL hits at once and misses within 250 ms; */
void rt_check_cache_ttl(struct event_base *base, redisconn_ctx *ctx);
/* binary keys and values keep their NUL bytes (part of the key too); */
void rt_check_cache_binary(struct event_base *base, redisconn_ctx *ctx);
/* namespaces "one" and "two" never see each other's entries. */
void rt_check_cache_namespaces(struct event_base *base, redisconn_ctx *ctx);

#endif
