/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_blocking.c — blocking commands on a lease: their deadline is
 * their own timeout plus the command timeout (none when they block
 * forever); one command can be given its own deadline; pool-level commands
 * refuse to block a shared pipeline. Plus the table that finds the timeout
 * argument of each blocking command. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "pool/classify.h"
#include "support/pool_fixture.h"

TestSuite(pool_blocking, .init = given_server, .fini = rt_env_teardown, .timeout = 40);

static void pool_with_command_timeout(int ms)
{
    redisconn_pool_options *o = given_options();
    o->command_timeout_ms = ms;
    given_pool(o);
}

/* LPUSH from a side connection once the loop has run `after_ms`. */
typedef struct pusher {
    struct event *ev;
    const char *key;
} pusher;

static void on_push(evutil_socket_t fd, short what, void *arg)
{
    pusher *p = arg;
    (void)fd;
    (void)what;
    freeReplyObject(rt_cmd(env.srv, "LPUSH %s pushed", p->key));
    event_free(p->ev);
}

static void push_later(pusher *p, const char *key, int after_ms)
{
    struct timeval tv = {after_ms / 1000, (after_ms % 1000) * 1000};
    p->key = key;
    p->ev = evtimer_new(env.base, on_push, p);
    evtimer_add(p->ev, &tv);
}

Test(pool_blocking, blpop_waiting_longer_than_the_command_timeout_is_answered)
{
    rt_reply r = {0};
    pusher p;
    given_pool(NULL); /* command timeout 5 s */
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "BLPOP %s %d", "q8", 8), REDISCONN_OK);
    push_later(&p, "q8", 6000);
    cr_assert(rt_wait_reply(&env, &r, 12000));
    cr_assert_eq(r.status, REDISCONN_OK, "got %s", redisconn_status_name(r.status));
    cr_assert_eq(r.type, REDIS_REPLY_ARRAY);
    redisconn_release(c);
}

Test(pool_blocking, blpop_timing_out_returns_nil_and_the_lease_stays_usable)
{
    rt_reply r = {0}, s;
    int64_t t0 = rt_now_ms();
    pool_with_command_timeout(300);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "BLPOP %s %d", "empty", 1), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 3000));
    cr_assert_eq(r.status, REDISCONN_OK, "got %s", redisconn_status_name(r.status));
    cr_assert_eq(r.type, REDIS_REPLY_NIL);
    cr_assert_geq(rt_now_ms() - t0, 900, "answered before its 1 s");
    rt_command_wait(&env, c, &s, "PING");
    cr_assert_str_eq(s.str, "PONG");
    cr_assert_eq(pool_stats().command_timeouts, 0);
    redisconn_release(c);
}

Test(pool_blocking, blpop_forever_has_no_deadline)
{
    rt_reply r = {0};
    pusher p;
    pool_with_command_timeout(200);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "BLPOP %s 0", "forever"), REDISCONN_OK);
    push_later(&p, "forever", 700);
    cr_assert(rt_wait_reply(&env, &r, 3000));
    cr_assert_eq(r.status, REDISCONN_OK, "got %s", redisconn_status_name(r.status));
    cr_assert_eq(r.type, REDIS_REPLY_ARRAY);
    redisconn_release(c);
}

Test(pool_blocking, xread_block_gets_its_block_time_plus_the_command_timeout)
{
    rt_reply r = {0};
    pool_with_command_timeout(200);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "XREAD BLOCK 600 STREAMS %s $", "st"),
                 REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 3000));
    cr_assert_eq(r.status, REDISCONN_OK, "got %s", redisconn_status_name(r.status));
    cr_assert_eq(r.type, REDIS_REPLY_NIL);
    redisconn_release(c);
}

Test(pool_blocking, a_command_with_its_own_timeout_times_out_at_it)
{
    rt_reply r = {0};
    int64_t t0 = rt_now_ms(), took;
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(
        redisconn_command_with_timeout(c, 300, rt_reply_cb, &r, "BLPOP %s %d", "never", 10),
        REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 3000));
    took = rt_now_ms() - t0;
    cr_assert_eq(r.status, REDISCONN_ERR_TIMEOUT);
    cr_assert(took >= 250 && took < 2000, "took %lld ms", (long long)took);
    redisconn_release(c);
}

Test(pool_blocking, a_negative_own_timeout_is_invalid)
{
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command_with_timeout(c, -1, rt_never_reply_cb, NULL, "PING"),
                 REDISCONN_ERR_INVALID);
    redisconn_release(c);
}

Test(pool_blocking, pool_level_xread_with_block_is_refused)
{
    given_pool(NULL);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_never_reply_cb, NULL,
                                        "XREAD BLOCK 100 STREAMS %s $", "st"),
                 REDISCONN_ERR_LEASE_REQUIRED);
}

/* The timeout argument of `cmd` (formatted like a user's), or -1. */
static int64_t block_ms(const char *fmt)
{
    char *cmd;
    int64_t ms = -1;
    int len = redisFormatCommand(&cmd, fmt);
    cr_assert_gt(len, 0);
    if (!redisconn__classify_block_ms(cmd, (size_t)len, &ms)) ms = -1;
    redisFreeCommand(cmd);
    return ms;
}

Test(pool_blocking, the_timeout_argument_of_each_blocking_command_is_found)
{
    cr_assert_eq(block_ms("BLPOP a b 2"), 2000);
    cr_assert_eq(block_ms("BRPOP a 0.5"), 500);
    cr_assert_eq(block_ms("BRPOPLPUSH a b 3"), 3000);
    cr_assert_eq(block_ms("BLMOVE a b LEFT RIGHT 1.5"), 1500);
    cr_assert_eq(block_ms("BZPOPMIN z 4"), 4000);
    cr_assert_eq(block_ms("BZPOPMAX z 0"), 0);
    cr_assert_eq(block_ms("BLMPOP 2 2 a b LEFT"), 2000);
    cr_assert_eq(block_ms("BZMPOP 1 1 z MIN"), 1000);
    cr_assert_eq(block_ms("XREAD COUNT 2 BLOCK 250 STREAMS s $"), 250);
    cr_assert_eq(block_ms("XREADGROUP GROUP g c BLOCK 0 STREAMS s >"), 0);
    cr_assert_eq(block_ms("XREAD STREAMS s $"), -1, "XREAD without BLOCK does not block");
    cr_assert_eq(block_ms("WAIT 1 300"), 300);
    cr_assert_eq(block_ms("WAITAOF 1 0 400"), 400);
    cr_assert_eq(block_ms("BLPOP a notanumber"), -1);
    cr_assert_eq(block_ms("GET a"), -1);
}
