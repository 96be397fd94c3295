/* SPDX-License-Identifier: BSD-3-Clause */
/* test_blobcache_redis.c — the Redis blob cache against a real redis-server:
 * key layout, SET / PSETEX, misses, binary values, namespaces, and failures
 * that must be errors, never misses. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "redisconn/blobcache.h"
#include "support/cache_support.h"
#include "support/pool_fixture.h"

static redisconn_blobcache *cache;

static void setup(void)
{
    given_server();
    cache = redisconn_blobcache_redis_new(given_pool(NULL), "ns");
    cr_assert_not_null(cache);
}

static void teardown(void)
{
    redisconn_blobcache_free(cache);
    rt_env_teardown();
}

TestSuite(blobcache_redis, .init = setup, .fini = teardown, .timeout = 30);

/* A command on the side connection; returns the reply (caller frees). */
static redisReply *side(const char *fmt, const char *arg)
{
    redisReply *r = rt_cmd(env.srv, fmt, arg);
    cr_assert_not_null(r);
    return r;
}

Test(blobcache_redis, get_after_set_hits)
{
    rt_get g;
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "value", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(env.base, cache, "k", &g), REDISCONN_OK);
    cr_assert_eq(g.len, 5);
    cr_assert_eq(memcmp(g.value, "value", 5), 0);
}

Test(blobcache_redis, absent_key_is_a_miss_without_value)
{
    rt_get g;
    cr_assert_eq(rt_cache_gets(env.base, cache, "absent", &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert(g.value_null);
}

Test(blobcache_redis, keys_carry_the_namespace_prefix)
{
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "v", 0), REDISCONN_OK);
    redisReply *r = side("KEYS %s", "*");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 1);
    cr_assert_str_eq(r->element[0]->str, "luci.blobcache.ns:k");
    freeReplyObject(r);
}

Test(blobcache_redis, set_without_ttl_never_expires)
{
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "v", 0), REDISCONN_OK);
    redisReply *r = side("PTTL %s", "luci.blobcache.ns:k");
    cr_assert_eq(r->integer, -1, "no expiry expected, PTTL %lld", r->integer);
    freeReplyObject(r);
}

Test(blobcache_redis, set_with_ttl_sets_the_expiry_in_milliseconds)
{
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "v", 60000), REDISCONN_OK);
    redisReply *r = side("PTTL %s", "luci.blobcache.ns:k");
    cr_assert_gt(r->integer, 0);
    cr_assert_leq(r->integer, 60000);
    freeReplyObject(r);
}

Test(blobcache_redis, entry_expires_after_its_ttl)
{
    rt_get g;
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "v", 100), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(env.base, cache, "k", &g), REDISCONN_OK);
    cr_assert(rt_cache_await_miss(env.base, cache, "k", 250), "not expired in 250 ms");
    cr_assert_eq(rt_cache_gets(env.base, cache, "k", &g), REDISCONN_ERR_CACHE_MISS);
}

