/* SPDX-License-Identifier: BSD-3-Clause */
/* server_fixture.h — the fixture of the server-layer suites that run a
 * server in this process: an event_base, server options (port 0, log
 * captured), and a real redis-server when asked for (support/server_support.h,
 * rt_srv_env). Criterion runs every test in a process of its own, so the one
 * global `http_env` is the running test's:
 *     TestSuite(server, .init = given_http_env, .fini = rt_http_env_teardown, .timeout = 30);
 *     ...
 *     rt_srv_env_start_ok(&http_env, NULL, 0);
 *     rt_http *h = rt_srv_fetch(&http_env, "GET", "/healthz", NULL);
 */
#ifndef REDISCONN_TEST_SERVER_FIXTURE_H
#define REDISCONN_TEST_SERVER_FIXTURE_H

#include "support/server_support.h"

extern rt_srv_env http_env;

/* A base and server options; no redis-server. */
void given_http_env(void);
/* The same and a redis-server, which the Redis module options point at. */
void given_http_env_with_redis(void);
/* The .fini: rt_srv_env_fini(&http_env) (shuts the server down if started). */
void rt_http_env_teardown(void);

#endif
