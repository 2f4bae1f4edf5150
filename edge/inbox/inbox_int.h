/*
 * inbox_int.h - private to edge/inbox: the store's internals shared by inbox.c (schema, writes,
 * queries) and retention.c (pruning). Only these two files touch SQLite on the loop thread.
 */
#ifndef MQEDGE_INBOX_INT_H
#define MQEDGE_INBOX_INT_H

#include <sqlite3.h>
#include <stdbool.h>

#include "mqedge/base/log.h"
#include "mqedge/inbox/inbox.h"

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_PUT, S_EACH, S_PAGE, S_UNREAD, S_MARK, S_MARK_BCAST,
	S_MARK_ALL, S_MARK_ALL_BCAST, S_SETTINGS_PUT, S_SETTINGS_GET, S_SETTINGS_EACH, S_AGED, S_DELETE, S_DELETE_READS,
	S_CAP, S_CAP_OLDER, S_SERVED_ADD, S_SERVED_EACH, S_COUNT, S_SEQ_OF, S_ROW, S_MAX_SEQ, S_BEGIN_READ, S_COUNT_
};


/* Users written to since the last prune: only they can be over the per-user cap. */
struct touched {
	char **users;	/* open addressing, NULL = empty */
	size_t cap, count;
};


struct inbox {
	sqlite3 *db;
	struct checkpointer *cp;	/* the WAL checkpoint thread (checkpoint.c) */
	sqlite3_stmt *st[S_COUNT_];
	bool in_tx;
	bool tx_failed;		/* a statement of the open transaction failed: it commits nothing */
	bool tx_wrote;		/* the open transaction changed rows */
	bool write_failing;	/* the last commit that wrote (or failed) failed: disk full, I/O error */
	struct touched touched;
	struct log_limit limit_error;	/* a full disk fails every retry: one line per window */
	struct inbox_stats stats;
	char last_error[256];
};


/* Records and translates an SQLite failure into a negative errno code (logging SQLite's own). */
int inbox__fail(struct inbox *ib, int rc, const char *what);
/* The prepared statement id, reset and unbound, ready for binding. */
sqlite3_stmt *inbox__use(struct inbox *ib, enum stmt_id id);
/* Opens the write transaction if none is open. Returns 0 or an error. */
int inbox__begin(struct inbox *ib);
/* Steps a write statement: the rows it changed, or an error. */
int inbox__step_changes(struct inbox *ib, sqlite3_stmt *s, const char *what);
/* retention.c: remember that user was written to (only they can be over the per-user cap). */
void inbox__touched_add(struct touched *t, const char *user);
void inbox__touched_clear(struct touched *t);

#endif
