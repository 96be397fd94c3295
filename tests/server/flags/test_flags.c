/* SPDX-License-Identifier: BSD-3-Clause */
/* test_flags.c — Go-style flags on getopt_long_only: syntaxes, types,
 * durations, errors (one line naming the flag + usage), -help, positional
 * arguments, re-parsing, and the exit codes redisconn_server_main() derives. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "support/server_support.h"

static redisconn_flagset *fs;
static FILE *out;
static char outbuf[8192];

static const char *addr;
static int db, verbose;
static int64_t timeout_ms;

static void setup(void)
{
    fs = redisconn_flags_new("prog");
    cr_assert_not_null(fs);
    out = tmpfile();
    cr_assert_not_null(out);
    redisconn_flags_set_output(fs, out);
    cr_assert_eq(redisconn_flags_string(fs, "redis-addr", &addr, "", "Redis server"), REDISCONN_OK);
    cr_assert_eq(redisconn_flags_int(fs, "redis-db", &db, 0, "logical DB"), REDISCONN_OK);
    cr_assert_eq(redisconn_flags_bool(fs, "v", &verbose, 0, "verbose"), REDISCONN_OK);
    cr_assert_eq(redisconn_flags_duration(fs, "timeout", &timeout_ms, 30000, "how long"),
                 REDISCONN_OK);
}

static void teardown(void)
{
    redisconn_flags_free(fs);
    fclose(out);
}

TestSuite(flags, .init = setup, .fini = teardown, .timeout = 10);

/* Everything printed so far. */
static const char *printed(void)
{
    size_t n;
    fflush(out);
    rewind(out);
    n = fread(outbuf, 1, sizeof(outbuf) - 1, out);
    outbuf[n] = '\0';
    return outbuf;
}

/* Parses "prog" followed by the NULL-terminated arguments. */
static int parse_args(const char *first, ...)
{
    static char *argv[16];
    va_list ap;
    int argc = 0;
    argv[argc++] = "prog";
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 15; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return redisconn_flags_parse(fs, argc, argv);
}
#define PARSE(...) parse_args(__VA_ARGS__, (const char *)NULL)

Test(flags, registration_stores_the_defaults)
{
    cr_assert_str_eq(addr, "");
    cr_assert_eq(db, 0);
    cr_assert_eq(verbose, 0);
    cr_assert_eq(timeout_ms, 30000);
}

Test(flags, single_dash_with_a_separate_value)
{
    cr_assert_eq(PARSE("-redis-addr", "127.0.0.1:6379"), REDISCONN_OK);
    cr_assert_str_eq(addr, "127.0.0.1:6379");
    cr_assert(redisconn_flags_is_set(fs, "redis-addr"));
    cr_assert_not(redisconn_flags_is_set(fs, "redis-db"));
}

Test(flags, double_dash_with_equals)
{
    cr_assert_eq(PARSE("--redis-db=2"), REDISCONN_OK);
    cr_assert_eq(db, 2);
}

Test(flags, single_dash_with_equals)
{
    cr_assert_eq(PARSE("-redis-db=3"), REDISCONN_OK);
    cr_assert_eq(db, 3);
}

Test(flags, double_dash_with_a_separate_value)
{
    cr_assert_eq(PARSE("--redis-addr", "h:1"), REDISCONN_OK);
    cr_assert_str_eq(addr, "h:1");
}

Test(flags, syntaxes_mix_in_one_command_line)
{
    cr_assert_eq(PARSE("-redis-db=3", "--redis-addr", "h:1"), REDISCONN_OK);
    cr_assert_eq(db, 3);
    cr_assert_str_eq(addr, "h:1");
}

Test(flags, empty_value_after_equals_is_an_empty_string)
{
    cr_assert_eq(PARSE("-redis-addr=x", "-redis-addr="), REDISCONN_OK);
    cr_assert_str_eq(addr, "");
}

Test(flags, int_accepts_a_negative_number)
{
    cr_assert_eq(PARSE("-redis-db", "-7"), REDISCONN_OK);
    cr_assert_eq(db, -7);
}

Test(flags, int_accepts_hex)
{
    cr_assert_eq(PARSE("-redis-db=0x10"), REDISCONN_OK);
    cr_assert_eq(db, 16);
}

Test(flags, int_accepts_octal)
{
    cr_assert_eq(PARSE("-redis-db=010"), REDISCONN_OK);
    cr_assert_eq(db, 8, "a leading 0 is octal, as Go's strconv.ParseInt(s, 0, ...)");
}

