/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * server.c: the hub of the host — the server's options, creation, startup
 * (modules in dependency order, then the listener), its log and final free.
 * The request life cycle is http.c's, the shutdown shutdown.c's.
 */
#include "server/host/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <event2/http.h>

#include "redisconn/blobcache.h"
#include "redisconn/metrics.h"

/* The documented defaults. */
void redisconn_server_options_init(redisconn_server_options *o)
{
    memset(o, 0, sizeof(*o));
    o->http_addr = "127.0.0.1:8800";
    o->request_timeout_ms = 30000;
    o->shutdown_timeout_ms = 10000;
    o->max_body_bytes = 8 << 20;
    o->cache_max_bytes = 64 << 20;
    o->log_level = REDISCONN_LOG_INFO;
}

/* The server's flags, defaults from `o`. */
int redisconn_server_options_register(redisconn_server_options *o, redisconn_flagset *fs)
{
    int rc;
    if (o == NULL || fs == NULL) return REDISCONN_ERR_INVALID;
    rc = redisconn_flags_string(fs, "http-addr", &o->http_addr, o->http_addr,
                                "address to serve HTTP on, as \"host:port\" (port 0: any)");
    if (rc == REDISCONN_OK)
        rc = redisconn_flags_duration(fs, "request-timeout", &o->request_timeout_ms,
                                      o->request_timeout_ms,
                                      "deadline of each request (504 after it); 0 = none");
    if (rc == REDISCONN_OK)
        rc = redisconn_flags_duration(fs, "shutdown-timeout", &o->shutdown_timeout_ms,
                                      o->shutdown_timeout_ms,
                                      "how long shutdown waits for requests, then for cleanups");
    if (rc == REDISCONN_OK)
        rc = redisconn_flags_int(fs, "cache-max-bytes", &o->cache_max_bytes, o->cache_max_bytes,
                                 "size of the in-process blob cache used without Redis; 0 = none");
    return rc;
}

/* Logs through the server's log options. */
void redisconn__server_log(const redisconn_server *srv, int level, const char *fmt, ...)
{
    redisconn__logger lg = redisconn__server_logger(srv);
    va_list ap;
    va_start(ap, fmt);
    redisconn__logger_vlog(&lg, level, fmt, ap);
    va_end(ap);
}

/* Records (and logs) a startup error; returns `status`. */
int redisconn__server_fail(redisconn_server *srv, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    free(srv->error);
    srv->error = strdup(msg);
    redisconn__server_log(srv, REDISCONN_LOG_ERROR, "startup failed: %s", msg);
    return status;
}

/* GET /healthz: always 200 "ok". */
static void srv_healthz(redisconn_request *req, void *arg)
{
    (void)arg;
    redisconn_request_reply(req, 200, "text/plain; charset=utf-8", "ok", 2);
}

/* GET /metrics: runs the collection hooks, then serves the text. */
static void srv_metrics(redisconn_request *req, void *arg)
{
    redisconn_server *srv = arg;
    char *text = NULL;
    size_t len = 0;
    int rc = redisconn_metrics_collect(srv->metrics, &text, &len);
    if (rc != REDISCONN_OK) {
        redisconn_request_replyf(req, 500, "cannot collect metrics: %s\n", redisconn_strerror(rc));
        return;
    }
    redisconn_request_reply(req, 200, REDISCONN_METRICS_CONTENT_TYPE, text, len);
    free(text);
}

/* The default global blob cache: an in-process LRU owned by the root context. */
static int install_default_cache(redisconn_server *srv)
{
    redisconn_blobcache_factory *f;
    redisconn_ctx *ctx;
    if (srv->opts.cache_max_bytes == 0) return REDISCONN_OK;
    f = redisconn_blobcache_factory_lru(srv->base, (size_t)srv->opts.cache_max_bytes);
    if (f == NULL) return REDISCONN_ERR_NOMEM;
    if ((ctx = redisconn_with_global_cache(srv->ctx, f)) == NULL) {
        redisconn_blobcache_factory_free(f);
        return REDISCONN_ERR_NOMEM;
    }
    redisconn_ctx_unref(srv->ctx);
    srv->ctx = ctx;
    return REDISCONN_OK;
}

/* The root context: background -> cancel (server-owned canceler) -> the
 * default cache. */
