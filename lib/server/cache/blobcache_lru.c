/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blobcache_lru.c: the in-process blob cache — a store bounded in bytes, a
 * hash table for O(1) lookup and an intrusive list in recency order (most
 * recent first) for O(1) eviction, shared by namespace views.
 *
 * A view (the impl of a cache object) prefixes its keys with "<ns>:"; since
 * namespaces contain no ':', keys of different views never meet. The store
 * lives as long as some view refers to it.
 *
 * Results are computed when get / set is called (a get copies the value), and
 * delivered from the loop, never inside the call: the operation is posted to
 * the store's defer queue (util/defer.h) — the store is the owner on its
 * event_base, ONE queue (one libevent event) for all its namespaces and
 * operations, since a cache call carries no context whose tree's queue it
 * could use. An operation in flight holds a reference to the store, so
 * freeing the cache meanwhile is harmless: the store (queue included) goes
 * with the last view or operation.
 */
#include "redisconn/blobcache.h"
#include "util/clock.h"
#include "util/defer.h"
#include "util/hashtab.h"
#include "util/list.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct lru_entry {
    redisconn__hentry hent; /* key: data[0 .. keylen) */
    redisconn__link link;   /* store->recency */
    uint64_t expires_us;    /* 0: never */
    size_t vlen;
    unsigned char data[]; /* prefixed key, then value */
} lru_entry;

typedef struct lru_store {
    redisconn__defer defer; /* delivers the operations' callbacks */
    size_t max_bytes, used;
    redisconn__htab table;
    redisconn__link recency; /* most recent first */
    unsigned refs;           /* views + operations in flight */
} lru_store;

typedef struct lru_view {
    lru_store *store;
    size_t plen;
    char prefix[]; /* "<ns>:", not NUL-terminated */
} lru_view;

/* An operation's result, waiting in the store's defer queue. */
typedef struct lru_op {
    redisconn__defer_item item;
    lru_store *store; /* reference */
    redisconn_blobcache_get_cb get_cb;
    redisconn_blobcache_set_cb set_cb;
    void *arg;
    int status;
    size_t len;
    unsigned char value[]; /* a hit's copy */
} lru_op;

/* Keys up to this size (prefixed) are looked up without malloc. */
#define STACK_KEY 256

/* Keys and values larger than this are refused (keeps size sums exact). */
#define MAX_BLOB (SIZE_MAX / 4)

static void store_unref(lru_store *s);

/* ---- deferred delivery ----------------------------------------------------- */

/* Runs the callback once, frees the operation, then drops its reference
 * (which may free the store and its queue, from inside the pass). */
static void on_op(redisconn__defer_item *item)
{
    lru_op *op = REDISCONN_CONTAINER_OF(item, lru_op, item);
    lru_store *s = op->store;
    if (op->get_cb != NULL)
        op->get_cb(op->status, op->status == REDISCONN_OK ? op->value : NULL, op->len, op->arg);
    else if (op->set_cb != NULL)
        op->set_cb(op->status, op->arg);
    free(op);
    store_unref(s);
}

/* An operation with room for `len` value bytes, holding a reference to the
 * store; NULL when out of memory. */
static lru_op *op_new(lru_store *s, size_t len)
{
    lru_op *op;
    if ((op = calloc(1, sizeof(*op) + len)) == NULL) return NULL;
    op->store = s;
    s->refs++;
    return op;
}

/* Makes the callback due on the store's next pass (never now). */
static void op_deliver(lru_op *op, int status)
{
    op->status = status;
    redisconn__defer_post(&op->store->defer, &op->item, on_op);
}

/* ---- the store ------------------------------------------------------------- */

static size_t entry_cost(const lru_entry *e)
{
    return e->hent.keylen + e->vlen + REDISCONN_BLOBCACHE_LRU_ENTRY_OVERHEAD;
}

/* Unlinks `e` from table and recency list, uncharges and frees it. */
static void entry_drop(lru_store *s, lru_entry *e)
{
    redisconn__htab_remove(&s->table, &e->hent);
    redisconn__list_remove(&e->link);
    s->used -= entry_cost(e);
    free(e);
}

