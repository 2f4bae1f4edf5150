/*
 * test_mutes.c - the in-memory mute lists of edge/inbox/mutes.c: set/get/match, the newest ts
 * wins (an older set is ignored and returns 1), empty lists (keep only the ts), many users (the
 * table grows past 64 and 128 buckets and every list stays reachable), mutes_each visiting only
 * non-empty lists, and destroy freeing everything (LeakSanitizer checks). Keys are hashed with the
 * process's random SipHash key, seeded first as in production.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/base/siphash.h"
#include "mutes.h"

#define ID64 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

static bool entries_are(const struct mute_entry *e, size_t n, const struct mute_entry *want, size_t want_n)
{
	if (n != want_n || (n && !e))
		return false;
	for (size_t i = 0; i < n; i++)
		if (e[i].kind != want[i].kind || strcmp(e[i].action, want[i].action))
			return false;
	return true;
}

static void test_set_get_match(void)
{
	struct mutes *m = mutes_create();
	struct mute_entry e[] = { { NOTIFY_REMIND, "liked" }, { NOTIFY_ANNOUNCEMENT, "" } };
	const struct mute_entry want[] = { { NOTIFY_REMIND, "liked" }, { NOTIFY_ANNOUNCEMENT, "" } };
	const struct mute_entry *got;
	size_t n = 99;

	CHECK(m != NULL);
	if (!m)
		return;
	/* nobody has a list yet */
	got = mutes_get(m, "alice", &n);
	CHECK(got == NULL && n == 0);
	CHECK(!mutes_match(m, "alice", NOTIFY_ANNOUNCEMENT, NULL));

	CHECK(mutes_set(m, "alice", e, 2, 10) == 0);
	/* the entries are copied: changing the caller's array changes nothing */
	e[0].kind = NOTIFY_MAILBOX;
	strcpy(e[0].action, "other");
	got = mutes_get(m, "alice", &n);
	CHECK(got != e);
	CHECK(entries_are(got, n, want, 2));

	static const struct {
		const char *user;
		enum notification_kind kind;
		const char *action;
		bool muted;
	} cases[] = {
		{ "alice", NOTIFY_REMIND, "liked", true },
		{ "alice", NOTIFY_REMIND, "commented", false },
		{ "alice", NOTIFY_REMIND, NULL, false },
		{ "alice", NOTIFY_REMIND, "", false },
		{ "alice", NOTIFY_ANNOUNCEMENT, NULL, true },
		{ "alice", NOTIFY_ANNOUNCEMENT, "", true },
		{ "alice", NOTIFY_ANNOUNCEMENT, "sale", true },
		{ "alice", NOTIFY_MAILBOX, NULL, false },
		{ "alice", NOTIFY_MAILBOX, "other", false },
		{ "Alice", NOTIFY_ANNOUNCEMENT, NULL, false },	/* ids are case-sensitive */
		{ "alic", NOTIFY_ANNOUNCEMENT, NULL, false },
		{ "alicex", NOTIFY_ANNOUNCEMENT, NULL, false },
		{ "bob", NOTIFY_ANNOUNCEMENT, NULL, false },
		{ "", NOTIFY_ANNOUNCEMENT, NULL, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool muted = mutes_match(m, cases[i].user, cases[i].kind, cases[i].action);

		if (muted != cases[i].muted)
			fprintf(stderr, "match case %zu (%s, %d, %s): %d\n", i, cases[i].user, cases[i].kind,
				cases[i].action ? cases[i].action : "NULL", muted);
		CHECK(muted == cases[i].muted);
	}
	got = mutes_get(m, "bob", &n);
	CHECK(got == NULL && n == 0);

	/* users are independent */
	{
		const struct mute_entry bob[] = { { NOTIFY_MAILBOX, "" } };

		CHECK(mutes_set(m, "bob", bob, 1, 1) == 0);
		CHECK(mutes_match(m, "bob", NOTIFY_MAILBOX, "x"));
		CHECK(!mutes_match(m, "alice", NOTIFY_MAILBOX, "x"));
		CHECK(!mutes_match(m, "bob", NOTIFY_ANNOUNCEMENT, NULL));
		got = mutes_get(m, "alice", &n);
		CHECK(entries_are(got, n, want, 2));
	}

	/* the longest id is a key like any other; a longer one is refused */
	{
		const struct mute_entry one[] = { { NOTIFY_REMIND, "" } };

		CHECK(mutes_set(m, ID64, one, 1, 1) == 0);
		CHECK(mutes_match(m, ID64, NOTIFY_REMIND, "x"));
		CHECK(mutes_set(m, ID64 "x", one, 1, 1) == -EINVAL);
		got = mutes_get(m, ID64 "x", &n);
		CHECK(got == NULL && n == 0);
	}
	mutes_destroy(m);
}

