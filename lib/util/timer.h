/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * timer.h: a deadline timer on an event_base — "fire at T, unless already
 * set to fire earlier".
 *
 * Owners that track many deadlines (the commands of a connection, the idle
 * connections of a pool, the pending commands of a pool) keep one timer armed
 * for the earliest and, when it fires, re-arm it for the next: arming for a
 * later time than the armed one is a no-op, so a hot path pays a compare.
 * The libevent event is created on first use and kept.
 */
#ifndef REDISCONN_UTIL_TIMER_H
#define REDISCONN_UTIL_TIMER_H

#include <stdint.h>

struct event;
struct event_base;

/* Runs from the loop when the armed time is reached; the timer is disarmed
 * already (it may be re-armed or destroyed here). */
typedef void (*redisconn__timer_fn)(void *arg);

typedef struct redisconn__timer {
    struct event *ev; /* created on first arm */
    struct event_base *base;
    redisconn__timer_fn fn;
    void *arg;
    uint64_t at_us; /* armed for this time (redisconn__now_us() clock), 0 = not armed */
} redisconn__timer;

/* Prepares a disarmed timer. Allocates nothing; can't fail. */
void redisconn__timer_init(redisconn__timer *t, struct event_base *base, redisconn__timer_fn fn,
                           void *arg);

/* Arms `t` for `at_us` unless it is armed for that time or earlier; 0 is a
 * no-op. Returns 0, or -1 when out of memory (the timer is left as it was). */
int redisconn__timer_arm(redisconn__timer *t, uint64_t at_us);

/* Disarms `t`; a no-op when it is not armed. */
void redisconn__timer_disarm(redisconn__timer *t);

/* Frees the event; `t` may be initialized again. */
void redisconn__timer_destroy(redisconn__timer *t);

static inline int redisconn__timer_armed(const redisconn__timer *t)
{
    return t->at_us != 0;
}

#endif
