/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_pool_new.c — redisconn_pool_new_with_options() with an arbitrary
 * address on a real event_base: create, close at once, run the loop until the
 * pool is freed. No connection is made (none is until first use).
 *
 * Properties: a NULL pool comes with a non-OK status, a pool with OK; the
 * pool accepts only what redisconn__addr_parse() accepts; a new pool has
 * dialed nothing; its close callback fires exactly once, from the loop, and
 * leaves no event behind; the log hook gets non-empty messages and never the
 * password of a "redis://user:password@..." address.
 */
#include "fuzz.h"
#include "pool/addr.h"
#include "redisconn/pool.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define RF_TARGET "pool_new"

static struct event_base *base;
static int closed_calls;
static const char *secret; /* the address's password, when worth looking for */

static void on_log(int level, const char *msg, void *arg)
{
    (void)level;
    (void)arg;
    RF_CHECK(msg != NULL && msg[0] != '\0');
    if (secret != NULL && strstr(msg, secret) != NULL)
        rf_fail(RF_TARGET, "the address's password reached the log: \"%s\"", msg);
}

static void on_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    (void)arg;
    closed_calls++;
}

/*
 * The password of "redis://[user]:password@host..." (RFC 3986: the user info
 * ends at the last '@' of the authority, which ends at the first '/', '?' or
 * '#') copied into `buf`, if it is at least 6 bytes long and occurs nowhere
 * else in the text (so that a log line holding it can only have copied it
 * from the user info); else NULL.
 */
static const char *find_secret(const char *text, char *buf, size_t len)
{
    const char *s = text + strlen("redis://"), *at = NULL, *colon;
    size_t n, authority;
    if (strncmp(text, "redis://", strlen("redis://")) != 0) return NULL;
    authority = strcspn(s, "/?#");
    for (const char *p = s; p < s + authority; p++)
        if (*p == '@') at = p;
    if (at == NULL || (colon = memchr(s, ':', (size_t)(at - s))) == NULL) return NULL;
    n = (size_t)(at - colon - 1);
    if (n < 6 || n >= len) return NULL;
    memcpy(buf, colon + 1, n);
    buf[n] = '\0';
    if (strstr(text, buf) != colon + 1 || strstr(colon + 2, buf) != NULL) return NULL;
    return buf;
}

/* Runs the loop until the pool's close callback has fired. */
static void run_until_closed(void)
{
    for (int i = 0; i < 100 && closed_calls == 0; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    RF_CHECK(closed_calls == 1);
    event_base_loop(base, EVLOOP_NONBLOCK); /* nothing may fire any more */
    RF_CHECK(closed_calls == 1);
    RF_CHECK(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED) == 0);
}

int rf_run_pool_new(const uint8_t *data, size_t size)
{
    char *text = rf_cstr(data, size), buf[256];
    redisconn_pool_options o;
    redisconn_pool_stats st;
    redisconn__addr a;
    redisconn_pool *pool;
    int err = 12345, parsed;

    if (base == NULL && (base = event_base_new()) == NULL) rf_fail(RF_TARGET, "no event_base");
    parsed = redisconn__addr_parse(text, &a, NULL);
    redisconn__addr_free(&a);
    secret = find_secret(text, buf, sizeof(buf));
    redisconn_pool_options_init(&o);
    o.log_fn = on_log;
    o.log_level = REDISCONN_LOG_DEBUG;
    closed_calls = 0;

    pool = redisconn_pool_new_with_options(base, text, &o, &err);
    if (pool == NULL) {
        RF_CHECK(err != REDISCONN_OK && err != 12345);
    } else {
        RF_CHECK(err == REDISCONN_OK);
        RF_CHECK(parsed == REDISCONN_OK);
        RF_CHECK(redisconn_pool_base(pool) == base);
        redisconn_pool_get_stats(pool, &st);
        RF_CHECK(st.active_count == 0 && st.dials == 0 && st.dialing_count == 0);
        RF_CHECK(redisconn_pool_close(pool, on_closed, NULL) == REDISCONN_OK);
        RF_CHECK(closed_calls == 0); /* never from inside the call */
        run_until_closed();
    }
    secret = NULL;
    free(text);
    return 0;
}

RF_ENTRY(rf_run_pool_new)
