/*
 * test_inbox.c - the SQLite notification store (edge/inbox/inbox.c, edge/inbox/checkpoint.c): open/migrate/reopen, grouped
 * writes (reads see the open transaction, other connections do not, inbox_close commits), backlog
 * and page queries, duplicates, announcements and their per-user read marks, mark read (by id, by
 * ts), settings, pruning by age and per-user cap in budgeted slices, served users, counters, and
 * the failures: missing directory, not a database, a newer schema, a busy lock, a corrupt file.
 *
 * Every test uses its own temporary directory (removed at the end). What the store wrote is also
 * read back through a second, plain SQLite connection, so "committed" means visible to others.
 * Two bugs found here are pinned: the checkpointer that never checkpointed (its connection had
 * not opened the WAL), and NOT NULL violations answered as duplicates.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "mqedge/base/log.h"
#include "mqedge/inbox/inbox.h"

static char tmpbase[200];

/* ---- helpers ---- */

static bool make_dir(char *dir, size_t len)
{
	snprintf(dir, len, "%s/mqedge-test-inbox-XXXXXX", tmpbase);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		CHECK(0);
		return false;
	}
	return true;
}

/* Removes dir's files (inbox.db, -wal, -shm, anything a test wrote) and dir itself. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (d) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (unlink(path))
				rmdir(path);
		}
		closedir(d);
	}
	CHECK(rmdir(dir) == 0);
}

static void db_path(char *path, size_t len, const char *dir)
{
	snprintf(path, len, "%s/inbox.db", dir);
}

static struct inbox *open_ok(const char *dir)
{
	char err[256] = "";
	struct inbox *ib = inbox_open(dir, err, sizeof(err));

	if (!ib)
		fprintf(stderr, "inbox_open(%s): %s\n", dir, err);
	CHECK(ib != NULL);
	return ib;
}

/* A second connection, as another process would see the file. */
static sqlite3 *db_open(const char *dir)
{
	char path[512];
	sqlite3 *db = NULL;

	db_path(path, sizeof(path), dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fprintf(stderr, "sqlite3_open_v2(%s): %s\n", path, db ? sqlite3_errmsg(db) : "nomem");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 2000);
	return db;
}

