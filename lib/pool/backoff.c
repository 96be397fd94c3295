/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * backoff.c: the dial governor — no dial storms, ever.
 *
 * After a dial fails the pool is in an outage episode: no dial until a
 * back-off delay has passed (dial_backoff_min_ms, doubling per consecutive
 * failure up to dial_backoff_max_ms, with jitter so that many processes do not
 * probe in step), then one probe at a time; the first dial that succeeds ends
 * the episode. Outside an episode, dials in flight are limited by a window,
 * like TCP's slow start: SLOW_START at first, one more for every dial that
 * succeeds (so it doubles per round of dials), back to SLOW_START after a
 * failed dial or when an open connection breaks (the server may just have
 * died: the waiters of its connections must not get one dial each). While
 * no connection is open and none succeeded recently (cold start, after an
 * outage), the limit is SLOW_START whatever the window. So a server that
 * accepts only a few more clients (max clients) costs a few refused dials,
 * not one per waiter, even though each accepted dial ends the episode the
 * refused ones started.
 *
 * The hub asks how many dials may start now and reports every dial's
 * outcome; the back-off timer wakes the hub when a probe becomes possible and
 * someone (a waiter, a pending pool-level command, min_idle) wants one.
 */
#include "pool/internal.h"
#include "util/clock.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

enum {
    SLOW_START = 2,                 /* dials in flight at once while nothing is known to work */
    SLOW_START_WINDOW_US = 1000000u /* a dial that succeeded this recently vouches for more */
};

static void on_timer(void *arg)
{
    redisconn__pool_kick(arg);
}

void redisconn__backoff_init(redisconn_pool *pool)
{
    redisconn__backoff *b = &pool->backoff;
    memset(b, 0, sizeof(*b));
    b->window = SLOW_START;
    b->rng = redisconn__now_us() ^ (uint64_t)(uintptr_t)pool ^ 0x9e3779b97f4a7c15u;
    redisconn__timer_init(&b->timer, pool->base, on_timer, pool);
}

void redisconn__backoff_free(redisconn_pool *pool)
{
    redisconn__timer_destroy(&pool->backoff.timer);
}

/* xorshift64*: jitter only, no cryptographic claim. */
static uint64_t next_random(redisconn__backoff *b)
{
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 2685821657736338717u;
}

/* The delay after `failures` consecutive failures, in µs: min * 2^(n-1),
 * capped, then "equal jitter" (half fixed, half random). */
static uint64_t delay_us(redisconn__backoff *b, const redisconn_pool_options *o)
{
    uint64_t d = redisconn__ms_to_us(o->dial_backoff_min_ms);
    uint64_t cap = redisconn__ms_to_us(o->dial_backoff_max_ms);
    for (int i = 1; i < b->failures && d < cap; i++)
        d *= 2;
    if (d > cap) d = cap;
    return d / 2 + next_random(b) % (d / 2 + 1);
}

int redisconn__backoff_allowed(const redisconn_pool *pool, uint64_t now)
{
    const redisconn__backoff *b = &pool->backoff;
    int open = pool->active - pool->dialing;
    int limit = b->window;
    if (b->failures > 0) {
        if (now < b->next_at) return 0;
        return pool->dialing > 0 ? 0 : 1; /* one probe at a time */
    }
    if (open == 0 && (b->last_ok == 0 || now - b->last_ok > SLOW_START_WINDOW_US))
        limit = SLOW_START;
    return pool->dialing >= limit ? 0 : limit - pool->dialing;
}

void redisconn__backoff_wake_at_next(redisconn_pool *pool)
{
    const redisconn__backoff *b = &pool->backoff;
    if (b->failures > 0 && !pool->closed) redisconn__timer_arm(&pool->backoff.timer, b->next_at);
}

void redisconn__backoff_failed(redisconn_pool *pool, int status, const char *msg, uint64_t now)
{
    redisconn__backoff *b = &pool->backoff;
    if (b->failures == 0) b->down_since = now;
    if (b->failures < INT_MAX) b->failures++;
    b->last_status = status;
    snprintf(b->last_msg, sizeof(b->last_msg), "%s", msg ? msg : "");
    b->next_at = now + delay_us(b, &pool->opts);
    b->window = SLOW_START;
}

void redisconn__backoff_conn_broke(redisconn_pool *pool)
{
    pool->backoff.window = SLOW_START;
}

void redisconn__backoff_succeeded(redisconn_pool *pool, uint64_t now)
{
    redisconn__backoff *b = &pool->backoff;
    if (b->failures > 0)
        redisconn__log(&pool->log, REDISCONN_LOG_INFO,
                       "redisconn: %s is back after %d failed dial(s) in %.1f s", pool->addr.text,
                       b->failures, (double)(now - b->down_since) / 1e6);
    b->failures = 0;
    b->down_since = 0;
    b->next_at = 0;
    b->last_status = 0;
    b->last_msg[0] = '\0';
    b->last_ok = now;
    if (b->window < INT_MAX) b->window++; /* one more per success: doubles per round trip */
    redisconn__timer_disarm(&b->timer);
}

void redisconn__backoff_reset(redisconn_pool *pool)
{
    redisconn__backoff *b = &pool->backoff;
    b->failures = 0;
    b->down_since = 0;
    b->next_at = 0;
    b->last_status = 0;
    b->last_msg[0] = '\0';
    redisconn__timer_disarm(&b->timer); /* last_ok stays: dials slow-start as after an outage */
}

int redisconn__backoff_server_down(const redisconn_pool *pool)
{
    return pool->backoff.failures > 0 && pool->active - pool->dialing == 0;
}

int redisconn__backoff_describe(const redisconn_pool *pool, uint64_t now, char *buf, size_t len)
{
    const redisconn__backoff *b = &pool->backoff;
    if (b->failures == 0) return 0;
    snprintf(buf, len, "server %s since %.1f s: %d dial(s) failed, last dial error: %s%s%s",
             redisconn__backoff_server_down(pool) ? "down" : "refusing new connections",
             (double)(now - b->down_since) / 1e6, b->failures, redisconn_strerror(b->last_status),
             b->last_msg[0] ? ": " : "", b->last_msg);
    return 1;
}
