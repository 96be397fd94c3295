/* SPDX-License-Identifier: BSD-3-Clause */
/* test_global_cache.c — the global blob cache without Redis: factories of
 * per-namespace caches, their installation in contexts (ownership,
 * shadowing), the server's default in-process LRU, and get / set through a
 * context (redisconn_cache_get/_set): hit, miss, TTL, binary values,
 * namespaces, NOT_CONFIGURED and context errors through the callback. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "redisconn/blobcache.h"
#include "support/cache_support.h"
#include "support/server_fixture.h"

TestSuite(global_cache, .init = given_http_env, .fini = rt_http_env_teardown, .timeout = 30);

/* A started server without modules; returns its root context. */
static redisconn_ctx *server_ctx(void)
{
    rt_srv_env_start_ok(&http_env, NULL, 0);
    return redisconn_server_ctx(http_env.srv);
}

/* A make function that counts its calls and can be told to fail. */
typedef struct maker {
    struct event_base *base;
    int makes;
    int fail_next;
    int freed;
} maker;

static redisconn_blobcache *counting_make(void *arg, const char *ns)
{
    maker *mk = arg;
    mk->makes++;
    if (mk->fail_next) {
        mk->fail_next = 0;
        return NULL;
    }
    return redisconn_blobcache_lru_new(mk->base, 1 << 20, ns);
}

static void count_free(void *arg)
{
    ((maker *)arg)->freed++;
}

/* --- factories ------------------------------------------------------------ */

Test(global_cache, factory_reuses_the_cache_of_a_namespace)
{
    maker mk = {http_env.base, 0, 0, 0};
    redisconn_blobcache_factory *f = redisconn_blobcache_factory_new(counting_make, &mk, NULL);
    redisconn_blobcache *a = redisconn_blobcache_factory_get(f, "a");
    cr_assert_not_null(a);
    cr_assert_eq(redisconn_blobcache_factory_get(f, "a"), a);
    cr_assert_eq(mk.makes, 1);
    redisconn_blobcache_factory_free(f);
}

Test(global_cache, factory_makes_one_cache_per_namespace)
{
    maker mk = {http_env.base, 0, 0, 0};
    redisconn_blobcache_factory *f = redisconn_blobcache_factory_new(counting_make, &mk, NULL);
    redisconn_blobcache *a = redisconn_blobcache_factory_get(f, "a");
    cr_assert_not_null(a);
    cr_assert_neq(redisconn_blobcache_factory_get(f, "b"), a);
    cr_assert_eq(mk.makes, 2);
    redisconn_blobcache_factory_free(f);
}

Test(global_cache, factory_frees_its_argument_once_after_its_caches)
{
    maker mk = {http_env.base, 0, 0, 0};
    redisconn_blobcache_factory *f =
        redisconn_blobcache_factory_new(counting_make, &mk, count_free);
    cr_assert_not_null(redisconn_blobcache_factory_get(f, "a"));
    cr_assert_not_null(redisconn_blobcache_factory_get(f, "b"));
    redisconn_blobcache_factory_free(f);
    cr_assert_eq(mk.freed, 1);
}

Test(global_cache, factory_asks_again_after_a_failed_make)
{
    maker mk = {http_env.base, 0, 1, 0};
    redisconn_blobcache_factory *f = redisconn_blobcache_factory_new(counting_make, &mk, NULL);
    cr_assert_null(redisconn_blobcache_factory_get(f, "a"));
    cr_assert_not_null(redisconn_blobcache_factory_get(f, "a"));
    cr_assert_eq(mk.makes, 2);
    redisconn_blobcache_factory_free(f);
}

Test(global_cache, factory_refuses_invalid_namespaces_without_making)
{
    maker mk = {http_env.base, 0, 0, 0};
    redisconn_blobcache_factory *f = redisconn_blobcache_factory_new(counting_make, &mk, NULL);
    cr_assert_null(redisconn_blobcache_factory_get(f, "a:b"));
    cr_assert_null(redisconn_blobcache_factory_get(f, ""));
    cr_assert_null(redisconn_blobcache_factory_get(f, NULL));
    cr_assert_null(redisconn_blobcache_factory_get(NULL, "a"));
    cr_assert_eq(mk.makes, 0);
    redisconn_blobcache_factory_free(f);
}

Test(global_cache, factory_constructors_refuse_invalid_arguments)
{
    cr_assert_null(redisconn_blobcache_factory_new(NULL, NULL, NULL));
    cr_assert_null(redisconn_blobcache_factory_lru(NULL, 1024));
    cr_assert_null(redisconn_blobcache_factory_lru(http_env.base, 0));
    cr_assert_null(redisconn_blobcache_factory_redis(NULL));
    redisconn_blobcache_factory_free(NULL);
}

