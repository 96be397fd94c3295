/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hello_cache.h — the /cache routes of samples/hello_server.c, kept in a
 * file of their own so that tests/server/cache/test_cache_routes.c runs this very code.
 *
 *   GET /cache/<key>              200 with the stored bytes (application/octet-stream),
 *                                 404 on a miss
 *   PUT /cache/<key>[?ttl_ms=N]   body = value; 204 once stored (N ms to live, 0 = forever)
 *
 * Both go through the server's global blob cache, namespace "hello": Redis
 * when the server runs with -redis-addr, an in-process LRU otherwise.
 * Errors: 400 (no key, bad ttl_ms), 503 (no cache, or the cache cannot be
 * reached: Redis down), 504 (the request deadline passed), 500 (anything
 * else), each with a one-line text message.
 */
#ifndef HELLO_CACHE_H
#define HELLO_CACHE_H

#include <redisconn/server.h>

/** The cache namespace of the sample's routes. */
#define HELLO_CACHE_NAMESPACE "hello"

/** GET /cache/<key>: route it as "/cache/" followed by "*". */
void hello_cache_get(redisconn_request *req, void *arg);

/** PUT /cache/<key>: route it as "/cache/" followed by "*". */
void hello_cache_put(redisconn_request *req, void *arg);

#endif
