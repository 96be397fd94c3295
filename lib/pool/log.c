/* SPDX-License-Identifier: BSD-3-Clause */
/* log.c: see log.h. */
#include "pool/log.h"

#include <stdarg.h>
#include <stdio.h>

void redisconn__log(const redisconn__log_cfg *log, int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    if (log->fn == NULL || level < log->level) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log->fn(level, line, log->arg);
}
