/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * route.c: one cluster command's journey. It goes, as a pool-level command,
 * to the node owning its slot; the answer may send it on:
 *  - MOVED slot addr: the slot moved for good — the map is patched at once,
 *    a refresh scheduled, the command sent to addr;
 *  - ASK slot addr: the slot is migrating — this one command goes to addr,
 *    preceded by ASKING on the same connection (a lease), the map unchanged;
 *  - TRYAGAIN, CLUSTERDOWN: retried after a back-off (50 ms doubling);
 *  - a failure to reach the node (CONNECT, RESOLVE): the map is refreshed
 *    and the command, which was never sent, goes once more.
 * At most max_redirects redirections and max_retries retries; every request
 * calls back exactly once. A command whose node is not known yet waits for
 * the slot map.
 */
#include "cluster/internal.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* "MOVED 3999 127.0.0.1:6381" / "ASK ...": the target's node index, or -1. */
static int redirect_target(redisconn_cluster *cl, const char *msg, int *slot)
{
    const char *sp1 = strchr(msg, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    char addr[300];
    if (sp2 == NULL) return -1;
    *slot = atoi(sp1 + 1);
    if (*slot < 0 || *slot >= REDISCONN__SLOTS) return -1;
    snprintf(addr, sizeof(addr), "%s", sp2 + 1);
    if (addr[0] == ':') { /* an empty host: "the node you asked" is not known here */
        return -1;
    }
    return redisconn__cluster_node(cl, addr);
}

static void on_retry(void *arg)
{
    dispatch(arg);
}

/* An error reply: a redirection or a retry, or the answer. Returns 1 when
 * the request went on. */
static int follow(redisconn__cl_req *r, const redisReply *reply)
{
    redisconn_cluster *cl = r->cluster;
    const char *m = reply->str;
    int slot, node;
    if (strncmp(m, "MOVED ", 6) == 0 || strncmp(m, "ASK ", 4) == 0) {
        int ask = m[0] == 'A';
        if (++r->redirects > cl->opts.max_redirects) return 0;
        node = redirect_target(cl, m, &slot);
        if (node < 0) return 0;
        if (ask) {
            cl->stats.ask++;
            r->ask_node = node;
        } else {
            cl->stats.moved++;
            cl->slots[slot] = (uint16_t)(node + 1);
            cl->nodes[node]->in_map = cl->nodes[node]->master = 1;
            redisconn__slots_refresh(cl, 0);
        }
        dispatch(r);
        return 1;
    }
    if (strncmp(m, "TRYAGAIN", 8) == 0 || strncmp(m, "CLUSTERDOWN", 11) == 0) {
        if (r->retries >= cl->opts.max_retries) return 0;
        cl->stats.retries++;
        redisconn__timer_arm(&r->retry, redisconn__deadline_after(50LL << r->retries++));
        if (m[0] == 'C') redisconn__slots_refresh(cl, 0);
        return 1;
    }
    return 0;
}

static void on_reply(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    redisconn__cl_req *r = privdata;
    redisconn_cluster *cl = r->cluster;
    (void)conn;
    if (status == REDISCONN_OK && reply->type == REDIS_REPLY_ERROR && !cl->closed &&
        follow(r, reply))
        return;
    if ((status == REDISCONN_ERR_CONNECT || status == REDISCONN_ERR_RESOLVE) && !cl->closed &&
        !r->resent_after_refresh) { /* never sent: once more, after a new map */
        r->resent_after_refresh = 1;
        redisconn__list_push_back(&cl->waiting, &r->link);
        redisconn__slots_refresh(cl, 1);
        return;
    }
    if (status == REDISCONN_ERR_IO || status == REDISCONN_ERR_TIMEOUT)
        redisconn__slots_refresh(cl, 0); /* the node may be gone */
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
    redisconn_release(conn);
    if (rc != REDISCONN_OK) finish(r, rc, NULL);
}

/* Sends the request to its node (or the ASK target); waits for the map
 * when there is no node to send it to. Errors reach the callback. */
static void dispatch(redisconn__cl_req *r)
{
    redisconn_cluster *cl = r->cluster;
    int node = r->ask_node >= 0 ? r->ask_node : redisconn__slots_owner(cl, r->slot), rc;
    if (cl->closed) {
        finish(r, REDISCONN_ERR_CLOSED, NULL);
        return;
    }
    if (node < 0 || cl->nodes[node]->closing) {
        redisconn__list_push_back(&cl->waiting, &r->link);
        redisconn__slots_refresh(cl, 1);
        return;
    }
    if (r->ask_node >= 0) {
        r->ask_node = -1;
        if (redisconn_pool_acquire(cl->nodes[node]->pool, r->timeout_ms, on_ask_lease, r) == NULL)
            finish(r, REDISCONN_ERR_NOMEM, NULL);
        return;
    }
    rc = redisconn_pool_command_formatted(cl->nodes[node]->pool, r->timeout_ms, on_reply, r, r->cmd,
                                          r->len);
    if (rc != REDISCONN_OK) finish(r, rc, NULL);
}

void redisconn__route_map_ready(redisconn_cluster *cl, int status, const char *msg)
{
    redisconn__link batch, *l;
    (void)msg;
    redisconn__list_move(&batch, &cl->waiting);
    while ((l = redisconn__list_first(&batch)) != NULL) {
        redisconn__cl_req *r = REDISCONN_CONTAINER_OF(l, redisconn__cl_req, link);
        redisconn__list_remove(l);
        if (status != REDISCONN_OK || cl->closed) {
            finish(r, cl->closed ? REDISCONN_ERR_CLOSED : status, NULL);
            continue;
        }
        if (redisconn__slots_owner(cl, r->slot) < 0) { /* still no owner: the slot is down */
            finish(r, REDISCONN_ERR_CONNECT, NULL);
            continue;
        }
        dispatch(r);
    }
}

int redisconn__route_submit(redisconn_cluster *cl, int64_t timeout_ms, redisconn_reply_cb cb,
                            void *privdata, const char *cmd, size_t len)
{
    int slot = redisconn__keys_slot(cmd, len), node, rc;
    redisconn__cl_req *r;
    if (slot < -1) return slot; /* CROSSSLOT, CLUSTER, UNSUPPORTED */
    r = malloc(sizeof(*r) + len);
    if (r == NULL) return REDISCONN_ERR_NOMEM;
    memset(r, 0, sizeof(*r));
    r->cluster = cl;
    r->cb = cb;
    r->privdata = privdata;
    r->timeout_ms = timeout_ms;
    r->slot = slot;
    r->ask_node = -1;
    r->len = len;
    memcpy(r->cmd, cmd, len);
    redisconn__timer_init(&r->retry, cl->base, on_retry, r);
    cl->stats.commands++;
    cl->requests++;
    node = redisconn__slots_owner(cl, slot);
    if (node < 0) { /* no map yet: it waits (and calls back from the loop) */
        redisconn__list_push_back(&cl->waiting, &r->link);
        redisconn__slots_refresh(cl, 1);
        return REDISCONN_OK;
    }
    rc = redisconn_pool_command_formatted(cl->nodes[node]->pool, timeout_ms, on_reply, r, cmd, len);
    if (rc != REDISCONN_OK) req_free(r); /* refused before anything was sent */
    return rc;
}
