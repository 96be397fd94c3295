/*
 * internal.h — the pool's private structures, shared by the files of lib/pool.
 *
 * Objects and who owns them:
 *  - redisconn_pool owns every redisconn_conn (list `conns`), every pending
 *    redisconn_acquire (lists `waiters` and `ready`) and the free lists.
 *  - A conn owns its hiredis context `ac` until hiredis frees it (the adapter's
 *    cleanup hook); then `ac` is NULL and the conn is "dead". A dead conn's
 *    memory is freed later from the pool's async event (never on a stack that
 *    may still refer to it), once no user holds it (a leased conn is freed
 *    after redisconn_release()).
 *  - A command record (redisconn__cmd) lives from the command until hiredis
 *    calls its trampoline; streaming records (SUBSCRIBE, MONITOR) live until
 *    their conn is freed.
 */
#ifndef REDISCONN_POOL_INTERNAL_H
#define REDISCONN_POOL_INTERNAL_H

#include <stdint.h>

#include <hiredis/async.h>

#include "redisconn/pool.h"
#include "util/list.h"
#include "pool/addr.h"

struct event;
struct evdns_base;
struct evdns_getaddrinfo_request;

enum conn_state {
    CONN_DIALING,   /* resolving, connecting, AUTH/SELECT in flight */
    CONN_IDLE,      /* in pool->idle */
    CONN_LEASED,    /* owned by a user, or chosen for an acquire not yet delivered */
    CONN_TESTING,   /* PING on borrow in flight */
    CONN_DRAINING,  /* released; user commands still in flight */
    CONN_RESETTING, /* released; DISCARD / UNWATCH / SELECT in flight */
    CONN_SHARED,    /* carries pool-level commands (pool->shared) */
    CONN_CLOSING,   /* redisAsyncFree requested, waiting for hiredis's cleanup */
    CONN_DEAD,      /* context gone; memory freed from the async event */
};

/* Why a connection was closed: selects the stats counter. */
enum close_why {
    CLOSE_BROKEN,
    CLOSE_IDLE_TIMEOUT,
    CLOSE_LIFETIME,
    CLOSE_MAX_IDLE,
    CLOSE_DIRTY,
    CLOSE_POOL_CLOSED,
    CLOSE_COMMAND_TIMEOUT,
    CLOSE_DIAL_FAILED,
};

/* Connection state changes tracked from the commands sent on it. */
enum conn_dirty {
    DIRTY_MULTI = 1u << 0, /* MULTI sent, no EXEC/DISCARD yet */
    DIRTY_WATCH = 1u << 1, /* WATCH sent, no UNWATCH/EXEC/DISCARD yet */
    DIRTY_DB = 1u << 2,    /* SELECT sent */
    DIRTY_CLOSE = 1u << 3, /* cannot be reset: close on release */
};

enum cmd_kind {
    CMD_USER,     /* user command: counted in conn->inflight */
    CMD_INTERNAL, /* handshake, PING, reset */
    CMD_STREAM,   /* (P)SUBSCRIBE: fires per message, owned by the conn */
    CMD_POOL,     /* pool-level command on a shared conn: counted in conn->inflight */
};

typedef struct redisconn__cmd {
    redisconn__link link; /* conn->cmds (deadline order) or conn->streams */
    redisconn_conn *conn;
    redisconn_reply_cb cb;
    void *privdata;
    uint64_t deadline_us; /* 0 = none */
    unsigned kind : 2;
    unsigned finished : 1;  /* stream: final status already delivered */
    unsigned abandoned : 1; /* pool command timed out: its reply is discarded */
} redisconn__cmd;

struct redisconn_conn {
    redisconn_pool *pool;
    redisAsyncContext *ac; /* NULL before connect and once hiredis freed it */
    redisconn__link node;  /* pool->idle while idle; pool->zombies once dead */
    redisconn__link all;   /* pool->conns while alive */
    redisconn__link cmds;  /* commands awaiting replies, oldest first */
    redisconn__link streams;
    redisconn_acquire *req; /* acquire waiting on this conn's PING */
    struct evdns_getaddrinfo_request *dns_req;
    uint64_t created_us;
    uint64_t idle_since_us;
    uint64_t dial_deadline_us;
    unsigned inflight;  /* CMD_USER / CMD_POOL records not yet answered */
    unsigned internal;  /* CMD_INTERNAL records not yet called back */
    unsigned abandoned; /* CMD_POOL records that timed out, reply still due */
    int state;
    int abort_status; /* status given to pending callbacks when we free the context */
    int close_why;
    int dial_status; /* why the dial failed */
    unsigned dirty;
    unsigned broken : 1;       /* context failed or is being freed: no more commands */
    unsigned released : 1;     /* the user called redisconn_release() */
    unsigned reset_failed : 1; /* a reset command failed: close instead of reuse */
    unsigned for_shared : 1;   /* dialed to carry pool-level commands */
    char errstr[160];
};

enum req_state {
    REQ_WAITING, /* in pool->waiters */
    REQ_TESTING, /* bound to a conn whose PING is in flight */
    REQ_READY,   /* in pool->ready, outcome decided */
    REQ_RUNNING, /* its callback is running */
    REQ_FREE,    /* on the free list */
};

struct redisconn_acquire {
    redisconn_pool *pool;
    redisconn__link node; /* waiters, ready or free list */
    redisconn_acquire_cb cb;
    void *arg;
    redisconn_conn *conn; /* chosen connection (READY with success, or TESTING) */
    struct event *timer;  /* created on first wait, kept across reuse */
    uint64_t start_us;
    int state;
    int status;
    char *errmsg; /* malloc'd, only on failure */
    unsigned waited : 1;
    unsigned timer_armed : 1;
};

