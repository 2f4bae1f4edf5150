/*
 * retention.c - pruning the store: rows older than the maximum age and, per user, beyond the
 * per-user cap, a small budget of rows per call so the loop is never held long. Owns the set of
 * users written to since the last prune. Must not: write anything but deletions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inbox_int.h"
#include "mqedge/base/siphash.h"

void inbox__touched_add(struct touched *t, const char *user)
{
	size_t i;

	if (t->count * 2 >= t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		char **nu = calloc(ncap, sizeof(*nu));

		if (!nu)
			return;	/* the cap is enforced at the next touch of this user instead */
		for (size_t j = 0; j < t->cap; j++) {
			if (!t->users[j])
				continue;
			for (i = siphash(t->users[j], strlen(t->users[j])) & (ncap - 1); nu[i]; i = (i + 1) & (ncap - 1))
				;
			nu[i] = t->users[j];
		}
		free(t->users);
		t->users = nu;
		t->cap = ncap;
	}
	for (i = siphash(user, strlen(user)) & (t->cap - 1); t->users[i]; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->users[i], user))
			return;
	t->users[i] = strdup(user);
	if (t->users[i])
		t->count++;
}

void inbox__touched_clear(struct touched *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->users[i]);
	free(t->users);
	memset(t, 0, sizeof(*t));
}

static int delete_seq(struct inbox *ib, int64_t seq)
{
	for (enum stmt_id id = S_DELETE; id <= S_DELETE_READS; id++) {
		sqlite3_stmt *s = inbox__use(ib, id);
		int rc;

		sqlite3_bind_int64(s, 1, seq);
		if ((rc = inbox__step_changes(ib, s, "prune")) < 0)
			return rc;
	}
	return 0;
}

#define PRUNE_BATCH_MAX 512

/* Runs s (a bound SELECT of seqs, at most PRUNE_BATCH_MAX rows) and deletes those rows.
 * Returns how many were deleted, or an error. */
static int delete_selected(struct inbox *ib, sqlite3_stmt *s, const char *what)
{
	int64_t seqs[PRUNE_BATCH_MAX];
	int n = 0, rc;

	while (n < PRUNE_BATCH_MAX && (rc = sqlite3_step(s)) == SQLITE_ROW)
		seqs[n++] = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (n < PRUNE_BATCH_MAX && rc != SQLITE_DONE)
		return inbox__fail(ib, rc, what);
	for (int i = 0; i < n; i++)
		if ((rc = delete_seq(ib, seqs[i])) < 0)
			return rc;
	return n;
}

int inbox_prune(struct inbox *ib, int64_t now_ms, int64_t max_age_ms, int64_t max_per_user, int budget)
{
	int deleted = 0, rc;
	sqlite3_stmt *s;

	if (inbox_in_transaction(ib) && (rc = inbox_commit(ib)) < 0)
		return rc;
	if ((rc = inbox__begin(ib)) < 0)
		goto fail;
	if (budget > PRUNE_BATCH_MAX)
		budget = PRUNE_BATCH_MAX;
	/* by age */
	s = inbox__use(ib, S_AGED);
	sqlite3_bind_int64(s, 1, now_ms - max_age_ms);
	sqlite3_bind_int(s, 2, budget);
	if ((rc = delete_selected(ib, s, "prune_age")) < 0)
		goto fail;
	deleted += rc;
	/* by count, for users written to since the last prune */
	for (size_t i = 0; i < ib->touched.cap && deleted < budget; i++) {
		const char *user = ib->touched.users[i];
		int64_t cut;

		if (!user)
			continue;
		s = inbox__use(ib, S_CAP);
		sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, max_per_user - 1);
		rc = sqlite3_step(s);
		cut = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			rc = inbox__fail(ib, rc, "prune_cap");
			goto fail;
		}
		if (cut) {
			/* delete the user's rows older than cut, oldest first, within budget */
			s = inbox__use(ib, S_CAP_OLDER);
			sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, cut);
			sqlite3_bind_int(s, 3, budget - deleted);
			if ((rc = delete_selected(ib, s, "prune_cap")) < 0)
				goto fail;
			deleted += rc;
			if (deleted >= budget)
				break;	/* this user may still be over: keep it touched */
		}
		free(ib->touched.users[i]);
		ib->touched.users[i] = NULL;
		ib->touched.count--;
	}
	/* a removed slot can break probe chains: rebuild the set when anything was removed */
	if (ib->touched.count == 0) {
		inbox__touched_clear(&ib->touched);
	} else {
		struct touched old = ib->touched;

		memset(&ib->touched, 0, sizeof(ib->touched));
		for (size_t i = 0; i < old.cap; i++)
			if (old.users[i])
				inbox__touched_add(&ib->touched, old.users[i]);
		inbox__touched_clear(&old);
	}
	if ((rc = inbox_commit(ib)) < 0)
		return rc;
	ib->stats.pruned += (uint64_t)deleted;
	s = inbox__use(ib, S_COUNT);
	if (sqlite3_step(s) == SQLITE_ROW)
		ib->stats.rows = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return deleted;
fail:
	inbox_commit(ib);	/* ends (rolls back) the failed transaction: the next writer starts clean */
	return rc;
}
