/* SPDX-License-Identifier: BSD-3-Clause */
/* test_adminpb.c — the pRPC pieces of the admin service, unit by unit:
 * decoding FlushAllRequest from the bytes Debian's protoc produced from the
 * Go package's admin.proto (fixtures/, made by fixtures/make-fixtures; the
 * ctest server/redis/admin_fixtures_match_protoc re-encodes them), from
 * JSON and from text format, and pRPC's content negotiation (Content-Type,
 * Accept) and code -> HTTP status mapping. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "server/redis/adminpb.h"
#include "server/redis/prpc.h"

TestSuite(adminpb, .timeout = 10);

static unsigned char fixture[4096];

/* The bytes of fixtures/<name>; returns their count. */
static size_t load(const char *name)
{
    char path[1024];
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "%s/%s", REDISCONN_ADMIN_FIXTURES, name);
    f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    n = fread(fixture, 1, sizeof(fixture), f);
    fclose(f);
    return n;
}

/* Decodes `len` bytes in `fmt`; returns the decoder's result, async in *a. */
static int decode(int fmt, const void *body, size_t len, int *a)
{
    char err[256] = "";
    int rc = redisconn__adminpb_decode_flush_all(fmt, body, len, a, err, sizeof(err));
    if (rc != 0) cr_assert(strncmp(err, "could not decode body: ", 23) == 0, "%s", err);
    return rc;
}

/* Binary fixture `name` decodes, with async == want. */
static void expect_binary(const char *name, int want)
{
    int a = -1;
    size_t n = load(name);
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, fixture, n, &a), 0, "%s", name);
    cr_assert_eq(a, want, "%s", name);
}

Test(adminpb, protoc_async_true_is_field_1_varint_1)
{
    cr_assert_eq(load("async_true.bin"), 2);
    cr_assert_eq(fixture[0], 0x08);
    cr_assert_eq(fixture[1], 0x01);
    expect_binary("async_true.bin", 1);
}

Test(adminpb, protoc_async_false_is_the_empty_message)
{
    cr_assert_eq(load("async_false.bin"), 0);
    expect_binary("async_false.bin", 0);
}

Test(adminpb, unknown_fields_of_every_wire_type_are_skipped)
{
    expect_binary("future_async_true.bin", 1);
    expect_binary("future_async_false.bin", 0);
}

Test(adminpb, the_last_occurrence_wins_and_any_nonzero_varint_is_true)
{
    static const unsigned char twice[] = {0x08, 0x01, 0x08, 0x00};
    static const unsigned char big[] = {0x08, 0x80, 0x01};
    int a;
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, twice, sizeof(twice), &a), 0);
    cr_assert_eq(a, 0);
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, big, sizeof(big), &a), 0);
    cr_assert_eq(a, 1);
}

Test(adminpb, field_1_of_another_wire_type_is_an_unknown_field)
{
    static const unsigned char len_delim[] = {0x0a, 0x01, 0x01};
    int a;
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, len_delim, sizeof(len_delim), &a), 0);
    cr_assert_eq(a, 0);
}

Test(adminpb, malformed_binary_is_refused)
{
    static const unsigned char cut_varint[] = {0x08, 0x80};
    static const unsigned char cut_bytes[] = {0x12, 0x05, 'a'};
    static const unsigned char field_zero[] = {0x00, 0x01};
    static const unsigned char end_group[] = {0x0c};
    static const unsigned char wire_7[] = {0x0f};
    static const unsigned char long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                0xff, 0xff, 0xff, 0xff, 0x7f};
    int a;
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, cut_varint, sizeof(cut_varint), &a), -1);
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, cut_bytes, sizeof(cut_bytes), &a), -1);
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, field_zero, sizeof(field_zero), &a), -1);
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, end_group, sizeof(end_group), &a), -1);
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, wire_7, sizeof(wire_7), &a), -1);
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, long_varint, sizeof(long_varint), &a), -1);
}

Test(adminpb, a_group_is_skipped_up_to_its_end)
{
    static const unsigned char group[] = {0x13, 0x08, 0x05, 0x14, 0x08, 0x01}; /* 2 { 1: 5 } 1: 1 */
    int a;
    cr_assert_eq(decode(REDISCONN__PRPC_BINARY, group, sizeof(group), &a), 0);
    cr_assert_eq(a, 1);
}

/* `text` in `fmt` decodes to `want` (-1: is refused). */
static void expect_decoded(int fmt, const char *text, int want)
{
    int a = -1;
    int rc = decode(fmt, text, strlen(text), &a);
    if (want < 0) {
        cr_assert_eq(rc, -1, "accepted %s", text);
        return;
    }
    cr_assert_eq(rc, 0, "refused %s", text);
    cr_assert_eq(a, want, "%s", text);
}
#define expect_json(text, want) expect_decoded(REDISCONN__PRPC_JSON, text, want)
#define expect_text(text, want) expect_decoded(REDISCONN__PRPC_TEXT, text, want)

