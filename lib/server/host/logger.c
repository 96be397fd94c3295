/* SPDX-License-Identifier: BSD-3-Clause */
/* logger.c: formatting log lines for the server layer (see host.h). */
#include "server/host/host.h"

#include <stdio.h>

void redisconn__logger_vlog(const redisconn__logger *lg, int level, const char *fmt, va_list ap)
{
    char msg[1024];
    if (level < lg->level) return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (lg->fn != NULL)
        lg->fn(level, msg, lg->arg);
    else
        fprintf(stderr, "redisconn: %s: %s\n", redisconn_log_level_name(level), msg);
}

void redisconn__logger_log(const redisconn__logger *lg, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisconn__logger_vlog(lg, level, fmt, ap);
    va_end(ap);
}
