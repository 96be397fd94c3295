/* SPDX-License-Identifier: BSD-3-Clause */
/* test_fault_stall.c — a server that stops answering for a while: SIGSTOP,
 * CLIENT PAUSE, DEBUG SLEEP, under load with a unique key and value per
 * request. Commands outliving their timeout fail with TIMEOUT and close
 * their connection, shorter stalls only delay them, no reply ever reaches
 * another request, and the pool serves again once the server answers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "support/fault_load.h"
#include "support/pool_fixture.h"

TestSuite(fault_stall, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

static void finish(rt_load *l)
{
    rt_load_drain(l, 5000);
    rt_load_check(l);
    rt_load_free(l);
    close_pool_expect_freed();
}

/* Failed steps with a status other than the ones listed (0-terminated). */
static uint64_t failures_other_than(const rt_load *l, const int *allowed)
{
    uint64_t n = 0;
    for (int i = 0; i < RT_LOAD_STATUSES; i++) {
        int ok = 0;
        for (const int *a = allowed; *a; a++)
            if (-*a == i) ok = 1;
        if (!ok) n += l->by_status[i];
    }
    return n;
}

static void pause_server(int ms)
{
    redisReply *r = rt_cmd(env.srv, "CLIENT PAUSE %d", ms);
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "CLIENT PAUSE");
    freeReplyObject(r);
}

/* ---- SIGSTOP ----------------------------------------------------------- */

/* Leased commands time out after 250 ms and close their connection;
 * pool-level ones after 300 ms, and their shared connection is closed only
 * 250 ms after that: at SIGCONT (450 ms) it is still open, so the late
 * replies of abandoned commands arrive on it, ahead of the replies to the
 * commands pipelined behind them. */
enum { STOP_MS = 450, STOP_TIMEOUT_MS = 250, STOP_POOL_TIMEOUT_MS = 300 };

typedef struct stop_run {
    rt_load *load;
    uint64_t ok_before_cont;
    int64_t served_again_ms; /* SIGCONT -> the next request served */
} stop_run;

/* 32 leased and 16 pool-level clients; the server is stopped for STOP_MS,
 * then runs 700 ms more. */
static void load_through_sigstop(stop_run *run)
{
    redisconn_pool_options *o = given_options();
    rt_load_opts lo = {.leased = 32,
                       .pooled = 16,
                       .acquire_timeout_ms = 2000,
                       .command_timeout_ms = STOP_POOL_TIMEOUT_MS};
    int64_t t_cont;
    o->max_active = 16;
    o->command_timeout_ms = STOP_TIMEOUT_MS;
    o->connect_timeout_ms = 1000;
    given_pool(o);
    run->load = rt_load_start(env.pool, env.base, &lo);
    rt_await(env.base, run->load->ok >= 500, 3000); /* traffic on every connection */
    rt_server_pause(env.srv);
    rt_loop_quiet(env.base, STOP_MS); /* deliberate: the stall lasts STOP_MS */
    run->ok_before_cont = run->load->ok;
    rt_server_resume(env.srv);
    t_cont = rt_now_ms();
    rt_await(env.base, run->load->ok > run->ok_before_cont, 2000);
    run->served_again_ms = run->load->last_ok_ms - t_cont;
    rt_loop_quiet(env.base, 700); /* late replies to timed-out commands arrive now */
    rt_load_drain(run->load, 3000);
    rt_load_dump(run->load, "sigstop");
    fprintf(stderr, "sigstop: %llu pool-level timeouts, %llu connections closed by a timeout\n",
            (unsigned long long)pool_stats().pool_command_timeouts,
            (unsigned long long)pool_stats().command_timeouts);
}

Test(fault_stall, sigstop_past_the_command_timeout_never_delivers_a_reply_to_another_request)
{
    stop_run run;
    load_through_sigstop(&run);
    rt_load_check(run.load); /* includes: no reply with another request's value or type */
    cr_assert_eq(run.load->nils, 0, "a GET answered nil after its SET was answered OK");
    finish(run.load);
}

