/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_peer.c: the in-process fake Redis server of the reply target (see
 * fuzz_peer.h). */
#include "fuzz_peer.h"
#include "fuzz.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RF_TARGET "peer"

enum peer_state { PEER_HANDSHAKE, PEER_WRITING, PEER_SHUT };

typedef struct peer_conn {
    rf_peer *peer;
    int fd;
    enum peer_state state;
    int scripted;           /* plays the script (the first connection after arming) */
    struct event *read_ev;  /* persistent */
    struct event *write_ev; /* one-shot timer: the next chunk */
    redisReader *requests;  /* auto mode: the commands the pool sent */
    size_t off;             /* script bytes written */
} peer_conn;

struct rf_peer {
    struct event_base *base;
    int lfd;
    struct event *accept_ev;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char addr[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    const uint8_t *data;
    size_t len;
    rf_chunking how;
    int raw, armed;
    unsigned open, accepted;
};

static void conn_close(peer_conn *c)
{
    event_free(c->read_ev);
    event_free(c->write_ev);
    if (c->requests) redisReaderFree(c->requests);
    close(c->fd);
    c->peer->open--;
    free(c);
}

/* Half-close: the pool reads what was written, then EOF. */
static void conn_shut(peer_conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->state = PEER_SHUT;
}

/* Length of the next write of the script. */
static size_t next_chunk(const rf_peer *p, size_t off)
{
    size_t left = p->len - off;
    if (p->how.at_crlf) {
        for (size_t i = off; i + 1 < p->len; i++)
            if (p->data[i] == '\r' && p->data[i + 1] == '\n') return i + 2 - off;
        return left;
    }
    return p->how.size == 0 || p->how.size > left ? left : p->how.size;
}

static void schedule_write(peer_conn *c)
{
    static const struct timeval now = {0, 0};
    event_add(c->write_ev, &now);
}

/* Timer: one chunk per loop iteration; after the last, shut down. */
static void on_write(evutil_socket_t fd, short what, void *arg)
{
    peer_conn *c = arg;
    const rf_peer *p = c->peer;
    size_t n = next_chunk(p, c->off);
    ssize_t w;
    (void)fd;
    (void)what;
    if (c->state != PEER_WRITING) return;
    if (n > 0) {
        w = send(c->fd, p->data + c->off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EINTR) { /* the pool is gone */
            conn_shut(c);
            return;
        }
        if (w > 0) c->off += (size_t)w;
    }
    if (c->off == p->len)
        conn_shut(c);
    else
        schedule_write(c);
}

static void start_writing(peer_conn *c)
{
    c->state = PEER_WRITING;
    schedule_write(c);
}

/* 1 if `r` is a command whose first argument carries the marker. */
static int is_marked(const redisReply *r)
{
    const redisReply *arg;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) return 0;
    arg = r->element[1];
    return arg->type == REDIS_REPLY_STRING && arg->len >= strlen(RF_PEER_MARKER) &&
           memcmp(arg->str, RF_PEER_MARKER, strlen(RF_PEER_MARKER)) == 0;
}

/* Auto mode: +OK to each handshake command until the marked one. */
static void handshake(peer_conn *c, const char *buf, size_t n)
{
    void *req = NULL;
    redisReaderFeed(c->requests, buf, n);
    while (c->state == PEER_HANDSHAKE && redisReaderGetReply(c->requests, &req) == REDIS_OK &&
           req != NULL) {
        if (is_marked(req))
            start_writing(c);
        else
            (void)!send(c->fd, "+OK\r\n", 5, MSG_NOSIGNAL | MSG_DONTWAIT);
        freeReplyObject(req);
        req = NULL;
    }
}

/* Reads and drops what the pool sends; EOF closes the connection. */
static void on_read(evutil_socket_t fd, short what, void *arg)
{
    peer_conn *c = arg;
    char buf[4096];
    (void)what;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(c);
            return;
        }
        if (n < 0) return;
        if (c->state != PEER_HANDSHAKE) continue;
        if (c->peer->raw)
            start_writing(c);
        else
            handshake(c, buf, (size_t)n);
    }
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    rf_peer *p = arg;
    peer_conn *c;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    (void)what;
    if (fd < 0) return;
    c = calloc(1, sizeof(*c));
    if (c == NULL) rf_fail(RF_TARGET, "out of memory");
    c->peer = p;
    c->fd = fd;
    c->scripted = p->armed;
    p->armed = 0;
    c->read_ev = event_new(p->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->write_ev = evtimer_new(p->base, on_write, c);
    c->requests = redisReaderCreate();
    if (c->read_ev == NULL || c->write_ev == NULL || c->requests == NULL)
        rf_fail(RF_TARGET, "out of memory");
    event_add(c->read_ev, NULL);
    p->open++;
    p->accepted++;
    if (!c->scripted) conn_shut(c); /* only the first connection plays the script */
}

rf_peer *rf_peer_start(struct event_base *base)
{
    rf_peer *p = calloc(1, sizeof(*p));
    struct sockaddr_un sa;
    if (p == NULL) rf_fail(RF_TARGET, "out of memory");
    p->base = base;
    if ((size_t)snprintf(p->path, sizeof(p->path), "%s/peer.sock", rf_tempdir()) >= sizeof(p->path))
        rf_fail(RF_TARGET, "temp dir path too long for a unix socket");
    snprintf(p->addr, sizeof(p->addr), "unix:%s", p->path);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, p->path, strlen(p->path) + 1);
    unlink(p->path);
    p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(p->lfd, 64) != 0)
        rf_fail(RF_TARGET, "cannot listen on %s: %s", p->path, strerror(errno));
    p->accept_ev = event_new(base, p->lfd, EV_READ | EV_PERSIST, on_accept, p);
    if (p->accept_ev == NULL || event_add(p->accept_ev, NULL) != 0)
        rf_fail(RF_TARGET, "cannot watch the listener");
    return p;
}

const char *rf_peer_addr(const rf_peer *p)
{
    return p->addr;
}

void rf_peer_script(rf_peer *p, const uint8_t *data, size_t len, rf_chunking how, int raw)
{
    p->data = data;
    p->len = len;
    p->how = how;
    p->raw = raw;
    p->armed = 1;
}

int rf_peer_idle(const rf_peer *p)
{
    return p->open == 0;
}

unsigned rf_peer_accepted(const rf_peer *p)
{
    return p->accepted;
}
