/* SPDX-License-Identifier: BSD-3-Clause */
/* utf8.c: strict UTF-8 validation, for metric help texts and label values
 * (see metrics/internal.h). */
#include "server/metrics/internal.h"

#include <stddef.h>

/* Length of the UTF-8 sequence led by byte `c` (0 if `c` cannot lead one);
 * *min receives the least code point it may encode (to reject overlongs). */
static unsigned utf8_lead(unsigned char c, unsigned long *min)
{
    static const struct {
        unsigned char lo, hi;
        unsigned len;
        unsigned long min;
    } leads[] = {{0x00, 0x7f, 1, 0},
                 {0xc2, 0xdf, 2, 0x80},
                 {0xe0, 0xef, 3, 0x800},
                 {0xf0, 0xf4, 4, 0x10000}};
    for (size_t i = 0; i < sizeof(leads) / sizeof(leads[0]); i++) {
        if (c >= leads[i].lo && c <= leads[i].hi) {
            *min = leads[i].min;
            return leads[i].len;
        }
    }
    return 0;
}

/* Strict UTF-8: shortest forms only, no surrogates, nothing past U+10FFFF. */
int redisconn__utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        unsigned long min, cp;
        unsigned n = utf8_lead(*p, &min);
        if (n == 0) return 0;
        cp = n == 1 ? *p : (unsigned long)(*p & (0x7fu >> n));
        for (unsigned i = 1; i < n; i++) {
            if ((p[i] & 0xc0u) != 0x80u) return 0; /* also stops at the NUL */
            cp = (cp << 6) | (p[i] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        p += n;
    }
    return 1;
}
