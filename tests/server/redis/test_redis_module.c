/* SPDX-License-Identifier: BSD-3-Clause */
/* test_redis_module.c — the Redis module (the seed's NewModule /
 * NewModuleFromFlags) in a server in this process, against a real
 * redis-server: nothing without an address, a pool in the root context with
 * one, flags with the seed's help texts, concurrent requests, and the pool
 * closed at shutdown. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/server_fixture.h"

static redisconn_module *mod;
static redisconn_module_options opts;

static void setup(void)
{
    given_http_env_with_redis();
    redisconn_module_options_init(&opts);
    opts.redis_addr = http_env.redis->addr;
    mod = NULL;
}

static void teardown(void)
{
    rt_http_env_teardown();
    redisconn_module_free(mod);
}

TestSuite(redis_module, .init = setup, .fini = teardown, .timeout = 30);

/* Starts a server with `m` and the count handler on GET /. */
static int start_with(redisconn_module *m)
{
    const redisconn_module *mods[] = {m};
    int rc;
    mod = m;
    cr_assert_not_null(m);
    rc = rt_srv_env_start(&http_env, mods, 1);
    if (rc == REDISCONN_OK)
        cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/", rt_count_handler, NULL),
                     REDISCONN_OK);
    return rc;
}

static void expect_count(int n)
{
    char want[32];
    rt_http *h = rt_srv_fetch(&http_env, "GET", "/", NULL);
    snprintf(want, sizeof(want), "count=%d\n", n);
    cr_assert_eq(h->status, 200, "%d %s", h->status, h->body);
    cr_assert_str_eq(h->body, want);
    rt_http_free(h);
}

Test(redis_module, name_is_the_go_module_name)
{
    cr_assert_str_eq(REDISCONN_MODULE_NAME, "go.chromium.org/luci/server/redisconn");
}

Test(redis_module, registers_its_name_once)
{
    mod = redisconn_module_new(NULL);
    cr_assert_not_null(mod);
    cr_assert_str_eq(mod->name, REDISCONN_MODULE_NAME);
    cr_assert_not_null(redisconn_module_lookup_name(REDISCONN_MODULE_NAME));
    cr_assert_null(redisconn_module_register_name(REDISCONN_MODULE_NAME), "a duplicate");
    redisconn_module_free(mod);
    mod = redisconn_module_new(NULL);
    cr_assert_not_null(mod, "a second instance reuses the library's registration");
}

Test(redis_module, without_an_address_installs_no_pool)
{
    rt_http *h;
    cr_assert_eq(start_with(redisconn_module_new(NULL)), REDISCONN_OK);
    cr_assert_null(redisconn_get_pool(redisconn_server_ctx(http_env.srv)));
    h = rt_srv_fetch(&http_env, "GET", "/", NULL);
    cr_assert_eq(h->status, 503);
    cr_assert_str_eq(h->body, "Redis is not configured: start with -redis-addr host:port\n");
    rt_http_free(h);
}

Test(redis_module, with_an_address_installs_a_pool_that_serves_requests)
{
    cr_assert_eq(start_with(redisconn_module_new(&opts)), REDISCONN_OK);
    cr_assert_not_null(redisconn_get_pool(redisconn_server_ctx(http_env.srv)));
    expect_count(1);
    expect_count(2);
    expect_count(3);
}

Test(redis_module, pool_selects_the_configured_db)
{
    redisContext *c;
    redisReply *r;
    opts.redis_db = 5;
    cr_assert_eq(start_with(redisconn_module_new(&opts)), REDISCONN_OK);
    expect_count(1);
    c = redisConnect("127.0.0.1", http_env.redis->port);
    cr_assert(c && !c->err);
    freeReplyObject(redisCommand(c, "SELECT 5"));
    r = redisCommand(c, "GET hello:count");
    cr_assert_str_eq(r->str, "1");
    freeReplyObject(r);
    freeReplyObject(redisCommand(c, "SELECT 0"));
    r = redisCommand(c, "EXISTS hello:count");
    cr_assert_eq(r->integer, 0);
    freeReplyObject(r);
    redisFree(c);
}

