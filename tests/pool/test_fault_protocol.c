/* SPDX-License-Identifier: BSD-3-Clause */
/* test_fault_protocol.c — a server that breaks the protocol (a fake one:
 * support/fake_redis.h): garbage bytes, half a reply then close, replies
 * trickling in byte by byte, replies nobody asked for — on a lease and on
 * pool-level commands. The process never aborts, every callback fires once
 * with the documented status, the broken connection is closed and the next
 * request gets a new one that works. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "support/fake_redis.h"
#include "support/fault_load.h"
#include "support/pool_fixture.h"

static rt_fake_redis *fake;

/* Closes the pool, then stops the fake (its sockets count in this process),
 * then checks the close callback and the fd count. */
static void close_pool_and_fake_expect_freed(void)
{
    close_pool();
    cr_assert(rt_loop_until(env.base, &env.closed, 5000), "pool close did not complete");
    rt_fake_redis_stop(fake);
    fake = NULL;
    rt_loop_quiet(env.base, 10); /* a second close callback would come now */
    cr_assert_eq(env.closed, 1);
    cr_assert_eq(rt_count_fds(), env.fds_before, "fds leaked: %d before, %d after", env.fds_before,
                 rt_count_fds());
}

static void teardown(void)
{
    if (env.pool) close_pool_and_fake_expect_freed();
    rt_fake_redis_stop(fake);
    fake = NULL;
    rt_env_teardown();
}

TestSuite(fault_protocol, .init = given_base, .fini = teardown, .timeout = 20);

/* A pool on a fake that misbehaves on its first `faulty` connections. */
static redisconn_pool *given_fake(rt_fake_fault fault, int faulty)
{
    fake = rt_fake_redis_start(fault, faulty);
    return given_pool_at(rt_fake_redis_addr(fake), given_options());
}

/* Runs one leased command to completion and checks its callback fired once. */
static void lease_command(redisconn_conn *conn, rt_reply *r, const char *fmt, const char *arg)
{
    memset(r, 0, sizeof(*r));
    cr_assert_eq(redisconn_command(conn, rt_reply_cb, r, fmt, arg), REDISCONN_OK);
    rt_await(env.base, r->calls > 0, 3000);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(r->calls, 1);
}

static void pool_command(rt_reply *r, const char *fmt, const char *arg)
{
    memset(r, 0, sizeof(*r));
    cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, r, fmt, arg), REDISCONN_OK);
    rt_await(env.base, r->calls > 0, 3000);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(r->calls, 1);
}

/* The next acquire dials a new connection, and SET + GET work on it. */
static void expect_next_lease_works(uint64_t dials_before)
{
    rt_reply r;
    redisconn_conn *c = rt_acquire_ok(&env);
    lease_command(c, &r, "SET after %s", "fine");
    cr_assert_eq(r.status, REDISCONN_OK);
    lease_command(c, &r, "GET %s", "after");
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_str_eq(r.str, "fine");
    redisconn_release(c);
    cr_assert_eq(pool_stats().dials, dials_before + 1, "a new connection was dialed");
}

Test(fault_protocol, garbage_reply_fails_the_leased_command_with_protocol)
{
    rt_reply r;
    given_fake(RT_FAKE_GARBAGE, 1);
    redisconn_conn *c = rt_acquire_ok(&env);
    lease_command(c, &r, "GET %s", "k");
    cr_assert_eq(r.status, REDISCONN_ERR_PROTOCOL, "%s", redisconn_status_name(r.status));
    cr_assert_eq(redisconn_command(c, rt_never_reply_cb, NULL, "PING"), REDISCONN_ERR_IO,
                 "the connection is closed");
    redisconn_release(c);
    cr_assert_eq(pool_stats().closed_broken, 1);
    close_pool_and_fake_expect_freed();
}

Test(fault_protocol, garbage_reply_fails_the_pool_level_command_with_protocol)
{
    rt_reply r;
    given_fake(RT_FAKE_GARBAGE, 1);
    pool_command(&r, "GET %s", "k");
    cr_assert_eq(r.status, REDISCONN_ERR_PROTOCOL, "%s", redisconn_status_name(r.status));
    rt_await(env.base, pool_stats().closed_broken == 1, 1000);
    close_pool_and_fake_expect_freed();
}