Test(global_cache, lru_factory_namespaces_share_one_store_but_not_keys)
{
    rt_get g;
    redisconn_blobcache_factory *f = redisconn_blobcache_factory_lru(http_env.base, 1 << 20);
    redisconn_blobcache *a = redisconn_blobcache_factory_get(f, "a");
    redisconn_blobcache *b = redisconn_blobcache_factory_get(f, "b");
    cr_assert_eq(rt_cache_sets(http_env.base, a, "k", "in a", 0), REDISCONN_OK);
    cr_assert_gt(redisconn_blobcache_lru_bytes(b), 0, "b sees a's store");
    cr_assert_eq(redisconn_blobcache_lru_bytes(a), redisconn_blobcache_lru_bytes(b));
    cr_assert_eq(rt_cache_gets(http_env.base, b, "k", &g), REDISCONN_ERR_CACHE_MISS);
    redisconn_blobcache_factory_free(f);
}

/* --- contexts ------------------------------------------------------------- */

Test(global_cache, context_without_a_factory_has_no_global_cache)
{
    redisconn_ctx *bg = redisconn_ctx_background(http_env.base);
    cr_assert_null(redisconn_global_cache(bg, "ns"));
    cr_assert_null(redisconn_global_cache(NULL, "ns"));
    redisconn_ctx_unref(bg);
}

Test(global_cache, nearest_factory_up_the_chain_wins)
{
    maker m1 = {http_env.base, 0, 0, 0}, m2 = {http_env.base, 0, 0, 0};
    redisconn_ctx *bg = redisconn_ctx_background(http_env.base);
    redisconn_ctx *outer =
        redisconn_with_global_cache(bg, redisconn_blobcache_factory_new(counting_make, &m1, NULL));
    redisconn_ctx *inner = redisconn_with_global_cache(
        outer, redisconn_blobcache_factory_new(counting_make, &m2, NULL));
    redisconn_blobcache *ci = redisconn_global_cache(inner, "ns");
    redisconn_blobcache *co = redisconn_global_cache(outer, "ns");
    cr_assert_not_null(ci);
    cr_assert_not_null(co);
    cr_assert_neq(ci, co);
    cr_assert_eq(m1.makes, 1);
    cr_assert_eq(m2.makes, 1);
    cr_assert_eq(redisconn_global_cache(inner, "ns"), ci, "the same object every time");
    redisconn_ctx_unref(inner);
    redisconn_ctx_unref(outer);
    redisconn_ctx_unref(bg);
}

Test(global_cache, context_frees_the_factory_with_its_node)
{
    maker mk = {http_env.base, 0, 0, 0};
    redisconn_ctx *bg = redisconn_ctx_background(http_env.base);
    redisconn_ctx *c = redisconn_with_global_cache(
        bg, redisconn_blobcache_factory_new(counting_make, &mk, count_free));
    redisconn_ctx *child = redisconn_ctx_with_timeout(c, 10000, NULL);
    cr_assert_not_null(redisconn_global_cache(child, "ns"));
    redisconn_ctx_unref(c);
    cr_assert_eq(mk.freed, 0, "a descendant still refers to it");
    redisconn_ctx_unref(child);
    cr_assert_eq(mk.freed, 1);
    redisconn_ctx_unref(bg);
}

Test(global_cache, installing_with_null_arguments_keeps_nothing)
{
    redisconn_ctx *bg = redisconn_ctx_background(http_env.base);
    redisconn_blobcache_factory *f = redisconn_blobcache_factory_lru(http_env.base, 1024);
    cr_assert_null(redisconn_with_global_cache(NULL, f));
    cr_assert_null(redisconn_with_global_cache(bg, NULL));
    redisconn_blobcache_factory_free(f); /* still ours */
    redisconn_ctx_unref(bg);
}

/* --- the server's default --------------------------------------------------- */

Test(global_cache, server_installs_an_in_process_lru_by_default)
{
    redisconn_blobcache *c = redisconn_global_cache(server_ctx(), "ns");
    cr_assert_not_null(c);
    cr_assert_str_eq(c->ops->name, "lru");
}

Test(global_cache, zero_cache_max_bytes_installs_no_default)
{
    http_env.opts.cache_max_bytes = 0;
    cr_assert_null(redisconn_global_cache(server_ctx(), "ns"));
}

Test(global_cache, negative_cache_max_bytes_is_an_invalid_option)
{
    http_env.opts.cache_max_bytes = -1;
    cr_assert_null(redisconn_server_new(http_env.base, &http_env.opts, NULL, 0));
}

Test(global_cache, default_cache_hits_what_was_set)
{
    rt_check_cache_hit(http_env.base, server_ctx());
}

Test(global_cache, default_cache_misses_an_absent_key)
{
    rt_check_cache_miss(http_env.base, server_ctx());
}

Test(global_cache, default_cache_entry_expires_after_its_ttl)
{
    rt_check_cache_ttl(http_env.base, server_ctx());
}

Test(global_cache, default_cache_keeps_binary_keys_and_values)
{
    rt_check_cache_binary(http_env.base, server_ctx());
}

