/*
 * server_internal.h — the server host's private structures, shared by
 * server.c (life cycle, startup), shutdown.c (drain, cleanups), http.c
 * (routes, requests), host.c (module services) and main.c.
 *
 * Ownership:
 *  - the server owns its routes, its cleanup records until they complete,
 *    its evhttp, its events and one reference to its root context;
 *  - a request is owned by its handler from dispatch until the reply; the
 *    server links it in `requests` meanwhile (to drain it at shutdown) and
 *    unlinks ("orphans") the ones left when it gives up waiting;
 *  - the evhttp_request of a request belongs to libevent; we hold it from
 *    dispatch until we answer it (then evreq is NULL).
 */
#ifndef REDISCONN_SERVER_INTERNAL_H
#define REDISCONN_SERVER_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include <event2/keyvalq_struct.h>

#include "redisconn/server.h"
#include "util/list.h"

struct event;
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
    redisconn_cleanup *running; /* cleanup in progress */
    int state;
    struct event *step_ev; /* drives the shutdown from the loop */
    struct event *timer;   /* bound on the current shutdown phase */
    redisconn_server_done_cb done_cb;
    void *done_arg;
    char *error;
};

/* Where log lines go: a copy of the server's log options, usable after the
 * server is gone (by work that outlives it, such as an admin call). */
typedef struct redisconn__logger {
    redisconn_log_fn fn; /* NULL: stderr */
    void *arg;
    int level;
} redisconn__logger;

/* server.c */
void redisconn__logger_vlog(const redisconn__logger *lg, int level, const char *fmt, va_list ap)
    REDISCONN_PRINTF(3, 0);
void redisconn__logger_log(const redisconn__logger *lg, int level, const char *fmt, ...)
    REDISCONN_PRINTF(3, 4);
redisconn__logger redisconn__srv_logger(const redisconn_server *srv);
void redisconn__srv_log(const redisconn_server *srv, int level, const char *fmt, ...)
    REDISCONN_PRINTF(3, 4);
int redisconn__srv_fail(redisconn_server *srv, int status, const char *fmt, ...)
    REDISCONN_PRINTF(3, 4);
void redisconn__srv_free(redisconn_server *srv);

/* shutdown.c */
void redisconn__srv_step(redisconn_server *srv);

/* http.c */
void redisconn__http_on_request(struct evhttp_request *evreq, void *arg);
int redisconn__route_add(redisconn_server *srv, const char *method, const char *path,
                         redisconn_handler_fn handler, void *arg);
void redisconn__routes_free(redisconn_server *srv);
void redisconn__requests_orphan(redisconn_server *srv);

/* module.c */
const redisconn_module_name *redisconn__module_name_ensure(const char *name);
int redisconn__modules_order(const redisconn_module *const *mods, size_t n,
                             const redisconn_module **out, char *err, size_t errlen);

#endif
