/* SPDX-License-Identifier: BSD-3-Clause */
/* sentinel_support.c: see sentinel_support.h. */
#include "support/sentinel_support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

/* Sentinels' config: monitor mymaster, quorum 2, fast detection. */
static void sentinel_conf(char *buf, size_t len, int master_port, const rt_sentinel_opts *o)
{
    int n = snprintf(buf, len,
                     "sentinel monitor mymaster 127.0.0.1 %d 2\n"
                     "sentinel down-after-milliseconds mymaster 500\n"
                     "sentinel failover-timeout mymaster 5000\n"
                     "sentinel parallel-syncs mymaster 1\n",
                     master_port);
    if (o && o->master_pass)
        n += snprintf(buf + n, len - (size_t)n, "sentinel auth-pass mymaster %s\n", o->master_pass);
    if (o && o->sentinel_pass)
        snprintf(buf + n, len - (size_t)n, "requirepass %s\n", o->sentinel_pass);
}

/* True when `s` answers `cmd` with an array of at least `min` elements. */
static int array_at_least(rt_server *s, const char *cmd, size_t min)
{
    redisReply *r = rt_cmd(s, cmd);
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements >= min;
    if (r) freeReplyObject(r);
    return ok;
}

static int replica_in_sync(rt_server *replica)
{
    redisReply *r = rt_cmd(replica, "INFO replication");
    int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "master_link_status:up");
    if (r) freeReplyObject(r);
    return ok;
}

/* Polls `pred` every 20 ms for up to `timeout_ms`. */
static int wait_for(int (*pred)(rt_sentinel_env *), rt_sentinel_env *e, int timeout_ms)
{
    int64_t end = rt_now_ms() + timeout_ms;
    while (rt_now_ms() < end) {
        if (pred(e)) return 1;
        usleep(20000);
    }
    return pred(e);
}

static int all_know_everyone(rt_sentinel_env *e)
{
    for (int i = 0; i < e->nsentinels; i++) {
        if (!array_at_least(e->sentinel[i], "SENTINEL replicas mymaster", 1)) return 0;
        if (e->nsentinels > 1 && !array_at_least(e->sentinel[i], "SENTINEL sentinels mymaster",
                                                 (size_t)e->nsentinels - 1))
            return 0;
    }
    return replica_in_sync(e->replica);
}

void rt_sentinels_start(rt_sentinel_env *e, const rt_sentinel_opts *o)
{
    rt_server_opts mo = {0}, ro = {0}, so = {0};
    static char replicaof[32];
    size_t n = 0;
    memset(e, 0, sizeof(*e));
    e->nsentinels = o && o->sentinels ? o->sentinels : RT_SENTINELS;
    mo.requirepass = o ? o->master_pass : NULL;
    e->master = rt_server_start(&mo);
    ro = mo;
    snprintf(replicaof, sizeof(replicaof), "127.0.0.1 %d", e->master->port);
    ro.extra[0] = "--replicaof";
    ro.extra[1] = replicaof;
    ro.extra[2] = mo.requirepass ? "--masterauth" : NULL;
    ro.extra[3] = mo.requirepass;
    e->replica = rt_server_start(&ro);
    sentinel_conf(e->conf, sizeof(e->conf), e->master->port, o);
    so.requirepass = o ? o->sentinel_pass : NULL; /* for rt_cmd's AUTH */
    so.sentinel_conf = e->conf;
    for (int i = 0; i < e->nsentinels; i++) {
        e->sentinel[i] = rt_server_start(&so);
        n += (size_t)snprintf(e->addrs + n, sizeof(e->addrs) - n, "%s127.0.0.1:%d", i ? "," : "",
                              e->sentinel[i]->port);
    }
    snprintf(e->url, sizeof(e->url), "sentinel://%s/mymaster", e->addrs);
    cr_assert(wait_for(all_know_everyone, e, 15000), "the sentinels did not settle");
}

void rt_sentinels_stop(rt_sentinel_env *e)
{
    for (int i = 0; i < e->nsentinels; i++) {
        rt_server_free(e->sentinel[i]);
        e->sentinel[i] = NULL;
    }
    rt_server_free(e->replica);
    rt_server_free(e->master);
    e->replica = e->master = NULL;
}

int rt_sentinels_master_port(rt_sentinel_env *e, int i)
{
    redisReply *r = rt_cmd(e->sentinel[i], "SENTINEL get-master-addr-by-name mymaster");
    int port = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) port = atoi(r->element[1]->str);
    if (r) freeReplyObject(r);
    return port;
}

static int await_port;

static int all_report(rt_sentinel_env *e)
{
    for (int i = 0; i < e->nsentinels; i++)
        if (e->sentinel[i]->pid > 0 && !e->paused[i] &&
            rt_sentinels_master_port(e, i) != await_port)
            return 0;
    return 1;
}

void rt_sentinels_await_master(rt_sentinel_env *e, int port, int timeout_ms)
{
    await_port = port;
    cr_assert(wait_for(all_report, e, timeout_ms), "the sentinels did not all report port %d",
              port);
}

void rt_sentinels_failover_begin(rt_sentinel_env *e, int i)
{
    redisReply *r = rt_cmd(e->sentinel[i], "SENTINEL FAILOVER mymaster");
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "SENTINEL FAILOVER: %s", r ? r->str : "no reply");
    freeReplyObject(r);
}

void rt_sentinels_failover_end(rt_sentinel_env *e, int timeout_ms)
{
    rt_server *old = e->master;
    rt_sentinels_await_master(e, e->replica->port, timeout_ms);
    e->master = e->replica;
    e->replica = old;
}

void rt_sentinels_failover(rt_sentinel_env *e, int timeout_ms)
{
    rt_sentinels_failover_begin(e, 0);
    rt_sentinels_failover_end(e, timeout_ms);
}

void rt_sentinels_pause(rt_sentinel_env *e, int i)
{
    rt_server_pause(e->sentinel[i]);
    e->paused[i] = 1;
}

void rt_sentinels_resume(rt_sentinel_env *e, int i)
{
    rt_server_resume(e->sentinel[i]);
    e->paused[i] = 0;
}
