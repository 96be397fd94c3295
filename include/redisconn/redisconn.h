/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/redisconn.h — the seed's API (go.chromium.org/luci/server/redisconn)
 * on top of the pool: a pool carried in a context, Get(ctx), and the Redis
 * server module.
 *
 *   seed (Go)                        here (C)
 *   UsePool(ctx, pool)               redisconn_use_pool(ctx, pool)
 *   GetPool(ctx)                     redisconn_get_pool(ctx)
 *   Get(ctx) (blocks)                redisconn_get(ctx, cb, arg) (callback)
 *   ErrNotConfigured                 REDISCONN_ERR_NOT_CONFIGURED
 *   ModuleName                       REDISCONN_MODULE_NAME
 *   ModuleOptions{RedisAddr,RedisDB} redisconn_module_options{redis_addr,redis_db}
 *   (*ModuleOptions).Register(f)     redisconn_module_options_register(opts, fs)
 *   NewModule(opts)                  redisconn_module_new(opts)
 *   NewModuleFromFlags()             redisconn_module_new_from_flags()
 *
 * Same threading and callback rules as redisconn/pool.h.
 */
#ifndef REDISCONN_REDISCONN_H
#define REDISCONN_REDISCONN_H

#include "common.h"
#include "server_status.h"
#include "context.h"
#include "flags.h"
#include "module.h"
#include "pool.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The Redis module's registered name, for dependencies
 * ({REDISCONN_MODULE_NAME, REDISCONN_DEP_REQUIRED}): the Go package's
 * (`module.RegisterName("go.chromium.org/luci/server/redisconn")`), so
 * module names, dependency errors and logs read the same in C and Go
 * servers. redisconn_module_new() registers it; do not register it
 * yourself.
 */
#define REDISCONN_MODULE_NAME "go.chromium.org/luci/server/redisconn"

/**
 * Derives a context holding `pool`, to be found by redisconn_get_pool() and
 * used by redisconn_get(). Returns a new reference, or NULL if an argument is
 * NULL or memory is short. The context does not own the pool: the pool must
 * stay open while gets may be made through the context (the Redis module
 * closes its pool only after every request has finished).
 */
REDISCONN_EXPORT redisconn_ctx *redisconn_use_pool(redisconn_ctx *ctx, redisconn_pool *pool);

/** The pool installed in `ctx` (the nearest one up the chain), or NULL. Borrowed. */
REDISCONN_EXPORT redisconn_pool *redisconn_get_pool(const redisconn_ctx *ctx);

struct redisconn_cluster;

/**
 * Derives a context holding a Redis Cluster client (redisconn/cluster.h), as
 * redisconn_use_pool() does a pool (not owned; it must stay open while the
 * context is used). Nearest wins: below it, redisconn_get_pool() is NULL
 * unless a pool is installed further down, and the other way round.
 * redisconn_ctx_command() and the Redis blob cache go through the cluster;
 * redisconn_get() fails with REDISCONN_ERR_CLUSTER (a lease must be by key:
 * redisconn_cluster_acquire()). The Redis module installs one for
 * "-redis-addr redis-cluster://host:port,...". Returns a new reference, or
 * NULL if an argument is NULL or memory is short.
 */
REDISCONN_EXPORT redisconn_ctx *redisconn_use_cluster(redisconn_ctx *ctx,
                                                      struct redisconn_cluster *cluster);

/** The cluster installed in `ctx` (the nearest up the chain), or NULL. Borrowed. */
REDISCONN_EXPORT struct redisconn_cluster *redisconn_get_cluster(const redisconn_ctx *ctx);

/** A pending redisconn_get(). Opaque; valid until its callback returns. */
typedef struct redisconn_get_req redisconn_get_req;

/**
 * Leases a connection from the pool in `ctx`, like the seed's Get(ctx),
 * without blocking: `cb` receives the connection or the reason there is none.
 *
 *  - No pool in `ctx`: REDISCONN_ERR_NOT_CONFIGURED; a cluster instead
 *    (redisconn_use_cluster()): REDISCONN_ERR_CLUSTER, `errmsg` saying to
 *    lease by key with redisconn_cluster_acquire().
 *  - `ctx` already done: its error (REDISCONN_ERR_CANCELED / _DEADLINE).
 *  - Otherwise the pool's acquire runs with the time left until the
 *    deadline of `ctx` as its timeout (no deadline: no timeout). If `ctx`
 *    ends while waiting (its deadline passes, it is canceled), the acquire
 *    is canceled and `cb` gets the context's error at once —
 *    REDISCONN_ERR_DEADLINE / REDISCONN_ERR_CANCELED; a connection the pool
 *    had chosen meanwhile goes back to the pool. Other statuses are the
 *    pool's (CLOSED, CONNECT — also for a dial that exceeded the connect
 *    timeout —, AUTH, ...).
 *
 * The connection is not tied to `ctx` and may outlive it; release it with
 * redisconn_release(). The request holds its own reference to `ctx`.
 * Returns a handle (valid until the callback returns), or NULL if `ctx` or
 * `cb` is NULL or memory is short — then `cb` never fires. Otherwise `cb`
 * fires exactly once, from the loop, never inside this call.
 */
