/*
 * test_channels.c - the channel registry: joins, leaves, hooks on first member and last leave,
 * the two-way membership links, lookup and table growth (edge/fanout/channels.c). Sessions are fakes:
 * a struct holding a membership_list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/fanout/channels.h"
#include "mqedge/base/siphash.h"

#define PREFIX "mqedge/v1"

struct fake_session {
	struct membership_list ml;
	int id;
};

struct hook_log {
	int first, empty;
	int refuse;		/* on_first returns -1 while set */
	int bad_empty;		/* on_empty saw members or a foreign sub handle */
	char last_first[TOPICS_TOPIC_MAX], last_empty[TOPICS_TOPIC_MAX];
};

static int on_first(void *ctx, struct channel *ch)
{
	struct hook_log *h = ctx;

	snprintf(h->last_first, sizeof(h->last_first), "%s", ch->topic);
	if (h->refuse)
		return -1;
	h->first++;
	ch->sub = ch;	/* the hooks' handle; checked in on_empty */
	return 0;
}

static void on_empty(void *ctx, struct channel *ch)
{
	struct hook_log *h = ctx;

	h->empty++;
	if (ch->n_members || ch->members || ch->sub != ch)
		h->bad_empty++;
	snprintf(h->last_empty, sizeof(h->last_empty), "%s", ch->topic);
}

static const struct channels_hooks hooks = { on_first, on_empty };

/* Joins s to the topic for (kind, id). */
static int join(struct channels *reg, struct fake_session *s, enum topic_kind kind, const char *id,
		struct member **out)
{
	char topic[TOPICS_TOPIC_MAX];
	int n = topics_build(topic, sizeof(topic), PREFIX, kind, id);
	const char *idp;
	size_t idlen;

	if (n < 0 || topics_parse(PREFIX, topic, (size_t)n, &idp, &idlen) != kind)
		return -99;
	return channels_join(reg, &s->ml, s, kind, topic, (size_t)n, (size_t)(idp - topic), idlen, out);
}

static int leave(struct channels *reg, struct fake_session *s, enum topic_kind kind, const char *id)
{
	char topic[TOPICS_TOPIC_MAX];
	int n = topics_build(topic, sizeof(topic), PREFIX, kind, id);

	return n < 0 ? -99 : channels_leave(reg, &s->ml, topic, (size_t)n);
}

static struct channel *find(struct channels *reg, enum topic_kind kind, const char *id)
{
	char topic[TOPICS_TOPIC_MAX];
	int n = topics_build(topic, sizeof(topic), PREFIX, kind, id);

	return n < 0 ? NULL : channels_find(reg, topic, (size_t)n);
}

static bool channel_has(const struct channel *ch, const struct fake_session *s)
{
	for (const struct member *m = ch->members; m; m = m->ch_next)
		if (m->session == s)
			return true;
	return false;
}

/* Both lists are consistent: prev/next links, counts, back pointers. */
static bool lists_consistent(const struct fake_session *s)
{
	uint32_t n = 0;
	const struct member *prev = NULL;

	for (const struct member *m = s->ml.head; m; prev = m, m = m->s_next, n++) {
		uint32_t cn = 0;
		const struct member *cprev = NULL;
		bool found = false;

		if (m->s_prev != prev || m->session != s || !m->channel)
			return false;
		for (const struct member *c = m->channel->members; c; cprev = c, c = c->ch_next, cn++) {
			if (c->ch_prev != cprev || c->channel != m->channel)
				return false;
			found |= c == m;
		}
		if (!found || cn != m->channel->n_members)
			return false;
	}
	return n == s->ml.count;
}

