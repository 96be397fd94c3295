/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * adminpb.h: the messages of the Go package's admin API
 * (server/redisconn/adminpb/admin.proto, copied in adminpb/admin.proto):
 *
 *   package server.redisconn;
 *   service Admin { rpc FlushAll(FlushAllRequest) returns (google.protobuf.Empty); }
 *   message FlushAllRequest { bool async = 1; }
 *
 * Decoding follows Go's protobuf runtime: binary skips unknown fields
 * (and a field 1 of another wire type, which it treats as unknown), the last
 * occurrence of a field wins, any non-zero varint is true; JSON (protojson)
 * takes an object whose only field may be "async" (true, false or null),
 * refusing unknown and repeated fields; the text format takes "async: <bool>"
 * (true/True/t/1, false/False/f/0), '#' comments, and nothing else.
 */
#ifndef REDISCONN_SERVER_ADMINPB_H
#define REDISCONN_SERVER_ADMINPB_H

#include <stddef.h>

/* Decodes a FlushAllRequest encoded in `fmt` (enum redisconn__prpc_format).
 * Returns 0 with `*async`, or -1 with the reason in `err`. */
int redisconn__adminpb_decode_flush_all(int fmt, const void *body, size_t len, int *async,
                                        char *err, size_t errlen);

#endif