Test(fault_protocol, after_garbage_the_next_acquire_gets_a_new_working_connection)
{
    rt_reply r;
    given_fake(RT_FAKE_GARBAGE, 1);
    redisconn_conn *c = rt_acquire_ok(&env);
    lease_command(c, &r, "GET %s", "k");
    redisconn_release(c);
    expect_next_lease_works(1);
    close_pool_and_fake_expect_freed();
}

Test(fault_protocol, half_reply_then_close_fails_the_leased_command_with_io)
{
    rt_reply r;
    given_fake(RT_FAKE_HALF_REPLY, 1);
    redisconn_conn *c = rt_acquire_ok(&env);
    lease_command(c, &r, "GET %s", "k");
    cr_assert_eq(r.status, REDISCONN_ERR_IO, "%s", redisconn_status_name(r.status));
    redisconn_release(c);
    expect_next_lease_works(1);
    close_pool_and_fake_expect_freed();
}

Test(fault_protocol, half_reply_then_close_fails_the_pool_level_command_with_io)
{
    rt_reply r;
    given_fake(RT_FAKE_HALF_REPLY, 1);
    pool_command(&r, "GET %s", "k");
    cr_assert_eq(r.status, REDISCONN_ERR_IO, "%s", redisconn_status_name(r.status));
    close_pool_and_fake_expect_freed();
}

Test(fault_protocol, reply_written_byte_by_byte_reaches_the_leased_command_whole)
{
    rt_reply r;
    given_fake(RT_FAKE_BYTEWISE, 0);
    redisconn_conn *c = rt_acquire_ok(&env);
    lease_command(c, &r, "SET k %s", "a value sent one byte at a time");
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_str_eq(r.str, "OK");
    lease_command(c, &r, "GET %s", "k");
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_eq(r.type, REDIS_REPLY_STRING);
    cr_assert_str_eq(r.str, "a value sent one byte at a time");
    redisconn_release(c);
    cr_assert_eq(pool_stats().closed_broken, 0);
    close_pool_and_fake_expect_freed();
}

Test(fault_protocol, replies_written_byte_by_byte_reach_pipelined_pool_level_commands_in_order)
{
    rt_reply r[8];
    char val[8][16];
    given_fake(RT_FAKE_BYTEWISE, 0);
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 8; i++) {
        snprintf(val[i], sizeof(val[i]), "value-%d", i);
        cr_assert_eq(redisconn_pool_command(env.pool, 0, NULL, NULL, "SET k%d %s", i, val[i]),
                     REDISCONN_OK);
        cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &r[i], "GET k%d", i),
                     REDISCONN_OK);
    }
    rt_await(env.base, r[7].calls > 0, 5000);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(r[i].calls, 1);
        cr_assert_eq(r[i].status, REDISCONN_OK, "GET %d: %s", i,
                     redisconn_status_name(r[i].status));
        cr_assert_str_eq(r[i].str, val[i]);
    }
    close_pool_and_fake_expect_freed();
}

Test(fault_protocol, unsolicited_reply_on_an_idle_connection_closes_it)
{
    given_fake(RT_FAKE_EXTRA_IDLE, 1);
    redisconn_release(rt_acquire_ok(&env));
    cr_assert_eq(pool_stats().idle_count, 1);
    rt_await(env.base, pool_stats().closed_broken == 1, 1000);
    cr_assert_eq(rt_fake_redis_extras(fake), 1);
    cr_assert_eq(pool_stats().idle_count, 0);
    cr_assert_eq(pool_stats().active_count, 0);
    close_pool_and_fake_expect_freed();
}

Test(fault_protocol, after_an_unsolicited_reply_the_next_acquire_gets_a_new_working_connection)
{
    given_fake(RT_FAKE_EXTRA_IDLE, 1);
    redisconn_release(rt_acquire_ok(&env));
    rt_await(env.base, pool_stats().closed_broken == 1, 1000);
    expect_next_lease_works(1);
    close_pool_and_fake_expect_freed();
}

