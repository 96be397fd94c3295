/* SPDX-License-Identifier: BSD-3-Clause */
/* test_redis_auth.c — the Redis module's AUTH (-redis-username,
 * -redis-password-file, $REDIS_PASSWORD) and its pool's log, in a server in
 * this process against a real redis-server started with --requirepass:
 * counts work with the file, with the environment, with an ACL user; a
 * password file readable by group or others, empty or missing aborts
 * startup; the password never reaches the log; the pool's messages do. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/server_fixture.h"

#define SECRET "pw-a71c3e5f"
#define WRONG  "wrong-b9d2e4f6"

static char pw_path[512];

static void setup(void)
{
    rt_server_opts so = {.requirepass = SECRET};
    given_http_env();
    http_env.redis = rt_server_start(&so); /* freed by the fixture's teardown */
    http_env.redis_opts.redis_addr = http_env.redis->addr;
    unsetenv("REDIS_PASSWORD");
}

static void teardown(void)
{
    rt_http_env_teardown();
    if (pw_path[0] != '\0') unlink(pw_path);
}

TestSuite(redis_auth, .init = setup, .fini = teardown, .timeout = 30);

/* The module reads a password file holding `text` with `mode`. */
static void given_password_file(const char *text, mode_t mode)
{
    rt_write_temp_file(pw_path, sizeof(pw_path), text, mode);
    http_env.redis_opts.redis_password_file = pw_path;
}

/* Starts the server with the module and the count handler on GET /. */
static int start(void)
{
    int rc = rt_srv_env_start_redis(&http_env);
    if (rc == REDISCONN_OK)
        cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/", rt_count_handler, NULL),
                     REDISCONN_OK);
    return rc;
}

/* GET / answers `status`; returns the body's first bytes (static). */
static const char *get_count(int status)
{
    static char body[256];
    rt_http *h = rt_srv_fetch(&http_env, "GET", "/", NULL);
    cr_assert_eq(h->status, status, "%d %s", h->status, h->body);
    snprintf(body, sizeof(body), "%s", h->body);
    rt_http_free(h);
    return body;
}

Test(redis_auth, password_file_first_line_authenticates)
{
    given_password_file(SECRET "\nsecond line ignored\n", 0600);
    cr_assert_eq(start(), REDISCONN_OK, "%s", redisconn_server_error(http_env.srv));
    cr_assert_str_eq(get_count(200), "count=1\n");
}

Test(redis_auth, crlf_line_end_is_not_part_of_the_password)
{
    given_password_file(SECRET "\r\n", 0400);
    cr_assert_eq(start(), REDISCONN_OK);
    cr_assert_str_eq(get_count(200), "count=1\n");
}

Test(redis_auth, redis_password_env_authenticates)
{
    setenv("REDIS_PASSWORD", SECRET, 1);
    cr_assert_eq(start(), REDISCONN_OK);
    cr_assert_str_eq(get_count(200), "count=1\n");
}

Test(redis_auth, the_file_wins_over_the_environment)
{
    setenv("REDIS_PASSWORD", WRONG, 1);
    given_password_file(SECRET "\n", 0600);
    cr_assert_eq(start(), REDISCONN_OK);
    cr_assert_str_eq(get_count(200), "count=1\n");
}

Test(redis_auth, acl_user_and_password_authenticate_as_that_user)
{
    redisReply *r;
    freeReplyObject(rt_cmd(http_env.redis, "ACL SETUSER app on >apppw ~* +@all"));
    freeReplyObject(rt_cmd(http_env.redis, "CONFIG SET requirepass %s", "unused-" SECRET));
    http_env.redis->opts.requirepass = "unused-" SECRET; /* for rt_cmd */
    given_password_file("apppw\n", 0600);
    http_env.redis_opts.redis_username = "app";
    cr_assert_eq(start(), REDISCONN_OK);
    cr_assert_str_eq(get_count(200), "count=1\n");
    r = rt_cmd(http_env.redis, "CLIENT LIST");
    cr_assert(strstr(r->str, "user=app") != NULL, "%s", r->str);
    freeReplyObject(r);
}

Test(redis_auth, without_a_password_redis_refuses_the_pool)
{
    cr_assert_eq(start(), REDISCONN_OK);
    get_count(500);
}

/* Startup fails with the password file; returns the error. */
static const char *start_fails(void)
{
    cr_assert_eq(start(), REDISCONN_ERR_INVALID);
    return redisconn_server_error(http_env.srv);
}

Test(redis_auth, group_readable_password_file_aborts_startup)
{
    const char *err;
    given_password_file(SECRET "\n", 0640);
    err = start_fails();
    cr_assert(strstr(err, "Redis password file \"") != NULL, "%s", err);
    cr_assert(strstr(err, "is accessible by group or others (mode 0640)") != NULL, "%s", err);
    cr_assert_null(strstr(err, SECRET));
}

Test(redis_auth, world_readable_password_file_aborts_startup)
{
    given_password_file(SECRET "\n", 0604);
    cr_assert(strstr(start_fails(), "(mode 0604)") != NULL);
}

Test(redis_auth, empty_password_file_aborts_startup)
{
    given_password_file("\nsecond\n", 0600);
    cr_assert(strstr(start_fails(), "its first line is empty") != NULL);
}

Test(redis_auth, missing_password_file_aborts_startup)
{
    http_env.redis_opts.redis_password_file = "/nonexistent/pw";
    cr_assert(strstr(start_fails(), "cannot open Redis password file \"/nonexistent/pw\"") != NULL);
}

Test(redis_auth, a_wrong_password_is_never_logged_but_the_pool_failure_is)
{
    given_password_file(WRONG "\n", 0600);
    cr_assert_eq(start(), REDISCONN_OK);
    get_count(500);
    rt_srv_env_shutdown(&http_env);
    cr_assert_null(strstr(http_env.log.buf, WRONG), "%s", http_env.log.buf);
    cr_assert(strstr(http_env.log.buf, "redisconn: cannot connect to") != NULL, "%s",
              http_env.log.buf);
}
