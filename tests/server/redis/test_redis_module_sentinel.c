/* SPDX-License-Identifier: BSD-3-Clause */
/* test_redis_module_sentinel.c — the Redis module given a sentinel:// address
 * (in its options, and as -redis-addr on the command line) serves requests
 * from the master the sentinels name. A real master, replica and sentinel
 * (support/sentinel_support.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/expo.h"
#include "support/sentinel_support.h"
#include "support/server_fixture.h"

static rt_sentinel_env sent;
static redisconn_module *mod;
static redisconn_module_options opts;

static void setup(void)
{
    rt_sentinel_opts so = {NULL, NULL, 1};
    given_http_env();
    rt_sentinels_start(&sent, &so);
    redisconn_module_options_init(&opts);
    mod = NULL;
}

static void teardown(void)
{
    rt_http_env_teardown();
    redisconn_module_free(mod);
    rt_sentinels_stop(&sent);
}

TestSuite(redis_module_sentinel, .init = setup, .fini = teardown, .timeout = 40);

static void start_with(redisconn_module *m)
{
    const redisconn_module *mods[] = {m};
    mod = m;
    cr_assert_not_null(m);
    rt_srv_env_start_ok(&http_env, mods, 1);
    cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/", rt_count_handler, NULL),
                 REDISCONN_OK);
}

/* GET / answers count=1, and the counter is on the master. */
static void expect_count_on_the_master(void)
{
    rt_http *h = rt_srv_fetch(&http_env, "GET", "/", NULL);
    redisReply *r;
    cr_assert_eq(h->status, 200, "%d %s", h->status, h->body);
    cr_assert_str_eq(h->body, "count=1\n");
    rt_http_free(h);
    r = rt_cmd(sent.master, "GET hello:count");
    cr_assert(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "1") == 0,
              "the counter is not on the master");
    freeReplyObject(r);
}

Test(redis_module_sentinel, a_sentinel_url_in_the_options_serves_requests_from_the_master)
{
    opts.redis_addr = sent.url;
    start_with(redisconn_module_new(&opts));
    expect_count_on_the_master();
}

Test(redis_module_sentinel, a_sentinel_url_as_redis_addr_flag_serves_requests_from_the_master)
{
    redisconn_flagset *fs = redisconn_flags_new("x");
    redisconn_module_options o;
    char *argv[] = {"x", "-redis-addr", sent.url, NULL};
    redisconn_module_options_init(&o);
    cr_assert_eq(redisconn_module_options_register(&o, fs), REDISCONN_OK);
    mod = redisconn_module_new(&o);
    cr_assert_eq(redisconn_flags_parse(fs, 3, argv), REDISCONN_OK);
    start_with(mod);
    expect_count_on_the_master();
    rt_srv_env_shutdown(&http_env);
    redisconn_flags_free(fs);
}

/* The module's pool's failovers_total sample in GET /metrics (-1 if absent). */
static double scraped_failovers(void)
{
    static rt_expo ex; /* large: not on the stack */
    const rt_sample *s;
    rt_http *h = rt_srv_fetch(&http_env, "GET", "/metrics", NULL);
    cr_assert_eq(h->status, 200, "%d %s", h->status, h->body);
    rt_expo_parse(h->body, &ex);
    rt_http_free(h);
    s = rt_expo_find(&ex, "redis_pool_failovers_total{pool=\"default\"}");
    return s ? s->value : -1;
}

Test(redis_module_sentinel, a_failover_the_pool_followed_shows_in_the_failovers_metric)
{
    opts.redis_addr = sent.url;
    start_with(redisconn_module_new(&opts));
    expect_count_on_the_master(); /* the pool knows the master and watches */
    cr_assert_eq(scraped_failovers(), 0);
    rt_sentinels_failover_begin(&sent, 0);
    for (int i = 0; i < 150 && scraped_failovers() < 1; i++)
        rt_loop_quiet(http_env.base, 100); /* the pool hears +switch-master */
    cr_assert_eq(scraped_failovers(), 1);
    rt_sentinels_failover_end(&sent, 15000);
}
