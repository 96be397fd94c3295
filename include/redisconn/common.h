/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn — a Redis connection pool on a libevent event_base.
 *
 * common.h: what every part of the library shares: the export macro, the
 * status codes every call and callback reports, and the log hook.
 *
 * Status codes follow libuv's convention: REDISCONN_OK (0) is success, every
 * error is a negative constant, and redisconn_strerror() turns any of them
 * (the server layer's too, see redisconn/server_status.h) into a static
 * English sentence.
 */
#ifndef REDISCONN_COMMON_H
#define REDISCONN_COMMON_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(REDISCONN_STATIC)
#define REDISCONN_EXPORT
#elif defined(__GNUC__)
#define REDISCONN_EXPORT __attribute__((visibility("default")))
#else
#define REDISCONN_EXPORT
#endif

/* Printf-style format checking where the compiler supports it. */
#if defined(__GNUC__)
#define REDISCONN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define REDISCONN_PRINTF(fmt, args)
#endif

/**
 * Status codes of the pool (and everything below it). 0 is success; errors
 * are negative and stable across releases.
 *
 * The negative number space is shared by the whole library: -14 .. -18 are
 * the server layer's codes (NOT_CONFIGURED, DEADLINE, CACHE_MISS, REPLY,
 * PERMISSION), declared in redisconn/server_status.h, which every server
 * header includes. redisconn_strerror() and redisconn_status_name() name the
 * codes of both. A new code takes the next free number, whichever layer
 * declares it.
 */
enum redisconn_status {
    REDISCONN_OK = 0,
    REDISCONN_ERR_INVALID = -1,      /**< invalid argument (NULL, out of range, malformed) */
    REDISCONN_ERR_NOMEM = -2,        /**< out of memory */
    REDISCONN_ERR_TIMEOUT = -3,      /**< a timeout expired (acquire, connect or command) */
    REDISCONN_ERR_CANCELED = -4,     /**< the operation was canceled by its owner */
    REDISCONN_ERR_EXHAUSTED = -5,    /**< pool exhausted: wait disabled or max_waiters reached */
    REDISCONN_ERR_CLOSED = -6,       /**< the pool was closed */
    REDISCONN_ERR_CONNECT = -7,      /**< the connection could not be established */
    REDISCONN_ERR_AUTH = -8,         /**< the server refused AUTH (or requires it) */
    REDISCONN_ERR_SELECT = -9,       /**< the server refused SELECT of the pool's database */
    REDISCONN_ERR_IO = -10,          /**< the connection broke (reset, EOF, I/O error) */
    REDISCONN_ERR_RESOLVE = -11,     /**< the host name could not be resolved */
    REDISCONN_ERR_UNSUPPORTED = -12, /**< the command cannot be used through this library */
    REDISCONN_ERR_STATE = -13,       /**< the object is not in a state that allows the call */
    /* -14 .. -18: the server layer's (redisconn/server_status.h) */
    REDISCONN_ERR_PROTOCOL = -19,       /**< the server sent something that is not RESP */
    REDISCONN_ERR_LEASE_REQUIRED = -20, /**< the command changes connection state: lease one */
    REDISCONN_ERR_SUBSCRIBED = -21,     /**< the connection is in subscribe mode: only (P)SUBSCRIBE,
                                             (P)UNSUBSCRIBE and PING are allowed */
    REDISCONN_ERR_NOT_MASTER = -22,     /**< Sentinel: the server dialed is not the master (ROLE) */
    REDISCONN_ERR_CROSSSLOT = -23,      /**< Cluster: the command's keys are in different slots */
    REDISCONN_ERR_CLUSTER = -24,        /**< Cluster: the command is not meaningful on one node */
    REDISCONN_ERR_REDIRECT = -25,       /**< Cluster: too many MOVED/ASK redirections */
};

/**
 * Returns a static, human-readable description of a status code.
 *
 * Never returns NULL; an unknown code yields "unknown error". The string is
 * owned by the library and valid for the life of the process.
 */
REDISCONN_EXPORT const char *redisconn_strerror(int status);

/**
 * Returns the symbolic name of a status code ("REDISCONN_ERR_TIMEOUT"), or
 * "REDISCONN_ERR_UNKNOWN". Static storage, like redisconn_strerror().
 */
REDISCONN_EXPORT const char *redisconn_status_name(int status);

/** Log levels, most verbose first. */
enum redisconn_log_level {
    REDISCONN_LOG_DEBUG = 0,
    REDISCONN_LOG_INFO = 1,
    REDISCONN_LOG_WARNING = 2,
    REDISCONN_LOG_ERROR = 3,
};

/**
 * Log hook. `msg` is a complete line without a trailing newline, valid only
 * during the call. The library never puts a password or token in `msg`.
 * Called on the thread of the event_base that produced the message.
 */
typedef void (*redisconn_log_fn)(int level, const char *msg, void *arg);

/** Returns "debug", "info", "warning" or "error". */
REDISCONN_EXPORT const char *redisconn_log_level_name(int level);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_COMMON_H */