static void test_join_leave(void)
{
	struct hook_log h = { 0 };
	struct channels *reg = channels_create(&hooks, &h);
	struct fake_session s1 = { .id = 1 }, s2 = { .id = 2 };
	struct member *m1 = NULL, *m1b = NULL, *m2 = NULL;
	struct channel *ch;

	CHECK(reg != NULL);
	if (!reg)
		return;
	CHECK(channels_count(reg) == 0);
	CHECK(find(reg, TOPIC_ROOM, "lobby") == NULL);

	CHECK(join(reg, &s1, TOPIC_ROOM, "lobby", &m1) == 0);
	CHECK(h.first == 1 && h.empty == 0);
	CHECK_STR(h.last_first, PREFIX "/room/lobby");
	CHECK(channels_count(reg) == 1);
	ch = find(reg, TOPIC_ROOM, "lobby");
	CHECK(ch != NULL);
	if (!ch)
		goto out;
	CHECK(m1 && m1->session == &s1 && m1->channel == ch);
	CHECK(ch->kind == TOPIC_ROOM);
	CHECK(ch->n_members == 1 && ch->members == m1);
	CHECK_STR(ch->topic, PREFIX "/room/lobby");
	CHECK(ch->topic_len == strlen(PREFIX "/room/lobby"));
	CHECK(ch->id_len == 5 && !memcmp(ch->topic + ch->id_off, "lobby", 5));
	CHECK(ch->sub == ch);
	CHECK(s1.ml.count == 1 && s1.ml.head == m1);

	/* joining again is idempotent and calls no hook */
	CHECK(join(reg, &s1, TOPIC_ROOM, "lobby", &m1b) == 1);
	CHECK(m1b == m1);
	CHECK(join(reg, &s1, TOPIC_ROOM, "lobby", NULL) == 1);
	CHECK(h.first == 1 && ch->n_members == 1 && s1.ml.count == 1);

	/* a second member: no hook */
	CHECK(join(reg, &s2, TOPIC_ROOM, "lobby", &m2) == 0);
	CHECK(h.first == 1);
	CHECK(ch->n_members == 2 && channel_has(ch, &s1) && channel_has(ch, &s2));
	CHECK(m2 && m2 != m1 && m2->channel == ch);
	CHECK(channels_membership(&s1.ml, PREFIX "/room/lobby", strlen(PREFIX "/room/lobby")) == m1);
	CHECK(channels_membership(&s2.ml, PREFIX "/room/lobby", strlen(PREFIX "/room/lobby")) == m2);
	CHECK(channels_membership(&s1.ml, PREFIX "/room/lobb", strlen(PREFIX "/room/lobb")) == NULL);
	CHECK(lists_consistent(&s1) && lists_consistent(&s2));

	/* same id, other kinds, and a longer id are other channels */
	CHECK(join(reg, &s1, TOPIC_TELEMETRY, "lobby", NULL) == 0);
	CHECK(join(reg, &s1, TOPIC_CMD, "lobby", NULL) == 0);
	CHECK(join(reg, &s1, TOPIC_DIRECT, "lobby", NULL) == 0);
	CHECK(join(reg, &s1, TOPIC_ROOM, "lobby2", NULL) == 0);
	CHECK(h.first == 5 && channels_count(reg) == 5 && s1.ml.count == 5);
	CHECK(find(reg, TOPIC_CMD, "lobby") && find(reg, TOPIC_CMD, "lobby")->kind == TOPIC_CMD);
	CHECK(lists_consistent(&s1));

	/* leaving: the hook only on the last member */
	CHECK(leave(reg, &s1, TOPIC_ROOM, "lobby") == 0);
	CHECK(h.empty == 0 && ch->n_members == 1 && !channel_has(ch, &s1) && channel_has(ch, &s2));
	CHECK(leave(reg, &s1, TOPIC_ROOM, "lobby") == 1);
	CHECK(channels_membership(&s1.ml, PREFIX "/room/lobby", strlen(PREFIX "/room/lobby")) == NULL);
	CHECK(s1.ml.count == 4);
	CHECK(leave(reg, &s2, TOPIC_ROOM, "lobby") == 0);
	CHECK(h.empty == 1 && h.bad_empty == 0);
	CHECK_STR(h.last_empty, PREFIX "/room/lobby");
	CHECK(find(reg, TOPIC_ROOM, "lobby") == NULL);
	CHECK(channels_count(reg) == 4);
	CHECK(s2.ml.count == 0 && s2.ml.head == NULL);
	CHECK(leave(reg, &s2, TOPIC_ROOM, "lobby") == 1);
	CHECK(leave(reg, &s2, TOPIC_ROOM, "never") == 1);
	CHECK(h.empty == 1);

	/* rejoining an emptied channel is a first join again */
	CHECK(join(reg, &s2, TOPIC_ROOM, "lobby", NULL) == 0);
	CHECK(h.first == 6);
	CHECK(leave(reg, &s2, TOPIC_ROOM, "lobby") == 0);
	CHECK(h.empty == 2);

	/* a pending ok is freed with its member (LeakSanitizer checks) */
	CHECK(join(reg, &s2, TOPIC_ROOM, "lobby2", &m2) == 0);
	if (m2)
		m2->pending_ok = strdup("\"r1\"");

	channels_leave_all(reg, &s1.ml);
	CHECK(s1.ml.count == 0 && s1.ml.head == NULL);
	CHECK(h.empty == 2 + 3);	/* lobby2 still has s2 */
	CHECK(channels_count(reg) == 1);
	CHECK(find(reg, TOPIC_ROOM, "lobby2") && find(reg, TOPIC_ROOM, "lobby2")->n_members == 1);
	channels_leave_all(reg, &s2.ml);
	CHECK(h.empty == 6 && h.bad_empty == 0 && channels_count(reg) == 0);
	channels_leave_all(reg, &s2.ml);	/* nothing to do */
	CHECK(h.empty == 6 && h.first == 6);
out:
	channels_leave_all(reg, &s1.ml);
	channels_leave_all(reg, &s2.ml);
	channels_destroy(reg);
}

