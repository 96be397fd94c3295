/* SPDX-License-Identifier: BSD-3-Clause */
/* test_admin.c — the Go package's admin service over pRPC,
 * POST /prpc/server.redisconn.Admin/FlushAll, on a server running in this
 * process with the Redis module, against a real redis-server, over real
 * HTTP: who may call it (bearer tokens from the token file, group
 * "administrators"), the request in JSON and in binary protobuf (bytes made
 * by Debian's protoc, fixtures/), pRPC's answers (HTTP status,
 * X-Prpc-Grpc-Code, Content-Type, the )]}' prefix, error bodies), FLUSHALL
 * ASYNC versus FLUSHALL as Redis saw them (SLOWLOG), that Redis is flushed
 * only for administrators, the token file checks that abort startup, and
 * the audit log (the Go line, never a token). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/server_fixture.h"

#define ADMIN "adm-4f1c9e2b7a5d8c3e0f6a1b2c3d4e5f60"
#define USER  "usr-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
#define BOGUS "bogus-00000000000000000000000000000"
#define TOKENS                                                                                     \
    "# identities of the admin service\n"                                                          \
    "\n"                                                                                           \
    "   # an indented comment\n" ADMIN " root administrators,ops\n" USER " alice ops\r\n"
#define PATH   "/prpc/server.redisconn.Admin/FlushAll"
#define JSON   "Content-Type: application/json\r\nAccept: application/json\r\n"
#define BINARY "Content-Type: application/prpc; encoding=binary\r\n"

static char tokens_path[512];

static void setup(void)
{
    given_http_env_with_redis();
    freeReplyObject(rt_cmd(http_env.redis, "MSET a 1 b 2 c 3"));
    freeReplyObject(rt_cmd(http_env.redis, "CONFIG SET slowlog-log-slower-than 0"));
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

/* POSTs `len` bytes of `body` with `token` as bearer (NULL: none) and the
 * header lines `headers`; asserts the HTTP status, the gRPC code and
 * pRPC's nosniff header. */
static rt_http *post(const char *path, const char *token, const char *headers, const void *body,
                     size_t len, int http, const char *code)
{
    char all[1024], got[64];
    rt_http *h;
    snprintf(all, sizeof(all), "%s%s%s%s", headers, token ? "Authorization: Bearer " : "",
             token ? token : "", token ? "\r\n" : "");
    h = rt_srv_fetch_raw(&http_env, "POST", path, all, body, len);
    cr_assert_eq(h->status, http, "%d %s", h->status, h->body);
    cr_assert_not_null(rt_http_header(h, "X-Prpc-Grpc-Code", got, sizeof(got)));
    cr_assert_str_eq(got, code);
    cr_assert_str_eq(rt_http_header(h, "X-Content-Type-Options", got, sizeof(got)), "nosniff");
    return h;
}

/* A JSON call of FlushAll. */
static rt_http *call(const char *token, const char *body, int http, const char *code)
{
    return post(PATH, token, JSON, body, strlen(body), http, code);
}

/* The bytes of fixtures/<name> into `buf`; returns their count. */
static size_t fixture(const char *name, unsigned char *buf, size_t len)
{
    char path[1024];
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "%s/%s", REDISCONN_ADMIN_FIXTURES, name);
    cr_assert_not_null(f = fopen(path, "rb"), "%s", path);
    n = fread(buf, 1, len, f);
    fclose(f);
    return n;
}

