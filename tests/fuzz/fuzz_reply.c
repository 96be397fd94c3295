/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_reply.c — the adapter's read path (and the pool's reply routing) fed
 * with arbitrary server bytes: a pool connected to the in-process peer of
 * fuzz_peer.h, which answers with the input.
 *
 * INPUT. Byte 0:
 *   bits 0-1  number of commands - 1 (1..4)
 *   bits 2-4  first entry of the command table (then the next ones, cycling;
 *             5: SUBSCRIBE, PING, UNSUBSCRIBE)
 *   bit  5    pool-level commands (redisconn_pool_command) instead of a lease
 *   bit  6    raw: the input also answers the handshake (SELECT)
 *   bit  7    lease: release right after sending, not after the last final call
 * Byte 1:
 *   bits 0-5  chunk size, one write per loop iteration (0: all at once)
 *   bit  6    close the pool right after sending the commands
 *   bit  7    cut the chunks after every "\r\n" instead
 * The rest is what the server sends (after the handshake unless raw), then
 * EOF.
 *
 * PROPERTIES. The acquire callback fires exactly once; every command that was
 * accepted gets exactly one final callback (a subscription: any number of
 * messages, then one non-OK call), with a reply if and only if the status is
 * OK, never after its final call; an OK reply equals the reply a hiredis
 * reader finds at the command's place in the stream (no reply ever reaches
 * another request — checked unless raw or subscribed); the pool closes, its
 * close callback fires once, and no event or connection is left behind (the
 * peer closes a connection only after EOF from the pool, so "peer idle" means
 * the pool closed every socket it opened); no write raises SIGPIPE.
 * A violation aborts (libFuzzer saves the input), as would an abort inside
 * hiredis (README.md, "Findings").
 */
#include "fuzz.h"
#include "fuzz_peer.h"
#include "redisconn/pool.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RF_TARGET "reply"

#define MAX_CMDS   4
#define WATCHDOG_S 10

/* Commands under test: argv after the name is RF_PEER_MARKER<i> (the
 * channel RF_PEER_MARKER "ch" for (UN)SUBSCRIBE), then `extra`. In input
 * order from 5: SUBSCRIBE, PING (allowed while subscribed), UNSUBSCRIBE. */
enum { PLAIN, SUB, UNSUB };
static const struct {
    const char *name, *extra[2];
    int kind;
} table[8] = {
    {"ECHO", {NULL}, PLAIN},        {"GET", {NULL}, PLAIN},         {"SET", {"v", NULL}, PLAIN},
    {"LRANGE", {"0", "-1"}, PLAIN}, {"INCR", {NULL}, PLAIN},        {"SUBSCRIBE", {NULL}, SUB},
    {"PING", {NULL}, PLAIN},        {"UNSUBSCRIBE", {NULL}, UNSUB},
};

typedef struct cmd {
    int slot;     /* its place among the accepted commands (its reply's index) */
    int stream;   /* a subscription */
    int final;    /* the final callback has fired */
    unsigned oks; /* subscription messages */
} cmd;

typedef struct run {
    int lease, raw, release_now, close_early;
    int ncmds, first;
    cmd cmds[MAX_CMDS];
    int accepted, finals;
    int acq_calls;
    redisconn_conn *held; /* the lease, until its commands are answered */
    redisconn_pool *pool;
    int closing, closed_calls;
    int attribute; /* OK replies must match `expect` */
    redisReply *expect[MAX_CMDS];
    int nexpect;
} run;

static struct event_base *base;
static rf_peer *peer;
static struct event *watchdog;
static int watchdog_fired, baseline_events;
static run r;

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    watchdog_fired = 1;
}

/* Writes must never raise SIGPIPE (issue 9 item 6); libFuzzer would not
 * catch it, so it becomes a reported crash with its input. */
static void on_sigpipe(int sig)
{
    (void)sig;
    rf_fail(RF_TARGET, "a write raised SIGPIPE");
}

