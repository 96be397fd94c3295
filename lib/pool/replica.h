/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replica.h: what the layer above the pool (the cluster client) may set on a
 * pool beyond its public options — for now, that every connection of the pool
 * sends READONLY in its handshake (a cluster replica's pool: the replica then
 * serves read-only commands for its master's slots instead of answering
 * MOVED). Not part of the public API.
 */
#ifndef REDISCONN_POOL_REPLICA_H
#define REDISCONN_POOL_REPLICA_H

#include "redisconn/pool.h"

/* Makes every connection `pool` dials from now on send READONLY after
 * SELECT (a failed READONLY fails the dial with CONNECT and the server's
 * words). Call it right after creating the pool, before its first use:
 * REDISCONN_OK, or INVALID (NULL) / STATE (a connection exists already, or
 * the pool is closed) — then nothing changed. */
int redisconn__pool_set_readonly(redisconn_pool *pool);

#endif
