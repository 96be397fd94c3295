/* SPDX-License-Identifier: BSD-3-Clause */
/* test_context.c — redisconn_ctx: values, cancellation parent -> child,
 * deadlines on evtimers, done-listeners (exactly once, from the loop) and
 * reference counts. Pure loop tests: no Redis needed. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/server_support.h"

static struct event_base *base;
static redisconn_ctx *bg;

static void setup(void)
{
    base = event_base_new();
    cr_assert_not_null(base);
    bg = redisconn_ctx_background(base);
    cr_assert_not_null(bg);
}

static void teardown(void)
{
    redisconn_ctx_unref(bg);
    event_base_free(base);
}

TestSuite(context, .init = setup, .fini = teardown, .timeout = 20);

static int key_a, key_b; /* keys: their addresses */

/* Counts calls of a value's free function. */
static int freed;
static void count_free(void *value)
{
    (void)value;
    freed++;
}

Test(context, background_is_never_done)
{
    cr_assert_eq(redisconn_ctx_err(bg), REDISCONN_OK);
}

Test(context, background_has_no_deadline)
{
    int64_t d = 42;
    cr_assert_eq(redisconn_ctx_deadline(bg, &d), 0);
    cr_assert_eq(d, 42, "deadline output touched without a deadline");
}

Test(context, background_runs_on_its_base)
{
    cr_assert_eq(redisconn_ctx_base(bg), base);
}

Test(context, background_has_no_values)
{
    cr_assert_null(redisconn_ctx_value(bg, &key_a));
}

Test(context, background_requires_a_base)
{
    cr_assert_null(redisconn_ctx_background(NULL));
}

Test(context, value_is_found_by_key_address_through_descendants)
{
    redisconn_ctx *v = redisconn_ctx_with_value(bg, &key_a, "A", NULL);
    redisconn_canceler *c;
    redisconn_ctx *child = redisconn_ctx_with_cancel(v, &c);
    cr_assert_str_eq(redisconn_ctx_value(v, &key_a), "A");
    cr_assert_str_eq(redisconn_ctx_value(child, &key_a), "A");
    cr_assert_null(redisconn_ctx_value(child, &key_b));
    cr_assert_null(redisconn_ctx_value(bg, &key_a), "a parent never sees a child's value");
    redisconn_ctx_cancel(c);
    redisconn_ctx_unref(child);
    redisconn_ctx_unref(v);
}

Test(context, nearest_value_shadows_an_outer_one)
{
    redisconn_ctx *outer = redisconn_ctx_with_value(bg, &key_a, "outer", NULL);
    redisconn_ctx *inner = redisconn_ctx_with_value(outer, &key_a, "inner", NULL);
    cr_assert_str_eq(redisconn_ctx_value(inner, &key_a), "inner");
    cr_assert_str_eq(redisconn_ctx_value(outer, &key_a), "outer");
    redisconn_ctx_unref(inner);
    redisconn_ctx_unref(outer);
}

Test(context, value_is_freed_once_when_the_last_reference_goes)
{
    redisconn_ctx *v = redisconn_ctx_with_value(bg, &key_a, "A", count_free);
    redisconn_ctx *child = redisconn_ctx_with_value(v, &key_b, "B", NULL);
    freed = 0;
    redisconn_ctx_ref(v);
    redisconn_ctx_unref(v);
    redisconn_ctx_unref(v); /* the child still holds it */
    cr_assert_eq(freed, 0);
    cr_assert_str_eq(redisconn_ctx_value(child, &key_a), "A");
    redisconn_ctx_unref(child);
    cr_assert_eq(freed, 1);
}

Test(context, with_value_rejects_null_parent_or_key)
{
    freed = 0;
    cr_assert_null(redisconn_ctx_with_value(NULL, &key_a, "A", count_free));
    cr_assert_null(redisconn_ctx_with_value(bg, NULL, "A", count_free));
    cr_assert_eq(freed, 0, "the value stays the caller's on failure");
}

Test(context, with_cancel_requires_a_canceler_out)
{
    cr_assert_null(redisconn_ctx_with_cancel(bg, NULL));
}

Test(context, cancel_makes_the_context_canceled)
{
    redisconn_canceler *c;
    redisconn_ctx *ctx = redisconn_ctx_with_cancel(bg, &c);
    cr_assert_not_null(c);
    cr_assert_eq(redisconn_ctx_err(ctx), REDISCONN_OK);
    redisconn_ctx_cancel(c);
    cr_assert_eq(redisconn_ctx_err(ctx), REDISCONN_ERR_CANCELED);
    cr_assert_eq(redisconn_ctx_err(bg), REDISCONN_OK);
    redisconn_ctx_unref(ctx);
}

