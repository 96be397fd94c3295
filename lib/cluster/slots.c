/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slots.c: the slot map — which node owns each of the 16384 slots, read
 * from CLUSTER SLOTS of any node that answers (the map's nodes first, then
 * the seeds), refreshed every refresh_interval_ms and on demand (after a
 * MOVED, a node failing), one refresh at a time and at most every
 * min_refresh_interval_ms. Never blocks the loop: it is a pool-level command.
 */
#include "cluster/internal.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), bit by bit: the slot
 * function Redis Cluster specifies. */
static uint16_t crc16(const char *buf, size_t len)
{
    unsigned crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned)(unsigned char)buf[i] << 8;
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000u) ? ((crc << 1) ^ 0x1021u) & 0xffffu : (crc << 1) & 0xffffu;
    }
    return (uint16_t)crc;
}

int redisconn_cluster_keyslot(const char *key, size_t keylen)
{
    const char *open = key ? memchr(key, '{', keylen) : NULL, *close;
    if (key == NULL) return 0;
    if (open != NULL) {
        close = memchr(open + 1, '}', keylen - (size_t)(open + 1 - key));
        if (close != NULL && close > open + 1) /* a non-empty {tag}: only it is hashed */
            return crc16(open + 1, (size_t)(close - open - 1)) & (REDISCONN__SLOTS - 1);
    }
    return crc16(key, keylen) & (REDISCONN__SLOTS - 1);
}

int redisconn__slots_owner(const redisconn_cluster *cl, int slot)
{
    if (!cl->have_map) return -1;
    if (slot >= 0) return (int)cl->slots[slot] - 1;
    for (int i = 0; i < cl->nnodes; i++) /* no key: the first live master */
        if (cl->nodes[i]->master && cl->nodes[i]->in_map && !cl->nodes[i]->closing) return i;
    return -1;
}

/* "ip:port" of a CLUSTER SLOTS endpoint [ip, port, ...]; an empty ip means
 * the node that answered; "?" (unknown endpoint) gives 0. */
static int endpoint(const redisReply *e, const char *asked, char *out, size_t len)
{
    const char *ip;
    size_t hostlen;
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_INTEGER ||
        e->element[1]->integer <= 0 || e->element[1]->integer > 65535)
        return 0;
    ip = e->element[0]->str;
    if (strcmp(ip, "?") == 0) return 0;
    if (ip[0] == '\0') { /* "the node you asked": its host */
        const char *colon = strrchr(asked, ':');
        hostlen = colon ? (size_t)(colon - asked) : strlen(asked);
        snprintf(out, len, "%.*s:%lld", (int)hostlen, asked, e->element[1]->integer);
        return 1;
    }
    snprintf(out, len, strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, e->element[1]->integer);
    return 1;
}

/* Builds the map from a CLUSTER SLOTS reply into `owner`. Returns the
 * number of slots covered, or -1 for a malformed reply. */
static int parse_slots(redisconn_cluster *cl, const redisReply *r, const char *asked,
                       uint16_t *owner)
{
    int covered = 0;
    char addr[300];
    if (r->type != REDIS_REPLY_ARRAY) return -1;
    memset(owner, 0, REDISCONN__SLOTS * sizeof(*owner));
    for (int i = 0; i < cl->nnodes; i++)
        cl->nodes[i]->in_map = cl->nodes[i]->master = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        long long from, to;
        int node;
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER)
            return -1;
        from = e->element[0]->integer;
        to = e->element[1]->integer;
        if (from < 0 || to >= REDISCONN__SLOTS || from > to) return -1;
        if (!endpoint(e->element[2], asked, addr, sizeof(addr))) continue; /* owner unknown */
        node = redisconn__cluster_node(cl, addr);
        if (node < 0) continue;
        cl->nodes[node]->in_map = cl->nodes[node]->master = 1;
        for (long long s = from; s <= to; s++)
            owner[s] = (uint16_t)(node + 1);
        covered += (int)(to - from + 1);
    }
    return covered;
}

static void ask_next(redisconn_cluster *cl);

