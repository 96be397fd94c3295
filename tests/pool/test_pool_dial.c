/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_dial.c — opening connections: addresses, refusal, AUTH, SELECT,
 * name resolution, handshake timeouts, protocol garbage, logging. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

/* Each test starts the server it needs (given_server_with), or none. */
TestSuite(pool_dial, .init = given_base, .fini = rt_env_teardown, .timeout = 30);

/* Creates a pool on `addr` with `o` and returns the result of one acquire. */
static rt_acq acquire_once(const char *addr, redisconn_pool_options *o)
{
    rt_acq a = {0};
    given_pool_at(addr, o);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 5000, rt_acq_cb, &a));
    cr_assert(rt_wait_acq(&env, &a, 6000), "acquire did not complete");
    rt_loop_quiet(env.base, 10); /* a second callback would come now */
    cr_assert_eq(a.calls, 1);
    return a;
}

Test(pool_dial, malformed_addresses_are_rejected_at_creation)
{
    static const char *bad[] = {NULL,
                                "",
                                "localhost",
                                "127.0.0.1:",
                                ":6379",
                                "127.0.0.1:0",
                                "127.0.0.1:65536",
                                "127.0.0.1:12x",
                                "127.0.0.1:-5",
                                "::1:6379",
                                "[::1]6379",
                                "[nothex]:6379",
                                "bad host:6379",
                                "unix:"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        redisconn_error err;
        cr_assert_null(redisconn_pool_new_with_options(env.base, bad[i], NULL, &err), "%s",
                       bad[i] ? bad[i] : "(null)");
        cr_assert_eq(err.status, REDISCONN_ERR_INVALID, "%s", bad[i] ? bad[i] : "(null)");
        cr_assert_neq(err.message[0], '\0', "%s: no reason given", bad[i] ? bad[i] : "(null)");
    }
    cr_assert_null(redisconn_pool_new(NULL, "127.0.0.1:6379", 0));
    cr_assert_null(redisconn_pool_new(env.base, "127.0.0.1:6379", -1));
}

Test(pool_dial, out_of_range_options_are_rejected_at_creation)
{
    redisconn_pool_options o;
    redisconn_error err;
    int *fields[] = {&o.max_idle,           &o.max_active, &o.max_waiters, &o.connect_timeout_ms,
                     &o.command_timeout_ms, &o.min_idle,   &o.db};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        redisconn_pool_options_init(&o);
        *fields[i] = -1;
        cr_assert_null(redisconn_pool_new_with_options(env.base, "127.0.0.1:1", &o, &err));
        cr_assert_eq(err.status, REDISCONN_ERR_INVALID);
        cr_assert(strstr(err.message, "must not be negative") != NULL, "%s", err.message);
    }
    redisconn_pool_options_init(&o);
    o.idle_timeout_ms = -5;
    cr_assert_null(redisconn_pool_new_with_options(env.base, "127.0.0.1:1", &o, &err));
    redisconn_pool_options_init(&o);
    o.min_idle = 10;
    o.max_idle = 5;
    cr_assert_null(redisconn_pool_new_with_options(env.base, "127.0.0.1:1", &o, &err));
    redisconn_pool_options_init(&o);
    o.username = "user";
    cr_assert_null(redisconn_pool_new_with_options(env.base, "127.0.0.1:1", &o, &err),
                   "username without password");
}

Test(pool_dial, connection_refused_fails_the_acquire_with_connect)
{
    int port = rt_free_port();
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    rt_acq a = acquire_once(addr, NULL);
    cr_assert_eq(a.status, REDISCONN_ERR_CONNECT, "got %s", redisconn_status_name(a.status));
    cr_assert(strstr(a.errmsg, "refused") != NULL, "message: %s", a.errmsg);
    redisconn_pool_stats st = pool_stats();
    cr_assert_eq(st.dial_errors, 1);
    cr_assert_eq(st.active_count, 0);
}

