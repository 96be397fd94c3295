/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics_fixture.h — the fixture of the metrics suites: a fresh registry
 * per test and its last collection, text and parsed. Criterion runs every
 * test in a process of its own, so the globals are the running test's:
 *     TestSuite(metrics, .init = given_registry, .fini = rt_registry_teardown, .timeout = 10);
 *     ...
 *     collect_metrics();
 *     cr_assert_eq(rt_expo_value(collected, "g"), 2);
 */
#ifndef REDISCONN_TEST_METRICS_FIXTURE_H
#define REDISCONN_TEST_METRICS_FIXTURE_H

#include "redisconn/metrics.h"
#include "support/expo.h"

extern redisconn_metrics *registry; /* the registry under test */
extern char *collected_text;        /* the last collection's text (owned), or NULL */
extern rt_expo *collected;          /* the last collection, every line parsed */

/* A fresh, empty registry: the .init of the metrics suites. */
void given_registry(void);
/* Collects `registry` into collected_text (asserting REDISCONN_OK and that
 * the length reported is the text's) and parses every line into `collected`
 * (rt_expo_parse: the test fails on an invalid line). */
const rt_expo *collect_metrics(void);
/* The .fini: frees the registry and the last collection. */
void rt_registry_teardown(void);

#endif
