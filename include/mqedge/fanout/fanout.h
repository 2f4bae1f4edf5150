/*
 * fanout.h - delivery to local connections: broker message -> one shared frame -> a reference in
 * every member's bounded out-queue -> one write per socket per broker burst.
 *
 * A connection is a `struct peer`, embedded by its owner (a WebSocket session). Fan-out never
 * touches a socket: it reaches one only through the peer_ops table given at init (ask for a
 * write, write now, close), the way the bridge reaches its user through hooks. The channel
 * hooks (first member joined, last left) are given at init too; the process layer uses them to
 * subscribe on the broker.
 *
 * Bursts: while a broker read burst is delivered (fanout_on_message ... fanout_on_batch_done),
 * peers that got frames are only marked; when the burst ends each writes its whole queue in one
 * go, so a burst of M messages costs one write per socket, not M.
 */
#ifndef MQEDGE_FANOUT_H
#define MQEDGE_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/idgen.h"
#include "mqedge/fanout/channels.h"
#include "mqedge/fanout/deflate.h"
#include "mqedge/fanout/frame.h"
#include "mqedge/fanout/outq.h"
#include "mqedge/fanout/window.h"
#include "mqedge/wire/topics.h"

struct peer;
struct fanout;

struct peer_ops {
	/* Ask for a write when the socket can take one (the queue just became non-empty). */
	void (*wake)(struct peer *p);
	/* Write what is queued now, in one write if the socket takes it (a burst ended). */
	void (*flush)(struct peer *p);
	/* Close the connection with a WebSocket close code (reason: a static string). Never frees
	 * the peer synchronously; the owner calls fanout_peer_remove when the socket is gone. */
	void (*close)(struct peer *p, uint16_t code, const char *reason);
};

struct peer {
	struct peer *prev, *next;	/* every peer of the fanout */
	const char *id;			/* session id, for logs (owned by the peer's owner) */
	const char *name;		/* user or device id, for logs and announcements */
	bool announcements;		/* a named user's session: gets announcements */
	bool deflate;			/* negotiated permessage-deflate: gets compressed twins */
	bool closing;			/* no new frames: its close is decided */
	bool dirty;			/* on the dirty list: got frames during this burst */
	int64_t over_since_us;		/* when its queue went above outq_max_bytes; 0 while below */
	int64_t inbox_seq;		/* the inbox's: the newest stored notification its backlog
					 * covered (a sibling process's rows above it are pushed) */
	struct peer *dirty_next;
	struct membership_list ml;	/* every channel it is a member of */
	struct outq outq;
};

/* Counters exported by /metrics. Monotonic unless noted. */
struct fanout_stats {
	uint64_t messages_in;				/* from the broker, for a local channel */
	uint64_t deliveries;				/* frames queued to a peer */
	uint64_t drop_slow_consumer, drop_nomem;	/* deliveries not queued, by reason */
	uint64_t drop_no_channel, drop_duplicate, drop_bad_topic;
	uint64_t closed_slow;
	uint64_t errors_sent;
	uint64_t frames_out, bytes_out, writes;
	uint64_t outq_bytes;				/* gauge: bytes queued to all peers */
	uint64_t latency_buckets[16];			/* broker arrival -> written, FANOUT_LATENCY_BOUNDS_US */
	uint64_t latency_count, latency_sum_us;
};
/* Upper bounds (us) of the first 15 latency buckets; the 16th is everything above. */
extern const int64_t fanout_latency_bounds_us[15];

/* The slow-reader policy: what is queued for a peer is bounded by outq_hard_bytes at every moment
 * (more closes it at once: memory stays bounded), and may stay above outq_max_bytes for at most
 * slow_timeout_us (a burst that drains while the client reads is fine; a client that stops reading
 * is closed). Either way the close is 4002. */
struct fanout_options {
	const char *topic_prefix;
	size_t outq_max_bytes;		/* soft bound */
	size_t outq_hard_bytes;		/* hard bound */
	int64_t slow_timeout_us;
	uint32_t dedup_window;		/* recent (topic, message id) pairs remembered */
	struct idgen *ids;		/* ids for bare backend payloads (not owned) */
	size_t deflate_min_bytes;	/* compressed twins for peers that negotiated permessage-deflate,
					 * for payloads from this size; 0: never */
};