static int make_root_ctx(redisconn_server *srv)
{
    redisconn_ctx *bg = redisconn_ctx_background(srv->base);
    if (bg == NULL) return REDISCONN_ERR_NOMEM;
    srv->ctx = redisconn_ctx_with_cancel(bg, &srv->cancel);
    redisconn_ctx_unref(bg);
    if (srv->ctx == NULL) return REDISCONN_ERR_NOMEM;
    return install_default_cache(srv);
}

/* Refuses negative sizes and timeouts. */
static int check_options(const redisconn_server_options *o)
{
    if (o->http_addr == NULL || o->request_timeout_ms < 0 || o->shutdown_timeout_ms < 0 ||
        o->max_body_bytes < 0 || o->cache_max_bytes < 0)
        return REDISCONN_ERR_INVALID;
    return REDISCONN_OK;
}

redisconn_server *redisconn_server_new(struct event_base *base,
                                       const redisconn_server_options *opts,
                                       const redisconn_module *const *modules, size_t n)
{
    redisconn_server_options defaults;
    redisconn_server *srv;
    if (opts == NULL) {
        redisconn_server_options_init(&defaults);
        opts = &defaults;
    }
    if (base == NULL || (n > 0 && modules == NULL) || check_options(opts) != REDISCONN_OK)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (modules[i] == NULL) return NULL;
    srv = calloc(1, sizeof(*srv));
    if (srv == NULL) return NULL;
    srv->base = base;
    srv->opts = *opts;
    srv->port = -1;
    srv->host.srv = srv;
    redisconn__timer_init(&srv->timer, base, NULL, srv); /* shutdown.c sets the callback */
    redisconn__list_init(&srv->routes);
    redisconn__list_init(&srv->requests);
    redisconn__list_init(&srv->cleanups);
    redisconn__list_init(&srv->ready_checks);
    srv->http_addr_buf = strdup(opts->http_addr);
    srv->opts.http_addr = srv->http_addr_buf;
    srv->modules = calloc(n ? n : 1, sizeof(*srv->modules));
    srv->n_modules = n;
    if (srv->modules != NULL && n > 0) memcpy(srv->modules, modules, n * sizeof(*modules));
    srv->metrics = redisconn_metrics_new();
    if (srv->http_addr_buf == NULL || srv->modules == NULL || srv->metrics == NULL ||
        make_root_ctx(srv) != REDISCONN_OK ||
        redisconn__http_route_add(srv, "GET", "/healthz", srv_healthz, NULL) != REDISCONN_OK ||
        redisconn__http_route_add(srv, "GET", "/metrics", srv_metrics, srv) != REDISCONN_OK ||
        redisconn__http_route_add(srv, "GET", "/readyz", redisconn__ready_handler, srv) !=
            REDISCONN_OK) {
        redisconn__server_free(srv);
        return NULL;
    }
    return srv;
}

/* Initializes the modules in dependency order. */
static int init_modules(redisconn_server *srv)
{
    char err[512];
    const redisconn_module **order = calloc(srv->n_modules ? srv->n_modules : 1, sizeof(*order));
    int rc;
    if (order == NULL) return redisconn__server_fail(srv, REDISCONN_ERR_NOMEM, "out of memory");
    rc = redisconn__module_order(srv->modules, srv->n_modules, order, err, sizeof(err));
    if (rc != REDISCONN_OK) redisconn__server_fail(srv, rc, "%s", err);
    for (size_t i = 0; rc == REDISCONN_OK && i < srv->n_modules; i++) {
        const redisconn_module *m = order[i];
        redisconn_ctx *out = NULL;
        if (m->initialize == NULL) continue;
        free(srv->host.error);
        srv->host.error = NULL;
        srv->host.current = m;
        rc = m->initialize(m, srv->ctx, &srv->host, &out);
        srv->host.current = NULL;
        if (out != NULL) {
            redisconn_ctx_unref(srv->ctx);
            srv->ctx = out;
        }
        if (rc != REDISCONN_OK)
            redisconn__server_fail(srv, rc, "module \"%s\" failed to initialize: %s%s%s", m->name,
                                   redisconn_strerror(rc), srv->host.error ? ": " : "",
                                   srv->host.error ? srv->host.error : "");
        else
            redisconn__server_log(srv, REDISCONN_LOG_DEBUG, "module \"%s\" initialized", m->name);
    }
    free(order);
    return rc;
}

