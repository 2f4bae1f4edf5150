/*
 * history.h - history rooms: their windows, positions every edge agrees on, resume, the history
 * op (docs/PROTOCOL.md section 10; the design in docs/ARCHITECTURE.md, "Room history").
 *
 * A room whose id matches a history pattern keeps its newest messages (fanout/window.h) while
 * this edge follows it, and for `grace_ms` after its last local member left. When this edge starts
 * following such a room it asks the other edges for their window over the broker (the request is
 * a barrier in the broker's order: the answer holds everything before it, this edge's own
 * subscription everything after) and takes over their epoch and offsets; when nobody answers
 * within `fetch_timeout_ms`, or every edge online answers that it does not follow the room (the
 * edges' retained status says who is online), it starts a new epoch. Until then its members are parked: they get
 * their ok (with the position) and any replay once the window is ready.
 *
 * Reaches connections only through fan-out and the broker only through the bridge.
 */
#ifndef MQEDGE_HISTORY_H
#define MQEDGE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/strmap.h"
#include "mqedge/fanout/fanout.h"
#include "mqedge/wire/client_frame.h"

struct bridge;
struct bridge_sub;
struct hroom;

struct history_options {
	const char *topic_prefix;
	const char *edge_id;
	const char *rooms;		/* PATTERN[=SIZE[/TTL]],...; "" keeps no history */
	uint32_t default_size;		/* messages, when a pattern names none */
	int64_t default_ttl_ms;		/* when a pattern names none; 0: no age limit */
	int64_t grace_ms;
	int64_t fetch_timeout_ms;
	size_t max_reply_bytes;		/* the largest window sent to another edge (its newest part) */
	/* Asks the owner to call history_tick within delay_ms (a fetch's deadline). */
	void (*schedule)(void *ctx, int64_t delay_ms);
	void *schedule_ctx;
};

struct history_pattern {
	char *pattern;		/* a part of history.patterns */
	uint32_t size;
	int64_t ttl_ms;
};

struct history_stats {
	uint64_t resumes_recovered, resumes_failed, replayed;
	uint64_t fetches, fetches_adopted, fetches_timed_out, replies_sent, epochs_started;
	uint64_t rooms;		/* gauge */
};

struct history {
	struct history_options opt;
	char *patterns;			/* the rooms option, split in place */
	struct history_pattern *pats;
	size_t n_pats;
	struct fanout *fanout;		/* deliveries and channels (not owned) */
	struct bridge *bridge;		/* the live session (not owned) */
	struct bridge_sub *req_sub, *rep_sub;
	struct hroom *rooms;		/* every room with a window */
	struct strmap edges_online;	/* other edges whose retained status says online (values: non-NULL) */
	uint32_t n_online_others;
	uint64_t nonce_seq;		/* with 64 random bits: every request's nonce */
	struct history_stats stats;
};

/* Returns 0, -EINVAL for a bad room list, or -ENOMEM. */
int history_init(struct history *h, const struct history_options *opt, struct fanout *fo);
/* Starts answering other edges and receiving their windows on b (when any pattern is set). */
void history_attach_bridge(struct history *h, struct bridge *b);
/* Drops every window and releases its channel. */
void history_fini(struct history *h);

/* The pattern room matches, or NULL. */
const struct history_pattern *history_room(const struct history *h, const char *room);

/* A sub of room op->id by p, whose membership is m (joined: 0 new, 1 already a member). Returns
 * true when history answered it (or will once the window is ready): a history room, or a resume
 * of a room without history (recovered:false). False: the caller answers as usual. */
bool history_sub(struct history *h, struct peer *p, struct member *m, int joined, const struct client_op *op);
/* m (of a history room, maybe parked) is about to leave: a parked sub still gets its ok. */
void history_member_leaving(struct history *h, struct member *m);
/* {"op":"history"}: a page of the window. */
void history_op(struct history *h, struct peer *p, const struct client_op *op);

/* From the live bridge: the SUBACK of ch; a request, a window or an edge's status (false for other
 * topics); the session came back without the broker's state (what it queued meanwhile is lost). */
void history_on_subscribed(struct history *h, struct channel *ch);
bool history_on_message(struct history *h, const char *topic, size_t topic_len, const void *payload, size_t len);
void history_on_session_lost(struct history *h);

/* Deadlines: fetches that timed out, windows past their ttl, rooms past their grace. Returns the
 * ms until the next fetch deadline, or -1 when none is pending. */
int64_t history_tick(struct history *h, int64_t now_ms);

#endif
