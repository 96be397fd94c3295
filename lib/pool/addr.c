/* SPDX-License-Identifier: BSD-3-Clause */
/* addr.c: parsing of the address forms listed in addr.h. */
#include "pool/addr.h"
#include "redisconn/common.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define DEFAULT_PORT 6379

/* Decimal digits only, 1..max (0 allowed when `zero_ok`), at most 9 digits.
 * Returns -1 when malformed. */
static long parse_number(const char *s, size_t n, long max, int zero_ok)
{
    long v = 0;
    if (n == 0 || n > 9) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max || (v == 0 && !zero_ok)) return -1;
    return v;
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

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape or an
 * embedded NUL (%00 included), or when out of memory (*nomem set). */
static char *pct_decode(const char *s, size_t n, int *nomem)
{
    char *out = malloc(n + 1), *o = out;
    if (out == NULL) {
        *nomem = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '\0') goto bad;
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        if (n - i < 3) goto bad;
        hi = hexval(s[i + 1]);
        lo = hexval(s[i + 2]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0) goto bad;
        *o++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *o = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

static int parse_unix_path(const char *path, size_t n, redisconn__addr *out, const char **why)
{
    if (n == 0) {
        *why = "empty unix socket path";
        return REDISCONN_ERR_INVALID;
    }
    if (n >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        *why = "unix socket path too long";
        return REDISCONN_ERR_INVALID;
    }
    if (memchr(path, '\0', n) != NULL) {
        *why = "unix socket path contains a NUL byte";
        return REDISCONN_ERR_INVALID;
    }
    out->kind = REDISCONN_ADDR_UNIX;
    out->path = redisconn__str_dup_n(path, n);
    return out->path ? REDISCONN_OK : REDISCONN_ERR_NOMEM;
}

/* Splits "host:port" / "[v6]:port" text into host (bracket-free) and port.
 * With `port_optional`, a missing ":port" leaves *port NULL. */
static int split_hostport(const char *text, size_t len, const char **host, size_t *hlen,
                          const char **port, size_t *plen, int *bracketed, int port_optional,
                          const char **why)
{
    const char *end = text + len, *colon;
    *bracketed = 0;
    *port = NULL;
    *plen = 0;
    if (len > 0 && text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (close == NULL || (close + 1 < end && close[1] != ':') ||
            (close + 1 == end && !port_optional)) {
            *why = "expected \"[ipv6]:port\"";
            return REDISCONN_ERR_INVALID;
        }
        *host = text + 1;
        *hlen = (size_t)(close - text - 1);
        *bracketed = 1;
        if (close + 1 < end) {
            *port = close + 2;
            *plen = (size_t)(end - close - 2);
        }
        return REDISCONN_OK;
    }
    colon = NULL;
    for (const char *p = text; p < end; p++)
        if (*p == ':') colon = p;
    if (colon == NULL && !port_optional) {
        *why = "missing port, expected \"host:port\"";
        return REDISCONN_ERR_INVALID;
    }
    if (colon != NULL && memchr(text, ':', (size_t)(colon - text)) != NULL) {
        *why = "IPv6 addresses need brackets: \"[addr]:port\"";
        return REDISCONN_ERR_INVALID;
    }
    *host = text;
    *hlen = colon ? (size_t)(colon - text) : len;
    if (colon != NULL) {
        *port = colon + 1;
        *plen = (size_t)(end - colon - 1);
    }
    return REDISCONN_OK;
}

/* Fills the TCP part of `out` from host and port text. */
static int set_tcp(redisconn__addr *out, const char *host, size_t hlen, int bracketed,
                   const char *port, size_t plen, const char **why)
{
    unsigned char buf[sizeof(struct in6_addr)];
    long p = port ? parse_number(port, plen, 65535, 0) : DEFAULT_PORT;
    if (p < 0) {
        *why = "port must be a number from 1 to 65535";
        return REDISCONN_ERR_INVALID;
    }
    if (hlen == 0) {
        *why = "empty host";
        return REDISCONN_ERR_INVALID;
    }
    if (memchr(host, '\0', hlen) != NULL) {
        *why = "host contains a NUL byte";
        return REDISCONN_ERR_INVALID;
    }
    out->port = (int)p;
    out->host = redisconn__str_dup_n(host, hlen);
    if (out->host == NULL) return REDISCONN_ERR_NOMEM;
    out->kind = REDISCONN_ADDR_TCP;
    if (bracketed) {
        if (inet_pton(AF_INET6, out->host, buf) != 1) {
            *why = "not an IPv6 address inside brackets";
            return REDISCONN_ERR_INVALID;
        }
        out->numeric = 1;
        out->family = AF_INET6;
    } else if (inet_pton(AF_INET, out->host, buf) == 1) {
        out->numeric = 1;
        out->family = AF_INET;
    } else if (!valid_hostname(host, hlen)) {
        *why = "host is neither an IP address nor a valid host name";
        return REDISCONN_ERR_INVALID;
    }
    return REDISCONN_OK;
}

static int parse_hostport(const char *text, size_t len, int port_optional, redisconn__addr *out,
                          const char **why)
{
    const char *host, *port;
    size_t hlen, plen;
    int bracketed;
    int rc = split_hostport(text, len, &host, &hlen, &port, &plen, &bracketed, port_optional, why);
    if (rc != REDISCONN_OK) return rc;
    if (port != NULL && plen == 0) {
        *why = "port must be a number from 1 to 65535";
        return REDISCONN_ERR_INVALID;
    }
    return set_tcp(out, host, hlen, bracketed, port, plen, why);
}

/* "[user]:password@" at the start of `s` (up to `stop`): fills the
 * credentials and returns where the rest begins (s when there are none). */
static const char *parse_userinfo(const char *s, const char *stop, redisconn__addr *out, int *rc,
                                  const char **why)
{
    const char *at = NULL, *colon;
    int nomem = 0;
    for (const char *p = s; p < stop; p++)
        if (*p == '@') at = p;
    *rc = REDISCONN_OK;
    if (at == NULL) return s;
    colon = memchr(s, ':', (size_t)(at - s));
    if (colon == NULL) {
        *why = "a user name needs a password: \"redis://user:password@host\"";
        *rc = REDISCONN_ERR_INVALID;
        return NULL;
    }
    if (colon > s) out->username = pct_decode(s, (size_t)(colon - s), &nomem);
    out->password = pct_decode(colon + 1, (size_t)(at - colon - 1), &nomem);
    if (nomem) {
        *rc = REDISCONN_ERR_NOMEM;
        return NULL;
    }
    if ((colon > s && out->username == NULL) || out->password == NULL) {
        *why = "bad percent-escape in the user name or password";
        *rc = REDISCONN_ERR_INVALID;
        return NULL;
    }
    if (out->password[0] == '\0') {
        *why = "empty password in the URL";
        *rc = REDISCONN_ERR_INVALID;
        return NULL;
    }
    return at + 1;
}

/* "db=N" (the only query parameter). */
static int parse_query(const char *q, size_t n, redisconn__addr *out, const char **why)
{
    if (n < 3 || strncmp(q, "db=", 3) != 0 || memchr(q, '&', n) != NULL) {
        *why = "the only URL parameter is \"db=N\"";
        return REDISCONN_ERR_INVALID;
    }
    out->db = (int)parse_number(q + 3, n - 3, 1000000, 1);
    if (out->db < 0) {
        *why = "db must be a number from 0";
        return REDISCONN_ERR_INVALID;
    }
    return REDISCONN_OK;
}

static int parse_redis_url(const char *s, redisconn__addr *out, const char **why)
{
    const char *end = s + strlen(s), *slash = s, *hp;
    int rc;
    while (slash < end && *slash != '/' && *slash != '?') /* the host part ends here */
        slash++;
    hp = parse_userinfo(s, slash, out, &rc, why);
    if (hp == NULL) return rc;
    if (hp == slash) {
        *why = "a redis:// URL needs a host";
        return REDISCONN_ERR_INVALID;
    }
    rc = parse_hostport(hp, (size_t)(slash - hp), 1, out, why);
    if (rc != REDISCONN_OK || slash == end) return rc;
    if (slash[0] == '?') return parse_query(slash + 1, (size_t)(end - slash - 1), out, why);
    if (slash + 1 == end) return REDISCONN_OK;
    if (slash[1] == '?') return parse_query(slash + 2, (size_t)(end - slash - 2), out, why);
    out->db = (int)parse_number(slash + 1, (size_t)(end - slash - 1), 1000000, 1);
    if (out->db < 0) {
        *why = "the path of a redis:// URL is the db number: \"redis://host:port/3\"";
        return REDISCONN_ERR_INVALID;
    }
    return REDISCONN_OK;
}

static int parse_unix_url(const char *s, redisconn__addr *out, const char **why)
{
    const char *end = s + strlen(s), *q = memchr(s, '?', (size_t)(end - s)), *slash, *path;
    int rc;
    if (q == NULL) q = end;
    slash = memchr(s, '/', (size_t)(q - s)); /* credentials end before the path */
    path = parse_userinfo(s, slash ? slash : q, out, &rc, why);
    if (path == NULL) return rc;
    rc = parse_unix_path(path, (size_t)(q - path), out, why);
    if (rc != REDISCONN_OK || q == end) return rc;
    return parse_query(q + 1, (size_t)(end - q - 1), out, why);
}

enum { MAX_SENTINELS = 16 };

/* A master name as sentinels know it: printable, no spaces, at most 128. */
static int valid_master_name(const char *s, size_t n)
{
    if (n == 0 || n > 128) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '/' || s[i] == '?') return 0;
    return 1;
}

