/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * route.c: one cluster command's journey. It goes, as a pool-level command,
 * to the node owning its slot; the answer may send it on:
 *  - MOVED slot addr: the slot moved for good — the map is patched at once,
 *    a refresh scheduled, the command sent to addr;
 *  - ASK slot addr: the slot is migrating — this one command goes to addr,
 *    preceded by ASKING on the same connection (a lease), the map unchanged;
 *  - TRYAGAIN, CLUSTERDOWN, LOADING: retried after a back-off (50 ms
 *    doubling, at most 1 s); CLUSTERDOWN also schedules a refresh;
 *  - the node could not be reached before the command was sent (CONNECT,
 *    RESOLVE): the node is suspect, the map refreshed, and the command —
 *    which never ran — retried after the same back-off;
 *  - the node's pool closed before sending it (CLOSED: the node left the
 *    map): the command goes where the new map says, counted as a redirection;
 *  - the connection broke or the command timed out (IO, TIMEOUT) once sent:
 *    the node is suspect and the map refreshed, but the command is not
 *    retried (it may have run): the caller gets the status.
 * With read_from_replicas, a read-only command goes to a replica of its
 * slot's master (slots.c picks one); if the replica fails it (any status,
 * or LOADING / MASTERDOWN), the replica is suspect and the command is resent
 * to the master at once — once per command, outside both bounds.
 * At most max_redirects redirections (then REDIRECT) and max_retries
 * retries (then the last answer); every request calls back exactly once. A
 * command whose slot has no known owner waits for the slot map, at most its
 * timeout (TIMEOUT).
 */
#include "cluster/internal.h"
#include "pool/classify.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Back-off of retry `n` (1-based): 50 ms doubling, at most this. */
#define RETRY_MAX_MS 1000

static void dispatch(redisconn__cl_req *r);

static void req_free(redisconn__cl_req *r)
{
    redisconn_cluster *cl = r->cluster;
    redisconn__timer_destroy(&r->retry);
    free(r);
    cl->requests--;
    redisconn__cluster_progress(cl);
}

/* The request's one callback. */
static void finish(redisconn__cl_req *r, int status, redisReply *reply)
{
    redisconn_reply_cb cb = r->cb;
    void *privdata = r->privdata;
    req_free(r);
    if (cb) cb(NULL, status, reply, privdata);
}

/* The attempt's deadline budget: its own timeout, or the pools' command timeout. */
static int64_t attempt_ms(const redisconn__cl_req *r)
{
    int64_t t = r->cluster->opts.pool.command_timeout_ms;
    return r->timeout_ms > 0 ? r->timeout_ms : (t > 0 ? t : 5000);
}

/* ---- waiting for the map ------------------------------------------------- */

/* Fails the waiting requests whose deadline passed; re-arms for the others. */
static void on_wait_timer(void *arg)
{
    redisconn_cluster *cl = arg;
    uint64_t now = redisconn__now_us(), next = 0;
    redisconn__link expired, *l, *nx;
    redisconn__list_init(&expired);
    for (l = cl->waiting.next; l != &cl->waiting; l = nx) {
        redisconn__cl_req *r = REDISCONN_CONTAINER_OF(l, redisconn__cl_req, link);
        nx = l->next;
        if (r->wait_deadline_us > now) {
            if (next == 0 || r->wait_deadline_us < next) next = r->wait_deadline_us;
            continue;
        }
        redisconn__list_remove(l);
        redisconn__list_push_back(&expired, l);
    }
    redisconn__timer_arm(&cl->wait_timer, next);
    while ((l = redisconn__list_first(&expired)) != NULL) { /* detach, then deliver */
        redisconn__list_remove(l);
        finish(REDISCONN_CONTAINER_OF(l, redisconn__cl_req, link), REDISCONN_ERR_TIMEOUT, NULL);
    }
}

void redisconn__route_init(redisconn_cluster *cl)
{
    redisconn__timer_init(&cl->wait_timer, cl->base, on_wait_timer, cl);
}

/* No node to send to: wait for a map (within the attempt's time). */
static void wait_for_map(redisconn__cl_req *r)
{
    redisconn_cluster *cl = r->cluster;
    r->wait_deadline_us = redisconn__deadline_after(attempt_ms(r));
    redisconn__list_push_back(&cl->waiting, &r->link);
    redisconn__timer_arm(&cl->wait_timer, r->wait_deadline_us);
    if (!cl->refreshing) redisconn__slots_refresh(cl); /* (one out serves it too) */
}

