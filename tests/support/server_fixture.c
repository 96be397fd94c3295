/* SPDX-License-Identifier: BSD-3-Clause */
/* server_fixture.c: see server_fixture.h. */
#include "support/server_fixture.h"

rt_srv_env http_env;

void given_http_env(void)
{
    rt_srv_env_init(&http_env, 0);
}

void given_http_env_with_redis(void)
{
    rt_srv_env_init(&http_env, 1);
}

void rt_http_env_teardown(void)
{
    rt_srv_env_fini(&http_env);
}
