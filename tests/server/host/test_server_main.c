/* SPDX-License-Identifier: BSD-3-Clause */
/* test_server_main.c — redisconn_server_main() as a program, in a forked
 * child: serving, SIGTERM / SIGINT (in-flight request completed, cleanups
 * run, exit code 0), the Redis module from flags end to end (with a
 * password from a file or $REDIS_PASSWORD against a requirepass Redis: in
 * neither argv nor the log), the exit codes of bad flags, -help, failing
 * init and failing modules, and the server log's line format. */
#include <criterion/criterion.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "support/server_support.h"

static char trace_path[512]; /* what the child did, in order */
static char out_path[512];   /* the child's stdout + stderr */
static int port;

static void setup(void)
{
    rt_temp_path(trace_path, sizeof(trace_path), ".trace");
    rt_temp_path(out_path, sizeof(out_path), ".out");
    port = rt_free_port();
}

TestSuite(server_main, .init = setup, .timeout = 60);

/* Child side ------------------------------------------------------------- */

static void trace(const char *line)
{
    FILE *f = fopen(trace_path, "a");
    if (f == NULL) return;
    fprintf(f, "%s\n", line);
    fclose(f);
}

static void trace_cleanup(redisconn_cleanup *c, void *arg)
{
    trace(arg);
    redisconn_cleanup_done(c);
}

static int marker_init(const redisconn_module *m, redisconn_ctx *ctx, redisconn_host *host,
                       redisconn_ctx **out)
{
    (void)m;
    (void)ctx;
    (void)out;
    return redisconn_host_add_cleanup(host, trace_cleanup, "module-cleanup");
}

static const redisconn_module_dep marker_deps[] = {{REDISCONN_MODULE_NAME, REDISCONN_DEP_REQUIRED}};
static const redisconn_module marker = {
    .name = "marker", .deps = marker_deps, .n_deps = 1, .initialize = marker_init};

static void on_slow_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    trace("slow-replied");
    redisconn_request_replyf(arg, 200, "slow done\n");
}

/* Answers after 300 ms: long enough to be in flight when SIGTERM arrives. */
static void slow_handler(redisconn_request *req, void *arg)
{
    struct timeval tv = {0, 300000};
    trace("slow-started");
    event_base_once(arg, -1, EV_TIMEOUT, on_slow_timer, req, &tv);
}

struct child {
    char *argv[16];
    int argc;
    int init_rc;
};

static int child_init(redisconn_server *srv, void *arg)
{
    struct child *c = arg;
    redisconn_server_route(srv, "GET", "/", rt_count_handler, NULL);
    redisconn_server_route(srv, "GET", "/slow", slow_handler, redisconn_server_base(srv));
    redisconn_host_add_cleanup(redisconn_server_host(srv), trace_cleanup, "init-cleanup");
    return c->init_rc;
}

/* The program under test: the Redis module from flags, plus `marker`. */
static int child_main(void *arg)
{
    struct child *c = arg;
    redisconn_module *redis = redisconn_module_new_from_flags();
    const redisconn_module *mods[] = {&marker, redis};
    int rc;
    redisconn_module_register_name("marker");
    rc = redisconn_server_main(c->argc, c->argv, mods, 2, child_init, c);
    redisconn_module_free(redis);
    return rc;
}

/* Test side --------------------------------------------------------------- */

/* Runs child_main with "-http-addr 127.0.0.1:<port>" and `extra` arguments;
 * the child's init returns `init_rc`. */
static pid_t spawn_init(struct child *c, const char *const *extra, int init_rc)
{
    static char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    memset(c, 0, sizeof(*c));
    c->init_rc = init_rc;
    c->argv[c->argc++] = "hello_server";
    c->argv[c->argc++] = "-http-addr";
    c->argv[c->argc++] = addr;
    for (size_t i = 0; extra && extra[i] && c->argc < 15; i++)
        c->argv[c->argc++] = (char *)extra[i];
    return rt_spawn(child_main, c, out_path);
}

