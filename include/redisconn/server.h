/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/server.h — an HTTP server host on libevent's evhttp, re-creating
 * the seed's server.Main(opts, modules, init).
 *
 *   int main(int argc, char **argv)
 *   {
 *       redisconn_module *redis = redisconn_module_new_from_flags();
 *       const redisconn_module *mods[] = {redis};
 *       int rc = redisconn_server_main(argc, argv, mods, 1, init, NULL);
 *       redisconn_module_free(redis);
 *       return rc;
 *   }
 *
 * LIFE CYCLE. redisconn_server_new() -> redisconn_server_start() (modules
 * initialized in dependency order, listener bound) -> routes added ->
 * the loop serves -> redisconn_server_shutdown(): stop accepting, let the
 * requests in flight finish (bounded by the shutdown timeout; the rest get
 * 503), cancel the root context, run the cleanups in reverse order, free
 * everything, call the completion callback. redisconn_server_main() does all
 * of that around flag parsing and SIGINT/SIGTERM.
 *
 * REQUESTS. A handler receives a redisconn_request with its own context
 * (derived from the server's root context, with the request timeout as
 * deadline) and must answer it exactly once with redisconn_request_reply(),
 * at once or later from any loop callback. If the deadline passes first the
 * client gets 504 at once; if the server shuts down first, 503. The handler
 * still replies when its work ends (the reply is then dropped): that is what
 * frees the request. Replying cancels the request's context.
 *
 * THREADS. One server per event_base; everything runs on the loop thread.
 */
#ifndef REDISCONN_SERVER_H
#define REDISCONN_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "server_status.h"
#include "context.h"
#include "flags.h"
#include "module.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct redisconn_metrics;

/** The server. Opaque; from redisconn_server_new() until its shutdown completes. */
typedef struct redisconn_server redisconn_server;

/** Server options, a plain struct: call redisconn_server_options_init() first. */
typedef struct redisconn_server_options {
    /** Where to listen, "host:port", "[v6]:port" or ":port" (all interfaces).
     * Port 0 picks a free port (see redisconn_server_port()). Default "127.0.0.1:8800". */
    const char *http_addr;
    /** Deadline of each request's context; 0 = none. Default 30000 (30 s). */
    int64_t request_timeout_ms;
    /** Bound on each shutdown phase (draining requests, then cleanups); 0 = none.
     * Default 10000 (10 s). */
    int64_t shutdown_timeout_ms;
    /** Largest request body accepted (larger: 413). Default 8 MiB. */
    int64_t max_body_bytes;
    /** Byte bound of the in-process LRU the server installs as the global blob
     * cache (redisconn_global_cache()) until a module installs another (the
     * Redis module does); 0 = no default cache. Default 64 MiB. */
    int cache_max_bytes;
    /** Log hook; NULL logs to stderr. */
    redisconn_log_fn log_fn;
    void *log_arg;
    /** Least level logged. Default REDISCONN_LOG_INFO. */
    int log_level;
} redisconn_server_options;

/** Fills `opts` with the defaults above. */
REDISCONN_EXPORT void redisconn_server_options_init(redisconn_server_options *opts);

/**
 * Registers -http-addr, -request-timeout, -shutdown-timeout and
 * -cache-max-bytes in `fs`, with the current values of `opts` as defaults;
 * parsing writes into `opts`, which must outlive every parse. Returns
 * REDISCONN_OK or the flag set's error.
 */
REDISCONN_EXPORT int redisconn_server_options_register(redisconn_server_options *opts,
                                                       redisconn_flagset *fs);

/** Called once the modules are initialized, to add routes. Non-OK aborts startup. */
typedef int (*redisconn_server_init_fn)(redisconn_server *srv, void *arg);

/**
 * Shutdown completion. REDISCONN_OK: everything ran and the server is freed.
 * REDISCONN_ERR_TIMEOUT: a cleanup did not finish within the shutdown
 * timeout; the server frees itself if it ever does, so keep the loop and
 * base alive or exit the process.
 */
