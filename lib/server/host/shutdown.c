/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shutdown.c: the graceful shutdown, a small state machine driven from the
 * loop by the `step` item (posted by redisconn__server_kick() to the defer
 * queue of the server's context tree) and bounded per phase by `timer`:
 *
 *   DRAINING  listener closed; wait until every handler has replied and every
 *             response is written; then free evhttp and cancel the root
 *             context. At the timeout, the requests left get 503 and
 *   FLUSHING  those answers get a short grace to be written first;
 *   CLEANING  run the cleanups one at a time, last registered first, each
 *             finishing with redisconn_cleanup_done(); then free the server
 *             and call the completion callback.
 */
#include "server/host/internal.h"
#include "util/clock.h"

#include <assert.h>
#include <stdlib.h>

#include <event2/http.h>

/* How long the 503 answers of a forced drain get to be written. */
#define FLUSH_GRACE_MS 1000

/* Bounds the current phase to `ms` from now (none when `ms` is 0). Out of
 * memory for the timer's event, the phase is unbounded (logged). */
static void arm_phase(redisconn_server *srv, int64_t ms)
{
    redisconn__timer_disarm(&srv->timer);
    if (redisconn__timer_arm(&srv->timer, redisconn__deadline_after(ms)) != 0)
        redisconn__server_log(srv, REDISCONN_LOG_ERROR,
                              "shutdown: no timer for this phase (out of memory): unbounded");
}

/* Frees the server, then reports completion (unless already reported). */
static void finish(redisconn_server *srv)
{
    redisconn_server_done_cb cb = srv->done_cb;
    void *arg = srv->done_arg;
    redisconn__server_log(srv, REDISCONN_LOG_INFO, "shutdown complete");
    redisconn__server_free(srv);
    if (cb != NULL) cb(REDISCONN_OK, arg);
}

/* Starts the next cleanup (the last registered), or finishes. */
static void next_cleanup(redisconn_server *srv)
{
    redisconn__link *l;
    redisconn_cleanup *c;
    if (srv->running != NULL) return; /* still waiting for redisconn_cleanup_done() */
    l = redisconn__list_last(&srv->cleanups);
    if (l == NULL) {
        finish(srv);
        return;
    }
    redisconn__list_remove(l);
    c = REDISCONN_CONTAINER_OF(l, redisconn_cleanup, node);
    srv->running = c;
    c->fn(c, c->arg);
}

/* Leaves DRAINING/FLUSHING: closes HTTP, cancels the tree, runs cleanups. */
static void start_cleaning(redisconn_server *srv)
{
    if (srv->http != NULL) {
        evhttp_free(srv->http);
        srv->http = NULL;
    }
    if (srv->cancel != NULL) {
        redisconn_ctx_cancel(srv->cancel);
        srv->cancel = NULL;
    }
    srv->state = SRV_CLEANING;
    arm_phase(srv, srv->opts.shutdown_timeout_ms);
    next_cleanup(srv);
}

/* The drain timed out: answer what is left with 503 and give those answers
 * a short while to be written before the connections close. */
static void force_drain(redisconn_server *srv)
{
    redisconn__server_log(srv, REDISCONN_LOG_WARNING,
                          "requests still in flight after the shutdown timeout: answering 503");
    redisconn__http_requests_orphan(srv);
    srv->state = SRV_FLUSHING;
    arm_phase(srv, FLUSH_GRACE_MS);
    redisconn__server_kick(srv);
}

/* Advances the shutdown when what it waits for is over (may free `srv`). */
static void on_step(redisconn__defer_item *item)
{
    redisconn_server *srv = REDISCONN_CONTAINER_OF(item, redisconn_server, step);
    assert(srv->state >= SRV_DRAINING);
    if (srv->state == SRV_DRAINING || srv->state == SRV_FLUSHING) {
        if (redisconn__list_empty(&srv->requests) && srv->wire_pending == 0) start_cleaning(srv);
    } else if (srv->state == SRV_CLEANING) {
        next_cleanup(srv);
    }
}

/* A phase overran: force the drain, stop flushing, or give up waiting for
 * a cleanup (reporting TIMEOUT; the server frees itself if it completes). */
static void on_phase_timeout(void *arg)
{
    redisconn_server *srv = arg;
    redisconn_server_done_cb cb = srv->done_cb;
    if (srv->state == SRV_DRAINING) {
        force_drain(srv);
        return;
    }
    if (srv->state == SRV_FLUSHING) {
        start_cleaning(srv);
        return;
    }
    redisconn__server_log(srv, REDISCONN_LOG_ERROR,
                          "cleanup of module \"%s\" did not finish within the shutdown timeout",
                          srv->running && srv->running->module ? srv->running->module : "-");
    srv->done_cb = NULL;
    if (cb != NULL) cb(REDISCONN_ERR_TIMEOUT, srv->done_arg);
}

/* Closes the listener now; everything else runs from the loop. */
int redisconn_server_shutdown(redisconn_server *srv, redisconn_server_done_cb cb, void *arg)
{
    if (srv == NULL) return REDISCONN_ERR_INVALID;
    if (srv->state >= SRV_DRAINING) return REDISCONN_ERR_STATE;
    assert(!redisconn__timer_armed(&srv->timer));
    redisconn__timer_init(&srv->timer, srv->base, on_phase_timeout, srv); /* never armed before */
    srv->step_fn = on_step;
    srv->done_cb = cb;
    srv->done_arg = arg;
    srv->state = SRV_DRAINING;
    if (srv->bound != NULL) {
        evhttp_del_accept_socket(srv->http, srv->bound);
        srv->bound = NULL;
    }
    redisconn__server_log(srv, REDISCONN_LOG_INFO, "shutting down");
    arm_phase(srv, srv->opts.shutdown_timeout_ms);
    redisconn__server_kick(srv);
    return REDISCONN_OK;
}

/* Appends a cleanup; remembers which module registered it. */
int redisconn_host_add_cleanup(redisconn_host *host, redisconn_cleanup_fn fn, void *arg)
{
    redisconn_cleanup *c;
    if (host == NULL || fn == NULL) return REDISCONN_ERR_INVALID;
    if (host->srv->state >= SRV_DRAINING) return REDISCONN_ERR_STATE;
    c = calloc(1, sizeof(*c));
    if (c == NULL) return REDISCONN_ERR_NOMEM;
    c->srv = host->srv;
    c->fn = fn;
    c->arg = arg;
    c->module = host->current ? host->current->name : NULL;
    redisconn__list_push_back(&host->srv->cleanups, &c->node);
    return REDISCONN_OK;
}

/* Frees the record; the next step runs from the loop. */
void redisconn_cleanup_done(redisconn_cleanup *cleanup)
{
    redisconn_server *srv;
    if (cleanup == NULL) return;
    srv = cleanup->srv;
    if (srv->running == cleanup) srv->running = NULL;
    free(cleanup);
    redisconn__server_kick(srv);
}
