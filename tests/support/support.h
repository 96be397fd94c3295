/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * support.h — test support: real redis-servers on free loopback ports, a
 * scriptable fake server for what a real one cannot do, event-loop helpers
 * and fd counting. Used by every suite in tests/.
 *
 * Servers are started per test (Criterion runs each test in its own process)
 * in a fresh temp dir with `--save '' --appendonly no`, and die with the test
 * process (PR_SET_PDEATHSIG) even when it crashes.
 */
#ifndef REDISCONN_TEST_SUPPORT_H
#define REDISCONN_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

struct event_base;
struct event;

typedef struct rt_server_opts {
    const char *requirepass;   /* --requirepass */
    int maxclients;            /* --maxclients, 0 = default */
    int unix_socket;           /* also listen on a unix socket in the temp dir */
    const char *extra[8];      /* further "--name", "value" pairs, NULL-terminated */
    const char *sentinel_conf; /* run as a sentinel with these config lines (see
                                  support/sentinel_support.h) */
} rt_server_opts;

typedef struct rt_server {
    pid_t pid;
    int port;
    char dir[256];
    char addr[64];       /* "127.0.0.1:<port>" */
    char unix_addr[300]; /* "unix:<dir>/redis.sock" when unix_socket */
    rt_server_opts opts;
} rt_server;

/* Starts a redis-server on a free loopback port and waits until it answers.
 * Fails the current test (cr_assert) if it cannot. */
rt_server *rt_server_start(const rt_server_opts *opts);
/* SIGTERM, wait; SIGKILL if it takes over 5 s. Idempotent. */
void rt_server_stop(rt_server *s);
/* SIGKILL, wait. */
void rt_server_kill(rt_server *s);
/* SIGSTOP / SIGCONT: the server keeps its sockets but answers nothing. */
void rt_server_pause(rt_server *s);
void rt_server_resume(rt_server *s);
/* Resumes a paused server, runs `base` for 200 ms and asserts that *calls
 * is still 1: the late answer to an operation whose caller was already told
 * (deadline, cancel) was dropped. */
void rt_server_resume_expect_dropped(rt_server *s, struct event_base *base, const int *calls);
/* Starts it again on the same port and options (after stop or kill). */
void rt_server_restart(rt_server *s);
/* Stops the server if running and removes its temp dir. */
void rt_server_free(rt_server *s);

/* Runs a command on a new synchronous connection (AUTH first when the server
 * has a password). Returns the reply (freeReplyObject it) or NULL. */
redisReply *rt_cmd(rt_server *s, const char *fmt, ...);
/* Integer result of INFO field `field` in section clients/stats, or -1. */
long long rt_info_int(rt_server *s, const char *field);
/* Number of clients connected (CLIENT LIST lines, minus the asking one). */
int rt_clients(rt_server *s);

/* Waiting. Tests wait FOR something by a predicate, never by a fixed sleep:
 * the timeout is a watchdog, and the wait ends as soon as the condition
 * holds. A fixed run of the loop (rt_loop_quiet) is only for checking that
 * something does NOT happen within a time. */

/* Runs `base` until *flag becomes non-zero or `timeout_ms` passes.
 * Returns 1 if the flag was set. */
int rt_loop_until(struct event_base *base, const int *flag, int timeout_ms);
/* Runs `base` until `pred(arg)` is true or timeout; returns the last value. */
int rt_loop_until_pred(struct event_base *base, int (*pred)(void *arg), void *arg, int timeout_ms);

/* Runs `base` until the expression `cond` (re-evaluated after every loop
 * pass, at most 5 ms apart) is true; fails the test naming `cond` when it is
 * not true within `timeout_ms`. Needs <criterion/criterion.h>. */
#define rt_await(base, cond, timeout_ms)                                                           \
    do {                                                                                           \
        rt_waiter rt_await_w_;                                                                     \
        rt_wait_begin(&rt_await_w_, (base), (timeout_ms));                                         \
        while (!(cond) && rt_wait_pass(&rt_await_w_)) {                                            \
        }                                                                                          \
        rt_wait_end(&rt_await_w_);                                                                 \
        cr_assert((cond), "not within %d ms: %s", (int)(timeout_ms), #cond);                       \
    } while (0)

/* Runs `base` for `ms` milliseconds. For checking that something does NOT
 * happen in that time (a second callback, an early one, a late reply that
 * must be dropped, an entry that must not expire), for a duration that is
 * the point (a lease outliving its lifetime, a wait that must last), and for
 * the few steps nothing can show (each call says why). Never to wait FOR
 * something that can be observed: that is rt_await / rt_loop_until. */
void rt_loop_quiet(struct event_base *base, int ms);

/* The stepper under rt_await and rt_loop_until_pred: begin, then one loop
 * pass per rt_wait_pass() (0 once `timeout_ms` has passed), then end. */
typedef struct rt_waiter {
    struct event_base *base;
    struct event *tick; /* keeps EVLOOP_ONCE from blocking past the deadline */
    int64_t end_ms;
} rt_waiter;
void rt_wait_begin(rt_waiter *w, struct event_base *base, int timeout_ms);
int rt_wait_pass(rt_waiter *w);
void rt_wait_end(rt_waiter *w);

/* Open file descriptors of this process. */
int rt_count_fds(void);

/* A free TCP port on 127.0.0.1 (bound and released). */
int rt_free_port(void);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t rt_now_ms(void);

/* A fake server for protocol faults: accepts connections on a free loopback
 * port (in a thread) and answers each request read with `reply` bytes
 * verbatim; after `close_after` requests (0 = never) it closes the socket. */
typedef struct rt_fake rt_fake;
rt_fake *rt_fake_start(const char *reply, size_t len, int close_after);
int rt_fake_port(const rt_fake *f);
const char *rt_fake_addr(const rt_fake *f);
void rt_fake_stop(rt_fake *f);

/* Log capture for pools: appends every line to a buffer. */
typedef struct rt_log {
    char buf[16384];
    size_t len;
    int lines;
} rt_log;
void rt_log_fn(int level, const char *msg, void *arg);

#endif
