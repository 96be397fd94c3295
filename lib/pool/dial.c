/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dial.c: opening a connection — asking the locator where to go, name
 * resolution (evdns, since hiredis 0.14 would block the loop in
 * getaddrinfo), the non-blocking connect, and the handshake (AUTH, CLIENT
 * SETNAME, SELECT or PING, READONLY for a cluster replica's pool, ROLE for a
 * Sentinel's) that must succeed before the connection is usable. SELECT is always
 * sent, even for db 0: its reply proves the server accepted us (Redis answers
 * "-ERR max number of clients reached" to a connection it will not serve).
 *
 * A leaf like conn.c: the outcome reaches the owner through the ready and
 * dead hooks. A dial never reports failure synchronously: without a context
 * the dead report is deferred to the loop, so a server that refuses every
 * connect cannot recurse through dial -> fail -> dial.
 */
#include "pool/conn.h"
#include "util/clock.h"

#include <arpa/inet.h>
#include <assert.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/util.h>

/* Handshake stages, in order; the last one sent completes the dial. */
enum { STAGE_AUTH = 1, STAGE_NAME, STAGE_SELECT, STAGE_PING, STAGE_READONLY, STAGE_ROLE };

enum { MAX_ADDRESSES = 8 }; /* of a resolved name, tried in turn */

static void report_dead(redisconn__defer_item *item)
{
    redisconn__conn_dead(REDISCONN_CONTAINER_OF(item, redisconn_conn, later));
}

void redisconn__dial_fail(redisconn_conn *conn, int status, const char *msg)
{
    assert(conn->dial_stage == DIAL_LOCATING || conn->dial_stage == DIAL_RESOLVING ||
           conn->dial_stage == DIAL_HANDSHAKE);
    if (conn->dial_status == 0) conn->dial_status = status;
    if (msg != NULL && conn->errstr[0] == '\0') redisconn__conn_set_error(conn, msg);
    conn->broken = 1;
    conn->dial_stage = DIAL_FAILED;
    redisconn__defer_post(conn->env->defer, &conn->later, report_dead);
}

/* Maps a handshake error reply to a status: a refused READONLY (not a
 * cluster node) is CONNECT, like a server that will not serve us. */
static int handshake_status(int stage, const char *msg)
{
    if (strstr(msg, "max number of clients") != NULL || strncmp(msg, "LOADING", 7) == 0)
        return REDISCONN_ERR_CONNECT;
    if (stage == STAGE_AUTH || strncmp(msg, "NOAUTH", 6) == 0 ||
        strncmp(msg, "WRONGPASS", 9) == 0 || strstr(msg, "password") != NULL)
        return REDISCONN_ERR_AUTH;
    return stage == STAGE_READONLY ? REDISCONN_ERR_CONNECT : REDISCONN_ERR_SELECT;
}

/* Fails the dial for the error reply `msg` to handshake `stage`: the status
 * of handshake_status(), the server's words as the message (for READONLY,
 * prefixed with what was refused and by whom). */
static void handshake_failed(redisconn_conn *conn, int stage, const char *msg)
{
    char buf[300];
    conn->dial_status = handshake_status(stage, msg);
    if (stage == STAGE_READONLY) {
        snprintf(buf, sizeof(buf), "READONLY refused by %s: %s", conn->addr.text, msg);
        msg = buf;
    }
    redisconn__conn_set_error(conn, msg);
    redisconn__conn_close(conn, REDISCONN_ERR_CONNECT);
}

/* ROLE's answer on a master: ["master", offset, [replicas...]]. */
static int is_master(const redisReply *r)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
           r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0;
}

static void on_handshake(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    int stage = (int)(intptr_t)privdata;
    if (conn->dial_stage != DIAL_HANDSHAKE) return;
    if (status != REDISCONN_OK) { /* context dying: the dead hook reports */
        if (conn->dial_status == 0)
            conn->dial_status = status == REDISCONN_ERR_IO ? REDISCONN_ERR_CONNECT : status;
        return;
    }
    if (conn->broken) return;
    if (reply->type == REDIS_REPLY_ERROR) {
        handshake_failed(conn, stage, reply->str);
        return;
    }
    if (stage == STAGE_ROLE && !is_master(reply)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s is not the master (ROLE: %s)", conn->addr.text,
                 reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                         reply->element[0]->type == REDIS_REPLY_STRING
                     ? reply->element[0]->str
                     : "?");
        conn->dial_status = REDISCONN_ERR_NOT_MASTER;
        redisconn__conn_set_error(conn, msg);
        redisconn__conn_close(conn, REDISCONN_ERR_CONNECT);
        return;
    }
    if (stage != conn->env_last_stage) return;
    conn->dial_stage = DIAL_DONE;
    conn->reopen = NULL;
    redisconn__log(conn->env->log, REDISCONN_LOG_DEBUG, "redisconn: connected to %s (db %d)",
                   conn->addr.text, conn->env->db);
    conn->env->hooks->ready(conn);
}

