/*
 * inbox.c - the store on the loop thread: open and migrate, grouped writes, backlog and page
 * queries, read marks, settings (pruning is retention.c, WAL checkpoints checkpoint.c).
 * Owns: the database handle and its prepared statements.
 * Must not: know about sessions, frames or the broker (notify.c decides what to store and when
 * acknowledging is safe).
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint.h"
#include "inbox_int.h"
#include "mqedge/base/log.h"

#define MIGRATE_BUSY_TIMEOUT_MS 10000	/* at open only: another process may be setting the file up */
#define BUSY_TIMEOUT_MS 100	/* the loop waits at most this long for a lock held by another process */

static const char *const sql[S_COUNT_] = {
	/* IMMEDIATE: a burst's transaction takes the write lock at once, so processes sharing the file
	 * (--workers) wait for each other at BEGIN (busy timeout) instead of failing later with a
	 * stale snapshot */
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_BEGIN_READ] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	/* only a duplicate (user, id) is ignored; a NOT NULL violation is an error, never a "duplicate" */
	[S_PUT] = "INSERT INTO notifications(user, id, ts, kind, json, read) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
		  "ON CONFLICT(user, id) DO NOTHING",
	/* own rows, then announcements with this user's read marks; seq is arrival order */
	[S_EACH] =
		"SELECT seq, json, read FROM notifications WHERE user = ?1 AND seq > ?2 AND (?3 = 0 OR read = 0) "
		"UNION ALL "
		"SELECT n.seq, n.json, b.seq IS NOT NULL FROM notifications n "
		"LEFT JOIN broadcast_reads b ON b.user = ?1 AND b.seq = n.seq "
		"WHERE n.user = '*' AND n.seq > ?2 AND (?3 = 0 OR b.seq IS NULL) "
		"ORDER BY 1 LIMIT ?4",
	[S_PAGE] =
		"SELECT seq, json, read FROM notifications WHERE user = ?1 AND seq < ?2 "
		"UNION ALL "
		"SELECT n.seq, n.json, b.seq IS NOT NULL FROM notifications n "
		"LEFT JOIN broadcast_reads b ON b.user = ?1 AND b.seq = n.seq "
		"WHERE n.user = '*' AND n.seq < ?2 "
		"ORDER BY 1 DESC LIMIT ?3",
	[S_UNREAD] =
		"SELECT (SELECT COUNT(*) FROM notifications WHERE user = ?1 AND read = 0) + "
		"(SELECT COUNT(*) FROM notifications n WHERE n.user = '*' AND NOT EXISTS "
		"(SELECT 1 FROM broadcast_reads b WHERE b.user = ?1 AND b.seq = n.seq))",
	[S_MARK] = "UPDATE notifications SET read = 1 WHERE user = ?1 AND id = ?2 AND read = 0",
	[S_MARK_BCAST] = "INSERT OR IGNORE INTO broadcast_reads(user, seq) SELECT ?1, seq FROM notifications "
			 "WHERE user = '*' AND id = ?2",
	[S_MARK_ALL] = "UPDATE notifications SET read = 1 WHERE user = ?1 AND read = 0 AND ts <= ?2",
	[S_MARK_ALL_BCAST] = "INSERT OR IGNORE INTO broadcast_reads(user, seq) SELECT ?1, seq FROM notifications "
			     "WHERE user = '*' AND ts <= ?2",
	[S_SETTINGS_PUT] = "INSERT INTO settings(user, json, ts) VALUES (?1, ?2, ?3) "
			   "ON CONFLICT(user) DO UPDATE SET json = excluded.json, ts = excluded.ts "
			   "WHERE excluded.ts >= settings.ts",
	[S_SETTINGS_GET] = "SELECT json, ts FROM settings WHERE user = ?1",
	[S_SETTINGS_EACH] = "SELECT user, json FROM settings",
	[S_AGED] = "SELECT seq FROM notifications WHERE ts < ?1 ORDER BY seq LIMIT ?2",
	[S_DELETE] = "DELETE FROM notifications WHERE seq = ?1",
	[S_DELETE_READS] = "DELETE FROM broadcast_reads WHERE seq = ?1",
	/* the seq of the max_per_user-th newest row of a user: everything older goes */
	[S_CAP] = "SELECT seq FROM notifications WHERE user = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2",
	[S_CAP_OLDER] = "SELECT seq FROM notifications WHERE user = ?1 AND seq < ?2 ORDER BY seq LIMIT ?3",
	[S_SERVED_ADD] = "INSERT OR IGNORE INTO served(user) VALUES (?1)",
	[S_SERVED_EACH] = "SELECT user FROM served",
	[S_COUNT] = "SELECT COUNT(*) FROM notifications",
	[S_SEQ_OF] = "SELECT seq FROM notifications WHERE (user = ?1 OR user = '*') AND id = ?2 ORDER BY user = ?1 DESC LIMIT 1",
	[S_ROW] = "SELECT seq, json, read FROM notifications WHERE user = ?1 AND id = ?2",
	[S_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM notifications",
};

