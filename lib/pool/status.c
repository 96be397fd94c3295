/* SPDX-License-Identifier: BSD-3-Clause */
/* status.c: names and sentences for status codes (the pool's, in
 * redisconn/common.h, and the server layer's, in redisconn/server_status.h)
 * and log levels. */
#include "redisconn/common.h"

#include <stddef.h>

struct status_text {
    int code;
    const char *name;
    const char *text;
};

static const struct status_text status_table[] = {
    {REDISCONN_OK, "REDISCONN_OK", "success"},
    {REDISCONN_ERR_INVALID, "REDISCONN_ERR_INVALID", "invalid argument"},
    {REDISCONN_ERR_NOMEM, "REDISCONN_ERR_NOMEM", "out of memory"},
    {REDISCONN_ERR_TIMEOUT, "REDISCONN_ERR_TIMEOUT", "timed out"},
    {REDISCONN_ERR_CANCELED, "REDISCONN_ERR_CANCELED", "operation canceled"},
    {REDISCONN_ERR_EXHAUSTED, "REDISCONN_ERR_EXHAUSTED", "connection pool exhausted"},
    {REDISCONN_ERR_CLOSED, "REDISCONN_ERR_CLOSED", "connection pool closed"},
    {REDISCONN_ERR_CONNECT, "REDISCONN_ERR_CONNECT", "cannot connect to Redis"},
    {REDISCONN_ERR_AUTH, "REDISCONN_ERR_AUTH", "Redis authentication failed"},
    {REDISCONN_ERR_SELECT, "REDISCONN_ERR_SELECT", "cannot select the Redis database"},
    {REDISCONN_ERR_IO, "REDISCONN_ERR_IO", "connection to Redis lost"},
    {REDISCONN_ERR_RESOLVE, "REDISCONN_ERR_RESOLVE", "cannot resolve the Redis host name"},
    {REDISCONN_ERR_UNSUPPORTED, "REDISCONN_ERR_UNSUPPORTED",
     "command not supported through this library"},
    {REDISCONN_ERR_STATE, "REDISCONN_ERR_STATE", "operation not allowed in this state"},
    /* The server layer's codes, declared in redisconn/server_status.h: the pool
     * library names them without including a header of the layer above, so
     * they are written here by number (keep the two in step). */
    {-14, "REDISCONN_ERR_NOT_CONFIGURED", "Redis connection pool is not configured"},
    {-15, "REDISCONN_ERR_DEADLINE", "context deadline exceeded"},
    {-16, "REDISCONN_ERR_CACHE_MISS", "cache miss"},
    {-17, "REDISCONN_ERR_REPLY", "Redis replied with an error"},
    {-18, "REDISCONN_ERR_PERMISSION", "permission denied"},
    {REDISCONN_ERR_PROTOCOL, "REDISCONN_ERR_PROTOCOL", "Redis protocol error"},
    {REDISCONN_ERR_LEASE_REQUIRED, "REDISCONN_ERR_LEASE_REQUIRED",
     "command changes connection state: lease a connection for it"},
    {REDISCONN_ERR_NOT_MASTER, "REDISCONN_ERR_NOT_MASTER",
     "the Redis server is not the master (Sentinel's answer is out of date)"},
    {REDISCONN_ERR_CROSSSLOT, "REDISCONN_ERR_CROSSSLOT",
     "the command's keys are in different cluster slots"},
    {REDISCONN_ERR_CLUSTER, "REDISCONN_ERR_CLUSTER",
     "command not meaningful on one node of a cluster (broadcast it to every master)"},
    {REDISCONN_ERR_REDIRECT, "REDISCONN_ERR_REDIRECT", "too many cluster redirections"},
    {REDISCONN_ERR_SUBSCRIBED, "REDISCONN_ERR_SUBSCRIBED",
     "connection in subscribe mode: only (P)SUBSCRIBE, (P)UNSUBSCRIBE and PING are allowed"},
};

static const struct status_text *status_find(int status)
{
    for (size_t i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
        if (status_table[i].code == status) return &status_table[i];
    return NULL;
}

/* Never NULL: unknown codes get a fixed sentence so callers can print blindly. */
const char *redisconn_strerror(int status)
{
    const struct status_text *s = status_find(status);
    return s ? s->text : "unknown error";
}

const char *redisconn_status_name(int status)
{
    const struct status_text *s = status_find(status);
    return s ? s->name : "REDISCONN_ERR_UNKNOWN";
}

const char *redisconn_log_level_name(int level)
{
    switch (level) {
    case REDISCONN_LOG_DEBUG:
        return "debug";
    case REDISCONN_LOG_INFO:
        return "info";
    case REDISCONN_LOG_WARNING:
        return "warning";
    default:
        return "error";
    }
}
