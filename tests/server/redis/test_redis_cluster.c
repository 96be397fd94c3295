/* SPDX-License-Identifier: BSD-3-Clause */
/* test_redis_cluster.c — the server layer on a Redis Cluster (one real
 * 3-master cluster shared by the binary, rt_cluster_main): a cluster in a
 * context (nearest wins over a pool), redisconn_ctx_command routed by key,
 * redisconn_get refused with a pointer to the lease by key, the Redis blob
 * cache on the cluster, and the Redis module with -redis-addr
 * redis-cluster://... (context, /readyz, cache, shutdown). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "redisconn/blobcache.h"
#include "redisconn/cluster.h"
#include "support/cache_support.h"
#include "support/cluster_support.h"
#include "support/pool_support.h"
#include "support/server_support.h"

static rt_cluster rc;
static struct event_base *base;
static redisconn_cluster *cl;
static redisconn_ctx *root;

static void setup(void)
{
    base = event_base_new();
    rt_cluster_attach(&rc);
}

static void teardown(void)
{
    redisconn_ctx_unref(root);
    root = NULL;
    if (cl) rt_cluster_client_close(base, cl);
    cl = NULL;
    rt_cluster_stop(&rc);
    event_base_free(base);
}

TestSuite(redis_cluster, .init = setup, .fini = teardown, .timeout = 60);

int main(int argc, char *argv[])
{
    return rt_cluster_main(argc, argv);
}

/* A background context holding a cluster client. */
static redisconn_ctx *given_cluster_ctx(void)
{
    redisconn_ctx *bg = redisconn_ctx_background(base);
    cl = rt_cluster_client(base, &rc, NULL, NULL);
    root = redisconn_use_cluster(bg, cl);
    redisconn_ctx_unref(bg);
    cr_assert_not_null(root);
    return root;
}

Test(redis_cluster, the_nearest_of_a_pool_and_a_cluster_wins)
{
    redisconn_pool *pool = redisconn_pool_new(base, "127.0.0.1:1", 0);
    redisconn_ctx *with_cluster = given_cluster_ctx();
    redisconn_ctx *with_pool = redisconn_use_pool(with_cluster, pool);
    redisconn_ctx *again = redisconn_use_cluster(with_pool, cl);
    cr_assert_eq(redisconn_get_cluster(with_cluster), cl);
    cr_assert_null(redisconn_get_pool(with_cluster));
    cr_assert_eq(redisconn_get_pool(with_pool), pool);
    cr_assert_null(redisconn_get_cluster(with_pool), "the pool hides the cluster above it");
    cr_assert_eq(redisconn_get_cluster(again), cl);
    cr_assert_null(redisconn_get_pool(again));
    redisconn_ctx_unref(again);
    redisconn_ctx_unref(with_pool);
    redisconn_pool_close(pool, NULL, NULL);
}

Test(redis_cluster, ctx_commands_go_to_the_master_owning_the_key)
{
    enum { N = 50 };
    static rt_reply r[N];
    char key[32];
    redisconn_ctx *ctx = given_cluster_ctx();
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "ctxcmd:%d", i);
        cr_assert_eq(redisconn_ctx_command(ctx, rt_reply_cb, &r[i], "SET %s v%d", key, i),
                     REDISCONN_OK);
    }
    for (int i = 0; i < N; i++) {
        rt_await(base, r[i].calls == 1, 5000);
        cr_assert_eq(r[i].status, REDISCONN_OK, "%s", redisconn_status_name(r[i].status));
        cr_assert_str_eq(r[i].str, "OK");
    }
    for (int i = 0; i < N; i += 5) { /* on the owner, read without redirection */
        redisReply *x;
        snprintf(key, sizeof(key), "ctxcmd:%d", i);
        x = rt_cmd(rt_cluster_node_at(&rc, rt_cluster_slot_owner(
                                               &rc, redisconn_cluster_keyslot(key, strlen(key)))),
                   "GET %s", key);
        cr_assert_eq(x->type, REDIS_REPLY_STRING, "%s", key);
        freeReplyObject(x);
    }
    cr_assert_eq(redisconn_ctx_command(ctx, rt_never_reply_cb, NULL, "MGET a b"),
                 REDISCONN_ERR_CROSSSLOT, "refused at once, as redisconn_cluster_command does");
    cr_assert_eq(redisconn_ctx_command(ctx, rt_never_reply_cb, NULL, "FLUSHALL"),
                 REDISCONN_ERR_CLUSTER);
}

