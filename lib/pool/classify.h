/* SPDX-License-Identifier: BSD-3-Clause */
/* classify.h: how a command changes the connection it runs on. */
#ifndef REDISCONN_CLASSIFY_H
#define REDISCONN_CLASSIFY_H

#include <stddef.h>

enum redisconn__cls {
    CLS_PLAIN = 0,
    CLS_MULTI = 1u << 0,       /* opens a transaction */
    CLS_EXEC = 1u << 1,        /* EXEC / DISCARD: ends transaction and WATCH */
    CLS_WATCH = 1u << 2,       /* WATCH */
    CLS_UNWATCH = 1u << 3,     /* UNWATCH */
    CLS_SELECT = 1u << 4,      /* changes the database */
    CLS_STREAM = 1u << 5,      /* (P)SUBSCRIBE: callback fires per message */
    CLS_UNSUB = 1u << 6,       /* (P)UNSUBSCRIBE: no reply of its own in hiredis 0.14 */
    CLS_CLOSE = 1u << 7,       /* leaves state we cannot reset: close on release */
    CLS_UNSUPPORTED = 1u << 8, /* hiredis 0.14 cannot track its replies */
    CLS_STATEFUL = 1u << 9,    /* changes connection state or blocks: not for shared conns */
};

/* Classifies a RESP-formatted command ("*N\r\n$L\r\nNAME\r\n..."). A
 * malformed buffer is CLS_UNSUPPORTED. */
unsigned redisconn__classify(const char *cmd, size_t len);

#endif
