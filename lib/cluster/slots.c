/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slots.c: the slot map — which node owns each of the 16384 slots, read
 * from CLUSTER SLOTS of any node that answers (the map's masters not
 * suspect first, then the seeds, then the suspect ones), refreshed every
 * refresh_interval_ms and on demand (after a MOVED, a node failing), one
 * refresh at a time and at most one start every min_refresh_interval_ms.
 * Never blocks the loop: it is a pool-level command, bounded by
 * refresh_timeout_ms per node asked. With read_from_replicas, each master's
 * replicas are kept too, and picked in turn for reads.
 */
#include "cluster/internal.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), the slot function
 * Redis Cluster specifies; crc16_table[b] is the CRC of the byte b << 8. */
static const uint16_t crc16_table[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7, 0x8108, 0x9129, 0xa14a, 0xb16b,
    0xc18c, 0xd1ad, 0xe1ce, 0xf1ef, 0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de, 0x2462, 0x3443, 0x0420, 0x1401,
    0x64e6, 0x74c7, 0x44a4, 0x5485, 0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4, 0xb75b, 0xa77a, 0x9719, 0x8738,
    0xf7df, 0xe7fe, 0xd79d, 0xc7bc, 0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b, 0x5af5, 0x4ad4, 0x7ab7, 0x6a96,
    0x1a71, 0x0a50, 0x3a33, 0x2a12, 0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41, 0xedae, 0xfd8f, 0xcdec, 0xddcd,
    0xad2a, 0xbd0b, 0x8d68, 0x9d49, 0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78, 0x9188, 0x81a9, 0xb1ca, 0xa1eb,
    0xd10c, 0xc12d, 0xf14e, 0xe16f, 0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e, 0x02b1, 0x1290, 0x22f3, 0x32d2,
    0x4235, 0x5214, 0x6277, 0x7256, 0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405, 0xa7db, 0xb7fa, 0x8799, 0x97b8,
    0xe75f, 0xf77e, 0xc71d, 0xd73c, 0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab, 0x5844, 0x4865, 0x7806, 0x6827,
    0x18c0, 0x08e1, 0x3882, 0x28a3, 0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92, 0xfd2e, 0xed0f, 0xdd6c, 0xcd4d,
    0xbdaa, 0xad8b, 0x9de8, 0x8dc9, 0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8, 0x6e17, 0x7e36, 0x4e55, 0x5e74,
    0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};

static uint16_t crc16(const char *buf, size_t len)
{
    unsigned crc = 0;
    for (size_t i = 0; i < len; i++)
        crc = ((crc << 8) ^ crc16_table[((crc >> 8) ^ (unsigned char)buf[i]) & 0xffu]) & 0xffffu;
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

int redisconn__slots_owner(redisconn_cluster *cl, int slot)
{
    int fallback = -1;
    if (!cl->have_map) return -1;
    if (slot >= 0) return (int)cl->slots[slot] - 1;
    for (int k = 0; k < cl->nnodes; k++) { /* no key: the masters in turn */
        int i = (cl->rr + k) % cl->nnodes;
        const redisconn__cl_node *n = cl->nodes[i];
        if (!n->master || !n->in_map || n->closing) continue;
        if (!n->suspect) {
            cl->rr = i + 1;
            return i;
        }
        if (fallback < 0) fallback = i;
    }
    return fallback;
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
        if (hostlen == 0) return 0;
        snprintf(out, len, "%.*s:%lld", (int)hostlen, asked, e->element[1]->integer);
        return 1;
    }
    snprintf(out, len, strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, e->element[1]->integer);
    return 1;
}

/* Notes (master, replica) in cl->pairs for installing later. Returns 0, or
 * -1 when out of memory (the replica is left out). */
static int note_pair(redisconn_cluster *cl, int master, int replica)
{
    if (cl->npairs + 2 > cl->pairs_cap) {
        int cap = cl->pairs_cap ? cl->pairs_cap * 2 : 16;
        int *p = realloc(cl->pairs, (size_t)cap * sizeof(*p));
        if (p == NULL) return -1;
        cl->pairs = p;
        cl->pairs_cap = cap;
    }
    cl->pairs[cl->npairs++] = master;
    cl->pairs[cl->npairs++] = replica;
    return 0;
}

/* The replicas of one CLUSTER SLOTS entry (endpoints 3 and on) of `master`,
 * when reads go to replicas: entries made, pairs noted. Unusable endpoints
 * ("?", malformed) are skipped. */
