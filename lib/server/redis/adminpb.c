/* SPDX-License-Identifier: BSD-3-Clause */
/* adminpb.c: decoding FlushAllRequest from binary protobuf, JSON and text
 * format (see adminpb.h). */
#include "server/redis/adminpb.h"
#include "server/redis/prpc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A byte cursor over the body. */
typedef struct cursor {
    const unsigned char *p, *end;
    const char *err; /* set on the first error */
} cursor;

/* Records why decoding failed; returns -1. */
static int fail(cursor *c, const char *why)
{
    c->err = why;
    return -1;
}

/* --- binary ------------------------------------------------------------- */

/* A base-128 varint: at most 10 bytes, the 10th at most 1 (protowire). */
static int read_varint(cursor *c, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 10; i++) {
        if (c->p == c->end) break;
        uint64_t b = *c->p++;
        if (i == 9 && b > 1) break;
        *v |= (b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) return 0;
    }
    c->err = "invalid varint";
    return -1;
}

/* Skips `n` bytes. */
static int skip(cursor *c, uint64_t n)
{
    if (n > (uint64_t)(c->end - c->p)) {
        c->err = "unexpected end of message";
        return -1;
    }
    c->p += n;
    return 0;
}

static int skip_field(cursor *c, uint32_t wire, uint64_t field, int depth);

/* Skips a group's fields up to its end-group tag (same field number). */
static int skip_group(cursor *c, uint64_t field, int depth)
{
    uint64_t key;
    if (depth > 100) {
        c->err = "groups nested too deeply";
        return -1;
    }
    while (read_varint(c, &key) == 0) {
        if ((key & 7) == 4) {
            if ((key >> 3) == field) return 0;
            break;
        }
        if ((key >> 3) == 0 || skip_field(c, (uint32_t)(key & 7), key >> 3, depth + 1) != 0) break;
    }
    if (c->err == NULL) c->err = "mismatched end group";
    return -1;
}

/* Skips the value of a field of wire type `wire`. */
static int skip_field(cursor *c, uint32_t wire, uint64_t field, int depth)
{
    uint64_t v;
    switch (wire) {
    case 0:
        return read_varint(c, &v);
    case 1:
        return skip(c, 8);
    case 2:
        return read_varint(c, &v) == 0 ? skip(c, v) : -1;
    case 3:
        return skip_group(c, field, depth);
    case 5:
        return skip(c, 4);
    default:
        c->err = wire == 4 ? "unexpected end group" : "invalid wire type";
        return -1;
    }
}

/* The binary encoding: field 1 varint is `async`. */
static int decode_binary(cursor *c, int *async)
{
    uint64_t key, v;
    while (c->p < c->end) {
        if (read_varint(c, &key) != 0) return -1;
        if ((key >> 3) == 0 || (key >> 3) > 536870911) {
            c->err = "invalid field number";
            return -1;
        }
        if (key == ((1u << 3) | 0u)) {
            if (read_varint(c, &v) != 0) return -1;
            *async = v != 0;
        } else if (skip_field(c, (uint32_t)(key & 7), key >> 3, 0) != 0) {
            return -1;
        }
    }
    return 0;
}

/* --- JSON and text ------------------------------------------------------ */

/* Skips JSON blanks, or text-format blanks and '#' comments. */
static void skip_blanks(cursor *c, int comments)
{
    while (c->p < c->end) {
        if (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')
            c->p++;
        else if (comments && *c->p == '#')
            while (c->p < c->end && *c->p != '\n')
                c->p++;
        else
            break;
    }
}

/* Consumes the literal `word` if it is next (and not followed by a letter
 * or digit). */
static int take_word(cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return 0;
    if ((size_t)(c->end - c->p) > n) {
        unsigned char next = c->p[n];
        if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
            (next >= '0' && next <= '9') || next == '_')
            return 0;
    }
    c->p += n;
    return 1;
}

/* The value of hex digit `ch`, or -1. */
static int hex_digit(unsigned ch)
{
    if (ch >= '0' && ch <= '9') return (int)(ch - '0');
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? (int)(ch - 'a' + 10) : -1;
}

/* A JSON string into `out` (ASCII only; anything else makes it "\x01", a
 * name no field has). Handles the escapes, \uXXXX included. */
