/*
 * channels.h - the registry of local fan-out channels and their members.
 *
 * A channel is one MQTT topic this edge listens to on behalf of local sessions: a chat room, a
 * user's direct channel, a device's telemetry (watched by browsers) or a device's command stream
 * (for a device connected here). Members are sessions. The first member's join and the last
 * member's leave call hooks, which the server uses to subscribe and unsubscribe on the broker.
 *
 * Costs: join/leave are O(rooms of that session) (bounded by max-rooms), lookup by topic is O(1),
 * fan-out walks the member list. Pure data structure: no I/O.
 */
#ifndef MQEDGE_CHANNELS_H
#define MQEDGE_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/wire/topics.h"

struct member;
struct window;

struct channel {
	struct channel *hash_next;
	uint64_t hash;
	struct member *members;	/* fan-out list */
	uint32_t n_members;
	enum topic_kind kind;
	bool held;		/* kept without members (channels_hold): a history room's grace */
	void *sub;		/* the hooks' handle (broker subscription) */
	struct window *window;	/* a history room's recent messages (owned by edge/history), or NULL */
	uint16_t topic_len;
	uint8_t id_off, id_len;	/* the id inside topic */
	char topic[];		/* NUL-terminated */
};

/* One session's membership of one channel, linked into both. */
struct member {
	void *session;
	struct channel *channel;
	struct member *ch_prev, *ch_next;	/* in channel->members */
	struct member *s_prev, *s_next;		/* in the session's membership list */
	bool presence_events;	/* the session asked for join/leave events of this room */
	void *parked;		/* non-NULL: gets no deliveries yet (a history room is still
				 * fetching its positions); malloc'd by edge/history, no inner
				 * pointers, freed with the member */
	char *pending_ok;	/* the ref (JSON text) owed an ok once the broker acknowledges the
				 * channel's subscription; malloc'd, freed with the member */
	bool owes_no_history;	/* that ok answers a resume of a room without history */
};

/* Embedded in each session: its memberships. */
struct membership_list {
	struct member *head;
	uint32_t count;
};

struct channels_hooks {
	/* A channel got its first member. Return 0, or <0 to refuse the join (nothing changes). */
	int (*on_first)(void *ctx, struct channel *ch);
	/* A channel lost its last member; it is freed right after. */
	void (*on_empty)(void *ctx, struct channel *ch);
};

struct channels;

/* NULL on OOM. hooks is copied; ctx is passed to every hook. */
struct channels *channels_create(const struct channels_hooks *hooks, void *ctx);
/* Frees the registry; every membership list must already be empty. */
void channels_destroy(struct channels *reg);

/* Adds session to the channel for topic (kind and id already validated by the caller).
 * Returns 0 when joined, 1 when it was already a member, -EINVAL for a topic it cannot hold,
 * -ENOMEM, or the negative code of a refusing on_first hook; on 0 and 1, *out (if not NULL) is
 * the membership. */
int channels_join(struct channels *reg, struct membership_list *ml, void *session,
		  enum topic_kind kind, const char *topic, size_t topic_len, size_t id_off, size_t id_len,
		  struct member **out);

/* Removes session from the channel for topic. Returns 0 when left, 1 when not a member. */
int channels_leave(struct channels *reg, struct membership_list *ml, const char *topic, size_t topic_len);

/* The session's membership of the channel for topic, or NULL. */
struct member *channels_membership(const struct membership_list *ml, const char *topic, size_t topic_len);

/* Removes session from every channel. */
void channels_leave_all(struct channels *reg, struct membership_list *ml);

/* Keeps the channel of a member alive after its last member leaves (held), or ends that: an
 * unheld channel without members is freed at once (on_empty first). */
void channels_hold(struct channel *ch);
void channels_release(struct channels *reg, struct channel *ch);

/* The channel for topic, or NULL. */
struct channel *channels_find(const struct channels *reg, const char *topic, size_t topic_len);

/* Number of channels; calls fn for each (fn must not join or leave). */
size_t channels_count(const struct channels *reg);
void channels_foreach(const struct channels *reg, void (*fn)(void *arg, struct channel *ch), void *arg);

#endif
