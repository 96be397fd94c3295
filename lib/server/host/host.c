/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * host.c: the services a module gets from the server during initialization
 * (cleanups live in shutdown.c, beside the machinery that runs them).
 */
#include "server/host/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int redisconn_host_route(redisconn_host *host, const char *method, const char *path,
                         redisconn_handler_fn handler, void *arg)
{
    if (host == NULL) return REDISCONN_ERR_INVALID;
    return redisconn__http_route_add(host->srv, method, path, handler, arg);
}

/* The server's registry (created with the server). */
struct redisconn_metrics *redisconn_host_metrics(redisconn_host *host)
{
    return host ? host->srv->metrics : NULL;
}

/* The log options of the host's server, copied. */
redisconn__logger redisconn__host_logger(const redisconn_host *host)
{
    return redisconn__server_logger(host->srv);
}

/* The server's base. */
struct event_base *redisconn_host_base(redisconn_host *host)
{
    return host ? host->srv->base : NULL;
}

/* Keeps the last explanation; init_modules() puts it in the startup error. */
void redisconn_host_errorf(redisconn_host *host, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    char *dup;
    if (host == NULL || fmt == NULL) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dup = strdup(msg);
    if (dup == NULL) return;
    free(host->error);
    host->error = dup;
}
