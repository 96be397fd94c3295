/* SPDX-License-Identifier: BSD-3-Clause */
/* soak_server.h — the redis-server that tests/bench/soak.c starts, kills
 * with SIGKILL and restarts on the same port. Header-only, like
 * bench_common.h, so the soak stays one executable. */
#ifndef REDISCONN_SOAK_SERVER_H
#define REDISCONN_SOAK_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

typedef struct soak_server {
    pid_t pid;     /* 0 when not running */
    int port, cpu; /* cpu: pinned to it when >= 0 */
    char dir[256]; /* data and log */
} soak_server;

static inline int64_t soak_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the server ---------------------------------------------------------- */

static int soak_server_answers(int port)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = NULL;
    if (c && !c->err) r = redisCommand(c, "PING");
    if (r) freeReplyObject(r);
    if (c) redisFree(c);
    return r != NULL;
}

static void soak_server_exec(const soak_server *s)
{
    char port[16], log[300];
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(log, sizeof(log), "%s/redis.log", s->dir);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (s->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((unsigned)s->cpu, &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--dir", s->dir, "--logfile", log, "--maxclients", "20000",
           (char *)NULL);
    _exit(127);
}

/* Starts redis-server on s->port with data in s->dir; returns 0 once it
 * answers PING, -1 if it cannot (the port stays taken, fork fails). */
static int soak_server_start(soak_server *s)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        int64_t end = soak_now_ms() + 5000;
        s->pid = fork();
        if (s->pid < 0) return -1;
        if (s->pid == 0) soak_server_exec(s);
        while (soak_now_ms() < end) {
            int st;
            if (waitpid(s->pid, &st, WNOHANG) == s->pid) break; /* port still taken: again */
            if (soak_server_answers(s->port)) return 0;
            usleep(5000);
        }
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        usleep(50000);
    }
    return -1;
}

/* Sends `sig` and reaps the server. */
static void soak_server_kill(soak_server *s, int sig)
{
    if (s->pid <= 0) return;
    kill(s->pid, sig);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

/* A free TCP port on 127.0.0.1 (bound and released). */
static int soak_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

#endif
