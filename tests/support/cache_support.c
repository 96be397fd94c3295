/* SPDX-License-Identifier: BSD-3-Clause */
/* cache_support.c: see cache_support.h. */
#include "support/cache_support.h"
#include "support/support.h"

#include <criterion/criterion.h>
#include <string.h>

void rt_get_cb(int status, const void *value, size_t len, void *arg)
{
    rt_get *g = arg;
    g->calls++;
    g->status = status;
    g->len = len;
    g->value_null = value == NULL;
    cr_assert((status == REDISCONN_OK) == (value != NULL), "a value iff OK (status %s)",
              redisconn_status_name(status));
    if (value == NULL) cr_assert_eq(len, 0, "a length without a value");
    cr_assert_leq(len, sizeof(g->value));
    if (len > 0) memcpy(g->value, value, len);
}

void rt_never_get_cb(int status, const void *value, size_t len, void *arg)
{
    (void)value;
    (void)len;
    (void)arg;
    cr_assert_fail("get callback must not fire (status %s)", redisconn_status_name(status));
}

void rt_set_cb(int status, void *arg)
{
    rt_set *s = arg;
    s->calls++;
    s->status = status;
}

void rt_never_set_cb(int status, void *arg)
{
    (void)arg;
    cr_assert_fail("set callback must not fire (status %s)", redisconn_status_name(status));
}

/* Runs the loop until one callback, then a little more; asserts exactly one. */
static void wait_one(struct event_base *base, int *calls, const char *what)
{
    cr_assert_eq(*calls, 0, "%s called back from inside the call", what);
    cr_assert(rt_loop_until(base, calls, 5000), "%s never called back", what);
    rt_loop_quiet(base, 10); /* a second callback would come now */
    cr_assert_eq(*calls, 1, "%s called back %d times", what, *calls);
}

int rt_cache_get(struct event_base *base, redisconn_blobcache *c, const void *key, size_t keylen,
                 rt_get *out)
{
    int rc;
    memset(out, 0, sizeof(*out));
    rc = redisconn_blobcache_get(c, key, keylen, rt_get_cb, out);
    cr_assert_eq(rc, REDISCONN_OK, "get: %s", redisconn_strerror(rc));
    wait_one(base, &out->calls, "get");
    return out->status;
}

int rt_cache_set(struct event_base *base, redisconn_blobcache *c, const void *key, size_t keylen,
                 const void *value, size_t len, int64_t ttl_ms)
{
    rt_set s = {0, 0};
    int rc = redisconn_blobcache_set(c, key, keylen, value, len, ttl_ms, rt_set_cb, &s);
    cr_assert_eq(rc, REDISCONN_OK, "set: %s", redisconn_strerror(rc));
    wait_one(base, &s.calls, "set");
    return s.status;
}

int rt_ctx_cache_get(struct event_base *base, redisconn_ctx *ctx, const char *ns, const void *key,
                     size_t keylen, rt_get *out)
{
    int rc;
    memset(out, 0, sizeof(*out));
    rc = redisconn_cache_get(ctx, ns, key, keylen, rt_get_cb, out);
    cr_assert_eq(rc, REDISCONN_OK, "cache_get: %s", redisconn_strerror(rc));
    wait_one(base, &out->calls, "cache_get");
    return out->status;
}

int rt_ctx_cache_set(struct event_base *base, redisconn_ctx *ctx, const char *ns, const void *key,
                     size_t keylen, const void *value, size_t len, int64_t ttl_ms)
{
    rt_set s = {0, 0};
    int rc = redisconn_cache_set(ctx, ns, key, keylen, value, len, ttl_ms, rt_set_cb, &s);
    cr_assert_eq(rc, REDISCONN_OK, "cache_set: %s", redisconn_strerror(rc));
    wait_one(base, &s.calls, "cache_set");
    return s.status;
}