static void parse_replicas(redisconn_cluster *cl, const redisReply *e, const char *asked,
                           int master)
{
    char addr[300];
    if (!cl->opts.read_from_replicas) return;
    for (size_t j = 3; j < e->elements; j++) {
        int node;
        if (!endpoint(e->element[j], asked, addr, sizeof(addr))) continue;
        node = redisconn__cluster_replica(cl, addr);
        if (node >= 0) note_pair(cl, master, node);
    }
}

int redisconn__slots_parse(redisconn_cluster *cl, const redisReply *r, const char *asked,
                           uint16_t *owner)
{
    int covered = 0;
    char addr[300];
    if (r->type != REDIS_REPLY_ARRAY) return -1;
    memset(owner, 0, REDISCONN__SLOTS * sizeof(*owner));
    cl->npairs = 0;
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
        parse_replicas(cl, e, asked, node);
    }
    return covered;
}

/* The pairs of the reply just taken as the map become the masters' replica
 * lists (the old lists go); the replicas are marked in_map. */
static void install_replicas(redisconn_cluster *cl)
{
    for (int i = 0; i < cl->nnodes; i++)
        cl->nodes[i]->nreplicas = 0;
    for (int k = 0; k + 1 < cl->npairs; k += 2) {
        int master = cl->pairs[k], replica = cl->pairs[k + 1];
        if (!cl->nodes[master]->in_map || cl->nodes[replica]->closing) continue;
        if (redisconn__cluster_add_replica(cl, master, replica) == 0)
            cl->nodes[replica]->in_map = 1;
    }
    cl->npairs = 0;
}

int redisconn__slots_replica(redisconn_cluster *cl, int master)
{
    redisconn__cl_node *m = cl->nodes[master];
    uint64_t now = 0;
    for (int k = 0; k < m->nreplicas; k++) {
        int i = m->replicas[(m->rr + (unsigned)k) % (unsigned)m->nreplicas];
        redisconn__cl_node *n = cl->nodes[i];
        if (n->closing || !n->in_map) continue;
        if (n->suspect) {
            if (now == 0) now = redisconn__now_us();
            if (now < n->retry_at_us) continue;
            n->retry_at_us = redisconn__deadline_after(REDISCONN__REPLICA_RETRY_MS); /* 1 probe */
        }
        m->rr = (m->rr + (unsigned)k + 1) % (unsigned)m->nreplicas;
        return i;
    }
    return -1;
}

static void ask_next(redisconn_cluster *cl);

/* The nodes' flags as the current map has them (after a reply that was no
 * map): the owners of slots are masters, their listed replicas in the map. */
static void mark_from_map(redisconn_cluster *cl)
{
    cl->npairs = 0;
    for (int i = 0; i < cl->nnodes; i++)
        cl->nodes[i]->in_map = cl->nodes[i]->master = 0;
    for (int s = 0; s < REDISCONN__SLOTS; s++)
        if (cl->slots[s] > 0)
            cl->nodes[cl->slots[s] - 1]->in_map = cl->nodes[cl->slots[s] - 1]->master = 1;
    for (int i = 0; i < cl->nnodes; i++)
        for (int k = 0; cl->nodes[i]->master && k < cl->nodes[i]->nreplicas; k++)
            cl->nodes[cl->nodes[i]->replicas[k]]->in_map = 1;
}

/* The node entry for the address asked, or NULL (it went meanwhile). */
static redisconn__cl_node *asked_node(redisconn_cluster *cl)
{
    for (int i = 0; i < cl->nnodes; i++)
        if (!cl->nodes[i]->closing && strcmp(cl->nodes[i]->addr, cl->asked) == 0)
            return cl->nodes[i];
    return NULL;
}

/* A reply that is a map: it replaces ours. Returns the slots covered, or
 * <= 0 when it was no usable map (the old one is kept). */
static int apply(redisconn_cluster *cl, const redisReply *r)
{
    uint16_t *owner = malloc(REDISCONN__SLOTS * sizeof(*owner));
    int covered = -1;
    if (owner == NULL) return -1;
    covered = redisconn__slots_parse(cl, r, cl->asked, owner);
    if (covered > 0) {
        memcpy(cl->slots, owner, sizeof(cl->slots));
        install_replicas(cl);
    }
    free(owner);
    if (covered <= 0) mark_from_map(cl);
    return covered;
}

