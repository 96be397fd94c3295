/* SPDX-License-Identifier: BSD-3-Clause */
/* redis_server.c: real redis-server processes for the tests. */
#include "support/support.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void make_dir(rt_server *s)
{
    const char *base = getenv("REDISCONN_TEST_TMPDIR");
    if (base == NULL || base[0] == '\0') base = "/tmp";
    mkdir(base, 0700);
    snprintf(s->dir, sizeof(s->dir), "%s/redisconn-test-XXXXXX", base);
    cr_assert_not_null(mkdtemp(s->dir), "mkdtemp(%s): %s", s->dir, strerror(errno));
}

/* A sentinel: its config file (which it rewrites) holds the monitor lines. */
static void exec_sentinel(const rt_server *s)
{
    char conf[300], port[16], logfile[300];
    FILE *f;
    snprintf(conf, sizeof(conf), "%s/sentinel.conf", s->dir);
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(logfile, sizeof(logfile), "%s/sentinel.log", s->dir);
    f = fopen(conf, "w");
    if (f == NULL) _exit(126);
    fprintf(f, "%s\n", s->opts.sentinel_conf);
    fclose(f);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execlp("redis-server", "redis-server", conf, "--sentinel", "--port", port, "--bind",
           "127.0.0.1", "--dir", s->dir, "--logfile", logfile, "--daemonize", "no", (char *)NULL);
    _exit(127);
}

static void exec_server(const rt_server *s)
{
    const char *argv[48];
    char port[16], maxclients[16], sock[300], logfile[300];
    int n = 0;
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(logfile, sizeof(logfile), "%s/redis.log", s->dir);
    argv[n++] = "redis-server";
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "no";
    argv[n++] = "--dir";
    argv[n++] = s->dir;
    argv[n++] = "--logfile";
    argv[n++] = logfile;
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    argv[n++] = "--enable-debug-command";
    argv[n++] = "local";
    if (s->opts.requirepass) {
        argv[n++] = "--requirepass";
        argv[n++] = s->opts.requirepass;
    }
    if (s->opts.maxclients > 0) {
        snprintf(maxclients, sizeof(maxclients), "%d", s->opts.maxclients);
        argv[n++] = "--maxclients";
        argv[n++] = maxclients;
    }
    if (s->opts.unix_socket) {
        snprintf(sock, sizeof(sock), "%s/redis.sock", s->dir);
        argv[n++] = "--unixsocket";
        argv[n++] = sock;
        argv[n++] = "--unixsocketperm";
        argv[n++] = "700";
    }
    for (int i = 0; i < 8 && s->opts.extra[i]; i++)
        argv[n++] = s->opts.extra[i];
    argv[n] = NULL;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execvp("redis-server", (char *const *)argv);
    _exit(127);
}

static redisContext *connect_sync(const rt_server *s)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    if (c == NULL || c->err) {
        if (c) redisFree(c);
        return NULL;
    }
    if (s->opts.requirepass) {
        redisReply *r = redisCommand(c, "AUTH %s", s->opts.requirepass);
        if (r) freeReplyObject(r);
    }
    return c;
}

/* Returns 1 once PING answers (any reply: NOAUTH counts as "up"). */
static int wait_ready(rt_server *s, int timeout_ms)
{
    int64_t end = rt_now_ms() + timeout_ms;
    while (rt_now_ms() < end) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return 0;
        }
        redisContext *c = connect_sync(s);
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r != NULL;
            if (r) freeReplyObject(r);
            redisFree(c);
            if (ok) return 1;
        }
        usleep(5000);
    }
    return 0;
}

static int spawn(rt_server *s)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0 && s->opts.sentinel_conf != NULL) exec_sentinel(s);
    if (pid == 0) exec_server(s);
    s->pid = pid;
    return wait_ready(s, 5000);
}

rt_server *rt_server_start(const rt_server_opts *opts)
{
    rt_server *s = calloc(1, sizeof(*s));
    cr_assert_not_null(s);
    if (opts) s->opts = *opts;
    make_dir(s);
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = rt_free_port();
        if (spawn(s)) {
            snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);
            snprintf(s->unix_addr, sizeof(s->unix_addr), "unix:%s/redis.sock", s->dir);
            return s;
        }
        rt_server_kill(s); /* port taken by someone else: try another */
    }
    cr_assert_fail("redis-server did not start (see %s/redis.log)", s->dir);
    return NULL;
}

static void signal_and_wait(rt_server *s, int sig, int timeout_ms)
{
    int64_t end;
    int status;
    if (s->pid <= 0) return;
    kill(s->pid, SIGCONT);
    kill(s->pid, sig);
    end = rt_now_ms() + timeout_ms;
    while (rt_now_ms() < end) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        usleep(2000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
}

void rt_server_stop(rt_server *s)
{
    signal_and_wait(s, SIGTERM, 5000);
}

void rt_server_kill(rt_server *s)
{
    signal_and_wait(s, SIGKILL, 5000);
}

void rt_server_pause(rt_server *s)
{
    if (s->pid > 0) kill(s->pid, SIGSTOP);
}

void rt_server_resume(rt_server *s)
{
    if (s->pid > 0) kill(s->pid, SIGCONT);
}

void rt_server_resume_expect_dropped(rt_server *s, struct event_base *base, const int *calls)
{
    rt_server_resume(s);
    rt_loop_quiet(base, 200); /* the late answer arrives now: it must not be passed on */
    cr_assert_eq(*calls, 1, "the late answer must be dropped (%d callbacks)", *calls);
}

void rt_server_restart(rt_server *s)
{
    rt_server_stop(s);
    /* The port may linger briefly after the old process exits. */
    for (int attempt = 0; attempt < 50; attempt++) {
        if (spawn(s)) return;
        rt_server_kill(s);
        usleep(50000);
    }
    cr_assert_fail("redis-server did not restart on port %d", s->port);
}

void rt_server_free(rt_server *s)
{
    char cmd[600];
    if (s == NULL) return;
    rt_server_stop(s);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", s->dir);
    free(s);
}

redisReply *rt_cmd(rt_server *s, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;
    redisContext *c = connect_sync(s);
    if (c == NULL) return NULL;
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return r;
}

long long rt_info_int(rt_server *s, const char *field)
{
    redisReply *r = rt_cmd(s, "INFO");
    long long v = -1;
    char key[128];
    const char *p;
    if (r == NULL) return -1;
    snprintf(key, sizeof(key), "\r\n%s:", field);
    if (r->type == REDIS_REPLY_STRING && (p = strstr(r->str, key)) != NULL)
        v = strtoll(p + strlen(key), NULL, 10);
    freeReplyObject(r);
    return v;
}

int rt_clients(rt_server *s)
{
    redisReply *r = rt_cmd(s, "CLIENT LIST");
    int n = 0;
    if (r == NULL) return -1;
    if (r->type == REDIS_REPLY_STRING)
        for (const char *p = r->str; (p = strchr(p, '\n')) != NULL; p++)
            n++;
    freeReplyObject(r);
    return n - 1; /* not counting ourselves */
}
