/*
 * window.h - a history room's recent messages, by stream position (docs/PROTOCOL.md section 10).
 *
 * A position is (epoch, offset): the epoch names one unbroken run of the room's stream as the
 * broker ordered it, the offset counts the room's messages in that run (1, 2, ...; 0 is "before
 * the first"). Every edge that follows the room counts the same broker-ordered stream, and an
 * edge that starts following takes the epoch and the offsets over from an edge that already
 * follows it (edge/history), so positions agree across edges.
 *
 * The window holds the newest messages (at most `size`, none older than `ttl_ms`) as the very
 * frames sent to clients, so a replay is a reference per message, no serialising. While the
 * window is not ready (its positions are still being fetched from another edge) messages are
 * deferred as raw broker payloads and get their offsets once it is.
 *
 * Pure data structure: no I/O. A position that is not complete here is never partly answered:
 * window_resume says which reason forbids it.
 */
#ifndef MQEDGE_WINDOW_H
#define MQEDGE_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/fanout/frame.h"

#define WINDOW_EPOCH_LEN 16	/* hex characters */
#define WINDOW_DEFER_MAX_BYTES (16u << 20)	/* deferred while a fetch runs; more is a gap */

struct window_entry {
	struct frame *frame;	/* one reference, owned by the window */
	int64_t ms;		/* when it reached an edge (for the ttl) */
};

/* A broker payload received before the window was ready; malloc'd, owned by the window. */
struct window_deferred {
	struct window_deferred *next;
	int64_t born_us;
	size_t len;
	unsigned char payload[];
};

struct window {
	char epoch[WINDOW_EPOCH_LEN + 1];
	uint64_t last;			/* offset of the newest message; 0: none in this epoch */
	struct window_entry *ring;	/* grows by doubling up to size */
	uint32_t cap, head, count;
	uint32_t size;			/* most messages kept */
	int64_t ttl_ms;			/* <= 0: no age limit */
	size_t bytes;			/* wire bytes of the frames held */
	bool ready;			/* positions known; false: incoming messages are deferred */
	bool gap;			/* a message could not be deferred: the deferred run is broken */
	struct window_deferred *deferred, **deferred_tail;
	uint32_t n_deferred;
	size_t deferred_bytes;
	void *owner;			/* the history module's room state (not owned) */
};

enum window_verdict {
	WINDOW_OK = 0,		/* complete: replay entries [*from, count) */
	WINDOW_EPOCH,		/* another epoch (or garbage): positions of another stream */
	WINDOW_TOO_OLD,		/* messages after the position have left the window */
	WINDOW_AHEAD,		/* an offset this epoch has not reached */
};

/* An empty window that is not ready yet. Returns 0 or -ENOMEM. */
int window_init(struct window *w, uint32_t size, int64_t ttl_ms);
void window_fini(struct window *w);

/* Starts a new epoch (random name, offset 0, nothing held) and makes the window ready. */
void window_new_epoch(struct window *w);
/* Takes over another edge's position: epoch, and the offset of the newest message it had. The
 * held messages are dropped; the caller then adds the other edge's messages with window_push
 * (oldest first, so they end at offset `last`). Returns 0, or -EINVAL for a malformed epoch. */
int window_adopt(struct window *w, const char *epoch, size_t epoch_len, uint64_t last, uint32_t n_entries);

/* The offset the next message gets. */
static inline uint64_t window_next_offset(const struct window *w) { return w->last + 1; }
/* The next message, as sent: takes a reference to f (NULL: it could not be built or kept, which
 * leaves a gap, so everything older is dropped: no replay may skip it). Advances the offset. */
void window_push(struct window *w, struct frame *f, int64_t ms);
/* Drops messages older than the ttl. */
void window_expire(struct window *w, int64_t now_ms);

/* Whether a client at (epoch, offset) can be brought up to date; on WINDOW_OK *from is the index
 * of the first entry it lacks (== count when it lacks nothing). */
enum window_verdict window_resume(const struct window *w, const char *epoch, size_t epoch_len, uint64_t offset,
				  uint32_t *from);
/* The i-th held entry, oldest first (i < count); its offset is last - count + 1 + i. */
const struct window_entry *window_at(const struct window *w, uint32_t i);
static inline uint64_t window_first_offset(const struct window *w) { return w->last - w->count + 1; }

/* Defers a payload while the window is not ready (a copy). Returns 0 or -ENOMEM. */
int window_defer(struct window *w, const void *payload, size_t len, int64_t born_us);
/* Back to not ready (a fetch that must start over): nothing held, the epoch forgotten; what was
 * deferred stays. */
void window_unready(struct window *w);
/* Hands the deferred list to the caller (who frees each entry) and empties it. */
struct window_deferred *window_take_deferred(struct window *w);

#endif
