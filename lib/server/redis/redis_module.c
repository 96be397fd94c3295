/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redis_module.c: the Redis server module (the seed's NewModule): a pool
 * with the seed's defaults in the server's root context, Redis as the global
 * blob cache, the pool's metrics, the admin endpoint; all undone at shutdown.
 */
#include "redisconn/blobcache.h"
#include "redisconn/metrics.h"
#include "redisconn/redisconn.h"
#include "server/redis/admin.h"
#include "server/host/host.h"

#include <stdlib.h>
#include <string.h>

/* A heap module: the descriptor handed out, and the options it reads. */
struct redis_module {
    redisconn_module mod;                 /* mod.data points back here */
    redisconn_module_options own;         /* defaults, or the flags' targets */
    const redisconn_module_options *opts; /* read at initialization */
};

/* What one initialization set up, undone by its cleanup. */
typedef struct redis_runtime {
    redisconn_pool *pool;
    redisconn_metrics *metrics; /* borrowed from the server; the hook's registry */
    redisconn__admin *admin;    /* a reference */
} redis_runtime;

/* No address (the module then does nothing), database 0, no tokens. */
void redisconn_module_options_init(redisconn_module_options *opts)
{
    if (opts == NULL) return;
    opts->redis_addr = NULL;
    opts->redis_db = 0;
    opts->admin_tokens_file = NULL;
}

/* The seed's two flags, with its help texts, and the admin token file. */
int redisconn_module_options_register(redisconn_module_options *opts, redisconn_flagset *fs)
{
    int rc;
    if (opts == NULL || fs == NULL) return REDISCONN_ERR_INVALID;
    rc = redisconn_flags_string(fs, "redis-addr", &opts->redis_addr, opts->redis_addr,
                                "Redis server to connect to as \"host:port\"");
    if (rc != REDISCONN_OK) return rc;
    rc = redisconn_flags_int(fs, "redis-db", &opts->redis_db, opts->redis_db,
                             "index of a logical Redis DB to use by default");
    if (rc != REDISCONN_OK) return rc;
    return redisconn_flags_string(
        fs, "admin-tokens-file", &opts->admin_tokens_file, opts->admin_tokens_file,
        "file of \"token identity group[,group...]\" lines (mode 0600) naming who may call "
        "the admin endpoints (group \"administrators\"); none: nobody");
}

/* Collection hook: the pool's statistics as pool "default" (ReportStats). */
static void report_pool(redisconn_metrics *m, void *pool)
{
    redisconn_report_stats(m, pool, "default");
}

/* The pool is freed: this cleanup is over. */
static void on_pool_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    redisconn_cleanup_done(arg);
}

/* Cleanup: no more reports, no more admin state, then the pool closes; done
 * when the close completes. */
static void cleanup(redisconn_cleanup *c, void *arg)
{
    redis_runtime *rt = arg;
    redisconn_pool *pool = rt->pool;
    if (rt->metrics != NULL) redisconn_metrics_off_collect(rt->metrics, report_pool, pool);
    redisconn__admin_release(rt->admin);
    free(rt);
    if (redisconn_pool_close(pool, on_pool_closed, c) != REDISCONN_OK) redisconn_cleanup_done(c);
}

/* The pool in the context, and Redis as its global blob cache. */
static int install_ctx(redisconn_ctx *ctx, redisconn_pool *pool, redisconn_ctx **out)
{
    redisconn_blobcache_factory *f = redisconn_blobcache_factory_redis(pool);
    redisconn_ctx *with_pool = redisconn_use_pool(ctx, pool);
    *out = f && with_pool ? redisconn_with_global_cache(with_pool, f) : NULL;
    redisconn_ctx_unref(with_pool);
    if (*out != NULL) return REDISCONN_OK;
    redisconn_blobcache_factory_free(f);
    return REDISCONN_ERR_NOMEM;
}

/* The pool, its cleanup (which undoes everything after it), its metrics,
 * the admin endpoint and the context values. */
