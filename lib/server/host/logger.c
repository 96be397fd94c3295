/* SPDX-License-Identifier: BSD-3-Clause */
/* logger.c: formatting log lines for the server layer (see host.h). */
#include "server/host/host.h"

#include <stdio.h>
#include <time.h>

/* "2026-12-01T20:35:12.345Z": RFC 3339, UTC, milliseconds. */
static void rfc3339_now(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    char sec[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03ldZ", sec, ts.tv_nsec / 1000000);
}

void redisconn__logger_vlog(const redisconn__logger *lg, int level, const char *fmt, va_list ap)
{
    char msg[1024], now[48];
    if (level < lg->level) return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (lg->fn != NULL) {
        lg->fn(level, msg, lg->arg);
        return;
    }
    rfc3339_now(now, sizeof(now));
    fprintf(stderr, "%s %s redisconn: %s\n", now, redisconn__log_level_upper(level), msg);
}

/* "DEBUG", "INFO", "WARNING", "ERROR" (else "LOG"). */
const char *redisconn__log_level_upper(int level)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
    return level >= 0 && level <= 3 ? names[level] : "LOG";
}

void redisconn__logger_log(const redisconn__logger *lg, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisconn__logger_vlog(lg, level, fmt, ap);
    va_end(ap);
}
