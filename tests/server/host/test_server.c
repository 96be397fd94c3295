/* SPDX-License-Identifier: BSD-3-Clause */
/* test_server.c — the evhttp host in this process, over real loopback HTTP:
 * routing, request fields, asynchronous replies, per-request deadlines (504),
 * request contexts, and the graceful shutdown (drain, 503, listener closed). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "support/server_fixture.h"

TestSuite(server, .init = given_http_env, .fini = rt_http_env_teardown, .timeout = 30);

/* Replies with what the request carried. */
static void echo_handler(redisconn_request *req, void *arg)
{
    size_t len;
    const char *body = redisconn_request_body(req, &len);
    const char *x = redisconn_request_query(req, "x"), *y = redisconn_request_query(req, "y");
    (void)arg;
    redisconn_request_replyf(req, 200, "%s %s x=%s y=%s hdr=%s body=%s(%zu)",
                             redisconn_request_method(req), redisconn_request_path(req),
                             x ? x : "-", y ? y : "-",
                             redisconn_request_header(req, "x-test") ? "yes" : "no", body, len);
}

/* Replies with its `arg` (a route label). */
static void label_handler(redisconn_request *req, void *arg)
{
    redisconn_request_replyf(req, 200, "%s", (const char *)arg);
}

/* Keeps the request unanswered in `stash` for the test to reply later. */
static redisconn_request *stash;
static int stash_calls;
static void stash_handler(redisconn_request *req, void *arg)
{
    (void)arg;
    stash = req;
    stash_calls++;
}

static void start_with(const char *method, const char *path, redisconn_handler_fn h, void *arg)
{
    rt_srv_env_start_ok(&http_env, NULL, 0);
    cr_assert_eq(redisconn_server_route(http_env.srv, method, path, h, arg), REDISCONN_OK);
}

/* Fetches and checks status and body. */
static void expect(const char *method, const char *path, const char *body, int status,
                   const char *want)
{
    rt_http *h = rt_srv_fetch(&http_env, method, path, body);
    cr_assert_eq(h->status, status, "%s %s: %d %s", method, path, h->status, h->body);
    if (want) cr_assert_str_eq(h->body, want, "%s %s", method, path);
    rt_http_free(h);
}

Test(server, healthz_answers_ok)
{
    rt_srv_env_start_ok(&http_env, NULL, 0);
    expect("GET", "/healthz", NULL, 200, "ok");
}

Test(server, handler_sees_method_path_query_headers_and_body)
{
    start_with("POST", "/echo", echo_handler, NULL);
    expect("POST", "/echo?x=1&y=a%20b", "hello", 200, "POST /echo x=1 y=a b hdr=yes body=hello(5)");
}

Test(server, path_is_percent_decoded)
{
    start_with("GET", "/files/*", echo_handler, NULL);
    expect("GET", "/files/a%20b", NULL, 200, "GET /files/a b x=- y=- hdr=yes body=(0)");
}

Test(server, prefix_route_matches_everything_below_it)
{
    start_with("GET", "/cache/*", label_handler, "cache");
    expect("GET", "/cache/", NULL, 200, "cache");
    expect("GET", "/cache/a/b", NULL, 200, "cache");
    expect("GET", "/cache", NULL, 404, NULL);
    expect("GET", "/cachet", NULL, 404, NULL);
}

/* Three GET routes: the prefixes "/a/" ("short") and "/a/b/" ("long"), and
 * the exact path "/a/b/c" ("exact"). */
static void start_with_nested_routes(void)
{
    start_with("GET", "/a/*", label_handler, "short");
    cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/a/b/*", label_handler, "long"),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/a/b/c", label_handler, "exact"),
                 REDISCONN_OK);
}

Test(server, longest_prefix_route_wins)
{
    start_with_nested_routes();
    expect("GET", "/a/x", NULL, 200, "short");
    expect("GET", "/a/b/x", NULL, 200, "long");
}

Test(server, exact_route_beats_a_prefix)
{
    start_with_nested_routes();
    expect("GET", "/a/b/c", NULL, 200, "exact");
}

Test(server, unknown_path_is_404)
{
    rt_srv_env_start_ok(&http_env, NULL, 0);
    expect("GET", "/nope", NULL, 404, "not found\n");
}

Test(server, known_path_with_another_method_is_405)
{
    start_with("POST", "/only-post", label_handler, "x");
    expect("GET", "/only-post", NULL, 405, "method not allowed\n");
}

Test(server, route_registration_rejects_bad_routes)
{
    rt_srv_env_start_ok(&http_env, NULL, 0);
    cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/healthz", label_handler, NULL),
                 REDISCONN_ERR_INVALID, "duplicate");
    cr_assert_eq(redisconn_server_route(http_env.srv, "FETCH", "/x", label_handler, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "x", label_handler, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/x*", label_handler, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/*/x", label_handler, NULL),
                 REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/x", NULL, NULL),
                 REDISCONN_ERR_INVALID);
}

