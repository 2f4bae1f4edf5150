/*
 * stub_bridge.h - bridge.h without a broker, for the fuzz targets that run the process's state
 * (dispatch, HTTP ingest). stub_bridge.c implements every function of bridge.h in memory (so the
 * libmosquitto client is not linked) and adds what the broker would do, driven by the fuzzer:
 * acknowledge subscriptions, deliver what was published to matching subscriptions and acknowledge
 * it, or abandon it.
 */
#ifndef MQEDGE_STUB_BRIDGE_H
#define MQEDGE_STUB_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "mqedge/bridge/bridge.h"

/* What was published and not yet acknowledged or abandoned. */
size_t stub_bridge_pending(const struct bridge *b);
/* SUBACKs every subscription not acknowledged yet (on_subscribed, in subscription order). */
void stub_bridge_suback(struct bridge *b);
/* The broker's turn: each pending publish, oldest first, goes to this bridge's matching active
 * subscriptions (on_message) when echo is set, and is acknowledged (on_published 0); then
 * on_batch_done. Publishes made meanwhile wait for the next turn. */
void stub_bridge_deliver(struct bridge *b, bool echo);
/* Abandons every pending publish (on_published < 0), as a lost connection does. */
void stub_bridge_abandon(struct bridge *b);
/* A message from elsewhere on the broker, delivered when a subscription matches (then
 * on_batch_done); retained: sent because a subscription was made. Returns true when delivered. */
bool stub_bridge_inject(struct bridge *b, const char *topic, const void *payload, size_t len, bool retained);
/* Delivers payload on topic (when subscribed) with the Correlation Data of the last rpc request
 * stub_bridge_deliver passed on: a backend's answer. Requests nobody here subscribed to are
 * acknowledged "no subscribers" (as a broker would) unless their correlation id ends odd. */
bool stub_bridge_answer(struct bridge *b, const char *topic, const void *payload, size_t len);
/* Up or down (on_state); while down publishes are still taken (queued) up to the bound. */
void stub_bridge_set_up(struct bridge *b, bool up);
/* The i-th pending publish (0 = oldest): its topic and payload; false past the end. */
bool stub_bridge_published(const struct bridge *b, size_t i, const char **topic, const void **payload,
			   size_t *len);
/* True when the MQTT filter matches topic ('+' one level, '#' the rest). */
bool stub_topic_matches(const char *filter, const char *topic);

#endif
