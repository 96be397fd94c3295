/*
 * dial.c: opening a connection — asynchronous name resolution (evdns, since
 * hiredis 0.14 would block the loop in getaddrinfo), the non-blocking
 * connect, and the handshake (AUTH, then SELECT) that must succeed before the
 * connection is pooled. SELECT is always sent, even for db 0: its reply
 * proves the server accepted us (Redis answers "-ERR max number of clients
 * reached" to a connection it will not serve).
 *
 * A dial never reports failure synchronously: it queues the connection on
 * the pool's `failed` list, processed from the async event, so a server that
 * refuses every connect cannot recurse through dial -> fail -> dial.
 */
#include "pool/internal.h"
#include "util/clock.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/dns.h>
#include <event2/util.h>

enum { STAGE_AUTH = 1, STAGE_SELECT = 2 };

/* Records a failed dial; the pool reports it from the loop. */
static void fail(redisconn_conn *conn, int status, const char *msg)
{
    if (conn->dial_status == 0) conn->dial_status = status;
    if (msg != NULL && conn->errstr[0] == '\0') redisconn__conn_set_error(conn, msg);
    conn->broken = 1;
    redisconn__pool_dial_failed_later(conn, status, msg);
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
    if (conn->state != CONN_DIALING) return;
    if (status != REDISCONN_OK) { /* context dying: redisconn__pool_conn_dead() reports */
        if (conn->dial_status == 0)
            conn->dial_status = status == REDISCONN_ERR_IO ? REDISCONN_ERR_CONNECT : status;
        return;
    }
    if (conn->broken) return;
    if (reply->type == REDIS_REPLY_ERROR) {
        conn->dial_status = handshake_status(stage, reply->str);
        redisconn__conn_set_error(conn, reply->str);
        redisconn__conn_close(conn, CLOSE_DIAL_FAILED, REDISCONN_ERR_CONNECT);
        return;
    }
    if (stage != STAGE_SELECT) return;
    redisconn__log(conn->pool, REDISCONN_LOG_DEBUG, "redisconn: connected to %s (db %d)",
                   conn->pool->addr.text, conn->pool->opts.db);
    redisconn__pool_put(conn); /* leaves CONN_DIALING */
}

static int send_handshake(redisconn_conn *conn)
{
    redisconn_pool *pool = conn->pool;
    uint64_t dl = conn->dial_deadline_us;
    int rc = REDISCONN_OK;
    if (pool->password != NULL && pool->username != NULL)
        rc = redisconn__conn_sendf(conn, on_handshake, (void *)(intptr_t)STAGE_AUTH, dl,
                                   "AUTH %s %s", pool->username, pool->password);
    else if (pool->password != NULL)
        rc = redisconn__conn_sendf(conn, on_handshake, (void *)(intptr_t)STAGE_AUTH, dl, "AUTH %s",
                                   pool->password);
    if (rc == REDISCONN_OK)
        rc = redisconn__conn_sendf(conn, on_handshake, (void *)(intptr_t)STAGE_SELECT, dl,
                                   "SELECT %d", pool->opts.db);
    return rc;
}

/* Non-blocking connect to a numeric address (or the unix socket). */
static void connect_to(redisconn_conn *conn, const char *ip)
{
    redisconn_pool *pool = conn->pool;
    redisAsyncContext *ac;

    if (pool->addr.kind == REDISCONN_ADDR_UNIX)
        ac = redisAsyncConnectUnix(pool->addr.path);
    else
        ac = redisAsyncConnect(ip, pool->addr.port);
    if (ac == NULL) {
        fail(conn, REDISCONN_ERR_NOMEM, "out of memory");
        return;
    }
    if (ac->err) { /* failed at once: hiredis has not started anything, free it here */
        fail(conn, REDISCONN_ERR_CONNECT, ac->errstr);
        redisAsyncFree(ac);
        return;
    }
    if (redisconn__conn_attach(conn, ac) != 0) {
        redisAsyncFree(ac);
        fail(conn, REDISCONN_ERR_NOMEM, "out of memory");
        return;
    }
    if (send_handshake(conn) != REDISCONN_OK) {
        conn->dial_status = REDISCONN_ERR_NOMEM;
        redisconn__conn_close(conn, CLOSE_DIAL_FAILED, REDISCONN_ERR_NOMEM);
    }
}