static void setup(void)
{
    signal(SIGPIPE, on_sigpipe); /* the peer never raises it (MSG_NOSIGNAL): the pool did */
    if ((base = event_base_new()) == NULL) rf_fail(RF_TARGET, "no event_base");
    peer = rf_peer_start(base);
    if ((watchdog = evtimer_new(base, on_watchdog, NULL)) == NULL)
        rf_fail(RF_TARGET, "out of memory");
    baseline_events = event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED);
}

static int same_reply(const redisReply *a, const redisReply *b)
{
    if (a->type != b->type) return 0;
    switch (a->type) {
    case REDIS_REPLY_INTEGER:
        return a->integer == b->integer;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    case REDIS_REPLY_ARRAY:
        if (a->elements != b->elements) return 0;
        for (size_t i = 0; i < a->elements; i++)
            if (!same_reply(a->element[i], b->element[i])) return 0;
        return 1;
    default:
        return 1;
    }
}

/* The replies a hiredis reader finds in the stream, up to MAX_CMDS. */
static void read_expected(const uint8_t *data, size_t len)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;
    if (rd == NULL) rf_fail(RF_TARGET, "out of memory");
    redisReaderFeed(rd, (const char *)data, len);
    while (r.nexpect < MAX_CMDS && redisReaderGetReply(rd, &reply) == REDIS_OK && reply != NULL) {
        r.expect[r.nexpect++] = reply;
        reply = NULL;
    }
    redisReaderFree(rd);
}

/* The lease is released once every command has had its final call (a
 * subscription's comes when the connection closes: at the peer's EOF). */
static void maybe_release(void)
{
    if (r.held != NULL && r.finals == r.accepted) {
        redisconn_conn *c = r.held;
        r.held = NULL;
        redisconn_release(c);
    }
}

static void on_reply(redisconn_conn *conn, int status, redisReply *reply, void *privdata)
{
    cmd *c = privdata;
    if (c->final) rf_fail(RF_TARGET, "command %d: a callback after its final one", c->slot);
    RF_CHECK((status == REDISCONN_OK) == (reply != NULL));
    if (!r.lease) RF_CHECK(conn == NULL);
    if (c->stream && status == REDISCONN_OK) {
        c->oks++;
        return;
    }
    c->final = 1;
    r.finals++;
    if (status == REDISCONN_OK && r.attribute &&
        (c->slot >= r.nexpect || !same_reply(reply, r.expect[c->slot])))
        rf_fail(RF_TARGET, "command %d got a reply that is not the %d-th of the stream", c->slot,
                c->slot + 1);
    maybe_release();
}

/* Sends command `i` of this run on `conn` (NULL: pool-level). */
static void send_cmd(redisconn_conn *conn, int i)
{
    char arg[16];
    const char *argv[4];
    int argc = 0, rc, t = (r.first + i) % 8;
    cmd *c = &r.cmds[r.accepted];
    if (table[t].kind == PLAIN)
        snprintf(arg, sizeof(arg), "%s%d", RF_PEER_MARKER, i);
    else
        snprintf(arg, sizeof(arg), "%sch", RF_PEER_MARKER);
    argv[argc++] = table[t].name;
    argv[argc++] = arg;
    for (int k = 0; k < 2 && table[t].extra[k] != NULL; k++)
        argv[argc++] = table[t].extra[k];
    memset(c, 0, sizeof(*c));
    c->slot = r.accepted;
    c->stream = table[t].kind == SUB;
    if (conn != NULL)
        rc = redisconn_command_argv(conn, on_reply, c, argc, argv, NULL);
    else
        rc = redisconn_pool_command_argv(r.pool, 0, on_reply, c, argc, argv, NULL);
    if (rc != REDISCONN_OK) return; /* refused (a subscription without a lease): no callback */
    r.accepted++;
    if (table[t].kind != PLAIN) r.attribute = 0; /* pub/sub: replies go by channel */
}

static void on_closed(redisconn_pool *pool, void *arg)
{
    (void)pool;
    (void)arg;
    r.closed_calls++;
}

