/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_sentinel_auth.c — passwords in a Sentinel deployment: the
 * sentinels' own (requirepass on the sentinels, the pool's sentinel_password
 * option) and the master's (requirepass on master and replica, `sentinel
 * auth-pass` for the sentinels; the password in the URL or the options).
 * Each test starts the deployment it needs (one sentinel where a failover is
 * not the point). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"
#include "support/sentinel_support.h"

static rt_sentinel_env sent;

static void teardown(void)
{
    rt_env_teardown();
    rt_sentinels_stop(&sent);
}

TestSuite(pool_sentinel_auth, .init = given_base, .fini = teardown, .timeout = 60);

/* Starts the deployment; the fd baseline is taken again after it. */
static void given_sentinels(const char *master_pass, const char *sentinel_pass, int n)
{
    rt_sentinel_opts so = {master_pass, sentinel_pass, n};
    rt_sentinels_start(&sent, &so);
    env.fds_before = rt_count_fds();
}

/* SET on a lease; asserts +OK and that the key is on the current master. */
static void expect_write_lands_on_the_master(const char *key)
{
    rt_reply r = {0};
    redisReply *g;
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_command_wait(&env, c, &r, "SET %s %s", key, "v");
    cr_assert_str_eq(r.str, "OK");
    redisconn_release(c);
    g = rt_cmd(sent.master, "EXISTS %s", key);
    cr_assert(g && g->type == REDIS_REPLY_INTEGER && g->integer == 1, "%s not on the master", key);
    freeReplyObject(g);
}

static rt_acq acquire_failing(void)
{
    rt_acq a = {0};
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 3000, rt_acq_cb, &a));
    cr_assert(rt_wait_acq(&env, &a, 4000));
    cr_assert_eq(a.calls, 1);
    return a;
}

Test(pool_sentinel_auth, sentinels_with_a_password_answer_given_the_sentinel_password)
{
    redisconn_pool_options *o = given_options();
    given_sentinels(NULL, "s3cret", 1);
    o->sentinel_password = "s3cret";
    given_pool_at(sent.url, o);
    expect_write_lands_on_the_master("auth:sentinel");
    cr_assert(strstr(env.log.buf, "s3cret") == NULL, "a password in the log: %s", env.log.buf);
}

Test(pool_sentinel_auth, a_wrong_sentinel_password_fails_with_auth_naming_the_sentinel)
{
    redisconn_pool_options *o = given_options();
    rt_acq a;
    char want[96];
    given_sentinels(NULL, "s3cret", 1);
    o->sentinel_password = "wrong";
    given_pool_at(sent.url, o);
    a = acquire_failing();
    cr_assert_eq(a.status, REDISCONN_ERR_AUTH, "got %s: %s", redisconn_status_name(a.status),
                 a.errmsg);
    snprintf(want, sizeof(want), "sentinel %s: WRONGPASS", sent.sentinel[0]->addr);
    cr_assert(strstr(a.errmsg, "no sentinel answered for master \"mymaster\"") != NULL, "%s",
              a.errmsg);
    cr_assert(strstr(a.errmsg, want) != NULL, "%s", a.errmsg);
    cr_assert(strstr(a.errmsg, "wrong") == NULL && strstr(env.log.buf, "wrong") == NULL,
              "the password shown: %s", a.errmsg);
}

Test(pool_sentinel_auth, a_missing_sentinel_password_fails_with_auth)
{
    rt_acq a;
    given_sentinels(NULL, "s3cret", 1);
    given_pool_at(sent.url, given_options());
    a = acquire_failing();
    cr_assert_eq(a.status, REDISCONN_ERR_AUTH, "got %s: %s", redisconn_status_name(a.status),
                 a.errmsg);
    cr_assert(strstr(a.errmsg, "NOAUTH") != NULL, "%s", a.errmsg);
}

Test(pool_sentinel_auth, the_master_password_in_the_url_authenticates_to_the_master)
{
    char url[300];
    given_sentinels("m4ster", NULL, 1);
    snprintf(url, sizeof(url), "sentinel://:m4ster@%s/mymaster", sent.addrs);
    given_pool_at(url, given_options());
    expect_write_lands_on_the_master("auth:url");
}

Test(pool_sentinel_auth, the_master_password_in_the_options_authenticates_to_the_master)
{
    redisconn_pool_options *o = given_options();
    given_sentinels("m4ster", NULL, 1);
    o->password = "m4ster";
    given_pool_at(sent.url, o);
    expect_write_lands_on_the_master("auth:options");
}

Test(pool_sentinel_auth, a_wrong_master_password_fails_with_auth)
{
    redisconn_pool_options *o = given_options();
    rt_acq a;
    given_sentinels("m4ster", NULL, 1);
    o->password = "wrong";
    given_pool_at(sent.url, o);
    a = acquire_failing();
    cr_assert_eq(a.status, REDISCONN_ERR_AUTH, "got %s: %s", redisconn_status_name(a.status),
                 a.errmsg);
}

/* Both passwords, and a failover: the new master takes the same password. */
Test(pool_sentinel_auth, with_both_passwords_the_pool_follows_a_failover)
{
    redisconn_pool_options *o = given_options();
    char url[300];
    given_sentinels("m4ster", "s3cret", 1);
    o->sentinel_password = "s3cret";
    snprintf(url, sizeof(url), "sentinel://:m4ster@%s/mymaster", sent.addrs);
    given_pool_at(url, o);
    expect_write_lands_on_the_master("auth:before");
    rt_sentinels_failover_begin(&sent, 0);
    rt_await(env.base, pool_stats().failovers == 1, 15000);
    rt_sentinels_failover_end(&sent, 15000);
    expect_write_lands_on_the_master("auth:after");
}
