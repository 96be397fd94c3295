/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * classify.h: what a command does to the connection it runs on — the table
 * behind "never hand a connection on dirty" (docs/pool.md has it in words),
 * which commands block and for how long, and a reader for the arguments of
 * a RESP-formatted command.
 */
#ifndef REDISCONN_CLASSIFY_H
#define REDISCONN_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

enum redisconn__cls {
    CLS_PLAIN = 0,
    CLS_MULTI = 1u << 0,       /* opens a transaction: DISCARD on release */
    CLS_EXEC = 1u << 1,        /* EXEC / DISCARD: ends transaction and WATCH */
    CLS_WATCH = 1u << 2,       /* WATCH: UNWATCH on release */
    CLS_UNWATCH = 1u << 3,     /* UNWATCH */
    CLS_SELECT = 1u << 4,      /* changes the database: SELECT db on release */
    CLS_STREAM = 1u << 5,      /* (P)SUBSCRIBE: callback fires per message */
    CLS_UNSUB = 1u << 6,       /* (P)UNSUBSCRIBE: no reply of its own in hiredis 0.14 */
    CLS_CLOSE = 1u << 7,       /* leaves state we cannot reset: close on release */
    CLS_UNSUPPORTED = 1u << 8, /* hiredis 0.14 cannot track its replies */
    CLS_STATEFUL = 1u << 9,    /* changes connection state or blocks: not for shared conns */
    CLS_SETNAME = 1u << 10,    /* CLIENT SETNAME: reset to the pool's client_name */
    CLS_NOEVICT = 1u << 11,    /* CLIENT NO-EVICT: "off" on release */
    CLS_NOTOUCH = 1u << 12,    /* CLIENT NO-TOUCH: "off" on release */
    CLS_BLOCKING = 1u << 13,   /* may block: deadline from its own timeout */
    CLS_SUB_OK = 1u << 14,     /* allowed on a subscribed connection */
    CLS_PATTERN = 1u << 15,    /* with STREAM/UNSUB: the P variant (patterns) */
};

/* Classifies a RESP-formatted command ("*N\r\n$L\r\nNAME\r\n..."). A
 * malformed buffer is CLS_UNSUPPORTED. Never reads outside cmd[0..len). */
unsigned redisconn__classify(const char *cmd, size_t len);

/* For a blocking command (CLS_BLOCKING): its blocking timeout in ms in *ms
 * (0 = blocks forever), and 1; 0 when it does not block (XREAD without BLOCK)
 * or its timeout is unreadable (the command timeout applies then). */
int redisconn__classify_block_ms(const char *cmd, size_t len, int64_t *ms);

/* A cursor over the arguments of a RESP-formatted command. */
typedef struct redisconn__resp_args {
    const char *p, *end;
    long left; /* arguments not yet read */
} redisconn__resp_args;

/* Starts reading `cmd`; returns the argument count, or -1 when malformed. */
long redisconn__resp_args_begin(redisconn__resp_args *it, const char *cmd, size_t len);

/* The next argument in *s / *n: 1, or 0 at the end, -1 when malformed. */
int redisconn__resp_args_next(redisconn__resp_args *it, const char **s, size_t *n);

#endif
