/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_clean.c — the connection state table of docs/pool.md, one test
 * per row: what a borrower changes is undone on release (the next borrower
 * gets the same connection, clean) or the connection is closed (the next
 * borrower gets another one); what hiredis 0.14 cannot follow is refused. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_clean, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

/* A pool of one connection, so the next borrower gets the same one unless
 * it was closed. */
static void one_conn_pool(const char *client_name)
{
    redisconn_pool_options *o = given_options();
    o->max_active = 1;
    o->client_name = client_name;
    given_pool(o);
}

static long long client_id(redisconn_conn *c)
{
    rt_reply r;
    rt_command_wait(&env, c, &r, "CLIENT ID");
    cr_assert_eq(r.type, REDIS_REPLY_INTEGER);
    return r.integer;
}

/* Leases, runs `cmd` (any reply), releases; then leases again and says
 * whether it is the same connection. Returns the new lease. */
static redisconn_conn *after_borrower_ran(const char *cmd, int *same)
{
    rt_reply r;
    redisconn_conn *c = rt_acquire_ok(&env);
    long long id = client_id(c);
    rt_command_wait(&env, c, &r, cmd);
    redisconn_release(c);
    c = rt_acquire_ok(&env);
    *same = client_id(c) == id;
    return c;
}

/* CLIENT INFO's flags= field of the lease. */
static void client_flags(redisconn_conn *c, char *out, size_t len)
{
    rt_reply r;
    const char *f;
    rt_command_wait(&env, c, &r, "CLIENT INFO");
    f = strstr(r.str, " flags=");
    cr_assert_not_null(f, "%s", r.str);
    f += 7;
    snprintf(out, len, "%.*s", (int)strcspn(f, " "), f);
}

/* The row says "close": the next borrower has another connection. */
static void expect_closed_after(const char *cmd)
{
    int same;
    redisconn_release(after_borrower_ran(cmd, &same));
    cr_assert_not(same, "%s: the connection was handed on", cmd);
    cr_assert_eq(pool_stats().closed_dirty, 1, "%s", cmd);
}

Test(pool_clean, client_setname_is_reset_to_no_name)
{
    int same;
    rt_reply r;
    one_conn_pool(NULL);
    redisconn_conn *c = after_borrower_ran("CLIENT SETNAME borrower1", &same);
    cr_assert(same);
    rt_command_wait(&env, c, &r, "CLIENT GETNAME");
    cr_assert(r.type == REDIS_REPLY_NIL || (r.type == REDIS_REPLY_STRING && r.len == 0),
              "name kept: %s", r.str);
    redisconn_release(c);
}

Test(pool_clean, client_setname_is_reset_to_the_pools_client_name)
{
    int same;
    rt_reply r;
    one_conn_pool("frontend-7");
    redisconn_conn *c = after_borrower_ran("CLIENT SETNAME borrower1", &same);
    cr_assert(same);
    rt_command_wait(&env, c, &r, "CLIENT GETNAME");
    cr_assert_str_eq(r.str, "frontend-7");
    redisconn_release(c);
}

Test(pool_clean, every_new_connection_carries_the_client_name)
{
    one_conn_pool("frontend-7");
    redisconn_conn *c = rt_acquire_ok(&env);
    redisReply *list = rt_cmd(env.srv, "CLIENT LIST");
    cr_assert(strstr(list->str, "name=frontend-7 ") != NULL, "%s", list->str);
    freeReplyObject(list);
    redisconn_release(c);
}

Test(pool_clean, client_no_evict_is_turned_off)
{
    int same;
    char flags[32];
    one_conn_pool(NULL);
    redisconn_conn *c = after_borrower_ran("CLIENT NO-EVICT on", &same);
    cr_assert(same);
    client_flags(c, flags, sizeof(flags));
    cr_assert(strchr(flags, 'e') == NULL, "no-evict kept: flags=%s", flags);
    redisconn_release(c);
}

Test(pool_clean, client_no_touch_is_not_handed_on)
{
    int same;
    char flags[32];
    one_conn_pool(NULL);
    /* Redis 7.2 resets it with NO-TOUCH off; 7.0 has no NO-TOUCH, so the
     * reset fails and the connection is closed: either way, never 'T'. */
    redisconn_conn *c = after_borrower_ran("CLIENT NO-TOUCH on", &same);
    client_flags(c, flags, sizeof(flags));
    cr_assert(strchr(flags, 'T') == NULL, "no-touch kept: flags=%s", flags);
    redisconn_release(c);
}

Test(pool_clean, client_tracking_closes_the_connection)
{
    one_conn_pool(NULL);
    expect_closed_after("CLIENT TRACKING on");
}

Test(pool_clean, client_setinfo_closes_the_connection)
{
    one_conn_pool(NULL);
    expect_closed_after("CLIENT SETINFO lib-name other");
}

Test(pool_clean, readonly_closes_the_connection)
{
    one_conn_pool(NULL);
    expect_closed_after("READONLY");
}

Test(pool_clean, readwrite_closes_the_connection)
{
    one_conn_pool(NULL);
    expect_closed_after("READWRITE");
}

Test(pool_clean, reset_closes_the_connection)
{
    one_conn_pool(NULL);
    expect_closed_after("RESET");
}

Test(pool_clean, auth_closes_the_connection)
{
    one_conn_pool(NULL);
    expect_closed_after("AUTH nobody wrong");
}

Test(pool_clean, psubscribe_closes_the_connection)
{
    int same;
    rt_reply sub = {0};
    one_conn_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    long long id = client_id(c);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &sub, "PSUBSCRIBE %s", "news.*"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &sub, 2000));
    redisconn_release(c);
    c = rt_acquire_ok(&env);
    same = client_id(c) == id;
    cr_assert_not(same);
    cr_assert_eq(pool_stats().closed_dirty, 1);
    redisconn_release(c);
}

Test(pool_clean, client_setname_does_not_make_the_connection_close)
{
    int same;
    one_conn_pool(NULL);
    redisconn_release(after_borrower_ran("CLIENT SETNAME x", &same));
    cr_assert(same);
    cr_assert_eq(pool_stats().closed_dirty, 0);
    cr_assert_geq(pool_stats().resets, 1);
}

/* Commands hiredis 0.14 cannot follow are refused before anything is sent. */
static void expect_refused(const char *cmd)
{
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, rt_never_reply_cb, NULL, cmd), REDISCONN_ERR_UNSUPPORTED,
                 "%s", cmd);
    redisconn_release(c);
}

Test(pool_clean, monitor_is_refused_unsupported)
{
    one_conn_pool(NULL);
    expect_refused("MONITOR");
}

Test(pool_clean, hello_is_refused_unsupported)
{
    one_conn_pool(NULL);
    expect_refused("HELLO 3");
}

Test(pool_clean, client_reply_is_refused_unsupported)
{
    one_conn_pool(NULL);
    expect_refused("CLIENT REPLY OFF");
}

Test(pool_clean, ssubscribe_is_refused_unsupported)
{
    one_conn_pool(NULL);
    expect_refused("SSUBSCRIBE ch");
}

Test(pool_clean, client_name_with_a_space_is_refused_at_creation)
{
    redisconn_pool_options o;
    redisconn_error err;
    redisconn_pool_options_init(&o);
    o.client_name = "two words";
    cr_assert_null(redisconn_pool_new_with_options(env.base, env.srv->addr, &o, &err));
    cr_assert_eq(err.status, REDISCONN_ERR_INVALID);
    cr_assert(strstr(err.message, "client_name") != NULL, "%s", err.message);
}
