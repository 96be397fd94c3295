/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * host/internal.h — the server host's private structures, shared by the
 * files of host/: server.c (the hub: options, creation, startup, free),
 * http.c (routes, requests), shutdown.c (drain, cleanups), host.c (module
 * services) and main.c; module.c (names, order) needs none of them.
 *
 * Ownership:
 *  - the server owns its routes, its cleanup records until they complete,
 *    its evhttp, its timer and one reference to its root context;
 *  - a request is owned by its handler from dispatch until the reply; the
 *    server links it in `requests` meanwhile (to drain it at shutdown) and
 *    unlinks ("orphans") the ones left when it gives up waiting;
 *  - the evhttp_request of a request belongs to libevent; we hold it from
 *    dispatch until we answer it (then evreq is NULL).
 *
 * Deferral: the shutdown's steps run from the defer queue of the server's
 * context tree (context/internal.h); the server holds its root
 * context until it is freed, which keeps that queue alive.
 */
#ifndef REDISCONN_SERVER_HOST_INTERNAL_H
#define REDISCONN_SERVER_HOST_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include <event2/keyvalq_struct.h>

#include "redisconn/server.h"
#include "server/context/internal.h"
#include "server/host/host.h"
#include "util/defer.h"
#include "util/list.h"
#include "util/timer.h"

struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;

enum server_state {
    SRV_NEW,      /* created, not started */
    SRV_RUNNING,  /* started: serving */
    SRV_FAILED,   /* start failed: waiting for shutdown */
    SRV_DRAINING, /* shutdown: waiting for requests in flight */
    SRV_FLUSHING, /* shutdown: writing the 503s of requests that overran */
    SRV_CLEANING, /* shutdown: running cleanups */
};

struct redisconn_host {
    redisconn_server *srv;
    const redisconn_module *current; /* module being initialized, or NULL */
    char *error;                     /* set by redisconn_host_errorf() */
};

struct redisconn_cleanup {
    redisconn__link node; /* srv->cleanups, registration order */
    redisconn_server *srv;
    redisconn_cleanup_fn fn;
    void *arg;
    const char *module; /* name of the module that registered it, or NULL */
};

typedef struct redisconn__route {
    redisconn__link node;
    char *method;
    char *path; /* for a prefix route, without the trailing '*' */
    size_t path_len;
    int prefix;
    redisconn_handler_fn handler;
    void *arg;
} redisconn__route;

struct redisconn_request {
    redisconn__link node;         /* srv->requests until replied or orphaned */
    redisconn_server *srv;        /* NULL once orphaned */
    struct evhttp_request *evreq; /* NULL once answered on the wire */
    redisconn_ctx *ctx;
    redisconn_canceler *cancel;
    redisconn_ctx_listener *listener; /* answers 504/503 when ctx is done first */
    const char *method;
    char *path;
    struct evkeyvalq query;
    struct evkeyvalq in_headers;
    struct evkeyvalq out_headers;
    char *body;
    size_t body_len;
    int answered; /* status of an automatic answer (DEADLINE, CANCELED), or 0 */
};

struct redisconn_server {
    struct event_base *base;
    redisconn_server_options opts; /* http_addr points to http_addr_buf */
    char *http_addr_buf;
    const redisconn_module **modules;
    size_t n_modules;
    redisconn_host host;
    redisconn_ctx *ctx;                /* root context so far (reference) */
    redisconn_canceler *cancel;        /* cancels the whole tree after the drain */
    struct redisconn_metrics *metrics; /* served at GET /metrics */
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    int port;
    redisconn__link routes;
    redisconn__link requests; /* handlers not done yet */
    int wire_pending;         /* responses handed to evhttp, not yet written */
    redisconn__link cleanups;
    redisconn_cleanup *running;   /* cleanup in progress */
    redisconn__link ready_checks; /* readiness checks (ready.c), registration order */
    enum server_state state;
    redisconn__defer_item step;  /* the shutdown's next step, in the tree's defer queue */
    redisconn__defer_fn step_fn; /* set by the shutdown when it begins; NULL before */
    redisconn__timer timer;      /* bound on the current shutdown phase */
    redisconn_server_done_cb done_cb;
    void *done_arg;
    char *error;
};

/* A copy of the server's log options (see host.h). */
static inline redisconn__logger redisconn__server_logger(const redisconn_server *srv)
{
    redisconn__logger lg = {srv->opts.log_fn, srv->opts.log_arg, srv->opts.log_level};
    return lg;
}

/*
 * Tells the shutdown that something it may wait for is over (a request
 * replied, a response written, a cleanup done): posts its step, which runs
 * from the loop, never inside this call. A no-op before the shutdown begins.
 * This is the hook through which http.c reports to shutdown.c without
 * calling it.
 */
static inline void redisconn__server_kick(redisconn_server *srv)
{
    if (srv->step_fn != NULL)
        redisconn__defer_post(redisconn__context_defer(srv->ctx), &srv->step, srv->step_fn);
}

/* ---- server.c ------------------------------------------------------------- */

/* Logs through the server's log options. */
void redisconn__server_log(const redisconn_server *srv, int level, const char *fmt, ...)
    REDISCONN_PRINTF(3, 4);

/* Records the startup error (replacing an earlier one; kept NULL when out
 * of memory) and logs it. Returns `status`, for `return fail(...)`. */
int redisconn__server_fail(redisconn_server *srv, int status, const char *fmt, ...)
    REDISCONN_PRINTF(3, 4);

/* Frees the server and everything it still owns (orphaning requests left,
 * canceling and dropping its root context). Calls no user callback; `srv` is
 * invalid afterwards. */
void redisconn__server_free(redisconn_server *srv);

/* ---- http.c --------------------------------------------------------------- */

/* evhttp's callback for every request read: 503 unless running, 400/404/405
 * or 500 (out of memory) when no handler can take it; otherwise creates the
 * request and calls the route's handler. */
void redisconn__http_on_request(struct evhttp_request *evreq, void *arg);

/* Adds a route (exact "/x" or prefix "/x/" "*"). REDISCONN_ERR_INVALID for
 * an unknown method, a bad path or a duplicate; _STATE once shutting down;
 * _NOMEM (nothing added). */
int redisconn__http_route_add(redisconn_server *srv, const char *method, const char *path,
                              redisconn_handler_fn handler, void *arg);

/* Frees every route. Can't fail. */
void redisconn__http_routes_free(redisconn_server *srv);

/* The server gives up waiting for its requests: those not answered yet get
 * 503 now, and every one is detached (its later reply frees it alone). */
void redisconn__http_requests_orphan(redisconn_server *srv);

/* ---- ready.c -------------------------------------------------------------- */

/* GET /readyz: runs every readiness check of `arg` (the server), answers
 * when all have reported. */
void redisconn__ready_handler(redisconn_request *req, void *arg);

/* Frees the server's readiness checks. Can't fail. */
void redisconn__ready_checks_free(redisconn_server *srv);

/* ---- module.c ------------------------------------------------------------- */

/*
 * Writes to `out` (n entries) the initialization order of `mods`: each module
 * after its dependencies, the given order kept wherever they allow. Returns
 * REDISCONN_OK, or REDISCONN_ERR_INVALID (unnamed, unregistered or repeated
 * module, missing required dependency, cycle) / _NOMEM, explained in `err`.
 */
int redisconn__module_order(const redisconn_module *const *mods, size_t n,
                            const redisconn_module **out, char *err, size_t errlen);

#endif
