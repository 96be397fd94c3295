/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hello_cache.c — GET and PUT /cache/<key> on the global blob cache (see
 * hello_cache.h). Like every step in the sample, each cache operation
 * answers through a callback, and the request context bounds it: when the
 * request deadline passes, the callback runs at once with
 * REDISCONN_ERR_DEADLINE.
 */
#include "hello_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <redisconn/blobcache.h>

#define PREFIX "/cache/"

/* The key: the decoded path after "/cache/" (NULL when empty). */
static const char *cache_key(const redisconn_request *req)
{
    const char *path = redisconn_request_path(req);
    if (strncmp(path, PREFIX, strlen(PREFIX)) != 0 || path[strlen(PREFIX)] == '\0') return NULL;
    return path + strlen(PREFIX);
}

/* An error status as an HTTP answer: a miss is never an error, and an
 * unreachable cache (Redis down) is 503, not a miss. */
static void reply_error(redisconn_request *req, int status)
{
    int http = 500;
    switch (status) {
    case REDISCONN_ERR_NOT_CONFIGURED:
    case REDISCONN_ERR_CONNECT:
    case REDISCONN_ERR_RESOLVE:
    case REDISCONN_ERR_IO:
    case REDISCONN_ERR_TIMEOUT:
    case REDISCONN_ERR_CLOSED:
    case REDISCONN_ERR_EXHAUSTED:
    case REDISCONN_ERR_CANCELED:
        http = 503;
        break;
    case REDISCONN_ERR_DEADLINE:
        http = 504;
        break;
    default:
        break;
    }
    redisconn_request_replyf(req, http, "cache error: %s\n", redisconn_strerror(status));
}

/* The cache's answer to GET: the bytes, 404, or the error. */
static void on_get(int status, const void *value, size_t len, void *arg)
{
    redisconn_request *req = arg;
    if (status == REDISCONN_OK)
        redisconn_request_reply(req, 200, "application/octet-stream", value, len);
    else if (status == REDISCONN_ERR_CACHE_MISS)
        redisconn_request_replyf(req, 404, "not in the cache\n");
    else
        reply_error(req, status);
}

/* GET /cache/<key>: answered exactly once, here or from on_get(). */
void hello_cache_get(redisconn_request *req, void *arg)
{
    const char *key = cache_key(req);
    int rc;
    (void)arg;
    if (key == NULL) {
        redisconn_request_replyf(req, 400, "usage: GET /cache/<key>\n");
        return;
    }
    rc = redisconn_cache_get(redisconn_request_ctx(req), HELLO_CACHE_NAMESPACE, key, strlen(key),
                             on_get, req);
    if (rc != REDISCONN_OK) reply_error(req, rc); /* on_get will not run */
}

/* The cache's answer to PUT. */
static void on_set(int status, void *arg)
{
    redisconn_request *req = arg;
    if (status == REDISCONN_OK)
        redisconn_request_reply(req, 204, NULL, NULL, 0);
    else
        reply_error(req, status);
}

/* ?ttl_ms=N: decimal digits only; absent is 0 (no expiry). -1 when bad. */
static int64_t ttl_param(const redisconn_request *req)
{
    const char *text = redisconn_request_query(req, "ttl_ms");
    char *end;
    long long v;
    if (text == NULL) return 0;
    if (text[0] < '0' || text[0] > '9') return -1;
    errno = 0;
    v = strtoll(text, &end, 10);
    return *end != '\0' || errno != 0 ? -1 : (int64_t)v;
}

/* PUT /cache/<key>: answered exactly once, here or from on_set(). */
void hello_cache_put(redisconn_request *req, void *arg)
{
    const char *key = cache_key(req);
    int64_t ttl = ttl_param(req);
    size_t len = 0;
    const void *value = redisconn_request_body(req, &len);
    int rc;
    (void)arg;
    if (key == NULL || ttl < 0) {
        redisconn_request_replyf(req, 400,
                                 "usage: PUT /cache/<key>[?ttl_ms=N] with the value "
                                 "as the body\n");
        return;
    }
    rc = redisconn_cache_set(redisconn_request_ctx(req), HELLO_CACHE_NAMESPACE, key, strlen(key),
                             value, len, ttl, on_set, req);
    if (rc != REDISCONN_OK) reply_error(req, rc); /* on_set will not run */
}
