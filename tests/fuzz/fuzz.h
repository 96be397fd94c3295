/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz.h — what every fuzz target shares: the harness entry points, a check
 * that aborts (so libFuzzer saves the input), and small helpers to turn fuzz
 * bytes into strings and argument vectors.
 *
 * Each target file defines `int rf_run_<name>(const uint8_t *, size_t)` and
 * ends with RF_ENTRY(rf_run_<name>), which defines LLVMFuzzerTestOneInput for
 * the libFuzzer build. The replay suite (test_fuzz_replay.c) compiles the same
 * files with RF_NO_ENTRY and calls the rf_run_* functions on the checked-in
 * corpus and regression inputs, with any compiler and no fuzzer runtime.
 *
 * OWNERSHIP. Everything returned by the rf_ helpers is malloc'd and owned by
 * the caller; they abort when memory is short (a fuzz harness has no other
 * useful answer).
 */
#ifndef REDISCONN_FUZZ_H
#define REDISCONN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "redisconn/common.h"

/* The harnesses, one per target. Each returns 0 (libFuzzer's convention). */
int rf_run_addr(const uint8_t *data, size_t size);
int rf_run_pool_new(const uint8_t *data, size_t size);
int rf_run_flags(const uint8_t *data, size_t size);
int rf_run_duration(const uint8_t *data, size_t size);
int rf_run_tokens(const uint8_t *data, size_t size);
int rf_run_classify(const uint8_t *data, size_t size);
int rf_run_reply(const uint8_t *data, size_t size);
int rf_run_password_file(const uint8_t *data, size_t size);
int rf_run_adminpb(const uint8_t *data, size_t size);
int rf_run_prpc(const uint8_t *data, size_t size);
int rf_run_resp(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef RF_NO_ENTRY
#define RF_ENTRY(fn)
#else
#define RF_ENTRY(fn)                                                                               \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                   \
    {                                                                                              \
        return fn(data, size);                                                                     \
    }
#endif

/* Prints "fuzz: <target>: <message>" to stderr and aborts: a violated
 * property, reported by libFuzzer as a crash with the input saved. */
_Noreturn void rf_fail(const char *target, const char *fmt, ...) REDISCONN_PRINTF(2, 3);

/* Fails the current target (RF_TARGET, a string each file defines) with the
 * condition's text unless it holds. */
#define RF_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) rf_fail(RF_TARGET, "%s:%d: check failed: %s", __FILE__, __LINE__, #cond);     \
    } while (0)

/* malloc that aborts instead of returning NULL. */
void *rf_xmalloc(size_t n);

/* A NUL-terminated copy of `size` bytes (an embedded NUL ends the string
 * early, as it would for any C caller). */
char *rf_cstr(const uint8_t *data, size_t size);

/* An argument vector: `data` split on NUL bytes into at most `max` pieces
 * (the last piece takes the rest), each in its own exact-size allocation so
 * that AddressSanitizer sees any read past a piece. */
typedef struct rf_argv {
    int argc;
    char **argv;     /* argc + 1 entries, argv[argc] NULL */
    size_t *argvlen; /* argc entries */
} rf_argv;

/* Splits `data` as described above, after `prefix` (may be NULL) as argv[0].
 * Free with rf_argv_free(). */
void rf_argv_split(rf_argv *a, const char *prefix, const uint8_t *data, size_t size, int max);

/* Frees what rf_argv_split() allocated. */
void rf_argv_free(rf_argv *a);

/*
 * The password of a "redis://", "rediss://" or "unix://" URL
 * ("scheme://[user]:password@rest", the user info ending at the last '@'
 * before the first '/' or '?', as the address parser reads it), copied into
 * `buf`, if it is at least 6 bytes long and occurs nowhere else in `text` —
 * so that any output holding it can only have copied it from the user info.
 * NULL otherwise.
 */
const char *rf_url_password(const char *text, char *buf, size_t len);

/* A private directory for the process (mkdtemp under $TMPDIR, else /dev/shm
 * when writable — the token target writes a file per input, 20x faster there
 * than on disk — else /tmp), made on first use and removed with everything in
 * it at exit. */
const char *rf_tempdir(void);

/* Writes `n` bytes to the file `name` in rf_tempdir() (mode 0600, replacing
 * it), whose path goes into `path` on first use (path[0] == '\0'); a
 * failure fails `target`. For targets whose parser reads a file. */
void rf_write_file(const char *target, char *path, size_t pathlen, const char *name,
                   const uint8_t *data, size_t n);

/* Removes that directory now, for runners that leave without running exit
 * handlers (Criterion's workers): call it when the process is done with the
 * targets (the tokens file and the peer's socket live there). Idempotent. */
void rf_tempdir_remove(void);

#endif
