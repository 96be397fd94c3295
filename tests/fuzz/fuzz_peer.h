/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_peer.h — an in-process fake Redis server on the fuzz target's own
 * event_base, for feeding a pool arbitrary server bytes without threads: a
 * non-blocking unix-socket listener, and per connection a script.
 *
 * SCRIPT. The first connection after rf_peer_script() plays it: in "auto"
 * mode it answers every command with +OK (the pool's handshake: SELECT,
 * AUTH, ...) until one whose first argument starts with RF_PEER_MARKER, the
 * sign that the commands under test have arrived; in "raw" mode it starts at
 * the first byte received. Then it writes the script's bytes, one chunk per
 * loop iteration, and shuts its write side down (the pool sees EOF after the
 * last byte). Every later connection gets EOF at once. A connection is closed
 * when the pool closes its end; input from the pool is read and dropped.
 *
 * OWNERSHIP. The script's bytes are borrowed until rf_peer_idle() is true.
 */
#ifndef REDISCONN_FUZZ_PEER_H
#define REDISCONN_FUZZ_PEER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Arguments of the commands under test start with this. */
#define RF_PEER_MARKER "fuzz:"

typedef struct rf_peer rf_peer;

/* How a script's bytes are cut into writes. */
typedef struct rf_chunking {
    size_t size; /* bytes per write; 0 = everything at once */
    int at_crlf; /* cut after every "\r\n" instead (size ignored) */
} rf_chunking;

/* Listens on a socket in rf_tempdir(), on `base`. Aborts if it cannot. */
rf_peer *rf_peer_start(struct event_base *base);

/* The address to give the pool: "unix:<path>". */
const char *rf_peer_addr(const rf_peer *p);

/* Arms the script for the next connection (see SCRIPT). */
void rf_peer_script(rf_peer *p, const uint8_t *data, size_t len, rf_chunking how, int raw);

/* 1 when no connection is open (every accepted one has been closed). */
int rf_peer_idle(const rf_peer *p);

/* Connections accepted since rf_peer_start(). */
unsigned rf_peer_accepted(const rf_peer *p);

#endif
