/* SPDX-License-Identifier: BSD-3-Clause */
/* pool_consumer.c — a program outside the tree using the installed pool:
 * SET then GET through a leased connection against the Redis at argv[1];
 * prints the library's version and the value, exits 0 on success. */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <redisconn/pool.h>
#include <redisconn/version.h>

static int ok;

static void on_get(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    (void)conn;
    ok = status == REDISCONN_OK && reply->type == REDIS_REPLY_STRING &&
         strcmp(reply->str, "consumed") == 0;
    printf("GET consumer:key -> %s\n", ok ? reply->str : "(failed)");
    event_base_loopbreak(arg);
}

static void on_conn(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    if (status != REDISCONN_OK) {
        fprintf(stderr, "acquire: %s %s\n", redisconn_strerror(status), errmsg ? errmsg : "");
        event_base_loopbreak(arg);
        return;
    }
    redisconn_command(conn, NULL, NULL, "SET consumer:key consumed");
    redisconn_command(conn, on_get, arg, "GET consumer:key");
    redisconn_release(conn);
}

int main(int argc, char **argv)
{
    struct event_base *base = event_base_new();
    redisconn_pool *pool;
    if (argc != 2 || base == NULL) return 2;
    printf("redisconn %s (headers %s)\n", redisconn_version(), REDISCONN_VERSION);
    if (strcmp(redisconn_version(), REDISCONN_VERSION) != 0) return 1;
    pool = redisconn_pool_new(base, argv[1], 0);
    if (pool == NULL || redisconn_pool_acquire(pool, 5000, on_conn, base) == NULL) return 1;
    event_base_dispatch(base);
    redisconn_pool_close(pool, NULL, NULL);
    event_base_dispatch(base);
    event_base_free(base);
    return ok ? 0 : 1;
}
