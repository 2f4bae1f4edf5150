/*
 * board.c - the supervisor's shared board: one slot per worker with its pid, restarts, last
 * readiness and /metrics text, so the worker that answers /metrics or /readyz speaks for all.
 * A slot has one writer at a time (the worker it names; the supervisor only while the worker is
 * not running) and is read under a sequence lock: readers copy and retry, never block.
 * Owns: the shared mapping. Must not: render metrics or decide about workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "board.h"

#define BOARD_READ_TRIES 10000

struct board_slot {
	uint32_t seq;		/* odd while being written */
	pid_t pid;
	uint64_t restarts;
	int64_t posted_ms;
	char not_ready[BOARD_REASON_MAX];
	uint32_t metrics_len;
	char metrics[BOARD_METRICS_MAX];
};

struct board {
	unsigned n;
	size_t bytes;
	struct board_slot slots[];
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct board *board_create(unsigned n)
{
	size_t bytes = sizeof(struct board) + n * sizeof(struct board_slot);
	struct board *b = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (b == MAP_FAILED)
		return NULL;
	b->n = n;	/* the rest is zero: no pid, nothing posted */
	b->bytes = bytes;
	return b;
}

void board_destroy(struct board *b)
{
	if (b)
		munmap(b, b->bytes);
}

unsigned board_workers(const struct board *b)
{
	return b->n;
}

static void write_begin(struct board_slot *s)
{
	__atomic_fetch_add(&s->seq, 1, __ATOMIC_ACQ_REL);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(struct board_slot *s)
{
	__atomic_fetch_add(&s->seq, 1, __ATOMIC_RELEASE);
}

void board_set_pid(struct board *b, unsigned k, pid_t pid, bool restarted)
{
	struct board_slot *s = &b->slots[k];

	/* the worker is gone: if it died while posting, its half-written slot is ours to finish */
	if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) & 1)
		__atomic_fetch_add(&s->seq, 1, __ATOMIC_ACQ_REL);
	write_begin(s);
	s->pid = pid;
	s->posted_ms = 0;
	s->not_ready[0] = '\0';
	s->metrics_len = 0;
	if (restarted)
		s->restarts++;
	write_end(s);
}

void board_post(struct board *b, unsigned k, const char *not_ready, const char *metrics, size_t len)
{
	struct board_slot *s = &b->slots[k];

	if (len > BOARD_METRICS_MAX)
		len = BOARD_METRICS_MAX;
	write_begin(s);
	strncpy(s->not_ready, not_ready, sizeof(s->not_ready) - 1);
	s->not_ready[sizeof(s->not_ready) - 1] = '\0';
	memcpy(s->metrics, metrics, len);
	s->metrics_len = (uint32_t)len;
	s->posted_ms = wall_ms();
	write_end(s);
}

void board_read(const struct board *b, unsigned k, struct board_view *out, char *buf, size_t cap)
{
	const struct board_slot *s = &b->slots[k];
	uint32_t before, after;
	int tries = 0;

	do {
		if (++tries > BOARD_READ_TRIES) {
			/* its writer is stuck mid-post (stopped, or killed and not yet reaped) */
			memset(out, 0, sizeof(*out));
			out->pid = s->pid;
			snprintf(out->not_ready, sizeof(out->not_ready), "worker_stalled");
			return;
		}
		before = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		out->pid = s->pid;
		out->restarts = s->restarts;
		out->posted_ms = s->posted_ms;
		memcpy(out->not_ready, s->not_ready, sizeof(out->not_ready));
		out->not_ready[sizeof(out->not_ready) - 1] = '\0';
		out->metrics_len = s->metrics_len < cap ? s->metrics_len : cap;
		memcpy(buf, s->metrics, out->metrics_len);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		after = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	} while ((before & 1) || before != after);
}