Test(flags, bool_without_a_value_is_true)
{
    cr_assert_eq(PARSE("-v"), REDISCONN_OK);
    cr_assert_eq(verbose, 1);
}

Test(flags, bool_takes_a_value_only_after_equals)
{
    cr_assert_eq(PARSE("-v=true", "--v=false"), REDISCONN_OK);
    cr_assert_eq(verbose, 0);
    cr_assert_eq(PARSE("-v", "false"), REDISCONN_OK);
    cr_assert_eq(verbose, 1);
    cr_assert_eq(redisconn_flags_nargs(fs), 1, "\"false\" is a positional argument, as in Go");
    cr_assert_str_eq(redisconn_flags_arg(fs, 0), "false");
}

Test(flags, bool_rejects_a_bad_value)
{
    cr_assert_eq(PARSE("-v=maybe"), REDISCONN_ERR_INVALID);
    cr_assert(strstr(printed(), "invalid value \"maybe\" for flag -v") != NULL, "%s", outbuf);
}

Test(flags, duration_takes_go_syntax_in_milliseconds)
{
    cr_assert_eq(PARSE("-timeout", "5s"), REDISCONN_OK);
    cr_assert_eq(timeout_ms, 5000);
    cr_assert_eq(PARSE("-timeout=100ms"), REDISCONN_OK);
    cr_assert_eq(timeout_ms, 100);
    cr_assert_eq(PARSE("--timeout=1m30s"), REDISCONN_OK);
    cr_assert_eq(timeout_ms, 90000);
}

Test(flags, duration_rejects_a_missing_unit)
{
    cr_assert_eq(PARSE("-timeout", "5"), REDISCONN_ERR_INVALID);
    cr_assert(strstr(printed(), "invalid value \"5\" for flag -timeout") != NULL, "%s", outbuf);
}

Test(flags, parse_duration_accepts_go_forms)
{
    static const struct {
        const char *text;
        int64_t ms;
    } ok[] = {
        {"0", 0},          {"5s", 5000},        {"+5s", 5000},     {"-5s", -5000},
        {"100ms", 100},    {"1m30s", 90000},    {"1.5h", 5400000}, {"2h45m", 9900000},
        {".5s", 500},      {"1.s", 1000},       {"1500us", 1},     {"999999ns", 0},
        {"1\xc2\xb5s", 0}, {"3m0.25s", 180250},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        cr_assert_eq(redisconn_parse_duration(ok[i].text, &v), REDISCONN_OK, "%s", ok[i].text);
        cr_assert_eq(v, ok[i].ms, "%s -> %lld", ok[i].text, (long long)v);
    }
}

Test(flags, parse_duration_rejects_malformed_text)
{
    static const char *const bad[] = {
        "", "5", "s", "-", ".s", "5x", "1h-2m", "5s ", "1e3s", "99999999999999999999h", "3000000h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 7;
        cr_assert_eq(redisconn_parse_duration(bad[i], &v), REDISCONN_ERR_INVALID, "\"%s\"", bad[i]);
        cr_assert_eq(v, 7);
    }
}

Test(flags, format_duration_matches_go)
{
    static const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        {0, "0s"},           {100, "100ms"},          {1500, "1.5s"},
        {30000, "30s"},      {90000, "1m30s"},        {120000, "2m0s"},
        {3600000, "1h0m0s"}, {5400250, "1h30m0.25s"}, {-2500, "-2.5s"},
    };
    char buf[40];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_str_eq(redisconn_format_duration(cases[i].ms, buf, sizeof(buf)), cases[i].text);
}

Test(flags, unknown_flag_is_an_error_naming_it_followed_by_the_usage)
{
    cr_assert_eq(PARSE("-redis-db=1", "-nope=3"), REDISCONN_ERR_INVALID);
    cr_assert(strncmp(printed(), "flag provided but not defined: -nope\n", 37) == 0, "%s", outbuf);
    cr_assert(strstr(outbuf, "Usage of prog:") != NULL);
}

Test(flags, abbreviated_flag_is_refused_although_getopt_would_take_it)
{
    cr_assert_eq(PARSE("-redis-a", "x"), REDISCONN_ERR_INVALID);
    cr_assert(strstr(printed(), "flag provided but not defined: -redis-a") != NULL, "%s", outbuf);
    cr_assert_str_eq(addr, "");
}

Test(flags, ambiguous_prefix_is_an_unknown_flag)
{
    cr_assert_eq(PARSE("-redis=1"), REDISCONN_ERR_INVALID);
    cr_assert(strstr(printed(), "flag provided but not defined: -redis") != NULL, "%s", outbuf);
}