struct fanout {
	struct fanout_options opt;
	const struct peer_ops *ops;
	struct channels *channels;
	struct dedup *dedup;
	struct peer *peers;		/* every peer (sessions) */
	struct peer *dirty;		/* peers to flush when the burst ends */
	bool in_burst;
	struct deflater deflate;	/* the shared compressor */
	struct fanout_stats stats;
};

/* Sets fo up (opt and ops are copied/kept; ch_hooks gets ctx). Returns 0 or -ENOMEM. */
int fanout_init(struct fanout *fo, const struct fanout_options *opt, const struct peer_ops *ops,
		const struct channels_hooks *ch_hooks, void *ctx);
/* Frees the registries; every peer must be removed first. */
void fanout_fini(struct fanout *fo);

/* A peer starts (add) or its socket is gone (remove: leaves every channel, drops its queue). */
void fanout_peer_add(struct fanout *fo, struct peer *p);
void fanout_peer_remove(struct fanout *fo, struct peer *p);

/* The channel of (kind, id), or NULL when nobody here is a member. */
struct channel *fanout_channel(struct fanout *fo, enum topic_kind kind, const char *id);
/* Makes p a member of (kind, id): 0 joined, 1 already a member, or a negative error. *out (may be
 * NULL) gets the membership. */
int fanout_join(struct fanout *fo, struct peer *p, enum topic_kind kind, const char *id, struct member **out);
/* p's membership of (kind, id), or NULL. */
struct member *fanout_membership(struct fanout *fo, struct peer *p, enum topic_kind kind, const char *id);
/* Ends p's membership of (kind, id). Returns 0, or 1 when it was not a member. */
int fanout_leave(struct fanout *fo, struct peer *p, enum topic_kind kind, const char *id);

/* Queues a reference to f for p. A peer past the slow-reader policy is closed as a slow consumer
 * (4002). Returns 0, -ENOBUFS (slow consumer) or -ENOMEM; a closing peer takes nothing and gets 0. */
int fanout_send(struct fanout *fo, struct peer *p, struct frame *f);
/* Sends f to every member of ch (NULL: none). Returns how many queued it (closing peers and
 * peers cut off by this send do not count). */
unsigned fanout_send_channel(struct fanout *fo, struct channel *ch, struct frame *f);
/* Sends a copy of text (a control frame). */
void fanout_send_text(struct fanout *fo, struct peer *p, const char *text, size_t len);
/* Sends {"op":"error"} (edge_frame_error) and counts it. */
void fanout_send_error(struct fanout *fo, struct peer *p, const char *ref, const char *code, const char *message);
/* Closes p (peer_ops.close) unless it is closing already; a slow consumer's queue is dropped. */
void fanout_close(struct fanout *fo, struct peer *p, uint16_t code, const char *reason);
/* Drops everything queued for p. */
void fanout_drop_queue(struct fanout *fo, struct peer *p);

/* The owner wrote the n oldest frames of p's queue (bytes in total) at now_us: pops them and
 * records their latency. */
void fanout_written(struct fanout *fo, struct peer *p, uint32_t n, size_t bytes, int64_t now_us);

/* A history room's window got its positions (window_new_epoch or window_adopt + pushes): the
 * payloads deferred meanwhile are delivered, after dropping the first skip of them (those the
 * adopted window already held). Parked members get nothing: edge/history replays to them. */
void fanout_window_ready(struct fanout *fo, struct channel *ch, uint32_t skip);
/* Remembers message id of ch as delivered (a window taken over from another edge), so a
 * redelivery of it is dropped here too. */
void fanout_seen(struct fanout *fo, const struct channel *ch, const char *id, size_t id_len);

/* The live bridge's hooks: a broker message for a channel, and the end of a read burst. */
void fanout_on_message(void *ctx, const char *topic, size_t topic_len, const void *payload, size_t len);
/* fanout_on_message for a topic the caller already parsed into kind (one parse per message);
 * retained: the broker sent it because of a (re)subscription, not because it was just published. */
void fanout_on_channel_message(struct fanout *fo, enum topic_kind kind, const char *topic, size_t topic_len,
			       const void *payload, size_t len, bool retained);
void fanout_on_batch_done(void *ctx);

#endif
