/*
 * edge.h - private to edge/: the server state and the session, shared by the hub (what ops do)
 * and ws_session (the WebSocket side). No libwebsockets types here, so the hub stays testable
 * without a socket; ws_session.c wraps a session in its lws per-session struct.
 */
#ifndef MQEDGE_EDGE_H
#define MQEDGE_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/auth.h"
#include "mqedge/channels.h"
#include "mqedge/config.h"
#include "mqedge/dedup.h"
#include "mqedge/envelope.h"
#include "mqedge/outq.h"
#include "mqedge/protocol.h"
#include "mqedge/ratelimit.h"

struct bridge;
struct notify;

/* Counters exported by /metrics. Monotonic unless noted. */
struct edge_stats {
	uint64_t connections_opened;
	uint64_t sessions_user, sessions_device;	/* gauges */
	uint64_t frames_in, frames_out, bytes_out, writes;
	uint64_t deliveries;				/* frames queued to a member */
	uint64_t drop_slow_consumer, drop_nomem;	/* deliveries not queued, by reason */
	uint64_t drop_no_channel, drop_duplicate, drop_bad_topic;
	uint64_t messages_in;				/* from the broker, for a local channel */
	uint64_t auth_failures, handshake_rejects;
	uint64_t rate_limited, closed_flood, closed_oversize, closed_slow, closed_expired;
	uint64_t errors_sent;
	uint64_t outq_bytes;				/* gauge: bytes queued to all sessions */
	uint64_t latency_buckets[16];			/* broker arrival -> written, see metrics.c */
	uint64_t latency_count, latency_sum_us;
};

/* A publish waiting for the broker's PUBACK before the client gets its ok. */
struct pending_ack {
	struct pending_ack *prev, *next;	/* in the session's list */
	struct session *session;		/* NULL once the session closed */
	int64_t ts;
	char ref[PROTOCOL_REF_MAX + 3];
	char id[ENVELOPE_ID_MAX + 1];
};

struct session {
	struct edge *edge;
	struct session *prev, *next;	/* all sessions */
	struct identity ident;
	char id[24];
	struct membership_list ml;	/* every channel, including the session's own */
	uint32_t n_subs;		/* rooms and devices joined on request (max-rooms) */
	struct outq outq;
	struct ratelimit rate, strikes;
	struct pending_ack *acks;
	bool closing;
	bool dirty;			/* on edge->dirty: frames queued during this broker burst */
	struct session *dirty_next;
	uint16_t close_code;
	const char *close_reason;	/* static string */
};

struct edge {
	struct edge_config *cfg;
	struct bridge *bridge;
	struct channels *channels;
	struct auth *auth;
	struct dedup dedup;
	struct session *sessions;
	char id_prefix[TOPICS_ID_MAX + 32];	/* "{edge}.{boot36}." for message ids */
	size_t id_prefix_len;
	char boot36[16];
	uint64_t next_msg_seq, next_session_seq;
	bool draining;
	bool in_burst;			/* inside a read burst from the broker (see hub_on_batch_done) */
	struct session *dirty;		/* sessions to flush when the burst ends */
	struct notify *notify;		/* the offline inbox (notify.c) */
	struct edge_stats stats;
};

/* Runs the edge until it is stopped by a signal (server.c). Returns the exit code. */
int server_run(struct edge_config *cfg);

/* ---- implemented by ws_session.c: the hub's way back to a socket ---- */

/* Queues a reference to f for s and asks for a write. A full queue closes s (slow consumer). */
void session_send(struct session *s, struct frame *f);
/* Queues a control frame built from text. */
void session_send_text(struct session *s, const char *text, size_t len);
/* Writes what s has queued now, in one write, unless lws still holds unsent bytes for it (then
 * it waits for WRITEABLE as usual). Called when a broker burst ends. */
void session_flush(struct session *s);
/* Closes s with a WebSocket close code, from any context (never frees s synchronously). */
void session_close(struct session *s, uint16_t code, const char *reason);
/* (Re)arms the token-expiry timer from s->ident.exp. */
void session_arm_expiry(struct session *s);

/* ---- hub.c: what the edge does with sessions, ops and broker messages ---- */

int hub_init(struct edge *e, struct edge_config *cfg, char *err, size_t errlen);
/* Connects the hub to the broker side (the bridge calls back into the hub). */
void hub_attach_bridge(struct edge *e, struct bridge *b);
void hub_fini(struct edge *e);

/* A new message id "{edge}.{boot}.{seq}" into out. */
void hub_next_message_id(struct edge *e, char out[ENVELOPE_ID_MAX + 1]);

int64_t hub_now_ms(void);
int64_t hub_now_us(void);

/* A new session with an authenticated identity: joins its own channel, sends welcome. Returns
 * 0, or -1 when the session cannot be served (caller closes it with 1011). */
int hub_session_open(struct edge *e, struct session *s);
/* The session is gone: leave every channel, orphan pending acks. */
void hub_session_closed(struct edge *e, struct session *s);
/* One complete client text frame. */
void hub_handle_frame(struct edge *e, struct session *s, const char *text, size_t len);
/* Sends {"op":"error"} to s. */
void hub_send_error(struct session *s, const char *ref, const char *code, const char *message);

/* How many sessions of this user (or device) are on this edge. */
uint32_t hub_user_connections(struct edge *e, const struct identity *id);

/* The bridge hooks. */
void hub_on_message(void *ctx, const char *topic, size_t topic_len, const void *payload, size_t len);
void hub_on_state(void *ctx, bool up);
void hub_on_published(void *ctx, void *cookie, int status);
void hub_on_subscribed(void *ctx, void *user);
void hub_on_batch_done(void *ctx);

/* Records one written frame's latency (ws_session.c calls it). */
void hub_note_latency(struct edge *e, int64_t born_us, int64_t now_us);

#endif
