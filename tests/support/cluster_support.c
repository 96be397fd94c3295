/* SPDX-License-Identifier: BSD-3-Clause */
/* cluster_support.c: see cluster_support.h. */
#include "support/cluster_support.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

static int cluster_ok(rt_server *s)
{
    redisReply *r = rt_cmd(s, "CLUSTER INFO");
    int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "cluster_state:ok") != NULL;
    if (r) freeReplyObject(r);
    return ok;
}

static int all_ok(rt_cluster *c)
{
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        if (c->node[i] && !cluster_ok(c->node[i])) return 0;
    return 1;
}

/* Every node knows all six (CLUSTER NODES has six lines). */
static int all_joined(rt_cluster *c)
{
    for (int i = 0; i < RT_CLUSTER_NODES; i++) {
        redisReply *r = rt_cmd(c->node[i], "CLUSTER NODES");
        int lines = 0;
        if (r && r->type == REDIS_REPLY_STRING)
            for (const char *p = r->str; (p = strchr(p, '\n')) != NULL; p++)
                lines++;
        if (r) freeReplyObject(r);
        if (lines < RT_CLUSTER_NODES) return 0;
    }
    return 1;
}

static int wait_for(int (*pred)(rt_cluster *), rt_cluster *c, int timeout_ms)
{
    int64_t end = rt_now_ms() + timeout_ms;
    while (rt_now_ms() < end) {
        if (pred(c)) return 1;
        usleep(50000);
    }
    return pred(c);
}

int rt_cluster_cli(rt_cluster *c, const char *fmt, ...)
{
    char args[1024], cmd[1400];
    va_list ap;
    int rc;
    (void)c;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "redis-cli %s >/dev/null 2>&1", args);
    rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

void rt_cluster_start(rt_cluster *c)
{
    static char conf[RT_CLUSTER_NODES][16];
    char create[600];
    size_t n = 0, m = 0;
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < RT_CLUSTER_NODES; i++) {
        rt_server_opts o = {0};
        c->bus[i] = rt_free_port();
        snprintf(conf[i], sizeof(conf[i]), "%d", c->bus[i]);
        o.extra[0] = "--cluster-enabled";
        o.extra[1] = "yes";
        o.extra[2] = "--cluster-port";
        o.extra[3] = conf[i];
        o.extra[4] = "--cluster-node-timeout";
        o.extra[5] = "1000";
        c->node[i] = rt_server_start(&o);
        n += (size_t)snprintf(create + n, sizeof(create) - n, " 127.0.0.1:%d", c->node[i]->port);
        if (i < 3)
            m += (size_t)snprintf(c->seeds + m, sizeof(c->seeds) - m, "%s127.0.0.1:%d",
                                  i ? "," : "", c->node[i]->port);
    }
    cr_assert_eq(rt_cluster_cli(c, "--cluster create%s --cluster-replicas 1 --cluster-yes", create),
                 0, "redis-cli --cluster create failed");
    cr_assert(wait_for(all_joined, c, 20000), "the cluster nodes did not all meet");
    cr_assert(wait_for(all_ok, c, 20000), "the cluster did not reach cluster_state:ok");
}

void rt_cluster_stop(rt_cluster *c)
{
    for (int i = 0; i < RT_CLUSTER_NODES; i++) {
        rt_server_free(c->node[i]);
        c->node[i] = NULL;
    }
}

rt_server *rt_cluster_node_at(rt_cluster *c, int port)
{
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        if (c->node[i] && c->node[i]->port == port) return c->node[i];
    return NULL;
}

int rt_cluster_slot_owner(rt_cluster *c, int slot)
{
    redisReply *r = rt_cmd(c->node[0], "CLUSTER SLOTS");
    int port = -1;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->element[0]->integer <= slot && slot <= e->element[1]->integer)
            port = (int)e->element[2]->element[1]->integer;
    }
    if (r) freeReplyObject(r);
    return port;
}