typedef void (*redisconn_server_done_cb)(int status, void *arg);

/**
 * Creates a server on `base` (which must outlive it) for `modules` (the array
 * is copied; the modules are borrowed and must outlive the server). `opts`
 * may be NULL for the defaults; its strings are copied. The server creates
 * its metrics registry (served at GET /metrics) and, unless
 * cache_max_bytes is 0, installs an in-process LRU of that size as the
 * global blob cache of its root context. No module is initialized and
 * nothing is bound yet. Returns NULL on invalid options (negative timeouts
 * or sizes, NULL base or module) or out of memory.
 */
REDISCONN_EXPORT redisconn_server *redisconn_server_new(struct event_base *base,
                                                        const redisconn_server_options *opts,
                                                        const redisconn_module *const *modules,
                                                        size_t n);

/**
 * Initializes the modules in dependency order, then binds the listener.
 * Returns REDISCONN_OK, or an error with the reason in
 * redisconn_server_error() (and logged): an unregistered or duplicate module
 * name, a missing required dependency, a dependency cycle (naming the
 * modules), a module's initialize failure (naming the module), or an address
 * that cannot be bound. Either way, finish with redisconn_server_shutdown(),
 * which also runs the cleanups registered before a failure. Calling it twice
 * is REDISCONN_ERR_STATE.
 */
REDISCONN_EXPORT int redisconn_server_start(redisconn_server *srv);

/** The last startup error, or "" (owned by the server, valid until it is freed). */
REDISCONN_EXPORT const char *redisconn_server_error(const redisconn_server *srv);

/** The port the server listens on, or -1 when not listening. */
REDISCONN_EXPORT int redisconn_server_port(const redisconn_server *srv);

/**
 * The server's root context, with whatever the modules installed (borrowed:
 * take a reference to keep it beyond the current callback). Canceled when
 * the shutdown has drained the requests.
 */
REDISCONN_EXPORT redisconn_ctx *redisconn_server_ctx(const redisconn_server *srv);

/**
 * The server's metrics registry (borrowed: valid until the server is freed;
 * the same as redisconn_host_metrics()). GET /metrics runs its collection
 * hooks and serves it as Prometheus text (REDISCONN_METRICS_CONTENT_TYPE).
 * Register families and hooks from the loop thread.
 */
REDISCONN_EXPORT struct redisconn_metrics *redisconn_server_metrics(const redisconn_server *srv);

/** The host services (cleanups, routes, metrics) of the server (borrowed). */
REDISCONN_EXPORT redisconn_host *redisconn_server_host(redisconn_server *srv);

/** The server's event_base (borrowed). */
REDISCONN_EXPORT struct event_base *redisconn_server_base(const redisconn_server *srv);

/**
 * Adds a route: `method` ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD",
 * "OPTIONS") and `path`, exact ("/status") or a prefix: a path ending in a
 * slash and an asterisk ("/cache/" "*" — a C comment cannot spell it) matches
 * "/cache/" and everything below it. The longest prefix wins; an
 * exact route beats a prefix). An unknown path gets 404, a known path with
 * another method 405. "GET /healthz" (200 "ok") and "GET /metrics" (the
 * metrics registry) are built in. Strings are copied; `arg` is passed to
 * `handler`. Returns REDISCONN_OK, REDISCONN_ERR_INVALID (bad method or
 * path, or the route exists),
 * REDISCONN_ERR_STATE (shutdown started) or REDISCONN_ERR_NOMEM.
 */
REDISCONN_EXPORT int redisconn_server_route(redisconn_server *srv, const char *method,
                                            const char *path, redisconn_handler_fn handler,
                                            void *arg);

/**
 * Starts the graceful shutdown described at the top of this file. `cb` (may
 * be NULL) fires exactly once from the loop, after the server is freed
 * (`srv` is invalid then). Returns REDISCONN_OK, REDISCONN_ERR_INVALID, or
 * REDISCONN_ERR_STATE if the shutdown already started (then `cb` never
 * fires).
 */