REDISCONN_EXPORT redisconn_get_req *redisconn_get(redisconn_ctx *ctx, redisconn_acquire_cb cb,
                                                  void *arg);

/**
 * Cancels a pending get: its callback fires from the loop with
 * REDISCONN_ERR_CANCELED (a connection already chosen goes back to the pool).
 * Returns REDISCONN_OK, or REDISCONN_ERR_STATE from inside its own callback.
 */
REDISCONN_EXPORT int redisconn_get_cancel(redisconn_get_req *req);

/**
 * Runs one stateless command on the pool installed in `ctx` as a pool-level
 * command (redisconn_pool_command(): no lease, pipelined on a shared
 * connection) — or on the cluster installed there, routed by its keys
 * (redisconn_cluster_command(), which also refuses CROSSSLOT and CLUSTER
 * synchronously) — bounded by the context:
 *
 *  - no pool in `ctx`: `cb` gets REDISCONN_ERR_NOT_CONFIGURED;
 *  - `ctx` already done: `cb` gets its error (CANCELED / DEADLINE);
 *  - otherwise the command runs with the time left until the deadline of
 *    `ctx` as its timeout (no deadline: the pool's command timeout). A
 *    timeout caused by the deadline is reported as REDISCONN_ERR_DEADLINE.
 *  - If `ctx` ends (canceled, deadline) while the command is in flight, `cb`
 *    gets the context's error AT ONCE, and the reply is discarded when it
 *    arrives: a command cannot be withdrawn from a pipeline, so it may
 *    still have run. Use a leased connection if you must know.
 *  - Otherwise `cb` gets the pool's outcome (REDISCONN_OK with the reply —
 *    maybe an error reply — or IO, CLOSED, TIMEOUT, NOMEM...).
 *
 * `cb` (may be NULL) gets `conn` NULL and a reply valid during the call only.
 * Returns REDISCONN_OK, or REDISCONN_ERR_INVALID (NULL ctx or format, bad
 * format), REDISCONN_ERR_LEASE_REQUIRED (a command that changes connection
 * state: lease a connection), REDISCONN_ERR_UNSUPPORTED, REDISCONN_ERR_CLOSED
 * (the pool is closed) or REDISCONN_ERR_NOMEM — then `cb` never fires.
 * Otherwise `cb` fires exactly once, from the loop, never inside this call.
 * The command holds its own reference to `ctx` until it is over. Call it on
 * the thread of the context's event_base.
 */
REDISCONN_EXPORT int redisconn_ctx_command(redisconn_ctx *ctx, redisconn_reply_cb cb,
                                           void *privdata, const char *fmt, ...);

/** va_list variant of redisconn_ctx_command(). */
REDISCONN_EXPORT int redisconn_ctx_commandv(redisconn_ctx *ctx, redisconn_reply_cb cb,
                                            void *privdata, const char *fmt, va_list ap);

/**
 * Argument-vector variant of redisconn_ctx_command(): `argc` (> 0) arguments,
 * lengths from `argvlen` (NULL = strlen); copied before returning.
 */
REDISCONN_EXPORT int redisconn_ctx_command_argv(redisconn_ctx *ctx, redisconn_reply_cb cb,
                                                void *privdata, int argc, const char **argv,
                                                const size_t *argvlen);

/** The Go package's admin service (proto package server.redisconn, service Admin). */
#define REDISCONN_ADMIN_SERVICE "server.redisconn.Admin"

/** The pRPC path prefix of the admin service's methods. */
#define REDISCONN_ADMIN_PRPC_PREFIX "/prpc/" REDISCONN_ADMIN_SERVICE "/"

/**
 * Path of Admin.FlushAll(FlushAllRequest{bool async = 1}) returns
 * (google.protobuf.Empty), served by the Redis module over pRPC (POST; see
 * docs/admin.md).
 */
#define REDISCONN_ADMIN_FLUSH_ALL_PATH REDISCONN_ADMIN_PRPC_PREFIX "FlushAll"

/** The group whose members may call the admin endpoint. */
#define REDISCONN_ADMIN_GROUP "administrators"

