/* SPDX-License-Identifier: BSD-3-Clause */
/* options.c: the pool's option defaults (the seed's NewPool) and validation. */
#include "pool/internal.h"

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
    o->max_shared = 2;
    o->log_level = REDISCONN_LOG_INFO;
}

int redisconn__options_check(const redisconn_pool_options *o)
{
    if (o->max_idle < 0 || o->max_active < 0 || o->idle_timeout_ms < 0 || o->max_waiters < 0 ||
        o->connect_timeout_ms < 0 || o->command_timeout_ms < 0 || o->max_conn_lifetime_ms < 0 ||
        o->min_idle < 0 || o->db < 0 || o->max_shared < 1)
        return REDISCONN_ERR_INVALID;
    if (o->min_idle > o->max_idle) return REDISCONN_ERR_INVALID;
    if (o->max_active > 0 && o->min_idle > o->max_active) return REDISCONN_ERR_INVALID;
    if (o->username != NULL && o->password == NULL) return REDISCONN_ERR_INVALID;
    return REDISCONN_OK;
}