/* The reply of CLUSTER SLOTS. */
static void on_slots(redisconn_conn *conn, int status, redisReply *r, void *privdata)
{
    redisconn_cluster *cl = privdata;
    redisconn__cl_node *n = asked_node(cl);
    int covered = -1;
    (void)conn;
    if (cl->closed) {
        cl->refreshing = 0;
        redisconn__cluster_progress(cl);
        return;
    }
    if (status == REDISCONN_OK && r->type != REDIS_REPLY_ERROR) covered = apply(cl, r);
    if (n != NULL) n->suspect = status != REDISCONN_OK;
    if (covered <= 0) { /* this node could not tell: keep the old map, ask the next */
        cl->refresh_next++;
        ask_next(cl);
        return;
    }
    cl->refreshing = 0;
    cl->have_map = 1;
    cl->stats.refreshes++;
    cl->stats.slots_covered = covered;
    redisconn__cluster_drop_unused(cl);
    redisconn__route_map_ready(cl, REDISCONN_OK);
    if (cl->refresh_again) redisconn__slots_refresh(cl);
}

/* The node of candidate `c` (a node index, or -1 - seed index), or -1. */
static int candidate_node(redisconn_cluster *cl, int c)
{
    int node = c >= 0 ? c : redisconn__cluster_node(cl, cl->seeds[-1 - c]);
    if (node < 0 || node >= cl->nnodes || cl->nodes[node]->closing) return -1;
    return node;
}

/* Sends CLUSTER SLOTS to candidate refresh_next and on; none left: the
 * refresh failed. */
static void ask_next(redisconn_cluster *cl)
{
    static const char cmd[] = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";
    while (cl->refresh_next < cl->ncandidates) {
        int node = candidate_node(cl, cl->candidates[cl->refresh_next]);
        if (node >= 0) {
            snprintf(cl->asked, sizeof(cl->asked), "%s", cl->nodes[node]->addr);
            if (redisconn_pool_command_formatted(cl->nodes[node]->pool, cl->opts.refresh_timeout_ms,
                                                 on_slots, cl, cmd,
                                                 sizeof(cmd) - 1) == REDISCONN_OK)
                return;
        }
        cl->refresh_next++;
    }
    cl->refreshing = 0;
    cl->stats.refresh_errors++;
    redisconn__route_map_ready(cl, REDISCONN_ERR_CONNECT);
    if (cl->refresh_again) redisconn__slots_refresh(cl);
}

/* The candidates in order: masters of the map not suspect, the seeds, the
 * suspect masters. Returns 0, or -1 when out of memory. */
static int order_candidates(redisconn_cluster *cl)
{
    int n = 0, *c = realloc(cl->candidates, (size_t)(cl->nnodes + cl->nseeds) * sizeof(int));
    if (c == NULL) return -1;
    cl->candidates = c;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < cl->nnodes; i++) {
            const redisconn__cl_node *node = cl->nodes[i];
            if (node->in_map && node->master && !node->closing && node->suspect == pass) c[n++] = i;
        }
        for (int i = 0; pass == 0 && i < cl->nseeds; i++)
            c[n++] = -1 - i;
    }
    cl->ncandidates = n;
    return 0;
}

static void start(redisconn_cluster *cl)
{
    cl->refreshing = 1;
    cl->refresh_again = 0;
    cl->refresh_next = 0;
    cl->last_attempt_us = redisconn__now_us();
    if (order_candidates(cl) != 0) cl->ncandidates = 0; /* fails the refresh */
    ask_next(cl);
}

static void on_timer(void *arg)
{
    redisconn_cluster *cl = arg;
    if (cl->closed) return;
    redisconn__slots_refresh(cl);
    if (cl->opts.refresh_interval_ms > 0)
        redisconn__timer_arm(&cl->refresh_timer,
                             redisconn__deadline_after(cl->opts.refresh_interval_ms));
}

void redisconn__slots_refresh(redisconn_cluster *cl)
{
    uint64_t now = redisconn__now_us(), next;
    if (cl->closed) return;
    if (cl->refreshing) {
        cl->refresh_again = 1;
        return;
    }
    next = cl->last_attempt_us + redisconn__ms_to_us(cl->opts.min_refresh_interval_ms);
    if (cl->last_attempt_us != 0 && now < next) {
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
