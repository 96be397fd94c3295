/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/pool.h — an asynchronous Redis connection pool on a libevent
 * event_base, re-creating go.chromium.org/luci/server/redisconn's NewPool.
 *
 * THREADS. A pool belongs to one event_base and to the thread that runs it.
 * Every function here must be called from that thread, and every callback runs
 * on it. A daemon with N loop threads creates N pools.
 *
 * CALLBACK CONTRACT (libuv's rule). A call that takes a callback either
 * returns an error (NULL handle, negative status) and the callback never
 * fires, or succeeds and the callback fires exactly once, later, from the event
 * loop — never from inside the call that started it. Callbacks may call any
 * function of this header, including releasing, canceling and closing.
 *
 * OWNERSHIP. The pool owns every redisconn_conn. A connection delivered to an
 * acquire callback is leased to the caller until redisconn_release(); after
 * that the pointer must not be used. hiredis replies passed to reply callbacks
 * are freed when the callback returns: copy what you keep.
 */
#ifndef REDISCONN_POOL_H
#define REDISCONN_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#include <hiredis/hiredis.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;

/** The pool. Opaque; created by redisconn_pool_new*(), freed by redisconn_pool_close(). */
typedef struct redisconn_pool redisconn_pool;
/** A leased connection. Opaque; valid from its acquire callback until redisconn_release(). */
typedef struct redisconn_conn redisconn_conn;
/** A pending acquire. Opaque; valid until its callback returns. */
typedef struct redisconn_acquire redisconn_acquire;

/**
 * Pool options. A plain struct: call redisconn_pool_options_init() first, then
 * change what you need. Strings are copied by redisconn_pool_new_with_options();
 * the caller keeps ownership of its own buffers.
 */
typedef struct redisconn_pool_options {
    /** Most idle connections kept; extra ones are closed on release. Default 64. */
    int max_idle;
    /** Most connections open at once (idle + leased + dialing); 0 = no limit. Default 512. */
    int max_active;
    /** Idle connections older than this are closed by a timer. 0 = never. Default 180000 (3 min).
     */
    int64_t idle_timeout_ms;
    /** 1: acquire waits for a connection when max_active is reached; 0: fails EXHAUSTED. Default 1.
     */
    int wait;
    /** Most acquires waiting at once; further ones fail EXHAUSTED. 0 = no limit. Default 0. */
    int max_waiters;
    /** Dial deadline: DNS + TCP connect + AUTH + SELECT. 0 = none. Default 5000. */
    int connect_timeout_ms;
    /** A command without its reply after this long fails with TIMEOUT. 0 = none. Default 5000. */
    int command_timeout_ms;
    /** PING a connection on borrow when it sat idle longer than this. <0 = never. Default 60000. */
    int64_t test_on_borrow_ms;
    /** Connections older than this are closed instead of reused. 0 = no limit. Default 0. */
    int64_t max_conn_lifetime_ms;
    /** Idle connections kept open (pre-warmed) even with no traffic. Default 0. */
    int min_idle;
    /** Logical database SELECTed on every new connection. Default 0. */
    int db;
    /** AUTH user name (Redis 6 ACL); NULL = password-only AUTH. Default NULL. */
    const char *username;
    /** AUTH password; NULL = no AUTH. Never logged. Default NULL. */
    const char *password;
    /** Log hook; NULL = silent. Default NULL. */
    redisconn_log_fn log_fn;
    /** Passed to log_fn. */
    void *log_arg;
    /** Least level passed to log_fn. Default REDISCONN_LOG_INFO. */
    int log_level;
    /** Most connections carrying pool-level commands (counted in max_active); at most
     * max_active when that is set. 0 = the default: 2, lowered to max_active. */
    int max_shared;
    /** After a failed dial, the first back-off delay; it doubles after each further
     * consecutive failure, up to dial_backoff_max_ms (with jitter). >= 1. Default 100. */
    int dial_backoff_min_ms;
    /** The longest back-off delay between dials while the server fails them. >= min.
     * Default 2000. */
    int dial_backoff_max_ms;
    /** Name every new connection gives itself (CLIENT SETNAME at dial), shown by
     * CLIENT LIST; also what a borrower's CLIENT SETNAME is reset to. No spaces or
     * newlines. NULL = no name. Default NULL. */
    const char *client_name;
    /** TCP keep-alive idle time in seconds on TCP connections (like redigo's 5 min);
     * 0 = keep-alive off. Default 300. */
    int tcp_keepalive_s;
    /** Sentinel, in code: the name the sentinels know the master by. When set, the
     * pool's `addr` is the sentinels' "host:port[,host:port...]" list (a
     * "sentinel://.../name" address needs none of this). Default NULL. */
    const char *sentinel_master;
    /** AUTH user name for the sentinels (Redis 6 ACL); NULL = password-only. */
    const char *sentinel_username;
    /** AUTH password for the sentinels (`sentinel auth-pass` style); NULL = none.
     * The master's own password is `password` (or the URL's). Never logged. */
    const char *sentinel_password;
    /** How long one sentinel may take to connect and answer before the next one
     * is asked, in ms; also how long the subscribed sentinel may leave its
     * health-check PING (one a second) unanswered before the pool subscribes
     * on the next one. Default 1000. */
    int sentinel_timeout_ms;
} redisconn_pool_options;

/**
 * Why something could not be created, in words: a plain struct the caller
 * owns. `status` is REDISCONN_OK or the negative status returned; `message`
 * is "" on success, else one sentence naming what was refused and why
 * (e.g. `address "localhost": missing port, expected "host:port"`), never
 * containing a password.
 */
typedef struct redisconn_error {
    int status;
    char message[256];
} redisconn_error;

/** Fills `opts` with the seed's NewPool defaults (see field comments). */
REDISCONN_EXPORT void redisconn_pool_options_init(redisconn_pool_options *opts);

/**
 * Creates a pool with the seed's defaults, like Go's NewPool(addr, db).
 *
 * `addr` is "host:port", "[ipv6]:port" or "unix:/path/to/socket"; it is parsed
 * now and copied. A host name is resolved asynchronously (evdns) at each dial,
 * so it never blocks the loop. No connection is opened until first use.
 *
 * Returns NULL on a malformed address, a port outside 1..65535, a negative db,
 * a NULL base, or out of memory. The pool lives until redisconn_pool_close()
 * has completed; `base` must outlive it.
 */
REDISCONN_EXPORT redisconn_pool *redisconn_pool_new(struct event_base *base, const char *addr,
                                                    int db);

/**
 * Like redisconn_pool_new() with explicit options (`opts->db` is the database).
 * `opts` may be NULL for the defaults. Also returns NULL when an option is out
 * of range: negative sizes or timeouts, `wait` other than 0/1, `log_level`
 * outside DEBUG..ERROR, `min_idle` above `max_idle` or `max_active`,
 * `max_shared` above `max_active`, a back-off maximum below its minimum, a
 * user name without a password, a `client_name` with spaces.
 *
 * Besides "host:port", "[ipv6]:port" and "unix:/path", `addr` may be a URL:
 * "redis://[[user]:password@]host[:port][/db]" (port 6379 by default; also
 * "?db=N") or "unix://[[user]:password@]/path[?db=N]" (user name and password
 * percent-decoded). A user, password or db given in the URL overrides the one
 * in `opts`. "rediss://" is refused: hiredis 0.14 has no TLS.
 *
 * If `err` is not NULL it receives the status and, on failure, the reason in
 * words (no log hook needed); on success its status is REDISCONN_OK.
 */
REDISCONN_EXPORT redisconn_pool *redisconn_pool_new_with_options(struct event_base *base,
                                                                 const char *addr,
                                                                 const redisconn_pool_options *opts,
                                                                 redisconn_error *err);

/**
 * Acquire callback. Exactly one of `conn` and a non-OK `status` is set:
 * on success `status` is REDISCONN_OK and `conn` is leased to you; otherwise
 * `conn` is NULL and `status` is one of:
 *  - TIMEOUT: this acquire's own timeout; `errmsg` says what it waited for
 *    ("512 of 512 connections leased, 40 acquires waiting ahead", "a dial to
 *    host:port in progress", "server down since ...: last dial error ...");
 *  - CANCELED (redisconn_acquire_cancel), EXHAUSTED (wait = 0 at max_active,
 *    or max_waiters reached), CLOSED (the pool closed);
 *  - a dial's failure — CONNECT (refused, unreachable, max clients, "connect
 *    timeout"), AUTH, SELECT, RESOLVE, PROTOCOL, IO, NOMEM: the dial made for
 *    this acquire failed, or the pool considers the server down (dials back
 *    off) and no lease could come back to serve it, so it fails at once with
 *    the last dial error.
 * `errmsg` carries the server's or system's message where there is one
 * (valid during the call only, else NULL).
 */
typedef void (*redisconn_acquire_cb)(redisconn_conn *conn, int status, const char *errmsg,
                                     void *arg);

/**
 * Leases a connection: an idle one (most recently used first), a new one if
 * under max_active, or the next one released (waiters are served strictly
 * FIFO). A connection idle longer than test_on_borrow_ms is PINGed first.
 *
 * `timeout_ms` > 0 bounds the wait; 0 waits without limit (the pool's connect
 * timeout still bounds dials). Returns a handle for redisconn_acquire_cancel(),
 * valid until the callback returns; or NULL if `pool` or `cb` is NULL,
 * `timeout_ms` is negative, or memory is short — then `cb` never fires.
 * After pool close, acquire still returns a handle and `cb` gets CLOSED.
 */
REDISCONN_EXPORT redisconn_acquire *redisconn_pool_acquire(redisconn_pool *pool, int64_t timeout_ms,
                                                           redisconn_acquire_cb cb, void *arg);

/**
 * Cancels a pending acquire: its callback fires (from the loop, not from this
 * call) with REDISCONN_ERR_CANCELED and no connection; a connection already
 * chosen for it goes back to the pool. Returns REDISCONN_OK, or
 * REDISCONN_ERR_STATE when called from the acquire's own callback (nothing to
 * cancel then). Passing a handle whose callback has returned is undefined.
 */
REDISCONN_EXPORT int redisconn_acquire_cancel(redisconn_acquire *req);

/**
 * Reply callback. `status` is REDISCONN_OK when Redis answered: `reply` is the
 * answer (maybe a REDIS_REPLY_ERROR reply) and is freed when the callback
 * returns. Otherwise `reply` is NULL and `status` is one of:
 *  - TIMEOUT: the command's deadline passed (on a lease the connection is
 *    closed so that a late reply can never reach anyone; see
 *    redisconn_pool_command() for pool-level commands);
 *  - IO: the connection broke; PROTOCOL: the server sent something that is not
 *    RESP, or a reply no command asked for (the connection is closed);
 *  - CLOSED: the pool closed the connection (pool close, lifetime, ...);
 *  - CANCELED: the final call of a subscription whose last channel or pattern
 *    was unsubscribed;
 *  - NOMEM;
 *  - pool-level commands only: CONNECT, AUTH, SELECT, RESOLVE — the
 *    connection that would have carried it could not be opened (the message
 *    is redisconn_pool_errstr()).
 * `conn` is the connection the command ran on (NULL for pool-level commands);
 * if the lease was already released, it may only be compared, not used.
 */
typedef void (*redisconn_reply_cb)(redisconn_conn *conn, int status, redisReply *reply,
                                   void *privdata);

/**
 * Sends a command on a leased connection, hiredis format string syntax
 * ("SET %s %b", key, val, len; %b is hiredis's binary-safe pointer + size_t,
 * so no printf format checking is declared). The callback fires exactly once,
 * from the loop, except for (P)SUBSCRIBE (below). `cb` may be NULL.
 *
 * DEADLINE. A command must be answered within the pool's command timeout. A
 * blocking command (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN/MAX,
 * BZMPOP, XREAD/XREADGROUP with BLOCK, WAIT, WAITAOF) gets its own timeout
 * argument plus the command timeout; a blocking timeout of 0 ("forever")
 * means no deadline. redisconn_command_with_timeout() sets one command's
 * deadline explicitly.
 *
 * SUBSCRIBE MODE. (P)SUBSCRIBE's callback fires for its confirmation and every
 * message, then once more with reply NULL: CANCELED once its last channel or
 * pattern was unsubscribed (after that confirmation), or the connection's
 * status when it closes. While the connection is subscribed, only
 * (P)SUBSCRIBE, (P)UNSUBSCRIBE and PING are accepted (others get
 * REDISCONN_ERR_SUBSCRIBED); PING's callback gets the ["pong", ""] array
 * RESP2 answers with. (P)UNSUBSCRIBE's callback (may be NULL) fires once,
 * when the server has confirmed every channel (pattern) it named — without
 * arguments, every one subscribed when it was sent — with the last
 * confirmation as `reply`; each confirmation also reaches the subscription's
 * callback. A connection that was ever subscribed is closed on release.
 *
 * Commands hiredis 0.14 cannot track (MONITOR, SSUBSCRIBE, SUNSUBSCRIBE,
 * HELLO, CLIENT REPLY) are refused with REDISCONN_ERR_UNSUPPORTED. Returns
 * REDISCONN_OK, INVALID (bad arguments or format), IO (connection already
 * broken), STATE (connection released), SUBSCRIBED, UNSUPPORTED or NOMEM; on
 * error `cb` never fires.
 */
REDISCONN_EXPORT int redisconn_command(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata,
                                       const char *fmt, ...);

/** va_list variant of redisconn_command(). */
REDISCONN_EXPORT int redisconn_commandv(redisconn_conn *conn, redisconn_reply_cb cb, void *privdata,
                                        const char *fmt, va_list ap);

/**
 * Argument-vector variant of redisconn_command(): `argc` arguments, lengths
 * from `argvlen` (NULL = strlen). The arguments are copied before returning.
 */
REDISCONN_EXPORT int redisconn_command_argv(redisconn_conn *conn, redisconn_reply_cb cb,
                                            void *privdata, int argc, const char **argv,
                                            const size_t *argvlen);

/**
 * redisconn_command() of a command already in RESP (copied before returning);
 * a malformed buffer is refused with UNSUPPORTED.
 */
REDISCONN_EXPORT int redisconn_command_formatted(redisconn_conn *conn, redisconn_reply_cb cb,
                                                 void *privdata, const char *cmd, size_t len);

/**
 * redisconn_command() with this command's own deadline: `timeout_ms` > 0
 * replaces the command timeout (and, for a blocking command, its own timeout
 * plus the command timeout); 0 keeps the default rule. Negative is INVALID.
 * A command that misses it fails with TIMEOUT and closes the connection.
 */
REDISCONN_EXPORT int redisconn_command_with_timeout(redisconn_conn *conn, int64_t timeout_ms,
                                                    redisconn_reply_cb cb, void *privdata,
                                                    const char *fmt, ...);

/** Argument-vector variant of redisconn_command_with_timeout(). */
REDISCONN_EXPORT int redisconn_command_argv_with_timeout(redisconn_conn *conn, int64_t timeout_ms,
                                                         redisconn_reply_cb cb, void *privdata,
                                                         int argc, const char **argv,
                                                         const size_t *argvlen);

/**
 * Returns the lease. Commands still in flight complete and call back their
 * owners; the connection is reused only after they drain. State a borrower
 * changed is never handed on: MULTI, WATCH, SELECT, CLIENT SETNAME,
 * CLIENT NO-EVICT / NO-TOUCH are undone (DISCARD, UNWATCH, SELECT db, CLIENT
 * SETNAME <client_name>, ... off) before reuse; a connection left subscribed,
 * re-authenticated (AUTH, RESET), in CLIENT TRACKING, READONLY/READWRITE, or
 * broken is closed (the table is in docs/pool.md). A reusable connection goes
 * straight to the oldest waiter if any. `conn` must not be used after this
 * call. Releasing NULL is a no-op.
 */
REDISCONN_EXPORT void redisconn_release(redisconn_conn *conn);

/**
 * Pool-level command: no lease. The pool puts the command on a shared
 * connection (the one with the fewest replies outstanding), opening up to
 * `max_shared` of them, and pipelines it with every other command issued in
 * the same loop iteration (one write per connection). The callback fires
 * exactly once, from the loop, with `conn` NULL.
 *
 * Only stateless commands: MULTI/EXEC, WATCH, SELECT, (P)SUBSCRIBE, blocking
 * commands (BLPOP, BRPOP, ..., WAIT), AUTH, CLIENT subcommands that change the
 * connection and the like are refused with REDISCONN_ERR_LEASE_REQUIRED: lease
 * a connection for them. `timeout_ms` > 0 overrides the pool's command timeout
 * for this command (0 = the pool's). A timed-out command fails alone with
 * TIMEOUT — its late reply is discarded — while the commands pipelined behind
 * it keep their own deadlines; a connection whose timed-out command is still
 * unanswered one command timeout later is closed, failing what is pending on
 * it with TIMEOUT. A connection that breaks fails its pending commands with
 * IO; they are not retried (they may have run). A command waiting for a
 * shared connection fails with the dial's status (CONNECT, AUTH, SELECT,
 * RESOLVE; message: redisconn_pool_errstr()) when that dial fails — at once,
 * from the loop, while the pool considers the server down.
 *
 * Returns REDISCONN_OK, or INVALID, CLOSED, UNSUPPORTED, LEASE_REQUIRED,
 * NOMEM — then `cb` never fires.
 */
REDISCONN_EXPORT int redisconn_pool_command(redisconn_pool *pool, int64_t timeout_ms,
                                            redisconn_reply_cb cb, void *privdata, const char *fmt,
                                            ...);

/** va_list variant of redisconn_pool_command(). */
REDISCONN_EXPORT int redisconn_pool_commandv(redisconn_pool *pool, int64_t timeout_ms,
                                             redisconn_reply_cb cb, void *privdata, const char *fmt,
                                             va_list ap);

/**
 * redisconn_pool_command() of a command already in RESP ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
 * e.g. one kept to be sent again; `cmd[0..len)` is copied before returning. A
 * malformed buffer is refused (UNSUPPORTED) before anything is sent.
 */
REDISCONN_EXPORT int redisconn_pool_command_formatted(redisconn_pool *pool, int64_t timeout_ms,
                                                      redisconn_reply_cb cb, void *privdata,
                                                      const char *cmd, size_t len);

/** Argument-vector variant of redisconn_pool_command(); arguments are copied. */
REDISCONN_EXPORT int redisconn_pool_command_argv(redisconn_pool *pool, int64_t timeout_ms,
                                                 redisconn_reply_cb cb, void *privdata, int argc,
                                                 const char **argv, const size_t *argvlen);

/** The pool a connection belongs to. */
REDISCONN_EXPORT redisconn_pool *redisconn_conn_pool(const redisconn_conn *conn);

/**
 * The last error message seen on the connection (hiredis's errstr or a server
 * error during the handshake), or NULL. Valid until the next call on `conn`.
 */
REDISCONN_EXPORT const char *redisconn_conn_errstr(const redisconn_conn *conn);

/**
 * The message of the pool's last dial failure ("Connection refused", "ERR DB
 * index is out of range", "connect timeout", ...), or NULL when the last dial
 * succeeded or none failed. What a pool-level callback failed with CONNECT,
 * AUTH, SELECT or RESOLVE reads for the reason. Owned by the pool, valid until
 * the next call into it.
 */
REDISCONN_EXPORT const char *redisconn_pool_errstr(const redisconn_pool *pool);

/** Number of finite buckets of the wait-time histogram in redisconn_pool_stats. */
#define REDISCONN_WAIT_BUCKETS 11

/**
 * Upper bounds, in microseconds, of the wait-time histogram buckets:
 * 100 µs, 500 µs, 1 ms, 5 ms, 10 ms, 50 ms, 100 ms, 500 ms, 1 s, 5 s, 10 s.
 * Constant data owned by the library.
 */
REDISCONN_EXPORT extern const uint64_t redisconn_wait_bucket_bounds_us[REDISCONN_WAIT_BUCKETS];

/**
 * Pool statistics, a plain struct filled by redisconn_pool_get_stats().
 * The first six fields are the seed's redis.PoolStats.
 */
typedef struct redisconn_pool_stats {
    int active_count;          /**< connections open or opening (idle + in use + dialing + other) */
    int idle_count;            /**< connections in the idle list */
    int in_use_count;          /**< connections leased to callers */
    uint64_t wait_count;       /**< acquires that waited because max_active was reached */
    uint64_t wait_duration_us; /**< time those acquires waited, total, microseconds */
    int waiting_count;         /**< acquires waiting now */
    int dialing_count;         /**< connections being opened now */
    uint64_t acquires;         /**< acquire calls that returned a handle */
    uint64_t dials;            /**< connections attempted */
    uint64_t dial_errors;      /**< connection attempts that failed */
    uint64_t acquire_timeouts; /**< acquires failed with TIMEOUT */
    uint64_t command_timeouts; /**< connections closed because a command timed out */
    uint64_t pings;            /**< PINGs sent on borrow */
    uint64_t resets;           /**< dirty connections reset before reuse */
    uint64_t closed_idle_timeout; /**< closed by the idle timer */
    uint64_t closed_lifetime;     /**< closed because older than max_conn_lifetime */
    uint64_t closed_max_idle;     /**< closed on release because max_idle were idle */
    uint64_t closed_broken; /**< closed because the connection broke (EOF, error, failed PING) */
    uint64_t closed_dirty;  /**< closed because the connection could not be reset */
    uint64_t closed_pool_closed;    /**< closed because the pool closed */
    int shared_count;               /**< connections carrying pool-level commands */
    uint64_t pool_commands;         /**< pool-level commands accepted */
    uint64_t pool_command_timeouts; /**< pool-level commands failed with TIMEOUT */
    uint64_t fast_failed;           /**< acquires and pool-level commands failed at once with the
                                         last dial error while the server was down */
    int server_down;                /**< 1 while the pool considers the server down: the last dial
                                         failed and no connection is open; 0 otherwise */
    int last_dial_status; /**< status of the last failed dial since the last success, 0 if none */
    uint64_t failovers;   /**< Sentinel: switches of the master seen */
    uint64_t closed_failover; /**< connections retired because the master moved */
    uint64_t down_since_us;   /**< CLOCK_MONOTONIC µs of the first failure of the current
                                   episode, 0 when not failing */
    /** Waits counted in wait_count, by duration: wait_buckets[i] counts waits
     * <= redisconn_wait_bucket_bounds_us[i] and above the previous bound (not
     * cumulative); the last element counts waits above 10 s. */
    uint64_t wait_buckets[REDISCONN_WAIT_BUCKETS + 1];
} redisconn_pool_stats;

/** Copies the current statistics into `*stats`. */
REDISCONN_EXPORT void redisconn_pool_get_stats(const redisconn_pool *pool,
                                               redisconn_pool_stats *stats);

/** The event_base the pool runs on. */
REDISCONN_EXPORT struct event_base *redisconn_pool_base(const redisconn_pool *pool);

/** Pool close completion callback: the pool is freed when it returns. */
typedef void (*redisconn_pool_close_cb)(redisconn_pool *pool, void *arg);

/**
 * Closes the pool. Every waiting acquire fails with CLOSED, idle connections
 * and dials in progress are closed, leased connections are closed when
 * released, and further acquires fail with CLOSED. When nothing refers to the
 * pool any more it is freed and `cb` (may be NULL) fires once, from the loop.
 * No callback is lost and none fires twice. Calling it twice is an error
 * (REDISCONN_ERR_STATE); `pool` must not be used once `cb` has run.
 */
REDISCONN_EXPORT int redisconn_pool_close(redisconn_pool *pool, redisconn_pool_close_cb cb,
                                          void *arg);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_POOL_H */
