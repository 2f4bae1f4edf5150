/*
 * mutes.c - the in-memory mute lists (mutes.h): a string map from user id to that user's entries.
 * Owns the entries' memory. Must not: touch the store (callers keep the two in step) or parse
 * JSON (wire/notification.c does).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/base/strmap.h"
#include "mutes.h"

struct user_mutes {
	int64_t ts;
	size_t n;
	struct mute_entry e[];
};

struct mutes {
	struct strmap users;	/* user -> struct user_mutes (malloc'd) */
};

struct mutes *mutes_create(void)
{
	return calloc(1, sizeof(struct mutes));
}

static void free_value(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	free(value);
}

void mutes_destroy(struct mutes *m)
{
	if (!m)
		return;
	strmap_each(&m->users, free_value, NULL);
	strmap_free(&m->users);
	free(m);
}

int mutes_set(struct mutes *m, const char *user, const struct mute_entry *e, size_t n, int64_t ts)
{
	struct user_mutes *old = strmap_get(&m->users, user), *u;
	struct strmap_entry *slot;

	if (strlen(user) > TOPICS_ID_MAX)
		return -EINVAL;
	if (old && ts < old->ts)
		return 1;
	u = malloc(sizeof(*u) + n * sizeof(*e));
	slot = u ? strmap_put(&m->users, user) : NULL;
	if (!slot) {
		free(u);
		return -ENOMEM;
	}
	u->ts = ts;
	u->n = n;
	if (n)
		memcpy(u->e, e, n * sizeof(*e));
	free(slot->value);	/* the old list */
	slot->value = u;
	return 0;
}

const struct mute_entry *mutes_get(const struct mutes *m, const char *user, size_t *n)
{
	const struct user_mutes *u = strmap_get(&m->users, user);

	*n = u ? u->n : 0;
	return u && u->n ? u->e : NULL;
}

bool mutes_match(const struct mutes *m, const char *user, enum notification_kind kind, const char *action)
{
	size_t n;
	const struct mute_entry *e = mutes_get(m, user, &n);

	return n && mute_entries_match(e, n, kind, action);
}

struct each_ctx {
	void (*fn)(void *ctx, const char *user, const struct mute_entry *e, size_t n);
	void *ctx;
};

static void each_user(void *ctx, const char *user, void *value)
{
	const struct each_ctx *c = ctx;
	const struct user_mutes *u = value;

	if (u->n)
		c->fn(c->ctx, user, u->e, u->n);
}

void mutes_each(const struct mutes *m, void (*fn)(void *ctx, const char *user, const struct mute_entry *e, size_t n),
		void *ctx)
{
	struct each_ctx c = { fn, ctx };

	strmap_each(&m->users, each_user, &c);
}
