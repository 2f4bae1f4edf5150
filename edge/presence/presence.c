/*
 * presence.c - room presence across edges (presence.h). Owns: this edge's members of presence
 * rooms, every edge's lists for those rooms, the merged totals, and the edges' last known status.
 * Must not: touch sockets (events go through fan-out) or know sessions.
 *
 * Path of a join: dispatch (sub) -> presence_join -> this edge's list published, retained ->
 * broker -> every edge following the room, this one too -> presence_on_message -> the list
 * replaces that edge's previous one -> a user whose total went 0 -> 1 is announced ("join") to
 * local members who asked for events. The same path, with the total going 1 -> 0, is a "leave";
 * an edge's "offline" status (its last will) drops all of its lists at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/base/err.h"
#include "mqedge/base/log.h"
#include "mqedge/bridge/bridge.h"
#include "mqedge/presence/presence.h"
#include "mqedge/wire/api_body.h"
#include "mqedge/wire/edge_frame.h"
#include "mqedge/wire/presence_list.h"

/* What this edge knows of another edge from its retained status. */
struct edge_seen {
	int64_t boot;
	bool online;
};

/* One user as counted: here (local), in one edge's list, or in the room's total. */
struct pcount {
	uint32_t conns;
	char *info;		/* malloc'd public info, or NULL */
	size_t info_len;
};

/* One edge's list of one room. */
struct edge_list {
	int64_t boot;
	uint32_t users, conns;	/* as the edge says (also for counts-only lists) */
	bool counts_only;
	struct strmap members;	/* user -> struct pcount */
};

struct proom {
	char room[TOPICS_ID_MAX + 1];
	struct bridge_sub *sub;	/* {prefix}/presence/{room}/+ */
	struct strmap local;	/* user -> struct pcount: this edge's connections */
	uint32_t local_conns;
	struct strmap lists;	/* edge id -> struct edge_list */
	struct strmap totals;	/* user -> struct pcount: the union */
};

static void pcount_free(struct pcount *c)
{
	if (c)
		free(c->info);
	free(c);
}

static void free_pcount_value(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	pcount_free(value);
}

static void free_counts(struct strmap *m)
{
	strmap_each(m, free_pcount_value, NULL);
	strmap_free(m);
}

static void edge_list_free(struct edge_list *l)
{
	if (!l)
		return;
	free_counts(&l->members);
	free(l);
}

static void free_list_value(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	edge_list_free(value);
}

/* ---- patterns ---- */

bool presence_room(const struct presence *p, const char *room)
{
	const char *pat = p->patterns;

	for (size_t i = 0; i < p->n_patterns; i++, pat += strlen(pat) + 1)
		if (topics_pattern_match(pat, room))
			return true;
	return false;
}

/* ---- events ---- */

static void announce(struct presence *p, struct proom *r, bool join, const char *user)
{
	struct channel *ch = fanout_channel(p->fanout, TOPIC_ROOM, r->room);
	char buf[EDGE_FRAME_MAX];
	int n = edge_frame_presence_event(buf, join, r->room, user);
	struct frame *f = NULL;

	if (join)
		p->stats.joins++;
	else
		p->stats.leaves++;
	for (struct member *m = ch ? ch->members : NULL, *next; m; m = next) {
		next = m->ch_next;
		if (!m->presence_events)
			continue;
		if (!f && !(f = frame_from_text(buf, (size_t)n)))
			return;
		fanout_send(p->fanout, m->session, f);
	}
	if (f)
		frame_unref(f);
}

/* Adds delta connections of user to the room's total (info: kept when the user is new there). */
static void total_add(struct presence *p, struct proom *r, const char *user, int64_t delta, const struct pcount *from)
{
	struct strmap_entry *e = strmap_put(&r->totals, user);
	struct pcount *t;

	if (!e)
		return;
	t = e->value;
	if (!t) {
		if (delta <= 0 || !(t = calloc(1, sizeof(*t)))) {
			strmap_del(&r->totals, user);
			return;
		}
		e->value = t;
	}
	if (!t->info && from && from->info && (t->info = malloc(from->info_len)) != NULL) {
		memcpy(t->info, from->info, from->info_len);
		t->info_len = from->info_len;
	}
	if (delta > 0 && t->conns == 0) {
		t->conns = (uint32_t)delta;
		announce(p, r, true, user);
		return;
	}
	if (delta < 0 && (int64_t)t->conns <= -delta) {
		pcount_free(strmap_del(&r->totals, user));
		announce(p, r, false, user);
		return;
	}
	t->conns = (uint32_t)((int64_t)t->conns + delta);
}

struct diff_ctx {
	struct presence *p;
	struct proom *r;
	const struct strmap *other;	/* the list to compare with */
	int sign;
};