static pid_t spawn(struct child *c, const char *const *extra)
{
    return spawn_init(c, extra, REDISCONN_OK);
}

static const char *file_text(const char *path)
{
    static char buf[8192];
    if (rt_read_file(path, buf, sizeof(buf)) < 0) buf[0] = '\0';
    return buf;
}

/* Waits until the trace has `line`. */
static int wait_trace(const char *line, int timeout_ms)
{
    for (int64_t end = rt_now_ms() + timeout_ms; rt_now_ms() < end; usleep(10000))
        if (strstr(file_text(trace_path), line) != NULL) return 1;
    return 0;
}

/* What a graceful stop showed: the response to the request in flight (NULL
 * if none came in time; the caller frees it) and the exit code. The child's
 * trace and output stay in trace_path and out_path. */
typedef struct stopped {
    rt_http *response;
    int exit_code;
} stopped;

/* Starts the program, sends GET /slow (answered after 300 ms), and sends
 * `sig` while that request is in flight. */
static stopped stop_with_a_request_in_flight(int sig)
{
    struct child c;
    stopped r;
    pid_t pid = spawn(&c, NULL);
    cr_assert(rt_http_wait_ready(port, 10000), "server not up: %s", file_text(out_path));
    r.response = rt_http_send(port, "GET", "/slow", NULL);
    cr_assert_not_null(r.response);
    cr_assert(wait_trace("slow-started", 5000));
    kill(pid, sig);
    if (!rt_http_read(r.response, 5000)) {
        rt_http_free(r.response);
        r.response = NULL;
    }
    r.exit_code = rt_wait_exit(pid, 10000);
    return r;
}

static void expect_the_request_finished(const stopped *r)
{
    cr_assert_not_null(r->response, "the in-flight request got no response");
    cr_assert_eq(r->response->status, 200);
    cr_assert_str_eq(r->response->body, "slow done\n");
}

static void expect_the_cleanups_ran_after_it_in_reverse_order(void)
{
    cr_assert_str_eq(file_text(trace_path),
                     "slow-started\nslow-replied\ninit-cleanup\nmodule-cleanup\n");
}

static void expect_exit_0_after_shutdown(const stopped *r)
{
    cr_assert_eq(r->exit_code, 0, "%s", file_text(out_path));
    cr_assert(strstr(file_text(out_path), "shutdown complete") != NULL, "%s", file_text(out_path));
}

Test(server_main, sigterm_finishes_the_request_in_flight)
{
    stopped r = stop_with_a_request_in_flight(SIGTERM);
    expect_the_request_finished(&r);
    rt_http_free(r.response);
}

Test(server_main, sigterm_runs_the_cleanups_in_reverse_order_after_the_request)
{
    stopped r = stop_with_a_request_in_flight(SIGTERM);
    expect_the_cleanups_ran_after_it_in_reverse_order();
    rt_http_free(r.response);
}

Test(server_main, sigterm_exits_0_after_the_shutdown)
{
    stopped r = stop_with_a_request_in_flight(SIGTERM);
    expect_exit_0_after_shutdown(&r);
    rt_http_free(r.response);
}

Test(server_main, sigint_shuts_down_the_same_way)
{
    stopped r = stop_with_a_request_in_flight(SIGINT);
    expect_the_request_finished(&r);
    expect_the_cleanups_ran_after_it_in_reverse_order();
    expect_exit_0_after_shutdown(&r);
    rt_http_free(r.response);
}

