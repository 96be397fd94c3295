/* log.c: formats a line and hands it to the pool's log hook. */
#include "pool/internal.h"

#include <stdarg.h>
#include <stdio.h>

/* Formats only when the hook wants this level: cheap when logging is off.
 * Callers never pass secrets; the password is never in any format argument. */
void redisconn__log(const redisconn_pool *pool, int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    if (pool->opts.log_fn == NULL || level < pool->opts.log_level) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    pool->opts.log_fn(level, line, pool->opts.log_arg);
}