/* Users of one list missing from the other leave (sign -1); every user of the new list is added
 * with the change of their count (sign +1). */
static void diff_one(void *ctx, const char *user, void *value)
{
	struct diff_ctx *d = ctx;
	const struct pcount *mine = value, *theirs = strmap_get(d->other, user);

	if (d->sign < 0) {
		if (!theirs)
			total_add(d->p, d->r, user, -(int64_t)mine->conns, NULL);
	} else {
		total_add(d->p, d->r, user, (int64_t)mine->conns - (theirs ? (int64_t)theirs->conns : 0), mine);
	}
}

/* Replaces an edge's list in r (nlist NULL: the edge has nobody there any more). */
static void replace_list(struct presence *p, struct proom *r, const char *edge, struct edge_list *nlist)
{
	struct edge_list *old = strmap_del(&r->lists, edge);
	static const struct strmap empty;
	struct diff_ctx gone = { p, r, nlist ? &nlist->members : &empty, -1 };
	struct diff_ctx added = { p, r, old ? &old->members : &empty, +1 };

	if (old)
		strmap_each(&old->members, diff_one, &gone);
	if (nlist) {
		struct strmap_entry *e;

		strmap_each(&nlist->members, diff_one, &added);
		e = strmap_put(&r->lists, edge);
		if (e) {
			e->value = nlist;
		} else {
			edge_list_free(nlist);
			log_error("presence_nomem", "room=%s edge=%s", r->room, edge);
		}
	}
	edge_list_free(old);
}

/* ---- this edge's own list ---- */

struct publish_ctx {
	struct textbuf *b;
	bool first;
};

static void list_user(void *ctx, const char *user, void *value)
{
	struct publish_ctx *c = ctx;
	const struct pcount *pc = value;

	presence_list_user(c->b, c->first, user, pc->conns, pc->info);
	c->first = false;
}

static void publish_local(struct presence *p, struct proom *r)
{
	char topic[TOPICS_TOPIC_MAX];
	struct textbuf b = { 0 };
	bool list = r->local.count <= p->opt.max_members;
	int rc;

	if (topics_presence(topic, sizeof(topic), p->opt.topic_prefix, r->room, p->opt.edge_id) < 0 || !p->bridge)
		return;
	if (r->local.count) {	/* nobody: an empty retained message clears the topic */
		struct publish_ctx c = { &b, true };

		presence_list_begin(&b, p->opt.edge_id, p->opt.boot, (uint32_t)r->local.count, r->local_conns, list);
		if (list)
			strmap_each(&r->local, list_user, &c);
		presence_list_end(&b, list);
	}
	rc = b.oom ? -ENOMEM : bridge_publish(p->bridge, topic, b.p ? b.p : "", b.len, true, NULL);
	if (rc < 0)
		log_warn("presence_publish_failed", "room=%s err=\"%s\"", r->room, mqe_strerror(rc));
	else
		p->stats.lists_published++;
	textbuf_free(&b);
}

static void room_free(struct presence *p, struct proom *r)
{
	if (r->sub && p->bridge)
		bridge_unsubscribe(p->bridge, r->sub);
	free_counts(&r->local);
	free_counts(&r->totals);
	strmap_each(&r->lists, free_list_value, NULL);
	strmap_free(&r->lists);
	free(r);
}

void presence_join(struct presence *p, const char *room, const char *user, const char *info, size_t info_len)
{
	struct strmap_entry *e;
	struct proom *r;
	struct pcount *c;

	if (!presence_room(p, room))
		return;
	r = strmap_get(&p->rooms, room);
	if (!r) {
		char filter[TOPICS_TOPIC_MAX];

		if (!(r = calloc(1, sizeof(*r))) || !(e = strmap_put(&p->rooms, room))) {
			free(r);
			goto nomem;
		}
		e->value = r;
		strcpy(r->room, room);	/* a validated id */
		if (p->bridge && topics_presence(filter, sizeof(filter), p->opt.topic_prefix, room, NULL) > 0)
			r->sub = bridge_subscribe(p->bridge, filter, NULL);
	}
	e = strmap_put(&r->local, user);
	if (!e || (!e->value && !(e->value = calloc(1, sizeof(struct pcount)))))
		goto nomem;
	c = e->value;
	if (!c->conns && info && info_len <= PRESENCE_INFO_MAX && (c->info = malloc(info_len + 1))) {
		memcpy(c->info, info, info_len);
		c->info[info_len] = '\0';
		c->info_len = info_len;
	}
	c->conns++;
	r->local_conns++;
	publish_local(p, r);
	return;
nomem:
	log_error("presence_nomem", "room=%s user=%s", room, user);
}