Test(server_main, redis_module_from_flags_serves_counts_end_to_end)
{
    static const char *args[] = {"-redis-addr", NULL, "-redis-db=1", NULL};
    rt_server *redis = rt_server_start(NULL);
    struct child c;
    pid_t pid;
    args[1] = redis->addr;
    pid = spawn(&c, args);
    cr_assert(rt_http_wait_ready(port, 10000), "server not up: %s", file_text(out_path));
    for (int i = 1; i <= 3; i++) {
        char want[32];
        rt_http *h = rt_http_get(port, "/", 5000);
        snprintf(want, sizeof(want), "count=%d\n", i);
        cr_assert_not_null(h);
        cr_assert_eq(h->status, 200, "%d %s", h->status, h->body);
        cr_assert_str_eq(h->body, want);
        rt_http_free(h);
    }
    kill(pid, SIGTERM);
    cr_assert_eq(rt_wait_exit(pid, 10000), 0, "%s", file_text(out_path));
    cr_assert_eq(rt_clients(redis), 0, "the pool was not closed");
    rt_server_free(redis);
}

Test(server_main, without_redis_addr_the_count_route_answers_503)
{
    struct child c;
    rt_http *h;
    pid_t pid = spawn(&c, NULL);
    cr_assert(rt_http_wait_ready(port, 10000), "server not up: %s", file_text(out_path));
    h = rt_http_get(port, "/", 5000);
    cr_assert_eq(h->status, 503);
    cr_assert(strstr(h->body, "start with -redis-addr host:port") != NULL, "%s", h->body);
    rt_http_free(h);
    kill(pid, SIGTERM);
    cr_assert_eq(rt_wait_exit(pid, 10000), 0);
}

Test(server_main, unknown_flag_exits_2)
{
    static const char *args[] = {"-no-such-flag", NULL};
    struct child c;
    cr_assert_eq(rt_wait_exit(spawn(&c, args), 10000), 2);
    cr_assert(strstr(file_text(out_path), "flag provided but not defined: -no-such-flag"));
    cr_assert_str_eq(file_text(trace_path), "", "nothing ran");
}

Test(server_main, positional_argument_exits_2)
{
    static const char *args[] = {"serve", NULL};
    struct child c;
    cr_assert_eq(rt_wait_exit(spawn(&c, args), 10000), 2);
    cr_assert(strstr(file_text(out_path), "unexpected argument: serve"));
}

Test(server_main, help_exits_0)
{
    static const char *args[] = {"-help", NULL};
    struct child c;
    cr_assert_eq(rt_wait_exit(spawn(&c, args), 10000), 0);
}

Test(server_main, help_lists_the_server_and_module_flags)
{
    static const char *args[] = {"-help", NULL};
    struct child c;
    const char *out;
    rt_wait_exit(spawn(&c, args), 10000);
    out = file_text(out_path);
    cr_assert(strstr(out, "Usage of hello_server:"), "%s", out);
    cr_assert(strstr(out, "-http-addr string"), "%s", out);
    cr_assert(strstr(out, "-request-timeout duration"), "%s", out);
    cr_assert(strstr(out, "-shutdown-timeout duration"), "%s", out);
    cr_assert(strstr(out, "-redis-addr string"), "%s", out);
    cr_assert(strstr(out, "-redis-db int"), "%s", out);
}

Test(server_main, failing_init_exits_1_after_running_cleanups)
{
    struct child c;
    cr_assert_eq(rt_wait_exit(spawn_init(&c, NULL, REDISCONN_ERR_STATE), 10000), 1);
    cr_assert(strstr(file_text(out_path), "startup failed: init: operation not allowed"), "%s",
              file_text(out_path));
    cr_assert_str_eq(file_text(trace_path), "init-cleanup\nmodule-cleanup\n");
}

Test(server_main, failing_module_exits_1_naming_the_module)
{
    static const char *args[] = {"-redis-addr", "no-port", NULL};
    struct child c;
    cr_assert_eq(rt_wait_exit(spawn(&c, args), 10000), 1);
    cr_assert(strstr(file_text(out_path),
                     "module \"go.chromium.org/luci/server/redisconn\" failed to initialize"),
              "%s", file_text(out_path));
    cr_assert_str_eq(file_text(trace_path), "", "marker depends on redisconn: never initialized");
}

