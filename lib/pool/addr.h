/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * addr.h: a Redis server address — parsed from the text users give, copied
 * into each connection that dials it.
 *
 * Forms: "host:port", "[v6]:port", "unix:/path", and the URLs users paste
 * from elsewhere: "redis://[[user]:password@]host[:port][/db]" (port 6379 by
 * default) and "unix://[[user]:password@]/path[?db=N]". Credentials and db
 * found in a URL are carried here; the pool lets them override its options.
 * "rediss://" is refused (hiredis 0.14 has no TLS).
 */
#ifndef REDISCONN_ADDR_H
#define REDISCONN_ADDR_H

enum redisconn__addr_kind { REDISCONN_ADDR_NONE, REDISCONN_ADDR_TCP, REDISCONN_ADDR_UNIX };

typedef struct redisconn__addr {
    enum redisconn__addr_kind kind; /* NONE: zeroed, holds nothing */
    char *host;                     /* TCP: host name or numeric address, without brackets */
    int port;                       /* TCP: 1..65535 */
    int numeric;                    /* TCP: host is an IPv4/IPv6 literal (no resolution needed) */
    int family;                     /* TCP numeric: AF_INET or AF_INET6 */
    char *path;                     /* UNIX: socket path */
    char *text;                     /* the address for logs: as given, any password masked */
    char *username;                 /* from a URL, percent-decoded; NULL if none */
    char *password;                 /* from a URL, percent-decoded; NULL if none; wiped on free */
    int db;                         /* from a URL; -1 if none */
} redisconn__addr;

/* Parses `text` into `out` (owned copies). Returns REDISCONN_OK, or
 * REDISCONN_ERR_INVALID with `why` set to a static sentence saying what is
 * wrong (never quoting a password), or REDISCONN_ERR_NOMEM. On error `out`
 * holds nothing to free. `why` may be NULL. */
int redisconn__addr_parse(const char *text, redisconn__addr *out, const char **why);

/* Makes `dst` an owned copy of `src`. Returns REDISCONN_OK, or
 * REDISCONN_ERR_NOMEM with `dst` holding nothing to free. */
int redisconn__addr_copy(redisconn__addr *dst, const redisconn__addr *src);

/* Frees what `addr` owns (wiping the password) and leaves it zeroed (kind
 * NONE, db -1 is not kept). Idempotent. */
void redisconn__addr_free(redisconn__addr *addr);

#endif
