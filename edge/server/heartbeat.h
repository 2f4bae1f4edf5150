/*
 * heartbeat.h - private to edge/server: a hashed timing wheel (heartbeat.c), one slot per tick (the
 * caller's unit of time: ws_session.c uses 100 ms), for deadlines that every connection has and
 * that move on every sign of life. O(1) to schedule, move or cancel; a sweep touches only the slots
 * that came due. Why not lws' timers:
 * lws 4.1.6 keeps them in one sorted list and inserts by walking it from the head, so at 10,000
 * connections its ping timers (re-armed by every PONG) took 87 % of an idle edge's CPU and a
 * reconnect storm 3 ms of CPU per connection.
 */
#ifndef MQEDGE_HEARTBEAT_H
#define MQEDGE_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_SLOTS 256	/* ticks per lap; later deadlines wait their lap in their slot */

/* Embedded in whatever has a deadline; zeroed = not scheduled. */
struct hb_entry {
	struct hb_entry *next, **pprev;	/* pprev NULL: not scheduled */
	int64_t due;	/* tick */
};

struct hb_wheel {
	struct hb_entry *slot[HB_SLOTS];
	int64_t swept;		/* every deadline up to this tick has fired */
	size_t count;		/* entries scheduled */
};

void hb_init(struct hb_wheel *w, int64_t now);

/* (Re)schedules e for tick due (a past tick: the next sweep). */
void hb_schedule(struct hb_wheel *w, struct hb_entry *e, int64_t due);

/* Unschedules e if it is scheduled. */
void hb_cancel(struct hb_wheel *w, struct hb_entry *e);

static inline bool hb_scheduled(const struct hb_entry *e)
{
	return e->pprev != NULL;
}

/* Fires every entry due at or before tick now, each unscheduled before fire(e, ctx) is called (fire
 * may schedule it again, or cancel any other entry). Returns how many fired. */
size_t hb_sweep(struct hb_wheel *w, int64_t now, void (*fire)(struct hb_entry *e, void *ctx), void *ctx);

#endif
