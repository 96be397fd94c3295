/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http.c: routes and the request life cycle on evhttp.
 *
 * A request is created when evhttp has read it and a route matches; its
 * inputs (path, query, headers, body) are copied so they outlive the
 * evhttp_request. It is answered on the wire exactly once: by the handler's
 * reply, or first by its context's listener (504 at the deadline, 503 when
 * the server cancels it). It is freed by the handler's reply, which also
 * cancels its context.
 */
#include "server/host/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define TEXT_PLAIN "text/plain; charset=utf-8"

static const struct {
    enum evhttp_cmd_type type;
    const char *name;
} methods[] = {
    {EVHTTP_REQ_GET, "GET"},     {EVHTTP_REQ_POST, "POST"},     {EVHTTP_REQ_HEAD, "HEAD"},
    {EVHTTP_REQ_PUT, "PUT"},     {EVHTTP_REQ_DELETE, "DELETE"}, {EVHTTP_REQ_OPTIONS, "OPTIONS"},
    {EVHTTP_REQ_PATCH, "PATCH"},
};

/* The static name of a method, or NULL. */
static const char *method_name(enum evhttp_cmd_type type)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (methods[i].type == type) return methods[i].name;
    return NULL;
}

/* Whether routes may use this method. */
static int method_known(const char *name)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(methods[i].name, name) == 0) return 1;
    return 0;
}

/* "/x" (exact), or a prefix: "/x/" then "*" (the star last, right after a slash). */
static int valid_path(const char *path, int *prefix)
{
    const char *star = path ? strchr(path, '*') : NULL;
    size_t len;
    if (path == NULL || path[0] != '/') return 0;
    len = strlen(path);
    *prefix = star != NULL;
    return star == NULL || (star == path + len - 1 && path[len - 2] == '/');
}

int redisconn__http_route_add(redisconn_server *srv, const char *method, const char *path,
                              redisconn_handler_fn handler, void *arg)
{
    redisconn__route *r;
    size_t len;
    int prefix;
    if (method == NULL || !method_known(method) || handler == NULL || !valid_path(path, &prefix))
        return REDISCONN_ERR_INVALID;
    if (srv->state >= SRV_DRAINING) return REDISCONN_ERR_STATE;
    len = strlen(path) - (prefix ? 1u : 0u);
    for (redisconn__link *l = srv->routes.next; l != &srv->routes; l = l->next) {
        r = REDISCONN_CONTAINER_OF(l, redisconn__route, node);
        if (r->prefix == prefix && r->path_len == len && strncmp(r->path, path, len) == 0 &&
            strcmp(r->method, method) == 0)
            return REDISCONN_ERR_INVALID;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) return REDISCONN_ERR_NOMEM;
    r->method = strdup(method);
    r->path = strndup(path, len);
    if (r->method == NULL || r->path == NULL) {
        free(r->method);
        free(r->path);
        free(r);
        return REDISCONN_ERR_NOMEM;
    }
    r->path_len = len;
    r->prefix = prefix;
    r->handler = handler;
    r->arg = arg;
    redisconn__list_push_back(&srv->routes, &r->node);
    return REDISCONN_OK;
}

/* Frees every route. */
void redisconn__http_routes_free(redisconn_server *srv)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&srv->routes)) != NULL) {
        redisconn__route *r = REDISCONN_CONTAINER_OF(l, redisconn__route, node);
        redisconn__list_remove(l);
        free(r->method);
        free(r->path);
        free(r);
    }
}

/*
 * The route for `method` and `path`: an exact route, else the longest
 * matching prefix. Without one, `*miss` is 405 if the path matched under
 * another method, else 404.
 */
static const redisconn__route *find_route(const redisconn_server *srv, const char *method,
                                          const char *path, int *miss)
{
    const redisconn__route *best = NULL;
    int path_hit = 0;
    for (const redisconn__link *l = srv->routes.next; l != &srv->routes; l = l->next) {
        const redisconn__route *r = REDISCONN_CONTAINER_OF(l, redisconn__route, node);
        int match =
            r->prefix ? strncmp(path, r->path, r->path_len) == 0 : strcmp(path, r->path) == 0;
        if (!match) continue;
        path_hit = 1;
        if (strcmp(r->method, method) != 0) continue;
        if (!r->prefix) return r;
        if (best == NULL || r->path_len > best->path_len) best = r;
    }
    *miss = path_hit ? 405 : 404;
    return best;
}

/* A response was written: the drain may be complete. */
static void on_wire_done(struct evhttp_request *evreq, void *arg)
{
    redisconn_server *srv = arg;
    (void)evreq;
    srv->wire_pending--;
    redisconn__server_kick(srv);
}