/* Schema migrations, applied in order from the file's user_version up. */
static const char *const migrations[INBOX_SCHEMA_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE notifications ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  user TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  json TEXT NOT NULL,"
	"  read INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (user, id));"
	"CREATE INDEX notifications_user_seq ON notifications(user, seq);"
	"CREATE INDEX notifications_ts ON notifications(ts);"
	"CREATE TABLE broadcast_reads (user TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (user, seq)) WITHOUT ROWID;"
	"CREATE TABLE settings (user TEXT PRIMARY KEY, json TEXT NOT NULL, ts INTEGER NOT NULL);"
	"CREATE TABLE served (user TEXT PRIMARY KEY) WITHOUT ROWID;",
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Records and translates an SQLite failure (the library's own code is logged too). */
int inbox__fail(struct inbox *ib, int rc, const char *what)
{
	ib->stats.errors++;
	if (ib->in_tx)
		ib->tx_failed = true;
	snprintf(ib->last_error, sizeof(ib->last_error), "%s: %s", what, sqlite3_errmsg(ib->db));
	log_limited(&ib->limit_error, LOG_ERROR, "store_error", "op=%s sqlite_rc=%d err=\"%s\"", what, rc, sqlite3_errmsg(ib->db));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

sqlite3_stmt *inbox__use(struct inbox *ib, enum stmt_id id)
{
	sqlite3_stmt *s = ib->st[id];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static int exec_one(struct inbox *ib, enum stmt_id id, const char *what)
{
	int rc = sqlite3_step(inbox__use(ib, id));

	sqlite3_reset(ib->st[id]);
	return rc == SQLITE_DONE ? 0 : inbox__fail(ib, rc, what);
}

/* Under one write lock from reading the version to the last step: processes sharing the file
 * (--workers) that start together migrate it once; the others wait and find it done. */
static int migrate(struct inbox *ib, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int version, from, rc;

	if ((rc = sqlite3_exec(ib->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK) {
		snprintf(err, errlen, "locking for the schema check: %s (rc %d)", sqlite3_errmsg(ib->db), rc);
		goto done;
	}
	if (sqlite3_prepare_v2(ib->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		snprintf(err, errlen, "reading schema version: %s", sqlite3_errmsg(ib->db));
		rc = SQLITE_ERROR;
		goto done;
	}
	from = version = sqlite3_column_int(s, 0);
	if (version > INBOX_SCHEMA_VERSION) {
		snprintf(err, errlen, "inbox.db has schema %d, newer than this mqedge (%d)", version,
			 INBOX_SCHEMA_VERSION);
		rc = SQLITE_ERROR;
		goto done;
	}
	for (; version < INBOX_SCHEMA_VERSION; version++) {
		char stmt[64];

		snprintf(stmt, sizeof(stmt), "PRAGMA user_version = %d", version + 1);
		if ((rc = sqlite3_exec(ib->db, migrations[version], NULL, NULL, NULL)) != SQLITE_OK ||
		    (rc = sqlite3_exec(ib->db, stmt, NULL, NULL, NULL)) != SQLITE_OK) {
			snprintf(err, errlen, "migrating to schema %d: %s (rc %d)", version + 1,
				 sqlite3_errmsg(ib->db), rc);
			goto done;
		}
	}
	if ((rc = sqlite3_exec(ib->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		snprintf(err, errlen, "migrating to schema %d: %s (rc %d)", version, sqlite3_errmsg(ib->db), rc);
	else if (version != from)
		log_info("store_migrated", "schema=%d from=%d", version, from);
done:
	sqlite3_finalize(s);
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(ib->db))
		sqlite3_exec(ib->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_busy_timeout(ib->db, BUSY_TIMEOUT_MS);
	return rc == SQLITE_OK ? 0 : -1;
}

struct inbox *inbox_open(const char *dir, char *err, size_t errlen)
{
	struct inbox *ib = calloc(1, sizeof(*ib));
	char path[4096];
	int rc;

	if (!ib) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/inbox.db", dir);
	rc = sqlite3_open_v2(path, &ib->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "opening %s: %s", path, ib->db ? sqlite3_errmsg(ib->db) : "out of memory");
		goto fail;
	}
	/* at start another process sharing the file (--workers) may be setting it up: wait for it */
	sqlite3_busy_timeout(ib->db, MIGRATE_BUSY_TIMEOUT_MS);
	/* WAL + synchronous=NORMAL: a commit survives the process dying at any point (kill -9);
	 * only an OS crash can lose the last commits before a checkpoint */
	/* wal_autocheckpoint=0: the checkpointer thread does it, never a commit on the loop */
	if ((rc = sqlite3_exec(ib->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
				       "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=0;",
			       NULL, NULL, NULL)) != SQLITE_OK) {
		snprintf(err, errlen, "opening %s: %s (rc %d)", path, sqlite3_errmsg(ib->db), rc);
		goto fail;
	}
	if (migrate(ib, err, errlen))
		goto fail;
	for (int i = 0; i < S_COUNT_; i++) {
		rc = sqlite3_prepare_v3(ib->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ib->st[i], NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "preparing statement %d: %s", i, sqlite3_errmsg(ib->db));
			goto fail;
		}
	}
	if (!(ib->cp = checkpointer_start(path))) {
		snprintf(err, errlen, "starting the checkpoint thread for %s", path);
		goto fail;
	}
	return ib;
fail:
	inbox_close(ib);
	return NULL;
}

void inbox_close(struct inbox *ib)
{
	if (!ib)
		return;
	if (ib->in_tx && ib->st[S_COMMIT])
		inbox_commit(ib);
	checkpointer_stop(ib->cp);
	for (int i = 0; i < S_COUNT_; i++)
		sqlite3_finalize(ib->st[i]);
	sqlite3_close(ib->db);
	inbox__touched_clear(&ib->touched);
	free(ib);
}

int inbox__begin(struct inbox *ib)
{
	int rc;

	if (ib->in_tx && !ib->tx_failed && !sqlite3_get_autocommit(ib->db))
		return 0;
	if (ib->in_tx || ib->tx_failed) {
		/* failed, or rolled back by SQLite (SQLITE_FULL may do that): writing on would store
		 * rows outside the transaction the caller is about to see fail */
		ib->tx_failed = true;
		return -EIO;
	}
	rc = exec_one(ib, S_BEGIN, "begin");
	if (rc == 0)
		ib->in_tx = true;
	else
		ib->tx_failed = true;	/* the caller's writes are lost: its commit must say so */
	return rc;
}

bool inbox_in_transaction(const struct inbox *ib)
{
	return ib->in_tx || ib->tx_failed;
}

void inbox_abort(struct inbox *ib)
{
	ib->tx_failed = true;
}

int inbox_put(struct inbox *ib, const char *user, const char *id, int64_t ts, const char *kind,
	      const char *json, size_t json_len, bool read)
{
	sqlite3_stmt *s;
	int rc = inbox__begin(ib);

	if (rc)
		return rc;
	s = inbox__use(ib, S_PUT);
	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, ts);
	sqlite3_bind_text(s, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, json, (int)json_len, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, read);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return inbox__fail(ib, rc, "put");
	if (!sqlite3_changes(ib->db)) {
		ib->stats.duplicates++;
		return -EEXIST;
	}
	ib->stats.stored++;
	ib->tx_wrote = true;
	inbox__touched_add(&ib->touched, user);
	return 0;
}

int inbox_commit(struct inbox *ib)
{
	int64_t t0;
	int rc;

	if (!ib->in_tx && !ib->tx_failed)
		return 0;
	t0 = now_us();
	rc = ib->tx_failed ? -EIO : exec_one(ib, S_COMMIT, "commit");
	if (rc != 0) {
		/* whatever the failure, end the transaction: none of its rows are stored */
		if (!sqlite3_get_autocommit(ib->db))
			exec_one(ib, S_ROLLBACK, "rollback");
	}
	ib->in_tx = false;
	ib->tx_failed = false;
	/* only a commit that wrote something proves the store writable again (an empty one
	 * succeeds on a full disk too) */
	if (rc == 0 && ib->tx_wrote && ib->write_failing) {
		log_info("store_writable", "held_back_errors=%u", log_limit_reset(&ib->limit_error));
		ib->write_failing = false;
	} else if (rc != 0) {
		ib->write_failing = true;
	}
	ib->tx_wrote = false;
	ib->stats.commits++;
	if ((uint64_t)(now_us() - t0) > ib->stats.commit_us_max)
		ib->stats.commit_us_max = (uint64_t)(now_us() - t0);
	return rc;
}

static int visit_rows(struct inbox *ib, sqlite3_stmt *s, inbox_row_fn fn, void *ctx, const char *what)
{
	int n = 0, rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *json = (const char *)sqlite3_column_text(s, 1);
		size_t len = (size_t)sqlite3_column_bytes(s, 1);

		n++;
		if (json && fn(ctx, sqlite3_column_int64(s, 0), json, len, sqlite3_column_int(s, 2) != 0))
			break;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return inbox__fail(ib, rc, what);
	return n;
}

int inbox_each(struct inbox *ib, const char *user, bool unread_only, int64_t after_seq, int limit,
	       inbox_row_fn fn, void *ctx)
{
	sqlite3_stmt *s = inbox__use(ib, S_EACH);

	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, after_seq);
	sqlite3_bind_int(s, 3, unread_only);
	sqlite3_bind_int(s, 4, limit);
	return visit_rows(ib, s, fn, ctx, "each");
}

int inbox_page(struct inbox *ib, const char *user, int64_t before_seq, int limit, inbox_row_fn fn, void *ctx)
{
	sqlite3_stmt *s = inbox__use(ib, S_PAGE);

	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, before_seq > 0 ? before_seq : INT64_MAX);
	sqlite3_bind_int(s, 3, limit);
	return visit_rows(ib, s, fn, ctx, "page");
}

int64_t inbox_seq_of(struct inbox *ib, const char *user, const char *id)
{
	sqlite3_stmt *s = inbox__use(ib, S_SEQ_OF);
	int64_t seq = 0;
	int rc;

	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		seq = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? seq : inbox__fail(ib, rc, "seq_of");
}

int inbox_row(struct inbox *ib, const char *user, const char *id, inbox_row_fn fn, void *ctx)
{
	sqlite3_stmt *s = inbox__use(ib, S_ROW);
	int rc;

	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		fn(ctx, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
		   (size_t)sqlite3_column_bytes(s, 1), sqlite3_column_int(s, 2) != 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : inbox__fail(ib, rc, "row");
}

int64_t inbox_max_seq(struct inbox *ib)
{
	sqlite3_stmt *s = inbox__use(ib, S_MAX_SEQ);
	int64_t seq;
	int rc;

	rc = sqlite3_step(s);
	seq = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? seq : inbox__fail(ib, rc, "max_seq");
}

int inbox_snapshot_begin(struct inbox *ib)
{
	int rc;

	if (!sqlite3_get_autocommit(ib->db))
		return 0;	/* inside this burst's transaction: already one snapshot */
	rc = exec_one(ib, S_BEGIN_READ, "begin_read");
	return rc < 0 ? rc : 1;
}

void inbox_snapshot_end(struct inbox *ib, int began)
{
	if (began == 1)
		exec_one(ib, S_COMMIT, "end_read");
}

int64_t inbox_unread_count(struct inbox *ib, const char *user)
{
	sqlite3_stmt *s = inbox__use(ib, S_UNREAD);
	int64_t n;
	int rc;

	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? n : inbox__fail(ib, rc, "unread");
}

int inbox__step_changes(struct inbox *ib, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return inbox__fail(ib, rc, what);
	if (sqlite3_changes(ib->db))
		ib->tx_wrote = true;
	return sqlite3_changes(ib->db);
}

int inbox_mark_read(struct inbox *ib, const char *user, const char *const *ids, size_t n)
{
	int changed = 0, rc = inbox__begin(ib);

	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		for (enum stmt_id id = S_MARK; id <= S_MARK_BCAST; id++) {
			sqlite3_stmt *s = inbox__use(ib, id);

			sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 2, ids[i], -1, SQLITE_STATIC);
			if ((rc = inbox__step_changes(ib, s, "mark_read")) < 0)
				return rc;
			changed += rc;
		}
	}
	ib->stats.reads_applied += (uint64_t)changed;
	return changed;
}

int inbox_mark_all_read(struct inbox *ib, const char *user, int64_t upto_ts)
{
	int changed = 0, rc = inbox__begin(ib);

	if (rc)
		return rc;
	for (enum stmt_id id = S_MARK_ALL; id <= S_MARK_ALL_BCAST; id++) {
		sqlite3_stmt *s = inbox__use(ib, id);

		sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, upto_ts);
		if ((rc = inbox__step_changes(ib, s, "mark_all_read")) < 0)
			return rc;
		changed += rc;
	}
	ib->stats.reads_applied += (uint64_t)changed;
	return changed;
}

int inbox_settings_put(struct inbox *ib, const char *user, const char *json, size_t len, int64_t ts)
{
	sqlite3_stmt *s;
	int rc = inbox__begin(ib);

	if (rc)
		return rc;
	s = inbox__use(ib, S_SETTINGS_PUT);
	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, json, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, ts);
	rc = inbox__step_changes(ib, s, "settings_put");
	return rc < 0 ? rc : 0;
}

int inbox_settings_get(struct inbox *ib, const char *user, char **json, int64_t *ts)
{
	sqlite3_stmt *s = inbox__use(ib, S_SETTINGS_GET);
	int rc;

	*json = NULL;
	*ts = 0;
	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(s, 0);

		*json = text ? strdup(text) : NULL;
		*ts = sqlite3_column_int64(s, 1);
		sqlite3_reset(s);
		return text && !*json ? -EIO : 0;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : inbox__fail(ib, rc, "settings_get");
}

int inbox_settings_each(struct inbox *ib, void (*fn)(void *ctx, const char *user, const char *json), void *ctx)
{
	sqlite3_stmt *s = inbox__use(ib, S_SETTINGS_EACH);
	int rc, n = 0;

	/* the callback may write (mark read): copy each row out of the statement first */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char *user = strdup((const char *)sqlite3_column_text(s, 0));
		char *json = strdup((const char *)sqlite3_column_text(s, 1));

		if (user && json)
			fn(ctx, user, json);
		free(user);
		free(json);
		n++;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? n : inbox__fail(ib, rc, "settings_each");
}

int inbox_served_add(struct inbox *ib, const char *user)
{
	sqlite3_stmt *s;
	int rc = inbox__begin(ib);

	if (rc)
		return rc;
	s = inbox__use(ib, S_SERVED_ADD);
	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	return inbox__step_changes(ib, s, "served_add");	/* 1 when new */
}

int inbox_served_each(struct inbox *ib, void (*fn)(void *ctx, const char *user), void *ctx)
{
	sqlite3_stmt *s = inbox__use(ib, S_SERVED_EACH);
	int rc, n = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		fn(ctx, (const char *)sqlite3_column_text(s, 0));
		n++;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? n : inbox__fail(ib, rc, "served_each");
}

bool inbox_write_failing(const struct inbox *ib)
{
	return ib->write_failing;
}

void inbox_get_stats(const struct inbox *ib, struct inbox_stats *out)
{
	*out = ib->stats;
	checkpointer_stats(ib->cp, &out->checkpoints, &out->checkpoint_us_max);
}

const char *inbox_last_error(const struct inbox *ib)
{
	return ib->last_error;
}
