/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_errors.c — addresses as users paste them (redis:// and unix://
 * URLs with credentials and db) and refusals that say why in words. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_errors, .init = given_base, .fini = rt_env_teardown, .timeout = 30);

/* The reason pool creation gives for `addr` with `o` (NULL: defaults). */
static const char *refusal(const char *addr, const redisconn_pool_options *o)
{
    static redisconn_error err;
    cr_assert_null(redisconn_pool_new_with_options(env.base, addr, o, &err), "%s accepted",
                   addr ? addr : "(null)");
    cr_assert_eq(err.status, REDISCONN_ERR_INVALID);
    return err.message;
}

/* The db the lease's connection has SELECTed (CLIENT INFO's db=). */
static int lease_db(redisconn_conn *c)
{
    rt_reply r;
    const char *f;
    rt_command_wait(&env, c, &r, "CLIENT INFO");
    f = strstr(r.str, " db=");
    cr_assert_not_null(f, "%s", r.str);
    return atoi(f + 4);
}

Test(pool_errors, a_redis_url_gives_host_port_and_db)
{
    char url[96];
    given_server_with(NULL);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", env.srv->port);
    given_pool_at(url, NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(lease_db(c), 3);
    redisconn_release(c);
}

Test(pool_errors, a_redis_url_password_authenticates)
{
    char url[128];
    rt_server_opts so = {.requirepass = "s3cret/@x"};
    given_server_with(&so);
    snprintf(url, sizeof(url), "redis://:s3cret%%2F%%40x@127.0.0.1:%d", env.srv->port);
    given_pool_at(url, given_options());
    redisconn_conn *c = rt_acquire_ok(&env);
    redisconn_release(c);
    cr_assert(strstr(env.log.buf, "s3cret") == NULL, "the password reached the log");
}

Test(pool_errors, a_redis_url_user_and_password_log_in_as_that_user)
{
    char url[128];
    rt_reply r;
    given_server_with(NULL);
    freeReplyObject(rt_cmd(env.srv, "ACL SETUSER alice on >pw-a ~* &* +@all"));
    snprintf(url, sizeof(url), "redis://alice:pw-a@127.0.0.1:%d", env.srv->port);
    given_pool_at(url, NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_command_wait(&env, c, &r, "ACL WHOAMI");
    cr_assert_str_eq(r.str, "alice");
    redisconn_release(c);
}

Test(pool_errors, a_unix_url_gives_the_socket_and_db)
{
    char url[400];
    rt_server_opts so = {.unix_socket = 1};
    given_server_with(&so);
    snprintf(url, sizeof(url), "unix://%s?db=2", env.srv->unix_addr + 5);
    given_pool_at(url, NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(lease_db(c), 2);
    redisconn_release(c);
}

Test(pool_errors, a_url_without_a_port_means_6379)
{
    redisconn_pool *p = redisconn_pool_new(env.base, "redis://localhost", 0);
    cr_assert_not_null(p);
    redisconn_pool_close(p, NULL, NULL);
    event_base_dispatch(env.base);
}

Test(pool_errors, host_and_port_as_a_url_is_not_an_ipv6_error)
{
    cr_assert(strstr(refusal("redis://127.0.0.1:99999", NULL), "port") != NULL);
    cr_assert(strstr(refusal("redis://127.0.0.1:99999", NULL), "IPv6") == NULL);
}

Test(pool_errors, rediss_is_refused_because_hiredis_has_no_tls)
{
    cr_assert_str_eq(refusal("rediss://127.0.0.1:6380", NULL),
                     "address \"rediss://127.0.0.1:6380\": TLS is not supported by hiredis "
                     "0.14 (rediss://)");
}

Test(pool_errors, a_missing_port_is_named)
{
    cr_assert_str_eq(refusal("localhost", NULL),
                     "address \"localhost\": missing port, expected \"host:port\"");
}

Test(pool_errors, a_refused_url_with_a_password_is_not_echoed)
{
    const char *why = refusal("redis://:hunter2@127.0.0.1:bad", NULL);
    cr_assert(strstr(why, "hunter2") == NULL, "%s", why);
    cr_assert(strstr(why, "port") != NULL, "%s", why);
}

Test(pool_errors, a_user_without_a_password_in_a_url_is_refused)
{
    cr_assert(strstr(refusal("redis://alice@127.0.0.1:6379", NULL), "needs a password") != NULL);
}

Test(pool_errors, a_url_db_that_is_not_a_number_is_refused)
{
    cr_assert(strstr(refusal("redis://127.0.0.1:6379/x", NULL), "db number") != NULL);
}

/* The reason for one bad option value, on a valid address. */
static const char *option_refusal(void (*set)(redisconn_pool_options *))
{
    static redisconn_pool_options o;
    redisconn_pool_options_init(&o);
    set(&o);
    return refusal("127.0.0.1:6379", &o);
}

static void wait_2(redisconn_pool_options *o)
{
    o->wait = 2;
}
static void log_level_9(redisconn_pool_options *o)
{
    o->log_level = 9;
}
static void shared_above_active(redisconn_pool_options *o)
{
    o->max_active = 2;
    o->max_shared = 3;
}
static void backoff_max_below_min(redisconn_pool_options *o)
{
    o->dial_backoff_min_ms = 500;
    o->dial_backoff_max_ms = 100;
}
static void negative_lifetime(redisconn_pool_options *o)
{
    o->max_conn_lifetime_ms = -3;
}

Test(pool_errors, wait_other_than_0_or_1_is_refused)
{
    cr_assert_str_eq(option_refusal(wait_2), "option wait must be 0 or 1 (got 2)");
}

Test(pool_errors, an_unknown_log_level_is_refused)
{
    cr_assert(strstr(option_refusal(log_level_9), "log_level") != NULL);
}

Test(pool_errors, max_shared_above_max_active_is_refused)
{
    cr_assert_str_eq(option_refusal(shared_above_active),
                     "option max_shared (3) must not exceed max_active (2)");
}

Test(pool_errors, a_back_off_maximum_below_its_minimum_is_refused)
{
    cr_assert(strstr(option_refusal(backoff_max_below_min), "dial_backoff_max_ms") != NULL);
}

Test(pool_errors, a_negative_lifetime_is_refused_with_its_value)
{
    cr_assert_str_eq(option_refusal(negative_lifetime),
                     "option max_conn_lifetime_ms must not be negative (got -3)");
}

Test(pool_errors, the_default_max_shared_fits_a_pool_of_one)
{
    redisconn_pool_options o;
    redisconn_error err;
    redisconn_pool_options_init(&o);
    o.max_active = 1;
    redisconn_pool *p = redisconn_pool_new_with_options(env.base, "127.0.0.1:6379", &o, &err);
    cr_assert_not_null(p, "%s", err.message);
    cr_assert_eq(err.status, REDISCONN_OK);
    cr_assert_str_eq(err.message, "");
    redisconn_pool_close(p, NULL, NULL);
    event_base_dispatch(env.base);
}
