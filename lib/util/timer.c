/* SPDX-License-Identifier: BSD-3-Clause */
/* timer.c: see timer.h. */
#include "util/timer.h"
#include "util/clock.h"

#include <stddef.h>

#include <event2/event.h>

static void on_fire(evutil_socket_t fd, short what, void *arg)
{
    redisconn__timer *t = arg;
    (void)fd;
    (void)what;
    t->at_us = 0;
    t->fn(t->arg);
}

void redisconn__timer_init(redisconn__timer *t, struct event_base *base, redisconn__timer_fn fn,
                           void *arg)
{
    t->ev = NULL;
    t->base = base;
    t->fn = fn;
    t->arg = arg;
    t->at_us = 0;
}

int redisconn__timer_arm(redisconn__timer *t, uint64_t at_us)
{
    struct timeval tv;
    if (at_us == 0 || (t->at_us != 0 && t->at_us <= at_us)) return 0;
    if (t->ev == NULL) {
        t->ev = event_new(t->base, -1, 0, on_fire, t);
        if (t->ev == NULL) return -1;
    }
    tv = redisconn__tv_until(at_us);
    if (event_add(t->ev, &tv) != 0) return -1;
    t->at_us = at_us;
    return 0;
}

void redisconn__timer_disarm(redisconn__timer *t)
{
    if (t->at_us == 0) return;
    event_del(t->ev);
    t->at_us = 0;
}

void redisconn__timer_destroy(redisconn__timer *t)
{
    if (t->ev != NULL) event_free(t->ev);
    t->ev = NULL;
    t->at_us = 0;
}