Test(blobcache_redis, binary_keys_and_values_keep_their_nul_bytes)
{
    const char key[] = {'b', 0, 'k'};
    const char val[] = {0, 'a', 0, 'b', 0};
    rt_get g;
    cr_assert_eq(rt_cache_set(env.base, cache, key, 3, val, 5, 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_get(env.base, cache, key, 3, &g), REDISCONN_OK);
    cr_assert_eq(g.len, 5);
    cr_assert_eq(memcmp(g.value, val, 5), 0);
    static const char stored[] = "luci.blobcache.ns:b\0k";
    redisReply *r = rt_cmd(env.srv, "STRLEN %b", stored, sizeof(stored) - 1);
    cr_assert_eq(r->integer, 5, "the key must keep its NUL too");
    freeReplyObject(r);
}

Test(blobcache_redis, empty_value_is_a_hit_of_length_zero)
{
    rt_get g;
    cr_assert_eq(rt_cache_set(env.base, cache, "k", 1, NULL, 0, 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(env.base, cache, "k", &g), REDISCONN_OK);
    cr_assert_not(g.value_null);
    cr_assert_eq(g.len, 0);
}

Test(blobcache_redis, namespaces_are_isolated)
{
    rt_get g;
    redisconn_blobcache *other = redisconn_blobcache_redis_new(env.pool, "other");
    cr_assert_not_null(other);
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "mine", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(env.base, other, "k", &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert_eq(rt_cache_sets(env.base, other, "k", "theirs", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(env.base, cache, "k", &g), REDISCONN_OK);
    cr_assert_eq(memcmp(g.value, "mine", 4), 0);
    redisconn_blobcache_free(other);
}

Test(blobcache_redis, callbacks_never_fire_inside_the_call)
{
    rt_get g = {0};
    rt_set s = {0, 0};
    redisconn_release(rt_acquire_ok(&env)); /* an idle connection: the fastest path */
    cr_assert_eq(redisconn_blobcache_set(cache, "k", 1, "v", 1, 0, rt_set_cb, &s), REDISCONN_OK);
    cr_assert_eq(redisconn_blobcache_get(cache, "k", 1, rt_get_cb, &g), REDISCONN_OK);
    cr_assert_eq(s.calls + g.calls, 0);
    cr_assert(rt_loop_until(env.base, &g.calls, 2000));
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(g.calls, 1);
}

Test(blobcache_redis, operations_give_their_connection_back)
{
    rt_get g;
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "v", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(env.base, cache, "k", &g), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(env.base, cache, "x", &g), REDISCONN_ERR_CACHE_MISS);
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.in_use_count, 0);
    cr_assert_eq(st.idle_count, 1, "one connection, reused");
}

Test(blobcache_redis, get_with_server_down_is_an_error_not_a_miss)
{
    rt_get g;
    rt_server_stop(env.srv);
    int st = rt_cache_gets(env.base, cache, "k", &g);
    cr_assert(st == REDISCONN_ERR_CONNECT || st == REDISCONN_ERR_IO || st == REDISCONN_ERR_TIMEOUT,
              "got %s", redisconn_status_name(st));
}

Test(blobcache_redis, set_with_server_down_is_an_error)
{
    rt_server_stop(env.srv);
    int st = rt_cache_sets(env.base, cache, "k", "v", 0);
    cr_assert(st == REDISCONN_ERR_CONNECT || st == REDISCONN_ERR_IO || st == REDISCONN_ERR_TIMEOUT,
              "got %s", redisconn_status_name(st));
}

Test(blobcache_redis, get_on_a_connection_killed_meanwhile_is_an_error_not_a_miss)
{
    rt_get g;
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "v", 0), REDISCONN_OK);
    rt_server_stop(env.srv); /* the pooled idle connection is dead now */
    int st = rt_cache_gets(env.base, cache, "k", &g);
    cr_assert_neq(st, REDISCONN_OK);
    cr_assert_neq(st, REDISCONN_ERR_CACHE_MISS, "a dead server is not a miss");
}

Test(blobcache_redis, error_reply_is_reported_as_reply_error)
{
    rt_get g;
    redisReply *r = side("LPUSH %s x", "luci.blobcache.ns:list");
    freeReplyObject(r);
    cr_assert_eq(rt_cache_gets(env.base, cache, "list", &g), REDISCONN_ERR_REPLY);
}

Test(blobcache_redis, closed_pool_fails_operations_with_closed)
{
    rt_get g = {0};
    close_pool(); /* freed once the get is done with it */
    cr_assert_eq(redisconn_blobcache_get(cache, "k", 1, rt_get_cb, &g), REDISCONN_OK);
    cr_assert(rt_loop_until(env.base, &g.calls, 2000));
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(g.calls, 1);
    cr_assert_eq(g.status, REDISCONN_ERR_CLOSED);
}

Test(blobcache_redis, free_with_operation_in_flight_still_calls_back_once)
{
    rt_get g = {0};
    cr_assert_eq(rt_cache_sets(env.base, cache, "k", "v", 0), REDISCONN_OK);
    cr_assert_eq(redisconn_blobcache_get(cache, "k", 1, rt_get_cb, &g), REDISCONN_OK);
    redisconn_blobcache_free(cache);
    cache = NULL;
    cr_assert(rt_loop_until(env.base, &g.calls, 2000));
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(g.calls, 1);
    cr_assert_eq(g.status, REDISCONN_OK);
}

Test(blobcache_redis, invalid_constructor_arguments_yield_null)
{
    cr_assert_null(redisconn_blobcache_redis_new(NULL, "ns"));
    cr_assert_null(redisconn_blobcache_redis_new(env.pool, "a:b"));
    cr_assert_null(redisconn_blobcache_redis_new(env.pool, ""));
    cr_assert_null(redisconn_blobcache_redis_new(env.pool, NULL));
}

Test(blobcache_redis, invalid_arguments_fail_without_a_callback)
{
    cr_assert_eq(redisconn_blobcache_get(cache, NULL, 2, rt_never_get_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_blobcache_set(cache, "k", 1, "v", 1, -5, rt_never_set_cb, NULL),
                 REDISCONN_ERR_INVALID);
    rt_loop_quiet(env.base, 20); /* a callback would come now */
    cr_assert_eq(rt_clients(env.srv), 0, "nothing was sent");
}
