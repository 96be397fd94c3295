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

#include <event2/event.h>
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
        if (c->node[i] && (c->attached || c->node[i]->pid > 0) && !cluster_ok(c->node[i]))
            return 0; /* (a node killed on purpose is not asked) */
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

/* Every replica's link to its master is up (it can be failed over to). */
static int replicas_in_sync(rt_cluster *c)
{
    for (int i = 0; i < RT_CLUSTER_NODES; i++) {
        redisReply *r = rt_cmd(c->node[i], "INFO replication");
        int ok = r && r->type == REDIS_REPLY_STRING &&
                 (strstr(r->str, "role:master") || strstr(r->str, "master_link_status:up"));
        if (r) freeReplyObject(r);
        if (!ok) return 0;
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
    rt_cluster_start_with(c, 1000);
}

void rt_cluster_start_with(rt_cluster *c, int node_timeout_ms)
{
    static char conf[RT_CLUSTER_NODES][16], timeout[16];
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
        snprintf(timeout, sizeof(timeout), "%d", node_timeout_ms);
        o.extra[5] = timeout;
        o.extra[6] = "--repl-diskless-sync-delay"; /* replicas in sync at once */
        o.extra[7] = "0";
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
    cr_assert(wait_for(replicas_in_sync, c, 20000), "the replicas did not sync");
}

void rt_cluster_stop(rt_cluster *c)
{
    for (int i = 0; i < RT_CLUSTER_NODES; i++) {
        if (c->attached)
            free(c->node[i]); /* the main's nodes: not ours to stop */
        else
            rt_server_free(c->node[i]);
        c->node[i] = NULL;
    }
}

/* ---- one cluster per binary ------------------------------------------------ */

#define SHARED_ENV "REDISCONN_TEST_SHARED_CLUSTER"

int rt_cluster_main(int argc, char *argv[])
{
    struct criterion_test_set *tests = criterion_initialize();
    static rt_cluster shared;
    char env[400];
    size_t n = 0;
    int result = 0;
    if (criterion_handle_args(argc, argv, true)) {
        rt_cluster_start_with(&shared, 5000);
        for (int i = 0; i < RT_CLUSTER_NODES; i++)
            n += (size_t)snprintf(env + n, sizeof(env) - n, "%s%d:%d", i ? "," : "",
                                  shared.node[i]->port, shared.bus[i]);
        setenv(SHARED_ENV, env, 1); /* the test processes read it */
        result = !criterion_run_all_tests(tests);
        rt_cluster_stop(&shared);
    }
    criterion_finalize(tests);
    return result;
}

void rt_cluster_attach(rt_cluster *c)
{
    const char *env = getenv(SHARED_ENV);
    size_t m = 0;
    cr_assert_not_null(env, "no shared cluster: the binary's main must be rt_cluster_main()");
    memset(c, 0, sizeof(*c));
    c->attached = 1;
    for (int i = 0; i < RT_CLUSTER_NODES; i++) {
        rt_server *s = calloc(1, sizeof(*s));
        cr_assert_not_null(s);
        cr_assert_eq(sscanf(env, "%d:%d", &s->port, &c->bus[i]), 2, "%s", env);
        snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);
        c->node[i] = s;
        if (i < 3)
            m +=
                (size_t)snprintf(c->seeds + m, sizeof(c->seeds) - m, "%s%s", i ? "," : "", s->addr);
        env = strchr(env, ',');
        if (env) env++;
        cr_assert(env != NULL || i == RT_CLUSTER_NODES - 1);
    }
}

/* ---- inspecting and driving nodes ------------------------------------------ */

static redisReply *vcmd(rt_cluster *c, int i, const char *fmt, va_list ap)
{
    struct timeval tv = {5, 0};
    redisContext *ctx = redisConnectWithTimeout("127.0.0.1", c->node[i]->port, tv);
    redisReply *r = NULL;
    if (ctx != NULL && !ctx->err) r = redisvCommand(ctx, fmt, ap);
    if (ctx) redisFree(ctx);
    return r;
}

void rt_cluster_ok(rt_cluster *c, int i, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;
    va_start(ap, fmt);
    r = vcmd(c, i, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r, "node %d: no answer to %s", i, fmt);
    cr_assert_neq(r->type, REDIS_REPLY_ERROR, "node %d: %s: %s", i, fmt, r->str);
    freeReplyObject(r);
}

void rt_cluster_node_id(rt_cluster *c, int i, char *id)
{
    redisReply *r = rt_cmd(c->node[i], "CLUSTER MYID");
    cr_assert(r && r->type == REDIS_REPLY_STRING && r->len == 40, "CLUSTER MYID of node %d", i);
    memcpy(id, r->str, 41);
    freeReplyObject(r);
}

int rt_cluster_index_at(rt_cluster *c, int port)
{
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        if (c->node[i] && c->node[i]->port == port) return i;
    return -1;
}

