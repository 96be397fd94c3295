/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hello_server.c — the seed's usage as a server, in C.
 *
 * Go:
 *     modules := []module.Module{redisconn.NewModuleFromFlags()}
 *     server.Main(nil, modules, func(srv *server.Server) error {
 *         srv.Routes.GET("/", ..., func(c *router.Context) {
 *             conn, err := redisconn.Get(c.Context)
 *             ...
 *             defer conn.Close()
 *         })
 *         return nil
 *     })
 *
 * Here every step that would block in Go is a callback: get a connection,
 * run INCR, reply, release.
 *
 * With the module, the seed also installs Redis as the default blob cache,
 * reports the pool as metrics and serves an admin endpoint; here:
 *
 *   hello_server -redis-addr 127.0.0.1:6379 [-redis-db 0] [-http-addr 127.0.0.1:8800]
 *                [-redis-password-file pw.txt (or REDIS_PASSWORD=...)] [-admin-tokens-file
 * tokens.txt] curl http://127.0.0.1:8800/                          -> count=1 curl -X PUT
 * --data-binary hi http://127.0.0.1:8800/cache/greeting   -> 204 curl
 * http://127.0.0.1:8800/cache/greeting            -> hi curl http://127.0.0.1:8800/metrics ->
 * redis_pool_conns{...} ... curl http://127.0.0.1:8800/readyz                    -> ok (503 + why
 * while Redis is down)
 *   curl -X POST -H "Authorization: Bearer <token>" -H 'Content-Type: application/json' \
 *        -H 'Accept: application/json' -d '{"async": true}' \
 *        http://127.0.0.1:8800/prpc/server.redisconn.Admin/FlushAll  -> )]}' {}
 *   kill -TERM <pid>                                     -> graceful shutdown, exit 0
 *
 * Without -redis-addr the server still runs: GET / answers 503 and the
 * /cache routes use the server's in-process cache. The /cache handlers are
 * in hello_cache.c.
 */
#include <stdio.h>

#include <redisconn/redisconn.h>
#include <redisconn/server.h>

#include "hello_cache.h"

/* Third step: INCR answered. Reply, then give the connection back. */
static void on_incr(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    redisconn_request *req = arg;
    if (status != REDISCONN_OK)
        redisconn_request_replyf(req, 500, "INCR failed: %s\n", redisconn_strerror(status));
    else if (reply->type == REDIS_REPLY_INTEGER)
        redisconn_request_replyf(req, 200, "count=%lld\n", reply->integer);
    else
        redisconn_request_replyf(req, 500, "INCR failed: %s\n", reply->str ? reply->str : "?");
    redisconn_release(conn); /* the seed's `defer conn.Close()` */
}

/* Second step: a connection (or why there is none). */
static void on_conn(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    redisconn_request *req = arg;
    if (status == REDISCONN_ERR_NOT_CONFIGURED) {
        redisconn_request_replyf(req, 503,
                                 "Redis is not configured: start with -redis-addr host:port\n");
        return;
    }
    if (status != REDISCONN_OK) { /* DEADLINE: the request timeout passed while waiting */
        redisconn_request_replyf(req, status == REDISCONN_ERR_DEADLINE ? 504 : 500,
                                 "cannot get a Redis connection: %s\n",
                                 errmsg ? errmsg : redisconn_strerror(status));
        return;
    }
    if (redisconn_command(conn, on_incr, req, "INCR %s", "hello:count") != REDISCONN_OK) {
        redisconn_release(conn);
        redisconn_request_replyf(req, 500, "cannot send INCR\n");
    }
}

/* First step, GET /: ask for a connection within the request's deadline. */
static void handle_root(redisconn_request *req, void *arg)
{
    (void)arg;
    if (redisconn_get(redisconn_request_ctx(req), on_conn, req) == NULL)
        redisconn_request_replyf(req, 500, "out of memory\n");
}

/* Called once the modules are initialized: add the routes. */
static int init(redisconn_server *srv, void *arg)
{
    int rc = redisconn_server_route(srv, "GET", "/", handle_root, NULL);
    (void)arg;
    if (rc == REDISCONN_OK)
        rc = redisconn_server_route(srv, "GET", "/cache/*", hello_cache_get, NULL);
    if (rc == REDISCONN_OK)
        rc = redisconn_server_route(srv, "PUT", "/cache/*", hello_cache_put, NULL);
    return rc;
}

int main(int argc, char **argv)
{
    redisconn_module *redis = redisconn_module_new_from_flags(); /* -redis-addr, -redis-db */
    const redisconn_module *modules[1];
    int code;
    if (redis == NULL) {
        fprintf(stderr, "hello_server: out of memory\n");
        return 1;
    }
    modules[0] = redis;
    code = redisconn_server_main(argc, argv, modules, 1, init, NULL);
    redisconn_module_free(redis);
    return code;
}