Test(context, cancel_propagates_to_children_and_grandchildren)
{
    redisconn_canceler *cp, *cc;
    redisconn_ctx *parent = redisconn_ctx_with_cancel(bg, &cp);
    redisconn_ctx *value = redisconn_ctx_with_value(parent, &key_a, "A", NULL);
    redisconn_ctx *child = redisconn_ctx_with_cancel(value, &cc);
    redisconn_ctx *grandchild = redisconn_ctx_with_timeout(child, 60000, NULL);
    redisconn_ctx_cancel(cp);
    cr_assert_eq(redisconn_ctx_err(value), REDISCONN_ERR_CANCELED);
    cr_assert_eq(redisconn_ctx_err(child), REDISCONN_ERR_CANCELED);
    cr_assert_eq(redisconn_ctx_err(grandchild), REDISCONN_ERR_CANCELED);
    redisconn_ctx_cancel(cc); /* already done: only releases */
    redisconn_ctx_unref(grandchild);
    redisconn_ctx_unref(child);
    redisconn_ctx_unref(value);
    redisconn_ctx_unref(parent);
}

Test(context, canceling_a_child_leaves_the_parent_alone)
{
    redisconn_canceler *cp, *cc;
    redisconn_ctx *parent = redisconn_ctx_with_cancel(bg, &cp);
    redisconn_ctx *child = redisconn_ctx_with_cancel(parent, &cc);
    redisconn_ctx_cancel(cc);
    cr_assert_eq(redisconn_ctx_err(child), REDISCONN_ERR_CANCELED);
    cr_assert_eq(redisconn_ctx_err(parent), REDISCONN_OK);
    redisconn_ctx_cancel(cp);
    redisconn_ctx_unref(child);
    redisconn_ctx_unref(parent);
}

Test(context, child_of_a_done_parent_is_born_done_with_its_error)
{
    redisconn_ctx *expired = redisconn_ctx_with_timeout(bg, -1, NULL);
    redisconn_canceler *c;
    redisconn_ctx *child;
    cr_assert_eq(redisconn_ctx_err(expired), REDISCONN_ERR_DEADLINE);
    child = redisconn_ctx_with_cancel(expired, &c);
    cr_assert_eq(redisconn_ctx_err(child), REDISCONN_ERR_DEADLINE);
    redisconn_ctx_cancel(c);
    cr_assert_eq(redisconn_ctx_err(child), REDISCONN_ERR_DEADLINE, "the first error stays");
    redisconn_ctx_unref(child);
    redisconn_ctx_unref(expired);
}

Test(context, deadline_fires_with_the_deadline_error)
{
    rt_done d = {0};
    redisconn_ctx *ctx = redisconn_ctx_with_timeout(bg, 50, NULL);
    int64_t deadline = 0, now = redisconn_ctx_now_ms(bg);
    cr_assert(redisconn_ctx_deadline(ctx, &deadline));
    cr_assert(deadline > now && deadline <= now + 50, "deadline %lld, now %lld",
              (long long)deadline, (long long)now);
    cr_assert_not_null(redisconn_ctx_on_done(ctx, rt_done_cb, &d));
    cr_assert_eq(redisconn_ctx_err(ctx), REDISCONN_OK);
    cr_assert(rt_loop_until(base, &d.calls, 5000), "deadline never fired");
    cr_assert_eq(d.err, REDISCONN_ERR_DEADLINE);
    cr_assert_eq(d.ctx, ctx);
    cr_assert_eq(redisconn_ctx_err(ctx), REDISCONN_ERR_DEADLINE);
    rt_loop_quiet(base, 30); /* a second callback would come now */
    cr_assert_eq(d.calls, 1);
    redisconn_ctx_unref(ctx);
}

Test(context, parent_deadline_reaches_the_child_with_the_deadline_error)
{
    rt_done d = {0};
    redisconn_canceler *c;
    redisconn_ctx *parent = redisconn_ctx_with_timeout(bg, 30, NULL);
    redisconn_ctx *child = redisconn_ctx_with_cancel(parent, &c);
    cr_assert_not_null(redisconn_ctx_on_done(child, rt_done_cb, &d));
    cr_assert(rt_loop_until(base, &d.calls, 5000));
    cr_assert_eq(d.err, REDISCONN_ERR_DEADLINE);
    redisconn_ctx_cancel(c);
    redisconn_ctx_unref(child);
    redisconn_ctx_unref(parent);
}