/* The first column of the first row of query on a fresh connection, or -1000 on error. */
static int64_t db_int(const char *dir, const char *query)
{
	sqlite3 *db = db_open(dir);
	sqlite3_stmt *s = NULL;
	int64_t v = -1000;

	if (!db)
		return v;
	if (sqlite3_prepare_v2(db, query, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else
		fprintf(stderr, "db_int(%s): %s\n", query, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static const char *db_text(const char *dir, const char *query)
{
	static char out[128];
	sqlite3 *db = db_open(dir);
	sqlite3_stmt *s = NULL;

	snprintf(out, sizeof(out), "(error)");
	if (!db)
		return out;
	if (sqlite3_prepare_v2(db, query, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out;
}

static int db_exec(const char *dir, const char *sql)
{
	sqlite3 *db = db_open(dir);
	int rc;

	if (!db)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static char note_json[128];

/* The notification JSON used throughout: {"id":"<id>","ts":<ts>}. */
static const char *note(const char *id, int64_t ts)
{
	snprintf(note_json, sizeof(note_json), "{\"id\":\"%s\",\"ts\":%lld}", id, (long long)ts);
	return note_json;
}

static int put(struct inbox *ib, const char *user, const char *id, int64_t ts, bool read)
{
	const char *json = note(id, ts);

	return inbox_put(ib, user, id, ts, "remind", json, strlen(json), read);
}

#define MAX_ROWS 64

struct rows {
	int n;
	int stop_at;	/* the callback returns 1 at this row (1-based); 0: never */
	int64_t seq[MAX_ROWS];
	bool read[MAX_ROWS];
	char json[MAX_ROWS][128];
	char list[MAX_ROWS * 12];	/* "a1 a2* a3": ids in callback order, '*' when read */
};

static int collect(void *ctx, int64_t seq, const char *json, size_t len, bool read)
{
	struct rows *r = ctx;
	char id[32] = "?";

	if (r->n < MAX_ROWS) {
		r->seq[r->n] = seq;
		r->read[r->n] = read;
		snprintf(r->json[r->n], sizeof(r->json[0]), "%.*s", (int)len, json);
		/* len must be the exact text length (no NUL inside, none counted) */
		if (strlen(r->json[r->n]) != len || len >= sizeof(r->json[0]))
			snprintf(id, sizeof(id), "BADLEN%zu", len);
		else if (sscanf(json, "{\"id\":\"%31[^\"]\"", id) != 1)
			snprintf(id, sizeof(id), "?");
		snprintf(r->list + strlen(r->list), sizeof(r->list) - strlen(r->list), "%s%s%s", r->n ? " " : "", id,
			 read ? "*" : "");
	}
	r->n++;
	return r->stop_at && r->n >= r->stop_at;
}

static int each(struct inbox *ib, const char *user, bool unread_only, int64_t after, int limit, struct rows *r)
{
	memset(r, 0, sizeof(*r));
	return inbox_each(ib, user, unread_only, after, limit, collect, r);
}

static int page(struct inbox *ib, const char *user, int64_t before, int limit, struct rows *r)
{
	memset(r, 0, sizeof(*r));
	return inbox_page(ib, user, before, limit, collect, r);
}

static int mark(struct inbox *ib, const char *user, const char *id)
{
	const char *ids[1] = { id };

	return inbox_mark_read(ib, user, ids, 1);
}

/* ---- tests ---- */

static void test_open_schema(void)
{
	char dir[256], path[512], err[256];
	struct stat st;
	struct inbox *ib;
	struct rows r;
	int64_t seq1;

	if (!make_dir(dir, sizeof(dir)))
		return;
	db_path(path, sizeof(path), dir);
	CHECK(stat(path, &st) != 0);	/* created by open, not before */
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK(!inbox_in_transaction(ib));
	CHECK_STR(inbox_last_error(ib), "");
	/* the migration is committed: another connection sees the schema */
	CHECK(db_int(dir, "PRAGMA user_version") == INBOX_SCHEMA_VERSION);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
			  "('notifications', 'broadcast_reads', 'settings', 'served')") == 4);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN "
			  "('notifications_user_seq', 'notifications_ts')") == 2);
	CHECK_STR(db_text(dir, "PRAGMA journal_mode"), "wal");
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 0);

	CHECK(put(ib, "alice", "n1", 1000, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	seq1 = inbox_seq_of(ib, "alice", "n1");
	CHECK(seq1 > 0);
	inbox_close(ib);

	/* reopening keeps the rows and does not migrate again */
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(db_int(dir, "PRAGMA user_version") == INBOX_SCHEMA_VERSION);
	CHECK(each(ib, "alice", false, 0, 100, &r) == 1);
	CHECK_STR(r.list, "n1");
	CHECK(r.seq[0] == seq1);
	CHECK_STR(r.json[0], "{\"id\":\"n1\",\"ts\":1000}");
	CHECK(put(ib, "alice", "n1", 1000, false) == -EEXIST);	/* the unique key survived too */
	CHECK(put(ib, "alice", "n2", 2000, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	CHECK(inbox_seq_of(ib, "alice", "n2") > seq1);
	inbox_close(ib);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 2);

	/* a file from a newer mqedge is refused, with the versions in the message */
	CHECK(db_exec(dir, "PRAGMA user_version = 2") == SQLITE_OK);
	err[0] = '\0';
	ib = inbox_open(dir, err, sizeof(err));
	CHECK(ib == NULL);
	CHECK(strstr(err, "newer") != NULL);
	CHECK(strstr(err, "schema 2") != NULL);
	inbox_close(ib);	/* NULL is harmless */
	/* and left as it was */
	CHECK(db_int(dir, "PRAGMA user_version") == 2);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 2);
out:
	remove_dir(dir);
}

static void test_put_each(void)
{
	char dir[256];
	struct inbox *ib;
	struct rows r;
	int64_t s1, s2, s3;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(put(ib, "alice", "a1", 1000, false) == 0);
	CHECK(inbox_in_transaction(ib));
	CHECK(put(ib, "bob", "b1", 1500, false) == 0);
	/* arrival order, not ts order */
	CHECK(put(ib, "alice", "a2", 500, false) == 0);
	CHECK(put(ib, "alice", "a3", 3000, true) == 0);	/* stored read (muted) */
	CHECK(inbox_commit(ib) == 0);
	CHECK(!inbox_in_transaction(ib));

	CHECK(each(ib, "alice", false, 0, 100, &r) == 3);
	CHECK_STR(r.list, "a1 a2 a3*");
	CHECK(r.n == 3);
	CHECK(r.seq[0] > 0 && r.seq[0] < r.seq[1] && r.seq[1] < r.seq[2]);
	CHECK_STR(r.json[0], "{\"id\":\"a1\",\"ts\":1000}");
	CHECK_STR(r.json[1], "{\"id\":\"a2\",\"ts\":500}");
	CHECK_STR(r.json[2], "{\"id\":\"a3\",\"ts\":3000}");
	s1 = r.seq[0];
	s2 = r.seq[1];
	s3 = r.seq[2];
	CHECK(inbox_seq_of(ib, "bob", "b1") > s1 && inbox_seq_of(ib, "bob", "b1") < s2);

	/* unread only */
	CHECK(each(ib, "alice", true, 0, 100, &r) == 2);
	CHECK_STR(r.list, "a1 a2");
	/* after_seq is exclusive */
	CHECK(each(ib, "alice", false, s1, 100, &r) == 2);
	CHECK_STR(r.list, "a2 a3*");
	CHECK(each(ib, "alice", true, s1, 100, &r) == 1);
	CHECK_STR(r.list, "a2");
	CHECK(each(ib, "alice", false, s3, 100, &r) == 0);
	CHECK(r.n == 0);
	CHECK(each(ib, "alice", false, s2 - 1, 100, &r) == 2);
	CHECK_STR(r.list, "a2 a3*");
	/* limit: the oldest first */
	CHECK(each(ib, "alice", false, 0, 2, &r) == 2);
	CHECK_STR(r.list, "a1 a2");
	CHECK(each(ib, "alice", false, 0, 1, &r) == 1);
	CHECK_STR(r.list, "a1");
	CHECK(each(ib, "alice", false, s1, 1, &r) == 1);
	CHECK_STR(r.list, "a2");
	CHECK(each(ib, "alice", false, 0, 0, &r) == 0);
	CHECK(r.n == 0);
	/* the callback stops the walk: the stopping row is counted as visited */
	memset(&r, 0, sizeof(r));
	r.stop_at = 2;
	CHECK(inbox_each(ib, "alice", false, 0, 100, collect, &r) == 2);
	CHECK_STR(r.list, "a1 a2");
	/* other users */
	CHECK(each(ib, "bob", false, 0, 100, &r) == 1);
	CHECK_STR(r.list, "b1");
	CHECK(each(ib, "carol", false, 0, 100, &r) == 0);
	CHECK(each(ib, "ALICE", false, 0, 100, &r) == 0);	/* users are exact strings */

	/* only json_len bytes are stored */
	{
		const char *j = "{\"id\":\"a4\"}TRAILING";

		CHECK(inbox_put(ib, "alice", "a4", 4000, "remind", j, 11, false) == 0);
		CHECK(inbox_commit(ib) == 0);
		CHECK(each(ib, "alice", false, s3, 100, &r) == 1);
		CHECK_STR(r.json[0], "{\"id\":\"a4\"}");
		CHECK(db_int(dir, "SELECT length(json) FROM notifications WHERE id = 'a4'") == 11);
		/* the other fields are stored as given */
		CHECK_STR(db_text(dir, "SELECT user || '|' || id || '|' || ts || '|' || kind || '|' || read "
				       "FROM notifications WHERE id = 'a4'"),
			  "alice|a4|4000|remind|0");
		CHECK_STR(db_text(dir, "SELECT read FROM notifications WHERE id = 'a3'"), "1");
	}
	inbox_close(ib);
out:
	remove_dir(dir);
}

static void test_duplicates(void)
{
	char dir[256];
	struct inbox *ib;
	struct inbox_stats st;
	struct rows r;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(put(ib, "alice", "x", 1000, false) == 0);
	CHECK(put(ib, "alice", "x", 1000, false) == -EEXIST);	/* inside the same transaction */
	CHECK(inbox_commit(ib) == 0);
	/* a later duplicate with other content and read state keeps the first row as it was */
	CHECK(inbox_put(ib, "alice", "x", 9000, "other", "{\"id\":\"x\",\"v\":2}", 17, true) == -EEXIST);
	CHECK(inbox_commit(ib) == 0);
	CHECK(each(ib, "alice", false, 0, 100, &r) == 1);
	CHECK_STR(r.json[0], "{\"id\":\"x\",\"ts\":1000}");
	CHECK(!r.read[0]);
	/* the key is (user, id): the same id for another user, or as an announcement, is new */
	CHECK(put(ib, "bob", "x", 1000, false) == 0);
	CHECK(put(ib, INBOX_BROADCAST_USER, "x", 1000, false) == 0);
	CHECK(put(ib, INBOX_BROADCAST_USER, "x", 1000, false) == -EEXIST);
	CHECK(inbox_commit(ib) == 0);
	inbox_get_stats(ib, &st);
	CHECK(st.stored == 3);
	CHECK(st.duplicates == 3);
	CHECK(st.errors == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 3);

	/* a NOT NULL violation (a NULL kind or json) is an error, never taken for a duplicate: a
	 * caller would acknowledge a notification that was never stored */
	CHECK(inbox_put(ib, "alice", "nokind", 1, NULL, "{}", 2, false) == -EIO);
	CHECK(inbox_put(ib, "alice", "nojson", 1, "remind", NULL, 0, false) == -EIO);	/* the tx failed */
	CHECK(inbox_commit(ib) == -EIO);
	CHECK(inbox_seq_of(ib, "alice", "nokind") == 0);	/* not stored */
	CHECK(inbox_seq_of(ib, "alice", "nojson") == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 3);
	inbox_get_stats(ib, &st);
	CHECK(st.duplicates == 3 && st.errors == 1);	/* the second never reached SQLite */
	inbox_close(ib);
out:
	remove_dir(dir);
}

/* Reads see the open transaction; other connections see it only after inbox_commit. */
static void test_open_transaction(void)
{
	char dir[256];
	struct inbox *ib;
	struct inbox_stats st;
	struct rows r;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(inbox_commit(ib) == 0);	/* nothing open: nothing done */
	inbox_get_stats(ib, &st);
	CHECK(st.commits == 0);

	CHECK(put(ib, "alice", "t1", 1000, false) == 0);
	CHECK(put(ib, INBOX_BROADCAST_USER, "t2", 1001, false) == 0);
	CHECK(inbox_in_transaction(ib));
	CHECK(each(ib, "alice", true, 0, 100, &r) == 2);
	CHECK_STR(r.list, "t1 t2");
	CHECK(page(ib, "alice", 0, 100, &r) == 2);
	CHECK_STR(r.list, "t2 t1");
	CHECK(inbox_unread_count(ib, "alice") == 2);
	CHECK(inbox_seq_of(ib, "alice", "t1") > 0);
	CHECK(inbox_seq_of(ib, "alice", "t2") > 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 0);	/* not yet for others */
	/* read marks in the same transaction apply to the rows of that transaction */
	CHECK(mark(ib, "alice", "t1") == 1);
	CHECK(inbox_unread_count(ib, "alice") == 1);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 0);

	CHECK(inbox_commit(ib) == 0);
	CHECK(!inbox_in_transaction(ib));
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 2);
	CHECK(db_int(dir, "SELECT read FROM notifications WHERE id = 't1'") == 1);
	inbox_get_stats(ib, &st);
	CHECK(st.commits == 1);
	CHECK(inbox_commit(ib) == 0);
	inbox_get_stats(ib, &st);
	CHECK(st.commits == 1);
	/* a read-only call does not open a transaction */
	CHECK(each(ib, "alice", false, 0, 100, &r) == 2);
	CHECK(inbox_unread_count(ib, "alice") == 1);
	CHECK(!inbox_in_transaction(ib));
	inbox_close(ib);
out:
	remove_dir(dir);
}

/* inbox_close: "Commits anything open and closes." Every writing call opens the transaction. */
static void test_close_commits(void)
{
	char dir[256], *json = NULL;
	struct inbox *ib;
	struct rows r;
	int64_t ts = 0;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(put(ib, "alice", "c1", 1000, false) == 0);
	CHECK(put(ib, "alice", "c2", 1000, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	/* now one of each write, none committed */
	CHECK(put(ib, "alice", "c3", 2000, false) == 0);
	CHECK(mark(ib, "alice", "c1") == 1);
	CHECK(inbox_mark_all_read(ib, "bob", 5000) == 0);
	CHECK(inbox_settings_put(ib, "alice", "{\"mute\":[]}", 11, 77) == 0);
	CHECK(inbox_served_add(ib, "alice") == 1);
	CHECK(inbox_in_transaction(ib));
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 2);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM settings") == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM served") == 0);
	CHECK(db_int(dir, "SELECT read FROM notifications WHERE id = 'c1'") == 0);
	inbox_close(ib);

	/* committed by the close: visible to another connection and after reopening */
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 3);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM settings") == 1);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM served") == 1);
	CHECK(db_int(dir, "SELECT read FROM notifications WHERE id = 'c1'") == 1);
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(!inbox_in_transaction(ib));
	CHECK(each(ib, "alice", false, 0, 100, &r) == 3);
	CHECK_STR(r.list, "c1* c2 c3");
	CHECK(inbox_settings_get(ib, "alice", &json, &ts) == 0);
	CHECK_STR(json, "{\"mute\":[]}");
	CHECK(ts == 77);
	free(json);
	CHECK(inbox_served_add(ib, "alice") == 0);
	inbox_close(ib);
	/* and after a clean close nothing is left beside the database (WAL checkpointed away) */
	{
		char path[512];
		struct stat st;

		snprintf(path, sizeof(path), "%s/inbox.db-wal", dir);
		CHECK(stat(path, &st) != 0);
	}
