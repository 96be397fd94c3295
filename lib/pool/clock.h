/* clock.h: the monotonic clock every deadline in the library is measured on. */
#ifndef REDISCONN_CLOCK_H
#define REDISCONN_CLOCK_H

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
