/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin.c: the Go package's admin service, server.redisconn.Admin, over
 * pRPC (prpc.h): POST /prpc/server.redisconn.Admin/FlushAll with a
 * FlushAllRequest{bool async = 1} (adminpb.h), answered with
 * google.protobuf.Empty. In the order of the Go server (grpc/prpc and
 * server/redisconn/admin.go):
 *
 *   1. response encoding from Accept, request encoding from Content-Type,
 *      the body decoded: protocol errors are InvalidArgument (406/415/400);
 *   2. the caller ("Authorization: Bearer <token>" in the token file; none
 *      or unknown: "anonymous:anonymous") must be in "administrators", else
 *      PermissionDenied "not an admin" and Redis is untouched;
 *   3. warning `Redis admin: "<identity>" is calling "FLUSHALL"`;
 *   4. FLUSHALL ASYNC (async) or FLUSHALL as a pool-level command bounded by
 *      the request — on a Redis Cluster, broadcast to every master
 *      (redisconn_cluster_broadcast): Redis's error reply, or the connection breaking or
 *      timing out once the command is sent, is InvalidArgument
 *      `"FLUSHALL" command failed: <why>` (Go's conn.Do error); no connection
 *      to be had is Internal "failed to get redis connection: <why>".
 * Other methods of the service answer Unimplemented (501). Never a token in
 * a log line or an answer.
 */
#include "server/redis/admin.h"
#include "redisconn/cluster.h"
#include "redisconn/redisconn.h"
#include "redisconn/server.h"
#include "server/host/host.h"
#include "server/redis/adminpb.h"
#include "server/redis/prpc.h"
#include "server/redis/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ANONYMOUS "anonymous:anonymous" /* LUCI's identity of a caller without credentials */

struct redisconn__admin {
    unsigned refs;
    redisconn__tokens *tokens; /* NULL: nobody is an administrator */
    redisconn__logger log;     /* a copy: calls may outlive the server */
};

/* A FLUSHALL in flight. */
typedef struct admin_call {
    redisconn__admin *admin; /* reference: keeps the logger */
    redisconn_request *req;
    int fmt; /* the response's encoding */
} admin_call;

/* The last reference frees the tokens, wiped. */
void redisconn__admin_release(redisconn__admin *a)
{
    if (a == NULL || --a->refs > 0) return;
    redisconn__tokens_free(a->tokens);
    free(a);
}

/* The token of an "Authorization: Bearer <token>" header, or NULL. */
static const char *bearer_token(const char *header, size_t *len)
{
    size_t n;
    if (header == NULL || strncasecmp(header, "Bearer", 6) != 0 ||
        (header[6] != ' ' && header[6] != '\t'))
        return NULL;
    header += 6;
    while (*header == ' ' || *header == '\t')
        header++;
    n = strlen(header);
    while (n > 0 && (header[n - 1] == ' ' || header[n - 1] == '\t'))
        n--;
    *len = n;
    return n > 0 ? header : NULL;
}

/* The pool's outcome as the Go server reports it (see the file comment). */
static void reply_failure(const admin_call *c, int status, const redisReply *reply)
{
    char msg[512];
    int code = REDISCONN__GRPC_INVALID_ARGUMENT;
    if (status == REDISCONN_OK) {
        snprintf(msg, sizeof(msg), "\"FLUSHALL\" command failed: %s",
                 reply->str ? reply->str : "error reply");
    } else if (status == REDISCONN_ERR_IO || status == REDISCONN_ERR_TIMEOUT ||
               status == REDISCONN_ERR_PROTOCOL) {
        snprintf(msg, sizeof(msg), "\"FLUSHALL\" command failed: %s", redisconn_strerror(status));
    } else if (status == REDISCONN_ERR_DEADLINE || status == REDISCONN_ERR_CANCELED) {
        code = status == REDISCONN_ERR_DEADLINE ? REDISCONN__GRPC_DEADLINE_EXCEEDED
                                                : REDISCONN__GRPC_CANCELED;
        snprintf(msg, sizeof(msg), "%s",
                 code == REDISCONN__GRPC_CANCELED ? "canceled" : "deadline exceeded");
    } else {
        code = REDISCONN__GRPC_INTERNAL;
        snprintf(msg, sizeof(msg), "failed to get redis connection: %s",
                 redisconn_strerror(status));
    }
    redisconn__prpc_reply_error(c->req, &c->admin->log, code, 0, msg);
}

/* FLUSHALL answered (or failed): answer, forget the call. */
static void on_flushed(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    admin_call *c = privdata;
    (void)conn;
    if (status == REDISCONN_OK && reply->type != REDIS_REPLY_ERROR)
        redisconn__prpc_reply_empty(c->req, c->fmt);
    else
        reply_failure(c, status, reply);
    redisconn__admin_release(c->admin);
    free(c);
}

/* FLUSHALL answered by every master of a cluster (or some failed). */
static void on_flushed_all(redisconn_cluster *cluster, int nodes, int failed, const char *errmsg,
                           void *privdata)
{
    admin_call *c = privdata;
    redisReply r = {.type = REDIS_REPLY_ERROR, .str = (char *)(errmsg ? errmsg : "error reply")};
    (void)cluster;
    (void)nodes;
    if (failed == 0)
        redisconn__prpc_reply_empty(c->req, c->fmt);
    else
        reply_failure(c, REDISCONN_OK, &r);
    redisconn__admin_release(c->admin);
    free(c);
}

/* FLUSHALL [ASYNC] on the pool of the request, or on every master of its cluster. */
static int send_flush(admin_call *c, int async)
{
    redisconn_ctx *ctx = redisconn_request_ctx(c->req);
    const char *cmd = async ? "FLUSHALL ASYNC" : "FLUSHALL";
    redisconn_cluster *cluster = redisconn_get_pool(ctx) ? NULL : redisconn_get_cluster(ctx);
    if (cluster == NULL) return redisconn_ctx_command(ctx, on_flushed, c, cmd);
    return redisconn_cluster_broadcast(cluster, 0, on_flushed_all, c, cmd);
}

/* An administrator's call: FLUSHALL [ASYNC] on the pool of the request. */
static void flush_all(redisconn__admin *a, redisconn_request *req, int fmt, int async)
{
    admin_call *c = calloc(1, sizeof(*c));
    int rc = REDISCONN_ERR_NOMEM;
    if (c != NULL) {
        c->admin = a;
        c->req = req;
        c->fmt = fmt;
        a->refs++;
        rc = send_flush(c, async);
        if (rc == REDISCONN_OK) return;
        a->refs--;
        reply_failure(c, rc, NULL);
        free(c);
        return;
    }
    redisconn__prpc_reply_error(req, &a->log, REDISCONN__GRPC_INTERNAL, 0,
                                "failed to get redis connection: out of memory");
}

/* Steps 1 and 2 of the file comment: 0 with the encoding and the request,
 * or -1 once answered. */
static int read_request(redisconn__admin *a, redisconn_request *req, int *fmt, int *async)
{
    redisconn__prpc_error e;
    char err[256];
    int in_fmt;
    size_t len = 0;
    const void *body = redisconn_request_body(req, &len);
    if (redisconn__prpc_response_format(redisconn_request_header(req, "Accept"), fmt, &e) != 0 ||
        redisconn__prpc_request_format(redisconn_request_header(req, "Content-Type"), &in_fmt,
                                       &e) != 0) {
        redisconn__prpc_reply_error(req, &a->log, REDISCONN__GRPC_INVALID_ARGUMENT, e.http, e.msg);
        return -1;
    }
    if (redisconn__adminpb_decode_flush_all(in_fmt, body, len, async, err, sizeof(err)) != 0) {
        redisconn__prpc_reply_error(req, &a->log, REDISCONN__GRPC_INVALID_ARGUMENT, 400, err);
        return -1;
    }
    return 0;
}

/* POST /prpc/server.redisconn.Admin/FlushAll. */
static void on_flush_all(redisconn_request *req, void *arg)
{
    redisconn__admin *a = arg;
    size_t len = 0;
    int fmt, async;
    const char *token;
    const redisconn__identity *id;
    if (read_request(a, req, &fmt, &async) != 0) return;
    token = bearer_token(redisconn_request_header(req, "Authorization"), &len);
    id = redisconn__tokens_lookup(a->tokens, token, len);
    if (id == NULL || !redisconn__identity_in_group(id, REDISCONN_ADMIN_GROUP)) {
        redisconn__logger_log(&a->log, REDISCONN_LOG_WARNING,
                              "Redis admin: \"%s\"%s is not an admin: FlushAll refused",
                              id ? id->name : ANONYMOUS,
                              id      ? ""
                              : token ? " (unknown token)"
                                      : " (no bearer token)");
        redisconn__prpc_reply_error(req, &a->log, REDISCONN__GRPC_PERMISSION_DENIED, 0,
                                    "not an admin");
        return;
    }
    redisconn__logger_log(&a->log, REDISCONN_LOG_WARNING, "Redis admin: \"%s\" is calling \"%s\"",
                          id->name, "FLUSHALL");
    flush_all(a, req, fmt, async);
}

/* POST /prpc/server.redisconn.Admin/<anything else>: pRPC's Unimplemented. */
static void on_unknown_method(redisconn_request *req, void *arg)
{
    redisconn__admin *a = arg;
    const char *path = redisconn_request_path(req);
    const char *method = path + strlen(REDISCONN_ADMIN_PRPC_PREFIX);
    char msg[256];
    snprintf(msg, sizeof(msg), "method \"%.100s\" in service \"%s\" is not implemented", method,
             REDISCONN_ADMIN_SERVICE);
    redisconn__prpc_reply_error(req, &a->log, REDISCONN__GRPC_UNIMPLEMENTED, 0, msg);
}

/* The identities loaded, or a note that nobody is an administrator. */
static void log_tokens(const redisconn__admin *a, const char *path)
{
    if (a->tokens == NULL)
        redisconn__logger_log(&a->log, REDISCONN_LOG_INFO,
                              "admin: no -admin-tokens-file: nobody may call %s",
                              REDISCONN_ADMIN_SERVICE);
    else
        redisconn__logger_log(&a->log, REDISCONN_LOG_INFO, "admin: %zu identities from \"%s\"",
                              redisconn__tokens_count(a->tokens), path);
}

/* Tokens first (a bad file keeps nothing), then the routes; the state is
 * shared by the routes and the module from then on. */
int redisconn__admin_install(redisconn_host *host, const char *tokens_path, redisconn__admin **out)
{
    char err[512];
    int rc;
    redisconn__admin *a = calloc(1, sizeof(*a));
    if (a == NULL) return REDISCONN_ERR_NOMEM;
    a->refs = 1;
    a->log = redisconn__host_logger(host);
    if (tokens_path != NULL && tokens_path[0] != '\0') {
        rc = redisconn__tokens_load(tokens_path, &a->tokens, err, sizeof(err));
        if (rc != REDISCONN_OK) {
            redisconn_host_errorf(host, "%s", err);
            free(a);
            return rc;
        }
    }
    rc = redisconn_host_route(host, "POST", REDISCONN_ADMIN_FLUSH_ALL_PATH, on_flush_all, a);
    if (rc == REDISCONN_OK)
        rc = redisconn_host_route(host, "POST", REDISCONN_ADMIN_PRPC_PREFIX "*", on_unknown_method,
                                  a);
    if (rc != REDISCONN_OK) {
        redisconn__admin_release(a);
        return rc;
    }
    log_tokens(a, tokens_path);
    *out = a;
    return REDISCONN_OK;
}