Test(global_cache, default_cache_namespaces_are_isolated)
{
    rt_check_cache_namespaces(http_env.base, server_ctx());
}

Test(global_cache, default_cache_is_bounded_by_cache_max_bytes)
{
    char value[1000], key[8];
    redisconn_ctx *ctx;
    rt_get g;
    http_env.opts.cache_max_bytes = 4096;
    ctx = server_ctx();
    memset(value, 'v', sizeof(value));
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cr_assert_eq(
            rt_ctx_cache_set(http_env.base, ctx, "ns", key, strlen(key), value, sizeof(value), 0),
            REDISCONN_OK);
    }
    cr_assert_leq(redisconn_blobcache_lru_bytes(redisconn_global_cache(ctx, "ns")), 4096);
    cr_assert_eq(rt_ctx_cache_get(http_env.base, ctx, "ns", "k0", 2, &g), REDISCONN_ERR_CACHE_MISS,
                 "the oldest entry was evicted");
    cr_assert_eq(rt_ctx_cache_get(http_env.base, ctx, "ns", "k9", 2, &g), REDISCONN_OK);
}

Test(global_cache, set_without_callback_still_stores)
{
    redisconn_ctx *ctx = server_ctx();
    rt_get g;
    cr_assert_eq(redisconn_cache_set(ctx, "ns", "k", 1, "v", 1, 0, NULL, NULL), REDISCONN_OK);
    /* Bounded: a set without callback shows nothing when it is done. */
    rt_loop_quiet(http_env.base, 10);
    cr_assert_eq(rt_ctx_cache_get(http_env.base, ctx, "ns", "k", 1, &g), REDISCONN_OK);
}

/* --- context errors ----------------------------------------------------------- */

Test(global_cache, get_without_a_global_cache_fails_not_configured_from_the_loop)
{
    redisconn_ctx *bg = redisconn_ctx_background(http_env.base);
    rt_get g;
    cr_assert_eq(rt_ctx_cache_get(http_env.base, bg, "ns", "k", 1, &g),
                 REDISCONN_ERR_NOT_CONFIGURED);
    redisconn_ctx_unref(bg);
}

Test(global_cache, set_without_a_global_cache_fails_not_configured_from_the_loop)
{
    redisconn_ctx *bg = redisconn_ctx_background(http_env.base);
    cr_assert_eq(rt_ctx_cache_set(http_env.base, bg, "ns", "k", 1, "v", 1, 0),
                 REDISCONN_ERR_NOT_CONFIGURED);
    redisconn_ctx_unref(bg);
}

Test(global_cache, get_on_a_canceled_context_fails_canceled)
{
    redisconn_canceler *cancel;
    redisconn_ctx *c = redisconn_ctx_with_cancel(server_ctx(), &cancel);
    rt_get g;
    redisconn_ctx_cancel(cancel);
    cr_assert_eq(rt_ctx_cache_get(http_env.base, c, "ns", "k", 1, &g), REDISCONN_ERR_CANCELED);
    redisconn_ctx_unref(c);
}

Test(global_cache, set_on_an_expired_context_fails_deadline)
{
    redisconn_ctx *c = redisconn_ctx_with_timeout(server_ctx(), 0, NULL);
    cr_assert_eq(rt_ctx_cache_set(http_env.base, c, "ns", "k", 1, "v", 1, 0),
                 REDISCONN_ERR_DEADLINE);
    redisconn_ctx_unref(c);
}

Test(global_cache, set_on_an_expired_context_stores_nothing)
{
    redisconn_ctx *ctx = server_ctx();
    redisconn_ctx *c = redisconn_ctx_with_timeout(ctx, 0, NULL);
    rt_get g;
    rt_ctx_cache_set(http_env.base, c, "ns", "k", 1, "v", 1, 0);
    cr_assert_eq(rt_ctx_cache_get(http_env.base, ctx, "ns", "k", 1, &g), REDISCONN_ERR_CACHE_MISS);
    redisconn_ctx_unref(c);
}

Test(global_cache, invalid_arguments_fail_without_a_callback)
{
    redisconn_ctx *ctx = server_ctx();
    cr_assert_eq(redisconn_cache_get(NULL, "ns", "k", 1, rt_never_get_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_cache_get(ctx, "a:b", "k", 1, rt_never_get_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_cache_get(ctx, "ns", NULL, 1, rt_never_get_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_cache_get(ctx, "ns", "k", 1, NULL, NULL), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_cache_set(ctx, "ns", "k", 1, "v", 1, -1, rt_never_set_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_cache_set(ctx, "ns", "k", 1, NULL, 1, 0, rt_never_set_cb, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_cache_set(ctx, "", "k", 1, "v", 1, 0, rt_never_set_cb, NULL),
                 REDISCONN_ERR_INVALID);
    rt_loop_quiet(http_env.base, 20); /* a callback would come now */
}
