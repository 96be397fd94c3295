/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tokens.h: the admin token file and the lookup of a presented token.
 *
 * FORMAT. One identity per line: "token identity group[,group...]", fields
 * separated by spaces or tabs; every field is printable ASCII without
 * spaces; a token is at most REDISCONN__TOKEN_MAX bytes and appears once.
 * Blank lines and lines whose first non-blank character is '#' are ignored.
 *
 * SECRECY. The file must be a regular file that neither group nor others
 * may access (checked with fstat on the opened descriptor). Error messages
 * name the file and the line number, never a line's text. Tokens are wiped
 * from memory when freed. A lookup compares the presented token with every
 * entry, byte for byte over the full fixed width, without an early exit, so
 * its time does not depend on how much of any token matched nor on the
 * tokens' lengths.
 */
#ifndef REDISCONN_SERVER_TOKENS_H
#define REDISCONN_SERVER_TOKENS_H

#include <stddef.h>

/* Longest token accepted, in bytes. */
#define REDISCONN__TOKEN_MAX 256

/* Who a token stands for. Owned by its token table. */
typedef struct redisconn__identity {
    char *name;
    char **groups;
    size_t ngroups;
} redisconn__identity;

/* A loaded token file. Opaque. */
typedef struct redisconn__tokens redisconn__tokens;

/*
 * Opens, checks and parses `path`. Returns REDISCONN_OK with a new table in
 * `*out` (free it with redisconn__tokens_free), or REDISCONN_ERR_INVALID
 * (cannot open or read it, not a regular file, accessible by group or
 * others, a malformed line) or REDISCONN_ERR_NOMEM, with the reason in `err`.
 */
int redisconn__tokens_load(const char *path, redisconn__tokens **out, char *err, size_t errlen);

/* Wipes the tokens and frees the table. NULL is a no-op. */
void redisconn__tokens_free(redisconn__tokens *t);

/* Number of identities in the table (0 for NULL). */
size_t redisconn__tokens_count(const redisconn__tokens *t);

/*
 * The identity of the presented token (`len` bytes), or NULL when it is no
 * entry's (or `t` is NULL). Constant time in the tokens' contents and
 * lengths, see SECRECY. The identity is valid until the table is freed.
 */
const redisconn__identity *redisconn__tokens_lookup(const redisconn__tokens *t, const char *token,
                                                    size_t len);

/* 1 if `id` is a member of `group`, else 0. */
int redisconn__identity_in_group(const redisconn__identity *id, const char *group);

#endif