static void on_reply_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cr_assert_eq(redisconn_request_replyf(arg, 200, "later"), REDISCONN_OK);
}

static void later_handler(redisconn_request *req, void *arg)
{
    struct timeval tv = {0, 50000};
    (void)arg;
    stash_calls++;
    cr_assert_eq(event_base_once(http_env.base, -1, EV_TIMEOUT, on_reply_timer, req, &tv), 0);
}

Test(server, handler_may_reply_later_from_the_loop)
{
    start_with("GET", "/later", later_handler, NULL);
    expect("GET", "/later", NULL, 200, "later");
    cr_assert_eq(stash_calls, 1);
}

static void header_handler(redisconn_request *req, void *arg)
{
    (void)arg;
    cr_assert_eq(redisconn_request_set_header(req, "X-Custom", "v1"), REDISCONN_OK);
    cr_assert_eq(redisconn_request_set_header(req, "Bad", "a\r\nb"), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_request_reply(req, 999, NULL, NULL, 0), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_request_reply(req, 201, "application/json", "{}", 2), REDISCONN_OK);
}

Test(server, reply_sends_status_content_type_and_headers)
{
    char buf[128];
    rt_http *h;
    start_with("PUT", "/h", header_handler, NULL);
    h = rt_srv_fetch(&http_env, "PUT", "/h", "x");
    cr_assert_eq(h->status, 201);
    cr_assert_str_eq(h->body, "{}");
    cr_assert_str_eq(rt_http_header(h, "content-type", buf, sizeof(buf)), "application/json");
    cr_assert_str_eq(rt_http_header(h, "X-Custom", buf, sizeof(buf)), "v1");
    rt_http_free(h);
}

static void long_handler(redisconn_request *req, void *arg)
{
    char big[1000];
    (void)arg;
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    redisconn_request_replyf(req, 200, "%s!", big);
}

Test(server, replyf_formats_bodies_of_any_length)
{
    rt_http *h;
    start_with("GET", "/long", long_handler, NULL);
    h = rt_srv_fetch(&http_env, "GET", "/long", NULL);
    cr_assert_eq(h->status, 200);
    cr_assert_eq(h->body_len, 1000);
    cr_assert_eq(h->body[999], '!');
    rt_http_free(h);
}

Test(server, unanswered_request_gets_504_at_its_deadline)
{
    rt_http *h;
    http_env.opts.request_timeout_ms = 150;
    start_with("GET", "/stuck", stash_handler, NULL);
    h = rt_srv_fetch(&http_env, "GET", "/stuck", NULL);
    cr_assert_eq(h->status, 504);
    cr_assert_str_eq(h->body, "request deadline exceeded\n");
    cr_assert_eq(redisconn_ctx_err(redisconn_request_ctx(stash)), REDISCONN_ERR_DEADLINE);
    cr_assert_eq(redisconn_request_replyf(stash, 200, "too late"), REDISCONN_ERR_DEADLINE,
                 "the late reply says why it was dropped");
    rt_http_free(h);
}

static rt_done ctx_done;
static void watch_then_reply(redisconn_request *req, void *arg)
{
    int64_t deadline = 0;
    redisconn_ctx *ctx = redisconn_request_ctx(req);
    (void)arg;
    cr_assert(redisconn_ctx_deadline(ctx, &deadline));
    cr_assert_gt(deadline, redisconn_ctx_now_ms(ctx) + 50000, "the 60 s request timeout");
    cr_assert_not_null(redisconn_ctx_on_done(ctx, rt_done_cb, &ctx_done));
    redisconn_request_replyf(req, 200, "ok");
}

Test(server, reply_cancels_the_request_context)
{
    http_env.opts.request_timeout_ms = 60000;
    start_with("GET", "/w", watch_then_reply, NULL);
    expect("GET", "/w", NULL, 200, "ok");
    cr_assert(rt_loop_until(http_env.base, &ctx_done.calls, 1000));
    cr_assert_eq(ctx_done.err, REDISCONN_ERR_CANCELED);
    rt_loop_quiet(http_env.base, 20); /* a second callback would come now */
    cr_assert_eq(ctx_done.calls, 1);
}

