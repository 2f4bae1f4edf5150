/*
 * presence.h - who is in a room, across every edge (docs/PROTOCOL.md, presence).
 *
 * Rooms whose id matches a presence pattern keep a member list. Each edge publishes its own
 * members of such a room, retained, on {prefix}/presence/{room}/{edge} whenever they change, and
 * follows {prefix}/presence/{room}/+ while it has members there; the union of the lists is the
 * room's presence. A user is one member however many connections (tabs, edges) they have: "join"
 * goes out when their first connection anywhere arrives, "leave" when their last one is gone.
 *
 * Crash-safe: every list carries its edge's boot time, and every edge follows the edges' retained
 * status ({prefix}/edge/+/status), whose "offline" is also the edge's MQTT last will. When an edge
 * dies, the broker publishes its will and every other edge drops that edge's members at once
 * (kill -9: as soon as the broker sees the socket close; power loss: within 1.5 x the broker
 * keepalive). A list from an earlier run of an edge is never counted.
 *
 * Reaches connections only through fan-out and the broker only through the bridge.
 */
#ifndef MQEDGE_PRESENCE_H
#define MQEDGE_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/strmap.h"
#include "mqedge/base/textbuf.h"
#include "mqedge/fanout/fanout.h"

struct bridge;
struct bridge_sub;

struct presence_options {
	const char *topic_prefix;
	const char *edge_id;
	int64_t boot;			/* this edge's start time, as in its retained status */
	const char *patterns;		/* comma-separated room patterns; "" keeps no presence */
	uint32_t max_members;		/* lists up to this many users; bigger rooms: counts only */
};

struct presence_stats {
	uint64_t lists_published, lists_received, lists_ignored, joins, leaves, edges_lost;
};

struct presence {
	struct presence_options opt;
	char *patterns;			/* a copy of opt.patterns, split in place at the commas */
	size_t n_patterns;
	struct fanout *fanout;		/* where events go (not owned) */
	struct bridge *bridge;		/* the live session (not owned) */
	struct strmap rooms;		/* room -> struct proom, while this edge has members there */
	struct strmap edges;		/* edge id -> struct edge_seen: boot and online, from their status */
	struct presence_stats stats;
};

/* Returns 0, -EINVAL for a bad pattern list, or -ENOMEM. */
int presence_init(struct presence *p, const struct presence_options *opt, struct fanout *fo);
/* Publishes and follows lists on b. The edges' status ({prefix}/edge/+/status) is subscribed by
 * the server, which hands it to presence_on_message. */
void presence_attach_bridge(struct presence *p, struct bridge *b);
void presence_fini(struct presence *p);

/* True when room keeps presence. */
bool presence_room(const struct presence *p, const char *room);
/* A local connection of user joined room (info: the token's public info, or NULL) or left it.
 * Rooms without presence are ignored. */
void presence_join(struct presence *p, const char *room, const char *user, const char *info, size_t info_len);
void presence_leave(struct presence *p, const char *room, const char *user);
/* Appends the answer to {"op":"presence"} for room to out. Returns 0, or -ENOENT when this edge
 * follows no presence for room (nobody here is a member). */
int presence_query(struct presence *p, const char *room, const char *ref, struct textbuf *out);

/* From the live bridge: a presence list or an edge's status (returns false for other topics),
 * and the session coming back (every local list is published again). */
bool presence_on_message(struct presence *p, const char *topic, size_t topic_len, const void *payload, size_t len);
void presence_on_state(struct presence *p, bool up);

#endif