/* The nodes' flags as the current map has them (after a reply that was no map). */
static void mark_from_map(redisconn_cluster *cl)
{
    for (int i = 0; i < cl->nnodes; i++)
        cl->nodes[i]->in_map = cl->nodes[i]->master = 0;
    for (int s = 0; s < REDISCONN__SLOTS; s++)
        if (cl->slots[s] > 0)
            cl->nodes[cl->slots[s] - 1]->in_map = cl->nodes[cl->slots[s] - 1]->master = 1;
}

/* The reply of CLUSTER SLOTS. */
static void on_slots(redisconn_conn *conn, int status, redisReply *r, void *privdata)
{
    redisconn_cluster *cl = privdata;
    int covered = -1, asked = cl->refresh_next;
    (void)conn;
    if (cl->closed) {
        cl->refreshing = 0;
        redisconn__cluster_progress(cl);
        return;
    }
    if (status == REDISCONN_OK && r->type != REDIS_REPLY_ERROR) {
        uint16_t *owner = malloc(REDISCONN__SLOTS * sizeof(*owner));
        if (owner != NULL) {
            covered = parse_slots(
                cl, r, asked < cl->nnodes ? cl->nodes[asked]->addr : cl->seeds[asked - cl->nnodes],
                owner);
            if (covered > 0) memcpy(cl->slots, owner, sizeof(cl->slots));
            free(owner);
        }
    }
    if (covered <= 0) { /* this node could not tell: keep the old map, ask the next */
        mark_from_map(cl);
        cl->refresh_next++;
        ask_next(cl);
        return;
    }
    cl->refreshing = 0;
    cl->have_map = 1;
    cl->stats.refreshes++;
    cl->stats.slots_covered = covered;
    cl->last_refresh_us = redisconn__now_us();
    redisconn__cluster_drop_unused(cl);
    redisconn__route_map_ready(cl, REDISCONN_OK, NULL);
    if (cl->refresh_again) redisconn__slots_refresh(cl, 0);
}

/* Sends CLUSTER SLOTS to candidate refresh_next: a node of the map, then a
 * seed. None left: the refresh failed. */
static void ask_next(redisconn_cluster *cl)
{
    static const char cmd[] = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";
    int total = cl->nnodes + cl->nseeds;
    while (cl->refresh_next < total) {
        int i = cl->refresh_next, node;
        node = i < cl->nnodes ? i : redisconn__cluster_node(cl, cl->seeds[i - cl->nnodes]);
        if (node >= 0 && !cl->nodes[node]->closing &&
            redisconn_pool_command_formatted(cl->nodes[node]->pool, 0, on_slots, cl, cmd,
                                             sizeof(cmd) - 1) == REDISCONN_OK)
            return;
        cl->refresh_next++;
    }
    cl->refreshing = 0;
    cl->stats.refresh_errors++;
    redisconn__route_map_ready(cl, REDISCONN_ERR_CONNECT, "no cluster node answered CLUSTER SLOTS");
}

static void start(redisconn_cluster *cl)
{
    cl->refreshing = 1;
    cl->refresh_again = 0;
    cl->refresh_next = 0;
    ask_next(cl);
}

static void on_timer(void *arg)
{
    redisconn_cluster *cl = arg;
    if (cl->closed) return;
    if (cl->refreshing)
        cl->refresh_again = 1;
    else
        start(cl);
    if (cl->opts.refresh_interval_ms > 0)
        redisconn__timer_arm(&cl->refresh_timer,
                             redisconn__deadline_after(cl->opts.refresh_interval_ms));
}

void redisconn__slots_refresh(redisconn_cluster *cl, int urgent)
{
    uint64_t now = redisconn__now_us(), next;
    if (cl->closed) return;
    if (cl->refreshing) {
        cl->refresh_again = 1;
        return;
    }
    next = cl->last_refresh_us + redisconn__ms_to_us(cl->opts.min_refresh_interval_ms);
    if (!urgent && cl->last_refresh_us != 0 && now < next) {
        redisconn__timer_arm(&cl->refresh_timer, next); /* coalesced into one, later */
        return;
    }
    start(cl);
}

void redisconn__slots_init(redisconn_cluster *cl)
{
    redisconn__timer_init(&cl->refresh_timer, cl->base, on_timer, cl);
    if (cl->opts.refresh_interval_ms > 0)
        redisconn__timer_arm(&cl->refresh_timer,
                             redisconn__deadline_after(cl->opts.refresh_interval_ms));
}
