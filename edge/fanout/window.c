/*
 * window.c - a history room's recent messages by position (window.h).
 * Owns: the ring of frame references and the deferred payloads. Must not: send anything, or
 * decide when a window is ready (edge/history does).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "mqedge/fanout/window.h"

#define WINDOW_MIN_CAP 8

int window_init(struct window *w, uint32_t size, int64_t ttl_ms)
{
	memset(w, 0, sizeof(*w));
	w->size = size ? size : 1;
	w->ttl_ms = ttl_ms;
	w->deferred_tail = &w->deferred;
	return 0;
}

static void drop_oldest(struct window *w)
{
	struct window_entry *e = &w->ring[w->head];

	w->bytes -= frame_wire_len(e->frame);
	frame_unref(e->frame);
	e->frame = NULL;
	w->head = (w->head + 1) % w->cap;
	w->count--;
}

static void drop_all(struct window *w)
{
	while (w->count)
		drop_oldest(w);
	w->head = 0;
}

void window_fini(struct window *w)
{
	struct window_deferred *d = window_take_deferred(w);

	while (d) {
		struct window_deferred *next = d->next;

		free(d);
		d = next;
	}
	drop_all(w);
	free(w->ring);
	w->ring = NULL;
	w->cap = 0;
}

void window_new_epoch(struct window *w)
{
	uint64_t r;

	/* an epoch only has to differ from every other one of this room: 64 random bits do */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)(uintptr_t)w << 17);
	}
	snprintf(w->epoch, sizeof(w->epoch), "%016llx", (unsigned long long)r);
	drop_all(w);
	w->last = 0;
	w->ready = true;
}

static bool epoch_valid(const char *epoch, size_t len)
{
	if (len != WINDOW_EPOCH_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((epoch[i] >= '0' && epoch[i] <= '9') || (epoch[i] >= 'a' && epoch[i] <= 'f')))
			return false;
	return true;
}

int window_adopt(struct window *w, const char *epoch, size_t epoch_len, uint64_t last, uint32_t n_entries)
{
	if (!epoch_valid(epoch, epoch_len) || n_entries > last)
		return -EINVAL;
	drop_all(w);
	memcpy(w->epoch, epoch, epoch_len);
	w->epoch[epoch_len] = '\0';
	w->last = last - n_entries;	/* the pushes that follow bring it to last */
	w->ready = true;
	return 0;
}

static int grow(struct window *w)
{
	uint32_t ncap = w->cap ? w->cap * 2 : WINDOW_MIN_CAP;
	struct window_entry *ring;

	if (ncap > w->size)
		ncap = w->size;
	ring = malloc(sizeof(*ring) * ncap);
	if (!ring)
		return -ENOMEM;
	for (uint32_t i = 0; i < w->count; i++)
		ring[i] = w->ring[(w->head + i) % w->cap];
	free(w->ring);
	w->ring = ring;
	w->head = 0;
	w->cap = ncap;
	return 0;
}

void window_push(struct window *w, struct frame *f, int64_t ms)
{
	w->last++;
	if (!f || (w->count == w->cap && w->cap < w->size && grow(w))) {
		drop_all(w);	/* a gap: nothing before it may be replayed as complete */
		return;
	}
	if (w->count == w->cap)
		drop_oldest(w);
	w->ring[(w->head + w->count) % w->cap] = (struct window_entry){ frame_ref(f), ms };
	w->count++;
	w->bytes += frame_wire_len(f);
}

void window_expire(struct window *w, int64_t now_ms)
{
	if (w->ttl_ms <= 0)
		return;
	while (w->count && now_ms - w->ring[w->head].ms > w->ttl_ms)
		drop_oldest(w);
}

enum window_verdict window_resume(const struct window *w, const char *epoch, size_t epoch_len, uint64_t offset,
				  uint32_t *from)
{
	if (!w->ready || epoch_len != strlen(w->epoch) || memcmp(epoch, w->epoch, epoch_len))
		return WINDOW_EPOCH;
	if (offset > w->last)
		return WINDOW_AHEAD;
	/* complete only if every message after offset is still held */
	if (offset + 1 < window_first_offset(w))
		return WINDOW_TOO_OLD;
	*from = (uint32_t)(offset + 1 - window_first_offset(w));
	return WINDOW_OK;
}

const struct window_entry *window_at(const struct window *w, uint32_t i)
{
	return &w->ring[(w->head + i) % w->cap];
}

int window_defer(struct window *w, const void *payload, size_t len, int64_t born_us)
{
	struct window_deferred *d = malloc(sizeof(*d) + len);

	if (!d)
		return -ENOMEM;
	d->next = NULL;
	d->born_us = born_us;
	d->len = len;
	memcpy(d->payload, payload, len);
	*w->deferred_tail = d;
	w->deferred_tail = &d->next;
	w->n_deferred++;
	w->deferred_bytes += len;
	return 0;
}

struct window_deferred *window_take_deferred(struct window *w)
{
	struct window_deferred *d = w->deferred;

	w->deferred = NULL;
	w->deferred_tail = &w->deferred;
	w->n_deferred = 0;
	w->deferred_bytes = 0;
	return d;
}

void window_unready(struct window *w)
{
	drop_all(w);
	w->epoch[0] = '\0';
	w->last = 0;
	w->ready = false;
}
