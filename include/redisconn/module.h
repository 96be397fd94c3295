/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/module.h — server modules, nginx style: a module is a descriptor
 * of hooks plus a name, usually a `static const redisconn_module`.
 *
 *   static const redisconn_module_dep hello_deps[] = {
 *       {REDISCONN_MODULE_NAME, REDISCONN_DEP_REQUIRED},
 *   };
 *   static const redisconn_module hello_module = {
 *       .name = "hello",
 *       .deps = hello_deps,
 *       .n_deps = 1,
 *       .initialize = hello_initialize,
 *   };
 *   ...
 *   redisconn_module_register_name("hello");   // once per process, in main()
 *
 * The server (redisconn/server.h) calls each module's register_flags hook
 * before parsing the command line, then initializes the modules in
 * dependency order (a topological order that keeps the given order where
 * dependencies allow). A module's initialize hook may derive the server's
 * root context (to install values such as a Redis pool), register routes,
 * and register cleanups, which run in reverse registration order at
 * shutdown.
 *
 * NAMES. Module names live in a process-wide registry: a name is registered
 * once, registering it again fails, and the server refuses a module whose
 * name was never registered. This keeps names unique across a program the
 * way Go's module.RegisterName does.
 *
 * THREADS. The registry is thread-safe. Host services must be called on the
 * server's loop thread.
 */
#ifndef REDISCONN_MODULE_H
#define REDISCONN_MODULE_H

#include <stddef.h>

#include "common.h"
#include "context.h"
#include "flags.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct redisconn_metrics;

/** What a module sees of the server during initialization. Opaque; owned by the server. */
typedef struct redisconn_host redisconn_host;
/** An HTTP request being served (see redisconn/server.h). Opaque. */
typedef struct redisconn_request redisconn_request;
/** A registered module name. Opaque; lives as long as the process. */
typedef struct redisconn_module_name redisconn_module_name;
/** A running cleanup, handed to its function. Opaque; valid until redisconn_cleanup_done(). */
typedef struct redisconn_cleanup redisconn_cleanup;
/** One run of a readiness check (GET /readyz). Opaque; valid until redisconn_readiness_done(). */
typedef struct redisconn_readiness redisconn_readiness;

/**
 * Readiness check, run for every GET /readyz on the loop. `ctx` is the
 * request's context (its deadline bounds the check; the pool of the Redis
 * module is in it); borrowed, valid until redisconn_readiness_done(). The
 * check must call redisconn_readiness_done(r, ...) exactly once, inside
 * this call or later from the loop.
 */
typedef void (*redisconn_readiness_fn)(redisconn_readiness *r, redisconn_ctx *ctx, void *arg);

/**
 * Request handler. Runs on the loop with a request that it must answer
 * exactly once with redisconn_request_reply() — now or later, from any
 * callback on the loop.
 */
typedef void (*redisconn_handler_fn)(redisconn_request *req, void *arg);

/**
 * A cleanup. It must call redisconn_cleanup_done(`cleanup`) exactly once
 * when it has finished: inside the call, or later from the loop (e.g. from
 * a pool close callback). The next cleanup starts after that.
 */
typedef void (*redisconn_cleanup_fn)(redisconn_cleanup *cleanup, void *arg);

/** Kinds of dependency. */
enum redisconn_dep_kind {
    REDISCONN_DEP_REQUIRED = 0, /**< startup fails without the named module */
    REDISCONN_DEP_OPTIONAL = 1, /**< ordering only, if the named module is present */
};

/** One dependency, by module name. */
typedef struct redisconn_module_dep {
    const char *name;
    int kind; /**< enum redisconn_dep_kind */
} redisconn_module_dep;

typedef struct redisconn_module redisconn_module;

/**
 * A module descriptor: a plain struct of hooks. Every pointer in it must
 * stay valid while a server uses the module.
 */
struct redisconn_module {
    /** Unique name, registered with redisconn_module_register_name(). */
    const char *name;
    /** Dependencies: modules that must be initialized before this one. */
    const redisconn_module_dep *deps;
    size_t n_deps;
    /**
     * Optional. Registers the module's flags in `fs` before the command line
     * is parsed. Returns REDISCONN_OK or a status that aborts startup.
     */
    int (*register_flags)(const redisconn_module *m, redisconn_flagset *fs);
    /**
     * Optional. Initializes the module. `ctx` is the server's root context so
     * far (borrowed). To install values, store a derived context (a new
     * reference, which the server takes over) in `*out_ctx`; leave it NULL
     * to keep `ctx`. Returns REDISCONN_OK, or an error status that aborts
     * startup (explain it with redisconn_host_errorf()). Cleanups the module
     * registered before failing still run.
     */
    int (*initialize)(const redisconn_module *m, redisconn_ctx *ctx, redisconn_host *host,
                      redisconn_ctx **out_ctx);
    /** Optional. Frees a heap-allocated module (redisconn_module_free()); NULL for static ones. */
    void (*destroy)(redisconn_module *m);
    /** The module's own data (options, state), for its hooks. */
    void *data;
};