/* "host:port[,host:port...]" (s[0..n)) into out->sentinels. */
static int parse_sentinel_list(const char *s, size_t n, redisconn__addr *out, const char **why)
{
    const char *end = s + n;
    out->sentinels = calloc(MAX_SENTINELS, sizeof(*out->sentinels));
    if (out->sentinels == NULL) return REDISCONN_ERR_NOMEM;
    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        redisconn__addr *a = &out->sentinels[out->nsentinels];
        int rc;
        if (comma == NULL) comma = end;
        if (out->nsentinels == MAX_SENTINELS) {
            *why = "more than 16 sentinels";
            return REDISCONN_ERR_INVALID;
        }
        a->db = -1;
        rc = parse_hostport(s, (size_t)(comma - s), 0, a, why);
        out->nsentinels++; /* freed with the list, even half-filled */
        if (rc != REDISCONN_OK) return rc;
        a->text = redisconn__str_dup_n(s, (size_t)(comma - s));
        if (a->text == NULL) return REDISCONN_ERR_NOMEM;
        s = comma + 1;
    }
    return REDISCONN_OK;
}

static int set_master_name(redisconn__addr *out, const char *s, size_t n, const char **why)
{
    if (!valid_master_name(s, n)) {
        *why = "the master name must be 1 to 128 printable characters without spaces";
        return REDISCONN_ERR_INVALID;
    }
    out->master_name = redisconn__str_dup_n(s, n);
    if (out->master_name == NULL) return REDISCONN_ERR_NOMEM;
    out->kind = REDISCONN_ADDR_SENTINEL;
    return REDISCONN_OK;
}

