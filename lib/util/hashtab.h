/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hashtab.h: a small intrusive hash table with chaining, keyed by byte
 * strings, used by the metrics registry and the in-process blob cache.
 *
 * The table never owns entries or keys: an entry is embedded in its owner,
 * whose key bytes must stay put while the entry is linked. Hashing is
 * SipHash-1-3 with a per-table random key, so that keys chosen by a client
 * (cache keys from requests) cannot force long chains.
 *
 * Growth doubles the bucket array when the table holds more entries than
 * buckets (amortized O(1) insert). Insertion never fails: if growing runs out
 * of memory the table keeps working with longer chains.
 */
#ifndef REDISCONN_UTIL_HASHTAB_H
#define REDISCONN_UTIL_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct redisconn__hentry {
    struct redisconn__hentry *next;
    uint64_t hash;
    const void *key; /* owned by the entry's owner */
    size_t keylen;
} redisconn__hentry;

typedef struct redisconn__htab {
    redisconn__hentry **buckets;
    size_t mask; /* bucket count - 1 (a power of two) */
    size_t count;
    uint64_t k0, k1; /* SipHash key */
} redisconn__htab;

/* Initializes an empty table. Returns 0, or -1 when out of memory. */
int redisconn__htab_init(redisconn__htab *t);

/* Frees the bucket array; the entries are the caller's. */
void redisconn__htab_destroy(redisconn__htab *t);

/* The entry whose key equals `key`/`len`, or NULL. */
redisconn__hentry *redisconn__htab_find(const redisconn__htab *t, const void *key, size_t len);

/* Links `e` (key and keylen set by the caller; no equal key may be linked). */
void redisconn__htab_insert(redisconn__htab *t, redisconn__hentry *e);

/* Unlinks `e`, which must be linked in `t`. */
void redisconn__htab_remove(redisconn__htab *t, redisconn__hentry *e);

#endif
