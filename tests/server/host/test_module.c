/* SPDX-License-Identifier: BSD-3-Clause */
/* test_module.c — modules: the name registry, initialization in dependency
 * order, startup errors (missing dependency, cycle, unregistered or repeated
 * names, a failing initialize), values installed in the root context, module
 * flags, and cleanups run in reverse order (also asynchronous ones). */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "support/server_fixture.h"

static char trace[1024];

/* Appends to the trace of what ran, in order. */
static void note(const char *fmt, ...) REDISCONN_PRINTF(1, 2);
static void note(const char *fmt, ...)
{
    size_t len = strlen(trace);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(trace + len, sizeof(trace) - len, fmt, ap);
    va_end(ap);
}

static void rec_cleanup(redisconn_cleanup *c, void *arg)
{
    note("cleanup:%s ", (const char *)arg);
    redisconn_cleanup_done(c);
}

/* Initialize hook: records the call and registers a recording cleanup. */
static int rec_init(const redisconn_module *m, redisconn_ctx *ctx, redisconn_host *host,
                    redisconn_ctx **out)
{
    (void)ctx;
    (void)out;
    note("init:%s ", m->name);
    cr_assert_eq(redisconn_host_add_cleanup(host, rec_cleanup, (void *)m->name), REDISCONN_OK);
    return REDISCONN_OK;
}

static int failing_init(const redisconn_module *m, redisconn_ctx *ctx, redisconn_host *host,
                        redisconn_ctx **out)
{
    (void)m;
    (void)ctx;
    (void)out;
    note("init:failing ");
    redisconn_host_errorf(host, "boom %d", 42);
    return REDISCONN_ERR_CONNECT;
}

static int value_key;

static int value_init(const redisconn_module *m, redisconn_ctx *ctx, redisconn_host *host,
                      redisconn_ctx **out)
{
    (void)m;
    cr_assert_eq(redisconn_host_base(host), http_env.base);
    cr_assert_not_null(redisconn_host_metrics(host));
    cr_assert_eq(redisconn_host_metrics(host), redisconn_server_metrics(http_env.srv),
                 "the server's registry");
    *out = redisconn_ctx_with_value(ctx, &value_key, "installed", NULL);
    return REDISCONN_OK;
}

static void on_slow_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    note("cleanup-done:slow ");
    redisconn_cleanup_done(arg);
}

/* A cleanup that completes later, from a timer on the loop. */
static void slow_cleanup(redisconn_cleanup *c, void *arg)
{
    struct timeval tv = {0, 100000};
    (void)arg;
    note("cleanup-start:slow ");
    cr_assert_eq(event_base_once(http_env.base, -1, EV_TIMEOUT, on_slow_timer, c, &tv), 0);
}

static int slow_init(const redisconn_module *m, redisconn_ctx *ctx, redisconn_host *host,
                     redisconn_ctx **out)
{
    (void)m;
    (void)ctx;
    (void)out;
    return redisconn_host_add_cleanup(host, slow_cleanup, NULL);
}

static const char *greeting;
static int greeting_flags(const redisconn_module *m, redisconn_flagset *fs)
{
    (void)m;
    return redisconn_flags_string(fs, "greeting", &greeting, "hi", "what to say");
}

static const redisconn_module_dep on_a[] = {{"a", REDISCONN_DEP_REQUIRED}};
static const redisconn_module_dep on_b[] = {{"b", REDISCONN_DEP_REQUIRED}};
static const redisconn_module_dep on_r[] = {{"r", REDISCONN_DEP_REQUIRED}};
static const redisconn_module_dep opt_a[] = {{"a", REDISCONN_DEP_OPTIONAL}};
static const redisconn_module_dep on_cy2[] = {{"cy2", REDISCONN_DEP_REQUIRED}};
static const redisconn_module_dep on_cy1[] = {{"cy1", REDISCONN_DEP_REQUIRED}};
static const redisconn_module_dep on_self[] = {{"self", REDISCONN_DEP_REQUIRED}};

static const redisconn_module mod_a = {.name = "a", .initialize = rec_init};
static const redisconn_module mod_b = {
    .name = "b", .deps = on_a, .n_deps = 1, .initialize = rec_init};
static const redisconn_module mod_c = {
    .name = "c", .deps = on_b, .n_deps = 1, .initialize = rec_init};
static const redisconn_module mod_p = {
    .name = "p", .deps = on_r, .n_deps = 1, .initialize = rec_init};
