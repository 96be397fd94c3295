/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin.c: POST /prpc/redisconn.Admin/FlushAllAsync, the seed's
 * adminpb.Admin/FlushAllAsync, in pRPC style:
 *
 *   request   POST, body "{}" (or empty: the empty message), any content type
 *   identity  "Authorization: Bearer <token>" looked up in the token file
 *   success   200, application/json "{}", X-Prpc-Grpc-Code: 0
 *   errors    HTTP status + X-Prpc-Grpc-Code + a text message:
 *               403 / 7  PermissionDenied  not an administrator (no or unknown
 *                                          token included): Redis untouched
 *               400 / 3  InvalidArgument   a body other than {}, or Redis
 *                                          answered FLUSHALL with an error
 *               500 / 13 Internal          the pool failed (connect, I/O,
 *                                          timeout, closed, no memory)
 *
 * Every call is logged as a warning with the caller's identity ("anonymous"
 * without a valid token) and the outcome; never the token.
 */
#include "server/redis/admin.h"
#include "redisconn/redisconn.h"
#include "redisconn/server.h"
#include "server/host/host.h"
#include "server/redis/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define METHOD "redisconn.Admin/FlushAllAsync"

enum grpc_code {
    GRPC_OK = 0,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_PERMISSION_DENIED = 7,
    GRPC_INTERNAL = 13,
};

struct redisconn__admin {
    unsigned refs;
    redisconn__tokens *tokens; /* NULL: nobody is an administrator */
    redisconn__logger log;     /* a copy: calls may outlive the server */
};

/* A FLUSHALL in flight. */
typedef struct admin_call {
    redisconn__admin *admin; /* reference: keeps `who` valid */
    redisconn_request *req;
    const char *who; /* the identity's name, owned by admin->tokens */
} admin_call;

/* The last reference frees the tokens, wiped. */
void redisconn__admin_release(redisconn__admin *a)
{
    if (a == NULL || --a->refs > 0) return;
    redisconn__tokens_free(a->tokens);
    free(a);
}

/* Logs the outcome, then answers pRPC style (see the file comment). */
static void finish(redisconn__admin *a, redisconn_request *req, const char *who, int http, int code,
                   const char *outcome)
{
    char num[16];
    redisconn__logger_log(&a->log, REDISCONN_LOG_WARNING, "admin: %s called by %s: %s", METHOD, who,
                          outcome);
    snprintf(num, sizeof(num), "%d", code);
    redisconn_request_set_header(req, "X-Prpc-Grpc-Code", num);
    if (code == GRPC_OK)
        redisconn_request_reply(req, 200, "application/json", "{}", 2);
    else
        redisconn_request_replyf(req, http, "%s\n", outcome);
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

/* 1 for an empty body or "{}" (blanks allowed around and inside). */
static int empty_message(const char *body, size_t len)
{
    size_t i = 0;
    const char *expect = "{}";
    for (; i < len; i++) {
        if (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n') continue;
        if (*expect == '\0' || body[i] != *expect) return 0;
        expect++;
    }
    return expect[0] == '\0' || expect[0] == '{';
}

/* FLUSHALL ASYNC answered (or failed): log, answer, forget the call. */
static void on_flushed(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    admin_call *c = privdata;
    char msg[512];
    (void)conn;
    if (status != REDISCONN_OK) {
        snprintf(msg, sizeof(msg), "Internal: %s", redisconn_strerror(status));
        finish(c->admin, c->req, c->who, 500, GRPC_INTERNAL, msg);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(msg, sizeof(msg), "InvalidArgument: Redis: %s", reply->str ? reply->str : "?");
        finish(c->admin, c->req, c->who, 400, GRPC_INVALID_ARGUMENT, msg);
    } else {
        finish(c->admin, c->req, c->who, 200, GRPC_OK, "OK: FLUSHALL ASYNC started");
    }
    redisconn__admin_release(c->admin);
    free(c);
}

/* An administrator's call: FLUSHALL ASYNC on the pool of the request. */
static void flush_all(redisconn__admin *a, redisconn_request *req, const char *who)
{
    admin_call *c = calloc(1, sizeof(*c));
    int rc = REDISCONN_ERR_NOMEM;
    char msg[256];
    if (c != NULL) {
        c->admin = a;
        c->req = req;
        c->who = who;
        a->refs++;
        rc = redisconn_ctx_command(redisconn_request_ctx(req), on_flushed, c, "FLUSHALL ASYNC");
        if (rc != REDISCONN_OK) {
            a->refs--;
            free(c);
        }
    }
    if (rc == REDISCONN_OK) return;
    snprintf(msg, sizeof(msg), "Internal: %s", redisconn_strerror(rc));
    finish(a, req, who, 500, GRPC_INTERNAL, msg);
}

/* The handler: who is calling, may they, then the work. */
static void on_flush_all_async(redisconn_request *req, void *arg)
{
    redisconn__admin *a = arg;
    size_t len = 0, body_len = 0;
    const char *token = bearer_token(redisconn_request_header(req, "Authorization"), &len);
    const redisconn__identity *id = redisconn__tokens_lookup(a->tokens, token, len);
    const void *body = redisconn_request_body(req, &body_len);
    if (id == NULL) {
        finish(a, req, token ? "anonymous (unknown token)" : "anonymous (no bearer token)", 403,
               GRPC_PERMISSION_DENIED, "PermissionDenied: only administrators may flush Redis");
    } else if (!redisconn__identity_in_group(id, REDISCONN_ADMIN_GROUP)) {
        finish(a, req, id->name, 403, GRPC_PERMISSION_DENIED,
               "PermissionDenied: only administrators may flush Redis");
    } else if (!empty_message(body, body_len)) {
        finish(a, req, id->name, 400, GRPC_INVALID_ARGUMENT,
               "InvalidArgument: the request must be the empty message {}");
    } else {
        flush_all(a, req, id->name);
    }
}

/* The identities loaded, or a note that nobody is an administrator. */
static void log_tokens(const redisconn__admin *a, const char *path)
{
    if (a->tokens == NULL)
        redisconn__logger_log(&a->log, REDISCONN_LOG_INFO,
                              "admin: no -admin-tokens-file: nobody may call %s", METHOD);
    else
        redisconn__logger_log(&a->log, REDISCONN_LOG_INFO, "admin: %zu identities from \"%s\"",
                              redisconn__tokens_count(a->tokens), path);
}

/* Tokens first (a bad file keeps nothing), then the route; the state is
 * shared by the route and the module from then on. */
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
    rc = redisconn_host_route(host, "POST", REDISCONN_ADMIN_FLUSH_ALL_ASYNC_PATH,
                              on_flush_all_async, a);
    if (rc != REDISCONN_OK) {
        redisconn__admin_release(a);
        return rc;
    }
    log_tokens(a, tokens_path);
    *out = a;
    return REDISCONN_OK;
}
