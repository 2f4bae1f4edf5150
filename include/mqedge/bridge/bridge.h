/*
 * bridge.h - the edge's MQTT session, as the rest of the edge sees it.
 *
 * One persistent MQTT 5 session (clean start off, a session that never expires; QoS 1) with the
 * broker, or MQTT 3.1.1 when configured so, driven by the edge's own event loop: no thread, no
 * polling. The bridge reconnects with capped exponential
 * backoff, resubscribes every wanted topic, and holds publishes made while the broker is away in
 * a bounded queue, publishing them in order once it is back. The first connection of a process
 * starts from a clean session, so topics a previous run subscribed to do not linger.
 *
 * Failover: given a list of brokers, the bridge connects to the first; when the broker it is on
 * stays unreachable for failover_after_ms (it retries it with the backoff meanwhile), it moves to
 * the next of the list (round robin) and starts there without a session: everything wanted is
 * subscribed again, the status published again, and what was in flight is published again there
 * (the PUBACK that answers it comes from the new broker). bridge_move moves a bridge that does
 * not decide by itself (failover_after_ms 0), so two bridges of one edge stay on one broker.
 *
 * Everything comes back through the hooks given at creation, on the loop's thread.
 */
#ifndef MQEDGE_BRIDGE_H
#define MQEDGE_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bridge_loop;	/* the event loop a bridge runs on (bridge_lws.h makes one) */
struct bridge;
struct bridge_sub;

struct bridge_endpoint {
	const char *host;
	int port;
};

struct bridge_options {
	const struct bridge_endpoint *brokers;	/* at least one; copied */
	size_t n_brokers;
	/* how long the current broker may stay unreachable before moving to the next one; 0: never
	 * by itself (only bridge_move) */
	int64_t failover_after_ms;
	const char *username;		/* NULL: none */
	const char *password;
	const char *cafile;		/* non-NULL: TLS */
	const char *client_id;
	int keepalive;
	const char *status_topic;	/* retained status; offline_payload is also the last will */
	const char *online_payload;
	const char *offline_payload;
	size_t max_pending;		/* publishes queued or awaiting PUBACK */
	size_t max_pending_bytes;
	/* Keep the broker session across process restarts (no clean first connection), so what
	 * arrived while this process was down is delivered when it comes back. */
	bool keep_session;
	/* Send PUBACKs for received messages only after on_batch_done returned, so a consumer that
	 * persists in on_message/on_batch_done acknowledges nothing it has not stored. */
	bool ack_after_batch;
	/* Speak MQTT 3.1.1 instead of 5 (a broker without MQTT 5): no properties, no reason codes,
	 * bridge_publish_request refuses. */
	bool mqtt311;
};

/* The MQTT 5 properties of a received message that the edge reads (NULL when it had none). */
struct bridge_msg_props {
	const void *correlation;	/* Correlation Data, or NULL */
	size_t correlation_len;
};

/* What on_published reports, besides 0 (the broker took the message) and a negative errno (it
 * was abandoned, or the broker refused it: -EACCES for "not authorized", -EIO otherwise). */
#define BRIDGE_PUB_NO_SUBSCRIBERS 1	/* MQTT 5 PUBACK 0x10: taken, but no subscription matched */

/* A consumer with several kinds of publish on one bridge can embed this first in each cookie
 * and let its on_published call done: the cookie says what it is. */
struct bridge_cookie {
	void (*done)(struct bridge_cookie *self, void *ctx, int status);
};

/* A request in the MQTT 5 request/response pattern: where and how to answer. */
struct bridge_user_prop {
	const char *name, *value;
};
struct bridge_request {
	const char *response_topic;
	const void *correlation;	/* at most 65535 bytes */
	size_t correlation_len;
	const char *content_type;	/* NULL: none */
	uint32_t expiry_s;		/* Message Expiry Interval; 0: none */
	const struct bridge_user_prop *user_props;
	size_t n_user_props;
};

