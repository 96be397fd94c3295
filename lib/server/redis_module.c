/*
 * redis_module.c: the Redis server module (the seed's NewModule): a pool
 * with the seed's defaults in the server's root context, closed at shutdown.
 */
#include "redisconn/redisconn.h"
#include "server/server_internal.h"

#include <stdlib.h>

/* A heap module: the descriptor handed out, and the options it reads. */
struct redis_module {
    redisconn_module mod;                 /* mod.data points back here */
    redisconn_module_options own;         /* defaults, or the flags' targets */
    const redisconn_module_options *opts; /* read at initialization */
};

/* No address (the module then does nothing), database 0. */
void redisconn_module_options_init(redisconn_module_options *opts)
{
    if (opts == NULL) return;
    opts->redis_addr = NULL;
    opts->redis_db = 0;
}

/* The seed's two flags, with its help texts. */
int redisconn_module_options_register(redisconn_module_options *opts, redisconn_flagset *fs)
{
    int rc;
    if (opts == NULL || fs == NULL) return REDISCONN_ERR_INVALID;
    rc = redisconn_flags_string(fs, "redis-addr", &opts->redis_addr, opts->redis_addr,
                                "Redis server to connect to as \"host:port\"");
    if (rc != REDISCONN_OK) return rc;
    return redisconn_flags_int(fs, "redis-db", &opts->redis_db, opts->redis_db,
                               "index of a logical Redis DB to use by default");
}

/* The pool is freed: this cleanup is over. */
static void on_pool_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    redisconn_cleanup_done(arg);
}

/* Cleanup: closes the pool; done when the close completes. */
static void close_pool(redisconn_cleanup *cleanup, void *arg)
{
    if (redisconn_pool_close(arg, on_pool_closed, cleanup) != REDISCONN_OK)
        redisconn_cleanup_done(cleanup);
}

/* Creates the pool and installs it, unless no address is configured. */
static int redis_initialize(const redisconn_module *m, redisconn_ctx *ctx, redisconn_host *host,
                            redisconn_ctx **out_ctx)
{
    const redisconn_module_options *o = ((const struct redis_module *)m->data)->opts;
    redisconn_pool_options po;
    redisconn_pool *pool;
    int rc;
    if (o->redis_addr == NULL || o->redis_addr[0] == '\0') return REDISCONN_OK;
    redisconn_pool_options_init(&po); /* the seed's NewPool defaults */
    po.db = o->redis_db;
    pool = redisconn_pool_new_with_options(redisconn_host_base(host), o->redis_addr, &po, &rc);
    if (pool == NULL) {
        redisconn_host_errorf(host, "cannot use Redis at \"%s\", db %d", o->redis_addr,
                              o->redis_db);
        return rc;
    }
    rc = redisconn_host_add_cleanup(host, close_pool, pool);
    if (rc != REDISCONN_OK) {
        redisconn_pool_close(pool, NULL, NULL);
        return rc;
    }
    *out_ctx = redisconn_use_pool(ctx, pool);
    return *out_ctx ? REDISCONN_OK : REDISCONN_ERR_NOMEM; /* the cleanup closes the pool */
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
