/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pool_basic.c — the redisconn pool used bare in a libevent program.
 *
 * Read it top to bottom: create an event_base and a pool, acquire a
 * connection (the callback runs from the loop), run a few commands on it,
 * release it, close the pool, and leave the loop when the close completes.
 *
 *   pool_basic [host:port]        (default 127.0.0.1:6379)
 */
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>
#include <redisconn/pool.h>

/* Everything the callbacks need, in one place. */
struct app {
    redisconn_pool *pool;
    int exit_code;
};

static void on_pool_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    (void)arg;
    printf("pool closed\n");
    /* Nothing of ours is registered on the base any more: the loop ends. */
}

static void finish(struct app *app, redisconn_conn *conn)
{
    if (conn) redisconn_release(conn); /* back to the pool, or closed if dirty */
    redisconn_pool_close(app->pool, on_pool_closed, app);
}

/* Third step: GET's reply. `reply` is freed when this returns. */
static void on_get(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    struct app *app = arg;
    if (status != REDISCONN_OK) {
        fprintf(stderr, "GET failed: %s\n", redisconn_strerror(status));
        app->exit_code = 1;
    } else {
        printf("GET greeting -> %s\n", reply->str ? reply->str : "(nil)");
    }
    finish(app, conn);
}

/* Second step: INCR's reply; then queue a GET on the same connection. */
static void on_incr(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    struct app *app = arg;
    if (status != REDISCONN_OK || reply->type != REDIS_REPLY_INTEGER) {
        fprintf(stderr, "INCR failed: %s\n", redisconn_strerror(status));
        app->exit_code = 1;
        finish(app, conn);
        return;
    }
    printf("INCR visits -> %lld\n", reply->integer);
    redisconn_command(conn, on_get, app, "GET %s", "greeting");
}

/* First step: the pool delivers a connection (or says why it cannot). */
static void on_acquired(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    struct app *app = arg;
    if (status != REDISCONN_OK) {
        fprintf(stderr, "acquire failed: %s%s%s\n", redisconn_strerror(status), errmsg ? ": " : "",
                errmsg ? errmsg : "");
        app->exit_code = 1;
        finish(app, NULL);
        return;
    }
    /* Commands pipeline: both go out in one write, replies come in order. */
    redisconn_command(conn, NULL, NULL, "SET %s %s", "greeting", "hello from redisconn");
    redisconn_command(conn, on_incr, app, "INCR %s", "visits");
}

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:6379";
    struct app app = {NULL, 0};
    struct event_base *base = event_base_new();

    /* Like Go's redisconn.NewPool(addr, db): no connection opens yet. */
    app.pool = redisconn_pool_new(base, addr, 0);
    if (app.pool == NULL) {
        fprintf(stderr, "bad address: %s\n", addr);
        return 2;
    }
    /* Wait at most 2 s for a connection. */
    if (redisconn_pool_acquire(app.pool, 2000, on_acquired, &app) == NULL) {
        fprintf(stderr, "acquire: out of memory\n");
        return 1;
    }
    event_base_dispatch(base); /* runs until the pool has closed */
    event_base_free(base);
    return app.exit_code;
}
