/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fuzz_replay.c — the fuzz harnesses as an ordinary suite, with any
 * compiler and no fuzzer runtime: every checked-in seed (corpus/<target>/)
 * and every regression input (regressions/<target>/) goes through its
 * target's harness, which aborts on a violated property.
 *
 * A regression whose file name starts with "pending-" reproduces a finding
 * that is not fixed yet: those are skipped unless REDISCONN_FUZZ_PENDING=1,
 * and then they fail (that is the reproducer). The fix renames the file
 * without the prefix, which makes it an ordinary regression (README.md).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "pool/classify.h"

typedef int (*run_fn)(const uint8_t *data, size_t size);

enum which { ORDINARY, PENDING };

/* Reads a whole file; NULL when it cannot. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (f == NULL) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Feeds every file of RF_FUZZ_DIR/<sub>/<target>/ (of the `which` kind) to
 * `run`; returns how many. A missing folder holds nothing. */
static int replay(const char *sub, const char *target, run_fn run, enum which which)
{
    char dir[1024], path[1280];
    struct dirent **names;
    int n, fed = 0;
    snprintf(dir, sizeof(dir), "%s/%s/%s", RF_FUZZ_DIR, sub, target);
    n = scandir(dir, &names, NULL, by_name);
    if (n < 0) return 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        int pending = strncmp(name, "pending-", 8) == 0;
        size_t len = 0;
        uint8_t *data;
        if (name[0] == '.' || pending != (which == PENDING)) {
            free(names[i]);
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        data = slurp(path, &len);
        cr_assert_not_null(data, "cannot read %s", path);
        fprintf(stderr, "replay %s\n", path);
        run(data, len);
        fed++;
        free(data);
        free(names[i]);
    }
    free(names);
    return fed;
}

/* The seeds and the fixed regressions of one target. */
static void replay_target(const char *target, run_fn run)
{
    cr_assert_gt(replay("corpus", target, run, ORDINARY), 0, "no seed corpus for %s", target);
    replay("regressions", target, run, ORDINARY);
}

/*
 * classify without AddressSanitizer: the raw-bytes mode (even byte 0) with
 * the payload at the very end of a page that is followed by an inaccessible
 * one, so a read past `len` faults in any build (then the harness itself).
 */
static int classify_at_page_end(const uint8_t *data, size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = size - 1;
    char *map;
    if (size == 0 || (data[0] & 1) != 0 || n > page) return rf_run_classify(data, size);
    map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(map, MAP_FAILED);
    cr_assert_eq(mprotect(map + page, page, PROT_NONE), 0);
    memcpy(map + page - n, data + 1, n);
    redisconn__classify(map + page - n, n);
    munmap(map, 2 * page);
    return rf_run_classify(data, size);
}

TestSuite(fuzz_replay, .fini = rf_tempdir_remove, .timeout = 120);

Test(fuzz_replay, addr)
{
    replay_target("addr", rf_run_addr);
}

Test(fuzz_replay, pool_new)
{
    replay_target("pool_new", rf_run_pool_new);
}

Test(fuzz_replay, flags)
{
    replay_target("flags", rf_run_flags);
}

Test(fuzz_replay, duration)
{
    replay_target("duration", rf_run_duration);
}

Test(fuzz_replay, tokens)
{
    replay_target("tokens", rf_run_tokens);
}

Test(fuzz_replay, classify)
{
    replay_target("classify", classify_at_page_end);
}

Test(fuzz_replay, reply)
{
    replay_target("reply", rf_run_reply);
}

Test(fuzz_replay, password_file)
{
    replay_target("password_file", rf_run_password_file);
}

Test(fuzz_replay, adminpb)
{
    replay_target("adminpb", rf_run_adminpb);
}

Test(fuzz_replay, prpc)
{
    replay_target("prpc", rf_run_prpc);
}

Test(fuzz_replay, resp)
{
    replay_target("resp", rf_run_resp);
}

/* Pending findings run only on request. */
static void require_pending(void)
{
    const char *on = getenv("REDISCONN_FUZZ_PENDING");
    if (on == NULL || strcmp(on, "1") != 0)
        cr_skip_test("pending findings run with REDISCONN_FUZZ_PENDING=1");
}

TestSuite(fuzz_pending, .fini = rf_tempdir_remove, .timeout = 120);

/* Every pending finding of every target: fails while one is not fixed. */
Test(fuzz_pending, findings_not_fixed_yet)
{
    static const struct {
        const char *target;
        run_fn run;
    } targets[] = {{"addr", rf_run_addr},       {"pool_new", rf_run_pool_new},
                   {"flags", rf_run_flags},     {"duration", rf_run_duration},
                   {"tokens", rf_run_tokens},   {"classify", classify_at_page_end},
                   {"reply", rf_run_reply},     {"password_file", rf_run_password_file},
                   {"adminpb", rf_run_adminpb}, {"prpc", rf_run_prpc},
                   {"resp", rf_run_resp}};
    int fed = 0;
    require_pending();
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
        fed += replay("regressions", targets[i].target, targets[i].run, PENDING);
    fprintf(stderr, "%d pending finding(s) replayed\n", fed);
}
