/* SPDX-License-Identifier: BSD-3-Clause */
/* hashtab.c: see hashtab.h. */
#include "util/hashtab.h"
#include "util/clock.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define INITIAL_BUCKETS 16u

/* Rotates left by b (0 < b < 64). */
static uint64_t rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64u - b));
}

/* Reads 8 bytes little-endian, whatever the host order or alignment. */
static uint64_t load64(const unsigned char *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8u * i);
    return v;
}

/* One SipHash round over the state v[0..3]. */
static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13) ^ v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17) ^ v[2];
    v[2] = rotl(v[2], 32);
}

/* SipHash-1-3 of `len` bytes under the table's key: keyed, so collisions
 * cannot be precomputed by whoever picks the keys. */
static uint64_t siphash13(const redisconn__htab *t, const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t v[4] = {t->k0 ^ 0x736f6d6570736575ull, t->k1 ^ 0x646f72616e646f6dull,
                     t->k0 ^ 0x6c7967656e657261ull, t->k1 ^ 0x7465646279746573ull};
    uint64_t m, b = (uint64_t)len << 56;
    size_t i, tail = len & 7u;

    for (i = 0; i + 8 <= len; i += 8) {
        m = load64(p + i);
        v[3] ^= m;
        sip_round(v);
        v[0] ^= m;
    }
    for (size_t j = 0; j < tail; j++)
        b |= (uint64_t)p[i + j] << (8u * j);
    v[3] ^= b;
    sip_round(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    sip_round(v);
    sip_round(v);
    sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Picks the table's hash key: the kernel's randomness, or (should getrandom
 * fail) the clock and the table's address, which still differ per table. */
static void pick_key(redisconn__htab *t)
{
    uint64_t k[2];
    if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
        k[0] = redisconn__now_us() * 0x9e3779b97f4a7c15ull;
        k[1] = (uint64_t)(uintptr_t)t ^ rotl(k[0], 29);
    }
    t->k0 = k[0];
    t->k1 = k[1];
}

/* An empty table with 16 buckets and a fresh random hash key. */
int redisconn__htab_init(redisconn__htab *t)
{
    memset(t, 0, sizeof(*t));
    t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
    if (t->buckets == NULL) return -1;
    t->mask = INITIAL_BUCKETS - 1;
    pick_key(t);
    return 0;
}

/* Frees the buckets only; entries stay their owners'. Idempotent. */
void redisconn__htab_destroy(redisconn__htab *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->count = 0;
}

/* O(1) expected: one hash, one chain; compares stored hashes first. */
redisconn__hentry *redisconn__htab_find(const redisconn__htab *t, const void *key, size_t len)
{
    uint64_t h = siphash13(t, key, len);
    for (redisconn__hentry *e = t->buckets[h & t->mask]; e != NULL; e = e->next)
        if (e->hash == h && e->keylen == len && (len == 0 || memcmp(e->key, key, len) == 0))
            return e;
    return NULL;
}

/* Doubles the bucket array and rehashes (stored hashes, no rehashing of
 * keys). Out of memory leaves the table as it was. */
static void grow(redisconn__htab *t)
{
    size_t n = (t->mask + 1) * 2;
    redisconn__hentry **nb;
    if (n > SIZE_MAX / sizeof(*nb)) return;
    nb = calloc(n, sizeof(*nb));
    if (nb == NULL) return;
    for (size_t i = 0; i <= t->mask; i++) {
        redisconn__hentry *e = t->buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            e->next = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->mask = n - 1;
}

/* O(1) amortized; never fails (a failed grow only lengthens chains). */
void redisconn__htab_insert(redisconn__htab *t, redisconn__hentry *e)
{
    redisconn__hentry **b;
    if (t->count >= t->mask + 1) grow(t);
    e->hash = siphash13(t, e->key, e->keylen);
    b = &t->buckets[e->hash & t->mask];
    e->next = *b;
    *b = e;
    t->count++;
}

/* O(chain length); unlinking an entry not in the table is a no-op. */
void redisconn__htab_remove(redisconn__htab *t, redisconn__hentry *e)
{
    redisconn__hentry **p = &t->buckets[e->hash & t->mask];
    while (*p != NULL && *p != e)
        p = &(*p)->next;
    if (*p == NULL) return;
    *p = e->next;
    e->next = NULL;
    t->count--;
}