Test(context, effective_deadline_is_the_earliest_along_the_chain)
{
    int64_t pd, cd;
    redisconn_ctx *parent = redisconn_ctx_with_timeout(bg, 1000, NULL);
    redisconn_ctx *later = redisconn_ctx_with_timeout(parent, 60000, NULL);
    redisconn_ctx *earlier = redisconn_ctx_with_timeout(parent, 100, NULL);
    redisconn_ctx *value = redisconn_ctx_with_value(earlier, &key_a, NULL, NULL);
    cr_assert(redisconn_ctx_deadline(parent, &pd));
    cr_assert(redisconn_ctx_deadline(later, &cd));
    cr_assert_eq(cd, pd, "a later child deadline does not extend the parent's");
    cr_assert(redisconn_ctx_deadline(value, &cd));
    cr_assert_lt(cd, pd);
    redisconn_ctx_unref(value);
    redisconn_ctx_unref(earlier);
    redisconn_ctx_unref(later);
    redisconn_ctx_unref(parent);
}

Test(context, past_deadline_is_done_at_once)
{
    redisconn_ctx *ctx = redisconn_ctx_with_deadline(bg, redisconn_ctx_now_ms(bg) - 10, NULL);
    cr_assert_eq(redisconn_ctx_err(ctx), REDISCONN_ERR_DEADLINE);
    redisconn_ctx_unref(ctx);
}

Test(context, listener_fires_once_from_the_loop_not_inside_cancel)
{
    rt_done d = {0};
    redisconn_canceler *c;
    redisconn_ctx *ctx = redisconn_ctx_with_cancel(bg, &c);
    cr_assert_not_null(redisconn_ctx_on_done(ctx, rt_done_cb, &d));
    redisconn_ctx_cancel(c);
    cr_assert_eq(d.calls, 0, "fired from inside redisconn_ctx_cancel");
    cr_assert(rt_loop_until(base, &d.calls, 1000));
    cr_assert_eq(d.err, REDISCONN_ERR_CANCELED);
    rt_loop_quiet(base, 20); /* a second callback would come now */
    cr_assert_eq(d.calls, 1);
    redisconn_ctx_unref(ctx);
}

Test(context, listener_on_a_done_context_fires_on_the_next_pass_not_inside_registration)
{
    rt_done d = {0};
    redisconn_canceler *c;
    redisconn_ctx *ctx = redisconn_ctx_with_cancel(bg, &c);
    redisconn_ctx_cancel(c);
    cr_assert_not_null(redisconn_ctx_on_done(ctx, rt_done_cb, &d));
    cr_assert_eq(d.calls, 0, "fired from inside redisconn_ctx_on_done");
    event_base_loop(base, EVLOOP_NONBLOCK);
    cr_assert_eq(d.calls, 1, "not delivered on the next loop pass");
    cr_assert_eq(d.err, REDISCONN_ERR_CANCELED);
    redisconn_ctx_unref(ctx);
}

Test(context, every_listener_of_a_tree_fires_exactly_once)
{
    rt_done d[4];
    redisconn_canceler *c;
    redisconn_ctx *root = redisconn_ctx_with_cancel(bg, &c);
    redisconn_ctx *v = redisconn_ctx_with_value(root, &key_a, NULL, NULL);
    redisconn_ctx *child = redisconn_ctx_with_timeout(v, 60000, NULL);
    memset(d, 0, sizeof(d));
    redisconn_ctx_on_done(root, rt_done_cb, &d[0]);
    redisconn_ctx_on_done(v, rt_done_cb, &d[1]);
    redisconn_ctx_on_done(child, rt_done_cb, &d[2]);
    redisconn_ctx_on_done(child, rt_done_cb, &d[3]);
    redisconn_ctx_cancel(c);
    rt_await(base, d[0].calls && d[1].calls && d[2].calls && d[3].calls, 50);
    rt_loop_quiet(base, 20); /* a second callback would come now */
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(d[i].calls, 1, "listener %d fired %d times", i, d[i].calls);
        cr_assert_eq(d[i].err, REDISCONN_ERR_CANCELED);
    }
    redisconn_ctx_unref(child);
    redisconn_ctx_unref(v);
    redisconn_ctx_unref(root);
}

