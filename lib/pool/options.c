/* SPDX-License-Identifier: BSD-3-Clause */
/* options.c: the pool's option defaults (the seed's NewPool) and validation. */
#include "pool/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void redisconn_pool_options_init(redisconn_pool_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_idle = 64;
    o->max_active = 512;
    o->idle_timeout_ms = 3 * 60 * 1000;
    o->wait = 1;
    o->max_waiters = 0;
    o->connect_timeout_ms = 5000;
    o->command_timeout_ms = 5000;
    o->test_on_borrow_ms = 60 * 1000;
    o->max_conn_lifetime_ms = 0;
    o->min_idle = 0;
    o->db = 0;
    o->max_shared = 0; /* the default: 2, at most max_active */
    o->log_level = REDISCONN_LOG_INFO;
    o->dial_backoff_min_ms = 100;
    o->dial_backoff_max_ms = 2000;
    o->client_name = NULL;
    o->tcp_keepalive_s = 300;
}

/* Writes the reason and returns REDISCONN_ERR_INVALID. */
static int refuse(char *why, size_t len, const char *fmt, ...) REDISCONN_PRINTF(3, 4);

static int refuse(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return REDISCONN_ERR_INVALID;
}

/* A name CLIENT SETNAME accepts: printable ASCII without spaces, at most 128. */
static int valid_client_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~') return 0;
    return 1;
}

/* Sizes and timeouts that must not be negative: name, value. */
static int check_non_negative(const redisconn_pool_options *o, char *why, size_t len)
{
    const struct {
        const char *name;
        int64_t v;
    } f[] = {
        {"max_idle", o->max_idle},
        {"max_active", o->max_active},
        {"idle_timeout_ms", o->idle_timeout_ms},
        {"max_waiters", o->max_waiters},
        {"connect_timeout_ms", o->connect_timeout_ms},
        {"command_timeout_ms", o->command_timeout_ms},
        {"max_conn_lifetime_ms", o->max_conn_lifetime_ms},
        {"min_idle", o->min_idle},
        {"db", o->db},
        {"tcp_keepalive_s", o->tcp_keepalive_s},
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i].v < 0)
            return refuse(why, len, "option %s must not be negative (got %lld)", f[i].name,
                          (long long)f[i].v);
    return REDISCONN_OK;
}

int redisconn__options_check(const redisconn_pool_options *o, char *why, size_t len)
{
    int rc = check_non_negative(o, why, len);
    if (rc != REDISCONN_OK) return rc;
    if (o->wait != 0 && o->wait != 1)
        return refuse(why, len, "option wait must be 0 or 1 (got %d)", o->wait);
    if (o->log_level < REDISCONN_LOG_DEBUG || o->log_level > REDISCONN_LOG_ERROR)
        return refuse(why, len, "option log_level must be REDISCONN_LOG_DEBUG..ERROR (got %d)",
                      o->log_level);
    if (o->max_shared < 0)
        return refuse(why, len, "option max_shared must not be negative (got %d)", o->max_shared);
    if (o->max_active > 0 && o->max_shared > o->max_active)
        return refuse(why, len, "option max_shared (%d) must not exceed max_active (%d)",
                      o->max_shared, o->max_active);
    if (o->min_idle > o->max_idle)
        return refuse(why, len, "option min_idle (%d) must not exceed max_idle (%d)", o->min_idle,
                      o->max_idle);
    if (o->max_active > 0 && o->min_idle > o->max_active)
        return refuse(why, len, "option min_idle (%d) must not exceed max_active (%d)", o->min_idle,
                      o->max_active);
    if (o->dial_backoff_min_ms < 1)
        return refuse(why, len, "option dial_backoff_min_ms must be at least 1 (got %d)",
                      o->dial_backoff_min_ms);
    if (o->dial_backoff_max_ms < o->dial_backoff_min_ms)
        return refuse(why, len,
                      "option dial_backoff_max_ms (%d) must not be below dial_backoff_min_ms (%d)",
                      o->dial_backoff_max_ms, o->dial_backoff_min_ms);
    if (o->username != NULL && o->password == NULL)
        return refuse(why, len, "option username needs a password");
    if (o->client_name != NULL && !valid_client_name(o->client_name))
        return refuse(why, len,
                      "option client_name must be 1 to 128 printable characters without spaces");
    return REDISCONN_OK;
}
