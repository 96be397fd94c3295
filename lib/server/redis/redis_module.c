/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redis_module.c: the Redis server module (the seed's NewModule): a pool
 * with the seed's defaults in the server's root context (AUTH from a
 * private file or $REDIS_PASSWORD, logging into the server log), Redis as
 * the global blob cache, the pool's metrics, the admin endpoint, the /readyz
 * check; all undone at shutdown. With "-redis-addr redis-cluster://h:p,..."
 * a Redis Cluster client takes the pool's place: in the context
 * (redisconn_use_cluster), behind the blob cache and redisconn_ctx_command,
 * its node pools summed in the metrics, PING through it for /readyz.
 */
#include "redisconn/blobcache.h"
#include "redisconn/cluster.h"
#include "redisconn/metrics.h"
#include "redisconn/redisconn.h"
#include "server/host/host.h"
#include "server/redis/admin.h"
#include "server/redis/pool_metrics.h"
#include "server/redis/secret_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest password accepted from the file or the environment, in bytes. */
#define PASSWORD_MAX 1024

/* How long the /readyz check waits for PING, in milliseconds. */
#define READY_PING_MS 1000

/* A heap module: the descriptor handed out, and the options it reads. */
struct redis_module {
    redisconn_module mod;                 /* mod.data points back here */
    redisconn_module_options own;         /* defaults, or the flags' targets */
    const redisconn_module_options *opts; /* read at initialization */
};

/* What one initialization set up, undone by its cleanup; freed when the
 * pool is (the pool logs through `log` until then). */
typedef struct redis_runtime {
    redisconn_pool *pool;       /* exactly one of the two */
    redisconn_cluster *cluster; /* for a redis-cluster:// address */
    redisconn_metrics *metrics; /* borrowed from the server; the hook's registry */
    redisconn__admin *admin;    /* a reference */
    redisconn__logger log;      /* the server's, copied */
    redisconn_cleanup *cleanup; /* the running cleanup, done when the pool is freed */
} redis_runtime;

/* No address (the module then does nothing), database 0, no AUTH, the Go
 * cache prefix, no tokens. */
void redisconn_module_options_init(redisconn_module_options *opts)
{
    if (opts == NULL) return;
    memset(opts, 0, sizeof(*opts));
}

/* A string flag, or the error of an earlier one. */
static int string_flag(int rc, redisconn_flagset *fs, const char *name, const char **target,
                       const char *usage)
{
    if (rc != REDISCONN_OK) return rc;
    return redisconn_flags_string(fs, name, target, *target, usage);
}

/* The seed's two flags with the Go help texts, then ours. */
int redisconn_module_options_register(redisconn_module_options *opts, redisconn_flagset *fs)
{
    int rc;
    if (opts == NULL || fs == NULL) return REDISCONN_ERR_INVALID;
    if (opts->blobcache_prefix == NULL) opts->blobcache_prefix = REDISCONN_BLOBCACHE_REDIS_PREFIX;
    rc = string_flag(REDISCONN_OK, fs, "redis-addr", &opts->redis_addr,
                     "Redis server to connect to as \"host:port\" (optional, Redis calls won't "
                     "work if not given)");
    if (rc == REDISCONN_OK)
        rc = redisconn_flags_int(fs, "redis-db", &opts->redis_db, opts->redis_db,
                                 "Index of a logical Redis DB to use by default (default is 0)");
    rc = string_flag(rc, fs, "redis-username", &opts->redis_username,
                     "Redis ACL user name to AUTH as (Redis 6+); none: password-only AUTH");
    rc = string_flag(rc, fs, "redis-password-file", &opts->redis_password_file,
                     "file whose first line is the Redis password (mode 0600); none: "
                     "$REDIS_PASSWORD if set, else no AUTH");
    rc = string_flag(rc, fs, "redis-blobcache-prefix", &opts->blobcache_prefix,
                     "key prefix of the Redis blob cache (keys are <prefix><namespace>:<key>)");
    return string_flag(
        rc, fs, "admin-tokens-file", &opts->admin_tokens_file,
        "file of \"token identity group[,group...]\" lines (mode 0600) naming who may call "
        "the admin service (group \"administrators\"); none: nobody");
}

/* The pool's log lines, in the server's log. */
static void pool_log(int level, const char *msg, void *arg)
{
    const redis_runtime *rt = arg;
    redisconn__logger_log(&rt->log, level, "%s", msg);
}

/* The AUTH password into `buf` ("" for none): the file's first line, else
 * $REDIS_PASSWORD. Returns REDISCONN_OK or INVALID, explained on `host`. */
static int read_password(const redisconn_module_options *o, redisconn_host *host, char *buf,
                         size_t len)
{
    char err[512];
    const char *env;
    buf[0] = '\0';
    if (o->redis_password_file != NULL && o->redis_password_file[0] != '\0') {
        if (redisconn__secret_file_first_line(o->redis_password_file, "Redis password file", buf,
                                              len, err, sizeof(err)) == REDISCONN_OK)
            return REDISCONN_OK;
        redisconn_host_errorf(host, "%s", err);
        return REDISCONN_ERR_INVALID;
    }
    env = getenv("REDIS_PASSWORD");
    if (env == NULL || env[0] == '\0') return REDISCONN_OK;
    if (strlen(env) >= len) {
        redisconn_host_errorf(host, "REDIS_PASSWORD is longer than %zu bytes", len - 1);
        return REDISCONN_ERR_INVALID;
    }
    memcpy(buf, env, strlen(env) + 1);
    return REDISCONN_OK;
}

/* "cannot use Redis ..." on `host`, never echoing credentials of a URL. */
static void cannot_use(const redisconn_module_options *o, redisconn_host *host, const char *why)
{
    if (strchr(o->redis_addr, '@') == NULL)
        redisconn_host_errorf(host, "cannot use Redis at \"%s\", db %d: %s", o->redis_addr,
                              o->redis_db, why);
    else /* a URL with credentials: never echo it */
        redisconn_host_errorf(host, "cannot use Redis, db %d: %s", o->redis_db, why);
}

/* A cluster client whose node pools have the options of `po` (db 0 only). */
static int make_cluster(const redisconn_module_options *o, redisconn_host *host, redis_runtime *rt,
                        const redisconn_pool_options *po)
{
    redisconn_cluster_options co;
    redisconn_error err;
    if (o->redis_db != 0) {
        cannot_use(o, host, "a Redis Cluster has only database 0 (-redis-db)");
        return REDISCONN_ERR_INVALID;
    }
    redisconn_cluster_options_init(&co);
    co.pool = *po;
    rt->cluster = redisconn_cluster_new(redisconn_host_base(host), o->redis_addr, &co, &err);
    if (rt->cluster == NULL) cannot_use(o, host, err.message);
    return rt->cluster ? REDISCONN_OK : err.status;
}

/* The pool (or the cluster) with the seed's defaults, AUTH and the server
 * log; the password buffer is wiped whatever happens. An error status with
 * the reason on `host`. */
static int make_target(const redisconn_module_options *o, redisconn_host *host, redis_runtime *rt)
{
    char password[PASSWORD_MAX + 1];
    redisconn_pool_options po;
    redisconn_error err;
    int rc;
    redisconn_pool_options_init(&po); /* the seed's NewPool defaults */
    po.db = o->redis_db;
    po.log_fn = pool_log;
    po.log_arg = rt;
    po.log_level = rt->log.level;
    if (o->redis_username != NULL && o->redis_username[0] != '\0') po.username = o->redis_username;
    if ((rc = read_password(o, host, password, sizeof(password))) == REDISCONN_OK) {
        if (password[0] != '\0') po.password = password;
        if (strncmp(o->redis_addr, "redis-cluster://", 16) == 0) {
            po.db = 0;
            rc = make_cluster(o, host, rt, &po);
        } else {
            rt->pool = redisconn_pool_new_with_options(redisconn_host_base(host), o->redis_addr,
                                                       &po, &err);
            if (rt->pool == NULL) cannot_use(o, host, err.message);
            rc = rt->pool ? REDISCONN_OK : err.status;
        }
    }
    explicit_bzero(password, sizeof(password));
    return rc;
}

/* Collection hook: the pool's statistics (a cluster's node pools, summed)
 * as pool "default" (ReportStats). */
static void report_pool(redisconn_metrics *m, void *arg)
{
    const redis_runtime *rt = arg;
    redisconn_cluster_stats st;
    if (rt->pool != NULL) {
        redisconn_report_stats(m, rt->pool, "default");
        return;
    }
    redisconn_cluster_get_stats(rt->cluster, &st);
    redisconn__report_pool_stats(m, &st.pool, "default");
}

/* The pool is freed: the runtime goes, and the cleanup (if one runs) is over. */
static void on_pool_closed(redisconn_pool *pool, void *arg)
{
    redis_runtime *rt = arg;
    redisconn_cleanup *c = rt->cleanup;
    (void)pool;
    free(rt);
    if (c != NULL) redisconn_cleanup_done(c);
}

static void on_cluster_closed(redisconn_cluster *cluster, void *arg)
{
    (void)cluster;
    on_pool_closed(NULL, arg);
}

/* Closes the pool or the cluster; the runtime is freed when that completes
 * (or now, when the close cannot start). */
static void close_target(redis_runtime *rt)
{
    int rc = rt->pool ? redisconn_pool_close(rt->pool, on_pool_closed, rt)
                      : redisconn_cluster_close(rt->cluster, on_cluster_closed, rt);
    if (rc != REDISCONN_OK) on_pool_closed(NULL, rt);
}

/* Cleanup: no more reports, no more admin state, then the pool closes; done
 * when the close completes. */
static void cleanup(redisconn_cleanup *c, void *arg)
{
    redis_runtime *rt = arg;
    if (rt->metrics != NULL) redisconn_metrics_off_collect(rt->metrics, report_pool, rt);
    redisconn__admin_release(rt->admin);
    rt->admin = NULL;
    rt->cleanup = c;
    close_target(rt);
}

/* One run of the "redis" readiness check. */
typedef struct ready_ping {
    redisconn_readiness *r;
    redis_runtime *rt; /* valid: the pool frees it only after failing this PING */
} ready_ping;

/* Why Redis is not ready after a failed PING: the pool's "server down" state
 * with its last dial error when it has one, else the PING's failure. */
static void not_ready_reason(const redis_runtime *rt, int status, const redisReply *reply,
                             char *why, size_t len)
{
    redisconn_pool_stats st;
    const char *msg = rt->pool ? redisconn_pool_errstr(rt->pool) : NULL;
    if (rt->pool != NULL)
        redisconn_pool_get_stats(rt->pool, &st);
    else
        st.server_down = 0; /* a cluster's nodes: the PING's status tells */
    if (st.server_down)
        snprintf(why, len, "server down: last dial error %s%s%.300s",
                 redisconn_status_name(st.last_dial_status), msg ? ": " : "", msg ? msg : "");
    else if (status != REDISCONN_OK)
        snprintf(why, len, "PING failed: %s (%s)", redisconn_strerror(status),
                 redisconn_status_name(status));
    else
        snprintf(why, len, "PING answered: %.200s", reply->str ? reply->str : "error");
}

/* A PING of the /readyz check answered (or failed). */
static void on_ready_ping(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    ready_ping *p = privdata;
    char why[400];
    (void)conn;
    if (status == REDISCONN_OK && reply->type != REDIS_REPLY_ERROR) {
        redisconn_readiness_done(p->r, NULL);
    } else {
        not_ready_reason(p->rt, status, reply, why, sizeof(why));
        redisconn_readiness_done(p->r, why);
    }
    free(p);
}

/* The "redis" readiness check, the one place that decides: a PING through
 * the pool within READY_PING_MS (while the pool considers the server down it
 * fails at once, or is the probe that ends the outage); the reason names the
 * pool's "server down" state and last dial error when it has them. */
static void check_redis(redisconn_readiness *r, redisconn_ctx *ctx, void *arg)
{
    ready_ping *p = malloc(sizeof(*p));
    int rc = REDISCONN_ERR_NOMEM;
    (void)ctx;
    if (p == NULL) {
        redisconn_readiness_done(r, "out of memory");
        return;
    }
    p->r = r;
    p->rt = arg;
    if (p->rt->pool != NULL)
        rc = redisconn_pool_command(p->rt->pool, READY_PING_MS, on_ready_ping, p, "PING");
    else
        rc = redisconn_cluster_command(p->rt->cluster, READY_PING_MS, on_ready_ping, p, "PING");
    if (rc != REDISCONN_OK) on_ready_ping(NULL, rc, NULL, p);
}

/* The pool (or cluster) in the context, and Redis as its global blob cache. */
static int install_ctx(redisconn_ctx *ctx, const redis_runtime *rt, const char *prefix,
                       redisconn_ctx **out)
{
    redisconn_blobcache_factory *f =
        rt->pool ? redisconn_blobcache_factory_redis_prefixed(rt->pool, prefix)
                 : redisconn_blobcache_factory_redis_cluster(rt->cluster, prefix);
    redisconn_ctx *with_pool =
        rt->pool ? redisconn_use_pool(ctx, rt->pool) : redisconn_use_cluster(ctx, rt->cluster);
    *out = f && with_pool ? redisconn_with_global_cache(with_pool, f) : NULL;
    redisconn_ctx_unref(with_pool);
    if (*out != NULL) return REDISCONN_OK;
    redisconn_blobcache_factory_free(f);
    return REDISCONN_ERR_NOMEM;
}

/* The pool, its cleanup (which undoes everything after it), its metrics,
 * the admin endpoint, the readiness check and the context values. */
static int start_redis(const redisconn_module_options *o, redisconn_ctx *ctx, redisconn_host *host,
                       redisconn_ctx **out_ctx)
{
    redis_runtime *rt = calloc(1, sizeof(*rt));
    int rc = REDISCONN_ERR_NOMEM;
    if (rt == NULL) return rc;
    rt->log = redisconn__host_logger(host);
    if (o->blobcache_prefix != NULL &&
        strlen(o->blobcache_prefix) > REDISCONN_BLOBCACHE_MAX_PREFIX) {
        redisconn_host_errorf(host, "-redis-blobcache-prefix is longer than %d bytes",
                              REDISCONN_BLOBCACHE_MAX_PREFIX);
        free(rt);
        return REDISCONN_ERR_INVALID;
    }
    if ((rc = make_target(o, host, rt)) != REDISCONN_OK) {
        free(rt);
        return rc;
    }
    if ((rc = redisconn_host_add_cleanup(host, cleanup, rt)) != REDISCONN_OK) {
        close_target(rt);
        return rc;
    }
    rt->metrics = redisconn_host_metrics(host);
    if (rt->metrics != NULL) rc = redisconn_metrics_on_collect(rt->metrics, report_pool, rt);
    if (rc == REDISCONN_OK) rc = redisconn__admin_install(host, o->admin_tokens_file, &rt->admin);
    if (rc == REDISCONN_OK) rc = redisconn_host_add_readiness_check(host, "redis", check_redis, rt);
    if (rc == REDISCONN_OK) rc = install_ctx(ctx, rt, o->blobcache_prefix, out_ctx);
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