REDISCONN_EXPORT int redisconn_server_shutdown(redisconn_server *srv, redisconn_server_done_cb cb,
                                               void *arg);

/**
 * The whole program, like the seed's server.Main: creates an event_base;
 * registers the server's flags (-http-addr, -request-timeout,
 * -shutdown-timeout, -cache-max-bytes) and the modules' flags in the
 * command-line flag set; parses argv; starts the server; calls `init(srv,
 * arg)` (may be NULL) so the program adds its routes; serves until SIGINT or
 * SIGTERM; shuts down gracefully; frees everything. Call it once per
 * process, from the main thread; it ignores SIGPIPE. `modules` are borrowed.
 *
 * Returns the exit code: 0 after a clean shutdown or -help; 2 for bad
 * flags or positional arguments; 1 when startup or init failed, or when the
 * shutdown did not complete within its timeout.
 */
REDISCONN_EXPORT int redisconn_server_main(int argc, char **argv,
                                           const redisconn_module *const *modules, size_t n,
                                           redisconn_server_init_fn init, void *arg);

/* --- requests ------------------------------------------------------------ */

/**
 * The request's context (borrowed, valid until the reply): derived from the
 * server's root context, done at the request deadline, when the server shuts
 * down, or when the handler replies. Pass it to redisconn_get().
 */
REDISCONN_EXPORT redisconn_ctx *redisconn_request_ctx(const redisconn_request *req);

/** "GET", "POST", ... (static string). */
REDISCONN_EXPORT const char *redisconn_request_method(const redisconn_request *req);

/** The percent-decoded path, without the query ("/cache/a b"). Valid until the reply. */
REDISCONN_EXPORT const char *redisconn_request_path(const redisconn_request *req);

/** The first query parameter `name` (decoded), or NULL. Valid until the reply. */
REDISCONN_EXPORT const char *redisconn_request_query(const redisconn_request *req,
                                                     const char *name);

/** The request header `name` (case-insensitive), or NULL. Valid until the reply. */
REDISCONN_EXPORT const char *redisconn_request_header(const redisconn_request *req,
                                                      const char *name);

/**
 * The request body (NUL-terminated for convenience; `*len` excludes the NUL;
 * `len` may be NULL). Valid until the reply.
 */
REDISCONN_EXPORT const void *redisconn_request_body(const redisconn_request *req, size_t *len);

/**
 * Adds a response header (copied). Returns REDISCONN_OK, REDISCONN_ERR_INVALID
 * (NULL or a name/value with CR or LF) or REDISCONN_ERR_NOMEM.
 */
REDISCONN_EXPORT int redisconn_request_set_header(redisconn_request *req, const char *name,
                                                  const char *value);

/**
 * Answers the request with `status` (100..599), a Content-Type (NULL: none)
 * and `len` bytes of `body` (copied), then frees the request and cancels its
 * context: `req` is invalid afterwards. Returns REDISCONN_OK when the
 * response was handed to the connection; REDISCONN_ERR_DEADLINE or
 * REDISCONN_ERR_CANCELED when the server had already answered 504 / 503;
 * REDISCONN_ERR_IO when evhttp already knew the client had gone (a client
 * that hung up is usually noticed only when the response is written). In
 * all these cases the request is consumed. Returns REDISCONN_ERR_INVALID, consuming nothing, for a
 * NULL request, a bad status, or a NULL body with `len` > 0.
 */
REDISCONN_EXPORT int redisconn_request_reply(redisconn_request *req, int status,
                                             const char *content_type, const void *body,
                                             size_t len);

/** redisconn_request_reply() with a printf-formatted "text/plain; charset=utf-8" body. */
REDISCONN_EXPORT int redisconn_request_replyf(redisconn_request *req, int status, const char *fmt,
                                              ...) REDISCONN_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_SERVER_H */
