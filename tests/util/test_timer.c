/* SPDX-License-Identifier: BSD-3-Clause */
/* test_timer.c — the deadline timer (lib/util/timer.c): fires once at the
 * armed time; arming later than the armed time changes nothing, earlier
 * moves it; it can be disarmed, and re-armed from its own callback. */
#include <criterion/criterion.h>

#include <event2/event.h>

#include "util/clock.h"
#include "util/timer.h"

static struct event_base *base;
static redisconn__timer t;
static int fired;
static uint64_t fired_at;

static void on_fire(void *arg)
{
    (void)arg;
    fired++;
    fired_at = redisconn__now_us();
}

static void setup(void)
{
    base = event_base_new();
    cr_assert_not_null(base);
    redisconn__timer_init(&t, base, on_fire, NULL);
    fired = 0;
}

static void teardown(void)
{
    redisconn__timer_destroy(&t);
    event_base_free(base);
}

TestSuite(timer, .init = setup, .fini = teardown, .timeout = 10);

Test(timer, fires_once_at_the_armed_time_not_before)
{
    uint64_t at = redisconn__deadline_after(30);
    cr_assert_eq(redisconn__timer_arm(&t, at), 0);
    cr_assert(redisconn__timer_armed(&t));
    event_base_dispatch(base);
    cr_assert_eq(fired, 1);
    cr_assert_geq(fired_at, at);
    cr_assert_not(redisconn__timer_armed(&t));
}

Test(timer, arming_for_a_later_time_keeps_the_earlier_one)
{
    uint64_t early = redisconn__deadline_after(20), late = redisconn__deadline_after(5000);
    redisconn__timer_arm(&t, early);
    redisconn__timer_arm(&t, late);
    cr_assert_eq(t.at_us, early);
    event_base_dispatch(base);
    cr_assert_eq(fired, 1);
    cr_assert_lt(fired_at, late);
}

Test(timer, arming_for_an_earlier_time_moves_it_earlier)
{
    uint64_t late = redisconn__deadline_after(5000), early = redisconn__deadline_after(20);
    redisconn__timer_arm(&t, late);
    redisconn__timer_arm(&t, early);
    cr_assert_eq(t.at_us, early);
    event_base_dispatch(base);
    cr_assert_eq(fired, 1);
    cr_assert_lt(fired_at, late);
}

Test(timer, arming_for_zero_is_a_no_op)
{
    cr_assert_eq(redisconn__timer_arm(&t, 0), 0);
    cr_assert_not(redisconn__timer_armed(&t));
    event_base_dispatch(base);
    cr_assert_eq(fired, 0);
}

Test(timer, a_disarmed_timer_never_fires)
{
    redisconn__timer_arm(&t, redisconn__deadline_after(10));
    redisconn__timer_disarm(&t);
    event_base_dispatch(base);
    cr_assert_eq(fired, 0);
}

static void rearm_twice(void *arg)
{
    (void)arg;
    if (++fired < 2) redisconn__timer_arm(&t, redisconn__deadline_after(5));
}

Test(timer, may_be_rearmed_from_its_own_callback)
{
    redisconn__timer_init(&t, base, rearm_twice, NULL);
    redisconn__timer_arm(&t, redisconn__deadline_after(5));
    event_base_dispatch(base);
    cr_assert_eq(fired, 2);
}

Test(timer, deadline_after_a_non_positive_delay_is_no_deadline)
{
    cr_assert_eq(redisconn__deadline_after(0), 0);
    cr_assert_eq(redisconn__deadline_after(-5), 0);
    cr_assert_eq(redisconn__deadline_at(1000, 2), 3000);
    cr_assert_eq(redisconn__ms_to_us(-1), 0);
}
