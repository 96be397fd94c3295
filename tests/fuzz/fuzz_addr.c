/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_addr.c — redisconn__addr_parse() (lib/pool/addr.h) on arbitrary text.
 *
 * Properties: a parse either succeeds with a consistent address (TCP: a host
 * without brackets, port 1..65535, numeric hosts that inet_pton accepts;
 * unix: a path that fits sockaddr_un; a URL's password non-empty, a user
 * only with one, db -1 or more) or fails with INVALID and a reason, or NOMEM,
 * leaving nothing to free; neither the text kept for logs nor the reason
 * holds a URL's password (rf_url_password); parsing is deterministic, and
 * redisconn__addr_copy() makes an equal copy; freeing twice is harmless.
 */
#include "fuzz.h"
#include "pool/addr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define RF_TARGET "addr"

/* Equal strings, NULL equal only to NULL. */
static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int same_addr(const redisconn__addr *a, const redisconn__addr *b)
{
    return a->kind == b->kind && a->port == b->port && a->numeric == b->numeric &&
           a->family == b->family && a->db == b->db && same_str(a->host, b->host) &&
           same_str(a->path, b->path) && same_str(a->text, b->text) &&
           same_str(a->username, b->username) && same_str(a->password, b->password);
}

/* What a successful parse must hold, by kind. Kinds this file does not know
 * (URL forms to come) are only required to carry their text. */
static void check_parsed(const redisconn__addr *a)
{
    unsigned char buf[sizeof(struct in6_addr)];
    RF_CHECK(a->kind != REDISCONN_ADDR_NONE);
    RF_CHECK(a->text != NULL);
    RF_CHECK(a->db >= -1);
    RF_CHECK(a->password == NULL || a->password[0] != '\0');
    RF_CHECK(a->username == NULL || a->password != NULL); /* no user without a password */
    switch (a->kind) {
    case REDISCONN_ADDR_TCP:
        RF_CHECK(a->host != NULL && a->host[0] != '\0');
        RF_CHECK(strchr(a->host, '[') == NULL && strchr(a->host, ']') == NULL);
        RF_CHECK(a->port >= 1 && a->port <= 65535);
        if (a->numeric) {
            RF_CHECK(a->family == AF_INET || a->family == AF_INET6);
            RF_CHECK(inet_pton(a->family, a->host, buf) == 1);
        }
        break;
    case REDISCONN_ADDR_UNIX:
        RF_CHECK(a->path != NULL && a->path[0] != '\0');
        RF_CHECK(strlen(a->path) < sizeof(((struct sockaddr_un *)0)->sun_path));
        break;
    default:
        break;
    }
}

/* After a failure: nothing to free. */
static void check_empty(const redisconn__addr *a)
{
    RF_CHECK(a->kind == REDISCONN_ADDR_NONE);
    RF_CHECK(a->host == NULL && a->path == NULL && a->text == NULL);
    RF_CHECK(a->username == NULL && a->password == NULL);
}

int rf_run_addr(const uint8_t *data, size_t size)
{
    char *text = rf_cstr(data, size), buf[256];
    const char *secret = rf_url_password(text, buf, sizeof(buf));
    redisconn__addr a, again, copy;
    const char *why = NULL, *why2 = NULL;
    int rc = redisconn__addr_parse(text, &a, &why);
    int rc2 = redisconn__addr_parse(text, &again, &why2);

    RF_CHECK(rc == rc2);
    if (rc == REDISCONN_OK) {
        check_parsed(&a);
        if (secret != NULL && strstr(a.text, secret) != NULL)
            rf_fail(RF_TARGET, "the text kept for logs holds the password: \"%s\"", a.text);
        RF_CHECK(same_addr(&a, &again));
        if (redisconn__addr_copy(&copy, &a) == REDISCONN_OK) {
            RF_CHECK(same_addr(&a, &copy));
            redisconn__addr_free(&copy);
        }
    } else {
        RF_CHECK(rc == REDISCONN_ERR_INVALID || rc == REDISCONN_ERR_NOMEM);
        if (rc == REDISCONN_ERR_INVALID)
            RF_CHECK(why != NULL && why[0] != '\0' && same_str(why, why2));
        check_empty(&a);
        check_empty(&again);
    }
    redisconn__addr_free(&a);
    redisconn__addr_free(&a); /* idempotent */
    check_empty(&a);
    redisconn__addr_free(&again);
    RF_CHECK(redisconn__addr_parse(NULL, &a, NULL) == REDISCONN_ERR_INVALID);
    free(text);
    return 0;
}

RF_ENTRY(rf_run_addr)
