/* SPDX-License-Identifier: BSD-3-Clause */
/* test_readiness.c — readiness checks (redisconn_host_add_readiness_check)
 * and the built-in GET /readyz, without Redis: no check is 200 "ok"; every
 * check runs, at once or later; one line per check that is not ready, 503;
 * /healthz runs none. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/server_fixture.h"

TestSuite(readiness, .init = given_http_env, .fini = rt_http_env_teardown, .timeout = 30);

static int runs;

/* Reports at once: ready when `arg` is NULL, else not ready with `arg`. */
static void check_now(redisconn_readiness *r, redisconn_ctx *ctx, void *arg)
{
    (void)ctx;
    runs++;
    redisconn_readiness_done(r, arg);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    redisconn_readiness_done(arg, "still warming up\nsecond line");
}

/* Reports from the loop, 20 ms later, not ready. */
static void check_later(redisconn_readiness *r, redisconn_ctx *ctx, void *arg)
{
    struct timeval tv = {0, 20000};
    (void)ctx;
    runs++;
    event_base_once(arg, -1, EV_TIMEOUT, on_later, r, &tv);
}

/* Registers `fn` as check `name` through the server's host. */
static void add_check(const char *name, redisconn_readiness_fn fn, void *arg)
{
    cr_assert_eq(
        redisconn_host_add_readiness_check(redisconn_server_host(http_env.srv), name, fn, arg),
        REDISCONN_OK);
}

Test(readiness, no_check_is_ready)
{
    char body[64];
    rt_srv_env_start_ok(&http_env, NULL, 0);
    cr_assert_eq(rt_srv_get(&http_env, "/readyz", body, sizeof(body)), 200);
    cr_assert_str_eq(body, "ok\n");
}

Test(readiness, every_check_ready_is_200)
{
    char body[64];
    rt_srv_env_start_ok(&http_env, NULL, 0);
    add_check("a", check_now, NULL);
    add_check("b", check_now, NULL);
    cr_assert_eq(rt_srv_get(&http_env, "/readyz", body, sizeof(body)), 200);
    cr_assert_str_eq(body, "ok\n");
    cr_assert_eq(runs, 2);
}

Test(readiness, each_check_not_ready_is_one_line_of_the_503)
{
    char body[256];
    rt_srv_env_start_ok(&http_env, NULL, 0);
    add_check("db", check_now, "no connection");
    add_check("ok", check_now, NULL);
    add_check("cache", check_later, http_env.base);
    cr_assert_eq(rt_srv_get(&http_env, "/readyz", body, sizeof(body)), 503);
    cr_assert_str_eq(body, "db: no connection\ncache: still warming up second line\n");
}

Test(readiness, healthz_runs_no_check)
{
    char body[64];
    rt_srv_env_start_ok(&http_env, NULL, 0);
    add_check("db", check_now, "down");
    cr_assert_eq(rt_srv_get(&http_env, "/healthz", body, sizeof(body)), 200);
    cr_assert_eq(runs, 0);
}

Test(readiness, invalid_arguments_are_refused)
{
    redisconn_host *host;
    rt_srv_env_start_ok(&http_env, NULL, 0);
    host = redisconn_server_host(http_env.srv);
    cr_assert_eq(redisconn_host_add_readiness_check(NULL, "x", check_now, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_host_add_readiness_check(host, NULL, check_now, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_host_add_readiness_check(host, "x", NULL, NULL), REDISCONN_ERR_INVALID);
}
