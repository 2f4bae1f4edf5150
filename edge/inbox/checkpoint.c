/*
 * checkpoint.c - the WAL checkpoint thread (checkpoint.h). Owns: the thread, its SQLite
 * connection and its counters. Must not: touch anything of the loop thread's but the atomics.
 */
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "checkpoint.h"
#include "mqedge/base/log.h"

struct checkpointer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	sqlite3 *db;
	bool stop;
	atomic_uint_fast64_t runs, busy_us_max;
	struct log_limit limit_failed;	/* used by the checkpoint thread only */
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *checkpoint_main(void *arg)
{
	struct checkpointer *cp = arg;
	struct timespec until;

	pthread_mutex_lock(&cp->lock);
	while (!cp->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&cp->wake, &cp->lock, &until);
		if (cp->stop)
			break;
		pthread_mutex_unlock(&cp->lock);
		int64_t t0 = now_us();
		/* PASSIVE: copies what it can without blocking the writer on the loop thread */
		int wal_frames = -1, done_frames = -1;
		int rc = sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &done_frames);
		uint64_t took = (uint64_t)(now_us() - t0);

		/* -1 frames: the connection has no WAL open, the checkpoint did nothing. BUSY: another
		 * process sharing the file (--workers) is checkpointing it right now: its work, not ours */
		if (rc != SQLITE_BUSY && (rc != SQLITE_OK || wal_frames < 0))
			log_limited(&cp->limit_failed, LOG_WARN, "store_checkpoint_failed", "sqlite_rc=%d wal_frames=%d", rc, wal_frames);
		else if (rc == SQLITE_OK)
			atomic_fetch_add(&cp->runs, 1);
		if (took > atomic_load(&cp->busy_us_max))
			atomic_store(&cp->busy_us_max, took);
		pthread_mutex_lock(&cp->lock);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

struct checkpointer *checkpointer_start(const char *path)
{
	struct checkpointer *cp = calloc(1, sizeof(*cp));
	sigset_t all, old;
	int rc;

	if (!cp)
		return NULL;
	if (sqlite3_open_v2(path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail_db;
	sqlite3_busy_timeout(cp->db, 1000);
	/* a connection that has never read the database has not opened its WAL, and checkpointing
	 * through it is a silent no-op: read once now */
	if (sqlite3_exec(cp->db, "SELECT COUNT(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK)
		goto fail_db;
	if (pthread_mutex_init(&cp->lock, NULL))
		goto fail_db;
	if (pthread_cond_init(&cp->wake, NULL))
		goto fail_lock;
	/* the thread inherits a fully blocked signal mask: signals belong to the loop's signalfd */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&cp->thread, NULL, checkpoint_main, cp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto fail_cond;
	return cp;
fail_cond:
	pthread_cond_destroy(&cp->wake);
fail_lock:
	pthread_mutex_destroy(&cp->lock);
fail_db:
	sqlite3_close(cp->db);
	free(cp);
	return NULL;
}

void checkpointer_stop(struct checkpointer *cp)
{
	if (!cp)
		return;
	pthread_mutex_lock(&cp->lock);
	cp->stop = true;
	pthread_cond_signal(&cp->wake);
	pthread_mutex_unlock(&cp->lock);
	pthread_join(cp->thread, NULL);
	pthread_cond_destroy(&cp->wake);
	pthread_mutex_destroy(&cp->lock);
	sqlite3_close(cp->db);
	free(cp);
}

void checkpointer_stats(const struct checkpointer *cp, uint64_t *runs, uint64_t *slowest_us)
{
	*runs = cp ? atomic_load(&cp->runs) : 0;
	*slowest_us = cp ? atomic_load(&cp->busy_us_max) : 0;
}
