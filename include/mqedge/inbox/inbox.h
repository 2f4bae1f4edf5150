/*
 * inbox.h - the offline notification store: one SQLite database (WAL) per edge.
 *
 * Rows are notifications as their JSON text plus the fields queries need (user, id, ts, kind,
 * read). Writes are grouped: inbox_put only adds to the open transaction, inbox_commit ends it,
 * so one commit covers a whole burst of broker messages (group commit) and the broker's PUBACKs
 * go out only after it. Reads see the open transaction, so a backlog query never misses a row
 * that was already pushed live.
 *
 * Announcements (to everyone) are stored once, under user "*"; per-user read marks for them live
 * in a side table. Every call returns 0 (or a count) or a negative errno code (mqedge/base/err.h):
 * -EEXIST for a duplicate, -EIO, -ENOSPC (disk full), -EBUSY, -EBADMSG (corrupt) for store
 * failures; the store counts its errors and the caller keeps serving live traffic without it.
 */
#ifndef MQEDGE_INBOX_H
#define MQEDGE_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INBOX_SCHEMA_VERSION 1
#define INBOX_BROADCAST_USER "*"

struct inbox;

struct inbox_stats {
	uint64_t stored, duplicates, commits, errors, pruned, reads_applied;
	uint64_t commit_us_max;		/* slowest commit seen */
	uint64_t checkpoints, checkpoint_us_max;	/* WAL checkpoints (off the loop thread) */
	uint64_t rows;			/* approximate, refreshed by inbox_prune */
};

/* Opens (creating or migrating) dir/inbox.db. NULL with a message in err on failure. */
struct inbox *inbox_open(const char *dir, char *err, size_t errlen);
/* Commits anything open and closes. */
void inbox_close(struct inbox *ib);

/* Adds one notification to the open transaction (begun on demand). json is the notification
 * object as delivered to clients, without read state. Returns 0, -EEXIST when (user, id) is
 * already stored, or an error. read: store it already read (muted). */
int inbox_put(struct inbox *ib, const char *user, const char *id, int64_t ts, const char *kind,
	      const char *json, size_t json_len, bool read);

/* Ends the open transaction, if any. Returns 0 or an error (then the rows of that transaction
 * are gone: the caller must not acknowledge them). A transaction in which any statement failed
 * commits nothing: all of a burst is stored, or none of it. */
int inbox_commit(struct inbox *ib);
/* True from a failed commit (disk full, I/O error) until one that writes rows succeeds. */
bool inbox_write_failing(const struct inbox *ib);
/* True while a transaction is open or has failed (then inbox_commit must be called to end it). */
bool inbox_in_transaction(const struct inbox *ib);
/* Marks the open (or next) transaction failed: a caller that could not even get its rows to the
 * store (out of memory) makes sure the batch is not acknowledged. */
void inbox_abort(struct inbox *ib);

/* Calls fn for user's notifications (their own and announcements) in arrival order: unread only
 * when unread_only, newer than after_seq, at most limit. fn gets the row's seq, JSON and read
 * flag; returning non-zero stops. Returns the number of rows visited or an error. */
typedef int (*inbox_row_fn)(void *ctx, int64_t seq, const char *json, size_t len, bool read);
int inbox_each(struct inbox *ib, const char *user, bool unread_only, int64_t after_seq, int limit,
	       inbox_row_fn fn, void *ctx);

/* Like inbox_each, newest first, for rows with seq < before_seq (0 = from the newest). */
int inbox_page(struct inbox *ib, const char *user, int64_t before_seq, int limit, inbox_row_fn fn, void *ctx);

/* The local seq of user's notification id (their own or an announcement), 0 when unknown, or an
 * error. Cursors are ids, so they work on every edge. */
int64_t inbox_seq_of(struct inbox *ib, const char *user, const char *id);

/* Unread notifications of user (own and announcements). Returns the count or an error. */
int64_t inbox_unread_count(struct inbox *ib, const char *user);

/* Calls fn once with user's row of id (not announcements: user "*" asks for those). Returns 1
 * when it exists, 0 when not, or a negative code. */
int inbox_row(struct inbox *ib, const char *user, const char *id, inbox_row_fn fn, void *ctx);
/* The newest seq stored (0: none), or a negative code. */
int64_t inbox_max_seq(struct inbox *ib);
/* Reads between begin and end see one snapshot of the file, whatever other processes sharing it
 * (--workers) commit meanwhile. begin returns 1 (end commits it), 0 (already inside a
 * transaction: nothing to end) or a negative code; pass its result to end. */
int inbox_snapshot_begin(struct inbox *ib);
void inbox_snapshot_end(struct inbox *ib, int began);

/* Marks ids read for user. Returns how many changed state, or an error. */
int inbox_mark_read(struct inbox *ib, const char *user, const char *const *ids, size_t n);
/* Marks everything of user with ts <= upto_ts read. Returns how many changed, or an error. */
int inbox_mark_all_read(struct inbox *ib, const char *user, int64_t upto_ts);

/* Per-user settings JSON (replaced whole). get: *json is malloc'd (caller frees) or NULL. */
int inbox_settings_put(struct inbox *ib, const char *user, const char *json, size_t len, int64_t ts);
int inbox_settings_get(struct inbox *ib, const char *user, char **json, int64_t *ts);
/* Calls fn for every user with settings. Returns how many, or an error. */
int inbox_settings_each(struct inbox *ib, void (*fn)(void *ctx, const char *user, const char *json), void *ctx);

/* Deletes rows older than max_age_ms and, per user, beyond max_per_user, at most budget rows per
 * call (so a call is short). Returns rows deleted or an error. */
int inbox_prune(struct inbox *ib, int64_t now_ms, int64_t max_age_ms, int64_t max_per_user, int budget);

/* Users this edge has served (for the narrowed subscription mode). */
int inbox_served_add(struct inbox *ib, const char *user);
int inbox_served_each(struct inbox *ib, void (*fn)(void *ctx, const char *user), void *ctx);

void inbox_get_stats(const struct inbox *ib, struct inbox_stats *out);
/* The last SQLite error text (for logs and /metrics labels). */
const char *inbox_last_error(const struct inbox *ib);

#endif
