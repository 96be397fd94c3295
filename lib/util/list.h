/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * list.h: intrusive circular doubly-linked lists with a sentinel head.
 *
 * A plain data structure (redis adlist.c's spirit): O(1) insert and remove
 * anywhere, no allocation. A link knows whether it is linked (prev != NULL),
 * so removal is idempotent; a head is empty when it points at itself.
 */
#ifndef REDISCONN_UTIL_LIST_H
#define REDISCONN_UTIL_LIST_H

#include <stddef.h>

typedef struct redisconn__link {
    struct redisconn__link *prev, *next;
} redisconn__link;

/* The struct that embeds `ptr` as its field `member`. */
#define REDISCONN_CONTAINER_OF(ptr, type, member)                                                  \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Makes `head` an empty list. */
static inline void redisconn__list_init(redisconn__link *head)
{
    head->prev = head->next = head;
}

static inline int redisconn__list_empty(const redisconn__link *head)
{
    return head->next == head;
}

/* True while `l` is on some list (links start zeroed: calloc'd = unlinked). */
static inline int redisconn__linked(const redisconn__link *l)
{
    return l->prev != NULL;
}

static inline void redisconn__list_insert_after(redisconn__link *at, redisconn__link *l)
{
    l->prev = at;
    l->next = at->next;
    at->next->prev = l;
    at->next = l;
}

/* Head insert (LIFO / most recent first). */
static inline void redisconn__list_push_front(redisconn__link *head, redisconn__link *l)
{
    redisconn__list_insert_after(head, l);
}

/* Tail insert (FIFO). */
static inline void redisconn__list_push_back(redisconn__link *head, redisconn__link *l)
{
    redisconn__list_insert_after(head->prev, l);
}

/* Unlinks `l` from whatever list holds it; a no-op when it is not linked. */
static inline void redisconn__list_remove(redisconn__link *l)
{
    if (l->prev == NULL) return;
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

static inline redisconn__link *redisconn__list_first(const redisconn__link *head)
{
    return head->next == head ? NULL : head->next;
}

static inline redisconn__link *redisconn__list_last(const redisconn__link *head)
{
    return head->prev == head ? NULL : head->prev;
}

/* Moves every element of `src` to the tail of `dst`, in order; `src` is left
 * empty. O(1). Both must be initialized heads. */
static inline void redisconn__list_splice(redisconn__link *dst, redisconn__link *src)
{
    if (redisconn__list_empty(src)) return;
    src->next->prev = dst->prev;
    dst->prev->next = src->next;
    src->prev->next = dst;
    dst->prev = src->prev;
    redisconn__list_init(src);
}

/* Detaches the whole of `src` onto `dst`, which is (re)initialized first:
 * libuv's "detach the completed queue, then deliver". O(1). */
static inline void redisconn__list_move(redisconn__link *dst, redisconn__link *src)
{
    redisconn__list_init(dst);
    redisconn__list_splice(dst, src);
}

#endif