/* One acquire on a pool of database 99: the server refuses the SELECT. */
static rt_acq acquire_from_db_99(void)
{
    redisconn_pool_options o;
    given_server_with(NULL);
    redisconn_pool_options_init(&o);
    o.db = 99;
    return acquire_once(env.srv->addr, &o);
}

Test(pool_dial, database_out_of_range_fails_with_select_and_the_server_message)
{
    rt_acq a = acquire_from_db_99();
    cr_assert_eq(a.status, REDISCONN_ERR_SELECT, "got %s", redisconn_status_name(a.status));
    cr_assert(strstr(a.errmsg, "DB index is out of range") != NULL, "%s", a.errmsg);
}

Test(pool_dial, connection_that_failed_select_is_not_pooled)
{
    acquire_from_db_99();
    rt_await(env.base, rt_clients(env.srv) == 0, 50);
    cr_assert_eq(rt_clients(env.srv), 0, "the failed connection was not pooled");
}

Test(pool_dial, right_password_authenticates)
{
    rt_server_opts so = {.requirepass = "s3cret"};
    redisconn_pool_options o;
    given_server_with(&so);
    redisconn_pool_options_init(&o);
    o.password = "s3cret";
    rt_acq a = acquire_once(env.srv->addr, &o);
    cr_assert_eq(a.status, REDISCONN_OK, "%s", a.errmsg);
    rt_reply r;
    rt_command_wait(&env, a.conn, &r, "SET %s %s", "k", "v");
    cr_assert_str_eq(r.str, "OK");
    redisconn_release(a.conn);
}

Test(pool_dial, wrong_password_fails_with_auth)
{
    rt_server_opts so = {.requirepass = "s3cret"};
    redisconn_pool_options *o = given_options();
    given_server_with(&so);
    o->password = "wrong-pass-xyz";
    rt_acq a = acquire_once(env.srv->addr, o);
    cr_assert_eq(a.status, REDISCONN_ERR_AUTH, "got %s", redisconn_status_name(a.status));
    cr_assert(strstr(a.errmsg, "WRONGPASS") != NULL || strstr(a.errmsg, "invalid") != NULL, "%s",
              a.errmsg);
    cr_assert(strstr(env.log.buf, "wrong-pass-xyz") == NULL, "password logged: %s", env.log.buf);
}

Test(pool_dial, missing_password_fails_with_auth)
{
    rt_server_opts so = {.requirepass = "s3cret"};
    given_server_with(&so);
    rt_acq a = acquire_once(env.srv->addr, NULL);
    cr_assert_eq(a.status, REDISCONN_ERR_AUTH, "got %s", redisconn_status_name(a.status));
    cr_assert(strstr(a.errmsg, "NOAUTH") != NULL, "%s", a.errmsg);
}

Test(pool_dial, acl_username_and_password_authenticate)
{
    redisconn_pool_options o;
    given_server_with(NULL);
    redisReply *r = rt_cmd(env.srv, "ACL SETUSER app on >apppass ~* &* +@all");
    cr_assert_str_eq(r->str, "OK");
    freeReplyObject(r);
    redisconn_pool_options_init(&o);
    o.username = "app";
    o.password = "apppass";
    rt_acq a = acquire_once(env.srv->addr, &o);
    cr_assert_eq(a.status, REDISCONN_OK, "%s", a.errmsg);
    rt_reply rep;
    rt_command_wait(&env, a.conn, &rep, "ACL WHOAMI");
    cr_assert_str_eq(rep.str, "app");
    redisconn_release(a.conn);
}

Test(pool_dial, unix_socket_address_connects)
{
    rt_server_opts so = {.unix_socket = 1};
    given_server_with(&so);
    rt_acq a = acquire_once(env.srv->unix_addr, NULL);
    cr_assert_eq(a.status, REDISCONN_OK, "%s", a.errmsg);
    rt_reply r;
    rt_command_wait(&env, a.conn, &r, "PING");
    cr_assert_str_eq(r.str, "PONG");
    redisconn_release(a.conn);
}