/* Queues the handshake commands in their order (pipelined: one round trip);
 * the answer to the last one (env_last_stage) completes the dial. Returns
 * REDISCONN_OK, or NOMEM when one could not be queued. */
static int send_handshake(redisconn_conn *conn)
{
    const redisconn__conn_env *env = conn->env;
    uint64_t dl = conn->dial_deadline_us;
    void *auth = (void *)(intptr_t)STAGE_AUTH;
    int rc = REDISCONN_OK;
    if (env->password != NULL && env->username != NULL)
        rc = redisconn__conn_sendf(conn, on_handshake, auth, dl, "AUTH %s %s", env->username,
                                   env->password);
    else if (env->password != NULL)
        rc = redisconn__conn_sendf(conn, on_handshake, auth, dl, "AUTH %s", env->password);
    if (rc == REDISCONN_OK && env->client_name != NULL)
        rc = redisconn__conn_sendf(conn, on_handshake, (void *)(intptr_t)STAGE_NAME, dl,
                                   "CLIENT SETNAME %s", env->client_name);
    /* SELECT (or PING where there are no databases, e.g. a sentinel) always:
     * its answer proves the server took us ("max number of clients"). */
    if (rc == REDISCONN_OK && env->db >= 0)
        rc = redisconn__conn_sendf(conn, on_handshake, (void *)(intptr_t)STAGE_SELECT, dl,
                                   "SELECT %d", env->db);
    else if (rc == REDISCONN_OK)
        rc = redisconn__conn_sendf(conn, on_handshake, (void *)(intptr_t)STAGE_PING, dl, "PING");
    conn->env_last_stage = env->db >= 0 ? STAGE_SELECT : STAGE_PING;
    if (rc == REDISCONN_OK && env->readonly) { /* a cluster replica serves reads */
        rc = redisconn__conn_sendf(conn, on_handshake, (void *)(intptr_t)STAGE_READONLY, dl,
                                   "READONLY");
        conn->env_last_stage = STAGE_READONLY;
    }
    if (rc == REDISCONN_OK && env->check_role) {
        rc = redisconn__conn_sendf(conn, on_handshake, (void *)(intptr_t)STAGE_ROLE, dl, "ROLE");
        conn->env_last_stage = STAGE_ROLE;
    }
    return rc;
}

/* Socket hygiene: close-on-exec (hiredis 0.14 creates sockets without it;
 * a fork+exec racing this window in another thread can still inherit one),
 * and TCP keep-alive on TCP connections. Best effort: failures are ignored. */
