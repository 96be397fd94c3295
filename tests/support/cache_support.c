/* cache_support.c: see cache_support.h. */
#include "support/cache_support.h"
#include "support/support.h"

#include <criterion/criterion.h>
#include <string.h>

void rt_get_cb(int status, const void *value, size_t len, void *arg)
{
    rt_get *g = arg;
    g->calls++;
    g->status = status;
    g->len = len;
    g->value_null = value == NULL;
    cr_assert((status == REDISCONN_OK) == (value != NULL), "a value iff OK (status %s)",
              redisconn_status_name(status));
    if (value == NULL) cr_assert_eq(len, 0, "a length without a value");
    cr_assert_leq(len, sizeof(g->value));
    if (len > 0) memcpy(g->value, value, len);
}

void rt_never_get_cb(int status, const void *value, size_t len, void *arg)
{
    (void)value;
    (void)len;
    (void)arg;
    cr_assert_fail("get callback must not fire (status %s)", redisconn_status_name(status));
}

void rt_set_cb(int status, void *arg)
{
    rt_set *s = arg;
    s->calls++;
    s->status = status;
}

void rt_never_set_cb(int status, void *arg)
{
    (void)arg;
    cr_assert_fail("set callback must not fire (status %s)", redisconn_status_name(status));
}

int rt_cache_get(struct event_base *base, redisconn_blobcache *c, const void *key, size_t keylen,
                 rt_get *out)
{
    int rc;
    memset(out, 0, sizeof(*out));
    rc = redisconn_blobcache_get(c, key, keylen, rt_get_cb, out);
    cr_assert_eq(rc, REDISCONN_OK, "get: %s", redisconn_strerror(rc));
    cr_assert_eq(out->calls, 0, "get called back from inside the call");
    cr_assert(rt_loop_until(base, &out->calls, 5000), "get never called back");
    rt_loop_for(base, 10);
    cr_assert_eq(out->calls, 1, "get called back %d times", out->calls);
    return out->status;
}

int rt_cache_set(struct event_base *base, redisconn_blobcache *c, const void *key, size_t keylen,
                 const void *value, size_t len, int64_t ttl_ms)
{
    rt_set s = {0, 0};
    int rc = redisconn_blobcache_set(c, key, keylen, value, len, ttl_ms, rt_set_cb, &s);
    cr_assert_eq(rc, REDISCONN_OK, "set: %s", redisconn_strerror(rc));
    cr_assert_eq(s.calls, 0, "set called back from inside the call");
    cr_assert(rt_loop_until(base, &s.calls, 5000), "set never called back");
    rt_loop_for(base, 10);
    cr_assert_eq(s.calls, 1, "set called back %d times", s.calls);
    return s.status;
}

int rt_cache_gets(struct event_base *base, redisconn_blobcache *c, const char *key, rt_get *out)
{
    return rt_cache_get(base, c, key, strlen(key), out);
}

int rt_cache_sets(struct event_base *base, redisconn_blobcache *c, const char *key,
                  const char *value, int64_t ttl_ms)
{
    return rt_cache_set(base, c, key, strlen(key), value, strlen(value), ttl_ms);
}