static void start_close(void)
{
    r.closing = 1;
    RF_CHECK(redisconn_pool_close(r.pool, on_closed, NULL) == REDISCONN_OK);
}

static void on_acquired(redisconn_conn *conn, int status, const char *errmsg, void *arg)
{
    (void)errmsg;
    (void)arg;
    if (++r.acq_calls != 1) rf_fail(RF_TARGET, "the acquire callback fired twice");
    RF_CHECK((status == REDISCONN_OK) == (conn != NULL));
    if (conn == NULL) return;
    for (int i = 0; i < r.ncmds; i++)
        send_cmd(conn, i);
    r.held = conn;
    if (r.release_now) {
        r.held = NULL;
        redisconn_release(conn);
    } else {
        maybe_release();
    }
    if (r.close_early) start_close();
}

/* Everything the run started has ended. */
static int all_called(void)
{
    return (!r.lease || r.acq_calls == 1) && r.finals == r.accepted;
}

static void describe_and_fail(const char *what)
{
    rf_fail(RF_TARGET,
            "%s: lease %d raw %d acquire calls %d, %d of %d commands final, pool closing %d "
            "closed %d, peer idle %d",
            what, r.lease, r.raw, r.acq_calls, r.finals, r.accepted, r.closing, r.closed_calls,
            rf_peer_idle(peer));
}

/* Runs the loop until the pool is freed and the peer has nothing open. */
static void run_to_end(void)
{
    static const struct timeval limit = {WATCHDOG_S, 0};
    watchdog_fired = 0;
    evtimer_add(watchdog, &limit);
    while (r.closed_calls == 0 || !rf_peer_idle(peer)) {
        if (!r.closing && all_called()) start_close();
        event_base_loop(base, EVLOOP_ONCE);
        if (watchdog_fired) describe_and_fail("stuck");
    }
    evtimer_del(watchdog);
    event_base_loop(base, EVLOOP_NONBLOCK); /* nothing may fire any more */
    if (!all_called() || r.closed_calls != 1) describe_and_fail("a callback is missing");
    RF_CHECK(r.held == NULL);
    RF_CHECK(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED) == baseline_events);
}

int rf_run_reply(const uint8_t *data, size_t size)
{
    redisconn_pool_options o;
    rf_chunking how;
    redisconn_error err;

    if (size < 2) return 0;
    if (base == NULL) setup();
    memset(&r, 0, sizeof(r));
    r.ncmds = (data[0] & 3) + 1;
    r.first = (data[0] >> 2) & 7;
    r.lease = !(data[0] & 0x20);
    r.raw = (data[0] & 0x40) != 0;
    r.release_now = (data[0] & 0x80) != 0;
    r.close_early = (data[1] & 0x40) != 0;
    r.attribute = !r.raw;
    how.size = data[1] & 0x3f;
    how.at_crlf = (data[1] & 0x80) != 0;
    if (r.attribute) read_expected(data + 2, size - 2);

    redisconn_pool_options_init(&o);
    o.connect_timeout_ms = 3000;
    o.command_timeout_ms = 3000;
    o.max_active = r.lease ? 1 : 4;
    o.max_idle = 1;
    o.max_shared = 1;
    rf_peer_script(peer, data + 2, size - 2, how, r.raw);
    r.pool = redisconn_pool_new_with_options(base, rf_peer_addr(peer), &o, &err);
    if (r.pool == NULL) rf_fail(RF_TARGET, "cannot create the pool: %s", err.message);
    if (r.lease) {
        RF_CHECK(redisconn_pool_acquire(r.pool, 3000, on_acquired, NULL) != NULL);
    } else {
        for (int i = 0; i < r.ncmds; i++)
            send_cmd(NULL, i);
        if (r.close_early) start_close();
    }
    RF_CHECK(r.acq_calls == 0 && r.finals == 0); /* never from inside the call */
    run_to_end();
    for (int i = 0; i < r.nexpect; i++)
        freeReplyObject(r.expect[i]);
    return 0;
}

RF_ENTRY(rf_run_reply)