Test(context, removed_listener_never_fires)
{
    redisconn_canceler *c;
    redisconn_ctx *ctx = redisconn_ctx_with_cancel(bg, &c);
    redisconn_ctx_listener *l = redisconn_ctx_on_done(ctx, rt_never_done_cb, NULL);
    cr_assert_eq(redisconn_ctx_listener_remove(l), REDISCONN_OK);
    redisconn_ctx_cancel(c);
    rt_loop_quiet(base, 30); /* the removed listener would fire now */
    redisconn_ctx_unref(ctx);
}

Test(context, listener_queued_but_not_yet_run_can_be_removed)
{
    redisconn_canceler *c;
    redisconn_ctx *ctx = redisconn_ctx_with_cancel(bg, &c);
    redisconn_ctx_listener *l = redisconn_ctx_on_done(ctx, rt_never_done_cb, NULL);
    redisconn_ctx_cancel(c); /* queued for the next loop pass */
    cr_assert_eq(redisconn_ctx_listener_remove(l), REDISCONN_OK);
    rt_loop_quiet(base, 30); /* the removed listener would fire now */
    redisconn_ctx_unref(ctx);
}

static void remove_self(redisconn_ctx *ctx, int err, void *arg)
{
    redisconn_ctx_listener **self = arg;
    (void)ctx;
    (void)err;
    cr_assert_eq(redisconn_ctx_listener_remove(*self), REDISCONN_ERR_STATE);
    *self = NULL;
}

Test(context, removing_a_listener_from_its_own_callback_is_a_state_error)
{
    redisconn_canceler *c;
    redisconn_ctx *ctx = redisconn_ctx_with_cancel(bg, &c);
    redisconn_ctx_listener *l = redisconn_ctx_on_done(ctx, remove_self, &l);
    redisconn_ctx_cancel(c);
    rt_await(base, l == NULL, 30);
    cr_assert_null(l, "the listener never ran");
    redisconn_ctx_unref(ctx);
}

Test(context, listener_keeps_its_context_alive)
{
    rt_done d = {0};
    redisconn_ctx *v = redisconn_ctx_with_value(bg, &key_a, "A", count_free);
    redisconn_ctx *ctx = redisconn_ctx_with_timeout(v, 20, NULL);
    freed = 0;
    redisconn_ctx_on_done(ctx, rt_done_cb, &d);
    redisconn_ctx_unref(ctx);
    redisconn_ctx_unref(v); /* only the listener refers to the chain now */
    cr_assert_eq(freed, 0);
    cr_assert(rt_loop_until(base, &d.calls, 5000));
    cr_assert_eq(d.err, REDISCONN_ERR_DEADLINE);
    rt_await(base, freed == 1, 10);
    cr_assert_eq(freed, 1, "the chain is freed after the listener ran");
}

Test(context, listener_on_a_context_that_cannot_end_waits_until_removed)
{
    redisconn_ctx *v = redisconn_ctx_with_value(bg, &key_a, NULL, NULL);
    redisconn_ctx_listener *l = redisconn_ctx_on_done(v, rt_never_done_cb, NULL);
    cr_assert_not_null(l);
    rt_loop_quiet(base, 30); /* it would fire now */
    cr_assert_eq(redisconn_ctx_listener_remove(l), REDISCONN_OK);
    redisconn_ctx_unref(v);
}

Test(context, cancel_before_the_deadline_fires_only_canceled)
{
    rt_done d = {0};
    redisconn_canceler *c;
    redisconn_ctx *ctx = redisconn_ctx_with_timeout(bg, 40, &c);
    redisconn_ctx_on_done(ctx, rt_done_cb, &d);
    redisconn_ctx_cancel(c);
    rt_loop_quiet(base, 100); /* past the deadline: it must not fire as well */
    cr_assert_eq(d.calls, 1);
    cr_assert_eq(d.err, REDISCONN_ERR_CANCELED);
    cr_assert_eq(redisconn_ctx_err(ctx), REDISCONN_ERR_CANCELED);
    redisconn_ctx_unref(ctx);
}

Test(context, on_done_rejects_null_arguments)
{
    cr_assert_null(redisconn_ctx_on_done(NULL, rt_done_cb, NULL));
    cr_assert_null(redisconn_ctx_on_done(bg, NULL, NULL));
    cr_assert_eq(redisconn_ctx_listener_remove(NULL), REDISCONN_ERR_INVALID);
}
