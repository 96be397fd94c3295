/* SPDX-License-Identifier: BSD-3-Clause */
/* test_pool_pubsub.c — pub/sub on a lease: a subscribed connection accepts
 * only (P)SUBSCRIBE, (P)UNSUBSCRIBE and PING; PING is answered; (P)UNSUBSCRIBE
 * calls back once its confirmations are in; subscriptions get their final
 * call; messages reach the subscription they belong to. */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>

#include "support/pool_fixture.h"

TestSuite(pool_pubsub, .init = given_server, .fini = rt_env_teardown, .timeout = 30);

/* Records every call of a subscription: its last message payload, kinds. */
typedef struct sub_probe {
    int calls;
    int status;
    int messages;
    char kind[16];    /* element 0 of the last reply */
    char payload[64]; /* element 2 (message) or 3 (pmessage) */
} sub_probe;

static void on_sub(redisconn_conn *conn, int status, redisReply *reply, void *arg)
{
    sub_probe *p = arg;
    (void)conn;
    p->calls++;
    p->status = status;
    cr_assert((status == REDISCONN_OK) == (reply != NULL));
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
    snprintf(p->kind, sizeof(p->kind), "%s", reply->element[0]->str);
    if (strcmp(p->kind, "message") == 0 || strcmp(p->kind, "pmessage") == 0) {
        redisReply *body = reply->element[reply->elements - 1];
        p->messages++;
        snprintf(p->payload, sizeof(p->payload), "%s", body->str);
    }
}

static void publish(const char *channel, const char *msg)
{
    redisReply *r = rt_cmd(env.srv, "PUBLISH %s %s", channel, msg);
    cr_assert_not_null(r);
    freeReplyObject(r);
}

/* A lease subscribed to "ch1" with its confirmation received. */
static redisconn_conn *subscribed(sub_probe *p)
{
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, on_sub, p, "SUBSCRIBE %s", "ch1"), REDISCONN_OK);
    rt_await(env.base, p->calls >= 1, 2000);
    cr_assert_str_eq(p->kind, "subscribe");
    return c;
}

Test(pool_pubsub, other_commands_on_a_subscribed_lease_are_refused)
{
    sub_probe p = {0};
    redisconn_conn *c = subscribed(&p);
    cr_assert_eq(redisconn_command(c, rt_never_reply_cb, NULL, "GET %s", "k"),
                 REDISCONN_ERR_SUBSCRIBED);
    cr_assert_eq(redisconn_command(c, rt_never_reply_cb, NULL, "SET k v"),
                 REDISCONN_ERR_SUBSCRIBED);
    redisconn_release(c);
}

Test(pool_pubsub, ping_on_a_subscribed_lease_gets_the_pong_message)
{
    sub_probe p = {0};
    rt_reply r = {0};
    redisconn_conn *c = subscribed(&p);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &r, "PING"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &r, 2000), "PING unanswered");
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.status, REDISCONN_OK);
    cr_assert_eq(r.type, REDIS_REPLY_ARRAY, "RESP2 answers PING in subscribe mode as a message");
    cr_assert_eq(p.calls, 1, "the pong reached the subscription");
    redisconn_release(c);
}

Test(pool_pubsub, messages_reach_their_subscription)
{
    sub_probe p = {0}, q = {0};
    redisconn_conn *c = subscribed(&p);
    cr_assert_eq(redisconn_command(c, on_sub, &q, "SUBSCRIBE %s", "ch2"), REDISCONN_OK);
    rt_await(env.base, q.calls >= 1, 2000);
    publish("ch2", "for-q");
    publish("ch1", "for-p");
    rt_await(env.base, p.messages >= 1 && q.messages >= 1, 2000);
    cr_assert_str_eq(p.payload, "for-p");
    cr_assert_str_eq(q.payload, "for-q");
    cr_assert_eq(p.messages, 1);
    cr_assert_eq(q.messages, 1);
    redisconn_release(c);
}

