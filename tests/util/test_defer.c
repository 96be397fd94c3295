/* SPDX-License-Identifier: BSD-3-Clause */
/* test_defer.c — the defer queue (lib/util/defer.c): work posted now runs
 * from the loop, once, in order; a pass delivers what it detached and leaves
 * work posted meanwhile to the next pass; an item may destroy the queue. */
#include <criterion/criterion.h>

#include <event2/event.h>

#include "util/defer.h"

typedef struct probe {
    redisconn__defer_item item;
    int id;
} probe;

static struct event_base *base;
static redisconn__defer q;
static int order[16], ran;
static probe extra;

static void setup(void)
{
    base = event_base_new();
    cr_assert_not_null(base);
    cr_assert_eq(redisconn__defer_init(&q, base), 0);
    ran = 0;
}

static void teardown(void)
{
    if (q.ev != NULL) redisconn__defer_destroy(&q);
    event_base_free(base);
}

TestSuite(defer, .init = setup, .fini = teardown, .timeout = 10);

static void record(redisconn__defer_item *it)
{
    order[ran++] = REDISCONN_CONTAINER_OF(it, probe, item)->id;
}

Test(defer, posted_work_runs_from_the_loop_not_from_post)
{
    probe a = {.id = 1};
    redisconn__defer_post(&q, &a.item, record);
    cr_assert_eq(ran, 0);
    cr_assert(redisconn__defer_queued(&a.item));
    event_base_loop(base, EVLOOP_NONBLOCK);
    cr_assert_eq(ran, 1);
    cr_assert_not(redisconn__defer_queued(&a.item));
}

Test(defer, items_run_in_the_order_they_were_posted)
{
    probe p[5] = {0};
    for (int i = 0; i < 5; i++) {
        p[i].id = i;
        redisconn__defer_post(&q, &p[i].item, record);
    }
    event_base_dispatch(base);
    cr_assert_eq(ran, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(order[i], i);
}

Test(defer, posting_a_queued_item_again_runs_it_once)
{
    probe a = {.id = 7};
    redisconn__defer_post(&q, &a.item, record);
    redisconn__defer_post(&q, &a.item, record);
    event_base_dispatch(base);
    cr_assert_eq(ran, 1);
}

Test(defer, a_canceled_item_does_not_run)
{
    probe a = {.id = 1}, b = {.id = 2};
    redisconn__defer_post(&q, &a.item, record);
    redisconn__defer_post(&q, &b.item, record);
    redisconn__defer_cancel(&a.item);
    event_base_dispatch(base);
    cr_assert_eq(ran, 1);
    cr_assert_eq(order[0], 2);
}

Test(defer, canceling_every_item_leaves_an_empty_pass)
{
    probe a = {.id = 1};
    redisconn__defer_post(&q, &a.item, record);
    redisconn__defer_cancel(&a.item);
    event_base_dispatch(base);
    cr_assert_eq(ran, 0);
}

static void post_extra(redisconn__defer_item *it)
{
    record(it);
    extra.id = 99;
    redisconn__defer_post(&q, &extra.item, record);
}

Test(defer, work_posted_during_a_pass_runs_after_the_detached_batch)
{
    probe a = {.id = 1}, b = {.id = 2};
    redisconn__defer_post(&q, &a.item, post_extra);
    redisconn__defer_post(&q, &b.item, record);
    event_base_dispatch(base);
    cr_assert_eq(ran, 3);
    cr_assert_eq(order[0], 1);
    cr_assert_eq(order[1], 2);
    cr_assert_eq(order[2], 99);
}

static probe *to_cancel;

static void cancel_next(redisconn__defer_item *it)
{
    record(it);
    redisconn__defer_cancel(&to_cancel->item);
}

Test(defer, an_item_may_cancel_one_of_the_same_batch)
{
    probe a = {.id = 1}, b = {.id = 2}, c = {.id = 3};
    to_cancel = &b;
    redisconn__defer_post(&q, &a.item, cancel_next);
    redisconn__defer_post(&q, &b.item, record);
    redisconn__defer_post(&q, &c.item, record);
    event_base_dispatch(base);
    cr_assert_eq(ran, 2);
    cr_assert_eq(order[1], 3);
}

static void destroy_queue(redisconn__defer_item *it)
{
    record(it);
    redisconn__defer_destroy(&q);
}

Test(defer, an_item_may_destroy_the_queue_and_the_rest_never_runs)
{
    probe a = {.id = 1}, b = {.id = 2}, c = {.id = 3};
    redisconn__defer_post(&q, &a.item, destroy_queue);
    redisconn__defer_post(&q, &b.item, record);
    redisconn__defer_post(&q, &c.item, record);
    event_base_dispatch(base);
    cr_assert_eq(ran, 1);
    cr_assert_not(redisconn__defer_queued(&b.item));
    cr_assert_not(redisconn__defer_queued(&c.item));
    redisconn__defer_cancel(&b.item); /* a no-op, not a write into freed memory */
}

Test(defer, many_posts_in_one_iteration_make_one_pass)
{
    probe p[8] = {0};
    for (int i = 0; i < 8; i++) {
        p[i].id = i;
        redisconn__defer_post(&q, &p[i].item, record);
    }
    cr_assert_eq(event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE), 1);
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    cr_assert_eq(ran, 8);
}
