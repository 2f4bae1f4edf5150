/*
 * mutes.c - the in-memory mute lists (mutes.h): a hash table keyed by user id under the
 * process's random SipHash key. Owns its entries' memory. Must not: touch the store (callers keep
 * the two in step) or parse JSON (wire/notification.c does).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/base/siphash.h"
#include "mutes.h"

struct user_mutes {
	struct user_mutes *next;
	uint64_t hash;
	int64_t ts;
	size_t n;
	struct mute_entry *e;		/* n entries, malloc'd */
	char user[TOPICS_ID_MAX + 1];
};

struct mutes {
	struct user_mutes **buckets;
	size_t n_buckets, count;
};

struct mutes *mutes_create(void)
{
	struct mutes *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->n_buckets = 64;
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return NULL;
	}
	return m;
}

void mutes_destroy(struct mutes *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		for (struct user_mutes *u = m->buckets[i], *next; u; u = next) {
			next = u->next;
			free(u->e);
			free(u);
		}
	}
	free(m->buckets);
	free(m);
}

static struct user_mutes *find(const struct mutes *m, const char *user, uint64_t h)
{
	for (struct user_mutes *u = m->buckets[h & (m->n_buckets - 1)]; u; u = u->next)
		if (u->hash == h && !strcmp(u->user, user))
			return u;
	return NULL;
}

static void grow(struct mutes *m)
{
	size_t n = m->n_buckets * 2;
	struct user_mutes **b = calloc(n, sizeof(*b));

	if (!b)
		return;	/* longer chains, still correct */
	for (size_t i = 0; i < m->n_buckets; i++) {
		for (struct user_mutes *u = m->buckets[i], *next; u; u = next) {
			next = u->next;
			u->next = b[u->hash & (n - 1)];
			b[u->hash & (n - 1)] = u;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

int mutes_set(struct mutes *m, const char *user, const struct mute_entry *e, size_t n, int64_t ts)
{
	size_t ulen = strlen(user);
	uint64_t h = siphash(user, ulen);
	struct user_mutes *u = find(m, user, h);
	struct mute_entry *copy = NULL;

	if (ulen > TOPICS_ID_MAX)
		return -EINVAL;
	if (u && ts < u->ts)
		return 1;
	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, e, n * sizeof(*copy));
	}
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u) {
			free(copy);
			return -ENOMEM;
		}
		u->hash = h;
		memcpy(u->user, user, ulen + 1);
		if (m->count >= m->n_buckets)
			grow(m);
		u->next = m->buckets[h & (m->n_buckets - 1)];
		m->buckets[h & (m->n_buckets - 1)] = u;
		m->count++;
	}
	free(u->e);
	u->e = copy;
	u->n = n;
	u->ts = ts;
	return 0;
}

const struct mute_entry *mutes_get(const struct mutes *m, const char *user, size_t *n)
{
	struct user_mutes *u = find(m, user, siphash(user, strlen(user)));

	*n = u ? u->n : 0;
	return u ? u->e : NULL;
}

bool mutes_match(const struct mutes *m, const char *user, enum notification_kind kind, const char *action)
{
	size_t n;
	const struct mute_entry *e = mutes_get(m, user, &n);

	return n && mute_entries_match(e, n, kind, action);
}

void mutes_each(const struct mutes *m, void (*fn)(void *ctx, const char *user, const struct mute_entry *e, size_t n),
		void *ctx)
{
	for (size_t i = 0; i < m->n_buckets; i++)
		for (struct user_mutes *u = m->buckets[i]; u; u = u->next)
			if (u->n)
				fn(ctx, u->user, u->e, u->n);
}
