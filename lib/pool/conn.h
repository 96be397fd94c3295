/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn.h — one Redis connection and how it is opened: the two leaves of
 * lib/pool (conn.c, dial.c), and the seam between them and their owner.
 *
 * THE SEAM. A connection never calls its owner by name. Its owner gives it an
 * environment (redisconn__conn_env: event base, defer queue, dial settings)
 * holding two small tables:
 *   - hooks (redisconn__conn_hooks): what the connection reports — ready
 *     (handshake done), dead (context gone), drained (last reply in), deadline
 *     (a command's deadline passed). The owner decides what follows.
 *   - a locator (redisconn__locator): where to dial. A plain pool answers with
 *     its fixed address at once; a Sentinel-aware owner can ask the sentinels
 *     first and answer later.
 * conn.c and dial.c include this header only: they cannot see the pool's
 * struct, so any owner that fills an environment (the plain pool, a
 * Sentinel pool, a cluster's per-node pool) uses them unchanged.
 *
 * OWNERSHIP. The owner allocates connections with redisconn__conn_new() and
 * frees them with redisconn__conn_free() after the dead hook, from the loop.
 * A connection owns its hiredis context `ac` until hiredis frees it (the
 * adapter's cleanup hook); `ac` is NULL before connect and after death. A
 * command record (redisconn__cmd) lives from the send until hiredis calls it
 * back; a streaming record (SUBSCRIBE) until the connection is freed.
 */
#ifndef REDISCONN_POOL_CONN_H
#define REDISCONN_POOL_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/async.h>

#include "redisconn/pool.h"
#include "util/defer.h"
#include "util/list.h"
#include "pool/addr.h"
#include "pool/log.h"

struct event_base;
struct evdns_base;
struct evdns_getaddrinfo_request;

/* What a connection reports to its owner. Each hook runs from the loop or
 * from inside a hiredis callback of the connection, never from inside an
 * owner's call into conn.c/dial.c except where noted. */
typedef struct redisconn__conn_hooks {
    /* The handshake succeeded: the connection is usable (dial.c). */
    void (*ready)(redisconn_conn *conn);
    /* The connection is gone: its context was freed (every pending callback
     * has run) or it never got one. `dial_status` is set when the dial failed.
     * Runs once; may run inside redisconn__conn_close(). */
    void (*dead)(redisconn_conn *conn);
    /* The last user or pool command in flight got its reply (inflight 0). */
    void (*drained)(redisconn_conn *conn);
    /* The deadline of some pending command (or of the dial) passed, `now`
     * on redisconn__now_us(). Runs from the loop, outside hiredis. */
    void (*deadline)(redisconn_conn *conn, uint64_t now);
    /* A command was answered "-READONLY ..." (the server is a replica now).
     * Optional (NULL). Runs after the command's callback. */
    void (*readonly)(redisconn_conn *conn);
} redisconn__conn_hooks;

/* Where to dial: asked once per dial, before anything else. */
typedef struct redisconn__locator {
    /* Finds the address for `conn`: calls redisconn__dial_to() or
     * redisconn__dial_fail() exactly once, now or later from the loop — unless
     * cancel() is called first. */
    void (*locate)(void *self, redisconn_conn *conn);
    /* `conn` is being closed before locate() answered: never answer it. */
    void (*cancel)(void *self, redisconn_conn *conn);
    /* Optional (NULL): a dial to the address it gave failed with `status`, so
     * the answer may be out of date (a Sentinel locator asks again). */
    void (*failed)(void *self, redisconn_conn *conn, int status);
    void *self;
} redisconn__locator;

/* A connection's environment, set up by its owner and shared by all of its
 * connections; it must outlive them. */
typedef struct redisconn__conn_env {
    struct event_base *base;
    redisconn__defer *defer; /* deferred reports, frees and adapter flushes */
    const redisconn__conn_hooks *hooks;
    redisconn__locator locator;
    const redisconn__log_cfg *log;
    struct evdns_base *dns;  /* created by dial.c on first use; see redisconn__dial_env_free() */
    int connect_timeout_ms;  /* locate + DNS + connect + handshake; 0 = none */
    int db;                  /* SELECTed by the handshake; < 0: no SELECT, a PING instead */
    int check_role;          /* the handshake also asks ROLE and fails unless "master" */
    int readonly;            /* the handshake also sends READONLY (a cluster replica's pool) */
    const char *username;    /* AUTH user (NULL: password-only AUTH) */
    const char *password;    /* AUTH password (NULL: no AUTH); never logged */
    const char *client_name; /* CLIENT SETNAME at dial (NULL: none) */
    int tcp_keepalive_s;     /* SO_KEEPALIVE idle seconds on TCP (0: off) */
    struct redisconn__cmd *free_cmds; /* command records for reuse (conn.c) */
    unsigned free_cmds_n;
} redisconn__conn_env;

/*
 * The owner's view of a connection's life. Kept here so that the field is
 * typed, but written by the owner's one state function only (pool.c:
 * redisconn__pool_set_state); conn.c and dial.c never read it. Zero is the
 * neutral state of a connection that was allocated and has not started.
 */
typedef enum redisconn__conn_state {
    CONN_NEW = 0,   /* allocated, not dialing yet */
    CONN_DIALING,   /* locating, resolving, connecting, handshake in flight */
    CONN_IDLE,      /* in the idle list */
    CONN_TESTING,   /* PING on borrow in flight, bound to an acquire */
    CONN_LEASED,    /* owned by a user, or chosen for an acquire not yet delivered */
    CONN_DRAINING,  /* released; user commands still in flight */
    CONN_RESETTING, /* released; DISCARD / UNWATCH / SELECT in flight */
    CONN_SHARED,    /* carries pool-level commands (the shared list) */
    CONN_CLOSING,   /* closed by the owner, waiting for hiredis's cleanup */
    CONN_LOST,      /* died while leased: waits for redisconn_release() */
    CONN_DEAD,      /* gone; freed from the loop */
} redisconn__conn_state;

/* How far a dial got (dial.c's own sub-state). */
typedef enum redisconn__dial_stage {
    DIAL_NONE = 0,  /* not dialing */
    DIAL_LOCATING,  /* waiting for the locator */
    DIAL_RESOLVING, /* waiting for evdns */
    DIAL_HANDSHAKE, /* context attached; connect, AUTH, SELECT in flight */
    DIAL_DONE,      /* handshake succeeded */
    DIAL_FAILED,    /* failed; the dead hook follows */
} redisconn__dial_stage;

/* Connection state left behind by commands sent on it (conn.c tracks it;
 * lease.c undoes it on release). */
enum redisconn__conn_dirty {
    DIRTY_MULTI = 1u << 0,   /* MULTI sent, no EXEC/DISCARD yet: DISCARD */
    DIRTY_WATCH = 1u << 1,   /* WATCH sent, no UNWATCH/EXEC/DISCARD yet: UNWATCH */
    DIRTY_DB = 1u << 2,      /* SELECT sent: SELECT db */
    DIRTY_CLOSE = 1u << 3,   /* cannot be reset: close on release */
    DIRTY_NAME = 1u << 4,    /* CLIENT SETNAME sent: CLIENT SETNAME <client_name> */
    DIRTY_NOEVICT = 1u << 5, /* CLIENT NO-EVICT sent: CLIENT NO-EVICT off */
    DIRTY_NOTOUCH = 1u << 6, /* CLIENT NO-TOUCH sent: CLIENT NO-TOUCH off */
};

typedef enum redisconn__cmd_kind {
    CMD_USER = 0, /* user command on a lease: counted in conn->inflight */
    CMD_INTERNAL, /* handshake, PING, reset: counted in conn->internal */
    CMD_STREAM,   /* (P)SUBSCRIBE: fires per message, owned by the conn */
    CMD_POOL,     /* pool-level command on a shared conn: counted in conn->inflight */
    CMD_UNSUB,    /* (P)UNSUBSCRIBE with a callback: conn->unsubs, counted in inflight */
} redisconn__cmd_kind;

struct redisconn__sub;

typedef struct redisconn__cmd {
    redisconn__link link; /* conn->cmds (send order), conn->streams or conn->unsubs */
    redisconn_conn *conn;
    redisconn_reply_cb cb;
    void *privdata;
    uint64_t deadline_us;       /* 0 = none */
    uint64_t write_mark;        /* the adapter's write count when it was queued */
    struct redisconn__sub *sub; /* STREAM / UNSUB: what it (un)subscribes (sub.c) */
    redisconn__cmd_kind kind;
    unsigned finished : 1;  /* stream: final status already delivered */
    unsigned abandoned : 1; /* pool command timed out: its reply is discarded */
} redisconn__cmd;

struct redisconn_conn {
    redisconn__conn_env *env;
    redisconn_pool *pool;        /* the owner; opaque to conn.c and dial.c */
    redisAsyncContext *ac;       /* NULL before connect and once hiredis freed it */
    redisconn__defer_item later; /* a deferred dial failure report, then the free */
    uint64_t created_us;

    /* Written by the owner (pool.c and its spokes). */
    redisconn__conn_state state;
    redisconn__link node;    /* the idle or shared list, by state */
    redisconn__link all;     /* the owner's live connections */
    redisconn_acquire *req;  /* acquire waiting on this conn's PING */
    unsigned epoch;          /* the owner's epoch when it was dialed (failover retires older) */
    uint64_t idle_since_us;  /* idle since (idle list, shared maintenance) */
    int close_why;           /* enum close_why of internal.h: the stats counter */
    unsigned for_shared : 1; /* dialed to carry pool-level commands */
    unsigned reset_failed : 1;

    /* Written by conn.c. */
    redisconn__link cmds;     /* commands awaiting replies, oldest first */
    redisconn__link sub_cmds; /* commands sent while subscribed (PING), oldest first */
    redisconn__link streams;  /* (P)SUBSCRIBE records, until the conn is freed */
    redisconn__link unsubs;   /* (P)UNSUBSCRIBE records awaiting their confirmations */
    unsigned inflight;        /* CMD_USER / CMD_POOL records not yet answered */
    unsigned internal;        /* CMD_INTERNAL records not yet called back */
    unsigned abandoned;       /* CMD_POOL records that timed out, reply still due */
    unsigned dirty;           /* enum redisconn__conn_dirty */
    int abort_status;         /* given to pending callbacks when we free the context */
    unsigned broken : 1;      /* failed or being freed: no more commands */
    unsigned dead : 1;        /* the dead hook has run */
    char errstr[160];
    /* Set by dial.c while connecting: asked when the context is gone whether
     * another attempt (the next address) replaces it; 1 = yes, no death. */
    int (*reopen)(redisconn_conn *conn);

    /* Written by dial.c. */
    redisconn__dial_stage dial_stage;
    int dial_status; /* why the dial failed, 0 while it has not */
    uint64_t dial_deadline_us;
    redisconn__addr addr; /* where it connects (a copy of the locator's answer) */
    struct evdns_getaddrinfo_request *dns_req;
    redisconn__link locate_link; /* the locator's queue, while it has not answered */
    int env_last_stage;          /* the handshake stage whose answer completes the dial */
    char (*ips)[46];             /* resolved addresses, IPv4 first (malloc'd), or NULL */
    unsigned ip_count;           /* entries in ips */
    unsigned ip_next;            /* the next one to try */
    unsigned connect_failed : 1; /* hiredis reported the TCP connect failed */
};

/* ---- conn.c ------------------------------------------------------------ */

/* A new connection of `owner` in `env`, state CONN_NEW. NULL when out of memory. */
redisconn_conn *redisconn__conn_new(redisconn__conn_env *env, redisconn_pool *owner);

/* Frees a dead connection: the final call of subscriptions that ended without
 * one, its address, the struct. Call from the loop, never from a callback of
 * the connection. */
void redisconn__conn_free(redisconn_conn *conn);

/* Sends a RESP-formatted command (copied) of kind CMD_INTERNAL or CMD_POOL.
 * `deadline_us` 0 = none. Returns REDISCONN_OK (cb fires once, later), or IO
 * / NOMEM and cb never fires. */
int redisconn__conn_send(redisconn_conn *conn, redisconn__cmd_kind kind, redisconn_reply_cb cb,
                         void *privdata, const char *cmd, size_t len, uint64_t deadline_us);

/* Sends a user's command on a lease, classified as `cls` (redisconn__classify):
 * refused when hiredis cannot follow it (UNSUPPORTED) or the connection is
 * subscribed and it is not a pub/sub command or PING (SUBSCRIBED); tracked in
 * `dirty`; (P)SUBSCRIBE streams, (P)UNSUBSCRIBE completes on its
 * confirmations. Returns REDISCONN_OK (cb fires as documented in pool.h), or
 * IO / NOMEM / UNSUPPORTED / SUBSCRIBED / INVALID and cb never fires. */
int redisconn__conn_send_user(redisconn_conn *conn, unsigned cls, redisconn_reply_cb cb,
                              void *privdata, const char *cmd, size_t len, uint64_t deadline_us);

/* redisconn__conn_send() of a CMD_INTERNAL command in hiredis format syntax. */
int redisconn__conn_sendf(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata,
                          uint64_t deadline_us, const char *fmt, ...);

/* Aborts the connection: pending callbacks get `abort_status` (hiredis runs
 * them inside this call, or right after the running callback of the
 * connection returns), then the dead hook runs. Idempotent. Without a context
 * the dead hook runs at once. */
void redisconn__conn_close(redisconn_conn *conn, int abort_status);

/* Runs the dead hook now, for a connection without a context (dial.c), or
 * once its context is gone (reply.c). Runs once. */
void redisconn__conn_dead(redisconn_conn *conn);

/* A record's reply (or its failure, `r` NULL): unlinks and recycles it, calls
 * its owner, reports READONLY and a drain to the connection's owner. */
void redisconn__conn_complete(redisconn_conn *conn, redisconn__cmd *rec, int status, redisReply *r);

/* A subscription's final call (once): after its last unsubscribe, or at death. */
void redisconn__conn_stream_final(redisconn__cmd *rec, int status);

/* The context is gone: every pending record fails with `status`, every
 * subscription gets its final call. */
void redisconn__conn_fail_pending(redisconn_conn *conn, int status);

/* Frees the environment's record free list (owner teardown). */
void redisconn__conn_env_free(redisconn__conn_env *env);

/* ---- reply.c ----------------------------------------------------------- */

/* Binds a fresh hiredis context to the connection and the loop: replies are
 * read and dispatched by reply.c from then on. Returns 0, or -1 when out of
 * memory (the caller still owns `ac`). */
int redisconn__reply_attach(redisconn_conn *conn, redisAsyncContext *ac);

/* Remembers `msg` (or "") as the connection's last error. */
void redisconn__conn_set_error(redisconn_conn *conn, const char *msg);

/* The earliest deadline among pending commands, 0 if none. O(pending). */
uint64_t redisconn__conn_earliest_deadline(const redisconn_conn *conn);

/* Re-arms the connection's deadline timer for `at_us` unless it fires earlier. */
void redisconn__conn_arm_deadline(redisconn_conn *conn, uint64_t at_us);

/* ---- dial.c ------------------------------------------------------------ */

/* Starts opening `conn` (state must be the owner's DIALING): locator, DNS,
 * connect, AUTH, SELECT. Never reports synchronously: the ready or dead hook
 * runs later, from the loop or a callback of the connection. */
void redisconn__dial_start(redisconn_conn *conn);

/* The locator's answer: dial `addr` (copied). */
void redisconn__dial_to(redisconn_conn *conn, const redisconn__addr *addr);

/* The locator's failure (or any failure before a context exists): the dial
 * fails with `status` and `msg` (may be NULL); the dead hook runs from the loop. */
void redisconn__dial_fail(redisconn_conn *conn, int status, const char *msg);

/* The dial deadline passed (the owner's deadline hook asks for this): the
 * dial fails with CONNECT "connect timeout". */
void redisconn__dial_timeout(redisconn_conn *conn);

/* Abandons a dial in progress, whatever its stage, giving `status` to what is
 * pending; the dead hook follows (at once or from the loop). */
void redisconn__dial_cancel(redisconn_conn *conn, int status);

/* Frees what dial.c created in `env` (the DNS resolver). */
void redisconn__dial_env_free(redisconn__conn_env *env);

#endif