/*
 * Hands a response to evhttp (which frees `evreq` once written, or at once
 * when the client has gone: then REDISCONN_ERR_IO). `srv` counts responses
 * being written while it drains.
 */
static int send_evreq(redisconn_server *srv, struct evhttp_request *evreq, int status,
                      const char *ctype, const void *body, size_t len,
                      const struct evkeyvalq *extra)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(evreq);
    const struct evkeyval *h;
    if (evhttp_request_get_connection(evreq) == NULL) {
        evhttp_send_reply(evreq, status, NULL, NULL);
        return REDISCONN_ERR_IO;
    }
    for (h = extra ? TAILQ_FIRST(extra) : NULL; h != NULL; h = TAILQ_NEXT(h, next))
        evhttp_add_header(out, h->key, h->value);
    if (ctype != NULL && evhttp_find_header(out, "Content-Type") == NULL)
        evhttp_add_header(out, "Content-Type", ctype);
    if (srv->state >= SRV_DRAINING) evhttp_add_header(out, "Connection", "close");
    if (len > 0) evbuffer_add(evhttp_request_get_output_buffer(evreq), body, len);
    srv->wire_pending++;
    evhttp_request_set_on_complete_cb(evreq, on_wire_done, srv);
    evhttp_send_reply(evreq, status, NULL, NULL);
    return REDISCONN_OK;
}

static void send_text(redisconn_server *srv, struct evhttp_request *evreq, int status,
                      const char *text)
{
    send_evreq(srv, evreq, status, TEXT_PLAIN, text, strlen(text), NULL);
}

/* Frees a request: listener, context (canceled), copies, link. */
static void request_free(redisconn_request *req)
{
    if (req->listener != NULL) redisconn_ctx_listener_remove(req->listener);
    if (req->cancel != NULL) redisconn_ctx_cancel(req->cancel);
    redisconn_ctx_unref(req->ctx);
    redisconn__list_remove(&req->node);
    evhttp_clear_headers(&req->query);
    evhttp_clear_headers(&req->in_headers);
    evhttp_clear_headers(&req->out_headers);
    free(req->path);
    free(req->body);
    free(req);
}

/* The context ended before the handler replied: answer for it. */
static void on_req_done(redisconn_ctx *ctx, int err, void *arg)
{
    redisconn_request *req = arg;
    struct evhttp_request *evreq = req->evreq;
    (void)ctx;
    req->listener = NULL;
    if (evreq == NULL || req->srv == NULL) return;
    req->evreq = NULL;
    req->answered = err;
    if (err == REDISCONN_ERR_DEADLINE)
        send_text(req->srv, evreq, 504, "request deadline exceeded\n");
    else
        send_text(req->srv, evreq, 503, "request canceled: server shutting down\n");
}

/* Copies the query parameters, headers and body out of `evreq`. */
static int copy_inputs(redisconn_request *req, struct evhttp_request *evreq)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evbuffer *in = evhttp_request_get_input_buffer(evreq);
    const struct evkeyval *h;
    if (query != NULL) evhttp_parse_query_str(query, &req->query); /* malformed: none */
    for (h = TAILQ_FIRST(evhttp_request_get_input_headers(evreq)); h; h = TAILQ_NEXT(h, next))
        if (evhttp_add_header(&req->in_headers, h->key, h->value) != 0) return -1;
    req->body_len = evbuffer_get_length(in);
    req->body = malloc(req->body_len + 1);
    if (req->body == NULL) return -1;
    if (evbuffer_copyout(in, req->body, req->body_len) != (ev_ssize_t)req->body_len) return -1;
    req->body[req->body_len] = '\0';
    return 0;
}

/* A request for a matched route; takes `path`. NULL when memory is short. */
static redisconn_request *request_new(redisconn_server *srv, struct evhttp_request *evreq,
                                      const char *method, char *path)
{
    redisconn_request *req = calloc(1, sizeof(*req));
    int64_t timeout = srv->opts.request_timeout_ms;
    if (req == NULL) {
        free(path);
        return NULL;
    }
    TAILQ_INIT(&req->query);
    TAILQ_INIT(&req->in_headers);
    TAILQ_INIT(&req->out_headers);
    req->method = method;
    req->path = path;
    req->ctx = timeout > 0 ? redisconn_ctx_with_timeout(srv->ctx, timeout, &req->cancel)
                           : redisconn_ctx_with_cancel(srv->ctx, &req->cancel);
    if (req->ctx == NULL || copy_inputs(req, evreq) != 0 ||
        (req->listener = redisconn_ctx_on_done(req->ctx, on_req_done, req)) == NULL) {
        request_free(req);
        return NULL;
    }
    req->srv = srv;
    req->evreq = evreq;
    redisconn__list_push_back(&srv->requests, &req->node);
    return req;
}

