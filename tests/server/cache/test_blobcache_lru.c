/* SPDX-License-Identifier: BSD-3-Clause */
/* test_blobcache_lru.c — the in-process blob cache: hits, misses, TTL,
 * binary safety, namespaces on a shared store, eviction by bytes, and the
 * callback contract (once, from the loop, never inside the call). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "redisconn/blobcache.h"
#include "support/cache_support.h"
#include "support/support.h"

#define OVERHEAD REDISCONN_BLOBCACHE_LRU_ENTRY_OVERHEAD

static struct event_base *base;
static redisconn_blobcache *cache;

static void setup(void)
{
    base = event_base_new();
    cr_assert_not_null(base);
    cache = redisconn_blobcache_lru_new(base, 1 << 20, "ns");
    cr_assert_not_null(cache);
}

static void teardown(void)
{
    redisconn_blobcache_free(cache);
    rt_loop_quiet(base, 5); /* nothing may be left to deliver */
    event_base_free(base);
}

TestSuite(blobcache_lru, .init = setup, .fini = teardown, .timeout = 10);

/* What one entry of `key`/`value` in namespace "ns" costs. */
static size_t cost(const char *key, size_t vlen)
{
    return strlen("ns:") + strlen(key) + vlen + OVERHEAD;
}

Test(blobcache_lru, get_after_set_hits)
{
    rt_get g;
    cr_assert_eq(rt_cache_sets(base, cache, "k", "value", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k", &g), REDISCONN_OK);
    cr_assert_eq(g.len, 5);
    cr_assert_eq(memcmp(g.value, "value", 5), 0);
}

Test(blobcache_lru, absent_key_is_a_miss_without_value)
{
    rt_get g;
    cr_assert_eq(rt_cache_gets(base, cache, "absent", &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert(g.value_null);
    cr_assert_eq(g.len, 0);
}

Test(blobcache_lru, get_never_calls_back_inside_the_call)
{
    rt_get g = {0};
    cr_assert_eq(redisconn_blobcache_get(cache, "k", 1, rt_get_cb, &g), REDISCONN_OK);
    cr_assert_eq(g.calls, 0);
    cr_assert(rt_loop_until(base, &g.calls, 1000));
    rt_loop_quiet(base, 10); /* a second callback would come now */
    cr_assert_eq(g.calls, 1);
}

Test(blobcache_lru, set_never_calls_back_inside_the_call)
{
    rt_set s = {0, 0};
    cr_assert_eq(redisconn_blobcache_set(cache, "k", 1, "v", 1, 0, rt_set_cb, &s), REDISCONN_OK);
    cr_assert_eq(s.calls, 0);
    cr_assert(rt_loop_until(base, &s.calls, 1000));
    rt_loop_quiet(base, 10); /* a second callback would come now */
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(s.status, REDISCONN_OK);
}

Test(blobcache_lru, set_without_callback_still_stores)
{
    rt_get g;
    cr_assert_eq(redisconn_blobcache_set(cache, "k", 1, "v", 1, 0, NULL, NULL), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k", &g), REDISCONN_OK);
}

Test(blobcache_lru, empty_value_is_a_hit_of_length_zero)
{
    rt_get g;
    cr_assert_eq(rt_cache_set(base, cache, "k", 1, NULL, 0, 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k", &g), REDISCONN_OK);
    cr_assert_not(g.value_null, "a hit always has a value pointer");
    cr_assert_eq(g.len, 0);
}

Test(blobcache_lru, binary_keys_and_values_keep_their_nul_bytes)
{
    const char k1[] = {'k', 0, 'a'}, k2[] = {'k', 0, 'b'};
    const char v1[] = {0, 1, 0, 2}, v2[] = {'x', 0};
    rt_get g;
    cr_assert_eq(rt_cache_set(base, cache, k1, 3, v1, 4, 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_set(base, cache, k2, 3, v2, 2, 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_get(base, cache, k1, 3, &g), REDISCONN_OK);
    cr_assert_eq(g.len, 4);
    cr_assert_eq(memcmp(g.value, v1, 4), 0);
    cr_assert_eq(rt_cache_get(base, cache, k2, 3, &g), REDISCONN_OK);
    cr_assert_eq(g.len, 2);
    cr_assert_eq(memcmp(g.value, v2, 2), 0);
    cr_assert_eq(rt_cache_get(base, cache, "k", 1, &g), REDISCONN_ERR_CACHE_MISS,
                 "the key does not stop at its NUL");
}

Test(blobcache_lru, set_replaces_the_previous_value)
{
    rt_get g;
    cr_assert_eq(rt_cache_sets(base, cache, "k", "old-value", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_sets(base, cache, "k", "new", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k", &g), REDISCONN_OK);
    cr_assert_eq(g.len, 3);
    cr_assert_eq(memcmp(g.value, "new", 3), 0);
    cr_assert_eq(redisconn_blobcache_lru_bytes(cache), cost("k", 3));
}

Test(blobcache_lru, bytes_count_prefixed_key_value_and_overhead)
{
    cr_assert_eq(redisconn_blobcache_lru_bytes(cache), 0);
    cr_assert_eq(rt_cache_sets(base, cache, "key", "0123456789", 0), REDISCONN_OK);
    cr_assert_eq(redisconn_blobcache_lru_bytes(cache), 3 + 3 + 10 + OVERHEAD);
}

Test(blobcache_lru, entry_expires_after_its_ttl)
{
    rt_get g;
    cr_assert_eq(rt_cache_sets(base, cache, "k", "v", 50), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k", &g), REDISCONN_OK);
    cr_assert(rt_cache_await_miss(base, cache, "k", 120), "not expired in 120 ms");
    cr_assert_eq(rt_cache_gets(base, cache, "k", &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert_eq(redisconn_blobcache_lru_bytes(cache), 0, "the expired entry is dropped");
}

Test(blobcache_lru, ttl_zero_never_expires)
{
    rt_get g;
    cr_assert_eq(rt_cache_sets(base, cache, "k", "v", 0), REDISCONN_OK);
    rt_loop_quiet(base, 100); /* it must not expire meanwhile */
    cr_assert_eq(rt_cache_gets(base, cache, "k", &g), REDISCONN_OK);
}

Test(blobcache_lru, namespaces_on_a_shared_store_are_isolated)
{
    rt_get g;
    redisconn_blobcache *other = redisconn_blobcache_lru_share(cache, "other");
    cr_assert_not_null(other);
    cr_assert_eq(rt_cache_sets(base, cache, "k", "from-ns", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, other, "k", &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert_eq(rt_cache_sets(base, other, "k", "from-other", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k", &g), REDISCONN_OK);
    cr_assert_eq(g.len, 7);
    cr_assert_eq(memcmp(g.value, "from-ns", 7), 0);
    cr_assert_eq(rt_cache_gets(base, other, "k", &g), REDISCONN_OK);
    cr_assert_eq(memcmp(g.value, "from-other", 10), 0);
    redisconn_blobcache_free(other);
}

Test(blobcache_lru, separate_stores_are_isolated_too)
{
    rt_get g;
    redisconn_blobcache *same_ns = redisconn_blobcache_lru_new(base, 1 << 20, "ns");
    cr_assert_not_null(same_ns);
    cr_assert_eq(rt_cache_sets(base, cache, "k", "v", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, same_ns, "k", &g), REDISCONN_ERR_CACHE_MISS);
    redisconn_blobcache_free(same_ns);
}

Test(blobcache_lru, shared_store_outlives_the_first_cache)
{
    rt_get g;
    redisconn_blobcache *other = redisconn_blobcache_lru_share(cache, "other");
    cr_assert_eq(rt_cache_sets(base, other, "k", "v", 0), REDISCONN_OK);
    redisconn_blobcache_free(cache);
    cache = NULL;
    cr_assert_eq(rt_cache_gets(base, other, "k", &g), REDISCONN_OK);
    redisconn_blobcache_free(other);
}

Test(blobcache_lru, invalid_namespaces_are_rejected)
{
    char longest[REDISCONN_BLOBCACHE_MAX_NAMESPACE + 2];
    const char *bad[] = {"", "a:b", "a b", "tab\t", "caf\xc3\xa9", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_null(redisconn_blobcache_lru_new(base, 1024, bad[i]), "accepted %s", bad[i]);
        cr_assert_null(redisconn_blobcache_lru_share(cache, bad[i]), "accepted %s", bad[i]);
    }
    memset(longest, 'n', sizeof(longest));
    longest[REDISCONN_BLOBCACHE_MAX_NAMESPACE] = '\0';
    cr_assert(redisconn_blobcache_namespace_valid(longest));
    longest[REDISCONN_BLOBCACHE_MAX_NAMESPACE] = 'n';
    longest[REDISCONN_BLOBCACHE_MAX_NAMESPACE + 1] = '\0';
    cr_assert_not(redisconn_blobcache_namespace_valid(longest));
    cr_assert(redisconn_blobcache_namespace_valid("luci.auth-1_x"));
}

Test(blobcache_lru, new_rejects_a_null_base)
{
    cr_assert_null(redisconn_blobcache_lru_new(NULL, 1024, "ns"));
}

Test(blobcache_lru, new_rejects_a_zero_size)
{
    cr_assert_null(redisconn_blobcache_lru_new(base, 0, "ns"));
}

/* A store with room for exactly three entries of key "kN", 10-byte value. */
static void three_entry_cache(void)
{
    redisconn_blobcache_free(cache);
    cache = redisconn_blobcache_lru_new(base, 3 * cost("k1", 10), "ns");
    cr_assert_not_null(cache);
    cr_assert_eq(rt_cache_sets(base, cache, "k1", "0123456789", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_sets(base, cache, "k2", "0123456789", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_sets(base, cache, "k3", "0123456789", 0), REDISCONN_OK);
}

Test(blobcache_lru, inserting_beyond_the_bound_evicts_the_oldest)
{
    rt_get g;
    three_entry_cache();
    cr_assert_eq(rt_cache_sets(base, cache, "k4", "0123456789", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k1", &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert_eq(rt_cache_gets(base, cache, "k2", &g), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k3", &g), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k4", &g), REDISCONN_OK);
    cr_assert_eq(redisconn_blobcache_lru_bytes(cache), 3 * cost("k1", 10));
}

Test(blobcache_lru, recently_read_entry_survives_eviction)
{
    rt_get g;
    three_entry_cache();
    cr_assert_eq(rt_cache_gets(base, cache, "k1", &g), REDISCONN_OK); /* k2 is oldest now */
    cr_assert_eq(rt_cache_sets(base, cache, "k4", "0123456789", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k2", &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert_eq(rt_cache_gets(base, cache, "k1", &g), REDISCONN_OK);
}

Test(blobcache_lru, large_entry_evicts_as_many_as_needed)
{
    rt_get g;
    char big[21];
    three_entry_cache();
    memset(big, 'x', 20);
    big[20] = '\0';
    /* cost("k4", 20) is 10 bytes more than one slot: two entries must go. */
    cr_assert_eq(rt_cache_sets(base, cache, "k4", big, 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k1", &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert_eq(rt_cache_gets(base, cache, "k2", &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert_eq(rt_cache_gets(base, cache, "k3", &g), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k4", &g), REDISCONN_OK);
}

Test(blobcache_lru, entry_larger_than_the_store_is_not_kept)
{
    static char huge[4096];
    rt_get g;
    redisconn_blobcache_free(cache);
    cache = redisconn_blobcache_lru_new(base, 1024, "ns");
    cr_assert_eq(rt_cache_sets(base, cache, "k", "small", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_set(base, cache, "k", 1, huge, sizeof(huge), 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, cache, "k", &g), REDISCONN_ERR_CACHE_MISS,
                 "neither the huge value nor the stale one");
    cr_assert_eq(redisconn_blobcache_lru_bytes(cache), 0);
}

Test(blobcache_lru, many_entries_are_all_found)
{
    char key[16], val[16];
    rt_get g = {0};
    int checked = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        snprintf(val, sizeof(val), "val%d", i);
        cr_assert_eq(
            redisconn_blobcache_set(cache, key, strlen(key), val, strlen(val), 0, NULL, NULL),
            REDISCONN_OK);
    }
    for (int i = 0; i < 5000; i += 499) {
        snprintf(key, sizeof(key), "key%d", i);
        snprintf(val, sizeof(val), "val%d", i);
        cr_assert_eq(rt_cache_gets(base, cache, key, &g), REDISCONN_OK, "%s", key);
        cr_assert_eq(g.len, strlen(val));
        cr_assert_eq(memcmp(g.value, val, g.len), 0);
        checked++;
    }
    cr_assert_eq(checked, 11);
}

Test(blobcache_lru, invalid_arguments_fail_without_a_callback)
{
    cr_assert_eq(redisconn_blobcache_get(NULL, "k", 1, rt_never_get_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_blobcache_get(cache, NULL, 1, rt_never_get_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_blobcache_get(cache, "k", 1, NULL, NULL), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_blobcache_set(NULL, "k", 1, "v", 1, 0, rt_never_set_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_blobcache_set(cache, NULL, 1, "v", 1, 0, rt_never_set_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_blobcache_set(cache, "k", 1, NULL, 1, 0, rt_never_set_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_blobcache_set(cache, "k", 1, "v", 1, -1, rt_never_set_cb, NULL),
                 REDISCONN_ERR_INVALID);
    rt_loop_quiet(base, 20); /* a callback would come now */
}

Test(blobcache_lru, free_with_operations_in_flight_still_calls_back_once)
{
    rt_get hit = {0}, miss = {0};
    rt_set s = {0, 0};
    cr_assert_eq(rt_cache_sets(base, cache, "k", "v", 0), REDISCONN_OK);
    cr_assert_eq(redisconn_blobcache_get(cache, "k", 1, rt_get_cb, &hit), REDISCONN_OK);
    cr_assert_eq(redisconn_blobcache_get(cache, "x", 1, rt_get_cb, &miss), REDISCONN_OK);
    cr_assert_eq(redisconn_blobcache_set(cache, "y", 1, "v", 1, 0, rt_set_cb, &s), REDISCONN_OK);
    redisconn_blobcache_free(cache);
    cache = NULL;
    rt_await(base, hit.calls && miss.calls && s.calls, 30);
    rt_loop_quiet(base, 10); /* a second callback would come now */
    cr_assert_eq(hit.calls, 1);
    cr_assert_eq(hit.status, REDISCONN_OK);
    cr_assert_eq(hit.value[0], 'v');
    cr_assert_eq(miss.calls, 1);
    cr_assert_eq(miss.status, REDISCONN_ERR_CACHE_MISS);
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(s.status, REDISCONN_OK);
}

/* A get callback that reads the value it just got back into another key. */
static void copy_on_hit(int status, const void *value, size_t len, void *arg)
{
    rt_set *s = arg;
    cr_assert_eq(status, REDISCONN_OK);
    cr_assert_eq(redisconn_blobcache_set(cache, "copy", 4, value, len, 0, rt_set_cb, s),
                 REDISCONN_OK);
}

Test(blobcache_lru, callback_may_start_new_operations)
{
    rt_set s = {0, 0};
    rt_get g;
    cr_assert_eq(rt_cache_sets(base, cache, "k", "payload", 0), REDISCONN_OK);
    cr_assert_eq(redisconn_blobcache_get(cache, "k", 1, copy_on_hit, &s), REDISCONN_OK);
    cr_assert(rt_loop_until(base, &s.calls, 1000));
    cr_assert_eq(rt_cache_gets(base, cache, "copy", &g), REDISCONN_OK);
    cr_assert_eq(memcmp(g.value, "payload", 7), 0);
}

/* ---- a custom implementation through the interface ---------------------------- */

typedef struct custom {
    int gets, sets, destroyed;
} custom;

static int custom_get(void *impl, const void *key, size_t keylen, redisconn_blobcache_get_cb cb,
                      void *arg)
{
    (void)key;
    (void)keylen;
    (void)cb;
    (void)arg;
    ((custom *)impl)->gets++;
    return REDISCONN_ERR_NOMEM; /* refuses: the callback must then never fire */
}

static int custom_set(void *impl, const void *key, size_t keylen, const void *value, size_t len,
                      int64_t ttl_ms, redisconn_blobcache_set_cb cb, void *arg)
{
    (void)key;
    (void)keylen;
    (void)value;
    (void)len;
    (void)ttl_ms;
    (void)cb;
    (void)arg;
    ((custom *)impl)->sets++;
    return REDISCONN_ERR_NOMEM;
}

static void custom_destroy(void *impl)
{
    ((custom *)impl)->destroyed++;
}

static const redisconn_blobcache_ops custom_ops = {"custom", custom_get, custom_set,
                                                   custom_destroy};

Test(blobcache_lru, custom_implementation_is_dispatched)
{
    custom impl = {0, 0, 0};
    redisconn_blobcache *c = redisconn_blobcache_new(&custom_ops, &impl);
    cr_assert_not_null(c);
    cr_assert_eq(redisconn_blobcache_get(c, "k", 1, rt_never_get_cb, NULL), REDISCONN_ERR_NOMEM);
    cr_assert_eq(redisconn_blobcache_set(c, "k", 1, "v", 1, 0, rt_never_set_cb, NULL),
                 REDISCONN_ERR_NOMEM);
    redisconn_blobcache_free(c);
    cr_assert_eq(impl.gets, 1);
    cr_assert_eq(impl.sets, 1);
    cr_assert_eq(impl.destroyed, 1);
}

Test(blobcache_lru, custom_implementation_is_not_an_lru)
{
    custom impl = {0, 0, 0};
    redisconn_blobcache *c = redisconn_blobcache_new(&custom_ops, &impl);
    cr_assert_not_null(c);
    cr_assert_null(redisconn_blobcache_lru_share(c, "x"));
    cr_assert_eq(redisconn_blobcache_lru_bytes(c), 0);
    redisconn_blobcache_free(c);
}