/* "[[user]:password@]host:port[,host:port...]/master-name[?db=N]". */
static int parse_sentinel_url(const char *s, redisconn__addr *out, const char **why)
{
    const char *end = s + strlen(s), *slash = memchr(s, '/', (size_t)(end - s)), *hosts, *q;
    int rc;
    if (slash == NULL) {
        *why = "a sentinel:// URL needs the master name: \"sentinel://host:port/mymaster\"";
        return REDISCONN_ERR_INVALID;
    }
    hosts = parse_userinfo(s, slash, out, &rc, why);
    if (hosts == NULL) return rc;
    rc = parse_sentinel_list(hosts, (size_t)(slash - hosts), out, why);
    if (rc != REDISCONN_OK) return rc;
    q = memchr(slash, '?', (size_t)(end - slash));
    rc = set_master_name(out, slash + 1, (size_t)((q ? q : end) - slash - 1), why);
    if (rc != REDISCONN_OK || q == NULL) return rc;
    return parse_query(q + 1, (size_t)(end - q - 1), out, why);
}

int redisconn__addr_parse_sentinels(const char *list, const char *master_name, redisconn__addr *out,
                                    const char **why)
{
    int rc;
    const char *ignored;
    if (why == NULL) why = &ignored;
    memset(out, 0, sizeof(*out));
    out->db = -1;
    if (list == NULL || list[0] == '\0') {
        *why = "empty list of sentinels";
        return REDISCONN_ERR_INVALID;
    }
    rc = parse_sentinel_list(list, strlen(list), out, why);
    if (rc == REDISCONN_OK) rc = set_master_name(out, master_name, strlen(master_name), why);
    if (rc == REDISCONN_OK) {
        size_t n = strlen(list) + strlen(master_name) + 2;
        out->text = malloc(n);
        if (out->text == NULL)
            rc = REDISCONN_ERR_NOMEM;
        else
            snprintf(out->text, n, "%s/%s", list, master_name);
    }
    if (rc != REDISCONN_OK) redisconn__addr_free(out);
    return rc;
}

