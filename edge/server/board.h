/*
 * board.h - private to edge/server: the supervisor's shared board, one slot per worker (board.c).
 */
#ifndef MQEDGE_BOARD_H
#define MQEDGE_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BOARD_METRICS_MAX (256 * 1024)	/* one worker's /metrics text (about 20 KiB today) */
#define BOARD_REASON_MAX 32
#define BOARD_STALE_MS 3000		/* a live worker that has not posted for this long is stuck */

/* One worker's slot as a reader sees it (a consistent copy). */
struct board_view {
	pid_t pid;			/* 0: not running (restarting, or stopped) */
	uint64_t restarts;		/* times the supervisor started it again */
	int64_t posted_ms;		/* wall clock of its last post; 0: none since it started */
	char not_ready[BOARD_REASON_MAX];	/* its /readyz reason, "" when ready */
	size_t metrics_len;		/* into the caller's buffer */
};

struct board;

/* A shared anonymous mapping for n workers, made before fork. NULL on failure. */
struct board *board_create(unsigned n);
void board_destroy(struct board *b);
unsigned board_workers(const struct board *b);

/* The supervisor: worker k runs as pid (0: not running; a new pid clears its posts). */
void board_set_pid(struct board *b, unsigned k, pid_t pid, bool restarted);

/* Worker k posts its readiness ("" = ready) and its metrics text (cut at BOARD_METRICS_MAX). */
void board_post(struct board *b, unsigned k, const char *not_ready, const char *metrics, size_t len);

/* A consistent copy of slot k; its metrics go to buf (up to cap bytes). */
void board_read(const struct board *b, unsigned k, struct board_view *out, char *buf, size_t cap);

#endif
