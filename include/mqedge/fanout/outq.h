/*
 * outq.h - one session's bounded queue of frames waiting to be written.
 *
 * Holds references to shared frames (never copies). Bounded in bytes: a push that would exceed
 * the limit is refused, and the owner treats the client as a slow consumer. Empty queues hold no
 * memory, so idle connections stay small.
 */
#ifndef MQEDGE_OUTQ_H
#define MQEDGE_OUTQ_H

#include <stddef.h>
#include <stdint.h>

#include "mqedge/fanout/frame.h"

struct outq {
	struct frame **ring;	/* cap slots, power of two; NULL while cap == 0 */
	uint32_t head, count, cap;
	size_t bytes;		/* wire bytes of the queued frames */
};

/* Queues a new reference to f. Returns 0, -ENOBUFS when bytes would pass max_bytes (nothing
 * queued), or -ENOMEM when the ring cannot grow. */
int outq_push(struct outq *q, struct frame *f, size_t max_bytes);

/* The i-th queued frame (0 = oldest); i < q->count. */
static inline struct frame *outq_at(const struct outq *q, uint32_t i)
{
	return q->ring[(q->head + i) & (q->cap - 1)];
}

/* Drops the n oldest frames (their references). */
void outq_pop(struct outq *q, uint32_t n);

/* Drops everything and frees the ring. */
void outq_clear(struct outq *q);

#endif