struct redisconn_pool {
    struct event_base *base;
    redisconn__addr addr;
    redisconn_pool_options opts; /* strings below are owned copies */
    char *username;
    char *password;

    redisconn__link idle;    /* LIFO: most recently used first */
    redisconn__link conns;   /* every live connection */
    redisconn__link zombies; /* dead connections awaiting free */
    redisconn__link waiters; /* FIFO */
    redisconn__link ready;   /* acquires whose callback is due */
    redisconn__link free_reqs;
    redisconn__link failed;   /* dials that failed synchronously, reported from async_ev */
    redisconn__link shared;   /* CONN_SHARED connections */
    redisconn__link pending;  /* pool-level commands waiting for a shared connection */
    struct event *pending_ev; /* deadline of the oldest pending command */
    uint64_t pending_at;

    struct event *async_ev; /* deliveries, close progress, zombie frees */
    struct event *maint_ev; /* idle reaping, lifetime, min_idle */
    uint64_t maint_at;      /* when maint_ev fires, 0 = not armed */
    struct evdns_base *dns;

    int active; /* live connections (counted in max_active) */
    int idle_n;
    int in_use;
    int dialing;
    int waiting;
    int shared_n;
    int shared_dialing;
    int free_reqs_n;
    uint64_t dial_backoff_until; /* no pre-warm dials before this (after a failure) */

    redisconn_pool_stats stats;

    unsigned closed : 1;
    unsigned close_done : 1;
    unsigned async_pending : 1;
    redisconn_pool_close_cb close_cb;
    void *close_arg;
};

/* Moves a connection to a new state, keeping the in-use and dialing counts. */
static inline void redisconn__conn_state(redisconn_conn *conn, int state)
{
    if (conn->state == CONN_LEASED) conn->pool->in_use--;
    if (conn->state == CONN_DIALING) conn->pool->dialing--;
    if (conn->state == CONN_SHARED) conn->pool->shared_n--;
    if (state == CONN_LEASED) conn->pool->in_use++;
    if (state == CONN_DIALING) conn->pool->dialing++;
    if (state == CONN_SHARED) conn->pool->shared_n++;
    conn->state = state;
}

/* pool.c: life cycle, the async event, stats */
void redisconn__pool_kick(redisconn_pool *pool);
void redisconn__pool_dial_failed_later(redisconn_conn *conn, int status, const char *msg);

/* acquire.c: acquires, waiters, hand-off, deliveries */
void redisconn__pool_put(redisconn_conn *conn);
void redisconn__pool_conn_dead(redisconn_conn *conn);
void redisconn__pool_ensure_dials(redisconn_pool *pool);
void redisconn__pool_deliver(redisconn_pool *pool);
void redisconn__pool_fail_waiters(redisconn_pool *pool, int status);
void redisconn__req_free(redisconn_acquire *req);
void redisconn__req_assign(redisconn_acquire *req, redisconn_conn *conn);
void redisconn__req_retry(redisconn_acquire *req);

/* release.c: release, reset, PING on borrow, idle maintenance */
void redisconn__maint_arm(redisconn_pool *pool, uint64_t at_us);
void redisconn__maint_conn(redisconn_pool *pool, const redisconn_conn *conn);
void redisconn__maint_run(redisconn_pool *pool);
int redisconn__conn_expired(const redisconn_conn *conn, uint64_t now);

/* conn.c: commands, replies, deadlines, state tracking */
redisconn_conn *redisconn__conn_new(redisconn_pool *pool);
void redisconn__conn_free(redisconn_conn *conn);
int redisconn__conn_send(redisconn_conn *conn, int kind, redisconn_reply_cb cb, void *privdata,
                         const char *cmd, size_t len, uint64_t deadline_us);
int redisconn__conn_sendf(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata,
                          uint64_t deadline_us, const char *fmt, ...);
void redisconn__conn_close(redisconn_conn *conn, int why, int abort_status);
int redisconn__conn_attach(redisconn_conn *conn, redisAsyncContext *ac);
void redisconn__conn_set_error(redisconn_conn *conn, const char *msg);
void redisconn__conn_recycle(redisconn_conn *conn);
uint64_t redisconn__conn_earliest_deadline(const redisconn_conn *conn);
int redisconn__format_argv(char **cmd, int argc, const char **argv, const size_t *argvlen);
int redisconn__conn_ping(redisconn_conn *conn);

/* shared.c: pool-level commands on shared connections */
void redisconn__shared_adopt(redisconn_conn *conn);
void redisconn__shared_drained(redisconn_conn *conn);
void redisconn__shared_deadline(redisconn_conn *conn, uint64_t now);
void redisconn__shared_dial_failed(redisconn_pool *pool, int status, const char *msg);
void redisconn__shared_fail_pending(redisconn_pool *pool, int status, const char *msg);
void redisconn__shared_kick(redisconn_pool *pool);
void redisconn__shared_free(redisconn_pool *pool);

/* dial.c */
redisconn_conn *redisconn__dial(redisconn_pool *pool);
void redisconn__dial_abort(redisconn_conn *conn);

/* log.c */
void redisconn__log(const redisconn_pool *pool, int level, const char *fmt, ...)
    REDISCONN_PRINTF(3, 4);

#endif
