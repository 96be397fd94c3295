/* SPDX-License-Identifier: BSD-3-Clause */
/* server_support.c: see server_support.h. */
#include "support/server_support.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

/* In ASan builds, children check for leaks before _exit() (which skips it). */
#if defined(__SANITIZE_ADDRESS__)
#define RT_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RT_LSAN 1
#endif
#endif
#ifdef RT_LSAN
#include <sanitizer/lsan_interface.h>
#endif

void rt_srv_env_init(rt_srv_env *e, int with_redis)
{
    memset(e, 0, sizeof(*e));
    signal(SIGPIPE, SIG_IGN);
    if (with_redis) e->redis = rt_server_start(NULL);
    e->base = event_base_new();
    cr_assert_not_null(e->base);
    redisconn_server_options_init(&e->opts);
    e->opts.http_addr = "127.0.0.1:0";
    e->opts.log_fn = rt_log_fn;
    e->opts.log_arg = &e->log;
    e->opts.log_level = REDISCONN_LOG_DEBUG;
    redisconn_module_options_init(&e->redis_opts);
    if (with_redis) e->redis_opts.redis_addr = e->redis->addr;
}

int rt_srv_env_start(rt_srv_env *e, const redisconn_module *const *mods, size_t n)
{
    e->srv = redisconn_server_new(e->base, &e->opts, mods, n);
    cr_assert_not_null(e->srv, "redisconn_server_new");
    return redisconn_server_start(e->srv);
}

void rt_srv_env_start_ok(rt_srv_env *e, const redisconn_module *const *mods, size_t n)
{
    int rc = rt_srv_env_start(e, mods, n);
    cr_assert_eq(rc, REDISCONN_OK, "start: %s (%s)", redisconn_strerror(rc),
                 redisconn_server_error(e->srv));
    cr_assert_gt(redisconn_server_port(e->srv), 0);
}

int rt_srv_env_start_redis(rt_srv_env *e)
{
    const redisconn_module *mods[1];
    e->redis_mod = redisconn_module_new(&e->redis_opts);
    cr_assert_not_null(e->redis_mod);
    mods[0] = e->redis_mod;
    return rt_srv_env_start(e, mods, 1);
}

static void on_shutdown(int status, void *arg)
{
    rt_srv_env *e = arg;
    e->shutdown_calls++;
    e->shutdown_status = status;
}

void rt_srv_env_shutdown(rt_srv_env *e)
{
    cr_assert_not_null(e->srv);
    cr_assert_eq(redisconn_server_shutdown(e->srv, on_shutdown, e), REDISCONN_OK);
    e->srv = NULL;
    cr_assert_eq(e->shutdown_calls, 0, "shutdown callback fired inside the call");
    cr_assert(rt_loop_until(e->base, &e->shutdown_calls, 15000), "shutdown did not complete");
    rt_loop_quiet(e->base, 10); /* a second completion would come now */
    cr_assert_eq(e->shutdown_calls, 1);
    cr_assert_eq(e->shutdown_status, REDISCONN_OK);
}

void rt_srv_env_fini(rt_srv_env *e)
{
    if (e->redis != NULL) rt_server_resume(e->redis);
    if (e->srv != NULL) rt_srv_env_shutdown(e);
    if (e->base != NULL) {
        /* Bounded: lets late listeners and pool frees run before the base goes
         * (nothing to wait for by name; a leak shows under ASan). */
        rt_loop_quiet(e->base, 10);
        event_base_free(e->base);
    }
    if (e->redis != NULL) rt_server_free(e->redis);
    redisconn_module_free(e->redis_mod);
    memset(e, 0, sizeof(*e));
}

int rt_srv_get(rt_srv_env *e, const char *path, char *body, size_t len)
{
    rt_http *h = rt_srv_fetch(e, "GET", path, NULL);
    int status = h->status;
    snprintf(body, len, "%s", h->body);
    rt_http_free(h);
    return status;
}