static void test_newest_wins(void)
{
	struct mutes *m = mutes_create();
	const struct mute_entry a[] = { { NOTIFY_REMIND, "liked" } };
	const struct mute_entry b[] = { { NOTIFY_MAILBOX, "" }, { NOTIFY_REMIND, "x" } };
	const struct mute_entry c[] = { { NOTIFY_ANNOUNCEMENT, "" } };
	const struct mute_entry *got;
	size_t n;

	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(mutes_set(m, "u", a, 1, 100) == 0);
	/* older: ignored, returns 1 */
	CHECK(mutes_set(m, "u", b, 2, 99) == 1);
	CHECK(mutes_set(m, "u", b, 2, 0) == 1);
	CHECK(mutes_set(m, "u", b, 2, -5) == 1);
	got = mutes_get(m, "u", &n);
	CHECK(entries_are(got, n, a, 1));
	/* the same ts is not older: replaces */
	CHECK(mutes_set(m, "u", b, 2, 100) == 0);
	got = mutes_get(m, "u", &n);
	CHECK(entries_are(got, n, b, 2));
	/* newer replaces */
	CHECK(mutes_set(m, "u", c, 1, 101) == 0);
	got = mutes_get(m, "u", &n);
	CHECK(entries_are(got, n, c, 1));
	CHECK(mutes_match(m, "u", NOTIFY_ANNOUNCEMENT, NULL));
	CHECK(!mutes_match(m, "u", NOTIFY_MAILBOX, NULL));

	/* an empty list keeps only the ts */
	CHECK(mutes_set(m, "u", NULL, 0, 200) == 0);
	got = mutes_get(m, "u", &n);
	CHECK(got == NULL && n == 0);
	CHECK(!mutes_match(m, "u", NOTIFY_ANNOUNCEMENT, NULL));
	CHECK(mutes_set(m, "u", a, 1, 199) == 1);	/* still older than the empty list's ts */
	got = mutes_get(m, "u", &n);
	CHECK(got == NULL && n == 0);
	CHECK(mutes_set(m, "u", a, 1, 201) == 0);
	got = mutes_get(m, "u", &n);
	CHECK(entries_are(got, n, a, 1));

	/* a first list with an empty set, then entries */
	CHECK(mutes_set(m, "v", c, 0, 5) == 0);
	got = mutes_get(m, "v", &n);
	CHECK(got == NULL && n == 0);
	CHECK(mutes_set(m, "v", c, 1, 4) == 1);
	CHECK(mutes_set(m, "v", c, 1, 5) == 0);
	CHECK(mutes_match(m, "v", NOTIFY_ANNOUNCEMENT, "x"));
	/* big ts values compare as numbers */
	CHECK(mutes_set(m, "w", a, 1, INT64_MAX) == 0);
	CHECK(mutes_set(m, "w", c, 1, INT64_MAX - 1) == 1);
	CHECK(mutes_set(m, "w", c, 1, INT64_MAX) == 0);
	mutes_destroy(m);
}

/* mutes_each: what it saw. */
struct seen {
	int calls;
	int *hits;		/* per user index */
	int bad;		/* a user that is not u{i}, or entries that are not that user's */
};

static void each_fn(void *ctx, const char *user, const struct mute_entry *e, size_t n)
{
	struct seen *s = ctx;
	char want[16];
	int i;

	s->calls++;
	if (sscanf(user, "u%d", &i) != 1 || i < 0 || i >= 1000) {
		s->bad++;
		return;
	}
	s->hits[i]++;
	snprintf(want, sizeof(want), "a%d", i);
	if (n != (size_t)(i % 3) || !e || e[0].kind != NOTIFY_REMIND || strcmp(e[0].action, want))
		s->bad++;
}