/* The FLUSHALL commands Redis ran, as "FLUSHALL" / "FLUSHALL ASYNC" lines. */
static const char *flushes_seen(void)
{
    static char seen[512];
    redisReply *r = rt_cmd(http_env.redis, "SLOWLOG GET 1000");
    seen[0] = '\0';
    cr_assert_not_null(r);
    for (size_t i = r->elements; i-- > 0;) {
        redisReply *args = r->element[i]->element[3];
        if (strcasecmp(args->element[0]->str, "FLUSHALL") != 0) continue;
        strcat(seen, args->elements > 1 ? "FLUSHALL ASYNC\n" : "FLUSHALL\n");
    }
    freeReplyObject(r);
    return seen;
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

Test(admin, no_authorization_header_is_403_not_an_admin)
{
    rt_http *h;
    start();
    h = call(NULL, "{\"async\": true}", 403, "7");
    cr_assert_str_eq(h->body, "not an admin\n");
    rt_http_free(h);
    expect_keys_kept();
}

Test(admin, unknown_token_is_403_permission_denied)
{
    start();
    rt_http_free(call(BOGUS, "{}", 403, "7"));
    expect_keys_kept();
}

Test(admin, non_admin_token_is_403_and_redis_is_untouched)
{
    start();
    rt_http_free(call(USER, "{\"async\": true}", 403, "7"));
    expect_keys_kept();
    cr_assert_str_eq(flushes_seen(), "");
}

Test(admin, basic_credentials_are_not_a_bearer_token)
{
    start();
    rt_http_free(post(PATH, NULL, JSON "Authorization: Basic " ADMIN "\r\n", "{}", 2, 403, "7"));
    expect_keys_kept();
}

Test(admin, json_async_true_answers_the_prefixed_empty_message_and_runs_flushall_async)
{
    char ctype[64];
    rt_http *h;
    start();
    h = call(ADMIN, "{\"async\": true}", 200, "0");
    cr_assert_str_eq(rt_http_header(h, "Content-Type", ctype, sizeof(ctype)), "application/json");
    cr_assert_str_eq(h->body, ")]}'\n{}\n");
    rt_http_free(h);
    cr_assert(rt_loop_until_pred(http_env.base, db_empty, NULL, 2000), "keys left: %lld", dbsize());
    cr_assert_str_eq(flushes_seen(), "FLUSHALL ASYNC\n");
}

Test(admin, json_async_false_runs_flushall)
{
    start();
    rt_http_free(call(ADMIN, "{\"async\": false}", 200, "0"));
    cr_assert_eq(dbsize(), 0);
    cr_assert_str_eq(flushes_seen(), "FLUSHALL\n");
}

Test(admin, json_empty_object_runs_flushall)
{
    start();
    rt_http_free(call(ADMIN, "{}", 200, "0"));
    cr_assert_str_eq(flushes_seen(), "FLUSHALL\n");
}

Test(admin, protoc_encoded_async_true_runs_flushall_async_and_answers_binary)
{
    unsigned char body[64];
    char ctype[64];
    size_t n = fixture("async_true.bin", body, sizeof(body));
    rt_http *h;
    start();
    h = post(PATH, ADMIN, BINARY, body, n, 200, "0");
    cr_assert_str_eq(rt_http_header(h, "Content-Type", ctype, sizeof(ctype)),
                     "application/prpc; encoding=binary");
    cr_assert_eq(h->body_len, 0, "google.protobuf.Empty is no bytes");
    rt_http_free(h);
    cr_assert(rt_loop_until_pred(http_env.base, db_empty, NULL, 2000));
    cr_assert_str_eq(flushes_seen(), "FLUSHALL ASYNC\n");
}

Test(admin, protoc_encoded_async_false_runs_flushall)
{
    unsigned char body[64];
    size_t n = fixture("async_false.bin", body, sizeof(body));
    start();
    rt_http_free(post(PATH, ADMIN, BINARY, body, n, 200, "0"));
    cr_assert_str_eq(flushes_seen(), "FLUSHALL\n");
}

Test(admin, protoc_encoded_later_message_with_unknown_fields_is_accepted)
{
    unsigned char body[256];
    size_t n = fixture("future_async_true.bin", body, sizeof(body));
    start();
    rt_http_free(post(PATH, ADMIN, BINARY, body, n, 200, "0"));
    cr_assert_str_eq(flushes_seen(), "FLUSHALL ASYNC\n");
}

Test(admin, no_content_type_is_binary_and_no_accept_answers_binary)
{
    static const unsigned char body[] = {0x08, 0x01};
    char ctype[64];
    rt_http *h;
    start();
    h = post(PATH, ADMIN, "", body, sizeof(body), 200, "0");
    cr_assert_str_eq(rt_http_header(h, "Content-Type", ctype, sizeof(ctype)),
                     "application/prpc; encoding=binary");
    rt_http_free(h);
    cr_assert_str_eq(flushes_seen(), "FLUSHALL ASYNC\n");
}

Test(admin, binary_request_with_json_accept_answers_json)
{
    static const unsigned char body[] = {0x08, 0x00};
    rt_http *h;
    start();
    h = post(PATH, ADMIN, BINARY "Accept: application/json\r\n", body, sizeof(body), 200, "0");
    cr_assert_str_eq(h->body, ")]}'\n{}\n");
    rt_http_free(h);
}

Test(admin, unsupported_content_type_is_415_and_redis_is_untouched)
{
    start();
    rt_http_free(post(PATH, ADMIN, "Content-Type: text/xml\r\n", "<x/>", 4, 415, "3"));
    expect_keys_kept();
}

Test(admin, unsupported_accept_is_406)
{
    start();
    rt_http_free(post(PATH, ADMIN, "Accept: text/html\r\n", "", 0, 406, "3"));
    expect_keys_kept();
}

Test(admin, undecodable_body_is_400_invalid_argument)
{
    rt_http *h;
    start();
    h = call(ADMIN, "{\"async\": \"yes\"}", 400, "3");
    cr_assert(strncmp(h->body, "could not decode body: ", 23) == 0, "%s", h->body);
    rt_http_free(h);
    expect_keys_kept();
}

Test(admin, redis_error_reply_is_400_with_the_go_message)
{
    rt_http *h;
    freeReplyObject(rt_cmd(http_env.redis, "ACL SETUSER default -flushall"));
    start();
    h = call(ADMIN, "{}", 400, "3");
    cr_assert_str_eq(h->body, "\"FLUSHALL\" command failed: NOPERM this user has no "
                              "permissions to run the 'flushall' command\n");
    rt_http_free(h);
    expect_keys_kept();
}

Test(admin, redis_down_is_500_internal_with_the_details_in_the_log_only)
{
    rt_http *h;
    start();
    rt_server_stop(http_env.redis);
    h = call(ADMIN, "{}", 500, "13");
    cr_assert_str_eq(h->body, "Internal Server Error\n");
    rt_http_free(h);
    cr_assert(strstr(http_env.log.buf, "[3] prpc: responding with Internal error: failed to get "
                                       "redis connection: ") != NULL,
              "%s", http_env.log.buf);
}

Test(admin, another_method_of_the_service_is_501_unimplemented)
{
    start();
    rt_http_free(
        post("/prpc/server.redisconn.Admin/FlushAllAsync", ADMIN, JSON, "{}", 2, 501, "12"));
    cr_assert(strstr(http_env.log.buf, "method \"FlushAllAsync\" in service "
                                       "\"server.redisconn.Admin\" is not implemented") != NULL,
              "%s", http_env.log.buf);
    expect_keys_kept();
}

Test(admin, the_invented_path_is_gone)
{
    rt_http *h;
    start();
    h = rt_srv_fetch_raw(&http_env, "POST", "/prpc/redisconn.Admin/FlushAllAsync",
                         "Authorization: Bearer " ADMIN "\r\n", "{}", 2);
    cr_assert_eq(h->status, 404);
    rt_http_free(h);
    expect_keys_kept();
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

Test(admin, without_redis_the_service_is_not_served)
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
    cr_assert(
        strstr(err, "module \"go.chromium.org/luci/server/redisconn\" failed to initialize") !=
            NULL,
        "%s", err);
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
    rt_http_free(call(ADMIN, "{\"async\": true}", 200, "0"));
}

Test(admin, an_administrators_call_is_logged_as_the_go_server_logs_it)
{
    call_as_everyone();
    cr_assert(strstr(http_env.log.buf, "[2] Redis admin: \"root\" is calling \"FLUSHALL\"\n") !=
                  NULL,
              "%s", http_env.log.buf);
}

Test(admin, refused_calls_are_logged_with_the_identity)
{
    call_as_everyone();
    cr_assert(strstr(http_env.log.buf, "[2] Redis admin: \"anonymous:anonymous\" (no bearer "
                                       "token) is not an admin: FlushAll refused\n") != NULL,
              "%s", http_env.log.buf);
    cr_assert(strstr(http_env.log.buf, "\"anonymous:anonymous\" (unknown token) is not an admin") !=
              NULL);
    cr_assert(strstr(http_env.log.buf, "[2] Redis admin: \"alice\" is not an admin") != NULL);
    cr_assert(strstr(http_env.log.buf,
                     "[2] prpc: responding with PermissionDenied error: not an admin\n") != NULL);
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
