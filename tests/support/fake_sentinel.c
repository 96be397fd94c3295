/* SPDX-License-Identifier: BSD-3-Clause */
/* fake_sentinel.c: see fake_sentinel.h. One child process, poll() over the
 * listening socket and up to MAX_CLIENTS connections, each with an input
 * buffer parsed as RESP arrays of bulk strings (what hiredis sends). */
#include "support/fake_sentinel.h"
#include "support/support.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_CLIENTS = 32, MAX_ARGS = 8, BUF = 4096 };

typedef struct shared_state {
    volatile int master_port;
    volatile int queries;
    volatile int connections;
} shared_state;

struct rt_fake_sentinel {
    pid_t pid;
    int port;
    char addr[64];
    shared_state *st; /* MAP_SHARED with the child */
};

typedef struct client {
    int fd;
    char in[BUF];
    size_t len;
} client;

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void answer(shared_state *st, int fd, int argc, char argv[][128])
{
    char out[512], port[16];
    if (argc == 0) return;
    if (strcasecmp(argv[0], "PING") == 0 || strcasecmp(argv[0], "AUTH") == 0 ||
        strcasecmp(argv[0], "CLIENT") == 0) {
        put(fd, strcasecmp(argv[0], "PING") == 0 ? "+PONG\r\n" : "+OK\r\n");
    } else if (strcasecmp(argv[0], "SUBSCRIBE") == 0 && argc == 2) {
        snprintf(out, sizeof(out), "*3\r\n$9\r\nsubscribe\r\n$%zu\r\n%.127s\r\n:1\r\n",
                 strlen(argv[1]), argv[1]);
        put(fd, out);
    } else if (strcasecmp(argv[0], "SENTINEL") == 0 && argc == 3 &&
               strcasecmp(argv[1], "get-master-addr-by-name") == 0) {
        __atomic_add_fetch(&st->queries, 1, __ATOMIC_SEQ_CST);
        snprintf(port, sizeof(port), "%d", st->master_port);
        if (strcmp(argv[2], "mymaster") != 0)
            put(fd, "*-1\r\n");
        else {
            snprintf(out, sizeof(out), "*2\r\n$9\r\n127.0.0.1\r\n$%zu\r\n%s\r\n", strlen(port),
                     port);
            put(fd, out);
        }
    } else if (strcasecmp(argv[0], "SENTINEL") == 0 && argc == 3 &&
               strcasecmp(argv[1], "sentinels") == 0) {
        put(fd, "*0\r\n");
    } else {
        put(fd, "-ERR unknown command\r\n");
    }
}

/* Parses and answers every complete command in c->in; -1 on garbage. */
static int serve(shared_state *st, client *c)
{
    size_t pos = 0;
    for (;;) {
        char argv[MAX_ARGS][128], *end;
        size_t p = pos;
        long argc, i;
        if (p >= c->len) break;
        if (c->in[p] != '*') return -1;
        end = memchr(c->in + p, '\n', c->len - p);
        if (end == NULL) break;
        argc = strtol(c->in + p + 1, NULL, 10);
        if (argc < 0 || argc > MAX_ARGS) return -1;
        p = (size_t)(end - c->in) + 1;
        for (i = 0; i < argc; i++) {
            long n;
            if (p >= c->len) break;
            if (c->in[p] != '$') return -1;
            end = memchr(c->in + p, '\n', c->len - p);
            if (end == NULL) break;
            n = strtol(c->in + p + 1, NULL, 10);
            if (n < 0 || n > 127) return -1;
            p = (size_t)(end - c->in) + 1;
            if (p + (size_t)n + 2 > c->len) break;
            memcpy(argv[i], c->in + p, (size_t)n);
            argv[i][n] = '\0';
            p += (size_t)n + 2;
        }
        if (i < argc) break; /* incomplete: wait for more */
        answer(st, c->fd, (int)argc, argv);
        pos = p;
    }
    memmove(c->in, c->in + pos, c->len - pos);
    c->len -= pos;
    return 0;
}

static void run_child(int lfd, shared_state *st)
{
    static client cl[MAX_CLIENTS];
    struct pollfd p[MAX_CLIENTS + 1];
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int i = 0; i < MAX_CLIENTS; i++)
        cl[i].fd = -1;
    for (;;) {
        int n = 0;
        p[n++] = (struct pollfd){lfd, POLLIN, 0};
        for (int i = 0; i < MAX_CLIENTS; i++)
            p[n++] = (struct pollfd){cl[i].fd, POLLIN, 0};
        if (poll(p, (nfds_t)n, 1000) < 0) continue;
        if (p[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            int slot = -1;
            for (int i = 0; fd >= 0 && i < MAX_CLIENTS && slot < 0; i++)
                if (cl[i].fd < 0) slot = i;
            if (slot < 0 && fd >= 0) close(fd);
            if (slot >= 0) {
                cl[slot].fd = fd;
                cl[slot].len = 0;
                __atomic_add_fetch(&st->connections, 1, __ATOMIC_SEQ_CST);
            }
        }
        for (int i = 0; i < MAX_CLIENTS; i++) {
            ssize_t r;
            if (cl[i].fd < 0 || !(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            r = read(cl[i].fd, cl[i].in + cl[i].len, sizeof(cl[i].in) - cl[i].len);
            if (r > 0) cl[i].len += (size_t)r;
            if (r <= 0 || serve(st, &cl[i]) != 0 || cl[i].len == sizeof(cl[i].in)) {
                close(cl[i].fd);
                cl[i].fd = -1;
            }
        }
    }
}

rt_fake_sentinel *rt_fake_sentinel_start(int master_port)
{
    rt_fake_sentinel *f = calloc(1, sizeof(*f));
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int one = 1, lfd;
    cr_assert_not_null(f);
    f->st = mmap(NULL, sizeof(*f->st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(f->st, MAP_FAILED);
    f->st->master_port = master_port;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(lfd, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 64) == 0 &&
              getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0);
    f->port = ntohs(sa.sin_port);
    snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d", f->port);
    f->pid = fork();
    cr_assert_neq(f->pid, -1);
    if (f->pid == 0) {
        run_child(lfd, f->st);
        _exit(0);
    }
    close(lfd); /* the child listens; the test process keeps no fd */
    return f;
}

void rt_fake_sentinel_set_master(rt_fake_sentinel *f, int master_port)
{
    __atomic_store_n(&f->st->master_port, master_port, __ATOMIC_SEQ_CST);
}

const char *rt_fake_sentinel_addr(const rt_fake_sentinel *f)
{
    return f->addr;
}

int rt_fake_sentinel_queries(const rt_fake_sentinel *f)
{
    return __atomic_load_n(&f->st->queries, __ATOMIC_SEQ_CST);
}

int rt_fake_sentinel_connections(const rt_fake_sentinel *f)
{
    return __atomic_load_n(&f->st->connections, __ATOMIC_SEQ_CST);
}

void rt_fake_sentinel_stop(rt_fake_sentinel *f)
{
    int status;
    if (f == NULL) return;
    kill(f->pid, SIGKILL);
    waitpid(f->pid, &status, 0);
    munmap(f->st, sizeof(*f->st));
    free(f);
}