Test(redis_module, twenty_concurrent_requests_are_all_answered)
{
    rt_http *h[20];
    int seen[21] = {0}, port, done;
    cr_assert_eq(start_with(redisconn_module_new(&opts)), REDISCONN_OK);
    port = redisconn_server_port(http_env.srv);
    for (int i = 0; i < 20; i++) {
        h[i] = rt_http_send(port, "GET", "/", NULL);
        cr_assert_not_null(h[i]);
    }
    for (int i = 0; i < 20; i++)
        rt_http_watch(h[i], http_env.base);
    for (int64_t end = rt_now_ms() + 10000; rt_now_ms() < end;) {
        done = 0;
        for (int i = 0; i < 20; i++)
            done += h[i]->done;
        if (done == 20) break;
        event_base_loop(http_env.base, EVLOOP_ONCE);
    }
    for (int i = 0; i < 20; i++) {
        int n = 0;
        cr_assert(h[i]->done, "request %d unanswered", i);
        cr_assert_eq(h[i]->status, 200, "request %d: %d %s", i, h[i]->status, h[i]->body);
        cr_assert_eq(sscanf(h[i]->body, "count=%d", &n), 1);
        cr_assert(n >= 1 && n <= 20 && !seen[n], "count %d twice or out of range", n);
        seen[n] = 1;
        rt_http_free(h[i]);
    }
}

Test(redis_module, shutdown_closes_the_pool)
{
    cr_assert_eq(start_with(redisconn_module_new(&opts)), REDISCONN_OK);
    expect_count(1);
    cr_assert_eq(rt_clients(http_env.redis), 1);
    rt_srv_env_shutdown(&http_env);
    rt_await(http_env.base, rt_clients(http_env.redis) == 0, 50);
    cr_assert_eq(rt_clients(http_env.redis), 0, "the pool's connection is still open");
}

Test(redis_module, malformed_address_aborts_startup_naming_the_module)
{
    opts.redis_addr = "no-port-here";
    cr_assert_eq(start_with(redisconn_module_new(&opts)), REDISCONN_ERR_INVALID);
    cr_assert_str_eq(
        redisconn_server_error(http_env.srv),
        "module \"go.chromium.org/luci/server/redisconn\" failed to initialize: invalid argument: "
        "cannot use Redis at \"no-port-here\", db 0: address \"no-port-here\": "
        "missing port, expected \"host:port\"");
}

Test(redis_module, negative_db_aborts_startup)
{
    opts.redis_db = -1;
    cr_assert_eq(start_with(redisconn_module_new(&opts)), REDISCONN_ERR_INVALID);
}

Test(redis_module, options_register_the_seed_flags_and_help_texts)
{
    redisconn_flagset *fs = redisconn_flags_new("x");
    redisconn_module_options o;
    FILE *out = tmpfile();
    char buf[2048];
    size_t n;
    redisconn_module_options_init(&o);
    cr_assert_eq(redisconn_module_options_register(&o, fs), REDISCONN_OK);
    redisconn_flags_usage(fs, out);
    rewind(out);
    n = fread(buf, 1, sizeof(buf) - 1, out);
    buf[n] = '\0';
    /* The Go package's flags print exactly as Go's flag.PrintDefaults does. */
    cr_assert(strstr(buf, "  -redis-addr string\n    \tRedis server to connect to as "
                          "\"host:port\" (optional, Redis calls won't work if not given)\n"
                          "  -redis-blobcache-prefix string\n") != NULL,
              "%s", buf);
    cr_assert(strstr(buf, "  -redis-db int\n    \tIndex of a logical Redis DB to use by default "
                          "(default is 0)\n  -redis-password-file string\n") != NULL,
              "%s", buf);
    cr_assert(strstr(buf, "(keys are <prefix><namespace>:<key>) (default \"luci.blobcache.\")\n") !=
                  NULL,
              "%s", buf);
    fclose(out);
    redisconn_flags_free(fs);
}

Test(redis_module, options_are_read_when_the_server_starts)
{
    redisconn_flagset *fs = redisconn_flags_new("x");
    redisconn_module_options o;
    char *argv[] = {"x", "-redis-addr", http_env.redis->addr, "--redis-db=2", NULL};
    redisconn_module_options_init(&o);
    cr_assert_eq(redisconn_module_options_register(&o, fs), REDISCONN_OK);
    mod = redisconn_module_new(&o); /* before the flags are parsed, as in Go */
    cr_assert_eq(redisconn_flags_parse(fs, 4, argv), REDISCONN_OK);
    cr_assert_eq(start_with(mod), REDISCONN_OK);
    expect_count(1);
    rt_srv_env_shutdown(&http_env);
    redisconn_flags_free(fs);
}

Test(redis_module, new_from_flags_uses_the_commandline_set)
{
    redisconn_flagset *cl = redisconn_flags_commandline();
    mod = redisconn_module_new_from_flags();
    cr_assert_not_null(mod);
    cr_assert_null(redisconn_module_new_from_flags(), "the flags exist already");
    cr_assert_eq(redisconn_flags_set(cl, "redis-addr", http_env.redis->addr), REDISCONN_OK);
    cr_assert_eq(start_with(mod), REDISCONN_OK);
    expect_count(1);
}
