/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics_fixture.c: see metrics_fixture.h. */
#include "support/metrics_fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

redisconn_metrics *registry;
char *collected_text;
rt_expo *collected;

void given_registry(void)
{
    registry = redisconn_metrics_new();
    cr_assert_not_null(registry);
    collected = malloc(sizeof(*collected));
    cr_assert_not_null(collected);
    collected_text = NULL;
}

const rt_expo *collect_metrics(void)
{
    size_t len = 0;
    free(collected_text);
    collected_text = NULL;
    cr_assert_eq(redisconn_metrics_collect(registry, &collected_text, &len), REDISCONN_OK);
    cr_assert_not_null(collected_text);
    cr_assert_eq(strlen(collected_text), len);
    rt_expo_parse(collected_text, collected);
    return collected;
}

void rt_registry_teardown(void)
{
    redisconn_metrics_free(registry);
    free(collected);
    free(collected_text);
    registry = NULL;
    collected = NULL;
    collected_text = NULL;
}