/* Evicts least recently used entries until `need` more bytes fit. */
static void make_room(lru_store *s, size_t need)
{
    redisconn__link *l;
    while (s->max_bytes - s->used < need && (l = redisconn__list_last(&s->recency)) != NULL)
        entry_drop(s, REDISCONN_CONTAINER_OF(l, lru_entry, link));
}

/* The live entry for a prefixed key (an expired one is dropped), or NULL. */
static lru_entry *store_find(lru_store *s, const void *key, size_t keylen)
{
    redisconn__hentry *h = redisconn__htab_find(&s->table, key, keylen);
    lru_entry *e;
    if (h == NULL) return NULL;
    e = REDISCONN_CONTAINER_OF(h, lru_entry, hent);
    if (e->expires_us != 0 && redisconn__now_us() >= e->expires_us) {
        entry_drop(s, e);
        return NULL;
    }
    return e;
}

/* Stores `e` (replacing an entry with its key), most recent first. An entry
 * larger than the whole store is dropped instead. */
static void store_put(lru_store *s, lru_entry *e)
{
    redisconn__hentry *old = redisconn__htab_find(&s->table, e->data, e->hent.keylen);
    size_t cost = entry_cost(e);
    if (old != NULL) entry_drop(s, REDISCONN_CONTAINER_OF(old, lru_entry, hent));
    if (cost > s->max_bytes) {
        free(e);
        return;
    }
    make_room(s, cost);
    redisconn__htab_insert(&s->table, &e->hent);
    redisconn__list_push_front(&s->recency, &e->link);
    s->used += cost;
}

/* Drops a view's or an operation's reference; the last one frees every
 * entry, the queue (nothing is queued then) and the store. */
static void store_unref(lru_store *s)
{
    redisconn__link *l;
    assert(s->refs > 0);
    if (--s->refs > 0) return;
    while ((l = redisconn__list_first(&s->recency)) != NULL)
        entry_drop(s, REDISCONN_CONTAINER_OF(l, lru_entry, link));
    redisconn__htab_destroy(&s->table);
    redisconn__defer_destroy(&s->defer);
    free(s);
}

/* ---- operations ------------------------------------------------------------ */

/* Absolute expiry for a ttl; 0 (never) for no ttl or one beyond the clock. */
static uint64_t expiry(int64_t ttl_ms)
{
    uint64_t now = redisconn__now_us();
    if (ttl_ms <= 0 || (uint64_t)ttl_ms > (UINT64_MAX - now) / 1000u) return 0;
    return redisconn__deadline_at(now, ttl_ms);
}

/* Stores now, calls back from the loop; NOMEM leaves the store untouched. */
static int lru_set(void *impl, const void *key, size_t keylen, const void *value, size_t len,
                   int64_t ttl_ms, redisconn_blobcache_set_cb cb, void *arg)
{
    lru_view *v = impl;
    lru_entry *e;
    lru_op *op = NULL;
    size_t klen = v->plen + keylen;

    if (keylen > MAX_BLOB || len > MAX_BLOB) return REDISCONN_ERR_NOMEM;
    if ((e = malloc(sizeof(*e) + klen + len)) == NULL) return REDISCONN_ERR_NOMEM;
    if (cb != NULL && (op = op_new(v->store, 0)) == NULL) {
        free(e);
        return REDISCONN_ERR_NOMEM;
    }
    memcpy(e->data, v->prefix, v->plen);
    if (keylen > 0) memcpy(e->data + v->plen, key, keylen);
    if (len > 0) memcpy(e->data + klen, value, len);
    e->hent.key = e->data;
    e->hent.keylen = klen;
    e->vlen = len;
    e->expires_us = expiry(ttl_ms);
    store_put(v->store, e);
    if (cb == NULL) return REDISCONN_OK; /* nobody to tell */
    op->set_cb = cb;
    op->arg = arg;
    op_deliver(op, REDISCONN_OK);
    return REDISCONN_OK;
}

