/* SPDX-License-Identifier: BSD-3-Clause */
/* sub.h: subscription bookkeeping of a connection (see sub.c). */
#ifndef REDISCONN_POOL_SUB_H
#define REDISCONN_POOL_SUB_H

#include "pool/conn.h"

/* Where one reply of a subscribed connection goes; conn.c makes the calls. */
typedef struct redisconn__sub_route {
    redisconn__cmd *deliver;       /* the subscription the reply is a message of, or NULL */
    redisconn__cmd *ended;         /* a subscription whose last name this reply unsubscribed */
    redisconn__cmd *unsub_done;    /* a (P)UNSUBSCRIBE whose last confirmation this is */
    unsigned invalid : 1;          /* the answer to a command sent while subscribed (PING, an
                                      error): hiredis's `sub.invalid` callback gets it */
    unsigned leave_subscribed : 1; /* nothing is subscribed any more */
} redisconn__sub_route;

/* Remembers the channels (patterns when `pattern`) a (P)SUBSCRIBE record
 * subscribes to. REDISCONN_OK, INVALID (malformed) or NOMEM (nothing kept). */
int redisconn__sub_track_subscribe(redisconn__cmd *rec, const char *cmd, size_t len, int pattern);

/* Counts the confirmations a (P)UNSUBSCRIBE record waits for: one per name
 * given, or, without names, one per name of its kind subscribed now (one
 * "none" confirmation when there is none). REDISCONN_OK, INVALID or NOMEM. */
int redisconn__sub_track_unsubscribe(const redisconn_conn *conn, redisconn__cmd *rec,
                                     const char *cmd, size_t len, int pattern);

/* Decides where reply `r` of a subscribed connection goes, updating the
 * bookkeeping (an unsubscribe confirmation drops its name). Can't fail. */
void redisconn__sub_decide(const redisconn_conn *conn, const redisReply *r,
                           redisconn__sub_route *rt);

/* Frees what a record's tracking holds (records free it with themselves). */
void redisconn__sub_free(redisconn__cmd *rec);

#endif
