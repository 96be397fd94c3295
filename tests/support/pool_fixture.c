/* SPDX-License-Identifier: BSD-3-Clause */
/* pool_fixture.c: see pool_fixture.h. */
#include "support/pool_fixture.h"

#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

rt_env env;

void given_base(void)
{
    memset(&env, 0, sizeof(env));
    env.base = event_base_new();
    cr_assert_not_null(env.base);
    redisconn_pool_options_init(&env.opts);
    env.opts.log_fn = rt_log_fn;
    env.opts.log_arg = &env.log;
    env.opts.log_level = REDISCONN_LOG_DEBUG;
    env.fds_before = rt_count_fds();
}

rt_server *given_server_with(const rt_server_opts *opts)
{
    cr_assert_null(env.srv, "one server per test");
    env.srv = rt_server_start(opts);
    env.fds_before = rt_count_fds();
    return env.srv;
}

void given_server(void)
{
    given_base();
    given_server_with(NULL);
}

redisconn_pool_options *given_options(void)
{
    return &env.opts;
}

redisconn_pool *given_pool_at(const char *addr, const redisconn_pool_options *opts)
{
    redisconn_error err;
    cr_assert_null(env.pool, "one pool per test");
    env.pool = redisconn_pool_new_with_options(env.base, addr, opts, &err);
    cr_assert_not_null(env.pool, "pool_new(%s): %s", addr, err.message);
    cr_assert_eq(err.status, REDISCONN_OK);
    return env.pool;
}

redisconn_pool *given_pool(const redisconn_pool_options *opts)
{
    cr_assert_not_null(env.srv, "given_pool needs a server");
    return given_pool_at(env.srv->addr, opts ? opts : &env.opts);
}

redisconn_conn **given_exhausted(redisconn_pool *pool, int n)
{
    cr_assert_leq(n, RT_MAX_HELD);
    for (int i = 0; i < n; i++)
        env.held[i] = rt_acquire_ok_on(pool, env.base);
    return env.held;
}

static void on_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    ((rt_env *)arg)->closed++;
}

redisconn_pool *close_pool(void)
{
    redisconn_pool *p = env.pool;
    cr_assert_not_null(p, "no pool to close");
    cr_assert_eq(redisconn_pool_close(p, on_closed, &env), REDISCONN_OK);
    env.pool = NULL;
    cr_assert_eq(env.closed, 0, "close callback fired inside redisconn_pool_close");
    return p;
}

void expect_pool_freed(void)
{
    cr_assert(rt_loop_until(env.base, &env.closed, 5000), "pool close did not complete");
    rt_loop_quiet(env.base, 10); /* a second close callback would come now */
    cr_assert_eq(env.closed, 1, "close callback fired %d times", env.closed);
    cr_assert_eq(rt_count_fds(), env.fds_before, "fds leaked: %d before, %d after", env.fds_before,
                 rt_count_fds());
}

void close_pool_expect_freed(void)
{
    close_pool();
    expect_pool_freed();
}

redisconn_pool_stats pool_stats(void)
{
    redisconn_pool_stats st;
    cr_assert_not_null(env.pool);
    redisconn_pool_get_stats(env.pool, &st);
    return st;
}

void rt_env_teardown(void)
{
    if (env.pool) close_pool_expect_freed();
    if (env.base) event_base_free(env.base);
    rt_server_free(env.srv);
    env.base = NULL;
    env.srv = NULL;
}