/* Looks the prefixed key up and prepares the operation carrying the result. */
static lru_op *lookup_op(lru_view *v, const void *fkey, size_t fklen)
{
    lru_store *s = v->store;
    lru_entry *e = store_find(s, fkey, fklen);
    lru_op *op = op_new(s, e != NULL ? e->vlen : 0);
    if (op == NULL) return NULL;
    op->status = REDISCONN_ERR_CACHE_MISS;
    if (e != NULL) {
        redisconn__list_remove(&e->link);
        redisconn__list_push_front(&s->recency, &e->link);
        op->len = e->vlen;
        if (e->vlen > 0) memcpy(op->value, e->data + e->hent.keylen, e->vlen);
        op->status = REDISCONN_OK;
    }
    return op;
}

/* Looks up now (copying a hit), calls back from the loop. */
static int lru_get(void *impl, const void *key, size_t keylen, redisconn_blobcache_get_cb cb,
                   void *arg)
{
    lru_view *v = impl;
    unsigned char stack[STACK_KEY], *fkey = stack;
    size_t fklen = v->plen + keylen;
    lru_op *op;

    if (keylen > MAX_BLOB) return REDISCONN_ERR_NOMEM;
    if (fklen > sizeof(stack) && (fkey = malloc(fklen)) == NULL) return REDISCONN_ERR_NOMEM;
    memcpy(fkey, v->prefix, v->plen);
    if (keylen > 0) memcpy(fkey + v->plen, key, keylen);
    op = lookup_op(v, fkey, fklen);
    if (fkey != stack) free(fkey);
    if (op == NULL) return REDISCONN_ERR_NOMEM;
    op->get_cb = cb;
    op->arg = arg;
    op_deliver(op, op->status);
    return REDISCONN_OK;
}

/* Frees a view; the store goes with its last view. */
static void lru_destroy(void *impl)
{
    lru_view *v = impl;
    store_unref(v->store);
    free(v);
}

static const redisconn_blobcache_ops lru_ops = {"lru", lru_get, lru_set, lru_destroy};

/* ---- construction ---------------------------------------------------------- */

/* A cache for namespace `ns` on store `s` (taking a reference), or NULL. */
static redisconn_blobcache *view_new(lru_store *s, const char *ns)
{
    size_t n;
    lru_view *v;
    redisconn_blobcache *c;
    if (!redisconn_blobcache_namespace_valid(ns)) return NULL;
    n = strlen(ns);
    if ((v = malloc(sizeof(*v) + n + 1)) == NULL) return NULL;
    v->store = s;
    v->plen = n + 1;
    memcpy(v->prefix, ns, n);
    v->prefix[n] = ':';
    if ((c = redisconn_blobcache_new(&lru_ops, v)) == NULL) {
        free(v);
        return NULL;
    }
    s->refs++;
    return c;
}

/* A new store and its first namespace view. */
redisconn_blobcache *redisconn_blobcache_lru_new(struct event_base *base, size_t max_bytes,
                                                 const char *ns)
{
    lru_store *s;
    redisconn_blobcache *c;
    if (base == NULL || max_bytes == 0 || !redisconn_blobcache_namespace_valid(ns)) return NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL) return NULL;
    if (redisconn__htab_init(&s->table) != 0) {
        free(s);
        return NULL;
    }
    if (redisconn__defer_init(&s->defer, base) != 0) {
        redisconn__htab_destroy(&s->table);
        free(s);
        return NULL;
    }
    s->max_bytes = max_bytes;
    redisconn__list_init(&s->recency);
    if ((c = view_new(s, ns)) == NULL) {
        redisconn__defer_destroy(&s->defer);
        redisconn__htab_destroy(&s->table);
        free(s);
    }
    return c;
}

/* Another namespace view on the store of an LRU cache. */
redisconn_blobcache *redisconn_blobcache_lru_share(redisconn_blobcache *lru, const char *ns)
{
    if (lru == NULL || lru->ops != &lru_ops) return NULL;
    return view_new(((lru_view *)lru->impl)->store, ns);
}

/* Bytes charged by the store now; 0 for a non-LRU cache. */
size_t redisconn_blobcache_lru_bytes(const redisconn_blobcache *lru)
{
    if (lru == NULL || lru->ops != &lru_ops) return 0;
    return ((const lru_view *)lru->impl)->store->used;
}
