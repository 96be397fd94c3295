/* clock.h: the monotonic clock every deadline in the library is measured on. */
#ifndef REDISCONN_CLOCK_H
#define REDISCONN_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds on CLOCK_MONOTONIC. Inline: it sits on hot paths (a vDSO read). */
static inline uint64_t redisconn__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#endif
