/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_pool_new.c — redisconn_pool_new_with_options() with an arbitrary
 * address on a real event_base: create, close at once, run the loop until the
 * pool is freed. No connection is made (none is until first use).
 *
 * Properties: a NULL pool comes with a negative status and a message, a pool
 * with OK and ""; the pool accepts only what redisconn__addr_parse()
 * accepts; a new pool has dialed nothing; its close callback fires exactly
 * once, from the loop, and leaves no event behind; neither the log hook nor
 * the error message ever gets the password of a "redis://user:password@..."
 * address (rf_url_password), and log messages are never empty.
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
    redisconn_error err;
    int parsed;

    if (base == NULL && (base = event_base_new()) == NULL) rf_fail(RF_TARGET, "no event_base");
    parsed = redisconn__addr_parse(text, &a, NULL);
    redisconn__addr_free(&a);
    secret = rf_url_password(text, buf, sizeof(buf));
    redisconn_pool_options_init(&o);
    o.log_fn = on_log;
    o.log_level = REDISCONN_LOG_DEBUG;
    closed_calls = 0;
    memset(&err, 'x', sizeof(err));

    pool = redisconn_pool_new_with_options(base, text, &o, &err);
    if (pool == NULL) {
        RF_CHECK(err.status < 0);
        RF_CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL && err.message[0] != '\0');
        if (secret != NULL && strstr(err.message, secret) != NULL)
            rf_fail(RF_TARGET, "the address's password is in the error: \"%s\"", err.message);
    } else {
        RF_CHECK(err.status == REDISCONN_OK && err.message[0] == '\0');
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