Test(flags, missing_value_is_an_error_naming_the_flag)
{
    cr_assert_eq(PARSE("-redis-db"), REDISCONN_ERR_INVALID);
    cr_assert(strstr(printed(), "flag needs an argument: -redis-db") != NULL, "%s", outbuf);
}

Test(flags, bad_number_is_an_error_naming_the_flag)
{
    cr_assert_eq(PARSE("-redis-db", "two"), REDISCONN_ERR_INVALID);
    cr_assert(strstr(printed(), "invalid value \"two\" for flag -redis-db: parse error") != NULL,
              "%s", outbuf);
    cr_assert_eq(PARSE("-redis-db=99999999999"), REDISCONN_ERR_INVALID);
    cr_assert_eq(PARSE("-redis-db=12abc"), REDISCONN_ERR_INVALID);
}

Test(flags, help_prints_every_flag_in_go_print_defaults_layout)
{
    cr_assert_eq(PARSE("-help"), REDISCONN_FLAGS_HELP);
    /* What Go's flag.PrintDefaults prints for the same four flags (a
     * one-letter bool keeps its usage on its line; zero defaults omitted). */
    cr_assert_str_eq(printed(), "Usage of prog:\n"
                                "  -redis-addr string\n    \tRedis server\n"
                                "  -redis-db int\n    \tlogical DB\n"
                                "  -timeout duration\n    \thow long (default 30s)\n"
                                "  -v\tverbose\n");
}

/* The usage of a fresh set holding one flag registered by `reg`. */
static const char *usage_of(int (*reg)(redisconn_flagset *))
{
    redisconn_flagset *one = redisconn_flags_new("one");
    cr_assert_eq(reg(one), REDISCONN_OK);
    redisconn_flags_usage(one, out);
    redisconn_flags_free(one);
    return printed();
}

static const char *s_target;
static int i_target, b_target;
static int64_t d_target;

static int reg_quoted(redisconn_flagset *one)
{
    return redisconn_flags_string(one, "addr", &s_target, "a\"b\\c\td", "where");
}
static int reg_backquoted(redisconn_flagset *one)
{
    return redisconn_flags_string(one, "tokens", &s_target, "", "read `path` for tokens");
}
static int reg_long_bool_true(redisconn_flagset *one)
{
    return redisconn_flags_bool(one, "verbose", &b_target, 1, "talk\nmore");
}
static int reg_nonzero_int(redisconn_flagset *one)
{
    return redisconn_flags_int(one, "n", &i_target, 7, "count");
}
static int reg_zero_duration(redisconn_flagset *one)
{
    return redisconn_flags_duration(one, "wait", &d_target, 0, "how long");
}

Test(flags, string_default_is_quoted_like_go_percent_q)
{
    cr_assert_str_eq(usage_of(reg_quoted),
                     "Usage of one:\n  -addr string\n    \twhere (default \"a\\\"b\\\\c\\td\")\n");
}

Test(flags, backquoted_word_names_the_value)
{
    cr_assert_str_eq(usage_of(reg_backquoted),
                     "Usage of one:\n  -tokens path\n    \tread path for tokens\n");
}

Test(flags, long_bool_has_its_usage_on_the_next_line_and_newlines_are_indented)
{
    cr_assert_str_eq(usage_of(reg_long_bool_true),
                     "Usage of one:\n  -verbose\n    \ttalk\n    \tmore (default true)\n");
}

Test(flags, one_letter_flag_with_a_type_goes_on_the_next_line)
{
    cr_assert_str_eq(usage_of(reg_nonzero_int),
                     "Usage of one:\n  -n int\n    \tcount (default 7)\n");
}

Test(flags, zero_duration_default_is_not_printed)
{
    cr_assert_str_eq(usage_of(reg_zero_duration),
                     "Usage of one:\n  -wait duration\n    \thow long\n");
}

Test(flags, h_is_help_too)
{
    cr_assert_eq(PARSE("-h"), REDISCONN_FLAGS_HELP);
}

Test(flags, double_dash_help_is_help_too)
{
    cr_assert_eq(PARSE("--help"), REDISCONN_FLAGS_HELP);
}

Test(flags, a_registered_h_flag_is_not_help)
{
    int h = 0;
    cr_assert_eq(redisconn_flags_bool(fs, "h", &h, 0, "hosts"), REDISCONN_OK);
    cr_assert_eq(PARSE("-h"), REDISCONN_OK);
    cr_assert_eq(h, 1);
}

