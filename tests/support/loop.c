/* SPDX-License-Identifier: BSD-3-Clause */
/* loop.c: event-loop helpers, fd counting, free ports, log capture. */
#include "support/support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

int64_t rt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

void rt_wait_begin(rt_waiter *w, struct event_base *base, int timeout_ms)
{
    /* A persistent tick keeps EVLOOP_ONCE from blocking past the deadline. */
    struct timeval tick = {0, 5000};
    w->base = base;
    w->end_ms = rt_now_ms() + timeout_ms;
    w->tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    event_add(w->tick, &tick);
}

int rt_wait_pass(rt_waiter *w)
{
    if (rt_now_ms() >= w->end_ms) return 0;
    event_base_loop(w->base, EVLOOP_ONCE);
    return 1;
}

void rt_wait_end(rt_waiter *w)
{
    event_free(w->tick);
    w->tick = NULL;
}

int rt_loop_until_pred(struct event_base *base, int (*pred)(void *arg), void *arg, int timeout_ms)
{
    rt_waiter w;
    int ok;
    rt_wait_begin(&w, base, timeout_ms);
    while (!(ok = pred(arg)) && rt_wait_pass(&w)) {
    }
    rt_wait_end(&w);
    return ok;
}

static int flag_pred(void *arg)
{
    return *(const int *)arg != 0;
}

int rt_loop_until(struct event_base *base, const int *flag, int timeout_ms)
{
    return rt_loop_until_pred(base, flag_pred, (void *)flag, timeout_ms);
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

void rt_loop_quiet(struct event_base *base, int ms)
{
    rt_loop_until_pred(base, never, NULL, ms);
}

int rt_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (d == NULL) return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

/* Ports for servers under test: below Linux's ephemeral range (32768+), so
 * that no client socket of ours or the kernel's picks can hold one. */
enum { RT_PORT_MIN = 15000, RT_PORT_SPAN = 17000 };

int rt_free_port(void)
{
    static unsigned next;
    if (next == 0) next = (unsigned)getpid() * 7919u + (unsigned)rt_now_ms();
    for (int attempt = 0; attempt < 200; attempt++) {
        struct sockaddr_in sa;
        int fd = socket(AF_INET, SOCK_STREAM, 0), ok, one = 1;
        int port = RT_PORT_MIN + (int)((next = next * 1103515245u + 12345u) % RT_PORT_SPAN);
        if (fd < 0) return 0;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons((uint16_t)port);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(fd);
        if (ok) return port;
    }
    return 0;
}

void rt_log_fn(int level, const char *msg, void *arg)
{
    rt_log *log = arg;
    int n = snprintf(log->buf + log->len, sizeof(log->buf) - log->len, "[%d] %s\n", level, msg);
    if (n > 0 && log->len + (size_t)n < sizeof(log->buf)) log->len += (size_t)n;
    log->lines++;
}