/**
 * Registers a module name for the life of the process and returns its handle.
 * Returns NULL if `name` is NULL or empty, already registered, or memory is
 * short. The name is copied.
 */
REDISCONN_EXPORT const redisconn_module_name *redisconn_module_register_name(const char *name);

/** The handle of a registered name, or NULL. */
REDISCONN_EXPORT const redisconn_module_name *redisconn_module_lookup_name(const char *name);

/** The text of a registered name; valid for the life of the process. */
REDISCONN_EXPORT const char *redisconn_module_name_str(const redisconn_module_name *name);

/**
 * Frees a module made by a constructor such as redisconn_module_new() (calls
 * its destroy hook). Call it after the server using it has shut down. A
 * module without a destroy hook (a static descriptor) and NULL are ignored.
 */
REDISCONN_EXPORT void redisconn_module_free(redisconn_module *m);

/**
 * Registers a cleanup to run at shutdown, after in-flight requests have
 * finished; cleanups run one at a time, the last registered first. `fn` is
 * called with `arg` exactly once if this returns REDISCONN_OK — at shutdown,
 * or when startup fails after this call. Returns REDISCONN_OK,
 * REDISCONN_ERR_INVALID (NULL arguments), REDISCONN_ERR_STATE (shutdown has
 * started) or REDISCONN_ERR_NOMEM.
 */
REDISCONN_EXPORT int redisconn_host_add_cleanup(redisconn_host *host, redisconn_cleanup_fn fn,
                                                void *arg);

/**
 * Reports that a cleanup has finished. Call it exactly once per cleanup;
 * `cleanup` is invalid afterwards. The next step of the shutdown runs from
 * the loop, never inside this call.
 */
REDISCONN_EXPORT void redisconn_cleanup_done(redisconn_cleanup *cleanup);

/**
 * Adds an HTTP route, as redisconn_server_route() does (see server.h):
 * `method` ("GET", "POST", ...) and `path`, either exact ("/status") or a
 * prefix: a path ending in a slash and an asterisk, written "/cache/" "*" here
 * (a comment cannot hold the two characters together), matches "/cache/"
 * and everything below it.
 * Strings are copied. Returns REDISCONN_OK, REDISCONN_ERR_INVALID (bad
 * method or path, or the route exists) or REDISCONN_ERR_NOMEM.
 */
REDISCONN_EXPORT int redisconn_host_route(redisconn_host *host, const char *method,
                                          const char *path, redisconn_handler_fn handler,
                                          void *arg);

/**
 * The server's metrics registry (served at GET /metrics), or NULL for a NULL
 * host. Borrowed: valid until the server is freed. A module adds its
 * families and collection hooks here, and removes its hooks in its cleanup
 * before freeing what they read.
 */
REDISCONN_EXPORT struct redisconn_metrics *redisconn_host_metrics(redisconn_host *host);

/** The server's event_base (borrowed; outlives the server). */
REDISCONN_EXPORT struct event_base *redisconn_host_base(redisconn_host *host);

/**
 * Adds a readiness check: GET /readyz (built into the server) runs every
 * check at once and answers 200 "ok" when all report ready, else 503 with
 * one line "<name>: <reason>" per check that is not ready (the liveness
 * probe GET /healthz runs none). `name` is copied; `fn(r, ctx, arg)` runs
 * only while the server serves requests (never once its shutdown has begun,
 * so `arg` may be freed by a cleanup). Returns REDISCONN_OK,
 * REDISCONN_ERR_INVALID (NULL host, name or fn) or REDISCONN_ERR_NOMEM.
 */
REDISCONN_EXPORT int redisconn_host_add_readiness_check(redisconn_host *host, const char *name,
                                                        redisconn_readiness_fn fn, void *arg);

/**
 * Reports the outcome of one run of a readiness check: `not_ready` NULL
 * means ready, otherwise it is the reason (copied; one line, no secrets).
 * Must be called exactly once per run; `r` is invalid afterwards.
 */
REDISCONN_EXPORT void redisconn_readiness_done(redisconn_readiness *r, const char *not_ready);

/**
 * Explains why the module's initialize hook is failing; the server puts the
 * text in its startup error, after the module's name. printf-style; copied.
 */
REDISCONN_EXPORT void redisconn_host_errorf(redisconn_host *host, const char *fmt, ...)
    REDISCONN_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_MODULE_H */
