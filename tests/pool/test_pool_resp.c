/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_resp.c — the RESP encoder makes the very bytes hiredis's
 * formatter makes: literal runs, spaces, %s, %b, %%, a trailing %, empty
 * arguments, printf conversions (through hiredis), argument vectors, and
 * thousands of random formats. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "pool/resp.h"
#include "redisconn/common.h"

static redisconn__resp_buf buf;

static void teardown(void)
{
    redisconn__resp_buf_free(&buf);
}

TestSuite(pool_resp, .fini = teardown, .timeout = 30);

/* Encodes with both and asserts the same result, bytes or refusal. */
static void same(const char *fmt, ...)
{
    va_list a, b;
    char *want = NULL;
    const char *got;
    size_t glen;
    int wlen, rc;
    va_start(a, fmt);
    va_copy(b, a);
    wlen = redisvFormatCommand(&want, fmt, a);
    rc = redisconn__resp_vformat(&buf, &got, &glen, fmt, b);
    va_end(b);
    va_end(a);
    if (wlen < 0) {
        cr_assert_neq(rc, REDISCONN_OK, "hiredis refused \"%s\", we did not", fmt);
        return;
    }
    cr_assert_eq(rc, REDISCONN_OK, "\"%s\": %s", fmt, redisconn_strerror(rc));
    cr_assert_eq(glen, (size_t)wlen, "\"%s\": %zu bytes, hiredis %d", fmt, glen, wlen);
    cr_assert(memcmp(got, want, glen) == 0, "\"%s\": other bytes", fmt);
    redisFreeCommand(want);
}

Test(pool_resp, plain_words_are_arguments)
{
    same("GET k");
    same("SET key value");
    same("  PING  ");
    same("");
    same("   ");
}

Test(pool_resp, string_and_binary_arguments)
{
    same("SET %s %s", "k", "v");
    same("SET %s %b", "k", "a\0b", (size_t)3);
    same("SET %s %b", "k", "", (size_t)0);
    same("SET %s %s", "", "");
    same("APPEND pre%spost %s", "-mid-", "x y");
}

Test(pool_resp, percent_signs)
{
    same("SET k 100%%");
    same("SET k %");
    same("SET k %%%s%%", "x");
    same("ECHO 50%% %s", "off");
}

Test(pool_resp, printf_conversions_go_through_hiredis)
{
    same("SELECT %d", 5);
    same("INCRBY %s %lld", "k", (long long)-123456789012);
    same("SET k %5.2f", 3.14159);
    same("SET k %x %hhd %hu %ld", 255, 7, 65000, 123456789L);
    same("SET k %q"); /* refused by both */
}

Test(pool_resp, many_arguments_beyond_the_fast_path)
{
    same("DEL a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg hh ii");
}

Test(pool_resp, argument_vectors_match_hiredis)
{
    const char *argv[] = {"HSET", "h", "f\0x", ""};
    const size_t lens[] = {4, 1, 3, 0};
    char *want = NULL;
    const char *got;
    size_t glen;
    int wlen = redisFormatCommandArgv(&want, 4, argv, lens);
    cr_assert_eq(redisconn__resp_argv(&buf, &got, &glen, 4, argv, lens), REDISCONN_OK);
    cr_assert_eq(glen, (size_t)wlen);
    cr_assert(memcmp(got, want, glen) == 0);
    redisFreeCommand(want);
    wlen = redisFormatCommandArgv(&want, 2, argv, NULL);
    cr_assert_eq(redisconn__resp_argv(&buf, &got, &glen, 2, argv, NULL), REDISCONN_OK);
    cr_assert_eq(glen, (size_t)wlen);
    cr_assert(memcmp(got, want, glen) == 0);
    redisFreeCommand(want);
}

Test(pool_resp, bad_argument_vectors_are_invalid)
{
    const char *argv[] = {"GET", NULL};
    const char *got;
    size_t glen;
    cr_assert_eq(redisconn__resp_argv(&buf, &got, &glen, 2, argv, NULL), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn__resp_argv(&buf, &got, &glen, 0, argv, NULL), REDISCONN_ERR_INVALID);
}

Test(pool_resp, a_large_value_grows_the_buffer)
{
    size_t n = 3 * 1024 * 1024;
    char *big = malloc(n);
    memset(big, 'z', n);
    same("SET big %b", big, n);
    same("GET small");
    free(big);
}

/* A random format of literal runs, spaces, %s, %%, and a possible final %. */
static void random_format(char *fmt, size_t len, unsigned *seed)
{
    static const char *tokens[] = {"a", "SET", " ", "  ", "%s", "%%", "x%sy", "%s%s", "é", "\t"};
    size_t n = 0;
    int k = rand_r(seed) % 12, conversions = 0;
    fmt[0] = '\0';
    for (int i = 0; i < k; i++) {
        const char *t = tokens[rand_r(seed) % 10];
        int c = (int)(strstr(t, "%s") != NULL) + (int)(strstr(t, "%s%s") != NULL);
        if (conversions + c > 4 || n + strlen(t) + 2 >= len) continue;
        conversions += c;
        n += (size_t)snprintf(fmt + n, len - n, "%s", t);
    }
    if (rand_r(seed) % 5 == 0 && n + 1 < len) strcat(fmt, "%");
}

Test(pool_resp, ten_thousand_random_formats_match_hiredis)
{
    unsigned seed = 12345;
    char fmt[128];
    for (int i = 0; i < 10000; i++) {
        random_format(fmt, sizeof(fmt), &seed);
        same(fmt, "one", "", "three words", "4");
    }
}
