/* SPDX-License-Identifier: BSD-3-Clause */
/* prpc.c: pRPC framing, content negotiation and status mapping (see prpc.h). */
#include "server/redis/prpc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MT_BINARY   "application/prpc; encoding=binary"
#define MT_JSON     "application/json"
#define MT_TEXT     "application/prpc; encoding=text"
#define JSON_PREFIX ")]}'\n"

/* A media type split into its type and its parameters (lower-cased type,
 * blanks trimmed). `q` is the Accept quality, 1 unless given. */
typedef struct media {
    char type[128];
    char encoding[64]; /* the "encoding" parameter, or "" */
    int other_param;   /* a parameter other than encoding (and q) */
    double q;
} media;

/* Copies s[0..n) trimmed of blanks into `out` (truncated), lower-cased. */
static void trim_lower(const char *s, size_t n, char *out, size_t len)
{
    size_t k = 0;
    while (n > 0 && isspace((unsigned char)*s))
        s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    for (; k + 1 < len && k < n; k++)
        out[k] = (char)tolower((unsigned char)s[k]);
    out[k] = '\0';
}

/* Parses one parameter "name=value" (value maybe quoted) into `m`. */
static int parse_param(const char *p, size_t n, media *m)
{
    const char *eq = memchr(p, '=', n);
    char name[32], value[64];
    size_t vl;
    if (eq == NULL) return -1;
    trim_lower(p, (size_t)(eq - p), name, sizeof(name));
    trim_lower(eq + 1, n - (size_t)(eq + 1 - p), value, sizeof(value));
    vl = strlen(value);
    if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
        memmove(value, value + 1, vl - 2);
        value[vl - 2] = '\0';
    }
    if (name[0] == '\0') return -1;
    if (strcmp(name, "encoding") == 0)
        snprintf(m->encoding, sizeof(m->encoding), "%s", value);
    else if (strcmp(name, "q") == 0) {
        char *end;
        m->q = strtod(value, &end);
        if (end == value || *end != '\0') return -1;
    } else
        m->other_param = 1;
    return 0;
}

/* Parses "type/subtype; p=v; ..." (s[0..n)) into `m`; -1 when malformed. */
static int parse_media(const char *s, size_t n, media *m)
{
    const char *semi = memchr(s, ';', n);
    size_t tl = semi ? (size_t)(semi - s) : n;
    memset(m, 0, sizeof(*m));
    m->q = 1.0;
    trim_lower(s, tl, m->type, sizeof(m->type));
    if (m->type[0] == '\0' || strchr(m->type, '/') == NULL) return -1;
    while (semi != NULL) {
        const char *p = semi + 1, *end = s + n;
        semi = memchr(p, ';', (size_t)(end - p));
        if (parse_param(p, (size_t)((semi ? semi : end) - p), m) != 0) return -1;
    }
    return 0;
}

/* pRPC's FormatFromMediaType: -1 for an unsupported type or encoding. */
static int media_format(const media *m)
{
    if (strcmp(m->type, "application/prpc") == 0) {
        if (m->other_param) return -1;
        if (m->encoding[0] == '\0' || strcmp(m->encoding, "binary") == 0)
            return REDISCONN__PRPC_BINARY;
        if (strcmp(m->encoding, "json") == 0) return REDISCONN__PRPC_JSON;
        if (strcmp(m->encoding, "text") == 0) return REDISCONN__PRPC_TEXT;
        return -1;
    }
    if (strcmp(m->type, "application/json") == 0) return REDISCONN__PRPC_JSON;
    if (strcmp(m->type, "*/*") == 0 || strcmp(m->type, "application/*") == 0 ||
        strcmp(m->type, "application/grpc") == 0)
        return REDISCONN__PRPC_BINARY;
    return -1;
}

int redisconn__prpc_request_format(const char *ct, int *fmt, redisconn__prpc_error *e)
{
    media m;
    if (ct == NULL || ct[0] == '\0') {
        *fmt = REDISCONN__PRPC_BINARY;
        return 0;
    }
    if (parse_media(ct, strlen(ct), &m) == 0 && (*fmt = media_format(&m)) >= 0) return 0;
    e->http = 415;
    snprintf(e->msg, sizeof(e->msg), "bad Content-Type header: unsupported content type");
    return -1;
}

