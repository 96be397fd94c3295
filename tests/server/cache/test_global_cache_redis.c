/* SPDX-License-Identifier: BSD-3-Clause */
/* test_global_cache_redis.c — the global blob cache when the Redis module
 * is configured, in a server running in this process against a real
 * redis-server: Redis shadows the server's default, entries live under
 * "luci.blobcache.<namespace>:", and get / set through a context give
 * hits, misses, TTL expiry, binary values, isolated namespaces, errors (not
 * misses) when Redis is down, and the context's error at once when it ends
 * while Redis stalls. */
#include <criterion/criterion.h>
#include <string.h>

#include "redisconn/blobcache.h"
#include "support/cache_support.h"
#include "support/server_fixture.h"

static redisconn_ctx *ctx;

static void setup(void)
{
    given_http_env_with_redis();
    cr_assert_eq(rt_srv_env_start_redis(&http_env), REDISCONN_OK);
    ctx = redisconn_server_ctx(http_env.srv);
}

TestSuite(global_cache_redis, .init = setup, .fini = rt_http_env_teardown, .timeout = 30);

/* A failure a dead server may cause: never OK, never a miss. */
static void expect_unavailable(int status)
{
    cr_assert(status == REDISCONN_ERR_CONNECT || status == REDISCONN_ERR_IO ||
                  status == REDISCONN_ERR_TIMEOUT,
              "got %s", redisconn_status_name(status));
}

Test(global_cache_redis, redis_shadows_the_server_default)
{
    redisconn_blobcache *c = redisconn_global_cache(ctx, "ns");
    cr_assert_not_null(c);
    cr_assert_str_eq(c->ops->name, "redis");
    cr_assert_eq(redisconn_global_cache(ctx, "ns"), c, "one cache per namespace");
}

Test(global_cache_redis, set_stores_under_the_prefixed_key)
{
    redisReply *r;
    cr_assert_eq(rt_ctx_cache_set(http_env.base, ctx, "ns", "k", 1, "value", 5, 0), REDISCONN_OK);
    r = rt_cmd(http_env.redis, "GET %s", "luci.blobcache.ns:k");
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    cr_assert_str_eq(r->str, "value");
    freeReplyObject(r);
}

Test(global_cache_redis, get_after_set_hits)
{
    rt_check_cache_hit(http_env.base, ctx);
}

Test(global_cache_redis, absent_key_is_a_miss)
{
    rt_check_cache_miss(http_env.base, ctx);
}

Test(global_cache_redis, entry_expires_after_its_ttl)
{
    rt_check_cache_ttl(http_env.base, ctx);
}

Test(global_cache_redis, binary_keys_and_values_keep_their_nul_bytes)
{
    rt_check_cache_binary(http_env.base, ctx);
}

Test(global_cache_redis, namespaces_are_isolated)
{
    rt_check_cache_namespaces(http_env.base, ctx);
}

Test(global_cache_redis, get_with_redis_down_is_an_error_not_a_miss)
{
    rt_get g;
    rt_server_stop(http_env.redis);
    expect_unavailable(rt_ctx_cache_get(http_env.base, ctx, "ns", "k", 1, &g));
}

Test(global_cache_redis, set_with_redis_down_is_an_error)
{
    rt_server_stop(http_env.redis);
    expect_unavailable(rt_ctx_cache_set(http_env.base, ctx, "ns", "k", 1, "v", 1, 0));
}

Test(global_cache_redis, deadline_while_redis_stalls_fails_deadline_once)
{
    rt_get g = {0};
    redisconn_ctx *c;
    cr_assert_eq(rt_ctx_cache_set(http_env.base, ctx, "ns", "k", 1, "v", 1, 0), REDISCONN_OK);
    rt_server_pause(http_env.redis);
    c = redisconn_ctx_with_timeout(ctx, 100, NULL);
    cr_assert_eq(redisconn_cache_get(c, "ns", "k", 1, rt_get_cb, &g), REDISCONN_OK);
    cr_assert(rt_loop_until(http_env.base, &g.calls, 5000));
    cr_assert_eq(g.status, REDISCONN_ERR_DEADLINE);
    rt_server_resume_expect_dropped(http_env.redis, http_env.base, &g.calls);
    redisconn_ctx_unref(c);
}

Test(global_cache_redis, cancel_while_redis_stalls_fails_canceled_at_once)
{
    rt_set s = {0, 0};
    redisconn_canceler *cancel;
    redisconn_ctx *c;
    cr_assert_eq(rt_ctx_cache_set(http_env.base, ctx, "ns", "warm", 4, "v", 1, 0), REDISCONN_OK);
    rt_server_pause(http_env.redis);
    c = redisconn_ctx_with_cancel(ctx, &cancel);
    cr_assert_eq(redisconn_cache_set(c, "ns", "k", 1, "v", 1, 0, rt_set_cb, &s), REDISCONN_OK);
    rt_loop_quiet(http_env.base, 30); /* Redis is stalled: nothing may answer yet */
    cr_assert_eq(s.calls, 0, "Redis is stalled: no answer yet");
    redisconn_ctx_cancel(cancel);
    cr_assert(rt_loop_until(http_env.base, &s.calls, 1000));
    cr_assert_eq(s.status, REDISCONN_ERR_CANCELED);
    rt_server_resume_expect_dropped(http_env.redis, http_env.base, &s.calls);
    redisconn_ctx_unref(c);
}