Test(fault_stall, sigstop_past_the_command_timeout_fails_stalled_commands_with_timeout)
{
    static const int allowed[] = {REDISCONN_ERR_TIMEOUT, REDISCONN_ERR_IO, REDISCONN_ERR_CONNECT,
                                  0};
    stop_run run;
    load_through_sigstop(&run);
    cr_assert_gt(rt_load_count(run.load, REDISCONN_ERR_TIMEOUT), 0);
    cr_assert_gt(pool_stats().command_timeouts, 0, "timed-out leases closed their connection");
    cr_assert_eq(failures_other_than(run.load, allowed), 0, "unexpected statuses");
    finish(run.load);
}

Test(fault_stall, pool_serves_again_right_after_sigcont)
{
    stop_run run;
    load_through_sigstop(&run);
    cr_assert_leq(run.served_again_ms, 500, "first request served %lld ms after SIGCONT",
                  (long long)run.served_again_ms);
    finish(run.load);
}

/* ---- CLIENT PAUSE ------------------------------------------------------ */

/* 16 leased and 8 pool-level clients; CLIENT PAUSE `pause_ms` with command
 * timeout `timeout_ms`; runs until 300 ms after the pause ended. */
static rt_load *load_through_client_pause(int pause_ms, int timeout_ms)
{
    redisconn_pool_options *o = given_options();
    rt_load_opts lo = {.leased = 16, .pooled = 8, .acquire_timeout_ms = 3000};
    rt_load *l;
    o->max_active = 16;
    o->command_timeout_ms = timeout_ms;
    given_pool(o);
    l = rt_load_start(env.pool, env.base, &lo);
    rt_await(env.base, l->ok >= 300, 3000); /* traffic on every connection */
    rt_load_reset_latency(l);
    pause_server(pause_ms);
    rt_loop_quiet(env.base, pause_ms + 300); /* deliberate: through the pause and after */
    return l;
}

Test(fault_stall, client_pause_shorter_than_the_command_timeout_delays_commands_without_failing)
{
    rt_load *l = load_through_client_pause(300, 1500);
    rt_load_drain(l, 3000);
    rt_load_dump(l, "pause 300 ms, timeout 1500 ms");
    cr_assert_eq(l->failed, 0, "%llu requests failed, e.g. %s", (unsigned long long)l->failed,
                 l->last_errmsg);
    cr_assert_geq(l->max_ok_ms, 250, "the pause delayed requests (longest %lld ms)",
                  (long long)l->max_ok_ms);
    cr_assert_eq(pool_stats().command_timeouts, 0);
    finish(l);
}

Test(fault_stall, client_pause_longer_than_the_command_timeout_fails_commands_with_timeout)
{
    static const int allowed[] = {REDISCONN_ERR_TIMEOUT, REDISCONN_ERR_IO, REDISCONN_ERR_CONNECT,
                                  0};
    rt_load *l = load_through_client_pause(400, 100);
    rt_load_drain(l, 3000);
    rt_load_dump(l, "pause 400 ms, timeout 100 ms");
    cr_assert_gt(rt_load_count(l, REDISCONN_ERR_TIMEOUT), 0);
    cr_assert_gt(pool_stats().command_timeouts, 0, "their connections were closed");
    cr_assert_eq(failures_other_than(l, allowed), 0, "unexpected statuses");
    finish(l);
}

Test(fault_stall, requests_after_a_client_pause_longer_than_the_command_timeout_succeed)
{
    rt_load *l = load_through_client_pause(400, 100);
    uint64_t ok = l->ok;
    rt_loop_quiet(env.base, 300); /* deliberate: a window of traffic after the pause */
    rt_load_drain(l, 3000);
    cr_assert_gt(l->ok - ok, 100, "%llu requests served after the pause",
                 (unsigned long long)(l->ok - ok));
    finish(l);
}

/* ---- DEBUG SLEEP ------------------------------------------------------- */

enum { SLEEP_TIMEOUT_MS = 200 };

/* A lease sends DEBUG SLEEP 0.5 with command timeout 200 ms. Returns the
 * milliseconds until its callback. */
