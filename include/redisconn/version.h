/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redisconn/version.h — the library's version: the one source of truth.
 * CMakeLists.txt reads REDISCONN_VERSION_MAJOR/MINOR/PATCH from this file
 * for project(VERSION), so the packages (CMake, pkg-config, Debian) carry
 * the same number. Bump it here only.
 *
 * SONAME POLICY (docs in README.md): the shared libraries' SONAME is
 * libredisconn.so.<REDISCONN_SOVERSION> (libredisconn_server.so.<same>),
 * an ABI number independent of the version: it changes with every release
 * that breaks the ABI (a function removed or changed, a public struct
 * changed), and only then; Debian's package names follow it
 * (libredisconn0, libredisconn-server0).
 */
#ifndef REDISCONN_VERSION_H
#define REDISCONN_VERSION_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define REDISCONN_VERSION_MAJOR 0
#define REDISCONN_VERSION_MINOR 1
#define REDISCONN_VERSION_PATCH 0

/** The ABI number in the SONAME (see SONAME POLICY above). */
#define REDISCONN_SOVERSION 0

#define REDISCONN__STR2(x) #x
#define REDISCONN__STR(x)  REDISCONN__STR2(x)

/** "MAJOR.MINOR.PATCH" of the headers compiled against. */
#define REDISCONN_VERSION                                                                          \
    REDISCONN__STR(REDISCONN_VERSION_MAJOR)                                                        \
    "." REDISCONN__STR(REDISCONN_VERSION_MINOR) "." REDISCONN__STR(REDISCONN_VERSION_PATCH)

/** MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define REDISCONN_VERSION_NUMBER                                                                   \
    (REDISCONN_VERSION_MAJOR * 10000 + REDISCONN_VERSION_MINOR * 100 + REDISCONN_VERSION_PATCH)

/**
 * The version of the library linked at run time, "MAJOR.MINOR.PATCH"
 * (compare it with REDISCONN_VERSION, the headers'). Static storage owned by
 * the library, valid for the life of the process; never NULL. Any thread.
 */
REDISCONN_EXPORT const char *redisconn_version(void);

#ifdef __cplusplus
}
#endif

#endif /* REDISCONN_VERSION_H */