static const redisconn_module mod_q = {.name = "q", .initialize = rec_init};
static const redisconn_module mod_r = {.name = "r", .initialize = rec_init};
static const redisconn_module mod_o = {
    .name = "o", .deps = opt_a, .n_deps = 1, .initialize = rec_init};
static const redisconn_module mod_cy1 = {.name = "cy1", .deps = on_cy2, .n_deps = 1};
static const redisconn_module mod_cy2 = {.name = "cy2", .deps = on_cy1, .n_deps = 1};
static const redisconn_module mod_self = {.name = "self", .deps = on_self, .n_deps = 1};
static const redisconn_module mod_failing = {
    .name = "failing", .deps = on_a, .n_deps = 1, .initialize = failing_init};
static const redisconn_module mod_values = {.name = "values", .initialize = value_init};
static const redisconn_module mod_slow = {.name = "slow", .initialize = slow_init};
static const redisconn_module mod_unregistered = {.name = "unregistered", .initialize = rec_init};
static const redisconn_module mod_greeting = {.name = "greeting", .register_flags = greeting_flags};

static void setup(void)
{
    static const char *const names[] = {"a",       "b",      "c",    "p",       "q",
                                        "r",       "o",      "cy1",  "cy2",     "self",
                                        "failing", "values", "slow", "greeting"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        cr_assert_not_null(redisconn_module_register_name(names[i]));
    trace[0] = '\0';
    given_http_env();
}

TestSuite(module, .init = setup, .fini = rt_http_env_teardown, .timeout = 20);

/* Starts with the given modules; returns the start status. */
static int start(const redisconn_module *const *mods, size_t n)
{
    return rt_srv_env_start(&http_env, mods, n);
}

#define START(...)                                                                                 \
    start((const redisconn_module *const[]){__VA_ARGS__},                                          \
          sizeof((const redisconn_module *const[]){__VA_ARGS__}) / sizeof(redisconn_module *))

Test(module, registered_name_has_a_stable_handle)
{
    const redisconn_module_name *h = redisconn_module_register_name("fresh-name");
    cr_assert_not_null(h);
    cr_assert_eq(redisconn_module_lookup_name("fresh-name"), h);
    cr_assert_str_eq(redisconn_module_name_str(h), "fresh-name");
    cr_assert_null(redisconn_module_lookup_name("never-registered"));
}

Test(module, registering_a_name_twice_fails)
{
    cr_assert_null(redisconn_module_register_name("a"));
    cr_assert_null(redisconn_module_register_name(""));
    cr_assert_null(redisconn_module_register_name(NULL));
}

Test(module, modules_initialize_after_their_dependencies)
{
    cr_assert_eq(START(&mod_c, &mod_b, &mod_a), REDISCONN_OK, "%s",
                 redisconn_server_error(http_env.srv));
    cr_assert_str_eq(trace, "init:a init:b init:c ");
}

Test(module, independent_modules_keep_the_given_order)
{
    cr_assert_eq(START(&mod_q, &mod_a, &mod_r), REDISCONN_OK);
    cr_assert_str_eq(trace, "init:q init:a init:r ");
}

Test(module, order_is_the_earliest_ready_module_first)
{
    /* p needs r: q is ready before p, r unblocks p. */
    cr_assert_eq(START(&mod_p, &mod_q, &mod_r), REDISCONN_OK);
    cr_assert_str_eq(trace, "init:q init:r init:p ");
}

Test(module, optional_dependency_orders_when_present)
{
    cr_assert_eq(START(&mod_o, &mod_a), REDISCONN_OK);
    cr_assert_str_eq(trace, "init:a init:o ");
}

Test(module, optional_dependency_may_be_absent)
{
    cr_assert_eq(START(&mod_o), REDISCONN_OK);
    cr_assert_str_eq(trace, "init:o ");
}

Test(module, missing_required_dependency_fails_startup_naming_both)
{
    cr_assert_eq(START(&mod_c, &mod_a), REDISCONN_ERR_INVALID);
    cr_assert_str_eq(redisconn_server_error(http_env.srv),
                     "module \"c\" requires module \"b\", which is not in the list");
    cr_assert_str_eq(trace, "", "nothing is initialized");
    cr_assert(strstr(http_env.log.buf, "startup failed: module \"c\" requires") != NULL, "%s",
              http_env.log.buf);
    cr_assert_eq(redisconn_server_port(http_env.srv), -1, "not listening");
}

Test(module, dependency_cycle_fails_startup_naming_the_modules)
{
    cr_assert_eq(START(&mod_a, &mod_cy1, &mod_cy2), REDISCONN_ERR_INVALID);
    cr_assert_str_eq(redisconn_server_error(http_env.srv), "dependency cycle: cy1 -> cy2 -> cy1");
    cr_assert_str_eq(trace, "");
}

Test(module, self_dependency_is_a_cycle)
{
    cr_assert_eq(START(&mod_self), REDISCONN_ERR_INVALID);
    cr_assert_str_eq(redisconn_server_error(http_env.srv), "dependency cycle: self -> self");
}

Test(module, unregistered_name_fails_startup)
{
    cr_assert_eq(START(&mod_unregistered), REDISCONN_ERR_INVALID);
    cr_assert(strstr(redisconn_server_error(http_env.srv), "\"unregistered\": name not registered"),
              "%s", redisconn_server_error(http_env.srv));
}

Test(module, module_listed_twice_fails_startup)
{
    cr_assert_eq(START(&mod_a, &mod_q, &mod_a), REDISCONN_ERR_INVALID);
    cr_assert_str_eq(redisconn_server_error(http_env.srv), "module \"a\" is listed twice");
}

Test(module, initialize_error_aborts_startup_with_the_module_name)
{
    cr_assert_eq(START(&mod_failing, &mod_a, &mod_q), REDISCONN_ERR_CONNECT);
    cr_assert_str_eq(redisconn_server_error(http_env.srv),
                     "module \"failing\" failed to initialize: cannot connect to Redis: boom 42");
    cr_assert_str_eq(trace, "init:a init:failing ", "q must not be initialized");
    cr_assert_eq(redisconn_server_port(http_env.srv), -1);
    rt_srv_env_shutdown(&http_env);
    cr_assert_str_eq(trace, "init:a init:failing cleanup:a ",
                     "cleanups registered before the failure run");
}

Test(module, cleanups_run_in_reverse_order_at_shutdown)
{
    cr_assert_eq(START(&mod_a, &mod_b, &mod_c), REDISCONN_OK);
    rt_srv_env_shutdown(&http_env);
    cr_assert_str_eq(trace, "init:a init:b init:c cleanup:c cleanup:b cleanup:a ");
}

Test(module, asynchronous_cleanup_completes_before_the_next_starts)
{
    cr_assert_eq(START(&mod_a, &mod_slow), REDISCONN_OK);
    rt_srv_env_shutdown(&http_env);
    cr_assert_str_eq(trace, "init:a cleanup-start:slow cleanup-done:slow cleanup:a ");
}

Test(module, cleanup_added_by_the_program_runs_first)
{
    cr_assert_eq(START(&mod_a), REDISCONN_OK);
    cr_assert_eq(
        redisconn_host_add_cleanup(redisconn_server_host(http_env.srv), rec_cleanup, "main"),
        REDISCONN_OK);
    rt_srv_env_shutdown(&http_env);
    cr_assert_str_eq(trace, "init:a cleanup:main cleanup:a ");
}

static void value_handler(redisconn_request *req, void *arg)
{
    const char *v = redisconn_ctx_value(redisconn_request_ctx(req), &value_key);
    (void)arg;
    redisconn_request_replyf(req, 200, "%s", v ? v : "(none)");
}

Test(module, initialize_installs_values_seen_by_every_request)
{
    rt_http *h;
    cr_assert_eq(START(&mod_values), REDISCONN_OK);
    cr_assert_str_eq(redisconn_ctx_value(redisconn_server_ctx(http_env.srv), &value_key),
                     "installed");
    cr_assert_eq(redisconn_server_route(http_env.srv, "GET", "/value", value_handler, NULL),
                 REDISCONN_OK);
    h = rt_srv_fetch(&http_env, "GET", "/value", NULL);
    cr_assert_eq(h->status, 200);
    cr_assert_str_eq(h->body, "installed");
    rt_http_free(h);
}

Test(module, server_main_registers_module_flags_before_parsing)
{
    char *argv[] = {"prog", "-help", NULL};
    const redisconn_module *mods[] = {&mod_greeting};
    FILE *out = tmpfile();
    char buf[4096];
    size_t n;
    redisconn_flags_set_output(redisconn_flags_commandline(), out);
    cr_assert_eq(redisconn_server_main(2, argv, mods, 1, NULL, NULL), 0);
    rewind(out);
    n = fread(buf, 1, sizeof(buf) - 1, out);
    buf[n] = '\0';
    fclose(out);
    cr_assert(strstr(buf, "  -greeting string\n    \twhat to say (default \"hi\")") != NULL, "%s",
              buf);
    cr_assert_str_eq(greeting, "hi");
}
