/* SPDX-License-Identifier: BSD-3-Clause */
/* version.c: redisconn_version(), the version of the library linked. */
#include "redisconn/version.h"

const char *redisconn_version(void)
{
    return REDISCONN_VERSION;
}