Test(pool_dial, host_name_is_resolved_without_blocking)
{
    char addr[64];
    given_server_with(NULL);
    snprintf(addr, sizeof(addr), "localhost:%d", env.srv->port);
    rt_acq a = acquire_once(addr, NULL);
    cr_assert_eq(a.status, REDISCONN_OK, "%s", a.errmsg);
    redisconn_release(a.conn);
}

Test(pool_dial, unknown_host_name_fails_with_resolve)
{
    rt_acq a = acquire_once("no-such-host.invalid:6379", NULL);
    cr_assert_eq(a.status, REDISCONN_ERR_RESOLVE, "got %s (%s)", redisconn_status_name(a.status),
                 a.errmsg);
    cr_assert(strstr(a.errmsg, "no-such-host.invalid") != NULL, "%s", a.errmsg);
}

Test(pool_dial, stalled_server_fails_the_dial_with_connect_timeout)
{
    redisconn_pool_options o;
    given_server_with(NULL);
    rt_server_pause(env.srv); /* the kernel still accepts; nobody answers SELECT */
    redisconn_pool_options_init(&o);
    o.connect_timeout_ms = 150;
    int64_t t0 = rt_now_ms();
    rt_acq a = acquire_once(env.srv->addr, &o);
    rt_server_resume(env.srv);
    cr_assert_eq(a.status, REDISCONN_ERR_CONNECT, "got %s", redisconn_status_name(a.status));
    cr_assert_str_eq(a.errmsg, "connect timeout");
    cr_assert_geq(rt_now_ms() - t0, 140);
}

Test(pool_dial, max_clients_reached_fails_the_dial_with_the_server_message)
{
    rt_server_opts so = {.maxclients = 1};
    given_server_with(&so);
    redisContext *hog = redisConnect("127.0.0.1", env.srv->port); /* takes the only slot */
    rt_acq a = acquire_once(env.srv->addr, NULL);
    cr_assert_eq(a.status, REDISCONN_ERR_CONNECT, "got %s", redisconn_status_name(a.status));
    cr_assert(strstr(a.errmsg, "max number of clients") != NULL, "%s", a.errmsg);
    redisFree(hog);
}

Test(pool_dial, garbage_from_the_server_fails_the_dial)
{
    static const char junk[] = "this is not RESP\r\n";
    rt_fake *f = rt_fake_start(junk, sizeof(junk) - 1, 0);
    cr_assert_not_null(f);
    rt_acq a = acquire_once(rt_fake_addr(f), NULL);
    cr_assert_eq(a.status, REDISCONN_ERR_PROTOCOL, "got %s", redisconn_status_name(a.status));
    cr_assert(strstr(a.errmsg, "Protocol error") != NULL, "%s", a.errmsg);
    rt_fake_stop(f); /* its sockets were opened after the fd baseline */
    close_pool_expect_freed();
}

Test(pool_dial, half_reply_then_close_fails_the_dial)
{
    static const char half[] = "+O";
    rt_fake *f = rt_fake_start(half, sizeof(half) - 1, 1);
    rt_acq a = acquire_once(rt_fake_addr(f), NULL);
    cr_assert_eq(a.status, REDISCONN_ERR_CONNECT, "got %s", redisconn_status_name(a.status));
    rt_fake_stop(f); /* its sockets were opened after the fd baseline */
    close_pool_expect_freed();
}

Test(pool_dial, new_connections_are_logged_at_debug_without_the_password)
{
    rt_server_opts so = {.requirepass = "hunter2-pw"};
    redisconn_pool_options *o = given_options();
    given_server_with(&so);
    o->password = "hunter2-pw";
    rt_acq a = acquire_once(env.srv->addr, o);
    cr_assert_eq(a.status, REDISCONN_OK);
    redisconn_release(a.conn);
    close_pool_expect_freed();
    cr_assert(strstr(env.log.buf, "opening new Redis connection to 127.0.0.1:") != NULL, "%s",
              env.log.buf);
    cr_assert(strstr(env.log.buf, "hunter2-pw") == NULL, "password logged: %s", env.log.buf);
}
