/* SPDX-License-Identifier: BSD-3-Clause */
/* pool_metrics.h — ReportStats of statistics already taken (the Redis
 * module reports a cluster's node pools, summed, this way). */
#ifndef REDISCONN_SERVER_REDIS_POOL_METRICS_H
#define REDISCONN_SERVER_REDIS_POOL_METRICS_H

#include "redisconn/metrics.h"
#include "redisconn/pool.h"

/* redisconn_report_stats() of `stats` as pool `name`: the same series.
 * Returns REDISCONN_OK, INVALID (NULL, name not UTF-8) or the registry's
 * error (stops at the first). */
int redisconn__report_pool_stats(redisconn_metrics *m, const redisconn_pool_stats *stats,
                                 const char *name);

#endif
