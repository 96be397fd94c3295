/* SPDX-License-Identifier: BSD-3-Clause */
/* http_client.c: see http_client.h. */
#include "support/http_client.h"
#include "support/support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

static int connect_loopback(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

rt_http *rt_http_send_raw(int port, const char *method, const char *path, const char *headers,
                          const void *body, size_t len)
{
    char head[2048];
    rt_http *h = calloc(1, sizeof(*h));
    int n;
    if (h == NULL) return NULL;
    h->fd = connect_loopback(port);
    if (h->fd < 0) {
        free(h);
        return NULL;
    }
    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                 "X-Test: yes\r\n%sContent-Length: %zu\r\n\r\n",
                 method, path, port, headers ? headers : "", len);
    if (n < 0 || (size_t)n >= sizeof(head) || write_all(h->fd, head, (size_t)n) != 0 ||
        (len && write_all(h->fd, body, len) != 0)) {
        rt_http_free(h);
        return NULL;
    }
    return h;
}

rt_http *rt_http_send(int port, const char *method, const char *path, const char *body)
{
    return rt_http_send_raw(port, method, path, NULL, body, body ? strlen(body) : 0);
}

/* Splits raw into status and body once complete. */
static void parse(rt_http *h)
{
    char *end;
    int status = 0;
    h->raw[h->raw_len] = '\0';
    end = strstr(h->raw, "\r\n\r\n");
    if (end == NULL || sscanf(h->raw, "HTTP/1.%*d %d", &status) != 1) return;
    h->status = status;
    h->body = end + 4;
    h->body_len = h->raw_len - (size_t)(h->body - h->raw);
}

/* Reads what is available; returns 1 at EOF or error. */
static int read_some(rt_http *h)
{
    for (;;) {
        ssize_t n;
        if (h->raw_len + 1 >= sizeof(h->raw)) return 1;
        n = read(h->fd, h->raw + h->raw_len, sizeof(h->raw) - 1 - h->raw_len);
        if (n > 0) {
            h->raw_len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return 1;
    }
}

static void finish(rt_http *h)
{
    h->done = 1;
    parse(h);
    if (h->ev) {
        event_free(h->ev);
        h->ev = NULL;
    }
    close(h->fd);
    h->fd = -1;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    rt_http *h = arg;
    (void)fd;
    (void)what;
    if (read_some(h)) finish(h);
}

void rt_http_watch(rt_http *h, struct event_base *base)
{
    fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) | O_NONBLOCK);
    h->ev = event_new(base, h->fd, EV_READ | EV_PERSIST, on_readable, h);
    event_add(h->ev, NULL);
}

rt_http *rt_http_fetch_raw(struct event_base *base, int port, const char *method, const char *path,
                           const char *headers, const void *body, size_t len, int timeout_ms)
{
    rt_http *h = rt_http_send_raw(port, method, path, headers, body, len);
    if (h == NULL) return NULL;
    rt_http_watch(h, base);
    rt_loop_until(base, &h->done, timeout_ms);
    return h;
}

rt_http *rt_http_fetch(struct event_base *base, int port, const char *method, const char *path,
                       const char *body, int timeout_ms)
{
    return rt_http_fetch_raw(base, port, method, path, NULL, body, body ? strlen(body) : 0,
                             timeout_ms);
}

int rt_http_read(rt_http *h, int timeout_ms)
{
    int64_t end = rt_now_ms() + timeout_ms;
    fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) | O_NONBLOCK);
    while (!h->done) {
        struct pollfd p = {h->fd, POLLIN, 0};
        int64_t left = end - rt_now_ms();
        if (left <= 0) return 0;
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR) return 0;
        if (read_some(h)) finish(h);
    }
    return h->status != 0;
}

rt_http *rt_http_get(int port, const char *path, int timeout_ms)
{
    rt_http *h = rt_http_send(port, "GET", path, NULL);
    if (h != NULL) rt_http_read(h, timeout_ms);
    return h;
}

const char *rt_http_header(const rt_http *h, const char *name, char *buf, size_t len)
{
    size_t nlen = strlen(name);
    const char *line = strstr(h->raw, "\r\n");
    while (line != NULL && line[2] != '\r') {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(buf, len, "%.*s", (int)(e - v), v);
            return buf;
        }
        line = strstr(line, "\r\n");
    }
    return NULL;
}

void rt_http_free(rt_http *h)
{
    if (h == NULL) return;
    if (h->ev) event_free(h->ev);
    if (h->fd >= 0) close(h->fd);
    free(h);
}

int rt_http_wait_ready(int port, int timeout_ms)
{
    int64_t end = rt_now_ms() + timeout_ms;
    while (rt_now_ms() < end) {
        rt_http *h = rt_http_get(port, "/healthz", 1000);
        int ok = h && h->status == 200;
        rt_http_free(h);
        if (ok) return 1;
        usleep(20000);
    }
    return 0;
}
