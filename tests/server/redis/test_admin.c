/* SPDX-License-Identifier: BSD-3-Clause */
/* test_admin.c — POST /prpc/redisconn.Admin/FlushAllAsync on a server running
 * in this process with the Redis module, against a real redis-server, over
 * real HTTP: who may call it (bearer tokens from the token file, group
 * "administrators"), the pRPC answers (status, X-Prpc-Grpc-Code, body),
 * that Redis is flushed only for administrators, the token file checks that
 * abort startup, and the audit log (identity, outcome, never a token). */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/server_fixture.h"

#define ADMIN "adm-4f1c9e2b7a5d8c3e0f6a1b2c3d4e5f60"
#define USER  "usr-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
#define BOGUS "bogus-00000000000000000000000000000"
#define TOKENS                                                                                     \
    "# identities of the admin endpoint\n"                                                         \
    "\n"                                                                                           \
    "   # an indented comment\n" ADMIN " root administrators,ops\n" USER " alice ops\r\n"
#define PATH "/prpc/redisconn.Admin/FlushAllAsync"

static char tokens_path[512];

static void setup(void)
{
    given_http_env_with_redis();
    freeReplyObject(rt_cmd(http_env.redis, "MSET a 1 b 2 c 3"));
}

static void teardown(void)
{
    rt_http_env_teardown();
    if (tokens_path[0] != '\0') unlink(tokens_path);
}

TestSuite(admin, .init = setup, .fini = teardown, .timeout = 30);

/* Starts the server with the Redis module reading `file` (NULL: none). */
static int start_with(const char *file)
{
    http_env.redis_opts.admin_tokens_file = file;
    return rt_srv_env_start_redis(&http_env);
}

/* A private token file with TOKENS, and a server reading it. */
static void start(void)
{
    int rc;
    rt_write_temp_file(tokens_path, sizeof(tokens_path), TOKENS, 0600);
    rc = start_with(tokens_path);
    cr_assert_eq(rc, REDISCONN_OK, "%s", redisconn_server_error(http_env.srv));
}

/* POSTs `body` with `token` as bearer (NULL: no Authorization header) and
 * asserts the HTTP status and the gRPC code. */
static rt_http *call(const char *token, const char *body, int http, const char *code)
{
    char headers[512], got[16];
    rt_http *h;
    headers[0] = '\0';
    if (token != NULL) snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", token);
    h = rt_srv_fetch_raw(&http_env, "POST", PATH, headers, body, strlen(body));
    cr_assert_eq(h->status, http, "%d %s", h->status, h->body);
    cr_assert_not_null(rt_http_header(h, "X-Prpc-Grpc-Code", got, sizeof(got)));
    cr_assert_str_eq(got, code);
    return h;
}

static long long dbsize(void)
{
    redisReply *r = rt_cmd(http_env.redis, "DBSIZE");
    long long n;
    cr_assert_not_null(r);
    n = r->integer;
    freeReplyObject(r);
    return n;
}

static int db_empty(void *arg)
{
    (void)arg;
    return dbsize() == 0;
}

/* The keys are still there. Bounded: a FLUSHALL ASYNC sent by mistake would
 * have emptied the database within this time. */
static void expect_keys_kept(void)
{
    rt_loop_quiet(http_env.base, 50);
    cr_assert_eq(dbsize(), 3, "Redis was flushed");
}

Test(admin, no_authorization_header_is_403_permission_denied)
{
    start();
    rt_http_free(call(NULL, "{}", 403, "7"));
    expect_keys_kept();
}

Test(admin, unknown_token_is_403_permission_denied)
{
    start();
    rt_http_free(call(BOGUS, "{}", 403, "7"));
    expect_keys_kept();
}

Test(admin, non_admin_token_is_403_permission_denied)
{
    start();
    rt_http_free(call(USER, "{}", 403, "7"));
}

Test(admin, non_admin_token_does_not_flush_redis)
{
    start();
    rt_http_free(call(USER, "{}", 403, "7"));
    expect_keys_kept();
}

Test(admin, basic_credentials_are_not_a_bearer_token)
{
    rt_http *h;
    start();
    h = rt_srv_fetch_raw(&http_env, "POST", PATH, "Authorization: Basic " ADMIN "\r\n", "{}", 2);
    cr_assert_eq(h->status, 403);
    rt_http_free(h);
    expect_keys_kept();
}

Test(admin, admin_token_answers_the_empty_message)
{
    char ctype[64];
    rt_http *h;
    start();
    h = call(ADMIN, "{}", 200, "0");
    cr_assert_str_eq(rt_http_header(h, "Content-Type", ctype, sizeof(ctype)), "application/json");
    cr_assert_str_eq(h->body, "{}");
    rt_http_free(h);
}

Test(admin, admin_token_flushes_redis)
{
    start();
    rt_http_free(call(ADMIN, "{}", 200, "0"));
    cr_assert(rt_loop_until_pred(http_env.base, db_empty, NULL, 2000), "keys left: %lld", dbsize());
}

Test(admin, empty_body_is_the_empty_message)
{
    start();
    rt_http_free(call(ADMIN, "", 200, "0"));
    cr_assert(rt_loop_until_pred(http_env.base, db_empty, NULL, 2000));
}