Test(server, reply_after_the_client_left_is_consumed_without_harm)
{
    rt_http *h;
    start_with("GET", "/stuck", stash_handler, NULL);
    h = rt_http_send(redisconn_server_port(http_env.srv), "GET", "/stuck", NULL);
    cr_assert_not_null(h);
    cr_assert(rt_loop_until(http_env.base, &stash_calls, 2000));
    rt_http_free(h); /* the client hangs up; evhttp only notices when it writes */
    /* Bounded, both: the hang-up reaches the server first, then the reply is
     * written into the dead connection; evhttp shows neither. */
    rt_loop_quiet(http_env.base, 50);
    cr_assert_eq(redisconn_request_replyf(stash, 200, "nobody listens"), REDISCONN_OK);
    rt_loop_quiet(http_env.base, 50);
    rt_srv_env_shutdown(&http_env);
    cr_assert_null(strstr(http_env.log.buf, "still in flight"), "%s", http_env.log.buf);
}

Test(server, shutdown_lets_an_in_flight_request_finish)
{
    rt_http *h;
    start_with("GET", "/later", later_handler, NULL);
    h = rt_http_send(redisconn_server_port(http_env.srv), "GET", "/later", NULL);
    rt_http_watch(h, http_env.base);
    cr_assert(rt_loop_until(http_env.base, &stash_calls, 2000));
    rt_srv_env_shutdown(&http_env); /* returns once the shutdown completed */
    cr_assert(h->done, "the response did not arrive before the shutdown completed");
    cr_assert_eq(h->status, 200);
    cr_assert_str_eq(h->body, "later");
    rt_http_free(h);
}

static void count_done(int status, void *arg)
{
    (void)status;
    ++*(int *)arg;
}

Test(server, shutdown_closes_the_listener_at_once)
{
    int port, done = 0;
    rt_srv_env_start_ok(&http_env, NULL, 0);
    port = redisconn_server_port(http_env.srv);
    cr_assert_eq(redisconn_server_shutdown(http_env.srv, count_done, &done), REDISCONN_OK);
    cr_assert_null(rt_http_send(port, "GET", "/healthz", NULL), "still accepting");
    cr_assert_eq(redisconn_server_shutdown(http_env.srv, NULL, NULL), REDISCONN_ERR_STATE);
    http_env.srv = NULL;
    cr_assert(rt_loop_until(http_env.base, &done, 5000), "the shutdown did not complete");
}

Test(server, shutdown_answers_503_when_a_request_outlives_the_timeout)
{
    rt_http *h;
    http_env.opts.shutdown_timeout_ms = 200;
    start_with("GET", "/stuck", stash_handler, NULL);
    h = rt_http_send(redisconn_server_port(http_env.srv), "GET", "/stuck", NULL);
    rt_http_watch(h, http_env.base);
    cr_assert(rt_loop_until(http_env.base, &stash_calls, 2000));
    rt_srv_env_shutdown(&http_env);
    rt_loop_until(http_env.base, &h->done, 1000);
    cr_assert_eq(h->status, 503);
    cr_assert(strstr(http_env.log.buf, "requests still in flight after the shutdown timeout") !=
                  NULL,
              "%s", http_env.log.buf);
    cr_assert_eq(redisconn_ctx_err(redisconn_request_ctx(stash)), REDISCONN_ERR_CANCELED);
    cr_assert_eq(redisconn_request_replyf(stash, 200, "too late"), REDISCONN_ERR_CANCELED);
    rt_http_free(h);
}

Test(server, start_fails_on_a_malformed_http_addr)
{
    http_env.opts.http_addr = "localhost";
    cr_assert_eq(rt_srv_env_start(&http_env, NULL, 0), REDISCONN_ERR_INVALID);
    cr_assert_str_eq(redisconn_server_error(http_env.srv),
                     "bad -http-addr \"localhost\": want host:port");
}

Test(server, start_fails_when_the_port_is_taken)
{
    rt_srv_env other;
    char addr[64];
    rt_srv_env_start_ok(&http_env, NULL, 0);
    rt_srv_env_init(&other, 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", redisconn_server_port(http_env.srv));
    other.opts.http_addr = addr;
    cr_assert_eq(rt_srv_env_start(&other, NULL, 0), REDISCONN_ERR_IO);
    cr_assert(strstr(redisconn_server_error(other.srv), "cannot listen on 127.0.0.1:") != NULL,
              "%s", redisconn_server_error(other.srv));
    rt_srv_env_fini(&other);
}

Test(server, server_new_rejects_bad_options)
{
    redisconn_server_options o;
    const redisconn_module *null_mod[] = {NULL};
    redisconn_server_options_init(&o);
    o.request_timeout_ms = -1;
    cr_assert_null(redisconn_server_new(http_env.base, &o, NULL, 0));
    cr_assert_null(redisconn_server_new(NULL, NULL, NULL, 0));
    cr_assert_null(redisconn_server_new(http_env.base, NULL, null_mod, 1));
}