/** Options of the Redis module (a plain struct, Go's ModuleOptions). */
typedef struct redisconn_module_options {
    /** Redis server to connect to as "host:port"; NULL or "" = no Redis. */
    const char *redis_addr;
    /** Index of a logical Redis DB to use by default. */
    int redis_db;
    /** AUTH user name (Redis 6 ACL); NULL or "" = password-only AUTH. Our addition. */
    const char *redis_username;
    /**
     * File whose first line is the AUTH password (without "\n"/"\r\n"); it
     * must not be accessible by group or others, like the token file. NULL
     * or "": the password comes from the environment variable REDIS_PASSWORD
     * when it is set and not empty, else no AUTH. Read at initialization,
     * never logged; there is deliberately no way to pass the password
     * itself on the command line. Our addition.
     */
    const char *redis_password_file;
    /**
     * Key prefix of the Redis blob cache; NULL = REDISCONN_BLOBCACHE_REDIS_PREFIX
     * ("luci.blobcache.", the Go server's, so C and Go servers share a
     * cache). Our addition.
     */
    const char *blobcache_prefix;
    /**
     * Token file of the admin endpoint (see docs/admin.md): lines
     * "token identity group[,group...]"; it must not be accessible by group
     * or others. NULL or "" = no file: nobody is an administrator.
     */
    const char *admin_tokens_file;
} redisconn_module_options;

/** Zeroes `opts`: no Redis address, database 0, no user or password file,
 * the Go cache prefix, no admin tokens file. */
REDISCONN_EXPORT void redisconn_module_options_init(redisconn_module_options *opts);

/**
 * Registers in `fs` the Go package's -redis-addr (string) and -redis-db
 * (int), with its help texts, and ours: -redis-username,
 * -redis-password-file, -redis-blobcache-prefix and -admin-tokens-file
 * (strings). The current values of `opts` are the defaults (a NULL
 * blobcache_prefix shows as "luci.blobcache."); parsing `fs` then writes
 * into `opts` (the strings then point into `fs`). `opts` must outlive every
 * parse of `fs`. Returns REDISCONN_OK or the flag set's
 * error (for instance INVALID when the flags are already registered).
 */
REDISCONN_EXPORT int redisconn_module_options_register(redisconn_module_options *opts,
                                                       redisconn_flagset *fs);

/**
 * Creates the Redis module. `opts` is borrowed and read when the server
 * initializes the module (so flags parsed after this call count): it must
 * stay valid until the server has started. NULL means the defaults, i.e. no
 * Redis.
 *
 * At initialization the module does nothing if redis_addr is empty (then
 * redisconn_get() fails with REDISCONN_ERR_NOT_CONFIGURED, and the server's
 * in-process cache stays the global blob cache). Otherwise it:
 *  - creates a pool with the seed's defaults on the server's event_base
 *    (AUTH with redis_username and the password of redis_password_file or
 *    $REDIS_PASSWORD; the pool logs into the server's log) and installs it
 *    in the server's root context with redisconn_use_pool();
 *  - installs Redis as the global blob cache (redisconn_with_global_cache()
 *    with redisconn_blobcache_factory_redis()), shadowing the server's
 *    default;
 *  - reports the pool in the server's metrics registry as pool "default"
 *    (redisconn_report_stats() as a collection hook);
 *  - serves POST REDISCONN_ADMIN_FLUSH_ALL_PATH (pRPC) for the members of
 *    REDISCONN_ADMIN_GROUP listed in admin_tokens_file (docs/admin.md);
 *  - adds the readiness check "redis" to GET /readyz: not ready while a
 *    PING through the pool fails within 1 s;
 *  - registers a cleanup that removes the hook and closes the pool
 *    (asynchronously) at shutdown.
 * A malformed address, a negative database, a bad token or password file
 * (unreadable, accessible by group or others, a malformed line, an empty
 * password) or a cache prefix over REDISCONN_BLOBCACHE_MAX_PREFIX bytes
 * aborts startup.
 *
 * Returns the module, or NULL when memory is short. Free it with
 * redisconn_module_free() after the server has shut down.
 */
REDISCONN_EXPORT redisconn_module *redisconn_module_new(const redisconn_module_options *opts);

/**
 * Like redisconn_module_new() with options that live in the module and are
 * registered as flags (redisconn_module_options_register()) in the
 * command-line flag set
 * (redisconn_flags_commandline()), which redisconn_server_main() parses.
 * Returns NULL when memory is short or the flags already exist (call it once
 * per process). Free with redisconn_module_free() after the server is done;
 * the flags must not be parsed after that.
 */
REDISCONN_EXPORT redisconn_module *redisconn_module_new_from_flags(void);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_REDISCONN_H */
