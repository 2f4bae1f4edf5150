/*
 * pubq.h - private to bridge/: what a bridge owes its user for publishes: those queued while the
 * broker is away (bounded in count and bytes, kept in order) and the cookies of those in flight,
 * by MQTT message id, until the PUBACK. Pure bookkeeping: no libmosquitto, no I/O.
 */
#ifndef MQEDGE_PUBQ_H
#define MQEDGE_PUBQ_H

#include <stdbool.h>
#include <stddef.h>

/* A publish waiting for the broker to come back. */
struct pubq_item {
	struct pubq_item *next;
	void *cookie;
	bool retain;
	size_t topic_len, len;
	char data[];		/* topic, NUL, payload */
};

struct pubq {
	struct pubq_item *head, *tail;
	size_t count, bytes;			/* queued */
	size_t max_pending, max_pending_bytes;	/* queued + in flight; queued bytes */
	void **inflight;			/* cookie by mid: MQTT mids are 16-bit, so direct-mapped */
	bool *inflight_used;
	size_t inflight_count;
};

/* Returns 0 or -ENOMEM. */
int pubq_init(struct pubq *q, size_t max_pending, size_t max_pending_bytes);
/* Frees what is left without telling anyone (pubq_abandon first to tell). */
void pubq_fini(struct pubq *q);

/* True when one more publish of len bytes would pass a bound. */
bool pubq_full(const struct pubq *q, size_t len);
/* Queues a copy of (topic, payload). Returns 0 or -ENOMEM. */
int pubq_push(struct pubq *q, const char *topic, const void *payload, size_t len, bool retain, void *cookie);
/* Takes the oldest queued publish (the caller frees it), or NULL. */
struct pubq_item *pubq_pop(struct pubq *q);
static inline const char *pubq_item_topic(const struct pubq_item *it) { return it->data; }
static inline const void *pubq_item_payload(const struct pubq_item *it) { return it->data + it->topic_len + 1; }

/* Remembers cookie for the publish with message id mid (ignored when mid is not valid or taken). */
void pubq_inflight_add(struct pubq *q, int mid, void *cookie);
/* The PUBACK for mid: true with its cookie, or false when mid was not ours. */
bool pubq_inflight_take(struct pubq *q, int mid, void **cookie);

/* Drops everything queued and in flight, calling fn for each non-NULL cookie (oldest queued
 * first, then in flight). */
void pubq_abandon(struct pubq *q, void (*fn)(void *ctx, void *cookie), void *ctx);

/* Publishes queued plus in flight. */
static inline size_t pubq_pending(const struct pubq *q) { return q->count + q->inflight_count; }

#endif