static void tune_socket(const redisconn_conn *conn, int fd)
{
    int on = 1, idle = conn->env->tcp_keepalive_s, intvl, cnt = 3;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    if (conn->addr.kind != REDISCONN_ADDR_TCP || idle <= 0) return;
    intvl = idle / 3 > 0 ? idle / 3 : 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static void connect_to(redisconn_conn *conn, const char *ip);

/* hiredis tells whether the TCP connect succeeded (before it frees a
 * context whose connect failed). */
static void on_connect(const redisAsyncContext *ac, int status)
{
    redisconn_conn *conn = ac->data;
    if (status != REDIS_OK && conn != NULL) conn->connect_failed = 1;
}

/* The next address of a resolved name, from the loop. */
static void connect_next(redisconn__defer_item *item)
{
    redisconn_conn *conn = REDISCONN_CONTAINER_OF(item, redisconn_conn, later);
    if (conn->abort_status) { /* closed meanwhile */
        conn->dial_stage = DIAL_FAILED;
        redisconn__conn_dead(conn);
        return;
    }
    connect_to(conn, conn->ips[conn->ip_next++]);
}

/* conn.c asks, as the context of a failed connect goes: another address? */
static int reopen(redisconn_conn *conn)
{
    if (!conn->connect_failed || conn->abort_status || conn->ip_next >= conn->ip_count ||
        (conn->dial_deadline_us && redisconn__now_us() >= conn->dial_deadline_us))
        return 0;
    redisconn__log(conn->env->log, REDISCONN_LOG_DEBUG,
                   "redisconn: connect to %s (%s) failed, trying %s", conn->addr.text,
                   conn->ips[conn->ip_next - 1], conn->ips[conn->ip_next]);
    conn->connect_failed = 0;
    conn->dial_status = 0;
    conn->dial_stage = DIAL_RESOLVING; /* between attempts, like a resolution */
    redisconn__defer_post(conn->env->defer, &conn->later, connect_next);
    return 1;
}

/* Non-blocking connect to a numeric address (or the unix socket). A connect
 * that fails at once moves on to the next address, if any. */
static void connect_to(redisconn_conn *conn, const char *ip)
{
    redisAsyncContext *ac;

    if (conn->addr.kind == REDISCONN_ADDR_UNIX)
        ac = redisAsyncConnectUnix(conn->addr.path);
    else
        ac = redisAsyncConnect(ip, conn->addr.port);
    if (ac == NULL) {
        redisconn__dial_fail(conn, REDISCONN_ERR_NOMEM, "out of memory");
        return;
    }
    if (ac->err) { /* failed at once: hiredis has not started anything, free it here */
        if (conn->ip_next < conn->ip_count) {
            redisAsyncFree(ac);
            connect_to(conn, conn->ips[conn->ip_next++]);
            return;
        }
        redisconn__dial_fail(conn, REDISCONN_ERR_CONNECT, ac->errstr);
        redisAsyncFree(ac);
        return;
    }
    tune_socket(conn, ac->c.fd);
    redisAsyncSetConnectCallback(ac, on_connect);
    if (redisconn__reply_attach(conn, ac) != 0) {
        redisAsyncFree(ac);
        redisconn__dial_fail(conn, REDISCONN_ERR_NOMEM, "out of memory");
        return;
    }
    conn->dial_stage = DIAL_HANDSHAKE;
    conn->reopen = conn->ip_next < conn->ip_count ? reopen : NULL;
    if (send_handshake(conn) != REDISCONN_OK) {
        conn->dial_status = REDISCONN_ERR_NOMEM;
        redisconn__conn_close(conn, REDISCONN_ERR_NOMEM);
    }
}

/* Appends the addresses of `family` in `res` to conn->ips as text. */
static void collect(redisconn_conn *conn, const struct evutil_addrinfo *res, int family)
{
    for (const struct evutil_addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        const void *in;
        if (ai->ai_family != family || conn->ip_count >= MAX_ADDRESSES) continue;
        if (family == AF_INET)
            in = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
        else
            in = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
        if (inet_ntop(family, in, conn->ips[conn->ip_count], sizeof(conn->ips[0])) != NULL)
            conn->ip_count++;
    }
}

/* Keeps up to MAX_ADDRESSES answers, IPv4 first (Redis binds 127.0.0.1 by
 * default). Returns 0, or -1 when there is none usable (or no memory). */
static int keep_addresses(redisconn_conn *conn, const struct evutil_addrinfo *res)
{
    free(conn->ips);
    conn->ip_count = conn->ip_next = 0;
    conn->ips = malloc(MAX_ADDRESSES * sizeof(conn->ips[0]));
    if (conn->ips == NULL) return -1;
    collect(conn, res, AF_INET);
    collect(conn, res, AF_INET6);
    return conn->ip_count > 0 ? 0 : -1;
}

static void on_resolved(int err, struct evutil_addrinfo *res, void *arg)
{
    redisconn_conn *conn = arg;
    char msg[200];
    int picked = -1;

    conn->dns_req = NULL;
    if (err == 0) picked = keep_addresses(conn, res);
    if (res != NULL) evutil_freeaddrinfo(res);
    if (err == EVUTIL_EAI_CANCEL || conn->broken) { /* canceled while resolving */
        if (conn->dial_status == 0) conn->dial_status = conn->abort_status;
        conn->dial_stage = DIAL_FAILED;
        redisconn__conn_dead(conn);
        return;
    }
    if (err != 0 || picked != 0) {
        snprintf(msg, sizeof(msg), "cannot resolve \"%s\": %s", conn->addr.host,
                 err ? evutil_gai_strerror(err) : "no usable address");
        redisconn__dial_fail(conn, REDISCONN_ERR_RESOLVE, msg);
        return;
    }
    if (conn->dial_deadline_us && redisconn__now_us() >= conn->dial_deadline_us) {
        redisconn__dial_fail(conn, REDISCONN_ERR_CONNECT, "connect timeout (name resolution)");
        return;
    }
    connect_to(conn, conn->ips[conn->ip_next++]);
}

static struct evdns_base *dns_base(redisconn__conn_env *env)
{
    char timeout[32];
    if (env->dns != NULL) return env->dns;
    env->dns = evdns_base_new(env->base,
                              EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (env->dns == NULL) return NULL;
    if (env->connect_timeout_ms > 0) {
        snprintf(timeout, sizeof(timeout), "%.3f", (double)env->connect_timeout_ms / 1000.0);
        evdns_base_set_option(env->dns, "timeout:", timeout);
        evdns_base_set_option(env->dns, "attempts:", "1");
    }
    return env->dns;
}

static void resolve(redisconn_conn *conn)
{
    struct evutil_addrinfo hints;
    struct evdns_base *dns = dns_base(conn->env);
    struct evdns_getaddrinfo_request *req;
    if (dns == NULL) {
        redisconn__dial_fail(conn, REDISCONN_ERR_NOMEM, "cannot create the DNS resolver");
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    conn->dial_stage = DIAL_RESOLVING;
    req = evdns_getaddrinfo(dns, conn->addr.host, NULL, &hints, on_resolved, conn);
    if (req != NULL) conn->dns_req = req; /* NULL: on_resolved already ran */
}

void redisconn__dial_start(redisconn_conn *conn)
{
    const redisconn__conn_env *env = conn->env;
    assert(conn->dial_stage == DIAL_NONE);
    conn->dial_stage = DIAL_LOCATING;
    conn->dial_deadline_us = redisconn__deadline_at(conn->created_us, env->connect_timeout_ms);
    env->locator.locate(env->locator.self, conn);
}

void redisconn__dial_to(redisconn_conn *conn, const redisconn__addr *addr)
{
    assert(conn->dial_stage == DIAL_LOCATING);
    if (redisconn__addr_copy(&conn->addr, addr) != REDISCONN_OK) {
        redisconn__dial_fail(conn, REDISCONN_ERR_NOMEM, "out of memory");
        return;
    }
    redisconn__log(conn->env->log, REDISCONN_LOG_DEBUG, "opening new Redis connection to %s",
                   conn->addr.text);
    if (conn->addr.kind == REDISCONN_ADDR_TCP && !conn->addr.numeric)
        resolve(conn);
    else
        connect_to(conn, conn->addr.host);
}

void redisconn__dial_timeout(redisconn_conn *conn)
{
    conn->dial_status = REDISCONN_ERR_CONNECT; /* TIMEOUT is the acquire's own */
    redisconn__conn_set_error(conn, "connect timeout");
    redisconn__conn_close(conn, REDISCONN_ERR_CONNECT);
}

void redisconn__dial_cancel(redisconn_conn *conn, int status)
{
    struct evdns_getaddrinfo_request *req;
    switch (conn->dial_stage) {
    case DIAL_LOCATING:
        conn->env->locator.cancel(conn->env->locator.self, conn);
        conn->abort_status = status;
        redisconn__dial_fail(conn, status, NULL);
        return;
    case DIAL_RESOLVING: /* on_resolved() or connect_next() reports the death */
        conn->abort_status = status;
        conn->broken = 1;
        req = conn->dns_req;
        conn->dns_req = NULL;
        if (req != NULL) evdns_getaddrinfo_cancel(req);
        return;
    case DIAL_HANDSHAKE:
    case DIAL_DONE:
        redisconn__conn_close(conn, status);
        return;
    case DIAL_NONE:
    case DIAL_FAILED:
        return; /* the dead report is on its way */
    }
}

void redisconn__dial_env_free(redisconn__conn_env *env)
{
    if (env->dns != NULL) evdns_base_free(env->dns, 1);
    env->dns = NULL;
}