/* Prefers IPv4 (Redis binds 127.0.0.1 by default), else the first answer. */
static int pick_address(const struct evutil_addrinfo *res, char *buf, size_t len)
{
    const struct evutil_addrinfo *ai, *pick = NULL;
    for (ai = res; ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    if (pick == NULL) pick = res;
    if (pick == NULL) return -1;
    if (pick->ai_family == AF_INET)
        return inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)pick->ai_addr)->sin_addr, buf,
                         (socklen_t)len)
                   ? 0
                   : -1;
    if (pick->ai_family == AF_INET6)
        return inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)pick->ai_addr)->sin6_addr, buf,
                         (socklen_t)len)
                   ? 0
                   : -1;
    return -1;
}

static void on_resolved(int err, struct evutil_addrinfo *res, void *arg)
{
    redisconn_conn *conn = arg;
    char ip[INET6_ADDRSTRLEN], msg[200];
    int picked = -1;

    conn->dns_req = NULL;
    if (err == 0) picked = pick_address(res, ip, sizeof(ip));
    if (res != NULL) evutil_freeaddrinfo(res);
    if (err == EVUTIL_EAI_CANCEL || conn->broken) { /* closed while resolving */
        if (conn->dial_status == 0) conn->dial_status = conn->abort_status;
        redisconn__pool_conn_dead(conn);
        return;
    }
    if (err != 0 || picked != 0) {
        snprintf(msg, sizeof(msg), "cannot resolve \"%s\": %s", conn->pool->addr.host,
                 err ? evutil_gai_strerror(err) : "no usable address");
        fail(conn, REDISCONN_ERR_RESOLVE, msg);
        return;
    }
    if (conn->dial_deadline_us && redisconn__now_us() >= conn->dial_deadline_us) {
        fail(conn, REDISCONN_ERR_CONNECT, "connect timeout (name resolution)");
        return;
    }
    connect_to(conn, ip);
}

static struct evdns_base *dns_base(redisconn_pool *pool)
{
    char timeout[32];
    if (pool->dns != NULL) return pool->dns;
    pool->dns = evdns_base_new(pool->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                               EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (pool->dns == NULL) return NULL;
    if (pool->opts.connect_timeout_ms > 0) {
        snprintf(timeout, sizeof(timeout), "%.3f", (double)pool->opts.connect_timeout_ms / 1000.0);
        evdns_base_set_option(pool->dns, "timeout:", timeout);
        evdns_base_set_option(pool->dns, "attempts:", "1");
    }
    return pool->dns;
}

static void resolve(redisconn_conn *conn)
{
    struct evutil_addrinfo hints;
    struct evdns_base *dns = dns_base(conn->pool);
    struct evdns_getaddrinfo_request *req;
    if (dns == NULL) {
        fail(conn, REDISCONN_ERR_NOMEM, "cannot create the DNS resolver");
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    req = evdns_getaddrinfo(dns, conn->pool->addr.host, NULL, &hints, on_resolved, conn);
    if (req != NULL) conn->dns_req = req; /* NULL: on_resolved already ran */
}

/* Opens one more connection for the pool. Never fails synchronously: a
 * failure is reported from the loop. Returns the connection (NULL on out of
 * memory) so the caller may mark what it is for. */
redisconn_conn *redisconn__dial(redisconn_pool *pool)
{
    redisconn_conn *conn = redisconn__conn_new(pool);
    if (conn == NULL) {
        pool->stats.dial_errors++;
        return NULL;
    }
    redisconn__list_push_back(&pool->conns, &conn->all);
    pool->active++;
    pool->stats.dials++;
    redisconn__conn_state(conn, CONN_DIALING);
    if (pool->opts.connect_timeout_ms > 0)
        conn->dial_deadline_us = conn->created_us + (uint64_t)pool->opts.connect_timeout_ms * 1000u;
    redisconn__log(pool, REDISCONN_LOG_DEBUG, "opening new Redis connection to %s",
                   pool->addr.text);
    if (pool->addr.kind == REDISCONN_ADDR_TCP && !pool->addr.numeric)
        resolve(conn);
    else
        connect_to(conn, pool->addr.host);
    return conn;
}

/* Cancels name resolution; on_resolved() then reports the death. */
void redisconn__dial_abort(redisconn_conn *conn)
{
    struct evdns_getaddrinfo_request *req = conn->dns_req;
    if (req == NULL) return;
    conn->dns_req = NULL;
    evdns_getaddrinfo_cancel(req);
}