void presence_leave(struct presence *p, const char *room, const char *user)
{
	struct proom *r = presence_room(p, room) ? strmap_get(&p->rooms, room) : NULL;
	struct pcount *c = r ? strmap_get(&r->local, user) : NULL;

	if (!c)
		return;
	r->local_conns--;
	if (--c->conns == 0)
		pcount_free(strmap_del(&r->local, user));
	publish_local(p, r);
	if (!r->local.count) {	/* nobody here any more: stop following the room */
		strmap_del(&p->rooms, room);
		room_free(p, r);
	}
}

/* ---- from the broker ---- */

struct parse_ctx {
	struct edge_list *l;
	bool failed;
};

static int collect_user(void *ctx, const char *user, uint32_t conns, const char *info, size_t info_len)
{
	struct parse_ctx *c = ctx;
	struct strmap_entry *e = strmap_put(&c->l->members, user);
	struct pcount *pc = e ? calloc(1, sizeof(*pc)) : NULL;

	if (!pc || e->value) {	/* out of memory, or a user listed twice */
		free(pc);
		c->failed = true;
		return 1;
	}
	e->value = pc;
	pc->conns = conns;
	if (info && (pc->info = malloc(info_len))) {
		memcpy(pc->info, info, info_len);
		pc->info_len = info_len;
	}
	return 0;
}