Test(adminpb, json_takes_async_true_false_or_null)
{
    expect_json("{\"async\": true}", 1);
    expect_json(" { \"async\" : false } ", 0);
    expect_json("{\"async\":null}", 0);
    expect_json("{}", 0);
    expect_json("{\"\\u0061sync\": true}", 1);
}

Test(adminpb, json_refuses_what_protojson_refuses)
{
    expect_json("", -1);
    expect_json("{\"async\": 1}", -1);
    expect_json("{\"async\": \"true\"}", -1);
    expect_json("{\"unknown\": true}", -1);
    expect_json("{\"async\": true, \"async\": false}", -1);
    expect_json("{\"async\": true,}", -1);
    expect_json("{\"async\": true} x", -1);
    expect_json("[]", -1);
    expect_json("{\"async\": truex}", -1);
}

Test(adminpb, text_format_takes_go_bool_spellings_and_comments)
{
    expect_text("", 0);
    expect_text("async: true", 1);
    expect_text("# a comment\nasync:t\n", 1);
    expect_text("async: 1;", 1);
    expect_text("async: False", 0);
    expect_text("async: maybe", -1);
    expect_text("async true", -1);
    expect_text("other: 1", -1);
    expect_text("async: true async: false", -1);
}

/* The format of Content-Type `ct` (-1: refused with 415). */
static int request_format(const char *ct)
{
    redisconn__prpc_error e;
    int fmt = -1;
    if (redisconn__prpc_request_format(ct, &fmt, &e) != 0) {
        cr_assert_eq(e.http, 415, "%s", ct);
        return -1;
    }
    return fmt;
}

Test(adminpb, content_type_picks_the_request_encoding)
{
    cr_assert_eq(request_format(NULL), REDISCONN__PRPC_BINARY);
    cr_assert_eq(request_format("application/prpc; encoding=binary"), REDISCONN__PRPC_BINARY);
    cr_assert_eq(request_format("application/prpc"), REDISCONN__PRPC_BINARY);
    cr_assert_eq(request_format("application/json"), REDISCONN__PRPC_JSON);
    cr_assert_eq(request_format("Application/JSON; charset=utf-8"), REDISCONN__PRPC_JSON);
    cr_assert_eq(request_format("application/prpc; encoding=json"), REDISCONN__PRPC_JSON);
    cr_assert_eq(request_format("application/prpc; encoding=\"text\""), REDISCONN__PRPC_TEXT);
    cr_assert_eq(request_format("application/grpc"), REDISCONN__PRPC_BINARY);
    cr_assert_eq(request_format("text/plain"), -1);
    cr_assert_eq(request_format("application/prpc; encoding=xml"), -1);
    cr_assert_eq(request_format("application/prpc; foo=bar"), -1);
}

/* The response format for Accept `accept` (-1 / -2: refused with 406 / 400). */
static int response_format(const char *accept)
{
    redisconn__prpc_error e;
    int fmt = -1;
    if (redisconn__prpc_response_format(accept, &fmt, &e) != 0) return e.http == 406 ? -1 : -2;
    return fmt;
}

Test(adminpb, accept_picks_the_response_encoding_by_quality_then_preference)
{
    cr_assert_eq(response_format(NULL), REDISCONN__PRPC_BINARY);
    cr_assert_eq(response_format("application/json"), REDISCONN__PRPC_JSON);
    cr_assert_eq(response_format("*/*"), REDISCONN__PRPC_BINARY);
    cr_assert_eq(response_format("application/json, application/prpc; encoding=binary"),
                 REDISCONN__PRPC_BINARY);
    cr_assert_eq(response_format("application/prpc; encoding=binary; q=0.5, application/json"),
                 REDISCONN__PRPC_JSON);
    cr_assert_eq(response_format("text/html, application/prpc; encoding=text"),
                 REDISCONN__PRPC_TEXT);
    cr_assert_eq(response_format("text/html"), -1);
    cr_assert_eq(response_format("application/json; q=x"), -2);
    cr_assert_eq(response_format("application/json,,"), -2);
}

Test(adminpb, grpc_codes_map_to_prpc_http_statuses)
{
    cr_assert_eq(redisconn__grpc_http_status(REDISCONN__GRPC_OK), 200);
    cr_assert_eq(redisconn__grpc_http_status(REDISCONN__GRPC_INVALID_ARGUMENT), 400);
    cr_assert_eq(redisconn__grpc_http_status(REDISCONN__GRPC_PERMISSION_DENIED), 403);
    cr_assert_eq(redisconn__grpc_http_status(REDISCONN__GRPC_DEADLINE_EXCEEDED), 504);
    cr_assert_eq(redisconn__grpc_http_status(REDISCONN__GRPC_UNIMPLEMENTED), 501);
    cr_assert_eq(redisconn__grpc_http_status(REDISCONN__GRPC_INTERNAL), 500);
    cr_assert_eq(redisconn__grpc_http_status(16), 401);
    cr_assert_str_eq(redisconn__grpc_code_name(7), "PermissionDenied");
}
