/*
 * dedup.h - "have I delivered this message already?" over a sliding window of recent messages.
 *
 * Keys are 64-bit keyed hashes of (topic, message id); the window evicts the oldest key first.
 * Catches QoS 1 redeliveries after a reconnect and backends that retry with the same id.
 * Fixed memory: about 24 bytes per remembered message.
 */
#ifndef MQEDGE_DEDUP_H
#define MQEDGE_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dedup {
	uint64_t *table;	/* open addressing, 0 = empty */
	uint32_t mask;
	uint64_t *ring;		/* insertion order, for eviction */
	uint32_t window, ring_head, ring_count;
};

/* Remembers up to window keys. Returns 0 or -1 on OOM. */
int dedup_init(struct dedup *d, uint32_t window);
void dedup_free(struct dedup *d);

/* The key for a message id on a topic. */
uint64_t dedup_key(const char *topic, size_t topic_len, const char *id, size_t id_len);

/* True when key was seen within the window; otherwise remembers it and returns false. */
bool dedup_check_and_add(struct dedup *d, uint64_t key);

#endif