void redisconn__route_map_ready(redisconn_cluster *cl, int status)
{
    redisconn__link batch, *l;
    redisconn__list_move(&batch, &cl->waiting);
    while ((l = redisconn__list_first(&batch)) != NULL) {
        redisconn__cl_req *r = REDISCONN_CONTAINER_OF(l, redisconn__cl_req, link);
        redisconn__list_remove(l);
        if (status != REDISCONN_OK || cl->closed)
            finish(r, cl->closed ? REDISCONN_ERR_CLOSED : status, NULL);
        else if (redisconn__slots_owner(cl, r->slot) < 0) /* still no owner: the slot is down */
            finish(r, REDISCONN_ERR_CONNECT, NULL);
        else
            dispatch(r);
    }
}

/* ---- retries --------------------------------------------------------------- */

static void on_retry(void *arg)
{
    redisconn__cl_req *r = arg;
    redisconn__list_remove(&r->link);
    dispatch(r);
}

/* Schedules the next attempt after the back-off of one more retry.
 * Returns 0, or -1 when the retries are used up. */
static int retry_later(redisconn__cl_req *r)
{
    redisconn_cluster *cl = r->cluster;
    int64_t ms;
    if (r->retries >= cl->opts.max_retries) return -1;
    ms = r->retries < 5 ? 50LL << r->retries : RETRY_MAX_MS;
    if (ms > RETRY_MAX_MS) ms = RETRY_MAX_MS;
    if (redisconn__timer_arm(&r->retry, redisconn__deadline_after(ms)) != 0) return -1;
    r->retries++;
    cl->stats.retries++;
    redisconn__list_push_back(&cl->retrying, &r->link);
    return 0;
}

void redisconn__route_close(redisconn_cluster *cl)
{
    redisconn__link batch, *l;
    redisconn__list_move(&batch, &cl->retrying);
    while ((l = redisconn__list_first(&batch)) != NULL) {
        redisconn__cl_req *r = REDISCONN_CONTAINER_OF(l, redisconn__cl_req, link);
        redisconn__list_remove(l);
        redisconn__timer_disarm(&r->retry);
        finish(r, REDISCONN_ERR_CLOSED, NULL);
    }
}

/* ---- redirections ----------------------------------------------------------- */

/* "MOVED 3999 127.0.0.1:6381" / "ASK ...": the target's node index (created
 * if new), or -1. An empty host (":6381") is the host of the node asked. */
static int redirect_target(redisconn__cl_req *r, const char *msg, int *slot)
{
    redisconn_cluster *cl = r->cluster;
    const char *sp1 = strchr(msg, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    char addr[300], host[256];
    if (sp2 == NULL || sp2[1] == '\0') return -1;
    *slot = atoi(sp1 + 1);
    if (*slot < 0 || *slot >= REDISCONN__SLOTS) return -1;
    if (sp2[1] == ':') {
        redisconn__cluster_node_host(cl, r->node, host, sizeof(host));
        if (host[0] == '\0') return -1;
        snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]%s" : "%s%s", host, sp2 + 1);
    } else {
        snprintf(addr, sizeof(addr), "%s", sp2 + 1);
    }
    return redisconn__cluster_node(cl, addr);
}

/* MOVED or ASK: the request goes on (or fails with REDIRECT). Returns 0
 * when the reply is the answer after all (an unusable target). */
static int redirect(redisconn__cl_req *r, const char *m)
{
    redisconn_cluster *cl = r->cluster;
    int slot, node, ask = m[0] == 'A';
    if (++r->redirects > cl->opts.max_redirects) {
        finish(r, REDISCONN_ERR_REDIRECT, NULL);
        return 1;
    }
    node = redirect_target(r, m, &slot);
    if (node < 0) return 0;
    if (ask) {
        cl->stats.ask++;
        r->ask_node = node;
    } else {
        cl->stats.moved++;
        cl->slots[slot] = (uint16_t)(node + 1);
        cl->nodes[node]->in_map = cl->nodes[node]->master = 1;
        redisconn__slots_refresh(cl);
    }
    dispatch(r);
    return 1;
}

/* An error reply: a redirection or a retry, or the answer. Returns 1 when
 * the request went on (or was finished here). */
