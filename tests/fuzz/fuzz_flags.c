/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_flags.c — a Go-style flag set (include/redisconn/flags.h) parsing an
 * arbitrary command line: the input split on NUL bytes is argv[1..].
 *
 * The set has flags of every type, names that are prefixes of one another
 * (getopt would take a unique prefix; Go must not) and one that shadows -h.
 * Properties: the status is one of the documented ones; after OK the
 * positional arguments are the tail of argv, and one that starts with '-'
 * (other than "-") follows "--"; booleans are 0 or 1, durations survive a
 * format/parse round trip; parsing the same argv again gives the same status
 * and values (getopt is reset); redisconn_flags_set() agrees with is_set.
 */
#include "fuzz.h"
#include "redisconn/flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RF_TARGET "flags"

#define MAX_ARGS 32

/* The targets of the flags; defaults set at registration. */
typedef struct values {
    const char *addr, *addr_v6, *name;
    int db, n, verbose, v, hflag;
    int64_t timeout, d;
} values;

static FILE *devnull;

static redisconn_flagset *new_set(values *v)
{
    redisconn_flagset *fs = redisconn_flags_new("fuzz");
    int rc = REDISCONN_OK;
    if (fs == NULL) rf_fail(RF_TARGET, "out of memory");
    redisconn_flags_set_output(fs, devnull);
    rc |= redisconn_flags_string(fs, "redis-addr", &v->addr, "127.0.0.1:6379", "address");
    rc |= redisconn_flags_string(fs, "redis-addr-v6", &v->addr_v6, NULL, "v6 address");
    rc |= redisconn_flags_string(fs, "name", &v->name, "n\"a\tme", "a name");
    rc |= redisconn_flags_int(fs, "redis-db", &v->db, 0, "database");
    rc |= redisconn_flags_int(fs, "n", &v->n, -7, "a number");
    rc |= redisconn_flags_bool(fs, "verbose", &v->verbose, 0, "talk");
    rc |= redisconn_flags_bool(fs, "v", &v->v, 1, "short");
    rc |= redisconn_flags_bool(fs, "hh", &v->hflag, 0, "a prefix of nothing, h's neighbour");
    rc |= redisconn_flags_duration(fs, "timeout", &v->timeout, 5000, "a duration");
    rc |= redisconn_flags_duration(fs, "d", &v->d, -1500, "another");
    RF_CHECK(rc == REDISCONN_OK);
    return fs;
}

/* parse(format(ms)) == ms for a parsed duration. */
static void check_duration(int64_t ms)
{
    char buf[64];
    int64_t back = 0;
    redisconn_format_duration(ms, buf, sizeof(buf));
    RF_CHECK(redisconn_parse_duration(buf, &back) == REDISCONN_OK && back == ms);
}

/* What must hold after a successful parse of `a`. */
static void check_ok(const redisconn_flagset *fs, const values *v, const rf_argv *a)
{
    int nargs = redisconn_flags_nargs(fs), first = a->argc - nargs;
    RF_CHECK(nargs >= 0 && nargs < a->argc);
    for (int i = 0; i < nargs; i++)
        RF_CHECK(redisconn_flags_arg(fs, i) == a->argv[first + i]);
    RF_CHECK(redisconn_flags_arg(fs, nargs) == NULL && redisconn_flags_arg(fs, -1) == NULL);
    if (nargs > 0 && a->argv[first][0] == '-' && a->argv[first][1] != '\0')
        RF_CHECK(strcmp(a->argv[first - 1], "--") == 0);
    RF_CHECK(v->addr != NULL && v->addr_v6 != NULL && v->name != NULL);
    RF_CHECK((v->verbose == 0 || v->verbose == 1) && (v->v == 0 || v->v == 1));
    RF_CHECK(v->hflag == 0 || v->hflag == 1);
    check_duration(v->timeout);
    check_duration(v->d);
}

/* Same values in both (strings by content). */
static int same_values(const values *a, const values *b)
{
    return strcmp(a->addr, b->addr) == 0 && strcmp(a->addr_v6, b->addr_v6) == 0 &&
           strcmp(a->name, b->name) == 0 && a->db == b->db && a->n == b->n &&
           a->verbose == b->verbose && a->v == b->v && a->hflag == b->hflag &&
           a->timeout == b->timeout && a->d == b->d;
}

/* Sets the flag named by argv[1] (dashes stripped) to argv[2], as an
 * embedding program would from a config file. */
static void check_set(redisconn_flagset *fs, const rf_argv *a)
{
    const char *name;
    int rc;
    if (a->argc < 3) return;
    name = a->argv[1] + strspn(a->argv[1], "-");
    rc = redisconn_flags_set(fs, name, a->argv[2]);
    RF_CHECK(rc == REDISCONN_OK || rc == REDISCONN_ERR_INVALID || rc == REDISCONN_ERR_NOMEM);
    if (rc == REDISCONN_OK) RF_CHECK(redisconn_flags_is_set(fs, name) == 1);
}

int rf_run_flags(const uint8_t *data, size_t size)
{
    values v1, v2;
    redisconn_flagset *fs1, *fs2;
    rf_argv a;
    int rc1, rc2, again;

    if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
        rf_fail(RF_TARGET, "cannot open /dev/null");
    rf_argv_split(&a, "prog", data, size, MAX_ARGS);
    fs1 = new_set(&v1);
    fs2 = new_set(&v2);
    rc1 = redisconn_flags_parse(fs1, a.argc, a.argv);
    RF_CHECK(rc1 == REDISCONN_OK || rc1 == REDISCONN_FLAGS_HELP || rc1 == REDISCONN_ERR_INVALID ||
             rc1 == REDISCONN_ERR_NOMEM);
    if (rc1 == REDISCONN_OK) check_ok(fs1, &v1, &a);
    rc2 = redisconn_flags_parse(fs2, a.argc, a.argv); /* a fresh set, getopt re-used */
    RF_CHECK(rc1 == rc2 && same_values(&v1, &v2));
    again = redisconn_flags_parse(fs1, a.argc, a.argv); /* the same set again */
    RF_CHECK(again == rc1 && same_values(&v1, &v2));
    if (rc1 == REDISCONN_OK) RF_CHECK(redisconn_flags_nargs(fs1) == redisconn_flags_nargs(fs2));
    redisconn_flags_usage(fs1, devnull);
    check_set(fs1, &a);
    redisconn_flags_free(fs1);
    redisconn_flags_free(fs2);
    rf_argv_free(&a);
    return 0;
}

RF_ENTRY(rf_run_flags)
