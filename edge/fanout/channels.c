/*
 * channels.c - topic -> channel hash table and the two-way member links.
 * Owns: channel and member memory. Must not: talk to the broker (the hooks do) or touch sessions
 * beyond their embedded membership_list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/base/list.h"
#include "mqedge/fanout/channels.h"
#include "mqedge/base/siphash.h"

#define INITIAL_BUCKETS 64

struct channels {
	struct channel **buckets;
	size_t n_buckets;	/* power of two */
	size_t n_channels;
	struct channels_hooks hooks;
	void *ctx;
};

struct channels *channels_create(const struct channels_hooks *hooks, void *ctx)
{
	struct channels *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return NULL;
	reg->buckets = calloc(INITIAL_BUCKETS, sizeof(*reg->buckets));
	if (!reg->buckets) {
		free(reg);
		return NULL;
	}
	reg->n_buckets = INITIAL_BUCKETS;
	reg->hooks = *hooks;
	reg->ctx = ctx;
	return reg;
}

void channels_destroy(struct channels *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->n_buckets; i++) {
		struct channel *ch = reg->buckets[i], *next;

		for (; ch; ch = next) {
			next = ch->hash_next;
			free(ch);
		}
	}
	free(reg->buckets);
	free(reg);
}

static struct channel *lookup(const struct channels *reg, uint64_t h, const char *topic, size_t len)
{
	struct channel *ch = reg->buckets[h & (reg->n_buckets - 1)];

	for (; ch; ch = ch->hash_next)
		if (ch->hash == h && ch->topic_len == len && !memcmp(ch->topic, topic, len))
			return ch;
	return NULL;
}

struct channel *channels_find(const struct channels *reg, const char *topic, size_t topic_len)
{
	return lookup(reg, siphash(topic, topic_len), topic, topic_len);
}

/* Doubles the table when it is as full as it has buckets; failure just keeps longer chains. */
static void maybe_grow(struct channels *reg)
{
	size_t n = reg->n_buckets * 2;
	struct channel **nb;

	if (reg->n_channels < reg->n_buckets)
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (size_t i = 0; i < reg->n_buckets; i++) {
		struct channel *ch = reg->buckets[i], *next;

		for (; ch; ch = next) {
			next = ch->hash_next;
			ch->hash_next = nb[ch->hash & (n - 1)];
			nb[ch->hash & (n - 1)] = ch;
		}
	}
	free(reg->buckets);
	reg->buckets = nb;
	reg->n_buckets = n;
}

static void unlink_channel(struct channels *reg, struct channel *ch)
{
	struct channel **pp = &reg->buckets[ch->hash & (reg->n_buckets - 1)];

	while (*pp != ch)
		pp = &(*pp)->hash_next;
	*pp = ch->hash_next;
	reg->n_channels--;
}

static struct member *find_membership(const struct membership_list *ml, const char *topic, size_t len)
{
	for (struct member *m = ml->head; m; m = m->s_next)
		if (m->channel->topic_len == len && !memcmp(m->channel->topic, topic, len))
			return m;
	return NULL;
}

struct member *channels_membership(const struct membership_list *ml, const char *topic, size_t topic_len)
{
	return find_membership(ml, topic, topic_len);
}

int channels_join(struct channels *reg, struct membership_list *ml, void *session,
		  enum topic_kind kind, const char *topic, size_t topic_len, size_t id_off, size_t id_len,
		  struct member **out)
{
	uint64_t h;
	struct channel *ch;
	struct member *m;
	int rc;

	m = find_membership(ml, topic, topic_len);
	if (m) {
		if (out)
			*out = m;
		return 1;
	}
	if (topic_len >= UINT16_MAX || id_off + id_len > topic_len || id_len > UINT8_MAX || id_off > UINT8_MAX)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	h = siphash(topic, topic_len);
	ch = lookup(reg, h, topic, topic_len);
	if (!ch) {
		ch = calloc(1, sizeof(*ch) + topic_len + 1);
		rc = -ENOMEM;
		if (!ch)
			goto fail;
		ch->hash = h;
		ch->kind = kind;
		ch->topic_len = (uint16_t)topic_len;
		ch->id_off = (uint8_t)id_off;
		ch->id_len = (uint8_t)id_len;
		memcpy(ch->topic, topic, topic_len);
		if (reg->hooks.on_first && (rc = reg->hooks.on_first(reg->ctx, ch)) < 0) {
			free(ch);
			goto fail;
		}
		maybe_grow(reg);
		ch->hash_next = reg->buckets[h & (reg->n_buckets - 1)];
		reg->buckets[h & (reg->n_buckets - 1)] = ch;
		reg->n_channels++;
	}
	m->session = session;
	m->channel = ch;
	DLIST_PUSH(ch->members, m, ch_prev, ch_next);
	ch->n_members++;
	DLIST_PUSH(ml->head, m, s_prev, s_next);
	ml->count++;
	if (out)
		*out = m;
	return 0;
fail:
	free(m);
	return rc;
}

static void free_channel(struct channels *reg, struct channel *ch)
{
	unlink_channel(reg, ch);
	if (reg->hooks.on_empty)
		reg->hooks.on_empty(reg->ctx, ch);
	free(ch);
}

void channels_hold(struct channel *ch)
{
	ch->held = true;
}

void channels_release(struct channels *reg, struct channel *ch)
{
	ch->held = false;
	if (!ch->n_members)
		free_channel(reg, ch);
}

static void remove_member(struct channels *reg, struct membership_list *ml, struct member *m)
{
	struct channel *ch = m->channel;

	DLIST_UNLINK(ch->members, m, ch_prev, ch_next);
	ch->n_members--;
	DLIST_UNLINK(ml->head, m, s_prev, s_next);
	ml->count--;
	free(m->pending_ok);
	free(m->parked);
	free(m);
	if (!ch->n_members && !ch->held)
		free_channel(reg, ch);
}

int channels_leave(struct channels *reg, struct membership_list *ml, const char *topic, size_t topic_len)
{
	struct member *m = find_membership(ml, topic, topic_len);

	if (!m)
		return 1;
	remove_member(reg, ml, m);
	return 0;
}

void channels_leave_all(struct channels *reg, struct membership_list *ml)
{
	while (ml->head)
		remove_member(reg, ml, ml->head);
}

size_t channels_count(const struct channels *reg)
{
	return reg->n_channels;
}

void channels_foreach(const struct channels *reg, void (*fn)(void *arg, struct channel *ch), void *arg)
{
	for (size_t i = 0; i < reg->n_buckets; i++)
		for (struct channel *ch = reg->buckets[i]; ch; ch = ch->hash_next)
			fn(arg, ch);
}