int rt_cache_await_miss(struct event_base *base, redisconn_blobcache *c, const char *key,
                        int timeout_ms)
{
    int64_t end = rt_now_ms() + timeout_ms;
    rt_get g;
    do {
        if (rt_cache_gets(base, c, key, &g) == REDISCONN_ERR_CACHE_MISS) return 1;
    } while (rt_now_ms() < end);
    return 0;
}

int rt_ctx_cache_await_miss(struct event_base *base, redisconn_ctx *ctx, const char *ns,
                            const void *key, size_t keylen, int timeout_ms)
{
    int64_t end = rt_now_ms() + timeout_ms;
    rt_get g;
    do {
        if (rt_ctx_cache_get(base, ctx, ns, key, keylen, &g) == REDISCONN_ERR_CACHE_MISS) return 1;
    } while (rt_now_ms() < end);
    return 0;
}

int rt_cache_gets(struct event_base *base, redisconn_blobcache *c, const char *key, rt_get *out)
{
    return rt_cache_get(base, c, key, strlen(key), out);
}

int rt_cache_sets(struct event_base *base, redisconn_blobcache *c, const char *key,
                  const char *value, int64_t ttl_ms)
{
    return rt_cache_set(base, c, key, strlen(key), value, strlen(value), ttl_ms);
}

void rt_check_cache_hit(struct event_base *base, redisconn_ctx *ctx)
{
    rt_get g;
    cr_assert_eq(rt_ctx_cache_set(base, ctx, "ns", "k", 1, "value", 5, 0), REDISCONN_OK);
    cr_assert_eq(rt_ctx_cache_get(base, ctx, "ns", "k", 1, &g), REDISCONN_OK);
    cr_assert_eq(g.len, 5);
    cr_assert_eq(memcmp(g.value, "value", 5), 0);
}

void rt_check_cache_miss(struct event_base *base, redisconn_ctx *ctx)
{
    rt_get g;
    cr_assert_eq(rt_ctx_cache_get(base, ctx, "ns", "absent", 6, &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert(g.value_null);
}

void rt_check_cache_ttl(struct event_base *base, redisconn_ctx *ctx)
{
    rt_get g;
    cr_assert_eq(rt_ctx_cache_set(base, ctx, "ns", "k", 1, "v", 1, 100), REDISCONN_OK);
    cr_assert_eq(rt_ctx_cache_get(base, ctx, "ns", "k", 1, &g), REDISCONN_OK);
    cr_assert(rt_ctx_cache_await_miss(base, ctx, "ns", "k", 1, 250), "not expired in 250 ms");
    cr_assert_eq(rt_ctx_cache_get(base, ctx, "ns", "k", 1, &g), REDISCONN_ERR_CACHE_MISS);
}

void rt_check_cache_binary(struct event_base *base, redisconn_ctx *ctx)
{
    const char key[] = {'k', 0, 'x'}, val[] = {0, 'a', 0, (char)0xff, 0};
    rt_get g;
    cr_assert_eq(rt_ctx_cache_set(base, ctx, "ns", key, 3, val, 5, 0), REDISCONN_OK);
    cr_assert_eq(rt_ctx_cache_get(base, ctx, "ns", key, 3, &g), REDISCONN_OK);
    cr_assert_eq(g.len, 5);
    cr_assert_eq(memcmp(g.value, val, 5), 0);
    cr_assert_eq(rt_ctx_cache_get(base, ctx, "ns", "k", 1, &g), REDISCONN_ERR_CACHE_MISS,
                 "the NUL is part of the key");
}

void rt_check_cache_namespaces(struct event_base *base, redisconn_ctx *ctx)
{
    rt_get g;
    cr_assert_eq(rt_ctx_cache_set(base, ctx, "one", "k", 1, "1", 1, 0), REDISCONN_OK);
    cr_assert_eq(rt_ctx_cache_get(base, ctx, "two", "k", 1, &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert_eq(rt_ctx_cache_set(base, ctx, "two", "k", 1, "2", 1, 0), REDISCONN_OK);
    cr_assert_eq(rt_ctx_cache_get(base, ctx, "one", "k", 1, &g), REDISCONN_OK);
    cr_assert_eq(g.value[0], '1');
}
