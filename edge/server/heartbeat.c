/*
 * heartbeat.c - the timing wheel of heartbeat.h. Owns: slots and their intrusive lists. Must not:
 * know what an entry belongs to (the fire callback does) or read a clock (times are given).
 */
#include "heartbeat.h"

static struct hb_entry **slot_of(struct hb_wheel *w, int64_t t)
{
	return &w->slot[(uint64_t)t % HB_SLOTS];
}

static void link_at(struct hb_entry **head, struct hb_entry *e)
{
	e->next = *head;
	if (e->next)
		e->next->pprev = &e->next;
	e->pprev = head;
	*head = e;
}

static void unlink_entry(struct hb_entry *e)
{
	*e->pprev = e->next;
	if (e->next)
		e->next->pprev = e->pprev;
	e->next = NULL;
	e->pprev = NULL;
}

void hb_init(struct hb_wheel *w, int64_t now)
{
	for (size_t i = 0; i < HB_SLOTS; i++)
		w->slot[i] = NULL;
	w->swept = now;
	w->count = 0;
}

void hb_schedule(struct hb_wheel *w, struct hb_entry *e, int64_t due)
{
	if (e->pprev) {
		unlink_entry(e);
		w->count--;
	}
	if (due <= w->swept)
		due = w->swept + 1;	/* the next sweep fires it */
	e->due = due;
	link_at(slot_of(w, due), e);
	w->count++;
}

void hb_cancel(struct hb_wheel *w, struct hb_entry *e)
{
	if (!e->pprev)
		return;
	unlink_entry(e);
	w->count--;
}

size_t hb_sweep(struct hb_wheel *w, int64_t now, void (*fire)(struct hb_entry *e, void *ctx), void *ctx)
{
	size_t fired = 0;
	int64_t from = w->swept + 1;

	if (now < from)
		return 0;
	/* a gap longer than a lap visits every slot once */
	if (now - from >= HB_SLOTS)
		from = now - HB_SLOTS + 1;
	w->swept = now;	/* before firing: what fire schedules for now or earlier waits a sweep */
	for (int64_t t = from; t <= now; t++) {
		struct hb_entry *pending = *slot_of(w, t), *e;

		/* take the slot's list over, so fire can cancel or move any entry while we walk */
		*slot_of(w, t) = NULL;
		if (pending)
			pending->pprev = &pending;
		while ((e = pending)) {
			unlink_entry(e);
			if (e->due > now) {
				link_at(slot_of(w, e->due), e);	/* a later lap */
				continue;
			}
			w->count--;
			fired++;
			fire(e, ctx);
		}
	}
	return fired;
}