static int json_string(cursor *c, char *out, size_t len)
{
    size_t k = 0;
    int odd = 0;
    if (c->p == c->end || *c->p++ != '"') return -1;
    while (c->p < c->end && *c->p != '"') {
        unsigned ch = *c->p++;
        if (ch < 0x20) return -1;
        if (ch == '\\') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *e;
            if (c->p == c->end) return -1;
            ch = *c->p++;
            if (ch == 'u') {
                unsigned v = 0;
                if (c->end - c->p < 4) return -1;
                for (int i = 0; i < 4; i++) {
                    int d = hex_digit(c->p[i]);
                    if (d < 0) return -1;
                    v = v * 16 + (unsigned)d;
                }
                c->p += 4;
                ch = v;
            } else if (ch != 0 && (e = strchr(from, (int)ch)) != NULL) {
                ch = (unsigned char)to[e - from];
            } else {
                return -1;
            }
        }
        if (ch >= 0x80 || ch == 0) odd = 1;
        if (k + 1 < len) out[k++] = (char)ch;
    }
    if (c->p == c->end) return -1;
    c->p++;
    out[k] = '\0';
    if (odd || k + 1 >= len) snprintf(out, len, "\x01");
    return 0;
}

/* The JSON encoding: {} or {"async": true|false|null}. */
static int decode_json(cursor *c, int *async)
{
    char name[64];
    int seen = 0;
    skip_blanks(c, 0);
    if (c->p == c->end || *c->p++ != '{') return fail(c, "want a JSON object");
    skip_blanks(c, 0);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
    } else {
        for (;;) {
            if (json_string(c, name, sizeof(name)) != 0) return fail(c, "bad JSON object key");
            if (strcmp(name, "async") != 0) return fail(c, "unknown field in FlushAllRequest");
            if (seen++) return fail(c, "duplicate field \"async\"");
            skip_blanks(c, 0);
            if (c->p == c->end || *c->p++ != ':') return fail(c, "want ':'");
            skip_blanks(c, 0);
            if (take_word(c, "true"))
                *async = 1;
            else if (take_word(c, "false") || take_word(c, "null"))
                *async = 0;
            else
                return fail(c, "\"async\" must be true, false or null");
            skip_blanks(c, 0);
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                skip_blanks(c, 0);
                continue;
            }
            if (c->p < c->end && *c->p == '}') {
                c->p++;
                break;
            }
            return fail(c, "want ',' or '}'");
        }
    }
    skip_blanks(c, 0);
    if (c->p != c->end) return fail(c, "unexpected data after the JSON object");
    return 0;
}

/* The text format: nothing, or "async: <bool>" (separators , ; allowed). */
static int decode_text(cursor *c, int *async)
{
    static const char *const yes[] = {"true", "True", "t", "1"};
    static const char *const no[] = {"false", "False", "f", "0"};
    int seen = 0;
    for (skip_blanks(c, 1); c->p < c->end; skip_blanks(c, 1)) {
        int found = 0;
        if (!take_word(c, "async")) return fail(c, "unknown field in FlushAllRequest");
        if (seen++) return fail(c, "non-repeated field \"async\" is repeated");
        skip_blanks(c, 1);
        if (c->p == c->end || *c->p++ != ':') return fail(c, "want ':' after \"async\"");
        skip_blanks(c, 1);
        for (size_t i = 0; i < 4 && !found; i++) {
            if (take_word(c, yes[i])) {
                found = 1;
                *async = 1;
            } else if (take_word(c, no[i])) {
                found = 1;
                *async = 0;
            }
        }
        if (!found) return fail(c, "invalid value for bool field \"async\"");
        skip_blanks(c, 1);
        if (c->p < c->end && (*c->p == ',' || *c->p == ';')) c->p++;
    }
    return 0;
}

int redisconn__adminpb_decode_flush_all(int fmt, const void *body, size_t len, int *async,
                                        char *err, size_t errlen)
{
    cursor c = {body, (const unsigned char *)body + len, NULL};
    int rc;
    *async = 0;
    if (fmt == REDISCONN__PRPC_JSON && len == 0)
        rc = fail(&c, "unexpected EOF");
    else if (fmt == REDISCONN__PRPC_JSON)
        rc = decode_json(&c, async);
    else if (fmt == REDISCONN__PRPC_TEXT)
        rc = decode_text(&c, async);
    else
        rc = decode_binary(&c, async);
    if (rc != 0) snprintf(err, errlen, "could not decode body: %s", c.err ? c.err : "invalid");
    return rc;
}