Test(pool_pubsub, pattern_messages_reach_the_pattern_subscription)
{
    sub_probe p = {0};
    given_pool(NULL);
    redisconn_conn *c = rt_acquire_ok(&env);
    cr_assert_eq(redisconn_command(c, on_sub, &p, "PSUBSCRIBE %s", "news.*"), REDISCONN_OK);
    rt_await(env.base, p.calls >= 1, 2000);
    publish("news.sport", "goal");
    rt_await(env.base, p.messages >= 1, 2000);
    cr_assert_str_eq(p.kind, "pmessage");
    cr_assert_str_eq(p.payload, "goal");
    redisconn_release(c);
}

Test(pool_pubsub, unsubscribe_calls_back_once_after_its_confirmation)
{
    sub_probe p = {0};
    rt_reply u = {0};
    redisconn_conn *c = subscribed(&p);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &u, "UNSUBSCRIBE %s", "ch1"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &u, 2000));
    rt_loop_quiet(env.base, 20); /* a second call would come now */
    cr_assert_eq(u.calls, 1);
    cr_assert_eq(u.status, REDISCONN_OK);
    cr_assert_eq(u.type, REDIS_REPLY_ARRAY);
    cr_assert_eq(p.calls, 3, "subscribe, unsubscribe confirmation, final call");
    cr_assert_eq(p.status, REDISCONN_ERR_CANCELED);
    redisconn_release(c);
}

Test(pool_pubsub, unsubscribe_without_channels_waits_for_every_channel)
{
    sub_probe p = {0}, q = {0};
    rt_reply u = {0};
    redisconn_conn *c = subscribed(&p);
    cr_assert_eq(redisconn_command(c, on_sub, &q, "SUBSCRIBE %s %s", "ch2", "ch3"), REDISCONN_OK);
    rt_await(env.base, q.calls >= 2, 2000);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &u, "UNSUBSCRIBE"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &u, 2000));
    cr_assert_eq(u.calls, 1);
    cr_assert_eq(p.status, REDISCONN_ERR_CANCELED, "ch1's subscription ended");
    cr_assert_eq(q.status, REDISCONN_ERR_CANCELED, "ch2 + ch3's subscription ended");
    redisconn_release(c);
}

Test(pool_pubsub, punsubscribe_with_no_pattern_subscribed_calls_back_once)
{
    sub_probe p = {0};
    rt_reply u = {0};
    redisconn_conn *c = subscribed(&p);
    /* Redis confirms "none" with a nil pattern, which hiredis 0.14 would
     * abort on. */
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &u, "PUNSUBSCRIBE"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &u, 2000));
    cr_assert_eq(u.calls, 1);
    cr_assert_eq(u.status, REDISCONN_OK);
    cr_assert_eq(p.calls, 1, "the channel subscription is untouched");
    publish("ch1", "still-here");
    rt_await(env.base, p.messages == 1, 2000);
    redisconn_release(c);
}

Test(pool_pubsub, a_lease_unsubscribed_from_everything_accepts_commands_again)
{
    sub_probe p = {0};
    rt_reply u = {0}, r;
    redisconn_conn *c = subscribed(&p);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &u, "UNSUBSCRIBE %s", "ch1"), REDISCONN_OK);
    cr_assert(rt_wait_reply(&env, &u, 2000));
    rt_command_wait(&env, c, &r, "SET %s %s", "after", "unsub");
    cr_assert_str_eq(r.str, "OK");
    redisconn_release(c);
}

Test(pool_pubsub, unsubscribe_in_flight_fails_once_when_the_connection_dies)
{
    sub_probe p = {0};
    rt_reply u = {0};
    redisconn_conn *c = subscribed(&p);
    rt_server_pause(env.srv);
    cr_assert_eq(redisconn_command(c, rt_reply_cb, &u, "UNSUBSCRIBE %s", "ch1"), REDISCONN_OK);
    rt_server_kill(env.srv);
    cr_assert(rt_wait_reply(&env, &u, 3000));
    rt_loop_quiet(env.base, 20); /* a second call would come now */
    cr_assert_eq(u.calls, 1);
    cr_assert_neq(u.status, REDISCONN_OK);
    cr_assert_eq(p.calls, 2, "the subscribe confirmation, then the final call with the error");
    cr_assert_neq(p.status, REDISCONN_OK);
    redisconn_release(c);
}