static int follow(redisconn__cl_req *r, const redisReply *reply)
{
    const char *m = reply->str;
    if (m == NULL) return 0;
    if (strncmp(m, "MOVED ", 6) == 0 || strncmp(m, "ASK ", 4) == 0) return redirect(r, m);
    if (strncmp(m, "TRYAGAIN", 8) == 0 || strncmp(m, "CLUSTERDOWN", 11) == 0 ||
        strncmp(m, "LOADING", 7) == 0) {
        if (retry_later(r) != 0) return 0;
        if (m[0] == 'C') redisconn__slots_refresh(r->cluster);
        return 1;
    }
    return 0;
}

/* The node of the attempt failed: suspect, and the map is asked again. */
static void node_failed(redisconn__cl_req *r)
{
    redisconn_cluster *cl = r->cluster;
    if (r->node >= 0 && r->node < cl->nnodes) cl->nodes[r->node]->suspect = 1;
    redisconn__slots_refresh(cl);
}

/* True when a replica's answer says it cannot serve reads now (an RDB
 * loading after a full sync, its master link down with stale reads off). */
static int replica_unready(int status, const redisReply *reply)
{
    return status == REDISCONN_OK && reply->type == REDIS_REPLY_ERROR && reply->str != NULL &&
           (strncmp(reply->str, "LOADING", 7) == 0 || strncmp(reply->str, "MASTERDOWN", 10) == 0);
}

/* A read on a replica failed (any status but OK, or replica_unready): the
 * replica is suspect (no reads until its retry time), the map asked again
 * unless it only was unready, and the read — which changes nothing — goes
 * to the master now. The request goes on (or is finished) in every case. */
static void replica_failed(redisconn__cl_req *r, int status)
{
    redisconn_cluster *cl = r->cluster;
    redisconn__cl_node *n = cl->nodes[r->node];
    n->suspect = 1;
    n->retry_at_us = redisconn__deadline_after(REDISCONN__REPLICA_RETRY_MS);
    if (status != REDISCONN_OK) redisconn__slots_refresh(cl);
    cl->stats.replica_fallbacks++;
    r->on_replica = 0;
    r->fell_back = 1;
    dispatch(r);
}

/* An attempt's answer: the request goes on (fallback from a replica,
 * redirection, retry, resend) or calls back — exactly once either way. */
static void on_reply(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    redisconn__cl_req *r = privdata;
    redisconn_cluster *cl = r->cluster;
    (void)conn;
    if (cl->closed) {
        finish(r, status, reply);
        return;
    }
    if (r->on_replica && (status != REDISCONN_OK || replica_unready(status, reply))) {
        replica_failed(r, status);
        return;
    }
    r->on_replica = 0;
    switch (status) {
    case REDISCONN_OK:
        cl->nodes[r->node]->suspect = 0;
        if (reply->type == REDIS_REPLY_ERROR && follow(r, reply)) return;
        break;
    case REDISCONN_ERR_CONNECT: /* never sent: safe to send again */
    case REDISCONN_ERR_RESOLVE:
        node_failed(r);
        if (retry_later(r) == 0) return;
        break;
    case REDISCONN_ERR_CLOSED: /* the node's pool closed before sending it */
        if (++r->redirects <= cl->opts.max_redirects) {
            dispatch(r);
            return;
        }
        break;
    case REDISCONN_ERR_IO: /* may have run: the caller is told */
    case REDISCONN_ERR_TIMEOUT:
        node_failed(r);
        break;
    default:
        break;
    }
    finish(r, status, reply);
}

/* ---- ASK: ASKING and the command on one leased connection ------------------ */

static void on_asking(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    (void)conn;
    (void)status;
    (void)reply;
    (void)privdata; /* the command's own reply tells */
}

static void on_ask_lease(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    redisconn__cl_req *r = arg;
    int rc;
    (void)errmsg;
    if (status != REDISCONN_OK) {
        on_reply(NULL, status, NULL, r);
        return;
    }
    rc = redisconn_command(conn, on_asking, NULL, "ASKING");
    if (rc == REDISCONN_OK) rc = redisconn_command_formatted(conn, on_reply, r, r->cmd, r->len);
    redisconn_release(conn); /* the replies still come; then the lease is reused */
    if (rc != REDISCONN_OK) finish(r, rc, NULL);
}

/* ---- dispatch ----------------------------------------------------------------- */

