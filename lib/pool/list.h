/* list.h: intrusive circular doubly-linked lists with a sentinel head.
 *
 * Plain data structure, O(1) insert and remove anywhere; an element knows
 * whether it is linked (prev != NULL) so removal is idempotent. */
#ifndef REDISCONN_LIST_H
#define REDISCONN_LIST_H

#include <stddef.h>

typedef struct redisconn__link {
    struct redisconn__link *prev, *next;
} redisconn__link;

#define REDISCONN_CONTAINER_OF(ptr, type, member)                                                  \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void redisconn__list_init(redisconn__link *head)
{
    head->prev = head->next = head;
}

static inline int redisconn__list_empty(const redisconn__link *head)
{
    return head->next == head;
}

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

#endif
