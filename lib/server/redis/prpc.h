/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * prpc.h: the pRPC protocol (go.chromium.org/luci/grpc/prpc, v1.1) on a
 * server request, for the admin service:
 *
 *   request   POST /prpc/<package.Service>/<Method>; the body's encoding
 *             from Content-Type: none, "application/prpc; encoding=binary",
 *             "application/grpc", "*" "/" "*": binary protobuf;
 *             "application/json" or "application/prpc; encoding=json":
 *             JSON; "application/prpc; encoding=text": text format.
 *             Anything else: 415 InvalidArgument.
 *   response  the encoding from Accept: none: binary; otherwise the
 *             supported type with the highest q, binary < JSON < text on
 *             ties; none supported: 406 InvalidArgument. JSON bodies start
 *             with ")]}'\n" and end with "\n".
 *   always    X-Prpc-Grpc-Code and X-Content-Type-Options: nosniff.
 *   errors    HTTP status from the gRPC code, "text/plain", the message and
 *             "\n"; for statuses >= 500 the body is only the HTTP reason
 *             phrase (pRPC hides implementation details), the message goes
 *             to the log.
 */
#ifndef REDISCONN_SERVER_PRPC_H
#define REDISCONN_SERVER_PRPC_H

#include <stddef.h>

#include "redisconn/server.h"
#include "server/host/host.h"

/* Message encodings, in pRPC's order of preference. */
enum redisconn__prpc_format {
    REDISCONN__PRPC_BINARY = 0,
    REDISCONN__PRPC_JSON = 1,
    REDISCONN__PRPC_TEXT = 2,
};

/* The gRPC codes the admin service answers with. */
enum redisconn__grpc_code {
    REDISCONN__GRPC_OK = 0,
    REDISCONN__GRPC_CANCELED = 1,
    REDISCONN__GRPC_INVALID_ARGUMENT = 3,
    REDISCONN__GRPC_DEADLINE_EXCEEDED = 4,
    REDISCONN__GRPC_PERMISSION_DENIED = 7,
    REDISCONN__GRPC_UNIMPLEMENTED = 12,
    REDISCONN__GRPC_INTERNAL = 13,
};

/* A protocol error: the HTTP status pRPC gives it (400, 406, 415) and why. */
typedef struct redisconn__prpc_error {
    int http;
    char msg[256];
} redisconn__prpc_error;

/* The encoding of a request body with Content-Type `content_type` (NULL:
 * none). Returns 0 with `*fmt`, or -1 with `e` set (415). */
int redisconn__prpc_request_format(const char *content_type, int *fmt, redisconn__prpc_error *e);

/* The encoding of the response for Accept `accept` (NULL: none). Returns 0
 * with `*fmt`, or -1 with `e` set (400 malformed, 406 nothing supported). */
int redisconn__prpc_response_format(const char *accept, int *fmt, redisconn__prpc_error *e);

/* The gRPC code's name ("PermissionDenied"), or "Unknown". */
const char *redisconn__grpc_code_name(int code);

/* The HTTP status pRPC maps a gRPC code to (grpcutil.CodeStatus). */
int redisconn__grpc_http_status(int code);

/* Answers `req` with google.protobuf.Empty in `fmt` (200, code 0). */
void redisconn__prpc_reply_empty(redisconn_request *req, int fmt);

/* Answers `req` with gRPC error `code` and `msg`; `http` 0 maps the code,
 * otherwise it is the status (protocol errors). Logs "prpc: responding with
 * <Code> error: <msg>" through `log` (warning below 500, error from 500). */
void redisconn__prpc_reply_error(redisconn_request *req, const redisconn__logger *log, int code,
                                 int http, const char *msg);

#endif
