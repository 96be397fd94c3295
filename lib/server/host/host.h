/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * host.h: what the other folders of the server layer may use of the host's
 * internals, beyond redisconn/module.h and redisconn/server.h:
 *
 *  - the logger: a copy of the server's log options
 *    (redisconn_server_options.log_fn / log_arg / log_level), usable after
 *    the server is gone by work that outlives it (an admin call);
 *  - the registration of the library's own module names.
 *
 * The host's structures stay in internal.h, for host/ alone.
 */
#ifndef REDISCONN_SERVER_HOST_H
#define REDISCONN_SERVER_HOST_H

#include <stdarg.h>

#include "redisconn/module.h"

typedef struct redisconn__logger {
    redisconn_log_fn fn; /* NULL: stderr */
    void *arg;
    int level; /* lines below it are dropped */
} redisconn__logger;

/* logger.c */

/* Formats one line (truncated at 1 KiB) and hands it to `lg->fn`, or writes
 * "<RFC 3339 UTC time> <LEVEL> redisconn: <line>" to stderr
 * ("2026-12-01T20:35:12.345Z WARNING redisconn: ..."); drops it below
 * `lg->level`. */
void redisconn__logger_vlog(const redisconn__logger *lg, int level, const char *fmt, va_list ap)
    REDISCONN_PRINTF(3, 0);

/* The level's name in capitals ("WARNING"), "LOG" for an unknown one. */
const char *redisconn__log_level_upper(int level);

/* printf-style front of redisconn__logger_vlog(). */
void redisconn__logger_log(const redisconn__logger *lg, int level, const char *fmt, ...)
    REDISCONN_PRINTF(3, 4);

/* host.c */

/* A copy of the log options of the server behind `host`; the copy does not
 * keep the server alive (the hook's `arg` must stay valid on its own). */
redisconn__logger redisconn__host_logger(const redisconn_host *host);

/* module.c */

/* The registered handle of `name`, registering it on first use (the
 * library's own modules); NULL only when out of memory. Thread-safe. */
const redisconn_module_name *redisconn__module_name_ensure(const char *name);

#endif
