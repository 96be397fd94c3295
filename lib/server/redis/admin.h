/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin.h: the admin endpoint of the Redis module,
 * POST /prpc/redisconn.Admin/FlushAllAsync (see docs/admin.md).
 */
#ifndef REDISCONN_SERVER_ADMIN_H
#define REDISCONN_SERVER_ADMIN_H

#include "redisconn/module.h"

/* The endpoint's state: tokens and logging. Reference counted: the module
 * holds one reference, each call in flight another. */
typedef struct redisconn__admin redisconn__admin;

/*
 * Loads `tokens_path` (NULL or "": nobody is an administrator) and adds the
 * route to the host. Returns REDISCONN_OK with the module's reference in
 * `*out`, or an error explained with redisconn_host_errorf() (bad token
 * file) — then nothing is kept.
 */
int redisconn__admin_install(redisconn_host *host, const char *tokens_path, redisconn__admin **out);

/* Drops a reference; the last frees the tokens (wiped). NULL is a no-op. */
void redisconn__admin_release(redisconn__admin *admin);

#endif