out:
	remove_dir(dir);
}

static void test_page(void)
{
	char dir[256];
	struct inbox *ib;
	struct rows r;
	int64_t seq[6];
	const char *ids[6] = { "p1", "p2", "p3", "p4", "p5", "p6" };

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	/* p3 is an announcement, p4 is bob's, p5 is stored read */
	CHECK(put(ib, "alice", "p1", 100, false) == 0);
	CHECK(put(ib, "alice", "p2", 200, false) == 0);
	CHECK(put(ib, INBOX_BROADCAST_USER, "p3", 300, false) == 0);
	CHECK(put(ib, "bob", "p4", 400, false) == 0);
	CHECK(put(ib, "alice", "p5", 500, true) == 0);
	CHECK(put(ib, "alice", "p6", 600, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	for (int i = 0; i < 6; i++)
		seq[i] = inbox_seq_of(ib, i == 3 ? "bob" : "alice", ids[i]);
	for (int i = 1; i < 6; i++)
		CHECK(seq[i] > seq[i - 1]);

	CHECK(page(ib, "alice", 0, 100, &r) == 5);
	CHECK_STR(r.list, "p6 p5* p3 p2 p1");
	CHECK(r.seq[0] == seq[5] && r.seq[4] == seq[0]);
	CHECK(page(ib, "alice", 0, 2, &r) == 2);
	CHECK_STR(r.list, "p6 p5*");
	/* before_seq is exclusive */
	CHECK(page(ib, "alice", seq[4], 2, &r) == 2);
	CHECK_STR(r.list, "p3 p2");
	CHECK(page(ib, "alice", seq[2], 100, &r) == 2);	/* before the announcement, exclusive too */
	CHECK_STR(r.list, "p2 p1");
	CHECK(page(ib, "carol", seq[2], 100, &r) == 0);
	CHECK(page(ib, "carol", seq[2] + 1, 100, &r) == 1);
	CHECK_STR(r.list, "p3");
	CHECK(page(ib, "alice", seq[1], 100, &r) == 1);
	CHECK_STR(r.list, "p1");
	CHECK(page(ib, "alice", seq[0], 100, &r) == 0);
	CHECK(page(ib, "alice", seq[5] + 1000, 100, &r) == 5);
	CHECK(page(ib, "alice", -5, 1, &r) == 1);	/* <= 0: from the newest */
	CHECK_STR(r.list, "p6");
	CHECK(page(ib, "alice", 0, 0, &r) == 0);
	/* walking pages with the last seq as cursor visits everything once */
	{
		char all[sizeof(r.list) * 4] = "";
		int64_t before = 0;
		int pages = 0, n;

		while ((n = page(ib, "alice", before, 2, &r)) > 0 && pages < 10) {
			snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", pages ? "|" : "", r.list);
			before = r.seq[n - 1];
			pages++;
		}
		CHECK_STR(all, "p6 p5*|p3 p2|p1");
		CHECK(pages == 3);
	}
	CHECK(page(ib, "bob", 0, 100, &r) == 2);
	CHECK_STR(r.list, "p4 p3");
	/* the callback can stop a page too */
	memset(&r, 0, sizeof(r));
	r.stop_at = 1;
	CHECK(inbox_page(ib, "alice", 0, 100, collect, &r) == 1);
	CHECK_STR(r.list, "p6");
	inbox_close(ib);
out:
	remove_dir(dir);
}

static void test_seq_of(void)
{
	char dir[256];
	struct inbox *ib;
	int64_t own, ann, bobs, dup_ann, dup_own;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(inbox_seq_of(ib, "alice", "nothing") == 0);	/* empty store */
	CHECK(put(ib, "alice", "own", 1, false) == 0);
	CHECK(put(ib, INBOX_BROADCAST_USER, "ann", 2, false) == 0);
	CHECK(put(ib, "bob", "bobs", 3, false) == 0);
	/* the same id as an announcement (older) and as alice's own (newer) */
	CHECK(put(ib, INBOX_BROADCAST_USER, "both", 4, false) == 0);
	CHECK(put(ib, "alice", "both", 5, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	own = inbox_seq_of(ib, "alice", "own");
	ann = inbox_seq_of(ib, "alice", "ann");
	bobs = inbox_seq_of(ib, "bob", "bobs");
	CHECK(own > 0);
	CHECK(ann > own);
	CHECK(bobs > ann);
	CHECK(inbox_seq_of(ib, "bob", "ann") == ann);	/* announcements are everybody's */
	CHECK(inbox_seq_of(ib, "carol", "ann") == ann);
	CHECK(inbox_seq_of(ib, "alice", "bobs") == 0);	/* not alice's */
	CHECK(inbox_seq_of(ib, "bob", "own") == 0);
	CHECK(inbox_seq_of(ib, "alice", "unknown") == 0);
	CHECK(inbox_seq_of(ib, "alice", "") == 0);
	/* own row wins over an announcement with the same id; others get the announcement */
	dup_own = inbox_seq_of(ib, "alice", "both");
	dup_ann = inbox_seq_of(ib, "bob", "both");
	CHECK(dup_ann > bobs);
	CHECK(dup_own > dup_ann);
	CHECK(db_int(dir, "SELECT seq FROM notifications WHERE user = 'alice' AND id = 'both'") == dup_own);
	inbox_close(ib);
out:
	remove_dir(dir);
}

static void test_announcements(void)
{
	char dir[256];
	struct inbox *ib;
	struct rows r;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(put(ib, "alice", "a1", 100, false) == 0);
	CHECK(put(ib, INBOX_BROADCAST_USER, "all1", 200, false) == 0);
	CHECK(put(ib, "bob", "b1", 300, false) == 0);
	CHECK(put(ib, INBOX_BROADCAST_USER, "all2", 400, false) == 0);
	CHECK(put(ib, "alice", "a2", 500, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	/* stored once */
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications WHERE user = '*'") == 2);

	CHECK(each(ib, "alice", false, 0, 100, &r) == 4);
	CHECK_STR(r.list, "a1 all1 all2 a2");
	CHECK(each(ib, "bob", false, 0, 100, &r) == 3);
	CHECK_STR(r.list, "all1 b1 all2");
	CHECK(each(ib, "carol", false, 0, 100, &r) == 2);	/* a user never seen before */
	CHECK_STR(r.list, "all1 all2");
	CHECK(inbox_unread_count(ib, "alice") == 4);
	CHECK(inbox_unread_count(ib, "bob") == 3);
	CHECK(inbox_unread_count(ib, "carol") == 2);

	/* alice reads all1: only for her */
	CHECK(mark(ib, "alice", "all1") == 1);
	CHECK(mark(ib, "alice", "all1") == 0);
	CHECK(inbox_commit(ib) == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM broadcast_reads") == 1);
	CHECK(db_int(dir, "SELECT read FROM notifications WHERE id = 'all1'") == 0);	/* the row is shared */
	CHECK(each(ib, "alice", false, 0, 100, &r) == 4);
	CHECK_STR(r.list, "a1 all1* all2 a2");
	CHECK(each(ib, "alice", true, 0, 100, &r) == 3);
	CHECK_STR(r.list, "a1 all2 a2");
	CHECK(page(ib, "alice", 0, 100, &r) == 4);
	CHECK_STR(r.list, "a2 all2 all1* a1");
	CHECK(each(ib, "bob", false, 0, 100, &r) == 3);
	CHECK_STR(r.list, "all1 b1 all2");
	CHECK(page(ib, "carol", 0, 100, &r) == 2);
	CHECK_STR(r.list, "all2 all1");
	CHECK(inbox_unread_count(ib, "alice") == 3);
	CHECK(inbox_unread_count(ib, "bob") == 3);
	CHECK(inbox_unread_count(ib, "carol") == 2);
	/* bob reads it too, then carol everything by ts */
	CHECK(mark(ib, "bob", "all1") == 1);
	CHECK(inbox_mark_all_read(ib, "carol", 1000) == 2);
	CHECK(inbox_mark_all_read(ib, "carol", 1000) == 0);
	CHECK(inbox_commit(ib) == 0);
	CHECK(inbox_unread_count(ib, "bob") == 2);
	CHECK(inbox_unread_count(ib, "carol") == 0);
	CHECK(inbox_unread_count(ib, "alice") == 3);
	CHECK(each(ib, "carol", true, 0, 100, &r) == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM broadcast_reads") == 4);
	/* an announcement that arrives later is unread for everyone, even carol */
	CHECK(put(ib, INBOX_BROADCAST_USER, "all3", 50, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	CHECK(inbox_unread_count(ib, "carol") == 1);
	CHECK(each(ib, "carol", true, 0, 100, &r) == 1);
	CHECK_STR(r.list, "all3");
	/* an announcement's own read flag is not anybody's read mark: per-user marks only */
	CHECK(put(ib, INBOX_BROADCAST_USER, "all4", 60, true) == 0);
	CHECK(inbox_commit(ib) == 0);
	CHECK(each(ib, "dave", false, 0, 100, &r) == 4);
	CHECK_STR(r.list, "all1 all2 all3 all4");
	CHECK(inbox_unread_count(ib, "dave") == 4);
	inbox_close(ib);
out:
	remove_dir(dir);
}

static void test_mark_read(void)
{
	char dir[256];
	struct inbox *ib;
	struct inbox_stats st;
	struct rows r;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(put(ib, "alice", "m1", 1000, false) == 0);
	CHECK(put(ib, "alice", "m2", 2000, false) == 0);
	CHECK(put(ib, INBOX_BROADCAST_USER, "m3", 1500, false) == 0);
	CHECK(put(ib, "alice", "m4", 3000, false) == 0);
	CHECK(put(ib, INBOX_BROADCAST_USER, "m5", 2500, false) == 0);
	CHECK(put(ib, "alice", "m6", 1000, true) == 0);	/* muted: already read */
	CHECK(put(ib, "bob", "m1", 1000, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	CHECK(inbox_unread_count(ib, "alice") == 5);
	CHECK(inbox_unread_count(ib, "bob") == 3);
	CHECK(inbox_unread_count(ib, "nobody") == 2);

	/* by id: own and announcement ids, unknown and already-read ids do not count */
	{
		const char *ids[] = { "m1", "m3", "unknown", "m6", "m1" };

		CHECK(inbox_mark_read(ib, "alice", ids, 5) == 2);
		CHECK(inbox_mark_read(ib, "alice", ids, 5) == 0);
		CHECK(inbox_mark_read(ib, "alice", ids, 0) == 0);
	}
	CHECK(inbox_commit(ib) == 0);
	CHECK(inbox_unread_count(ib, "alice") == 3);
	CHECK(inbox_unread_count(ib, "bob") == 3);	/* bob's m1 is his own row */
	CHECK(each(ib, "alice", false, 0, 100, &r) == 6);
	CHECK_STR(r.list, "m1* m2 m3* m4 m5 m6*");
	CHECK(each(ib, "bob", false, 0, 100, &r) == 3);
	CHECK_STR(r.list, "m3 m5 m1");
	CHECK(mark(ib, "bob", "m2") == 0);	/* alice's id: not bob's to mark */
	CHECK(inbox_unread_count(ib, "alice") == 3);

	/* everything up to a ts (inclusive), own and announcements */
	CHECK(inbox_mark_all_read(ib, "alice", 999) == 0);
	CHECK(inbox_mark_all_read(ib, "alice", 2000) == 1);	/* m2; m1, m3 were read, m6 muted */
	CHECK(inbox_unread_count(ib, "alice") == 2);
	CHECK(inbox_mark_all_read(ib, "alice", 2500) == 1);	/* m5 (announcement, ts 2500) */
	CHECK(inbox_mark_all_read(ib, "alice", 2500) == 0);
	CHECK(each(ib, "alice", true, 0, 100, &r) == 1);
	CHECK_STR(r.list, "m4");
	CHECK(inbox_mark_all_read(ib, "alice", INT64_MAX) == 1);
	CHECK(inbox_unread_count(ib, "alice") == 0);
	CHECK(inbox_commit(ib) == 0);
	/* bob untouched */
	CHECK(inbox_unread_count(ib, "bob") == 3);
	CHECK(inbox_mark_all_read(ib, "bob", 1500) == 2);	/* his m1 (1000) and m3 (1500) */
	CHECK(inbox_commit(ib) == 0);
	CHECK(each(ib, "bob", false, 0, 100, &r) == 3);
	CHECK_STR(r.list, "m3* m5 m1*");
	inbox_get_stats(ib, &st);
	CHECK(st.reads_applied == 2 + 1 + 1 + 1 + 2);
	CHECK(st.errors == 0);
	inbox_close(ib);
out:
	remove_dir(dir);
}

struct settings_seen {
	int n;
	char text[256];
};

static void settings_cb(void *ctx, const char *user, const char *json)
{
	struct settings_seen *s = ctx;

	s->n++;
	snprintf(s->text + strlen(s->text), sizeof(s->text) - strlen(s->text), "%s=%s;", user, json);
}

static void test_settings(void)
{
	char dir[256], *json = (char *)"sentinel";
	struct inbox *ib;
	struct settings_seen seen;
	int64_t ts = 12345;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	/* unknown user: OK with NULL and ts 0 */
	CHECK(inbox_settings_get(ib, "alice", &json, &ts) == 0);
	CHECK(json == NULL);
	CHECK(ts == 0);
	memset(&seen, 0, sizeof(seen));
	CHECK(inbox_settings_each(ib, settings_cb, &seen) == 0);
	CHECK(seen.n == 0);

	CHECK(inbox_settings_put(ib, "alice", "{\"mute\":[\"remind\"]}", 19, 100) == 0);
	CHECK(inbox_in_transaction(ib));
	CHECK(inbox_settings_get(ib, "alice", &json, &ts) == 0);	/* the open transaction */
	CHECK_STR(json, "{\"mute\":[\"remind\"]}");
	CHECK(ts == 100);
	free(json);
	CHECK(inbox_commit(ib) == 0);
	/* replaced whole by a newer ts; an older ts loses (the newest ts wins), an equal one replaces */
	CHECK(inbox_settings_put(ib, "alice", "{\"mute\":[]}", 11, 200) == 0);
	CHECK(inbox_settings_get(ib, "alice", &json, &ts) == 0);
	CHECK_STR(json, "{\"mute\":[]}");
	CHECK(ts == 200);
	free(json);
	CHECK(inbox_settings_put(ib, "alice", "{\"old\":1}", 9, 150) == 0);
	CHECK(inbox_settings_get(ib, "alice", &json, &ts) == 0);
	CHECK_STR(json, "{\"mute\":[]}");
	CHECK(ts == 200);
	free(json);
	CHECK(inbox_settings_put(ib, "alice", "{\"same\":1}XX", 10, 200) == 0);	/* len counts */
	CHECK(inbox_settings_get(ib, "alice", &json, &ts) == 0);
	CHECK_STR(json, "{\"same\":1}");
	CHECK(ts == 200);
	free(json);
	CHECK(inbox_settings_put(ib, "bob", "{\"b\":2}", 7, 5) == 0);
	CHECK(inbox_commit(ib) == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM settings") == 2);

	memset(&seen, 0, sizeof(seen));
	CHECK(inbox_settings_each(ib, settings_cb, &seen) == 2);
	CHECK(seen.n == 2);
	/* order is the table's (user is the primary key): either is fine */
	CHECK(!strcmp(seen.text, "alice={\"same\":1};bob={\"b\":2};") ||
	      !strcmp(seen.text, "bob={\"b\":2};alice={\"same\":1};"));
	CHECK(inbox_settings_get(ib, "carol", &json, &ts) == 0);
	CHECK(json == NULL);
	CHECK(ts == 0);
	inbox_close(ib);

	/* kept across reopening */
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(inbox_settings_get(ib, "bob", &json, &ts) == 0);
	CHECK_STR(json, "{\"b\":2}");
	CHECK(ts == 5);
	free(json);
	inbox_close(ib);
out:
	remove_dir(dir);
}

static void test_prune_age(void)
{
	char dir[256];
	struct inbox *ib;
	struct inbox_stats st;
	struct rows r;
	int64_t last_seq;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	/* five old rows (ts < 5000), two at the limit or newer; an old announcement alice read */
	CHECK(put(ib, "alice", "o1", 1000, false) == 0);
	CHECK(put(ib, "bob", "o2", 1100, false) == 0);
	CHECK(put(ib, INBOX_BROADCAST_USER, "o3", 1200, false) == 0);
	CHECK(put(ib, "alice", "o4", 4999, false) == 0);
	CHECK(put(ib, "alice", "k1", 5000, false) == 0);
	CHECK(put(ib, "alice", "o5", 10, false) == 0);	/* old ts, arrived late */
	CHECK(put(ib, "bob", "k2", 9000, false) == 0);
	CHECK(mark(ib, "alice", "o3") == 1);
	CHECK(mark(ib, "bob", "o3") == 1);
	CHECK(inbox_commit(ib) == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM broadcast_reads") == 2);
	last_seq = inbox_seq_of(ib, "bob", "k2");

	/* max age 5000 at now 10000: ts < 5000 goes; 2 per call, oldest seq first, no cap (1000) */
	CHECK(inbox_prune(ib, 10000, 5000, 1000, 2) == 2);
	CHECK(!inbox_in_transaction(ib));	/* a prune commits its own transaction */
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 5);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications WHERE id IN ('o1', 'o2')") == 0);
	inbox_get_stats(ib, &st);
	CHECK(st.pruned == 2);
	CHECK(st.rows == 5);
	CHECK(inbox_prune(ib, 10000, 5000, 1000, 2) == 2);	/* o3 (and its read marks), o4 */
	CHECK(db_int(dir, "SELECT COUNT(*) FROM broadcast_reads") == 0);
	CHECK(inbox_prune(ib, 10000, 5000, 1000, 2) == 1);	/* o5 */
	CHECK(inbox_prune(ib, 10000, 5000, 1000, 2) == 0);
	inbox_get_stats(ib, &st);
	CHECK(st.pruned == 5);
	CHECK(st.rows == 2);
	CHECK(each(ib, "alice", false, 0, 100, &r) == 1);
	CHECK_STR(r.list, "k1");
	CHECK(each(ib, "bob", false, 0, 100, &r) == 1);
	CHECK_STR(r.list, "k2");
	CHECK(inbox_unread_count(ib, "carol") == 0);

	/* a prune commits what was open first (those rows count as written, not pruned) */
	CHECK(put(ib, "alice", "n1", 20000, false) == 0);
	CHECK(inbox_prune(ib, 10000, 5000, 1000, 10) == 0);
	CHECK(!inbox_in_transaction(ib));
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications WHERE id = 'n1'") == 1);
	/* one large budget does it all at once; seqs are never reused after a delete */
	CHECK(inbox_prune(ib, 30000, 5000, 1000, 100) == 3);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 0);
	CHECK(put(ib, "alice", "n2", 40000, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	CHECK(inbox_seq_of(ib, "alice", "n2") > last_seq + 1);
	/* budget 0 deletes nothing */
	CHECK(inbox_prune(ib, 90000, 5000, 1000, 0) == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 1);
	inbox_close(ib);
out:
	remove_dir(dir);
}

static void test_prune_cap(void)
{
	char dir[256], id[16];
	struct inbox *ib;
	struct inbox_stats st;
	struct rows r;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	/* u: 10 rows, v: 2, announcements: 5; all recent (no age pruning) */
	for (int i = 1; i <= 10; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		CHECK(put(ib, "u", id, 100000 + i, false) == 0);
		if (i <= 2) {
			snprintf(id, sizeof(id), "v%d", i);
			CHECK(put(ib, "v", id, 100000 + i, false) == 0);
		}
		if (i <= 5) {
			snprintf(id, sizeof(id), "g%d", i);
			CHECK(put(ib, INBOX_BROADCAST_USER, id, 100000 + i, false) == 0);
		}
	}
	CHECK(inbox_commit(ib) == 0);
	CHECK(mark(ib, "v", "g1") == 1);
	CHECK(inbox_commit(ib) == 0);

	/* cap 3, budget 4: u loses 7 (its oldest), "*" 2 (and g1's read mark), v nothing; 9 in all */
	int a = inbox_prune(ib, 100100, 1000000, 3, 4);
	int b = inbox_prune(ib, 100100, 1000000, 3, 4);
	int c = inbox_prune(ib, 100100, 1000000, 3, 4);
	int d = inbox_prune(ib, 100100, 1000000, 3, 4);

	CHECK(a == 4);
	CHECK(b == 4);
	CHECK(c == 1);
	CHECK(d == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 3 + 2 + 3);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM broadcast_reads") == 0);
	CHECK(each(ib, "u", false, 0, 100, &r) == 6);
	CHECK_STR(r.list, "g3 g4 g5 u8 u9 u10");
	CHECK(each(ib, "v", false, 0, 100, &r) == 5);
	CHECK_STR(r.list, "v1 v2 g3 g4 g5");
	inbox_get_stats(ib, &st);
	CHECK(st.pruned == 9);
	CHECK(st.rows == 8);

	/* nothing written since: a lower cap finds nobody to cut (only written users are checked) */
	CHECK(inbox_prune(ib, 100100, 1000000, 1, 100) == 0);
	/* a write marks the user again; the cap keeps exactly the newest max_per_user */
	CHECK(put(ib, "v", "v3", 100003, false) == 0);
	CHECK(inbox_prune(ib, 100100, 1000000, 1, 100) == 2);
	CHECK(each(ib, "v", false, 0, 100, &r) == 4);
	CHECK_STR(r.list, "g3 g4 g5 v3");
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications WHERE user = 'u'") == 3);

	/* the same after reopening: which users were written is kept in memory only, so a user over
	 * the cap is cut only after their next write (e.g. a lowered inbox-max-per-user) */
	inbox_close(ib);
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(inbox_prune(ib, 100100, 1000000, 1, 100) == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications WHERE user = 'u'") == 3);
	CHECK(put(ib, "u", "u11", 100011, false) == 0);
	CHECK(inbox_prune(ib, 100100, 1000000, 1, 100) == 3);
	CHECK_STR(db_text(dir, "SELECT group_concat(id) FROM notifications WHERE user = 'u'"), "u11");
	/* many users in one slice: 40 users with 3 rows each, cap 2, budget 25 -> 40 rows in 2 calls */
	for (int u = 0; u < 40; u++) {
		char user[16];

		snprintf(user, sizeof(user), "w%02d", u);
		for (int i = 0; i < 3; i++) {
			snprintf(id, sizeof(id), "w%02d-%d", u, i);
			CHECK(put(ib, user, id, 200000 + i, false) == 0);
		}
	}
	CHECK(inbox_commit(ib) == 0);
	a = inbox_prune(ib, 200100, 1000000, 2, 25);
	b = inbox_prune(ib, 200100, 1000000, 2, 25);
	c = inbox_prune(ib, 200100, 1000000, 2, 25);
	CHECK(a == 25);
	CHECK(b == 15);
	CHECK(c == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications WHERE user LIKE 'w%' AND id LIKE '%-0'") == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications WHERE user LIKE 'w%'") == 80);
	/* age and cap together in one call, within one budget: age first */
	CHECK(put(ib, "x", "x1", 1, false) == 0);	/* too old */
	CHECK(put(ib, "x", "x2", 300000, false) == 0);
	CHECK(put(ib, "x", "x3", 300001, false) == 0);
	CHECK(put(ib, "x", "x4", 300002, false) == 0);
	/* the cut is ts < 100: only x1 (everything else here has ts >= 100003) */
	CHECK(inbox_prune(ib, 300100, 300000, 2, 1) == 1);	/* x1 by age uses the whole budget */
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications WHERE user = 'x'") == 3);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 3 + 1 + 1 + 80 + 3);	/* *, u, v, w.., x */
	CHECK(inbox_prune(ib, 300100, 300000, 2, 10) == 1);	/* x still marked: x2 goes by the cap */
	CHECK(inbox_prune(ib, 300100, 300000, 2, 10) == 0);
	CHECK(each(ib, "x", false, 0, 100, &r) == 5);
	CHECK_STR(r.list, "g3 g4 g5 x3 x4");
	inbox_close(ib);
out:
	remove_dir(dir);
}

struct served_seen {
	int n;
	char text[256];
};

static void served_cb(void *ctx, const char *user)
{
	struct served_seen *s = ctx;

	s->n++;
	snprintf(s->text + strlen(s->text), sizeof(s->text) - strlen(s->text), "%s;", user);
}

static void test_served(void)
{
	char dir[256];
	struct inbox *ib;
	struct served_seen seen;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	memset(&seen, 0, sizeof(seen));
	CHECK(inbox_served_each(ib, served_cb, &seen) == 0);
	CHECK(seen.n == 0);
	/* 1 when new, 0 when already there; in the open transaction like every write */
	CHECK(inbox_served_add(ib, "bob") == 1);
	CHECK(inbox_in_transaction(ib));
	CHECK(inbox_served_add(ib, "bob") == 0);
	CHECK(inbox_served_add(ib, "alice") == 1);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM served") == 0);
	memset(&seen, 0, sizeof(seen));
	CHECK(inbox_served_each(ib, served_cb, &seen) == 2);	/* sees the open transaction */
	CHECK(inbox_commit(ib) == 0);
	CHECK(db_int(dir, "SELECT COUNT(*) FROM served") == 2);
	CHECK(inbox_served_add(ib, "alice") == 0);
	CHECK(inbox_commit(ib) == 0);
	memset(&seen, 0, sizeof(seen));
	CHECK(inbox_served_each(ib, served_cb, &seen) == 2);
	CHECK(seen.n == 2);
	CHECK_STR(seen.text, "alice;bob;");	/* WITHOUT ROWID primary key: in key order */
	inbox_close(ib);
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(inbox_served_add(ib, "bob") == 0);
	CHECK(inbox_served_add(ib, "carol") == 1);
	CHECK(inbox_commit(ib) == 0);
	memset(&seen, 0, sizeof(seen));
	CHECK(inbox_served_each(ib, served_cb, &seen) == 3);
	CHECK_STR(seen.text, "alice;bob;carol;");
	inbox_close(ib);
out:
	remove_dir(dir);
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static void test_stats(void)
{
	char dir[256];
	struct inbox *ib;
	struct inbox_stats st;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	inbox_get_stats(ib, &st);
	CHECK(st.stored == 0 && st.duplicates == 0 && st.commits == 0 && st.errors == 0);
	CHECK(st.pruned == 0 && st.reads_applied == 0 && st.rows == 0);
	CHECK(st.commit_us_max == 0);
	CHECK(put(ib, "alice", "s1", 1, false) == 0);
	CHECK(put(ib, "alice", "s2", 2, false) == 0);
	CHECK(put(ib, "alice", "s2", 2, false) == -EEXIST);
	CHECK(inbox_commit(ib) == 0);
	CHECK(mark(ib, "alice", "s1") == 1);
	CHECK(inbox_commit(ib) == 0);
	inbox_get_stats(ib, &st);
	CHECK(st.stored == 2);
	CHECK(st.duplicates == 1);
	CHECK(st.commits == 2);
	CHECK(st.reads_applied == 1);
	CHECK(st.errors == 0);
	CHECK(st.rows == 0);	/* refreshed only by a prune */
	CHECK(st.commit_us_max < 10 * 1000000);
	CHECK(inbox_prune(ib, 100, 50, 1000, 1) == 1);
	inbox_get_stats(ib, &st);
	CHECK(st.pruned == 1);
	CHECK(st.rows == 1);
	CHECK(st.commits == 3);	/* the prune's own */
	CHECK(inbox_prune(ib, 100, 50, 1000, 1) == 1);
	inbox_get_stats(ib, &st);
	CHECK(st.pruned == 2);
	CHECK(st.rows == 0);
	CHECK(st.commits == 4);
	CHECK(st.errors == 0);
	/* the checkpointer (its own connection, about once a second) moves committed pages from the
	 * WAL into inbox.db: 200 KB committed are in the main file two runs later */
	{
		enum { BIG = 200 * 1024 };
		char *big = malloc(BIG), path[512];
		struct stat sb;
		uint64_t runs;

		if (!big) {
			CHECK(0);
			inbox_close(ib);
			goto out;
		}
		memset(big, 'x', BIG);
		CHECK(inbox_put(ib, "alice", "big", 1000, "remind", big, BIG, false) == 0);
		free(big);
		CHECK(inbox_commit(ib) == 0);
		inbox_get_stats(ib, &st);
		runs = st.checkpoints;
		for (int i = 0; i < 60 && st.checkpoints < runs + 2; i++) {
			sleep_ms(100);
			inbox_get_stats(ib, &st);
		}
		CHECK(st.checkpoints >= runs + 2);
		CHECK(st.checkpoint_us_max < 10 * 1000000);
		db_path(path, sizeof(path), dir);
		/* the checkpointer copied the WAL into the database file */
		CHECK(stat(path, &sb) == 0 && sb.st_size >= BIG);
	}
	inbox_close(ib);
out:
	remove_dir(dir);
}

/* Another connection holds the write lock: puts fail with -EBUSY after the busy timeout,
 * counted and explained, and work again once the lock is gone. */
static void test_busy(void)
{
	char dir[256];
	struct inbox *ib;
	struct inbox_stats st;
	sqlite3 *other;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	other = db_open(dir);
	CHECK(other != NULL);
	if (!other) {
		inbox_close(ib);
		goto out;
	}
	CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(put(ib, "alice", "busy1", 1, false) == -EBUSY);
	inbox_get_stats(ib, &st);
	CHECK(st.errors == 1);
	CHECK(st.stored == 0);
	CHECK(strstr(inbox_last_error(ib), "begin") != NULL);
	CHECK(strstr(inbox_last_error(ib), "locked") != NULL);
	CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(other);
	/* a transaction in which a statement failed takes nothing more and commits nothing: the
	 * caller acknowledges none of it, so none of it may be stored */
	CHECK(put(ib, "alice", "busy2", 2, false) == -EIO);
	CHECK(inbox_commit(ib) == -EIO);
	CHECK(inbox_write_failing(ib));
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 0);
	/* a transaction that changes nothing commits even on a full disk: it proves nothing */
	CHECK(mark(ib, "alice", "no-such-id") == 0);
	CHECK(inbox_commit(ib) == 0);
	CHECK(inbox_write_failing(ib));
	/* a caller that could not even build its rows aborts: the batch is not acknowledged */
	inbox_abort(ib);
	CHECK(inbox_in_transaction(ib));
	CHECK(inbox_commit(ib) == -EIO);
	CHECK(!inbox_in_transaction(ib));
	/* the next transaction works again */
	CHECK(put(ib, "alice", "busy1", 1, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	CHECK(!inbox_write_failing(ib));
	CHECK(db_int(dir, "SELECT COUNT(*) FROM notifications") == 1);
	inbox_get_stats(ib, &st);
	CHECK(st.errors == 1);
	CHECK(st.stored == 1);
	inbox_close(ib);
out:
	remove_dir(dir);
}

static bool write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static void test_open_errors(void)
{
	char dir[256], path[512], err[512];
	struct inbox *ib;

	if (!make_dir(dir, sizeof(dir)))
		return;
	/* a directory that does not exist */
	snprintf(path, sizeof(path), "%s/missing/deeper", dir);
	snprintf(err, sizeof(err), "untouched");
	ib = inbox_open(path, err, sizeof(err));
	CHECK(ib == NULL);
	CHECK(strstr(err, "missing/deeper/inbox.db") != NULL);
	CHECK(strstr(err, "unable to open") != NULL);
	inbox_close(ib);
	CHECK(access(path, F_OK) != 0);	/* nothing created */

	/* a regular file where the directory should be */
	snprintf(path, sizeof(path), "%s/plainfile", dir);
	CHECK(write_file(path, "x", 1));
	snprintf(err, sizeof(err), "untouched");
	ib = inbox_open(path, err, sizeof(err));
	CHECK(ib == NULL);
	CHECK(strstr(err, "plainfile/inbox.db") != NULL);
	inbox_close(ib);

	/* inbox.db that is not a database: refused and left alone */
	{
		static const char text[] = "this is not an SQLite database, just some text long enough\n";
		struct stat st;

		db_path(path, sizeof(path), dir);
		CHECK(write_file(path, text, sizeof(text) - 1));
		snprintf(err, sizeof(err), "untouched");
		ib = inbox_open(dir, err, sizeof(err));
		CHECK(ib == NULL);
		CHECK(strstr(err, "not a database") != NULL);
		CHECK(strstr(err, "inbox.db") != NULL);
		inbox_close(ib);
		CHECK(stat(path, &st) == 0 && st.st_size == (off_t)(sizeof(text) - 1));
		/* a tiny err buffer is still terminated, nothing written past it */
		{
			char small[8];

			memset(small, 'Z', sizeof(small));
			ib = inbox_open(dir, small, 5);
			CHECK(ib == NULL);
			CHECK(strlen(small) == 4);
			CHECK(small[5] == 'Z' && small[7] == 'Z');
			inbox_close(ib);
		}
		unlink(path);
	}

	/* inbox.db is a directory */
	db_path(path, sizeof(path), dir);
	CHECK(mkdir(path, 0700) == 0);
	snprintf(err, sizeof(err), "untouched");
	ib = inbox_open(dir, err, sizeof(err));
	CHECK(ib == NULL);
	CHECK(strcmp(err, "untouched") != 0 && err[0] != '\0');
	inbox_close(ib);
	CHECK(rmdir(path) == 0);

	/* an empty inbox.db is a new, empty database */
	CHECK(write_file(path, "", 0));
	ib = open_ok(dir);
	if (ib) {
		CHECK(db_int(dir, "PRAGMA user_version") == INBOX_SCHEMA_VERSION);
		inbox_close(ib);
	}
	remove_dir(dir);
}

/* Overwrites page `page` (1-based) of dir/inbox.db with garbage, keeping `keep` leading bytes. */
static bool corrupt_page(const char *dir, int64_t page, int64_t page_size, size_t keep)
{
	char path[512];
	unsigned char *junk = malloc((size_t)page_size);
	int fd;
	bool ok;

	if (!junk)
		return false;
	memset(junk, 0xa5, (size_t)page_size);
	db_path(path, sizeof(path), dir);
	fd = open(path, O_WRONLY);
	ok = fd >= 0 && pwrite(fd, junk, (size_t)page_size - keep, (off_t)((page - 1) * page_size + (int64_t)keep)) ==
				(ssize_t)((size_t)page_size - keep);
	if (fd >= 0)
		close(fd);
	free(junk);
	return ok;
}

static void test_corrupt(void)
{
	char dir[256], err[512];
	struct inbox *ib;
	struct inbox_stats st;
	struct rows r;
	int64_t page_size, root;
	int rc;

	if (!make_dir(dir, sizeof(dir)))
		return;
	ib = open_ok(dir);
	if (!ib)
		goto out;
	CHECK(put(ib, "alice", "c1", 1, false) == 0);
	CHECK(put(ib, "alice", "c2", 2, false) == 0);
	CHECK(inbox_commit(ib) == 0);
	inbox_close(ib);	/* the last close checkpoints everything into inbox.db */
	page_size = db_int(dir, "PRAGMA page_size");
	root = db_int(dir, "SELECT rootpage FROM sqlite_master WHERE name = 'notifications'");
	CHECK(page_size >= 512);
	CHECK(root > 1);

	/* a table page destroyed: the store opens (the schema is intact), queries report it */
	CHECK(corrupt_page(dir, root, page_size, 0));
	ib = open_ok(dir);
	if (!ib)
		goto out;
	rc = each(ib, "alice", false, 0, 100, &r);
	CHECK(rc == -EBADMSG);
	CHECK(r.n == 0);
	CHECK(strstr(inbox_last_error(ib), "each") != NULL);
	CHECK(strstr(inbox_last_error(ib), "malformed") != NULL);
	CHECK(inbox_unread_count(ib, "alice") == -EBADMSG);
	CHECK(page(ib, "alice", 0, 100, &r) == -EBADMSG);
	CHECK(strstr(inbox_last_error(ib), "page") != NULL);
	/* (inbox_seq_of still answers here: the (user, id) index covers it and is intact) */
	inbox_get_stats(ib, &st);
	CHECK(st.errors == 3);
	inbox_close(ib);

	/* the schema page destroyed (header kept): the open fails with a message */
	CHECK(corrupt_page(dir, 1, page_size, 100));
	snprintf(err, sizeof(err), "untouched");
	ib = inbox_open(dir, err, sizeof(err));
	CHECK(ib == NULL);
	CHECK(strcmp(err, "untouched") != 0);
	CHECK(strstr(err, "malformed") != NULL || strstr(err, "not a database") != NULL);
	inbox_close(ib);
out:
	remove_dir(dir);
}

int main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpbase, sizeof(tmpbase), "%s", base && *base ? base : "/tmp");
	log_threshold = LOG_WARN;	/* no "store_migrated" line per open */
	test_open_schema();
	test_put_each();
	test_duplicates();
	test_open_transaction();
	test_close_commits();
	test_page();
	test_seq_of();
	test_announcements();
	test_mark_read();
	test_settings();
	test_prune_age();
	test_prune_cap();
	test_served();
	test_stats();
	printf("the store_error lines on stderr from here on are expected (busy, corrupt)\n");
	test_busy();
	test_open_errors();
	test_corrupt();
	return CHECK_DONE();
}
