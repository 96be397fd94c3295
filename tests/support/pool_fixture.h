/* SPDX-License-Identifier: BSD-3-Clause */
/* pool_fixture.h — the fixture of the pool suites and of the server-layer
 * suites that need a pool: a real redis-server, an event_base, options, at
 * most one pool under test, and the fd count to come back to.
 *
 * Criterion runs every test in a process of its own, so the one global `env`
 * is the running test's. A suite says
 *     TestSuite(pool_x, .init = given_server, .fini = rt_env_teardown, .timeout = 30);
 * and a test reads as what it is given:
 *     redisconn_pool_options *o = given_options();
 *     o->max_active = 1;
 *     redisconn_conn **held = given_exhausted(given_pool(o), 1);
 *     ...
 *     close_pool_expect_freed();
 */
#ifndef REDISCONN_TEST_POOL_FIXTURE_H
#define REDISCONN_TEST_POOL_FIXTURE_H

#include "support/pool_support.h"

extern rt_env env;

/* A base and a default redis-server, the fd baseline, the options: the
 * .init of suites whose tests share one kind of server. */
void given_server(void);
/* A base, the fd baseline and the options but no server: the .init of
 * suites whose tests start their own (given_server_with). */
void given_base(void);
/* Starts env.srv with `opts` (NULL: defaults) and takes the fd baseline again. */
rt_server *given_server_with(const rt_server_opts *opts);
/* env.opts: the defaults plus log capture into env.log (DEBUG), for the test
 * to change before given_pool(). */
redisconn_pool_options *given_options(void);
/* env.pool on env.srv with `opts` (NULL: env.opts); asserts it was made. */
redisconn_pool *given_pool(const redisconn_pool_options *opts);
/* env.pool on `addr` (any address, also a refused one) with `opts` (NULL:
 * the library's defaults, no log capture); asserts it was made. */
redisconn_pool *given_pool_at(const char *addr, const redisconn_pool_options *opts);
/* Leases `n` connections of `pool` (each acquire asserted), kept in
 * env.held: with max_active = n the pool is exhausted. Returns env.held. */
redisconn_conn **given_exhausted(redisconn_pool *pool, int n);

/* Starts closing env.pool, counting its close callback in env.closed;
 * asserts REDISCONN_OK and that the callback did not fire inside the call.
 * env.pool becomes NULL; returns the pool (valid until its close callback). */
redisconn_pool *close_pool(void);
/* Runs the loop until the pool closed by close_pool() is freed; asserts its
 * close callback fired exactly once and the fd count is back to the baseline. */
void expect_pool_freed(void);
/* close_pool() + expect_pool_freed(). */
void close_pool_expect_freed(void);

/* The stats of env.pool. */
redisconn_pool_stats pool_stats(void);

/* The .fini: close_pool_expect_freed() if env.pool is still open, then stops
 * the server and frees the base. */
void rt_env_teardown(void);

#endif
