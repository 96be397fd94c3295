/* SPDX-License-Identifier: BSD-3-Clause */
/* http_client.h — a minimal HTTP/1.1 client over loopback for the server
 * suites. Every request says "Connection: close" and the response is read
 * to EOF. Two ways to wait for it:
 *  - on an event_base (rt_http_watch / rt_http_fetch), for a server running
 *    in this process on the same loop;
 *  - blocking with poll (rt_http_read / rt_http_get), for a server in
 *    another process. */
#ifndef REDISCONN_TEST_HTTP_CLIENT_H
#define REDISCONN_TEST_HTTP_CLIENT_H

#include <stddef.h>

struct event_base;
struct event;

typedef struct rt_http {
    int fd;     /* -1 once closed */
    int done;   /* EOF (or an error) reached */
    int status; /* HTTP status code, 0 if no complete response */
    char raw[65536];
    size_t raw_len;
    const char *body; /* into raw, NUL-terminated */
    size_t body_len;
    struct event *ev;
} rt_http;

/* Connects to 127.0.0.1:port and writes the request (body may be NULL).
 * Returns NULL if the connection is refused. */
rt_http *rt_http_send(int port, const char *method, const char *path, const char *body);
/* Like rt_http_send with extra request headers (`headers`: complete lines,
 * each ending in "\r\n", or NULL) and a binary body of `len` bytes. */
rt_http *rt_http_send_raw(int port, const char *method, const char *path, const char *headers,
                          const void *body, size_t len);
/* Reads the response on `base` (non-blocking); sets h->done at EOF. */
void rt_http_watch(rt_http *h, struct event_base *base);
/* Send + watch + run `base` until done or timeout. NULL if the send failed. */
rt_http *rt_http_fetch(struct event_base *base, int port, const char *method, const char *path,
                       const char *body, int timeout_ms);
/* rt_http_send_raw + watch + run `base` until done or timeout. */
rt_http *rt_http_fetch_raw(struct event_base *base, int port, const char *method, const char *path,
                           const char *headers, const void *body, size_t len, int timeout_ms);
/* Blocking read to EOF, at most timeout_ms. Returns 1 when complete. */
int rt_http_read(rt_http *h, int timeout_ms);
/* Blocking send + read. NULL if the connection is refused. */
rt_http *rt_http_get(int port, const char *path, int timeout_ms);
/* Header `name` of the response (case-insensitive) copied into buf, or NULL. */
const char *rt_http_header(const rt_http *h, const char *name, char *buf, size_t len);
/* Closes the socket (if still open) and frees. NULL is a no-op. */
void rt_http_free(rt_http *h);

/* Polls GET /healthz until it answers 200; returns 1 if it did in time. */
int rt_http_wait_ready(int port, int timeout_ms);

#endif
