/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * clock.h: the monotonic clock every deadline in the library is measured on,
 * and the conversions between it, milliseconds and libevent's timevals.
 */
#ifndef REDISCONN_UTIL_CLOCK_H
#define REDISCONN_UTIL_CLOCK_H

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

/* Microseconds on CLOCK_MONOTONIC. Inline: it sits on hot paths (a vDSO read). */
static inline uint64_t redisconn__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Milliseconds to microseconds; negative counts as 0. */
static inline uint64_t redisconn__ms_to_us(int64_t ms)
{
    return ms > 0 ? (uint64_t)ms * 1000u : 0;
}

/* The absolute time `ms` milliseconds after `now_us`, or 0 ("no deadline")
 * when `ms` <= 0. */
static inline uint64_t redisconn__deadline_at(uint64_t now_us, int64_t ms)
{
    return ms > 0 ? now_us + redisconn__ms_to_us(ms) : 0;
}

/* The absolute time `ms` milliseconds from now, or 0 ("no deadline") when
 * `ms` <= 0. Reads the clock only when there is a deadline. */
static inline uint64_t redisconn__deadline_after(int64_t ms)
{
    return ms > 0 ? redisconn__now_us() + redisconn__ms_to_us(ms) : 0;
}

/* The relative timeval libevent wants for an absolute time on our clock
 * (zero when `at_us` has passed). */
static inline struct timeval redisconn__tv_until(uint64_t at_us)
{
    struct timeval tv;
    uint64_t now = redisconn__now_us(), rel = at_us > now ? at_us - now : 0;
    tv.tv_sec = (time_t)(rel / 1000000u);
    tv.tv_usec = (suseconds_t)(rel % 1000000u);
    return tv;
}

#endif
