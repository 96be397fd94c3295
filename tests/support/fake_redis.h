/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_redis.h — a tiny RESP server for the protocol faults a real Redis
 * cannot produce: garbage bytes, half a reply then close, replies trickling
 * in one byte at a time, replies nobody asked for.
 *
 * It parses the requests (RESP arrays, pipelined or not) and answers the
 * handshake (AUTH, CLIENT ..., SELECT) and PING like Redis; SET and GET work
 * on a small in-memory store. The fault applies to the first `faulty`
 * connections it accepts (0 = all of them); the others behave. One thread,
 * poll(2), up to 32 connections at once.
 */
#ifndef REDISCONN_TEST_FAKE_REDIS_H
#define REDISCONN_TEST_FAKE_REDIS_H

typedef enum rt_fake_fault {
    RT_FAKE_SANE = 0,    /* no fault */
    RT_FAKE_GARBAGE,     /* data commands (SET, GET) are answered with bytes that are not RESP */
    RT_FAKE_HALF_REPLY,  /* data commands get half a bulk reply, then the socket is closed */
    RT_FAKE_BYTEWISE,    /* every reply is written one byte at a time, 1 ms apart */
    RT_FAKE_EXTRA_IDLE,  /* 50 ms after the handshake, "+SURPRISE" is sent unasked */
    RT_FAKE_EXTRA_REPLY, /* the first data command is answered, then "+SURPRISE" follows at once */
    RT_FAKE_FIN_RESET,   /* stops reading once a data command starts arriving; on
                            rt_fake_redis_fin_then_reset(): FIN, then RST 20 ms later */
} rt_fake_fault;

typedef struct rt_fake_redis rt_fake_redis;

/* Starts it on a free loopback port; fails the test if it cannot. */
rt_fake_redis *rt_fake_redis_start(rt_fake_fault fault, int faulty);
/* "127.0.0.1:<port>". */
const char *rt_fake_redis_addr(const rt_fake_redis *f);
/* Connections accepted so far. */
int rt_fake_redis_accepted(const rt_fake_redis *f);
/* Unsolicited replies sent so far. */
int rt_fake_redis_extras(const rt_fake_redis *f);
/* RT_FAKE_FIN_RESET: 1 once a data command has started arriving (the
 * connection is held: nothing more is read from it). */
int rt_fake_redis_holding(const rt_fake_redis *f);
/* RT_FAKE_FIN_RESET: the held connection is shut down for writing (the
 * client sees FIN: the server went away), then reset (RST) 20 ms later.
 * Blocks until both were done: the caller's loop does not run meanwhile, so
 * the client finds both when it looks next. Fails the test after 2 s. */
void rt_fake_redis_fin_then_reset(rt_fake_redis *f);
/* Stops the thread and closes every socket. NULL is a no-op. */
void rt_fake_redis_stop(rt_fake_redis *f);

#endif
