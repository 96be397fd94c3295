/* SPDX-License-Identifier: BSD-3-Clause */
/* defer.c: see defer.h. */
#include "util/defer.h"

#include <event2/event.h>

/* One pass: detach, then deliver. Stops at once if an item destroyed the queue. */
static void on_pass(evutil_socket_t fd, short what, void *arg)
{
    redisconn__defer *q = arg;
    redisconn__link batch, *l = q->queue.next;
    int gone = 0;
    (void)fd;
    (void)what;
    q->active = 0;
    if (l == &q->queue) return; /* every item was canceled */
    if (l->next == &q->queue) { /* one item (the common case): nothing to detach */
        redisconn__defer_item *item = REDISCONN_CONTAINER_OF(l, redisconn__defer_item, link);
        redisconn__list_remove(l);
        item->fn(item);
        return;
    }
    redisconn__list_move(&batch, &q->queue);
    q->batch = &batch;
    q->gone = &gone;
    while ((l = redisconn__list_first(&batch)) != NULL) {
        redisconn__defer_item *item = REDISCONN_CONTAINER_OF(l, redisconn__defer_item, link);
        redisconn__list_remove(l);
        item->fn(item);
        if (gone) return; /* `q` is freed memory now */
    }
    q->batch = NULL;
    q->gone = NULL;
}

int redisconn__defer_init(redisconn__defer *q, struct event_base *base)
{
    redisconn__list_init(&q->queue);
    q->batch = NULL;
    q->gone = NULL;
    q->active = 0;
    q->ev = event_new(base, -1, EV_PERSIST, on_pass, q);
    return q->ev != NULL ? 0 : -1;
}

/* Unlinks every item of `head`, so that their owners' cancels stay no-ops. */
static void unlink_all(redisconn__link *head)
{
    redisconn__link *l;
    while ((l = redisconn__list_first(head)) != NULL)
        redisconn__list_remove(l);
}

void redisconn__defer_destroy(redisconn__defer *q)
{
    unlink_all(&q->queue);
    if (q->batch != NULL) unlink_all(q->batch);
    if (q->gone != NULL) *q->gone = 1;
    if (q->ev != NULL) event_free(q->ev);
    q->ev = NULL;
}

void redisconn__defer_post(redisconn__defer *q, redisconn__defer_item *item, redisconn__defer_fn fn)
{
    if (redisconn__linked(&item->link)) return;
    item->fn = fn;
    redisconn__list_push_back(&q->queue, &item->link);
    if (q->active) return;
    q->active = 1;
    event_active(q->ev, EV_READ, 1);
}
