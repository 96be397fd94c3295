/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_duration.c — the Go duration parser and formatter
 * (redisconn_parse_duration / redisconn_format_duration,
 * lib/server/flags/duration.c).
 *
 * Input: the text to parse; its first 8 bytes are also read as an int64
 * number of milliseconds to format.
 * Properties: parse gives OK or INVALID; a parsed duration has the sign of
 * its text; format fits in 32 bytes whatever the value; parse(format(d)) == d
 * for every parsed d and for every d Go can represent (|d| < 2^63 ns).
 */
#include "fuzz.h"
#include "redisconn/flags.h"

#include <stdlib.h>
#include <string.h>

#define RF_TARGET "duration"

/* Largest |ms| whose nanoseconds fit Go's int64 Duration. */
#define MS_MAX INT64_C(9223372036854)

/* format(ms), checked to fit in 32 bytes and to parse back to ms. */
static void check_round_trip(int64_t ms)
{
    char big[64], small[32];
    int64_t back = 0;
    memset(big, 'x', sizeof(big));
    redisconn_format_duration(ms, big, sizeof(big));
    RF_CHECK(memchr(big, '\0', sizeof(big)) != NULL && strlen(big) < sizeof(small));
    redisconn_format_duration(ms, small, sizeof(small));
    RF_CHECK(strcmp(big, small) == 0);
    if (ms < -MS_MAX || ms > MS_MAX) return;
    if (redisconn_parse_duration(big, &back) != REDISCONN_OK)
        rf_fail(RF_TARGET, "format(%lld) = \"%s\" does not parse", (long long)ms, big);
    if (back != ms)
        rf_fail(RF_TARGET, "format(%lld) = \"%s\" parses as %lld", (long long)ms, big,
                (long long)back);
}

int rf_run_duration(const uint8_t *data, size_t size)
{
    char *text = rf_cstr(data, size);
    int64_t ms = 42, raw;
    int rc = redisconn_parse_duration(text, &ms);

    RF_CHECK(rc == REDISCONN_OK || rc == REDISCONN_ERR_INVALID);
    if (rc == REDISCONN_OK) {
        RF_CHECK(ms >= -MS_MAX && ms <= MS_MAX);
        if (text[0] == '-') RF_CHECK(ms <= 0);
        if (text[0] != '-') RF_CHECK(ms >= 0);
        check_round_trip(ms);
    } else {
        RF_CHECK(ms == 42); /* untouched: flags.c parses straight into a flag's target */
    }
    if (size >= sizeof(raw)) {
        memcpy(&raw, data, sizeof(raw));
        check_round_trip(raw);
    }
    free(text);
    return 0;
}

RF_ENTRY(rf_run_duration)