/* The node for the request's next attempt: the ASK target, else — for a
 * read that no replica failed yet — a replica of the slot's master, else
 * that master (or some master when keyless); -1 when no node is known.
 * Sets r->on_replica. */
static int target(redisconn__cl_req *r)
{
    redisconn_cluster *cl = r->cluster;
    int node, replica;
    r->on_replica = 0;
    if (r->ask_node >= 0) return r->ask_node;
    node = redisconn__slots_owner(cl, r->slot);
    if (node < 0 || !r->read || r->fell_back || cl->nodes[node]->closing) return node;
    replica = redisconn__slots_replica(cl, node);
    if (replica < 0) return node;
    r->on_replica = 1;
    return replica;
}

/* Sends the request to `node` as a pool-level command; returns the pool's
 * status (not OK: nothing was sent and nothing will call back). */
static int send_to(redisconn__cl_req *r, int node)
{
    redisconn_cluster *cl = r->cluster;
    r->node = node;
    if (r->on_replica) cl->stats.replica_commands++;
    return redisconn_pool_command_formatted(cl->nodes[node]->pool, r->timeout_ms, on_reply, r,
                                            r->cmd, r->len);
}

/* Sends the request to its node (or the ASK target); waits for the map
 * when there is no node to send it to. Errors reach the callback. */
static void dispatch(redisconn__cl_req *r)
{
    redisconn_cluster *cl = r->cluster;
    int node = target(r), rc;
    if (cl->closed) {
        finish(r, REDISCONN_ERR_CLOSED, NULL);
        return;
    }
    if (node < 0 || cl->nodes[node]->closing) {
        wait_for_map(r);
        return;
    }
    if (r->ask_node >= 0) {
        r->node = node;
        r->ask_node = -1;
        if (redisconn_pool_acquire(cl->nodes[node]->pool, attempt_ms(r), on_ask_lease, r) == NULL)
            finish(r, REDISCONN_ERR_NOMEM, NULL);
        return;
    }
    rc = send_to(r, node);
    if (rc != REDISCONN_OK) finish(r, rc, NULL);
}

/* What a pool-level command refuses, refused before the map is in too:
 * REDISCONN_OK, UNSUPPORTED or LEASE_REQUIRED. */
static int check_stateless(const char *cmd, size_t len)
{
    unsigned cls = redisconn__classify(cmd, len);
    int64_t block_ms;
    if (cls & CLS_UNSUPPORTED) return REDISCONN_ERR_UNSUPPORTED;
    if (cls & CLS_STATEFUL) return REDISCONN_ERR_LEASE_REQUIRED;
    if ((cls & CLS_BLOCKING) && redisconn__classify_block_ms(cmd, len, &block_ms))
        return REDISCONN_ERR_LEASE_REQUIRED;
    return REDISCONN_OK;
}

int redisconn__route_submit(redisconn_cluster *cl, int64_t timeout_ms, redisconn_reply_cb cb,
                            void *privdata, const char *cmd, size_t len)
{
    int slot = redisconn__keys_slot(cmd, len), node, rc;
    redisconn__cl_req *r;
    if (slot < -1) return slot; /* CROSSSLOT, CLUSTER, UNSUPPORTED */
    if ((rc = check_stateless(cmd, len)) != REDISCONN_OK) return rc;
    r = malloc(sizeof(*r) + len);
    if (r == NULL) return REDISCONN_ERR_NOMEM;
    memset(r, 0, sizeof(*r));
    r->cluster = cl;
    r->cb = cb;
    r->privdata = privdata;
    r->timeout_ms = timeout_ms;
    r->slot = slot;
    r->ask_node = -1;
    r->read = cl->opts.read_from_replicas && slot >= 0 && redisconn__keys_is_read(cmd, len);
    r->len = len;
    memcpy(r->cmd, cmd, len);
    redisconn__timer_init(&r->retry, cl->base, on_retry, r);
    cl->stats.commands++;
    cl->requests++;
    node = target(r);
    if (node < 0) { /* no map yet: it waits (and calls back from the loop) */
        wait_for_map(r);
        return REDISCONN_OK;
    }
    rc = send_to(r, node);
    if (rc != REDISCONN_OK) {
        cl->stats.commands--;
        cl->stats.replica_commands -= r->on_replica;
        req_free(r); /* refused before anything was sent */
    }
    return rc;
}