static void test_many_users(void)
{
	enum { N = 1000 };	/* 64 -> 128 -> ... -> 1024 buckets */
	struct mutes *m = mutes_create();
	int *hits = calloc(N, sizeof(*hits));
	struct seen s = { 0, hits, 0 };
	int set_ok = 0, get_ok = 0, non_empty = 0;

	CHECK(m && hits);
	if (!m || !hits) {
		mutes_destroy(m);
		free(hits);
		return;
	}
	/* an empty table: each calls nothing */
	mutes_each(m, each_fn, &s);
	CHECK(s.calls == 0);

	/* user u{i} has i % 3 entries (0, 1 or 2): remind:a{i} and maybe mailbox */
	for (int i = 0; i < N; i++) {
		char user[16];
		struct mute_entry e[2] = { { NOTIFY_REMIND, "" }, { NOTIFY_MAILBOX, "" } };

		snprintf(user, sizeof(user), "u%d", i);
		snprintf(e[0].action, sizeof(e[0].action), "a%d", i);
		set_ok += mutes_set(m, user, e, (size_t)(i % 3), i) == 0;
		non_empty += i % 3 != 0;
		/* every list set so far is still there after each growth */
		if (i == 63 || i == 64 || i == 65 || i == 127 || i == 128 || i == 129 || i == 255 || i == 256) {
			int ok = 0;

			for (int k = 0; k <= i; k++) {
				char u[16];
				size_t n;
				const struct mute_entry *got;

				snprintf(u, sizeof(u), "u%d", k);
				got = mutes_get(m, u, &n);
				ok += n == (size_t)(k % 3) && (n == 0 ? got == NULL : got != NULL);
			}
			if (ok != i + 1)
				fprintf(stderr, "after %d users only %d lists are found\n", i + 1, ok);
			CHECK(ok == i + 1);
		}
	}
	CHECK(set_ok == N);
	for (int i = 0; i < N; i++) {
		char user[16], action[16];
		size_t n;
		const struct mute_entry *got;

		snprintf(user, sizeof(user), "u%d", i);
		snprintf(action, sizeof(action), "a%d", i);
		got = mutes_get(m, user, &n);
		get_ok += n == (size_t)(i % 3) && (n == 0 || (got[0].kind == NOTIFY_REMIND && !strcmp(got[0].action, action)));
		CHECK(mutes_match(m, user, NOTIFY_REMIND, action) == (i % 3 != 0));
		CHECK(mutes_match(m, user, NOTIFY_MAILBOX, NULL) == (i % 3 == 2));
	}
	CHECK(get_ok == N);

	/* each visits every non-empty list exactly once, and no empty one */
	mutes_each(m, each_fn, &s);
	CHECK(s.calls == non_empty);
	CHECK(s.bad == 0);
	{
		int wrong = 0;

		for (int i = 0; i < N; i++)
			wrong += hits[i] != (i % 3 != 0);
		CHECK(wrong == 0);
	}

	/* after growth: older sets are still ignored, newer ones still replace */
	{
		const struct mute_entry all[] = { { NOTIFY_ANNOUNCEMENT, "" } };

		CHECK(mutes_set(m, "u500", all, 1, 499) == 1);
		CHECK(!mutes_match(m, "u500", NOTIFY_ANNOUNCEMENT, NULL));
		CHECK(mutes_set(m, "u500", all, 1, 501) == 0);
		CHECK(mutes_match(m, "u500", NOTIFY_ANNOUNCEMENT, NULL));
		CHECK(mutes_set(m, "u1", NULL, 0, 1000) == 0);	/* one list emptied */
	}
	memset(hits, 0, N * sizeof(*hits));
	s.calls = 0;
	mutes_each(m, each_fn, &s);
	CHECK(s.calls == non_empty - 1);
	CHECK(hits[1] == 0);
	CHECK(s.bad == 1);	/* u500's new list is not the pattern */
	mutes_destroy(m);	/* LeakSanitizer: every user and entry array is freed */
	free(hits);
}

int main(void)
{
	if (siphash_seed_random())
		fprintf(stderr, "siphash_seed_random failed: the key stays zero\n");
	mutes_destroy(NULL);
	test_set_get_match();
	test_newest_wins();
	test_many_users();
	return CHECK_DONE();
}