Test(flags, parsing_stops_at_the_first_positional_argument)
{
    cr_assert_eq(PARSE("-redis-db", "4", "serve", "-v"), REDISCONN_OK);
    cr_assert_eq(db, 4);
    cr_assert_eq(verbose, 0, "flags after a positional argument are arguments");
    cr_assert_eq(redisconn_flags_nargs(fs), 2);
    cr_assert_str_eq(redisconn_flags_arg(fs, 0), "serve");
    cr_assert_str_eq(redisconn_flags_arg(fs, 1), "-v");
    cr_assert_null(redisconn_flags_arg(fs, 2));
}

Test(flags, double_dash_ends_the_flags)
{
    cr_assert_eq(PARSE("-v", "--", "-redis-db=9"), REDISCONN_OK);
    cr_assert_eq(db, 0);
    cr_assert_eq(redisconn_flags_nargs(fs), 1);
    cr_assert_str_eq(redisconn_flags_arg(fs, 0), "-redis-db=9");
}

Test(flags, the_set_can_be_parsed_again)
{
    cr_assert_eq(PARSE("-redis-db=1", "a"), REDISCONN_OK);
    cr_assert_eq(PARSE("-redis-db=2"), REDISCONN_OK);
    cr_assert_eq(db, 2);
    cr_assert_eq(redisconn_flags_nargs(fs), 0);
}

Test(flags, registration_rejects_a_duplicate_name)
{
    int x;
    cr_assert_eq(redisconn_flags_int(fs, "redis-db", &x, 0, ""), REDISCONN_ERR_INVALID);
}

Test(flags, registration_rejects_bad_names)
{
    int x;
    cr_assert_eq(redisconn_flags_int(fs, "", &x, 0, ""), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_flags_int(fs, "-x", &x, 0, ""), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_flags_int(fs, "a=b", &x, 0, ""), REDISCONN_ERR_INVALID);
}

Test(flags, registration_requires_a_destination)
{
    cr_assert_eq(redisconn_flags_int(fs, "ok", NULL, 0, ""), REDISCONN_ERR_INVALID);
}

Test(flags, set_stores_a_value_by_name)
{
    cr_assert_eq(redisconn_flags_set(fs, "redis-addr", "10.0.0.1:7000"), REDISCONN_OK);
    cr_assert_str_eq(addr, "10.0.0.1:7000");
    cr_assert(redisconn_flags_is_set(fs, "redis-addr"));
    cr_assert_eq(redisconn_flags_set(fs, "redis-db", "x"), REDISCONN_ERR_INVALID);
    cr_assert_eq(redisconn_flags_set(fs, "nope", "1"), REDISCONN_ERR_INVALID);
    cr_assert_str_eq(printed(), "", "set prints nothing");
}

Test(flags, commandline_set_is_one_per_process)
{
    cr_assert_not_null(redisconn_flags_commandline());
    cr_assert_eq(redisconn_flags_commandline(), redisconn_flags_commandline());
}

/* redisconn_server_main()'s exit codes for flag problems (nothing starts). */
static int run_main(char **argv, int argc)
{
    redisconn_flags_set_output(redisconn_flags_commandline(), out);
    return redisconn_server_main(argc, argv, NULL, 0, NULL, NULL);
}

Test(flags, server_main_exits_2_on_an_unknown_flag)
{
    char *argv[] = {"server", "-no-such-flag", NULL};
    cr_assert_eq(run_main(argv, 2), 2);
    cr_assert(strstr(printed(), "flag provided but not defined: -no-such-flag") != NULL, "%s",
              outbuf);
}

Test(flags, server_main_exits_0_on_help_listing_its_flags)
{
    char *argv[] = {"server", "-help", NULL};
    cr_assert_eq(run_main(argv, 2), 0);
    cr_assert(strstr(printed(), "-http-addr string") != NULL, "%s", outbuf);
    cr_assert(strstr(outbuf, "(default \"127.0.0.1:8800\")") != NULL, "%s", outbuf);
    cr_assert(strstr(outbuf, "-request-timeout duration") != NULL, "%s", outbuf);
    cr_assert(strstr(outbuf, "-shutdown-timeout duration") != NULL, "%s", outbuf);
}

Test(flags, server_main_exits_2_on_a_bad_duration)
{
    char *argv[] = {"server", "-request-timeout=soon", NULL};
    cr_assert_eq(run_main(argv, 2), 2);
    cr_assert(strstr(printed(), "invalid value \"soon\" for flag -request-timeout") != NULL, "%s",
              outbuf);
}