int rt_cluster_replica_of(rt_cluster *c, int m)
{
    char id[41], line_id[64], addr[128], flags[128], master[64];
    redisReply *r;
    int port = -1;
    rt_cluster_node_id(c, m, id);
    r = rt_cmd(c->node[m], "CLUSTER NODES");
    cr_assert(r && r->type == REDIS_REPLY_STRING);
    for (const char *p = r->str; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (sscanf(p, "%63s %127s %127s %63s", line_id, addr, flags, master) == 4 &&
            strstr(flags, "slave") && !strstr(flags, "fail") && strcmp(master, id) == 0)
            port = atoi(strchr(addr, ':') + 1);
    freeReplyObject(r);
    return port < 0 ? -1 : rt_cluster_index_at(c, port);
}

/* The owner port of every slot as node `i` sees it; 0 when it cannot tell. */
static int owners(rt_cluster *c, int i, int *port)
{
    redisReply *r = rt_cmd(c->node[i], "CLUSTER SLOTS");
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        if (r) freeReplyObject(r);
        return 0;
    }
    memset(port, 0, 16384 * sizeof(*port));
    for (size_t k = 0; k < r->elements; k++) {
        redisReply *e = r->element[k];
        for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++)
            port[s] = (int)e->element[2]->element[1]->integer;
    }
    freeReplyObject(r);
    return 1;
}

static int consistent(rt_cluster *c)
{
    static int first[16384], other[16384];
    int have = 0;
    if (!all_ok(c)) return 0;
    for (int i = 0; i < RT_CLUSTER_NODES; i++) {
        if (c->node[i] == NULL || (!c->attached && c->node[i]->pid <= 0)) continue;
        if (!owners(c, i, have ? other : first)) return 0;
        if (have && memcmp(first, other, sizeof(first)) != 0) return 0;
        have = 1;
    }
    return have;
}

void rt_cluster_wait_consistent(rt_cluster *c, int timeout_ms)
{
    cr_assert(wait_for(consistent, c, timeout_ms), "the cluster nodes do not agree on the slots");
}

pid_t rt_cli_spawn(const char *fmt, ...)
{
    char args[1024], cmd[1400];
    va_list ap;
    pid_t pid;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "exec redis-cli %s >/dev/null 2>&1", args);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

int rt_proc_exited(pid_t pid, int *status)
{
    int st;
    if (waitpid(pid, &st, WNOHANG) != pid) return 0;
    if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return 1;
}

rt_server *rt_cluster_node_at(rt_cluster *c, int port)
{
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        if (c->node[i] && c->node[i]->port == port) return c->node[i];
    return NULL;
}

/* A node that runs (node 0 unless it was killed). */
static rt_server *running(rt_cluster *c)
{
    for (int i = 0; i < RT_CLUSTER_NODES; i++)
        if (c->node[i] && (c->attached || c->node[i]->pid > 0)) return c->node[i];
    return c->node[0];
}

int rt_cluster_slot_owner(rt_cluster *c, int slot)
{
    redisReply *r = rt_cmd(running(c), "CLUSTER SLOTS");
    int port = -1;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->element[0]->integer <= slot && slot <= e->element[1]->integer)
            port = (int)e->element[2]->element[1]->integer;
    }
    if (r) freeReplyObject(r);
    return port;
}

/* ---- the client under test ------------------------------------------------ */

redisconn_cluster *rt_cluster_client(struct event_base *base, rt_cluster *c, const char *seeds,
                                     const redisconn_cluster_options *opts)
{
    redisconn_error err;
    redisconn_cluster *cl = redisconn_cluster_new(base, seeds ? seeds : c->seeds, opts, &err);
    cr_assert_not_null(cl, "%s", err.message);
    return cl;
}

static void on_client_closed(redisconn_cluster *cl, void *arg)
{
    (void)cl;
    ++*(int *)arg;
}

void rt_cluster_client_close(struct event_base *base, redisconn_cluster *cl)
{
    static int closed;
    closed = 0;
    cr_assert_eq(redisconn_cluster_close(cl, on_client_closed, &closed), REDISCONN_OK);
    cr_assert_eq(closed, 0, "close called back inside the call");
    rt_await(base, closed == 1, 10000);
    rt_loop_quiet(base, 10); /* a second close callback would come now */
    cr_assert_eq(closed, 1);
}

void rt_bcast_cb(redisconn_cluster *c, int nodes, int failed, const char *errmsg, void *arg)
{
    int *out = arg;
    (void)c;
    (void)errmsg;
    out[0]++;
    out[1] = nodes;
    out[2] = failed;
}

void rt_cluster_suite_end(struct event_base **base, rt_cluster *c, redisconn_cluster **cl)
{
    if (*cl) rt_cluster_client_close(*base, *cl);
    *cl = NULL;
    rt_cluster_stop(c);
    event_base_free(*base);
    *base = NULL;
}

int rt_cluster_master_index(rt_cluster *c, int slot)
{
    int port = rt_cluster_slot_owner(c, slot);
    cr_assert_gt(port, 0, "no owner of slot %d", slot);
    return rt_cluster_index_at(c, port);
}

int rt_cluster_tag_on(rt_cluster *c, int m, const char *prefix, char *tag)
{
    for (int n = 0; n < 100000; n++) {
        int slot;
        snprintf(tag, 32, "%s%d", prefix, n);
        slot = redisconn_cluster_keyslot(tag, strlen(tag));
        if (rt_cluster_slot_owner(c, slot) == c->node[m]->port) return slot;
    }
    cr_assert_fail("no tag on node %d", m);
    return -1;
}

redisconn_cluster_stats rt_cluster_stats(const redisconn_cluster *cl)
{
    redisconn_cluster_stats st;
    redisconn_cluster_get_stats(cl, &st);
    return st;
}