rt_http *rt_srv_fetch_raw(rt_srv_env *e, const char *method, const char *path, const char *headers,
                          const void *body, size_t len)
{
    rt_http *h = rt_http_fetch_raw(e->base, redisconn_server_port(e->srv), method, path, headers,
                                   body, len, 10000);
    cr_assert_not_null(h, "connect refused");
    cr_assert(h->done, "no response to %s %s", method, path);
    return h;
}

rt_http *rt_srv_fetch(rt_srv_env *e, const char *method, const char *path, const char *body)
{
    return rt_srv_fetch_raw(e, method, path, NULL, body, body ? strlen(body) : 0);
}

static void on_incr(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    redisconn_request *req = arg;
    if (status != REDISCONN_OK)
        redisconn_request_replyf(req, 500, "INCR: %s\n", redisconn_strerror(status));
    else if (reply->type == REDIS_REPLY_INTEGER)
        redisconn_request_replyf(req, 200, "count=%lld\n", reply->integer);
    else
        redisconn_request_replyf(req, 500, "INCR: %s\n", reply->str ? reply->str : "?");
    redisconn_release(conn);
}

static void on_count_conn(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    redisconn_request *req = arg;
    if (status == REDISCONN_ERR_NOT_CONFIGURED) {
        redisconn_request_replyf(req, 503,
                                 "Redis is not configured: start with -redis-addr host:port\n");
        return;
    }
    if (status != REDISCONN_OK) {
        redisconn_request_replyf(req, status == REDISCONN_ERR_DEADLINE ? 504 : 500, "%s\n",
                                 errmsg ? errmsg : redisconn_strerror(status));
        return;
    }
    if (redisconn_command(conn, on_incr, req, "INCR %s", "hello:count") != REDISCONN_OK) {
        redisconn_release(conn);
        redisconn_request_replyf(req, 500, "cannot send INCR\n");
    }
}

void rt_count_handler(redisconn_request *req, void *arg)
{
    (void)arg;
    if (redisconn_get(redisconn_request_ctx(req), on_count_conn, req) == NULL)
        redisconn_request_replyf(req, 500, "out of memory\n");
}

void rt_done_cb(redisconn_ctx *ctx, int err, void *arg)
{
    rt_done *d = arg;
    d->calls++;
    d->err = err;
    d->ctx = ctx;
    cr_assert_eq(redisconn_ctx_err(ctx), err, "listener error differs from ctx error");
}

void rt_never_done_cb(redisconn_ctx *ctx, int err, void *arg)
{
    (void)ctx;
    (void)arg;
    cr_assert_fail("done listener must not fire (err %d)", err);
}

pid_t rt_spawn(int (*fn)(void *arg), void *arg, const char *out_path)
{
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    cr_assert_geq(pid, 0, "fork");
    if (pid > 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (out_path != NULL) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
    }
    {
        int rc = fn(arg);
#ifdef RT_LSAN
        __lsan_do_leak_check(); /* exits non-zero on a leak */
#endif
        _exit(rc);
    }
}

int rt_wait_exit(pid_t pid, int timeout_ms)
{
    int64_t end = rt_now_ms() + timeout_ms;
    int st;
    while (rt_now_ms() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

long rt_read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n;
    if (f == NULL) return -1;
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return (long)n;
}

void rt_temp_path(char *buf, size_t len, const char *suffix)
{
    static int seq;
    const char *dir = getenv("REDISCONN_TEST_TMPDIR");
    if (dir == NULL || dir[0] == '\0') dir = "/tmp";
    mkdir(dir, 0700);
    snprintf(buf, len, "%s/server-test-%d-%d%s", dir, (int)getpid(), ++seq, suffix);
    unlink(buf);
}

void rt_write_temp_file(char *buf, size_t len, const char *text, mode_t mode)
{
    FILE *f;
    rt_temp_path(buf, len, ".txt");
    f = fopen(buf, "w");
    cr_assert_not_null(f, "cannot create %s", buf);
    cr_assert_eq(fputs(text, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(buf, mode), 0);
}
