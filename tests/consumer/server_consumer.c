/* SPDX-License-Identifier: BSD-3-Clause */
/* server_consumer.c — a program outside the tree using the installed server
 * layer: a server with the Redis module (-redis-addr argv[1]) on a free
 * port, one INCR through redisconn_ctx_command() on its root context, then
 * a graceful shutdown; exits 0 when the reply came and the shutdown ended. */
#include <stdio.h>

#include <event2/event.h>
#include <redisconn/redisconn.h>
#include <redisconn/server.h>

static int replied, shut;

static void on_shutdown(int status, void *arg)
{
    shut = status == REDISCONN_OK;
    event_base_loopbreak(arg);
}

static void on_incr(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    redisconn_server *srv = arg;
    (void)conn;
    replied = status == REDISCONN_OK && reply->type == REDIS_REPLY_INTEGER;
    printf("INCR through the server's context -> %lld\n", replied ? reply->integer : -1LL);
    redisconn_server_shutdown(srv, on_shutdown, redisconn_server_base(srv));
}

int main(int argc, char **argv)
{
    struct event_base *base = event_base_new();
    redisconn_module_options mo;
    redisconn_server_options so;
    redisconn_module *redis;
    redisconn_server *srv;
    const redisconn_module *mods[1];
    if (argc != 2 || base == NULL) return 2;
    redisconn_module_options_init(&mo);
    mo.redis_addr = argv[1];
    redis = redisconn_module_new(&mo);
    mods[0] = redis;
    redisconn_server_options_init(&so);
    so.http_addr = "127.0.0.1:0";
    srv = redisconn_server_new(base, &so, mods, 1);
    if (srv == NULL || redisconn_server_start(srv) != REDISCONN_OK) return 1;
    printf("%s on port %d\n", REDISCONN_MODULE_NAME, redisconn_server_port(srv));
    if (redisconn_ctx_command(redisconn_server_ctx(srv), on_incr, srv, "INCR consumer:n") !=
        REDISCONN_OK)
        return 1;
    event_base_dispatch(base);
    redisconn_module_free(redis);
    event_base_free(base);
    return replied && shut ? 0 : 1;
}
