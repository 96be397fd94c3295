/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/server_status.h — the status codes of the server layer.
 *
 * They extend enum redisconn_status (redisconn/common.h) in the same
 * negative number space: 0 is success, errors are negative and stable across
 * releases, and redisconn_strerror() / redisconn_status_name() name them like
 * every other code. Included by every server-layer header that reports them
 * (context.h, blobcache.h, server.h, redisconn.h).
 */
#ifndef REDISCONN_SERVER_STATUS_H
#define REDISCONN_SERVER_STATUS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes of the server layer (see the file comment). */
enum redisconn_server_status {
    REDISCONN_ERR_NOT_CONFIGURED =
        -14,                        /**< no Redis pool in the context (seed: ErrNotConfigured) */
    REDISCONN_ERR_DEADLINE = -15,   /**< the context's deadline passed */
    REDISCONN_ERR_CACHE_MISS = -16, /**< blob cache: the key is not in the cache */
    REDISCONN_ERR_REPLY = -17,      /**< Redis answered with an error reply */
    REDISCONN_ERR_PERMISSION = -18, /**< the caller is not allowed to do this */
};

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_SERVER_STATUS_H */
