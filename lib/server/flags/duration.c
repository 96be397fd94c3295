/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * duration.c: Go's time.ParseDuration and Duration.String, in milliseconds.
 */
#include "redisconn/flags.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define NS_MAX ((uint64_t)1 << 63) /* |duration| in ns must stay below this, as in Go */

struct unit {
    const char *name;
    uint64_t ns;
};

static const struct unit units[] = {
    {"ns", UINT64_C(1)},           {"us", UINT64_C(1000)},
    {"\xc2\xb5s", UINT64_C(1000)}, /* U+00B5 micro sign */
    {"\xce\xbcs", UINT64_C(1000)}, /* U+03BC Greek mu */
    {"ms", UINT64_C(1000000)},     {"s", UINT64_C(1000000000)},
    {"m", UINT64_C(60000000000)},  {"h", UINT64_C(3600000000000)},
};

/* ASCII digits only (no locale). */
static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The unit spelled by the `len` bytes at `s`, or NULL. */
static const struct unit *find_unit(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i].name) == len && memcmp(units[i].name, s, len) == 0) return &units[i];
    return NULL;
}

/* Reads "digits[.digits]" at *s into an integer part and a fraction
 * (frac / scale). Returns 0 on success, -1 without digits or on overflow. */
static int read_number(const char **s, uint64_t *whole, uint64_t *frac, double *scale)
{
    const char *p = *s;
    int digits = 0, overflow = 0;
    *whole = *frac = 0;
    *scale = 1;
    for (; is_digit(*p); p++, digits++) {
        if (*whole > (NS_MAX - 9) / 10) return -1;
        *whole = *whole * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        for (p++; is_digit(*p); p++, digits++) {
            if (overflow || *frac > (NS_MAX - 9) / 10) {
                overflow = 1; /* further digits cannot matter, as in Go */
                continue;
            }
            *frac = *frac * 10 + (uint64_t)(*p - '0');
            *scale *= 10;
        }
    }
    *s = p;
    return digits > 0 ? 0 : -1;
}

/* Adds one "<number><unit>" term at *s to *total_ns. */
static int read_term(const char **s, uint64_t *total_ns)
{
    uint64_t whole, frac, v;
    double scale;
    const char *u;
    const struct unit *unit;
    if (read_number(s, &whole, &frac, &scale) != 0) return -1;
    for (u = *s; **s != '\0' && **s != '.' && !is_digit(**s); (*s)++) {
    }
    unit = find_unit(u, (size_t)(*s - u));
    if (unit == NULL || whole > NS_MAX / unit->ns) return -1;
    v = whole * unit->ns;
    if (frac > 0) v += (uint64_t)((double)frac * ((double)unit->ns / scale));
    if (v > NS_MAX || *total_ns > NS_MAX - v) return -1;
    *total_ns += v;
    return 0;
}

/* Go's ParseDuration: a sign, then terms; "0" alone needs no unit. */
int redisconn_parse_duration(const char *text, int64_t *out_ms)
{
    const char *s = text;
    uint64_t ns = 0;
    int neg = 0;
    if (s == NULL || out_ms == NULL) return REDISCONN_ERR_INVALID;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *out_ms = 0;
        return REDISCONN_OK;
    }
    if (*s == '\0') return REDISCONN_ERR_INVALID;
    while (*s != '\0')
        if (read_term(&s, &ns) != 0) return REDISCONN_ERR_INVALID;
    if (ns > NS_MAX - (neg ? 0 : 1)) return REDISCONN_ERR_INVALID;
    *out_ms = (int64_t)(ns / 1000000u) * (neg ? -1 : 1);
    return REDISCONN_OK;
}

/* Go's layout: "1h2m3.5s", "2m0s", "1.5s"; under a second "250ms". */
char *redisconn_format_duration(int64_t ms, char *buf, size_t len)
{
    uint64_t u = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    uint64_t h = u / 3600000u, m = u / 60000u % 60u, s = u / 1000u % 60u, frac = u % 1000u;
    const char *sign = ms < 0 ? "-" : "";
    char fs[8] = "";
    if (buf == NULL || len == 0) return buf;
    if (u == 0) {
        snprintf(buf, len, "0s");
        return buf;
    }
    if (u < 1000u) {
        snprintf(buf, len, "%s%" PRIu64 "ms", sign, u);
        return buf;
    }
    if (frac > 0) {
        snprintf(fs, sizeof(fs), ".%03u", (unsigned)frac);
        size_t n = strlen(fs);
        while (n > 1 && fs[n - 1] == '0')
            fs[--n] = '\0';
    }
    if (h > 0)
        snprintf(buf, len, "%s%" PRIu64 "h%" PRIu64 "m%" PRIu64 "%ss", sign, h, m, s, fs);
    else if (m > 0)
        snprintf(buf, len, "%s%" PRIu64 "m%" PRIu64 "%ss", sign, m, s, fs);
    else
        snprintf(buf, len, "%s%" PRIu64 "%ss", sign, s, fs);
    return buf;
}
