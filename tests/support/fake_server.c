/* SPDX-License-Identifier: BSD-3-Clause */
/* fake_server.c: a tiny TCP server for faults a real Redis cannot produce
 * (garbage bytes, half replies, closing mid-reply). One thread, blocking I/O,
 * one connection at a time. */
#include "support/support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct rt_fake {
    int lfd;
    int port;
    char addr[64];
    char *reply;
    size_t len;
    int close_after;
    volatile int stop;
    pthread_t thread;
};

static void serve(rt_fake *f, int fd)
{
    char buf[4096];
    int requests = 0;
    while (!f->stop) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, 50) <= 0) continue;
        n = read(fd, buf, sizeof(buf));
        if (n <= 0) break;
        if (f->len && write(fd, f->reply, f->len) < 0) break;
        if (f->close_after && ++requests >= f->close_after) break;
    }
    close(fd);
}

static void *run(void *arg)
{
    rt_fake *f = arg;
    while (!f->stop) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        int fd;
        if (poll(&p, 1, 50) <= 0) continue;
        fd = accept(f->lfd, NULL, NULL);
        if (fd >= 0) serve(f, fd);
    }
    return NULL;
}

rt_fake *rt_fake_start(const char *reply, size_t len, int close_after)
{
    rt_fake *f = calloc(1, sizeof(*f));
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int one = 1;
    if (f == NULL) return NULL;
    f->reply = malloc(len + 1);
    memcpy(f->reply, reply, len);
    f->len = len;
    f->close_after = close_after;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(f->lfd, 16) != 0 ||
        getsockname(f->lfd, (struct sockaddr *)&sa, &sl) != 0) {
        close(f->lfd);
        free(f->reply);
        free(f);
        return NULL;
    }
    f->port = ntohs(sa.sin_port);
    snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d", f->port);
    pthread_create(&f->thread, NULL, run, f);
    return f;
}

int rt_fake_port(const rt_fake *f)
{
    return f->port;
}

const char *rt_fake_addr(const rt_fake *f)
{
    return f->addr;
}

void rt_fake_stop(rt_fake *f)
{
    if (f == NULL) return;
    f->stop = 1;
    pthread_join(f->thread, NULL);
    close(f->lfd);
    free(f->reply);
    free(f);
}
