/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ready.c: readiness checks and GET /readyz (see redisconn_host_add_readiness_check).
 *
 * A probe is one GET /readyz: it runs every check, each through a
 * redisconn_readiness record of its own, and answers when the last one has
 * reported. A guard count held during the loop over the checks keeps a
 * check that reports inside its call from answering early. The records copy
 * the check's name, so a probe needs nothing of the server once started.
 */
#include "server/host/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ready_check {
    redisconn__link node; /* srv->ready_checks */
    redisconn_readiness_fn fn;
    void *arg;
    char name[]; /* NUL-terminated */
} ready_check;

typedef struct ready_probe {
    redisconn_request *req;
    size_t pending; /* checks not reported yet, plus the guard */
    char *report;   /* "<name>: <reason>\n" lines of checks not ready */
    size_t len;
    int nomem;
} ready_probe;

struct redisconn_readiness {
    ready_probe *probe;
    char name[]; /* the check's, copied */
};

int redisconn_host_add_readiness_check(redisconn_host *host, const char *name,
                                       redisconn_readiness_fn fn, void *arg)
{
    ready_check *c;
    size_t n;
    if (host == NULL || name == NULL || fn == NULL) return REDISCONN_ERR_INVALID;
    n = strlen(name);
    if ((c = malloc(sizeof(*c) + n + 1)) == NULL) return REDISCONN_ERR_NOMEM;
    c->fn = fn;
    c->arg = arg;
    memcpy(c->name, name, n + 1);
    redisconn__list_push_back(&host->srv->ready_checks, &c->node);
    return REDISCONN_OK;
}

void redisconn__ready_checks_free(redisconn_server *srv)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(&srv->ready_checks)) != NULL) {
        redisconn__list_remove(l);
        free(REDISCONN_CONTAINER_OF(l, ready_check, node));
    }
}

/* Appends "<name>: <reason>\n" to the report (one line: CR/LF become spaces). */
static void report_line(ready_probe *p, const char *name, const char *reason)
{
    size_t add = strlen(name) + 2 + strlen(reason) + 1;
    char *r = realloc(p->report, p->len + add + 1);
    if (r == NULL) {
        p->nomem = 1;
        return;
    }
    p->report = r;
    snprintf(r + p->len, add + 1, "%s: %s\n", name, reason);
    for (size_t i = p->len; i + 1 < p->len + add; i++)
        if (r[i] == '\r' || r[i] == '\n') r[i] = ' ';
    p->len += add;
}

/* One report less to wait for; the last one answers and frees the probe. */
static void probe_unref(ready_probe *p)
{
    if (--p->pending > 0) return;
    if (p->nomem)
        redisconn_request_replyf(p->req, 503, "not ready: out of memory\n");
    else if (p->len > 0)
        redisconn_request_reply(p->req, 503, "text/plain; charset=utf-8", p->report, p->len);
    else
        redisconn_request_reply(p->req, 200, "text/plain; charset=utf-8", "ok\n", 3);
    free(p->report);
    free(p);
}

void redisconn_readiness_done(redisconn_readiness *r, const char *not_ready)
{
    ready_probe *p;
    if (r == NULL) return;
    p = r->probe;
    if (not_ready != NULL) report_line(p, r->name, not_ready);
    free(r);
    probe_unref(p);
}

void redisconn__ready_handler(redisconn_request *req, void *arg)
{
    redisconn_server *srv = arg;
    ready_probe *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        redisconn_request_replyf(req, 503, "not ready: out of memory\n");
        return;
    }
    p->req = req;
    p->pending = 1; /* the guard */
    for (redisconn__link *l = srv->ready_checks.next; l != &srv->ready_checks; l = l->next) {
        ready_check *c = REDISCONN_CONTAINER_OF(l, ready_check, node);
        size_t n = strlen(c->name);
        redisconn_readiness *r = malloc(sizeof(*r) + n + 1);
        if (r == NULL) {
            p->nomem = 1;
            break;
        }
        r->probe = p;
        memcpy(r->name, c->name, n + 1);
        p->pending++;
        c->fn(r, redisconn_request_ctx(req), c->arg);
    }
    probe_unref(p);
}