int redisconn__prpc_response_format(const char *accept, int *fmt, redisconn__prpc_error *e)
{
    double best_q = -1;
    *fmt = REDISCONN__PRPC_BINARY;
    if (accept == NULL || accept[0] == '\0') return 0;
    for (const char *p = accept;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        media m;
        int f;
        if (parse_media(p, n, &m) != 0) {
            e->http = 400;
            snprintf(e->msg, sizeof(e->msg), "Accept header: malformed media type");
            return -1;
        }
        f = media_format(&m);
        /* Higher q wins; on a tie the earlier format of the enum does. */
        if (f >= 0 && (m.q > best_q + 1e-9 || (m.q > best_q - 1e-9 && f < *fmt))) {
            best_q = m.q;
            *fmt = f;
        }
        if (comma == NULL) break;
        p = comma + 1;
    }
    if (best_q >= 0) return 0;
    e->http = 406;
    snprintf(e->msg, sizeof(e->msg),
             "Accept header: specified media types are not not supported. Supported types: "
             "\"%s\", \"%s\", \"%s\", \"%s\".",
             MT_BINARY, "application/prpc; encoding=json", MT_TEXT, MT_JSON);
    return -1;
}

static const struct {
    int code;
    const char *name;
    int http;
} codes[] = {
    {0, "OK", 200},
    {1, "Canceled", 499},
    {2, "Unknown", 500},
    {3, "InvalidArgument", 400},
    {4, "DeadlineExceeded", 504},
    {5, "NotFound", 404},
    {6, "AlreadyExists", 409},
    {7, "PermissionDenied", 403},
    {8, "ResourceExhausted", 429},
    {9, "FailedPrecondition", 400},
    {10, "Aborted", 409},
    {11, "OutOfRange", 400},
    {12, "Unimplemented", 501},
    {13, "Internal", 500},
    {14, "Unavailable", 503},
    {15, "DataLoss", 500},
    {16, "Unauthenticated", 401},
};

const char *redisconn__grpc_code_name(int code)
{
    if (code < 0 || (size_t)code >= sizeof(codes) / sizeof(codes[0])) return "Unknown";
    return codes[code].name;
}

int redisconn__grpc_http_status(int code)
{
    if (code < 0 || (size_t)code >= sizeof(codes) / sizeof(codes[0])) return 500;
    return codes[code].http;
}

/* The headers every pRPC response carries. */
static void common_headers(redisconn_request *req, int code)
{
    char num[16];
    snprintf(num, sizeof(num), "%d", code);
    redisconn_request_set_header(req, "X-Prpc-Grpc-Code", num);
    redisconn_request_set_header(req, "X-Content-Type-Options", "nosniff");
}

void redisconn__prpc_reply_empty(redisconn_request *req, int fmt)
{
    static const char json[] = JSON_PREFIX "{}\n";
    common_headers(req, REDISCONN__GRPC_OK);
    if (fmt == REDISCONN__PRPC_JSON)
        redisconn_request_reply(req, 200, MT_JSON, json, sizeof(json) - 1);
    else /* the empty message is no bytes, in binary as in text */
        redisconn_request_reply(req, 200, fmt == REDISCONN__PRPC_TEXT ? MT_TEXT : MT_BINARY, "", 0);
}

/* HTTP's reason phrase for the statuses pRPC hides errors behind. */
static const char *reason_phrase(int http)
{
    switch (http) {
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Internal Server Error";
    }
}

void redisconn__prpc_reply_error(redisconn_request *req, const redisconn__logger *log, int code,
                                 int http, const char *msg)
{
    char body[512];
    if (http == 0) http = redisconn__grpc_http_status(code);
    redisconn__logger_log(log, http < 500 ? REDISCONN_LOG_WARNING : REDISCONN_LOG_ERROR,
                          "prpc: responding with %s error: %s", redisconn__grpc_code_name(code),
                          msg);
    snprintf(body, sizeof(body), "%s\n", http < 500 ? msg : reason_phrase(http));
    common_headers(req, code);
    redisconn_request_reply(req, http, "text/plain", body, strlen(body));
}