Test(server_main, port_in_use_exits_1)
{
    rt_srv_env env;
    struct child c;
    rt_srv_env_init(&env, 0);
    rt_srv_env_start_ok(&env, NULL, 0);
    port = redisconn_server_port(env.srv);
    cr_assert_eq(rt_wait_exit(spawn(&c, NULL), 10000), 1);
    cr_assert(strstr(file_text(out_path), "cannot listen on 127.0.0.1:"), "%s",
              file_text(out_path));
    rt_srv_env_fini(&env);
}

/* Every line of the child's output is a log line of the server log:
 * "<RFC 3339 UTC timestamp> <LEVEL> ...". (Lines of a sanitizer's runtime,
 * "==<pid>==...", are not the server's: under ASan the child may print them.) */
static void expect_log_lines_timestamped(const char *text)
{
    regex_t re;
    char line[1024], bad[1024] = "";
    int lines = 0;
    cr_assert_eq(regcomp(&re,
                         "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                         "(DEBUG|INFO|WARNING|ERROR) redisconn: ",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(line, sizeof(line), "%.*s", (int)n, p);
        p += n + (nl ? 1 : 0);
        if (strncmp(line, "==", 2) == 0) continue;
        if (regexec(&re, line, 0, NULL, 0) != 0 && bad[0] == '\0')
            snprintf(bad, sizeof(bad), "%s", line);
        lines++;
    }
    regfree(&re);
    cr_assert_str_eq(bad, "", "not a server log line: %s", bad);
    cr_assert_geq(lines, 2, "%s", text);
}

Test(server_main, log_lines_start_with_an_rfc3339_utc_timestamp_and_the_level)
{
    struct child c;
    pid_t pid = spawn(&c, NULL);
    cr_assert(rt_http_wait_ready(port, 10000), "server not up: %s", file_text(out_path));
    kill(pid, SIGTERM);
    cr_assert_eq(rt_wait_exit(pid, 10000), 0);
    expect_log_lines_timestamped(file_text(out_path));
}

#define SECRET "pw-5d1f0c7a9e3b"

/* A requirepass redis-server, and a child serving counts from it with
 * `args` (after -redis-addr); asserts one count, that neither the child's
 * command line nor its log holds the password, then stops everything. */
static void expect_counts_with_password(const char *const *args)
{
    static const char *all[8];
    rt_server_opts so = {.requirepass = SECRET};
    rt_server *redis = rt_server_start(&so);
    char cmdline[4096], path[64];
    long n;
    struct child c;
    pid_t pid;
    rt_http *h;
    all[0] = "-redis-addr";
    all[1] = redis->addr;
    for (size_t i = 0; i < 5 && args[i]; i++)
        all[2 + i] = args[i];
    pid = spawn(&c, all);
    cr_assert(rt_http_wait_ready(port, 10000), "server not up: %s", file_text(out_path));
    h = rt_http_get(port, "/", 5000);
    cr_assert_eq(h->status, 200, "%d %s", h->status, h->body);
    cr_assert_str_eq(h->body, "count=1\n");
    rt_http_free(h);
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    n = rt_read_file(path, cmdline, sizeof(cmdline));
    cr_assert_gt(n, 0);
    cr_assert_null(memmem(cmdline, (size_t)n, SECRET, strlen(SECRET)), "password in argv");
    kill(pid, SIGTERM);
    cr_assert_eq(rt_wait_exit(pid, 10000), 0);
    cr_assert_null(strstr(file_text(out_path), SECRET), "password in the log");
    rt_server_free(redis);
}

Test(server_main, password_file_authenticates_against_requirepass_redis)
{
    static char pw[512];
    static const char *args[] = {"-redis-password-file", pw, NULL};
    rt_write_temp_file(pw, sizeof(pw), SECRET "\n", 0600);
    expect_counts_with_password(args);
    unlink(pw);
}

Test(server_main, redis_password_env_authenticates_against_requirepass_redis)
{
    static const char *args[] = {NULL};
    cr_assert_eq(setenv("REDIS_PASSWORD", SECRET, 1), 0); /* inherited by the child */
    expect_counts_with_password(args);
}
