/* SPDX-License-Identifier: BSD-3-Clause */
/* log.h: the pool's log hook, as every file of lib/pool sees it. */
#ifndef REDISCONN_POOL_LOG_H
#define REDISCONN_POOL_LOG_H

#include "redisconn/common.h"

/* Where log lines go: the user's hook and the least level it wants. */
typedef struct redisconn__log_cfg {
    redisconn_log_fn fn; /* NULL = silent */
    void *arg;
    int level;
} redisconn__log_cfg;

/* Formats a line and hands it to `log`'s hook when it wants `level`; cheap
 * when logging is off. Callers never pass secrets (passwords, tokens). */
void redisconn__log(const redisconn__log_cfg *log, int level, const char *fmt, ...)
    REDISCONN_PRINTF(3, 4);

#endif