/* The text kept for logs: `text` with the password (if any) masked. */
static char *masked_text(const char *text, const redisconn__addr *a)
{
    const char *scheme = strstr(text, "://"), *at;
    size_t n;
    char *out;
    if (a->password == NULL || scheme == NULL) return redisconn__str_dup_n(text, strlen(text));
    at = strrchr(text, '@');
    if (at == NULL) return redisconn__str_dup_n(text, strlen(text));
    n = (size_t)(scheme + 3 - text) + (a->username ? strlen(a->username) : 0);
    out = malloc(n + 5 + strlen(at) + 1);
    if (out == NULL) return NULL;
    memcpy(out, text, (size_t)(scheme + 3 - text));
    out[scheme + 3 - text] = '\0';
    if (a->username) strcat(out, a->username);
    strcat(out, ":***");
    strcat(out, at);
    return out;
}

static int parse_any(const char *text, redisconn__addr *out, const char **why)
{
    const char *scheme_end = strstr(text, "://");
    if (strncmp(text, "redis://", 8) == 0) return parse_redis_url(text + 8, out, why);
    if (strncmp(text, "unix://", 7) == 0) return parse_unix_url(text + 7, out, why);
    if (strncmp(text, "rediss://", 9) == 0) {
        *why = "TLS is not supported by hiredis 0.14 (rediss://)";
        return REDISCONN_ERR_INVALID;
    }
    if (strncmp(text, "sentinel://", 11) == 0) return parse_sentinel_url(text + 11, out, why);
    if (strncmp(text, "redis-sentinel://", 17) == 0) return parse_sentinel_url(text + 17, out, why);
    if (strncmp(text, "redis-cluster://", 16) == 0) {
        *why = "Cluster addresses are for redisconn_cluster_new(), not a pool";
        return REDISCONN_ERR_INVALID;
    }
    if (scheme_end != NULL) {
        *why = "unknown URL scheme: expected redis:// or unix://";
        return REDISCONN_ERR_INVALID;
    }
    if (strncmp(text, "unix:", 5) == 0)
        return parse_unix_path(text + 5, strlen(text + 5), out, why);
    return parse_hostport(text, strlen(text), 0, out, why);
}

int redisconn__addr_parse(const char *text, redisconn__addr *out, const char **why)
{
    int rc;
    const char *ignored;
    if (why == NULL) why = &ignored;
    memset(out, 0, sizeof(*out));
    out->db = -1;
    if (text == NULL || text[0] == '\0') {
        *why = "empty address";
        return REDISCONN_ERR_INVALID;
    }
    rc = parse_any(text, out, why);
    if (rc == REDISCONN_OK) {
        out->text = masked_text(text, out);
        if (out->text == NULL) rc = REDISCONN_ERR_NOMEM;
    }
    if (rc != REDISCONN_OK) redisconn__addr_free(out);
    return rc;
}

int redisconn__addr_copy(redisconn__addr *dst, const redisconn__addr *src)
{
    int failed = 0;
    *dst = *src;
    dst->host = redisconn__str_dup_opt(src->host, &failed);
    dst->path = redisconn__str_dup_opt(src->path, &failed);
    dst->text = redisconn__str_dup_opt(src->text, &failed);
    dst->username = redisconn__str_dup_opt(src->username, &failed);
    dst->password = redisconn__str_dup_opt(src->password, &failed);
    dst->master_name = redisconn__str_dup_opt(src->master_name, &failed);
    dst->sentinels = NULL;
    dst->nsentinels = 0;
    if (src->nsentinels > 0) {
        dst->sentinels = calloc((size_t)src->nsentinels, sizeof(*dst->sentinels));
        failed |= dst->sentinels == NULL;
        for (int i = 0; !failed && i < src->nsentinels; i++) {
            failed |= redisconn__addr_copy(&dst->sentinels[i], &src->sentinels[i]) != REDISCONN_OK;
            dst->nsentinels = i + 1;
        }
    }
    if (!failed) return REDISCONN_OK;
    redisconn__addr_free(dst);
    return REDISCONN_ERR_NOMEM;
}

void redisconn__addr_free(redisconn__addr *addr)
{
    if (addr->password != NULL) {
        memset(addr->password, 0, strlen(addr->password));
        free(addr->password);
    }
    for (int i = 0; i < addr->nsentinels; i++)
        redisconn__addr_free(&addr->sentinels[i]);
    free(addr->sentinels);
    free(addr->master_name);
    free(addr->host);
    free(addr->path);
    free(addr->text);
    free(addr->username);
    memset(addr, 0, sizeof(*addr));
}
