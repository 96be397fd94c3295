/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_hygiene.c — what the pool does to the process around it: its
 * sockets are close-on-exec and have TCP keep-alive, a host name's next
 * address is tried when a connect fails, and a server that goes away never
 * raises SIGPIPE in the caller's process. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_hygiene, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

/* The fd of this process's TCP socket connected to `port`, or -1. */
static int socket_to(int port)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int found = -1;
    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL && found < 0) {
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dirfd(d)) continue;
        if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0 && peer.sin_family == AF_INET &&
            ntohs(peer.sin_port) == port)
            found = fd;
    }
    closedir(d);
    return found;
}

static int sockopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    cr_assert_eq(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

Test(pool_hygiene, pool_sockets_are_close_on_exec)
{
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    int fd = socket_to(env.srv->port);
    cr_assert_geq(fd, 0, "the pool's socket not found");
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "an exec'd child would inherit it");
    redisconn_release(c);
}

Test(pool_hygiene, tcp_connections_have_keep_alive_at_the_configured_idle_time)
{
    redisconn_pool_options *o = given_options();
    o->tcp_keepalive_s = 120;
    given_pool(o);
    redisconn_conn *c = rt_acquire_ok(&env);
    int fd = socket_to(env.srv->port);
    cr_assert_geq(fd, 0);
    cr_assert_eq(sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    cr_assert_eq(sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE), 120);
    redisconn_release(c);
}

Test(pool_hygiene, keep_alive_zero_leaves_it_off)
{
    redisconn_pool_options *o = given_options();
    o->tcp_keepalive_s = 0;
    given_pool(o);
    redisconn_conn *c = rt_acquire_ok(&env);
    int fd = socket_to(env.srv->port);
    cr_assert_geq(fd, 0);
    cr_assert_eq(sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
    redisconn_release(c);
}

/* Gives this test process a private /etc/hosts with `content` (a mount
 * namespace of its own); 0 when the process may not (not root). */
static int private_hosts(const char *content)
{
    char path[] = "/tmp/redisconn-hosts-XXXXXX";
    int fd;
    if (unshare(CLONE_NEWNS) != 0) return 0;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return 0;
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    if (mount(path, "/etc/hosts", NULL, MS_BIND, NULL) != 0) return 0;
    unlink(path);
    return 1;
}

Test(pool_hygiene, a_failed_connect_tries_the_next_address_of_the_name)
{
    char addr[64];
    /* 127.0.0.2 refuses (the server binds 127.0.0.1 only); 127.0.0.1 answers */
    if (!private_hosts("127.0.0.2 two.test\n127.0.0.1 two.test\n"))
        cr_skip_test("needs a mount namespace of its own (run as root)");
    snprintf(addr, sizeof(addr), "two.test:%d", env.srv->port);
    given_pool_at(addr, given_options());
    redisconn_conn *c = rt_acquire_ok(&env);
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.dials, 1);
    cr_assert_eq(st.dial_errors, 0);
    cr_assert(strstr(env.log.buf, "trying 127.0.0.1") != NULL, "%s", env.log.buf);
    redisconn_release(c);
}

/* Commands that keep the write path busy with large values. */
static void on_big(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    (void)conn;
    (void)status;
    (void)reply;
    ++*(int *)arg;
}

Test(pool_hygiene, a_server_killed_under_writes_raises_no_sigpipe)
{
    enum { N = 64, SIZE = 256 * 1024 };
    static char big[SIZE];
    int done = 0, i;
    signal(SIGPIPE, SIG_DFL); /* the default disposition kills the process */
    memset(big, 'x', sizeof(big));
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    for (i = 0; i < N; i++)
        cr_assert_eq(redisconn_command(c, on_big, &done, "SET big%d %b", i, big, sizeof(big)),
                     REDISCONN_OK);
    rt_server_kill(env.srv);
    rt_await(env.base, done == N, 5000);
    cr_assert_eq(done, N, "every command called back once");
    redisconn_release(c);
}
