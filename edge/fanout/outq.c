/*
 * outq.c - per-session ring of frame references with a byte bound.
 * Owns: the ring memory. Must not: write to sockets or decide what happens to a full queue.
 */
#include <errno.h>
#include <stdlib.h>

#include "mqedge/fanout/outq.h"

#define OUTQ_MIN_CAP 4
#define OUTQ_KEEP_CAP 64	/* larger rings are freed once drained */

static int grow(struct outq *q)
{
	uint32_t ncap = q->cap ? q->cap * 2 : OUTQ_MIN_CAP;
	struct frame **ring;

	if (ncap < q->cap)
		return -1;
	ring = malloc(sizeof(*ring) * ncap);
	if (!ring)
		return -1;
	for (uint32_t i = 0; i < q->count; i++)
		ring[i] = outq_at(q, i);
	free(q->ring);
	q->ring = ring;
	q->head = 0;
	q->cap = ncap;
	return 0;
}

int outq_push(struct outq *q, struct frame *f, size_t max_bytes)
{
	size_t wire = frame_wire_len(f);

	if (q->bytes + wire > max_bytes)
		return -ENOBUFS;
	if (q->count == q->cap && grow(q))
		return -ENOMEM;
	q->ring[(q->head + q->count) & (q->cap - 1)] = frame_ref(f);
	q->count++;
	q->bytes += wire;
	return 0;
}

void outq_pop(struct outq *q, uint32_t n)
{
	while (n-- && q->count) {
		struct frame *f = q->ring[q->head];

		q->bytes -= frame_wire_len(f);
		frame_unref(f);
		q->head = (q->head + 1) & (q->cap - 1);
		q->count--;
	}
	if (!q->count) {
		q->head = 0;
		if (q->cap > OUTQ_KEEP_CAP) {
			free(q->ring);
			q->ring = NULL;
			q->cap = 0;
		}
	}
}

void outq_clear(struct outq *q)
{
	outq_pop(q, q->count);
	free(q->ring);
	q->ring = NULL;
	q->cap = 0;
}
