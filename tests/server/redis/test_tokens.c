/* SPDX-License-Identifier: BSD-3-Clause */
/* test_tokens.c — the admin token file parser and the token lookup
 * (lib/server/redis/tokens.h): the line format, what is refused and how it is
 * reported (file and line, never a token), and lookups that match exact
 * tokens only. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/redis/tokens.h"
#include "support/server_support.h"

static char path[512];
static char err[512];
static redisconn__tokens *t;

/* Frees the table; keeps the file (a test may load twice). */
static void forget(void)
{
    redisconn__tokens_free(t);
    t = NULL;
}

static void teardown(void)
{
    forget();
}

TestSuite(tokens, .fini = teardown, .timeout = 10);

/* Loads `text` from a fresh file of `mode` (removed afterwards); returns
 * the status. */
static int load_mode(const char *text, mode_t mode)
{
    int rc;
    err[0] = '\0';
    rt_write_temp_file(path, sizeof(path), text, mode);
    rc = redisconn__tokens_load(path, &t, err, sizeof(err));
    unlink(path);
    return rc;
}

/* Loads `text` from a private file. */
static int load(const char *text)
{
    return load_mode(text, 0600);
}

/* The identity of `token`, or NULL. */
static const redisconn__identity *find(const char *token)
{
    return redisconn__tokens_lookup(t, token, strlen(token));
}

Test(tokens, exact_token_finds_its_identity_and_groups)
{
    const redisconn__identity *id;
    cr_assert_eq(load("tok-a root administrators,ops\ntok-b alice ops\n"), REDISCONN_OK, "%s", err);
    cr_assert_eq(redisconn__tokens_count(t), 2);
    id = find("tok-a");
    cr_assert_not_null(id);
    cr_assert_str_eq(id->name, "root");
    cr_assert_eq(id->ngroups, 2);
    cr_assert(redisconn__identity_in_group(id, "administrators"));
    cr_assert(redisconn__identity_in_group(id, "ops"));
    cr_assert_str_eq(find("tok-b")->name, "alice");
    cr_assert_not(redisconn__identity_in_group(find("tok-b"), "administrators"));
}

Test(tokens, prefixes_and_extensions_of_a_token_match_nothing)
{
    cr_assert_eq(load("secret-token root administrators\n"), REDISCONN_OK);
    cr_assert_null(find("secret-toke"));
    cr_assert_null(find("secret-token2"));
    cr_assert_null(find("Secret-token"));
    cr_assert_null(redisconn__tokens_lookup(t, "secret-token\0", 13), "a trailing NUL differs");
}

Test(tokens, empty_overlong_and_null_tokens_match_nothing)
{
    char longest[REDISCONN__TOKEN_MAX + 2];
    cr_assert_eq(load("t root administrators\n"), REDISCONN_OK);
    memset(longest, 't', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    cr_assert_null(redisconn__tokens_lookup(t, "", 0));
    cr_assert_null(redisconn__tokens_lookup(t, NULL, 0));
    cr_assert_null(find(longest));
    cr_assert_null(redisconn__tokens_lookup(NULL, "t", 1), "no file: nobody");
}

Test(tokens, token_of_the_maximum_length_is_accepted)
{
    char text[REDISCONN__TOKEN_MAX + 32];
    memset(text, 'x', REDISCONN__TOKEN_MAX);
    strcpy(text + REDISCONN__TOKEN_MAX, " root administrators\n");
    cr_assert_eq(load(text), REDISCONN_OK, "%s", err);
    text[REDISCONN__TOKEN_MAX] = '\0';
    cr_assert_not_null(find(text));
}

Test(tokens, comments_blank_lines_tabs_and_crlf_are_accepted)
{
    cr_assert_eq(load("# header\n\n  \t\n  # indented\ntok\troot\tadministrators\r\n"),
                 REDISCONN_OK, "%s", err);
    cr_assert_eq(redisconn__tokens_count(t), 1);
    cr_assert_str_eq(find("tok")->groups[0], "administrators");
}

Test(tokens, empty_file_has_no_identities)
{
    cr_assert_eq(load(""), REDISCONN_OK);
    cr_assert_eq(redisconn__tokens_count(t), 0);
    cr_assert_null(find("anything"));
}

/* Loading `text` fails with a message containing `want`. */
static void expect_refused(const char *text, const char *want)
{
    cr_assert_eq(load(text), REDISCONN_ERR_INVALID);
    cr_assert_null(t);
    cr_assert(strstr(err, want) != NULL, "%s", err);
    cr_assert(strstr(err, path) != NULL, "the message names the file: %s", err);
}

Test(tokens, wrong_number_of_fields_is_refused_with_its_line)
{
    expect_refused("a root administrators\nb alice\n", ", line 2: want");
    forget();
    expect_refused("a root administrators extra\n", ", line 1: want");
}

Test(tokens, empty_group_names_are_refused)
{
    expect_refused("a root administrators,\n", "line 1: empty group name");
    forget();
    expect_refused("a root ,ops\n", "line 1: empty group name");
    forget();
    expect_refused("a root ops,,x\n", "line 1: empty group name");
}

Test(tokens, non_printable_bytes_are_refused)
{
    expect_refused("a r\x01oot administrators\n", "line 1: only printable ASCII");
    forget();
    expect_refused("a r\xc3\xa9 administrators\n", "line 1: only printable ASCII");
}

Test(tokens, overlong_token_is_refused)
{
    char text[REDISCONN__TOKEN_MAX + 32];
    memset(text, 'x', REDISCONN__TOKEN_MAX + 1);
    strcpy(text + REDISCONN__TOKEN_MAX + 1, " root administrators\n");
    expect_refused(text, "line 1: token longer than 256 bytes");
}

Test(tokens, refusals_never_quote_the_line)
{
    cr_assert_eq(load("top-secret-value root\n"), REDISCONN_ERR_INVALID);
    cr_assert_null(strstr(err, "top-secret-value"), "%s", err);
}

/* Loading a valid file of `mode` is refused for its permissions. */
static void expect_mode_refused(mode_t mode)
{
    cr_assert_eq(load_mode("a root administrators\n", mode), REDISCONN_ERR_INVALID);
    cr_assert(strstr(err, "is accessible by group or others") != NULL, "%s", err);
}

Test(tokens, world_readable_file_is_refused)
{
    expect_mode_refused(0604);
}

Test(tokens, group_readable_file_is_refused)
{
    expect_mode_refused(0640);
}

Test(tokens, group_writable_file_is_refused)
{
    expect_mode_refused(0620);
}

Test(tokens, owner_only_read_file_is_accepted)
{
    cr_assert_eq(load_mode("a root administrators\n", 0400), REDISCONN_OK, "%s", err);
}

Test(tokens, directory_is_refused)
{
    rt_temp_path(path, sizeof(path), ".d");
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_assert_eq(redisconn__tokens_load(path, &t, err, sizeof(err)), REDISCONN_ERR_INVALID);
    rmdir(path);
    cr_assert(strstr(err, "is not a regular file") != NULL, "%s", err);
}