static void test_refusing_hook(void)
{
	struct hook_log h = { 0 };
	struct channels *reg = channels_create(&hooks, &h);
	struct fake_session s1 = { .id = 1 }, s2 = { .id = 2 };
	struct member *m = (struct member *)&h;	/* a sentinel: must stay untouched */

	if (!reg) {
		CHECK(reg != NULL);
		return;
	}
	h.refuse = 1;
	CHECK(join(reg, &s1, TOPIC_ROOM, "a", &m) == -1);
	CHECK(m == (struct member *)&h);
	CHECK_STR(h.last_first, PREFIX "/room/a");	/* it was asked */
	CHECK(channels_count(reg) == 0);
	CHECK(find(reg, TOPIC_ROOM, "a") == NULL);
	CHECK(s1.ml.count == 0 && s1.ml.head == NULL);
	CHECK(h.first == 0 && h.empty == 0);

	/* once accepted, later joins do not ask again, so a refusing hook no longer matters */
	h.refuse = 0;
	CHECK(join(reg, &s1, TOPIC_ROOM, "a", NULL) == 0);
	h.refuse = 1;
	CHECK(join(reg, &s2, TOPIC_ROOM, "a", NULL) == 0);
	CHECK(find(reg, TOPIC_ROOM, "a") && find(reg, TOPIC_ROOM, "a")->n_members == 2);
	/* a refused join leaves a session's other memberships alone */
	CHECK(join(reg, &s2, TOPIC_ROOM, "b", NULL) == -1);
	CHECK(s2.ml.count == 1 && lists_consistent(&s2));
	CHECK(channels_count(reg) == 1);
	channels_leave_all(reg, &s1.ml);
	channels_leave_all(reg, &s2.ml);
	CHECK(h.first == 1 && h.empty == 1 && channels_count(reg) == 0);
	channels_destroy(reg);
}

