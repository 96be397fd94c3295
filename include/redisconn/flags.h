/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/flags.h — command-line flags in Go's `flag` syntax.
 *
 *   -redis-addr 127.0.0.1:6379   --redis-db=2   -flag=value   -v   -v=false
 *
 * A flag set holds typed flags (string, int, bool, duration). Registering a
 * flag stores its default in the caller's variable at once; parsing stores
 * the values given on the command line. Parsing stops at the first argument
 * that is not a flag, or after "--"; the rest are positional arguments.
 * Boolean flags take a value only with "=" ("-v=false"), as in Go.
 * Durations use Go's syntax ("300ms", "5s", "1m30s", "1.5h") and are stored
 * in milliseconds.
 *
 * The parser is glibc's getopt_long_only(), driven by an option table built
 * from the registered flags; unique-prefix abbreviations, which getopt would
 * accept, are refused like any unknown flag. getopt keeps global state, so
 * parse from one thread at a time.
 *
 * OWNERSHIP. A flag set copies names, usage texts and string values. String
 * flags point the caller's `const char *` at a copy owned by the set, valid
 * until the next value is parsed for that flag or the set is freed. Target
 * variables must outlive the set (or at least every parse).
 */
#ifndef REDISCONN_FLAGS_H
#define REDISCONN_FLAGS_H

#include <stdint.h>
#include <stdio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Returned by redisconn_flags_parse() when -help or -h was given (usage printed). */
#define REDISCONN_FLAGS_HELP 1

/** A set of flags. Opaque. */
typedef struct redisconn_flagset redisconn_flagset;

/**
 * Creates an empty flag set. `name` (copied, may be NULL) heads the usage
 * text ("Usage of <name>:"); NULL uses the program name from argv[0] at
 * parse time. Errors go to stderr until redisconn_flags_set_output().
 * Returns NULL when memory is short. Free with redisconn_flags_free().
 */
REDISCONN_EXPORT redisconn_flagset *redisconn_flags_new(const char *name);

/** Frees the set and every string it owns. NULL is a no-op. */
REDISCONN_EXPORT void redisconn_flags_free(redisconn_flagset *fs);

/**
 * The process-wide command-line flag set (Go's flag.CommandLine), created on
 * first use and never freed. redisconn_server_main() parses it. Not
 * thread-safe on first use: call it from the main thread.
 */
REDISCONN_EXPORT redisconn_flagset *redisconn_flags_commandline(void);

/**
 * Where errors and usage go (default stderr). `out` is borrowed and must stay
 * open while the set may print; NULL restores stderr.
 */
REDISCONN_EXPORT void redisconn_flags_set_output(redisconn_flagset *fs, FILE *out);

/**
 * Registers a string flag `-name` and sets `*target` to a copy of `def`
 * (NULL means ""). The string `*target` points to is owned by the set.
 * `name` must be non-empty, start with neither '-' nor '=', and contain no
 * '=' or whitespace. Returns REDISCONN_OK, REDISCONN_ERR_INVALID (bad
 * arguments, or a flag of that name already exists) or REDISCONN_ERR_NOMEM.
 */
REDISCONN_EXPORT int redisconn_flags_string(redisconn_flagset *fs, const char *name,
                                            const char **target, const char *def,
                                            const char *usage);

/** Registers an int flag (decimal, 0x hex or 0 octal; range of int). See _string. */
REDISCONN_EXPORT int redisconn_flags_int(redisconn_flagset *fs, const char *name, int *target,
                                         int def, const char *usage);

/**
 * Registers a boolean flag: "-name" sets 1, "-name=false" 0. Accepted values
 * (Go's ParseBool): 1 t T TRUE true True, 0 f F FALSE false False. See _string.
 */
REDISCONN_EXPORT int redisconn_flags_bool(redisconn_flagset *fs, const char *name, int *target,
                                          int def, const char *usage);

/**
 * Registers a duration flag in Go syntax, stored in milliseconds (fractions
 * of a millisecond are truncated). See _string.
 */
REDISCONN_EXPORT int redisconn_flags_duration(redisconn_flagset *fs, const char *name,
                                              int64_t *target, int64_t def_ms, const char *usage);

/**
 * Parses `argv[1..argc-1]` (argv[0] is the program name). Values are stored
 * in the targets as they are parsed. Returns:
 *  - REDISCONN_OK; the positional arguments are then available through
 *    redisconn_flags_nargs() / redisconn_flags_arg() (pointers into `argv`,
 *    which must stay valid while you use them);
 *  - REDISCONN_FLAGS_HELP when -help or -h was given (and is not a
 *    registered flag): the usage was printed; exit with status 0;
 *  - REDISCONN_ERR_INVALID for an unknown flag, a missing value or a value
 *    that does not parse: one line naming the flag, then the usage, were
 *    printed; exit with status 2;
 *  - REDISCONN_ERR_NOMEM.
 * May be called again (getopt is reset) to parse another argv.
 */
REDISCONN_EXPORT int redisconn_flags_parse(redisconn_flagset *fs, int argc, char **argv);

/**
 * Sets flag `name` from its text form, as if "-name=value" had been parsed.
 * Returns REDISCONN_OK, or REDISCONN_ERR_INVALID (no such flag, bad value;
 * nothing printed) or REDISCONN_ERR_NOMEM.
 */
REDISCONN_EXPORT int redisconn_flags_set(redisconn_flagset *fs, const char *name,
                                         const char *value);

/** 1 if flag `name` was set by the last parse or by redisconn_flags_set(). */
REDISCONN_EXPORT int redisconn_flags_is_set(const redisconn_flagset *fs, const char *name);

/** Number of positional arguments left by the last successful parse. */
REDISCONN_EXPORT int redisconn_flags_nargs(const redisconn_flagset *fs);

/** Positional argument `i` (0-based) of the last parse, or NULL. Points into that argv. */
REDISCONN_EXPORT const char *redisconn_flags_arg(const redisconn_flagset *fs, int i);

/**
 * Prints the usage to `out` (NULL: the set's output): every registered flag,
 * sorted by name, with its type, usage text and default, in Go's layout.
 */
REDISCONN_EXPORT void redisconn_flags_usage(const redisconn_flagset *fs, FILE *out);

/**
 * Parses a Go duration ("1h2m3.5s", "-250ms", "0") into milliseconds.
 * Returns REDISCONN_OK or REDISCONN_ERR_INVALID (syntax, unknown unit,
 * overflow). Fractions of a millisecond are truncated toward zero.
 */
REDISCONN_EXPORT int redisconn_parse_duration(const char *text, int64_t *out_ms);

/**
 * Formats `ms` as Go does ("1h0m0s", "1m30s", "1.5s", "100ms", "0s") into
 * `buf` (at least 32 bytes is always enough). Returns `buf`.
 */
REDISCONN_EXPORT char *redisconn_format_duration(int64_t ms, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_FLAGS_H */
