/* SPDX-License-Identifier: BSD-3-Clause */
/* test_readyz.c — GET /readyz with the Redis module, in a server in this
 * process against a real redis-server: 200 "ok" when Redis answers PING,
 * 503 with the reason while it is down (or refuses us: the pool's "server
 * down" state and its last dial error), 200 again once it is back; /healthz stays 200 throughout;
 * without Redis configured, 200. */
#include <criterion/criterion.h>
#include <string.h>

#include "support/server_fixture.h"

TestSuite(readyz, .init = given_http_env_with_redis, .fini = rt_http_env_teardown, .timeout = 30);

static int ready(void)
{
    char body[512];
    return rt_srv_get(&http_env, "/readyz", body, sizeof(body)) == 200;
}

Test(readyz, redis_up_is_200_ok)
{
    char body[512];
    cr_assert_eq(rt_srv_env_start_redis(&http_env), REDISCONN_OK);
    cr_assert_eq(rt_srv_get(&http_env, "/readyz", body, sizeof(body)), 200);
    cr_assert_str_eq(body, "ok\n");
}

Test(readyz, redis_down_is_503_with_the_reason)
{
    char body[512];
    cr_assert_eq(rt_srv_env_start_redis(&http_env), REDISCONN_OK);
    rt_server_stop(http_env.redis);
    cr_assert_eq(rt_srv_get(&http_env, "/readyz", body, sizeof(body)), 503);
    cr_assert_str_eq(body, "redis: server down: last dial error REDISCONN_ERR_CONNECT: "
                           "Connection refused\n");
}

Test(readyz, healthz_stays_200_while_redis_is_down)
{
    char body[64];
    cr_assert_eq(rt_srv_env_start_redis(&http_env), REDISCONN_OK);
    rt_server_stop(http_env.redis);
    cr_assert_eq(rt_srv_get(&http_env, "/healthz", body, sizeof(body)), 200);
}

Test(readyz, is_503_before_redis_starts_and_200_once_it_has)
{
    char body[512];
    cr_assert_eq(rt_srv_env_start_redis(&http_env), REDISCONN_OK);
    rt_server_stop(http_env.redis); /* the server comes up before Redis */
    cr_assert_eq(rt_srv_get(&http_env, "/readyz", body, sizeof(body)), 503, "%s", body);
    rt_server_restart(http_env.redis);
    rt_await(http_env.base, ready(), 10000);
}

Test(readyz, a_redis_that_refuses_us_is_not_ready)
{
    char body[512];
    freeReplyObject(rt_cmd(http_env.redis, "CONFIG SET requirepass %s", "s3cr3t-x"));
    http_env.redis->opts.requirepass = "s3cr3t-x";
    cr_assert_eq(rt_srv_env_start_redis(&http_env), REDISCONN_OK);
    cr_assert_eq(rt_srv_get(&http_env, "/readyz", body, sizeof(body)), 503);
    cr_assert_str_eq(body, "redis: server down: last dial error REDISCONN_ERR_AUTH: NOAUTH "
                           "Authentication required.\n");
}

Test(readyz, without_redis_configured_it_is_ready)
{
    char body[64];
    http_env.redis_opts.redis_addr = NULL;
    cr_assert_eq(rt_srv_env_start_redis(&http_env), REDISCONN_OK);
    cr_assert_eq(rt_srv_get(&http_env, "/readyz", body, sizeof(body)), 200);
    cr_assert_str_eq(body, "ok\n");
}
