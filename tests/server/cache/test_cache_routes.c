/* SPDX-License-Identifier: BSD-3-Clause */
/* test_cache_routes.c — the /cache routes of samples/hello_server.c (the
 * handlers of samples/hello_cache.c, compiled in) on a server running in
 * this process, over real HTTP: with the default in-process cache and with
 * the Redis module against a real redis-server. */
#include <criterion/criterion.h>
#include <string.h>

#include "hello_cache.h"
#include "support/server_fixture.h"

TestSuite(cache_routes, .init = given_http_env_with_redis, .fini = rt_http_env_teardown,
          .timeout = 30);

/* Starts the server with the Redis module (`with_redis`: configured) and
 * the sample's two routes. */
static void start(int with_redis)
{
    if (!with_redis) http_env.redis_opts.redis_addr = NULL;
    cr_assert_eq(rt_srv_env_start_redis(&http_env), REDISCONN_OK);
    cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/cache/*", hello_cache_get, NULL),
                 REDISCONN_OK);
    cr_assert_eq(redisconn_server_route(http_env.srv, "PUT", "/cache/*", hello_cache_put, NULL),
                 REDISCONN_OK);
}

/* A request; asserts the status, returns the response (caller frees). */
static rt_http *call(const char *method, const char *path, const void *body, size_t len, int want)
{
    rt_http *h = rt_srv_fetch_raw(&http_env, method, path, NULL, body, len);
    cr_assert_eq(h->status, want, "%s %s: %d %s", method, path, h->status, h->body);
    return h;
}

/* PUT `value`, asserting 204 and an empty body. */
static void put(const char *path, const char *value)
{
    rt_http *h = call("PUT", path, value, strlen(value), 204);
    cr_assert_eq(h->body_len, 0);
    rt_http_free(h);
}

/* GET, asserting 200, the content type and exactly `len` bytes `want`. */
static void get_ok(const char *path, const void *want, size_t len)
{
    char ctype[64];
    rt_http *h = call("GET", path, NULL, 0, 200);
    cr_assert_str_eq(rt_http_header(h, "Content-Type", ctype, sizeof(ctype)),
                     "application/octet-stream");
    cr_assert_eq(h->body_len, len);
    cr_assert_eq(memcmp(h->body, want, len), 0);
    rt_http_free(h);
}

/* GET or PUT answered with `want`. */
static void expect_status(const char *method, const char *path, int want)
{
    rt_http_free(call(method, path, method[0] == 'P' ? "v" : NULL, method[0] == 'P', want));
}

Test(cache_routes, put_then_get_returns_the_bytes_from_the_default_cache)
{
    start(0);
    put("/cache/greeting", "hello from the blob cache");
    get_ok("/cache/greeting", "hello from the blob cache", 25);
}

Test(cache_routes, get_of_an_absent_key_is_404)
{
    start(0);
    expect_status("GET", "/cache/missing", 404);
}

Test(cache_routes, binary_body_round_trips_byte_for_byte)
{
    const char val[] = {0, 'x', '\r', '\n', 0, (char)0xfe};
    rt_http *h;
    start(0);
    h = call("PUT", "/cache/bin", val, sizeof(val), 204);
    rt_http_free(h);
    get_ok("/cache/bin", val, sizeof(val));
}

/* GETs `path` again and again until it answers 404 or `timeout_ms` passed. */
static int route_misses_within(const char *path, int timeout_ms)
{
    int64_t end = rt_now_ms() + timeout_ms;
    do {
        rt_http *h = rt_srv_fetch(&http_env, "GET", path, NULL);
        int status = h->status;
        rt_http_free(h);
        if (status == 404) return 1;
    } while (rt_now_ms() < end);
    return 0;
}

Test(cache_routes, ttl_ms_expires_the_entry)
{
    start(0);
    put("/cache/short?ttl_ms=100", "v");
    get_ok("/cache/short", "v", 1);
    cr_assert(route_misses_within("/cache/short", 250), "not expired in 250 ms");
    expect_status("GET", "/cache/short", 404);
}

Test(cache_routes, bad_ttl_ms_is_400)
{
    start(0);
    expect_status("PUT", "/cache/k?ttl_ms=-5", 400);
    expect_status("PUT", "/cache/k?ttl_ms=soon", 400);
    expect_status("PUT", "/cache/k?ttl_ms=", 400);
    expect_status("GET", "/cache/k", 404);
}

Test(cache_routes, missing_key_is_400)
{
    start(0);
    expect_status("GET", "/cache/", 400);
    expect_status("PUT", "/cache/", 400);
}

Test(cache_routes, with_redis_the_value_is_stored_in_redis)
{
    redisReply *r;
    start(1);
    put("/cache/greeting", "hi");
    r = rt_cmd(http_env.redis, "GET %s", "luci.blobcache." HELLO_CACHE_NAMESPACE ":greeting");
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    cr_assert_str_eq(r->str, "hi");
    freeReplyObject(r);
    get_ok("/cache/greeting", "hi", 2);
}

Test(cache_routes, with_redis_get_of_an_absent_key_is_404)
{
    start(1);
    expect_status("GET", "/cache/missing", 404);
}

Test(cache_routes, with_redis_down_get_is_503_not_404)
{
    start(1);
    rt_server_stop(http_env.redis);
    expect_status("GET", "/cache/k", 503);
}

Test(cache_routes, with_redis_down_put_is_503)
{
    start(1);
    rt_server_stop(http_env.redis);
    expect_status("PUT", "/cache/k", 503);
}

Test(cache_routes, with_redis_stalled_the_request_deadline_answers_504)
{
    http_env.opts.request_timeout_ms = 200;
    start(1);
    put("/cache/k", "v"); /* the pool has a connection */
    rt_server_pause(http_env.redis);
    expect_status("GET", "/cache/k", 504);
}