static int start_redis(const redisconn_module_options *o, redisconn_ctx *ctx, redisconn_host *host,
                       redisconn_ctx **out_ctx)
{
    redisconn_pool_options po;
    redisconn_error err;
    redis_runtime *rt = calloc(1, sizeof(*rt));
    int rc = REDISCONN_ERR_NOMEM;
    if (rt == NULL) return rc;
    redisconn_pool_options_init(&po); /* the seed's NewPool defaults */
    po.db = o->redis_db;
    rt->pool = redisconn_pool_new_with_options(redisconn_host_base(host), o->redis_addr, &po, &err);
    if (rt->pool == NULL) {
        if (strchr(o->redis_addr, '@') == NULL)
            redisconn_host_errorf(host, "cannot use Redis at \"%s\", db %d: %s", o->redis_addr,
                                  o->redis_db, err.message);
        else /* a URL with credentials: never echo it */
            redisconn_host_errorf(host, "cannot use Redis, db %d: %s", o->redis_db, err.message);
        free(rt);
        return err.status;
    }
    if ((rc = redisconn_host_add_cleanup(host, cleanup, rt)) != REDISCONN_OK) {
        redisconn_pool_close(rt->pool, NULL, NULL);
        free(rt);
        return rc;
    }
    rt->metrics = redisconn_host_metrics(host);
    if (rt->metrics != NULL) rc = redisconn_metrics_on_collect(rt->metrics, report_pool, rt->pool);
    if (rc == REDISCONN_OK) rc = redisconn__admin_install(host, o->admin_tokens_file, &rt->admin);
    if (rc == REDISCONN_OK) rc = install_ctx(ctx, rt->pool, out_ctx);
    return rc; /* on failure the cleanup undoes what was done */
}

/* Does nothing unless an address is configured. */
static int redis_initialize(const redisconn_module *m, redisconn_ctx *ctx, redisconn_host *host,
                            redisconn_ctx **out_ctx)
{
    const redisconn_module_options *o = ((const struct redis_module *)m->data)->opts;
    if (o->redis_addr == NULL || o->redis_addr[0] == '\0') return REDISCONN_OK;
    return start_redis(o, ctx, host, out_ctx);
}

/* Frees the module allocated by redis_module_alloc(). */
static void redis_destroy(redisconn_module *m)
{
    free(m->data);
}

/* A module reading `opts`, or its own defaults when NULL. */
static struct redis_module *redis_module_alloc(const redisconn_module_options *opts)
{
    struct redis_module *rm;
    if (redisconn__module_name_ensure(REDISCONN_MODULE_NAME) == NULL) return NULL;
    rm = calloc(1, sizeof(*rm));
    if (rm == NULL) return NULL;
    rm->mod.name = REDISCONN_MODULE_NAME;
    rm->mod.initialize = redis_initialize;
    rm->mod.destroy = redis_destroy;
    rm->mod.data = rm;
    redisconn_module_options_init(&rm->own);
    rm->opts = opts ? opts : &rm->own;
    return rm;
}

/* A module reading the caller's options (or the defaults). */
redisconn_module *redisconn_module_new(const redisconn_module_options *opts)
{
    struct redis_module *rm = redis_module_alloc(opts);
    return rm ? &rm->mod : NULL;
}

/* A module whose options are flags of the command-line set. */
redisconn_module *redisconn_module_new_from_flags(void)
{
    struct redis_module *rm = redis_module_alloc(NULL);
    redisconn_flagset *fs = redisconn_flags_commandline();
    if (rm == NULL) return NULL;
    if (fs == NULL || redisconn_module_options_register(&rm->own, fs) != REDISCONN_OK) {
        /* If -redis-addr got registered, the flag set points into `rm`:
         * keep it (a one-time leak) rather than leave a dangling target. */
        if (rm->own.redis_addr == NULL) free(rm);
        return NULL;
    }
    return &rm->mod;
}