struct bridge_hooks {
	/* A message arrived on a subscribed topic; retained: the broker sent it because a subscription
	 * was (re)made, not because it was just published. Pointers are valid during the call only. */
	void (*on_message)(void *ctx, const char *topic, size_t topic_len, const void *payload, size_t len,
			   bool retained, const struct bridge_msg_props *props);
	/* The session went up (after resubscribing) or down. */
	void (*on_state)(void *ctx, bool up);
	/* A publish made with a cookie was acknowledged (status 0 or BRIDGE_PUB_NO_SUBSCRIBERS) or
	 * abandoned or refused (status < 0). */
	void (*on_published)(void *ctx, void *cookie, int status);
	/* The broker acknowledged the subscription made for user. */
	void (*on_subscribed)(void *ctx, void *user);
	/* A burst of received messages ended; PUBACKs for them go out after this returns. May be NULL. */
	void (*on_batch_done)(void *ctx);
	/* The bridge gave up on broker `from` (unreachable for failover_after_ms) and connects to
	 * `to` (indexes into the list) from now on. May be NULL. */
	void (*on_failover)(void *ctx, size_t from, size_t to);
};

struct bridge_stats {
	uint64_t connects;		/* successful CONNACKs */
	uint64_t disconnects;
	uint64_t messages_in;
	uint64_t publishes;
	uint64_t publish_refused;	/* queue full */
	uint64_t failovers;		/* moves to another broker of the list (by itself or bridge_move) */
	size_t pending;			/* queued + in flight */
	size_t subscriptions;
};

/* Creates the bridge on loop (copies the options) and starts connecting. NULL on failure. */
struct bridge *bridge_create(struct bridge_loop *loop, const struct bridge_options *opt,
			     const struct bridge_hooks *hooks, void *ctx);

/* Wants topic at QoS 1 now and after every reconnect, until bridge_unsubscribe. user is given
 * back to on_subscribed. NULL on OOM. */
struct bridge_sub *bridge_subscribe(struct bridge *b, const char *topic, void *user);
/* True once the broker acknowledged the subscription in the current session. */
bool bridge_sub_active(const struct bridge_sub *sub);
/* Drops the subscription (and frees sub). */
void bridge_unsubscribe(struct bridge *b, struct bridge_sub *sub);

/* Publishes at QoS 1 now, or queues while the broker is away. cookie (may be NULL) comes back
 * through on_published (never from inside this call). Returns 0, -ENOBUFS (queue full: nothing
 * published), -ENOMEM, -EIO (libmosquitto refused it: nothing published) or -EINVAL (too large,
 * or the bridge is stopping); on an error the cookie stays the caller's. */
int bridge_publish(struct bridge *b, const char *topic, const void *payload, size_t len,
		   bool retain, void *cookie);

/* Publishes a request (QoS 1, MQTT 5 properties per req) now; never queued: a request that
 * waits for a broker would outlive its caller's timeout. Returns 0 (cookie as for
 * bridge_publish), -ENOTCONN (the broker is away), -EPROTONOSUPPORT (MQTT 3.1.1), -ENOMEM,
 * -EINVAL or -EIO; on an error nothing was published and the cookie stays the caller's. */
int bridge_publish_request(struct bridge *b, const char *topic, const void *payload, size_t len,
			   const struct bridge_request *req, void *cookie);

/* Replaces the retained online status (status_topic) and publishes it now when the session is
 * up (else on the next CONNACK, as always). Returns 0, -EINVAL (no status topic) or -ENOMEM. */
int bridge_set_status(struct bridge *b, const char *online_payload);

bool bridge_is_up(const struct bridge *b);
/* The broker the bridge is on (or connecting to): its index in the list; host and port when
 * asked (valid while the bridge lives). */
size_t bridge_broker(const struct bridge *b, const char **host, int *port);
/* Moves to broker `index` of the list: drops the current connection (without sending what is
 * queued; what was in flight is published again there) and connects there. Nothing happens when
 * it is already there. Returns 0 or -EINVAL (no such broker, or stopping). */
int bridge_move(struct bridge *b, size_t index);
/* True when the broker kept this session across the last reconnect (what it queued for us
 * meanwhile arrives); false after the first connection or when the broker lost it. */
bool bridge_session_present(const struct bridge *b);

/* Cuts the connection at once without sending anything still queued (with ack_after_batch:
 * the PUBACKs of a batch the consumer failed to store). The broker redelivers those messages
 * to the persistent session after the reconnect. */
void bridge_drop_connection(struct bridge *b);
void bridge_get_stats(const struct bridge *b, struct bridge_stats *out);

/* Graceful stop: publishes the offline status, disconnects cleanly, abandons what is still
 * queued (on_published with status < 0). */
void bridge_stop(struct bridge *b);
/* True once bridge_stop finished (the DISCONNECT went out or the connection was already gone). */
bool bridge_stopped(const struct bridge *b);
void bridge_destroy(struct bridge *b);

#endif
