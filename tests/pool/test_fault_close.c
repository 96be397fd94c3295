/* SPDX-License-Identifier: BSD-3-Clause */
/* test_fault_close.c — closing the pool under load: hundreds of requests in
 * flight, on leases (with commands in flight), in the waiter queue and as
 * pool-level commands. Every callback fires exactly once, the close callback
 * once, and the fd count comes back to the baseline. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "support/fault_load.h"
#include "support/pool_fixture.h"

TestSuite(fault_close, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

/* 200 leased clients on 32 connections (168 waiting) and 100 pool-level
 * clients; the pool is closed in the middle and the load stops starting
 * requests (the pool is freed once the last lease is released). Returns the
 * load, drained. */
static rt_load *close_under_load(redisconn_pool_stats *before)
{
    redisconn_pool_options *o = given_options();
    rt_load_opts lo = {.leased = 200, .pooled = 100, .acquire_timeout_ms = 5000};
    rt_load *l;
    o->max_active = 32;
    given_pool(o);
    l = rt_load_start(env.pool, env.base, &lo);
    rt_await(env.base, l->ok >= 1000 && pool_stats().waiting_count > 100, 5000);
    *before = pool_stats();
    rt_load_stop(l); /* the pool is freed once closed: nothing may use it after */
    close_pool();
    expect_pool_freed();
    rt_await(env.base, l->busy == 0, 1000);
    rt_load_dump(l, "close under load");
    return l;
}

Test(fault_close, close_under_load_calls_every_callback_exactly_once_and_frees_everything)
{
    redisconn_pool_stats st;
    rt_load *l = close_under_load(&st);
    fprintf(stderr, "closed with %d leased, %d waiting\n", st.in_use_count, st.waiting_count);
    rt_load_check(l);
    rt_await(env.base, rt_clients(env.srv) == 0, 500); /* the server sees every close */
    rt_load_free(l);
}

Test(fault_close, close_under_load_fails_the_waiting_acquires_with_closed)
{
    redisconn_pool_stats st;
    rt_load *l = close_under_load(&st);
    cr_assert_geq(rt_load_count(l, REDISCONN_ERR_CLOSED), 100, "%llu acquires failed CLOSED",
                  (unsigned long long)rt_load_count(l, REDISCONN_ERR_CLOSED));
    rt_load_check(l);
    rt_load_free(l);
}

Test(fault_close, close_under_load_lets_commands_in_flight_finish)
{
    redisconn_pool_stats st;
    rt_load *l = close_under_load(&st);
    uint64_t other = l->failed - rt_load_count(l, REDISCONN_ERR_CLOSED);
    cr_assert_eq(other, 0, "%llu requests failed otherwise than CLOSED", (unsigned long long)other);
    rt_load_check(l);
    rt_load_free(l);
}