static void test_bad_spans(void)
{
	struct channels_hooks none = { NULL, NULL };
	struct channels *reg = channels_create(&none, NULL);
	struct fake_session s = { 0 };
	char huge[300];

	if (!reg) {
		CHECK(reg != NULL);
		return;
	}
	CHECK(channels_join(reg, &s.ml, &s, TOPIC_ROOM, "p/room/a", 8, 7, 2, NULL) == -EINVAL);	/* past the end */
	memset(huge, 'a', sizeof(huge));
	CHECK(channels_join(reg, &s.ml, &s, TOPIC_ROOM, huge, sizeof(huge), 0, 256, NULL) == -EINVAL);
	CHECK(channels_join(reg, &s.ml, &s, TOPIC_ROOM, huge, sizeof(huge), 256, 1, NULL) == -EINVAL);
	CHECK(channels_count(reg) == 0 && s.ml.count == 0);
	/* hooks are optional */
	CHECK(channels_join(reg, &s.ml, &s, TOPIC_ROOM, "p/room/a", 8, 7, 1, NULL) == 0);
	CHECK(channels_count(reg) == 1);
	channels_leave_all(reg, &s.ml);
	CHECK(channels_count(reg) == 0);
	channels_destroy(reg);
}

struct visit {
	size_t calls;
	bool *seen;
	int dup;
};

static void visit(void *arg, struct channel *ch)
{
	struct visit *v = arg;
	int i = atoi(ch->topic + ch->id_off + 1);	/* ids are "r<i>" */

	v->calls++;
	if (v->seen[i])
		v->dup++;
	v->seen[i] = true;
}

/* Many channels and many sessions: the table grows and every lookup still works. */
static void test_many(void)
{
	enum { NCH = 20000, NS = 50 };
	struct hook_log h = { 0 };
	struct channels *reg = channels_create(&hooks, &h);
	struct fake_session *s = calloc(NS, sizeof(*s));
	bool *seen = calloc(NCH, sizeof(*seen));
	int joined = 0, found = 0, consistent = 0;

	if (!reg || !s || !seen) {
		CHECK(0);
		goto out;
	}
	for (int i = 0; i < NCH; i++) {
		char id[16];

		snprintf(id, sizeof(id), "r%d", i);
		joined += join(reg, &s[i % NS], TOPIC_ROOM, id, NULL) == 0;
		/* every third channel gets a second member */
		if (i % 3 == 0)
			joined += join(reg, &s[(i + 1) % NS], TOPIC_ROOM, id, NULL) == 0;
	}
	CHECK(joined == NCH + (NCH + 2) / 3);
	CHECK(channels_count(reg) == NCH);
	CHECK(h.first == NCH);
	for (int i = 0; i < NCH; i++) {
		char id[16];
		struct channel *ch;

		snprintf(id, sizeof(id), "r%d", i);
		ch = find(reg, TOPIC_ROOM, id);
		found += ch && ch->n_members == (i % 3 == 0 ? 2u : 1u) && channel_has(ch, &s[i % NS]);
	}
	CHECK(found == NCH);
	CHECK(find(reg, TOPIC_ROOM, "r20000") == NULL);
	CHECK(find(reg, TOPIC_DIRECT, "r1") == NULL);

	struct visit v = { .seen = seen };

	channels_foreach(reg, visit, &v);
	CHECK(v.calls == NCH && v.dup == 0);

	for (int i = 0; i < NS; i++)
		consistent += lists_consistent(&s[i]);
	CHECK(consistent == NS);

	/* leave half the sessions one channel at a time, the rest all at once */
	for (int i = 0; i < NCH; i += 2) {
		char id[16];

		snprintf(id, sizeof(id), "r%d", i);
		CHECK(leave(reg, &s[i % NS], TOPIC_ROOM, id) == 0);
	}
	for (int i = 0; i < NS; i++)
		consistent += lists_consistent(&s[i]);
	CHECK(consistent == 2 * NS);
	for (int i = 0; i < NS; i++)
		channels_leave_all(reg, &s[i].ml);
	CHECK(channels_count(reg) == 0);
	CHECK(h.empty == NCH && h.bad_empty == 0);
out:
	if (reg && s)
		for (int i = 0; i < NS; i++)
			channels_leave_all(reg, &s[i].ml);
	channels_destroy(reg);
	free(s);
	free(seen);
}

int main(void)
{
	CHECK(siphash_seed_random() == 0);
	test_join_leave();
	test_refusing_hook();
	test_bad_spans();
	test_many();
	return CHECK_DONE();
}