/* Splits "host:port", "[v6]:port" or ":port" into a host and a port. */
static int parse_listen_addr(const char *addr, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr, *hend;
    char *end;
    long p;
    if (colon == NULL) return -1;
    hend = colon;
    if (addr[0] == '[') {
        h = addr + 1;
        hend = colon > addr && colon[-1] == ']' ? colon - 1 : NULL;
        if (hend == NULL) return -1;
    }
    if ((size_t)(hend - h) >= hostlen) return -1;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    if (host[0] == '\0') snprintf(host, hostlen, "0.0.0.0");
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 || p > 65535) return -1;
    *port = (int)p;
    return 0;
}

/* The port a bound socket actually got. */
static int bound_port(struct evhttp_bound_socket *bound)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* Creates the evhttp and binds the listening socket. */
static int listen_http(redisconn_server *srv)
{
    char host[256];
    int port;
    if (parse_listen_addr(srv->opts.http_addr, host, sizeof(host), &port) != 0)
        return redisconn__server_fail(srv, REDISCONN_ERR_INVALID,
                                      "bad -http-addr \"%s\": want host:port", srv->opts.http_addr);
    srv->http = evhttp_new(srv->base);
    if (srv->http == NULL) return redisconn__server_fail(srv, REDISCONN_ERR_NOMEM, "out of memory");
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)srv->opts.max_body_bytes);
    evhttp_set_gencb(srv->http, redisconn__http_on_request, srv);
    errno = 0;
    srv->bound = evhttp_bind_socket_with_handle(srv->http, host, (ev_uint16_t)port);
    if (srv->bound == NULL)
        return redisconn__server_fail(srv, REDISCONN_ERR_IO, "cannot listen on %s: %s",
                                      srv->opts.http_addr, errno ? strerror(errno) : "bind failed");
    srv->port = bound_port(srv->bound);
    redisconn__server_log(srv, REDISCONN_LOG_INFO, "serving HTTP on %s:%d", host, srv->port);
    return REDISCONN_OK;
}

/* Modules, then the listener; the state records the outcome. */
int redisconn_server_start(redisconn_server *srv)
{
    int rc;
    if (srv == NULL) return REDISCONN_ERR_INVALID;
    if (srv->state != SRV_NEW) return REDISCONN_ERR_STATE;
    rc = init_modules(srv);
    if (rc == REDISCONN_OK) rc = listen_http(srv);
    srv->state = rc == REDISCONN_OK ? SRV_RUNNING : SRV_FAILED;
    return rc;
}

/* Frees the server's own memory; the shutdown has emptied everything else. */
void redisconn__server_free(redisconn_server *srv)
{
    redisconn__link *l;
    redisconn__http_requests_orphan(srv);
    if (srv->http) evhttp_free(srv->http);
    while ((l = redisconn__list_first(&srv->cleanups)) != NULL) {
        redisconn__list_remove(l);
        free(REDISCONN_CONTAINER_OF(l, redisconn_cleanup, node));
    }
    redisconn__http_routes_free(srv);
    redisconn__ready_checks_free(srv);
    if (srv->cancel) redisconn_ctx_cancel(srv->cancel);
    redisconn__defer_cancel(&srv->step); /* before the tree (and its queue) may go */
    redisconn__timer_destroy(&srv->timer);
    redisconn_ctx_unref(srv->ctx);
    redisconn_metrics_free(srv->metrics);
    free(srv->modules);
    free(srv->http_addr_buf);
    free(srv->host.error);
    free(srv->error);
    free(srv);
}

/* Accessors (NULL-safe). */
const char *redisconn_server_error(const redisconn_server *srv)
{
    return srv && srv->error ? srv->error : "";
}

/* -1 unless listening. */
int redisconn_server_port(const redisconn_server *srv)
{
    return srv && srv->bound ? srv->port : -1;
}

/* The current root context (borrowed). */
redisconn_ctx *redisconn_server_ctx(const redisconn_server *srv)
{
    return srv ? srv->ctx : NULL;
}

/* The registry created with the server. */
struct redisconn_metrics *redisconn_server_metrics(const redisconn_server *srv)
{
    return srv ? srv->metrics : NULL;
}

/* The host embedded in the server. */
redisconn_host *redisconn_server_host(redisconn_server *srv)
{
    return srv ? &srv->host : NULL;
}

/* The server's base. */
struct event_base *redisconn_server_base(const redisconn_server *srv)
{
    return srv ? srv->base : NULL;
}

int redisconn_server_route(redisconn_server *srv, const char *method, const char *path,
                           redisconn_handler_fn handler, void *arg)
{
    if (srv == NULL) return REDISCONN_ERR_INVALID;
    return redisconn__http_route_add(srv, method, path, handler, arg);
}