static int64_t debug_sleep_on_a_lease(redisconn_conn **conn, rt_reply *r)
{
    redisconn_pool_options *o = given_options();
    int64_t t0;
    o->command_timeout_ms = SLEEP_TIMEOUT_MS;
    given_pool(o);
    *conn = rt_acquire_ok(&env);
    memset(r, 0, sizeof(*r));
    t0 = rt_now_ms();
    cr_assert_eq(redisconn_command(*conn, rt_reply_cb, r, "DEBUG SLEEP 0.5"), REDISCONN_OK);
    rt_await(env.base, r->calls > 0, 2000);
    t0 = rt_now_ms() - t0;
    rt_loop_quiet(env.base, 20); /* a second callback would come now */
    cr_assert_eq(r->calls, 1);
    return t0;
}

Test(fault_stall, debug_sleep_past_the_command_timeout_fails_the_command_with_timeout)
{
    redisconn_conn *c;
    rt_reply r;
    int64_t took = debug_sleep_on_a_lease(&c, &r);
    cr_assert_eq(r.status, REDISCONN_ERR_TIMEOUT, "%s", redisconn_status_name(r.status));
    cr_assert(took >= SLEEP_TIMEOUT_MS - 10 && took < SLEEP_TIMEOUT_MS + 250, "after %lld ms",
              (long long)took);
    redisconn_release(c);
    close_pool_expect_freed();
}

Test(fault_stall, debug_sleep_past_the_command_timeout_closes_the_connection)
{
    redisconn_conn *c;
    rt_reply r;
    debug_sleep_on_a_lease(&c, &r);
    cr_assert_eq(redisconn_command(c, rt_never_reply_cb, NULL, "PING"), REDISCONN_ERR_IO);
    redisconn_release(c);
    cr_assert_eq(pool_stats().command_timeouts, 1);
    cr_assert_eq(pool_stats().active_count, 0);
    close_pool_expect_freed();
}

Test(fault_stall, pool_serves_again_once_debug_sleep_is_over)
{
    redisconn_conn *c;
    rt_reply r;
    debug_sleep_on_a_lease(&c, &r);
    redisconn_release(c);
    c = rt_acquire_ok(&env); /* a new dial: its SELECT is answered after the sleep */
    rt_command_wait(&env, c, &r, "PING");
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_str_eq(r.str, "PONG");
    redisconn_release(c);
    cr_assert_eq(pool_stats().dials, 2);
    close_pool_expect_freed();
}

static rt_reply sleeper;

static void sleep_and_release(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    (void)errmsg;
    (void)arg;
    cr_assert_eq(status, REDISCONN_OK);
    cr_assert_eq(
        redisconn_command_with_timeout(conn, 3000, rt_reply_cb, &sleeper, "DEBUG SLEEP 0.5"),
        REDISCONN_OK);
    redisconn_release(conn);
}

Test(fault_stall, debug_sleep_under_load_fails_requests_with_timeout_and_the_pool_recovers)
{
    static const int allowed[] = {REDISCONN_ERR_TIMEOUT, REDISCONN_ERR_IO, REDISCONN_ERR_CONNECT,
                                  0};
    redisconn_pool_options *o = given_options();
    rt_load_opts lo = {.leased = 8, .pooled = 4, .acquire_timeout_ms = 3000};
    rt_load *l;
    uint64_t ok;
    o->max_active = 16;
    o->command_timeout_ms = SLEEP_TIMEOUT_MS;
    given_pool(o);
    l = rt_load_start(env.pool, env.base, &lo);
    rt_await(env.base, l->ok >= 300, 3000);
    cr_assert_not_null(redisconn_pool_acquire(env.pool, 1000, sleep_and_release, NULL));
    rt_await(env.base, sleeper.calls > 0, 2000);
    cr_assert_eq(sleeper.status, REDISCONN_OK, "the sleep's own timeout is 3 s");
    ok = l->ok;
    rt_await(env.base, l->ok > ok + 100, 2000); /* serving again */
    rt_load_drain(l, 3000);
    rt_load_dump(l, "debug sleep");
    cr_assert_gt(rt_load_count(l, REDISCONN_ERR_TIMEOUT), 0);
    cr_assert_eq(failures_other_than(l, allowed), 0, "unexpected statuses");
    finish(l);
}