/* An edge's list for room arrived (len 0: it has nobody there). */
static void on_list(struct presence *p, const char *room, const char *edge, const char *payload, size_t len)
{
	struct proom *r = strmap_get(&p->rooms, room);
	const struct edge_seen *seen = strmap_get(&p->edges, edge);
	struct presence_list pl;
	struct edge_list *l;
	struct parse_ctx c;

	if (!r)
		return;	/* nobody here follows the room (any more) */
	p->stats.lists_received++;
	if (!len) {
		replace_list(p, r, edge, NULL);
		return;
	}
	if (presence_list_parse(payload, len, &pl) || strcmp(pl.edge, edge) ||
	    (seen && (!seen->online || seen->boot != pl.boot))) {
		/* malformed, or left behind by an edge that is offline or has restarted since */
		p->stats.lists_ignored++;
		return;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return;
	l->boot = pl.boot;
	l->users = (uint32_t)pl.users;
	l->conns = (uint32_t)pl.conns;
	l->counts_only = !pl.list.p;
	c = (struct parse_ctx){ l, false };
	if (presence_list_each(&pl, collect_user, &c) || c.failed) {
		p->stats.lists_ignored++;
		edge_list_free(l);
		return;
	}
	replace_list(p, r, edge, l);
}

struct drop_ctx {
	struct presence *p;
	const char *edge;
	int64_t boot;		/* drop only lists of this boot; 0: any */
};

static void drop_edge_in_room(void *ctx, const char *room, void *value)
{
	struct drop_ctx *d = ctx;
	const struct edge_list *l = strmap_get(&((struct proom *)value)->lists, d->edge);

	(void)room;
	if (l && (!d->boot || l->boot == d->boot))
		replace_list(d->p, value, d->edge, NULL);
}

/* An edge's status: online (with its boot) or offline (its will, or a clean stop). */
static void on_status(struct presence *p, const char *edge, const char *payload, size_t len)
{
	char who[TOPICS_ID_MAX + 1];
	struct strmap_entry *e;
	struct edge_seen *seen;
	struct drop_ctx d = { p, edge, 0 };
	bool online;
	int64_t boot;

	if (!len || api_body_status_parse(payload, len, who, &online, &boot) || strcmp(who, edge))
		return;
	e = strmap_put(&p->edges, edge);
	if (!e || (!e->value && !(e->value = calloc(1, sizeof(struct edge_seen)))))
		return;
	seen = e->value;
	if (!online) {
		/* its last will, or a clean stop: every list of that run is void */
		d.boot = boot;
		p->stats.edges_lost++;
		log_info("presence_edge_offline", "edge=%s", edge);
		strmap_each(&p->rooms, drop_edge_in_room, &d);
	} else if (seen->online && seen->boot != boot) {
		/* back as another run before we saw it go: the old run's lists are void */
		d.boot = seen->boot;
		strmap_each(&p->rooms, drop_edge_in_room, &d);
	}
	seen->online = online;
	seen->boot = boot;
}

bool presence_on_message(struct presence *p, const char *topic, size_t topic_len, const void *payload, size_t len)
{
	char room[TOPICS_ID_MAX + 1], edge[TOPICS_ID_MAX + 1];
	const char *idp;
	size_t idlen;
	enum topic_kind kind;

	if (!p->n_patterns)
		return false;	/* no presence configured: nothing subscribed, no parse on the fan-out path */
	kind = topics_parse(p->opt.topic_prefix, topic, topic_len, &idp, &idlen);
	if (kind != TOPIC_PRESENCE && kind != TOPIC_STATUS)
		return false;
	if (kind == TOPIC_STATUS) {
		memcpy(edge, idp, idlen);
		edge[idlen] = '\0';
		on_status(p, edge, payload, len);
		return true;
	}
	memcpy(room, idp, idlen);
	room[idlen] = '\0';
	idp += idlen + 1;
	idlen = (size_t)(topic + topic_len - idp);
	memcpy(edge, idp, idlen);
	edge[idlen] = '\0';
	on_list(p, room, edge, payload, len);
	return true;
}

static void republish(void *ctx, const char *room, void *value)
{
	(void)room;
	publish_local(ctx, value);
}

void presence_on_state(struct presence *p, bool up)
{
	/* a broker that lost its retained messages (restarted without persistence) learns our lists
	 * again; one that kept them gets the same text */
	if (up)
		strmap_each(&p->rooms, republish, p);
}

/* ---- the presence op ---- */

struct query_ctx {
	struct textbuf *b;
	bool first;
	uint32_t conns;
};

static void sum_conns(void *ctx, const char *user, void *value)
{
	(void)user;
	((struct query_ctx *)ctx)->conns += ((struct pcount *)value)->conns;
}

static void query_member(void *ctx, const char *user, void *value)
{
	struct query_ctx *q = ctx;
	const struct pcount *t = value;

	edge_frame_presence_member(q->b, q->first, user, t->conns, t->info, t->info_len);
	q->first = false;
}

static void any_counts_only(void *ctx, const char *edge, void *value)
{
	(void)edge;
	if (((struct edge_list *)value)->counts_only)
		*(bool *)ctx = true;
}

static void add_list_counts(void *ctx, const char *edge, void *value)
{
	uint32_t *sums = ctx;

	(void)edge;
	sums[0] += ((struct edge_list *)value)->users;
	sums[1] += ((struct edge_list *)value)->conns;
}

int presence_query(struct presence *p, const char *room, const char *ref, struct textbuf *out)
{
	struct proom *r = strmap_get(&p->rooms, room);
	struct query_ctx q = { out, true, 0 };
	bool counts_only = false;

	if (!r)
		return -ENOENT;
	strmap_each(&r->lists, any_counts_only, &counts_only);
	if (counts_only || r->totals.count > p->opt.max_members) {
		/* some edge lists counts only: users on several edges are counted once per edge */
		uint32_t sums[2] = { 0, 0 };

		strmap_each(&r->lists, add_list_counts, sums);
		edge_frame_presence_begin(out, ref, room, sums[0], sums[1], false);
		edge_frame_presence_end(out, false);
		return 0;
	}
	strmap_each(&r->totals, sum_conns, &q);
	edge_frame_presence_begin(out, ref, room, (uint32_t)r->totals.count, q.conns, true);
	strmap_each(&r->totals, query_member, &q);
	edge_frame_presence_end(out, true);
	return 0;
}

/* ---- lifecycle ---- */

int presence_init(struct presence *p, const struct presence_options *opt, struct fanout *fo)
{
	memset(p, 0, sizeof(*p));
	p->opt = *opt;
	p->fanout = fo;
	p->patterns = strdup(opt->patterns ? opt->patterns : "");
	if (!p->patterns)
		return -ENOMEM;
	/* "a, b,c" -> "a\0b\0c\0": each pattern in place */
	{
		char *w = p->patterns;

		for (const char *s = p->patterns; *s;) {
			size_t len = strcspn(s, ",");
			const char *t = s;

			while (len && *t == ' ') {
				t++;
				len--;
			}
			while (len && t[len - 1] == ' ')
				len--;
			if (len) {
				memmove(w, t, len);
				w[len] = '\0';
				w += len + 1;
				p->n_patterns++;
			}
			s += strcspn(s, ",");
			if (*s)
				s++;
		}
	}
	return 0;
}

void presence_attach_bridge(struct presence *p, struct bridge *b)
{
	p->bridge = b;
}

static void free_room_value(void *ctx, const char *key, void *value)
{
	(void)key;
	room_free(ctx, value);
}

static void free_value(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	free(value);
}

void presence_fini(struct presence *p)
{
	p->bridge = NULL;	/* the bridge freed its subscriptions itself */
	strmap_each(&p->rooms, free_room_value, p);
	strmap_free(&p->rooms);
	strmap_each(&p->edges, free_value, NULL);
	strmap_free(&p->edges);
	free(p->patterns);
	p->patterns = NULL;
}