/* evhttp's callback for every request read. */
void redisconn__http_on_request(struct evhttp_request *evreq, void *arg)
{
    redisconn_server *srv = arg;
    const char *method = method_name(evhttp_request_get_command(evreq));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    const redisconn__route *route;
    redisconn_request *req;
    size_t len = 0;
    char *path;
    int miss;
    if (srv->state != SRV_RUNNING) {
        send_text(srv, evreq, 503, "server shutting down\n");
        return;
    }
    path = evhttp_uridecode(raw && raw[0] ? raw : "/", 0, &len);
    if (method == NULL || path == NULL || strlen(path) != len) {
        free(path);
        send_text(srv, evreq, 400, "bad request\n");
        return;
    }
    route = find_route(srv, method, path, &miss);
    if (route == NULL) {
        free(path);
        send_text(srv, evreq, miss, miss == 404 ? "not found\n" : "method not allowed\n");
        return;
    }
    req = request_new(srv, evreq, method, path);
    if (req == NULL) {
        send_text(srv, evreq, 500, "out of memory\n");
        return;
    }
    route->handler(req, route->arg);
}

/* Shutdown gave up waiting: answer 503 where needed and detach the rest. */
void redisconn__http_requests_orphan(redisconn_server *srv)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&srv->requests)) != NULL) {
        redisconn_request *req = REDISCONN_CONTAINER_OF(l, redisconn_request, node);
        redisconn__list_remove(l);
        if (req->evreq != NULL) {
            struct evhttp_request *evreq = req->evreq;
            req->evreq = NULL;
            req->answered = REDISCONN_ERR_CANCELED;
            send_text(srv, evreq, 503, "request canceled: server shutting down\n");
        }
        req->srv = NULL;
    }
}

/* Accessors: valid until the reply. */
redisconn_ctx *redisconn_request_ctx(const redisconn_request *req)
{
    return req ? req->ctx : NULL;
}

/* A static string. */
const char *redisconn_request_method(const redisconn_request *req)
{
    return req ? req->method : NULL;
}

/* The decoded path, owned by the request. */
const char *redisconn_request_path(const redisconn_request *req)
{
    return req ? req->path : NULL;
}

/* The first parameter of that name, decoded. */
const char *redisconn_request_query(const redisconn_request *req, const char *name)
{
    if (req == NULL || name == NULL) return NULL;
    return evhttp_find_header(&req->query, name);
}

/* A copy of the request header, case-insensitive lookup. */
const char *redisconn_request_header(const redisconn_request *req, const char *name)
{
    if (req == NULL || name == NULL) return NULL;
    return evhttp_find_header(&req->in_headers, name);
}

/* The copied body, NUL-terminated. */
const void *redisconn_request_body(const redisconn_request *req, size_t *len)
{
    if (len != NULL) *len = req ? req->body_len : 0;
    return req ? req->body : NULL;
}

/* Queues a response header; refuses CR/LF (header injection). */
int redisconn_request_set_header(redisconn_request *req, const char *name, const char *value)
{
    if (req == NULL || name == NULL || value == NULL || name[0] == '\0' ||
        strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
        return REDISCONN_ERR_INVALID;
    return evhttp_add_header(&req->out_headers, name, value) == 0 ? REDISCONN_OK
                                                                  : REDISCONN_ERR_NOMEM;
}

int redisconn_request_reply(redisconn_request *req, int status, const char *content_type,
                            const void *body, size_t len)
{
    redisconn_server *srv;
    int rc;
    if (req == NULL || status < 100 || status > 599 || (body == NULL && len > 0))
        return REDISCONN_ERR_INVALID;
    srv = req->srv;
    if (req->evreq != NULL) {
        struct evhttp_request *evreq = req->evreq;
        req->evreq = NULL;
        rc = send_evreq(srv, evreq, status, content_type, body, len, &req->out_headers);
    } else {
        rc = req->answered ? req->answered : REDISCONN_ERR_IO;
    }
    request_free(req);
    if (srv != NULL) redisconn__server_kick(srv);
    return rc;
}

/* Formats into a stack buffer, or the heap when longer. */
int redisconn_request_replyf(redisconn_request *req, int status, const char *fmt, ...)
{
    va_list ap;
    char small[256], *buf = small;
    int n, rc;
    if (req == NULL || fmt == NULL) return REDISCONN_ERR_INVALID;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) return REDISCONN_ERR_INVALID;
    if ((size_t)n >= sizeof(small)) {
        buf = malloc((size_t)n + 1);
        if (buf == NULL) return REDISCONN_ERR_NOMEM;
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    rc = redisconn_request_reply(req, status, TEXT_PLAIN, buf, (size_t)n);
    if (buf != small) free(buf);
    return rc;
}