Test(redis_cluster, a_get_on_a_cluster_context_points_to_the_lease_by_key)
{
    rt_acq a = {0};
    redisconn_ctx *ctx = given_cluster_ctx();
    cr_assert_not_null(redisconn_get(ctx, rt_acq_cb, &a));
    cr_assert_eq(a.calls, 0, "never from inside the call");
    rt_await(base, a.calls == 1, 5000);
    rt_loop_quiet(base, 10); /* a second callback would come now */
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.status, REDISCONN_ERR_CLUSTER);
    cr_assert_null(a.conn);
    cr_assert(strstr(a.errmsg, "redisconn_cluster_acquire") != NULL, "%s", a.errmsg);
}

Test(redis_cluster, the_blob_cache_on_a_cluster_stores_each_key_on_its_owner)
{
    rt_get g;
    redisconn_blobcache *c;
    const char *key = "luci.blobcache.ns:k1";
    redisReply *x;
    given_cluster_ctx();
    c = redisconn_blobcache_redis_cluster_new(cl, NULL, "ns");
    cr_assert_not_null(c);
    cr_assert_eq(rt_cache_gets(base, c, "missing", &g), REDISCONN_ERR_CACHE_MISS);
    cr_assert_eq(rt_cache_sets(base, c, "k1", "v1", 0), REDISCONN_OK);
    cr_assert_eq(rt_cache_sets(base, c, "k2", "v2", 60000), REDISCONN_OK);
    cr_assert_eq(rt_cache_gets(base, c, "k1", &g), REDISCONN_OK);
    cr_assert_eq(g.len, 2);
    cr_assert(memcmp(g.value, "v1", 2) == 0);
    x = rt_cmd(rt_cluster_node_at(
                   &rc, rt_cluster_slot_owner(&rc, redisconn_cluster_keyslot(key, strlen(key)))),
               "GET %s", key);
    cr_assert_eq(x->type, REDIS_REPLY_STRING, "the Go key, on its slot's master");
    freeReplyObject(x);
    redisconn_blobcache_free(c);
}

/* ---- the Redis module on a cluster ------------------------------------------ */

static rt_srv_env env;
static char addr[300];

static void given_module_on_cluster(void)
{
    rt_srv_env_init(&env, 0);
    snprintf(addr, sizeof(addr), "redis-cluster://%s", rc.seeds);
    env.redis_opts.redis_addr = addr;
}

Test(redis_cluster, the_module_with_a_cluster_address_installs_the_cluster)
{
    char body[512];
    redisconn_ctx *ctx;
    rt_get g;
    given_module_on_cluster();
    cr_assert_eq(rt_srv_env_start_redis(&env), REDISCONN_OK, "%s", env.log.buf);
    ctx = redisconn_server_ctx(env.srv);
    cr_assert_not_null(redisconn_get_cluster(ctx));
    cr_assert_null(redisconn_get_pool(ctx));
    cr_assert_eq(rt_srv_get(&env, "/readyz", body, sizeof(body)), 200, "%s", body);
    cr_assert_eq(rt_ctx_cache_set(env.base, ctx, "mod", "k", 1, "v", 1, 0), REDISCONN_OK);
    cr_assert_eq(rt_ctx_cache_get(env.base, ctx, "mod", "k", 1, &g), REDISCONN_OK);
    cr_assert_eq(g.len, 1);
    rt_srv_env_shutdown(&env); /* the cluster closes with the server */
    rt_srv_env_fini(&env);
}

Test(redis_cluster, the_module_refuses_a_database_on_a_cluster)
{
    given_module_on_cluster();
    env.redis_opts.redis_db = 2;
    cr_assert_neq(rt_srv_env_start_redis(&env), REDISCONN_OK);
    cr_assert(strstr(env.log.buf, "only database 0") != NULL, "%s", env.log.buf);
    rt_srv_env_fini(&env);
}