Test(fault_protocol, unsolicited_reply_on_a_quiet_lease_closes_it_with_protocol)
{
    given_fake(RT_FAKE_EXTRA_IDLE, 1);
    redisconn_conn *c = rt_acquire_ok(&env);
    rt_await(env.base, rt_fake_redis_extras(fake) == 1 && pool_stats().closed_broken == 1, 1000);
    cr_assert_eq(redisconn_command(c, rt_never_reply_cb, NULL, "PING"), REDISCONN_ERR_IO);
    cr_assert_not_null(redisconn_conn_errstr(c));
    cr_assert(strstr(redisconn_conn_errstr(c), "no command asked for"), "%s",
              redisconn_conn_errstr(c));
    redisconn_release(c);
    close_pool_and_fake_expect_freed();
}

/* The SET's reply callback sends the GET (the usual request chain). The
 * fake's unsolicited reply arrives right behind the SET's answer, before the
 * GET has even been written: it cannot be the GET's answer. */
static rt_reply chained_get;

static void get_from_callback(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    rt_reply_cb(conn, status, reply, arg);
    if (conn != NULL)
        cr_assert_eq(redisconn_command(conn, rt_reply_cb, &chained_get, "GET k"), REDISCONN_OK);
    else
        cr_assert_eq(redisconn_pool_command(env.pool, 0, rt_reply_cb, &chained_get, "GET k"),
                     REDISCONN_OK);
}

Test(fault_protocol, unsolicited_reply_never_reaches_a_command_sent_after_it_on_a_lease)
{
    rt_reply set = {0};
    given_fake(RT_FAKE_EXTRA_REPLY, 1);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, get_from_callback, &set, "SET k v"), REDISCONN_OK);
    rt_await(env.base, chained_get.calls > 0, 2000);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(set.calls, 1);
    cr_assert_eq(set.status, REDISCONN_OK);
    cr_assert_str_eq(set.str, "OK");
    cr_assert_eq(chained_get.calls, 1);
    cr_assert_neq(chained_get.status, REDISCONN_OK, "the GET got \"%s\", the unasked reply",
                  chained_get.str);
    cr_assert_eq(chained_get.status, REDISCONN_ERR_PROTOCOL, "%s",
                 redisconn_status_name(chained_get.status));
    redisconn_release(c);
    expect_next_lease_works(1);
    close_pool_and_fake_expect_freed();
}

Test(fault_protocol, unsolicited_reply_never_reaches_a_pool_level_command_sent_after_it)
{
    rt_reply set = {0};
    given_fake(RT_FAKE_EXTRA_REPLY, 1);
    cr_assert_eq(redisconn_pool_command(env.pool, 0, get_from_callback, &set, "SET k v"),
                 REDISCONN_OK);
    rt_await(env.base, chained_get.calls > 0, 2000);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(set.calls, 1);
    cr_assert_eq(set.status, REDISCONN_OK);
    cr_assert_eq(chained_get.calls, 1);
    cr_assert_neq(chained_get.status, REDISCONN_OK, "the GET got \"%s\", the unasked reply",
                  chained_get.str);
    cr_assert_eq(chained_get.status, REDISCONN_ERR_PROTOCOL, "%s",
                 redisconn_status_name(chained_get.status));
    close_pool_and_fake_expect_freed();
}

/* The server goes away (FIN) and then resets (RST) while the rest of an 8 MB
 * value waits to be written: the next write meets EPIPE, which raises SIGPIPE
 * unless the write suppresses it. The FIN and the RST both arrive while the
 * loop does not run, so the pending write is the first to find them. */
Test(fault_protocol, server_gone_in_the_middle_of_a_write_never_raises_sigpipe,
     .init = rt_sigpipe_default)
{
    enum { BIG = 8 << 20 };
    rt_reply r = {0};
    char *big = malloc(BIG);
    const char *argv[3] = {"SET", "k", big};
    size_t lens[3] = {3, 1, BIG};
    cr_assert_not_null(big);
    memset(big, 'x', BIG);
    given_fake(RT_FAKE_FIN_RESET, 1);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command_argv(c, rt_reply_cb, &r, 3, argv, lens), REDISCONN_OK);
    rt_await(env.base, rt_fake_redis_holding(fake), 2000);
    rt_loop_quiet(env.base, 20); /* deliberate: the socket buffer fills; the rest waits */
    rt_fake_redis_fin_then_reset(fake);
    rt_await(env.base, r.calls > 0, 2000);
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.status, REDISCONN_ERR_IO, "%s", redisconn_status_name(r.status));
    redisconn_release(c);
    free(big);
    close_pool_and_fake_expect_freed();
}