Test(admin, other_message_is_400_invalid_argument)
{
    start();
    rt_http_free(call(ADMIN, "{\"async\": false}", 400, "3"));
}

Test(admin, other_message_does_not_flush_redis)
{
    start();
    rt_http_free(call(ADMIN, "{\"async\": false}", 400, "3"));
    expect_keys_kept();
}

Test(admin, redis_error_reply_is_400_invalid_argument)
{
    freeReplyObject(rt_cmd(http_env.redis, "ACL SETUSER default -flushall"));
    start();
    rt_http_free(call(ADMIN, "{}", 400, "3"));
    expect_keys_kept();
}

Test(admin, redis_down_is_500_internal)
{
    start();
    rt_server_stop(http_env.redis);
    rt_http_free(call(ADMIN, "{}", 500, "13"));
}

Test(admin, get_is_405)
{
    rt_http *h;
    start();
    h = rt_srv_fetch(&http_env, "GET", PATH, NULL);
    cr_assert_eq(h->status, 405);
    rt_http_free(h);
}

Test(admin, without_a_token_file_nobody_is_an_administrator)
{
    cr_assert_eq(start_with(NULL), REDISCONN_OK);
    rt_http_free(call(ADMIN, "{}", 403, "7"));
    expect_keys_kept();
}

Test(admin, without_redis_the_endpoint_is_not_served)
{
    rt_http *h;
    http_env.redis_opts.redis_addr = NULL;
    cr_assert_eq(start_with(NULL), REDISCONN_OK);
    h = rt_srv_fetch_raw(&http_env, "POST", PATH, "Authorization: Bearer " ADMIN "\r\n", "{}", 2);
    cr_assert_eq(h->status, 404);
    rt_http_free(h);
}

/* Startup with a token file of `text` and `mode` fails; returns the error. */
static const char *start_fails(const char *text, mode_t mode)
{
    rt_write_temp_file(tokens_path, sizeof(tokens_path), text, mode);
    cr_assert_eq(start_with(tokens_path), REDISCONN_ERR_INVALID);
    return redisconn_server_error(http_env.srv);
}

Test(admin, world_readable_token_file_is_a_startup_error)
{
    const char *err = start_fails(TOKENS, 0644);
    cr_assert(strstr(err, "is accessible by group or others (mode 0644)") != NULL, "%s", err);
    cr_assert(strstr(err, "module \"redisconn\" failed to initialize") != NULL, "%s", err);
}

Test(admin, group_readable_token_file_is_a_startup_error)
{
    const char *err = start_fails(TOKENS, 0640);
    cr_assert(strstr(err, "is accessible by group or others (mode 0640)") != NULL, "%s", err);
}

Test(admin, malformed_line_is_a_startup_error_naming_its_number_not_its_text)
{
    const char *err = start_fails("# ok\n" ADMIN " root administrators\n" USER " alice\n", 0600);
    cr_assert(strstr(err, ", line 3: want \"token identity group[,group...]\"") != NULL, "%s", err);
    cr_assert_null(strstr(err, USER));
    cr_assert_null(strstr(http_env.log.buf, USER), "the token was logged");
}

Test(admin, duplicate_token_is_a_startup_error)
{
    const char *err = start_fails(ADMIN " a x\n" ADMIN " b y\n", 0600);
    cr_assert(strstr(err, "line 2: same token as line 1") != NULL, "%s", err);
}

Test(admin, missing_token_file_is_a_startup_error)
{
    cr_assert_eq(start_with("/nonexistent/tokens.txt"), REDISCONN_ERR_INVALID);
    cr_assert(strstr(redisconn_server_error(http_env.srv), "cannot open admin tokens file") !=
              NULL);
}

/* One call by each kind of caller: none, unknown, user, administrator. */
static void call_as_everyone(void)
{
    start();
    rt_http_free(call(NULL, "{}", 403, "7"));
    rt_http_free(call(BOGUS, "{}", 403, "7"));
    rt_http_free(call(USER, "{}", 403, "7"));
    rt_http_free(call(ADMIN, "{}", 200, "0"));
}

Test(admin, every_call_is_logged_as_a_warning_with_identity_and_outcome)
{
    call_as_everyone();
    cr_assert(strstr(http_env.log.buf,
                     "[2] admin: redisconn.Admin/FlushAllAsync called by anonymous "
                     "(no bearer token): PermissionDenied") != NULL,
              "%s", http_env.log.buf);
    cr_assert(strstr(http_env.log.buf, "called by anonymous (unknown token): PermissionDenied") !=
              NULL);
    cr_assert(strstr(http_env.log.buf, "[2] admin: redisconn.Admin/FlushAllAsync called by alice: "
                                       "PermissionDenied") != NULL);
    cr_assert(strstr(http_env.log.buf,
                     "[2] admin: redisconn.Admin/FlushAllAsync called by root: OK") != NULL);
}

Test(admin, tokens_never_appear_in_the_log)
{
    call_as_everyone();
    rt_srv_env_shutdown(&http_env);
    cr_assert_gt(http_env.log.lines, 4);
    cr_assert_null(strstr(http_env.log.buf, ADMIN));
    cr_assert_null(strstr(http_env.log.buf, USER));
    cr_assert_null(strstr(http_env.log.buf, BOGUS));
}
