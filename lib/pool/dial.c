/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dial.c: opening a connection — asking the locator where to go, name
 * resolution (evdns, since hiredis 0.14 would block the loop in
 * getaddrinfo), the non-blocking connect, and the handshake (AUTH, then
 * SELECT) that must succeed before the connection is usable. SELECT is always
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
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/dns.h>
#include <event2/util.h>

enum { STAGE_AUTH = 1, STAGE_SELECT = 2 };

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

/* Maps a handshake error reply to a status. */
static int handshake_status(int stage, const char *msg)
{
    if (strstr(msg, "max number of clients") != NULL || strncmp(msg, "LOADING", 7) == 0)
        return REDISCONN_ERR_CONNECT;
    if (stage == STAGE_AUTH || strncmp(msg, "NOAUTH", 6) == 0 ||
        strncmp(msg, "WRONGPASS", 9) == 0 || strstr(msg, "password") != NULL)
        return REDISCONN_ERR_AUTH;
    return REDISCONN_ERR_SELECT;
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
        conn->dial_status = handshake_status(stage, reply->str);
        redisconn__conn_set_error(conn, reply->str);
        redisconn__conn_close(conn, REDISCONN_ERR_CONNECT);
        return;
    }
    if (stage != STAGE_SELECT) return;
    conn->dial_stage = DIAL_DONE;
    redisconn__log(conn->env->log, REDISCONN_LOG_DEBUG, "redisconn: connected to %s (db %d)",
                   conn->addr.text, conn->env->db);
    conn->env->hooks->ready(conn);
}

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
    if (rc == REDISCONN_OK)
        rc = redisconn__conn_sendf(conn, on_handshake, (void *)(intptr_t)STAGE_SELECT, dl,
                                   "SELECT %d", env->db);
    return rc;
}

/* Non-blocking connect to a numeric address (or the unix socket). */
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
        redisconn__dial_fail(conn, REDISCONN_ERR_CONNECT, ac->errstr);
        redisAsyncFree(ac);
        return;
    }
    if (redisconn__conn_attach(conn, ac) != 0) {
        redisAsyncFree(ac);
        redisconn__dial_fail(conn, REDISCONN_ERR_NOMEM, "out of memory");
        return;
    }
    conn->dial_stage = DIAL_HANDSHAKE;
    if (send_handshake(conn) != REDISCONN_OK) {
        conn->dial_status = REDISCONN_ERR_NOMEM;
        redisconn__conn_close(conn, REDISCONN_ERR_NOMEM);
    }
}

/* Prefers IPv4 (Redis binds 127.0.0.1 by default), else the first answer. */
static int pick_address(const struct evutil_addrinfo *res, char *buf, size_t len)
{
    const struct evutil_addrinfo *ai, *pick = NULL;
    const void *in;
    for (ai = res; ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    if (pick == NULL) pick = res;
    if (pick == NULL) return -1;
    if (pick->ai_family == AF_INET)
        in = &((const struct sockaddr_in *)(const void *)pick->ai_addr)->sin_addr;
    else if (pick->ai_family == AF_INET6)
        in = &((const struct sockaddr_in6 *)(const void *)pick->ai_addr)->sin6_addr;
    else
        return -1;
    return inet_ntop(pick->ai_family, in, buf, (socklen_t)len) ? 0 : -1;
}

static void on_resolved(int err, struct evutil_addrinfo *res, void *arg)
{
    redisconn_conn *conn = arg;
    char ip[INET6_ADDRSTRLEN], msg[200];
    int picked = -1;

    conn->dns_req = NULL;
    if (err == 0) picked = pick_address(res, ip, sizeof(ip));
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
    connect_to(conn, ip);
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
    case DIAL_RESOLVING: /* on_resolved() reports the death */
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
