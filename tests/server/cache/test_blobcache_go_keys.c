/* SPDX-License-Identifier: BSD-3-Clause */
/* test_blobcache_go_keys.c — wire compatibility of the Redis blob cache with
 * the Go package (go.chromium.org/luci/server/redisconn, module.go: prefix
 * fmt.Sprintf("luci.blobcache.%s:", namespace); blobcache.go: GET, SET /
 * PSETEX), against a real redis-server: what we write is stored under the
 * exact key bytes a Go server reads, and what a Go server writes (played by
 * raw commands with those bytes) is what we read; a configured prefix
 * replaces "luci.blobcache." and nothing else. */
#include <criterion/criterion.h>
#include <string.h>

#include "redisconn/blobcache.h"
#include "support/cache_support.h"
#include "support/pool_fixture.h"

static redisconn_blobcache *cache;

static void teardown(void)
{
    redisconn_blobcache_free(cache);
    rt_env_teardown();
}

TestSuite(blobcache_go_keys, .init = given_server, .fini = teardown, .timeout = 30);

/* The value stored under exactly `key` (`klen` bytes), or "" when absent. */
static void expect_raw(const char *key, size_t klen, const char *value)
{
    redisReply *r = rt_cmd(env.srv, "GET %b", key, klen);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_STRING, "no value under %.*s", (int)klen, key);
    cr_assert_eq(r->len, strlen(value));
    cr_assert_eq(memcmp(r->str, value, r->len), 0);
    freeReplyObject(r);
}

/* What a Go server does for Set(ctx, key, value, 0): SET <prefix><ns>:<key>. */
static void go_sets(const char *key, size_t klen, const char *value)
{
    redisReply *r = rt_cmd(env.srv, "SET %b %s", key, klen, value);
    cr_assert_not_null(r);
    cr_assert_str_eq(r->str, "OK");
    freeReplyObject(r);
}

Test(blobcache_go_keys, default_prefix_is_the_go_one)
{
    cr_assert_str_eq(REDISCONN_BLOBCACHE_REDIS_PREFIX, "luci.blobcache.");
}

Test(blobcache_go_keys, our_set_is_stored_under_the_go_key)
{
    cache = redisconn_blobcache_redis_new(given_pool(NULL), "auth.tokens");
    cr_assert_eq(rt_cache_sets(env.base, cache, "user:42", "v1", 0), REDISCONN_OK);
    expect_raw("luci.blobcache.auth.tokens:user:42", 34, "v1");
}

Test(blobcache_go_keys, a_value_set_by_go_is_our_hit)
{
    rt_get g;
    cache = redisconn_blobcache_redis_new(given_pool(NULL), "auth.tokens");
    go_sets("luci.blobcache.auth.tokens:user:42", 34, "from-go");
    cr_assert_eq(rt_cache_gets(env.base, cache, "user:42", &g), REDISCONN_OK);
    cr_assert_eq(g.len, 7);
    cr_assert_eq(memcmp(g.value, "from-go", 7), 0);
}

Test(blobcache_go_keys, binary_key_bytes_match_both_ways)
{
    static const char key[] = {'k', 0, (char)0xff, ':'};
    static const char full[] = "luci.blobcache.ns:k\0\xff:";
    rt_get g;
    cache = redisconn_blobcache_redis_new(given_pool(NULL), "ns");
    cr_assert_eq(rt_cache_set(env.base, cache, key, sizeof(key), "ours", 4, 0), REDISCONN_OK);
    expect_raw(full, sizeof(full) - 1, "ours");
    go_sets(full, sizeof(full) - 1, "theirs");
    cr_assert_eq(rt_cache_get(env.base, cache, key, sizeof(key), &g), REDISCONN_OK);
    cr_assert_eq(memcmp(g.value, "theirs", 6), 0);
}

Test(blobcache_go_keys, ttl_set_is_psetex_in_milliseconds_on_the_go_key)
{
    redisReply *r;
    cache = redisconn_blobcache_redis_new(given_pool(NULL), "ns");
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "v", 90000), REDISCONN_OK);
    r = rt_cmd(env.srv, "PTTL %s", "luci.blobcache.ns:k");
    cr_assert_gt(r->integer, 80000);
    cr_assert_leq(r->integer, 90000);
    freeReplyObject(r);
}

Test(blobcache_go_keys, a_configured_prefix_replaces_the_go_one)
{
    rt_get g;
    cache = redisconn_blobcache_redis_new_prefixed(given_pool(NULL), "myapp.", "ns");
    cr_assert_not_null(cache);
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "v", 0), REDISCONN_OK);
    expect_raw("myapp.ns:k", 10, "v");
    go_sets("luci.blobcache.ns:k", 19, "go");
    cr_assert_eq(rt_cache_gets(env.base, cache, "k", &g), REDISCONN_OK);
    cr_assert_eq(memcmp(g.value, "v", 1), 0, "the Go key is another entry");
}

Test(blobcache_go_keys, null_prefix_is_the_default_and_empty_prefix_is_none)
{
    redisconn_blobcache *empty;
    cache = redisconn_blobcache_redis_new_prefixed(given_pool(NULL), NULL, "ns");
    empty = redisconn_blobcache_redis_new_prefixed(env.pool, "", "ns");
    cr_assert_not_null(empty);
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "default", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_sets(env.base, empty, "k", "bare", 0), REDISCONN_OK);
    expect_raw("luci.blobcache.ns:k", 19, "default");
    expect_raw("ns:k", 4, "bare");
    redisconn_blobcache_free(empty);
}

Test(blobcache_go_keys, prefix_over_the_limit_is_refused)
{
    char longest[REDISCONN_BLOBCACHE_MAX_PREFIX + 2];
    memset(longest, 'p', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    cr_assert_null(redisconn_blobcache_redis_new_prefixed(given_pool(NULL), longest, "ns"));
    cr_assert_null(redisconn_blobcache_factory_redis_prefixed(env.pool, longest));
    longest[REDISCONN_BLOBCACHE_MAX_PREFIX] = '\0';
    cache = redisconn_blobcache_redis_new_prefixed(env.pool, longest, "ns");
    cr_assert_not_null(cache);
}

Test(blobcache_go_keys, prefixed_factory_makes_caches_with_its_prefix)
{
    redisconn_blobcache_factory *f =
        redisconn_blobcache_factory_redis_prefixed(given_pool(NULL), "x.");
    cr_assert_not_null(f);
    cr_assert_eq(rt_cache_sets(env.base, redisconn_blobcache_factory_get(f, "a"), "k", "1", 0),
                 REDISCONN_OK);
    expect_raw("x.a:k", 5, "1");
    redisconn_blobcache_factory_free(f);
}
