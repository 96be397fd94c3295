/* SPDX-License-Identifier: BSD-3-Clause */
/* addr.c: parsing of "host:port", "[v6]:port" and "unix:/path" addresses. */
#include "pool/addr.h"
#include "redisconn/common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p == NULL) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Port: decimal digits only, 1..65535. Returns -1 when malformed. */
static int parse_port(const char *s)
{
    long v = 0;
    if (*s == '\0') return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) return -1;
        v = v * 10 + (*s - '0');
        if (v > 65535) return -1;
    }
    return v >= 1 ? (int)v : -1;
}

/* A DNS name: letters, digits, '-', '_' and '.', at most 253 bytes. */
static int valid_hostname(const char *h, size_t n)
{
    if (n == 0 || n > 253) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != '_') return 0;
    }
    return 1;
}

static int parse_unix(const char *text, redisconn__addr *out, const char **why)
{
    const char *path = text + 5;
    size_t n = strlen(path);
    if (n == 0) {
        *why = "empty unix socket path";
        return REDISCONN_ERR_INVALID;
    }
    if (n >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        *why = "unix socket path too long";
        return REDISCONN_ERR_INVALID;
    }
    out->kind = REDISCONN_ADDR_UNIX;
    out->path = dup_n(path, n);
    return out->path ? REDISCONN_OK : REDISCONN_ERR_NOMEM;
}

/* Splits TCP text into host (bracket-free) and port string. */
static int split_tcp(const char *text, const char **host, size_t *hlen, const char **port,
                     int *bracketed, const char **why)
{
    const char *colon;
    *bracketed = 0;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':') {
            *why = "expected \"[ipv6]:port\"";
            return REDISCONN_ERR_INVALID;
        }
        *host = text + 1;
        *hlen = (size_t)(close - text - 1);
        *port = close + 2;
        *bracketed = 1;
        return REDISCONN_OK;
    }
    colon = strrchr(text, ':');
    if (colon == NULL) {
        *why = "missing port, expected \"host:port\"";
        return REDISCONN_ERR_INVALID;
    }
    if (memchr(text, ':', (size_t)(colon - text)) != NULL) {
        *why = "IPv6 addresses need brackets: \"[addr]:port\"";
        return REDISCONN_ERR_INVALID;
    }
    *host = text;
    *hlen = (size_t)(colon - text);
    *port = colon + 1;
    return REDISCONN_OK;
}

static int parse_tcp(const char *text, redisconn__addr *out, const char **why)
{
    const char *host, *port;
    size_t hlen;
    int bracketed, rc;
    unsigned char buf[sizeof(struct in6_addr)];

    rc = split_tcp(text, &host, &hlen, &port, &bracketed, why);
    if (rc != REDISCONN_OK) return rc;
    out->port = parse_port(port);
    if (out->port < 0) {
        *why = "port must be a number from 1 to 65535";
        return REDISCONN_ERR_INVALID;
    }
    if (hlen == 0) {
        *why = "empty host";
        return REDISCONN_ERR_INVALID;
    }
    out->host = dup_n(host, hlen);
    if (out->host == NULL) return REDISCONN_ERR_NOMEM;
    out->kind = REDISCONN_ADDR_TCP;
    if (bracketed) {
        if (inet_pton(AF_INET6, out->host, buf) != 1) {
            *why = "not an IPv6 address inside brackets";
            free(out->host);
            out->host = NULL;
            return REDISCONN_ERR_INVALID;
        }
        out->numeric = 1;
        out->family = AF_INET6;
    } else if (inet_pton(AF_INET, out->host, buf) == 1) {
        out->numeric = 1;
        out->family = AF_INET;
    } else if (!valid_hostname(host, hlen)) {
        *why = "host is neither an IP address nor a valid host name";
        free(out->host);
        out->host = NULL;
        return REDISCONN_ERR_INVALID;
    }
    return REDISCONN_OK;
}

int redisconn__addr_parse(const char *text, redisconn__addr *out, const char **why)
{
    int rc;
    const char *ignored;
    if (why == NULL) why = &ignored;
    memset(out, 0, sizeof(*out));
    if (text == NULL || text[0] == '\0') {
        *why = "empty address";
        return REDISCONN_ERR_INVALID;
    }
    if (strncmp(text, "unix:", 5) == 0)
        rc = parse_unix(text, out, why);
    else
        rc = parse_tcp(text, out, why);
    if (rc == REDISCONN_OK) {
        out->text = dup_n(text, strlen(text));
        if (out->text == NULL) rc = REDISCONN_ERR_NOMEM;
    }
    if (rc != REDISCONN_OK) redisconn__addr_free(out);
    return rc;
}

/* strdup() that copies NULL as NULL; sets *failed when out of memory. */
static char *dup_or_null(const char *s, int *failed)
{
    char *p;
    if (s == NULL) return NULL;
    p = dup_n(s, strlen(s));
    if (p == NULL) *failed = 1;
    return p;
}

int redisconn__addr_copy(redisconn__addr *dst, const redisconn__addr *src)
{
    int failed = 0;
    *dst = *src;
    dst->host = dup_or_null(src->host, &failed);
    dst->path = dup_or_null(src->path, &failed);
    dst->text = dup_or_null(src->text, &failed);
    if (!failed) return REDISCONN_OK;
    redisconn__addr_free(dst);
    return REDISCONN_ERR_NOMEM;
}

void redisconn__addr_free(redisconn__addr *addr)
{
    free(addr->host);
    free(addr->path);
    free(addr->text);
    memset(addr, 0, sizeof(*addr));
}
