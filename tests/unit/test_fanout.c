/*
 * test_fanout.c - delivery to local peers (edge/fanout/fanout.c) against a fake peer table: peer
 * add/remove, join/leave/membership/channel and the first-member/last-leave hooks (including a
 * refusing hook), fanout_on_message (one frame built once and shared by every member, the
 * delivery text of PROTOCOL.md section 3 for envelopes and bare JSON/text/binary payloads, idgen
 * ids for bare payloads, duplicates, unknown channels, bad topics), bursts (no wake inside a
 * burst, one flush per dirty peer at its end) versus direct sends (one wake per empty -> non-empty
 * queue), the slow-consumer bound (close 4002 once, queue dropped, later sends ignored), error
 * frames, fanout_written's accounting and latency histogram, removal of a dirty peer, and the
 * outq_bytes gauge returning to 0.
 *
 * Peers are fake sessions that embed struct peer (not as the first member) and count every
 * peer_ops call they get; the channel hooks count first/empty calls and can refuse a join.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mqedge/base/clock.h"
#include "mqedge/base/idgen.h"
#include "mqedge/base/log.h"
#include "mqedge/base/siphash.h"
#include "mqedge/fanout/fanout.h"
#include "mqedge/wire/envelope.h"
#include "mqedge/wire/jsontext.h"
#include "mqedge/wire/topics.h"

#define PREFIX "mqedge/v1"
#define EDGE_ID "e1"
#define BOOT_MS 1700000000000LL

/* ---- the fake peer table ---- */

struct fake_session {
	int tag;			/* something before the peer: the peer is found by its offset */
	struct peer peer;
	char name[16];
	int wakes, flushes, closes;
	uint32_t count_at_flush;	/* queue length when flush was last called */
	uint32_t count_at_close;	/* queue length when close was called */
	uint16_t close_code;
	const char *close_reason;
};

static struct fake_session *sess_of(struct peer *p)
{
	return (struct fake_session *)((char *)p - offsetof(struct fake_session, peer));
}

static int bad_ops;	/* peer_ops called with a peer that is no fake session */

static void fake_wake(struct peer *p)
{
	struct fake_session *s = sess_of(p);

	if (s->tag != 0x5e55)
		bad_ops++;
	s->wakes++;
}

static void fake_flush(struct peer *p)
{
	struct fake_session *s = sess_of(p);

	if (s->tag != 0x5e55)
		bad_ops++;
	s->flushes++;
	s->count_at_flush = p->outq.count;
}

static void fake_close(struct peer *p, uint16_t code, const char *reason)
{
	struct fake_session *s = sess_of(p);

	if (s->tag != 0x5e55)
		bad_ops++;
	s->closes++;
	s->close_code = code;
	s->close_reason = reason;
	s->count_at_close = p->outq.count;
}

static const struct peer_ops fake_ops = { fake_wake, fake_flush, fake_close };

static void sess_init(struct fake_session *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->tag = 0x5e55;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->peer.id = s->name;
	s->peer.name = s->name;
}

/* ---- channel hooks ---- */

struct hooks_log {
	int first, empty;
	bool refuse;
	char last_first[TOPICS_TOPIC_MAX], last_empty[TOPICS_TOPIC_MAX];
};

static int hook_first(void *ctx, struct channel *ch)
{
	struct hooks_log *h = ctx;

	snprintf(h->last_first, sizeof(h->last_first), "%s", ch->topic);
	if (h->refuse)
		return -1;
	h->first++;
	return 0;
}

static void hook_empty(void *ctx, struct channel *ch)
{
	struct hooks_log *h = ctx;

	h->empty++;
	snprintf(h->last_empty, sizeof(h->last_empty), "%s", ch->topic);
}

static const struct channels_hooks fake_hooks = { hook_first, hook_empty };

/* ---- a fanout under test ---- */

struct rig {
	struct fanout fo;
	struct idgen ids;
	struct idgen shadow;	/* the same sequence, to predict the ids of bare payloads */
	struct hooks_log h;
};

/* outq_max is the hard bound here (and the soft one, with a timeout that never runs out); the
 * soft bound's timing has its own rig (test_slow_policy). */
static bool rig_init_policy(struct rig *r, size_t soft, size_t hard, int64_t timeout_us)
{
	struct fanout_options opt = {
		.topic_prefix = PREFIX, .outq_max_bytes = soft, .outq_hard_bytes = hard, .slow_timeout_us = timeout_us,
		.dedup_window = 64, .ids = &r->ids,
	};

	memset(r, 0, sizeof(*r));
	if (idgen_init(&r->ids, EDGE_ID, BOOT_MS) || idgen_init(&r->shadow, EDGE_ID, BOOT_MS))
		return false;
	return fanout_init(&r->fo, &opt, &fake_ops, &fake_hooks, &r->h) == 0;
}

static bool rig_init(struct rig *r, size_t outq_max)
{
	return rig_init_policy(r, outq_max, outq_max, INT64_MAX / 2);
}

/* The topic for (kind, id) under PREFIX, or "" when it cannot be built. */
static const char *topic(enum topic_kind kind, const char *id, char buf[TOPICS_TOPIC_MAX])
{
	if (topics_build(buf, TOPICS_TOPIC_MAX, PREFIX, kind, id) < 0)
		buf[0] = '\0';
	return buf;
}

static void deliver(struct rig *r, enum topic_kind kind, const char *id, const void *payload, size_t len)
{
	char t[TOPICS_TOPIC_MAX];

	topic(kind, id, t);
	fanout_on_message(&r->fo, t, strlen(t), payload, len);
}

static void deliver_str(struct rig *r, enum topic_kind kind, const char *id, const char *payload)
{
	deliver(r, kind, id, payload, strlen(payload));
}

/* The sum of every peer's queued bytes equals the gauge. */
static bool gauge_consistent(const struct fanout *fo)
{
	uint64_t sum = 0;

	for (const struct peer *p = fo->peers; p; p = p->next)
		sum += p->outq.bytes;
	if (sum != fo->stats.outq_bytes)
		fprintf(stderr, "outq_bytes gauge %llu, peers hold %llu\n", (unsigned long long)fo->stats.outq_bytes,
			(unsigned long long)sum);
	return sum == fo->stats.outq_bytes;
}

static bool payload_is(const struct frame *f, const char *want)
{
	size_t n = strlen(want);

	if (!f || f->len != n || memcmp(f->buf + FRAME_HEADROOM, want, n)) {
		fprintf(stderr, "frame: got %.*s\n      want %s\n", f ? (int)f->len : 6,
			f ? (const char *)f->buf + FRAME_HEADROOM : "(none)", want);
		return false;
	}
	return true;
}

/* The "ts" member of a delivery frame, or -1. */
static int ts_ctx_cb(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value, size_t len)
{
	int64_t *ts = ctx;

	(void)key_escaped;
	if (keylen == 2 && !memcmp(key, "ts", 2) && jsontext_parse_uint(value, len, ts))
		*ts = -2;
	return 0;
}

static int64_t frame_ts(struct frame *f)
{
	int64_t ts = -1;
	bool obj;
	const char *v;
	size_t vlen;

	if (jsontext_validate((const char *)frame_payload(f), f->len, &obj, &v, &vlen, ts_ctx_cb, &ts) || !obj)
		return -3;
	return ts;
}

static bool peer_listed(const struct fanout *fo, const struct peer *p)
{
	for (const struct peer *q = fo->peers; q; q = q->next)
		if (q == p)
			return true;
	return false;
}

static size_t n_peers(const struct fanout *fo)
{
	size_t n = 0;

	for (const struct peer *q = fo->peers; q; q = q->next)
		n++;
	return n;
}

/* Writes every queued frame of p, as the owner would after a flush. */
static void write_all(struct fanout *fo, struct peer *p)
{
	size_t bytes = 0;

	for (uint32_t i = 0; i < p->outq.count; i++)
		bytes += frame_wire_len(outq_at(&p->outq, i));
	if (p->outq.count)
		fanout_written(fo, p, p->outq.count, bytes, clock_now_us());
}

/* ---- tests ---- */

static void test_peers_and_membership(void)
{
	struct rig r;
	struct fake_session a, b, c;
	struct member *ma = NULL, *ma2 = NULL, *mb = NULL;
	struct channel *ch;

	CHECK(rig_init(&r, 1 << 20));
	sess_init(&a, "alice");
	sess_init(&b, "bob");
	sess_init(&c, "carol");

	CHECK(r.fo.peers == NULL);
	fanout_peer_add(&r.fo, &a.peer);
	fanout_peer_add(&r.fo, &b.peer);
	fanout_peer_add(&r.fo, &c.peer);
	CHECK(n_peers(&r.fo) == 3);
	CHECK(peer_listed(&r.fo, &a.peer) && peer_listed(&r.fo, &b.peer) && peer_listed(&r.fo, &c.peer));

	/* join: 0, then 1 when already a member; the first member's hook fires once */
	CHECK(fanout_channel(&r.fo, TOPIC_ROOM, "lobby") == NULL);
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_ROOM, "lobby", &ma) == 0);
	CHECK(r.h.first == 1);
	CHECK_STR(r.h.last_first, PREFIX "/room/lobby");
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_ROOM, "lobby", &ma2) == 1);
	CHECK(ma && ma2 == ma);
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_ROOM, "lobby", NULL) == 1);
	CHECK(fanout_join(&r.fo, &b.peer, TOPIC_ROOM, "lobby", &mb) == 0);
	CHECK(r.h.first == 1);
	CHECK(mb && mb != ma && mb->session == &b.peer && ma && ma->session == &a.peer);
	ch = fanout_channel(&r.fo, TOPIC_ROOM, "lobby");
	CHECK(ch != NULL);
	if (ch) {
		CHECK_STR(ch->topic, PREFIX "/room/lobby");
		CHECK(ch->kind == TOPIC_ROOM);
		CHECK(ch->n_members == 2);
		CHECK(ch->id_len == 5 && !memcmp(ch->topic + ch->id_off, "lobby", 5));
		CHECK(ma && ma->channel == ch && mb && mb->channel == ch);
	}
	CHECK(a.peer.ml.count == 1 && b.peer.ml.count == 1 && c.peer.ml.count == 0);

	/* membership: per peer and per (kind, id) */
	CHECK(fanout_membership(&r.fo, &a.peer, TOPIC_ROOM, "lobby") == ma);
	CHECK(fanout_membership(&r.fo, &b.peer, TOPIC_ROOM, "lobby") == mb);
	CHECK(fanout_membership(&r.fo, &c.peer, TOPIC_ROOM, "lobby") == NULL);
	CHECK(fanout_membership(&r.fo, &a.peer, TOPIC_DIRECT, "lobby") == NULL);
	CHECK(fanout_membership(&r.fo, &a.peer, TOPIC_ROOM, "lobb") == NULL);
	CHECK(fanout_membership(&r.fo, &a.peer, TOPIC_ROOM, "a/b") == NULL);
	CHECK(fanout_channel(&r.fo, TOPIC_ROOM, "lobb") == NULL);
	CHECK(fanout_channel(&r.fo, TOPIC_ROOM, "") == NULL);

	/* other kinds make other channels */
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_DIRECT, "alice", NULL) == 0);
	CHECK(r.h.first == 2);
	CHECK_STR(r.h.last_first, PREFIX "/user/alice/direct");
	CHECK(fanout_join(&r.fo, &c.peer, TOPIC_TELEMETRY, "dev-1", NULL) == 0);
	CHECK_STR(r.h.last_first, PREFIX "/device/dev-1/telemetry");
	CHECK(fanout_join(&r.fo, &c.peer, TOPIC_CMD, "dev-1", NULL) == 0);
	CHECK_STR(r.h.last_first, PREFIX "/device/dev-1/cmd");
	CHECK(r.h.first == 4);
	CHECK(channels_count(r.fo.channels) == 4);

	/* invalid ids: -EINVAL, no hook, nothing changes */
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_ROOM, "a/b", NULL) == -EINVAL);
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_ROOM, "", NULL) == -EINVAL);
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_ROOM, "x+", NULL) == -EINVAL);
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_NOTIFY_ALL, "x", NULL) == -EINVAL);
	CHECK(r.h.first == 4 && a.peer.ml.count == 2 && channels_count(r.fo.channels) == 4);

	/* a refusing hook: the join fails and changes nothing */
	r.h.refuse = true;
	CHECK(fanout_join(&r.fo, &b.peer, TOPIC_ROOM, "vip", &mb) < 0);
	r.h.refuse = false;
	CHECK_STR(r.h.last_first, PREFIX "/room/vip");	/* it was asked */
	CHECK(r.h.first == 4);
	CHECK(fanout_channel(&r.fo, TOPIC_ROOM, "vip") == NULL);
	CHECK(fanout_membership(&r.fo, &b.peer, TOPIC_ROOM, "vip") == NULL);
	CHECK(b.peer.ml.count == 1);
	CHECK(channels_count(r.fo.channels) == 4);
	/* joining an existing channel never asks the hook, so refusing cannot stop it */
	r.h.refuse = true;
	CHECK(fanout_join(&r.fo, &c.peer, TOPIC_ROOM, "lobby", NULL) == 0);
	r.h.refuse = false;
	CHECK(c.peer.ml.count == 3);
	CHECK(fanout_leave(&r.fo, &c.peer, TOPIC_ROOM, "lobby") == 0);
	/* once the hook accepts, the same join works and the hook fires once */
	CHECK(fanout_join(&r.fo, &b.peer, TOPIC_ROOM, "vip", NULL) == 0);
	CHECK(r.h.first == 5);

	/* leave: 0, then 1; the last leave fires the empty hook once */
	CHECK(r.h.empty == 0);
	CHECK(fanout_leave(&r.fo, &a.peer, TOPIC_ROOM, "lobby") == 0);
	CHECK(r.h.empty == 0);
	CHECK(fanout_leave(&r.fo, &a.peer, TOPIC_ROOM, "lobby") == 1);
	CHECK(fanout_membership(&r.fo, &a.peer, TOPIC_ROOM, "lobby") == NULL);
	CHECK(fanout_channel(&r.fo, TOPIC_ROOM, "lobby") != NULL);
	CHECK(fanout_leave(&r.fo, &b.peer, TOPIC_ROOM, "lobby") == 0);
	CHECK(r.h.empty == 1);
	CHECK_STR(r.h.last_empty, PREFIX "/room/lobby");
	CHECK(fanout_channel(&r.fo, TOPIC_ROOM, "lobby") == NULL);
	CHECK(fanout_leave(&r.fo, &b.peer, TOPIC_ROOM, "lobby") == 1);
	CHECK(fanout_leave(&r.fo, &b.peer, TOPIC_ROOM, "a/b") == 1);
	CHECK(r.h.empty == 1);

	/* remove: leaves every channel (an empty hook for each channel it was alone in) */
	CHECK(fanout_join(&r.fo, &b.peer, TOPIC_CMD, "dev-1", NULL) == 0);	/* shared with c */
	fanout_peer_remove(&r.fo, &c.peer);
	CHECK(!peer_listed(&r.fo, &c.peer) && n_peers(&r.fo) == 2);
	CHECK(c.peer.ml.count == 0 && c.peer.ml.head == NULL);
	CHECK(r.h.empty == 2);
	CHECK_STR(r.h.last_empty, PREFIX "/device/dev-1/telemetry");
	ch = fanout_channel(&r.fo, TOPIC_CMD, "dev-1");
	CHECK(ch && ch->n_members == 1 && ch->members && ch->members->session == &b.peer);
	fanout_peer_remove(&r.fo, &a.peer);	/* alone in its direct channel */
	CHECK(r.h.empty == 3);
	CHECK_STR(r.h.last_empty, PREFIX "/user/alice/direct");
	fanout_peer_remove(&r.fo, &b.peer);	/* vip and dev-1/cmd */
	CHECK(r.h.empty == 5);
	CHECK(r.fo.peers == NULL);
	CHECK(channels_count(r.fo.channels) == 0);
	CHECK(r.h.first == 5);	/* every channel that was created was emptied */
	CHECK(a.wakes + a.flushes + a.closes + b.wakes + b.flushes + b.closes + c.wakes + c.flushes + c.closes == 0);
	fanout_fini(&r.fo);
}

/* One broker message -> one frame, a reference in every member's queue; the delivery text. */
static void test_room_message(void)
{
	struct rig r;
	struct fake_session s[4];
	char env[256];
	int64_t before, after;
	int n;

	CHECK(rig_init(&r, 1 << 20));
	for (int i = 0; i < 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "u%d", i);
		sess_init(&s[i], name);
		fanout_peer_add(&r.fo, &s[i].peer);
	}
	for (int i = 0; i < 3; i++)
		CHECK(fanout_join(&r.fo, &s[i].peer, TOPIC_ROOM, "lobby", NULL) == 0);
	CHECK(fanout_join(&r.fo, &s[3].peer, TOPIC_ROOM, "other", NULL) == 0);

	n = envelope_build(env, sizeof(env), "m-1", 1700000000123LL, "alice", "{\"x\":[1,\"two\"]}", 15);
	CHECK(n > 0);
	before = clock_now_us();
	deliver(&r, TOPIC_ROOM, "lobby", env, (size_t)n);
	after = clock_now_us();
	CHECK(r.fo.in_burst);
	CHECK(r.fo.stats.messages_in == 1);
	CHECK(r.fo.stats.deliveries == 3);
	for (int i = 0; i < 3; i++) {
		CHECK(s[i].peer.outq.count == 1);
		CHECK(s[i].peer.dirty);
		CHECK(s[i].wakes == 0 && s[i].flushes == 0);
	}
	CHECK(s[3].peer.outq.count == 0 && !s[3].peer.dirty);

	struct frame *f = s[0].peer.outq.count ? outq_at(&s[0].peer.outq, 0) : NULL;

	CHECK(f != NULL);
	if (!f) {
		fanout_on_batch_done(&r.fo);
		return;
	}
	/* the SAME frame for every member: built once, one reference per queue */
	CHECK(s[1].peer.outq.count && outq_at(&s[1].peer.outq, 0) == f);
	CHECK(s[2].peer.outq.count && outq_at(&s[2].peer.outq, 0) == f);
	CHECK(f->refs == 3);
	CHECK(f->born_us >= before && f->born_us <= after);
	CHECK(payload_is(f, "{\"op\":\"msg\",\"id\":\"m-1\",\"room\":\"lobby\",\"from\":\"alice\","
			    "\"ts\":1700000000123,\"data\":{\"x\":[1,\"two\"]}}"));
	CHECK(r.fo.stats.outq_bytes == 3 * frame_wire_len(f));
	CHECK(gauge_consistent(&r.fo));

	/* a second message in the same burst: still no wake, still one dirty entry per peer */
	n = envelope_build(env, sizeof(env), "m-2", 5, NULL, "null", 4);
	deliver(&r, TOPIC_ROOM, "lobby", env, (size_t)n);
	for (int i = 0; i < 3; i++) {
		CHECK(s[i].peer.outq.count == 2);
		CHECK(s[i].wakes == 0 && s[i].flushes == 0);
	}
	struct frame *g = s[0].peer.outq.count == 2 ? outq_at(&s[0].peer.outq, 1) : NULL;

	CHECK(g && g != f);
	CHECK(s[1].peer.outq.count == 2 && outq_at(&s[1].peer.outq, 1) == g);
	CHECK(s[2].peer.outq.count == 2 && outq_at(&s[2].peer.outq, 1) == g);
	CHECK(payload_is(g, "{\"op\":\"msg\",\"id\":\"m-2\",\"room\":\"lobby\",\"ts\":5,\"data\":null}"));
	/* the dirty list holds each member exactly once */
	{
		int seen[4] = { 0 }, total = 0;

		for (struct peer *p = r.fo.dirty; p; p = p->dirty_next, total++)
			for (int i = 0; i < 4; i++)
				seen[i] += p == &s[i].peer;
		CHECK(total == 3 && seen[0] == 1 && seen[1] == 1 && seen[2] == 1 && seen[3] == 0);
	}

	/* the burst ends: one flush per dirty peer, with the whole queue */
	fanout_on_batch_done(&r.fo);
	CHECK(!r.fo.in_burst);
	CHECK(r.fo.dirty == NULL);
	for (int i = 0; i < 3; i++) {
		CHECK(s[i].flushes == 1);
		CHECK(s[i].count_at_flush == 2);
		CHECK(s[i].wakes == 0 && s[i].closes == 0);
		CHECK(!s[i].peer.dirty);
	}
	CHECK(s[3].flushes == 0 && s[3].wakes == 0);
	/* a burst with nothing for anybody flushes nobody */
	fanout_on_batch_done(&r.fo);
	for (int i = 0; i < 4; i++)
		CHECK(s[i].flushes == (i < 3));

	/* writing everything empties the gauge */
	for (int i = 0; i < 4; i++)
		write_all(&r.fo, &s[i].peer);
	CHECK(r.fo.stats.outq_bytes == 0);
	CHECK(r.fo.stats.frames_out == 6);
	CHECK(r.fo.stats.writes == 3);
	CHECK(r.fo.stats.latency_count == 6);
	for (int i = 0; i < 4; i++)
		fanout_peer_remove(&r.fo, &s[i].peer);
	CHECK(r.h.empty == 2);
	CHECK(bad_ops == 0);
	fanout_fini(&r.fo);
}

/* tmpl with {op} {id} {key} {target} {ts} replaced, into out. */
static void expand(char *out, size_t cap, const char *tmpl, const char *op, const char *id, const char *key,
		   const char *target, int64_t ts)
{
	char tsbuf[24];
	size_t n = 0;

	snprintf(tsbuf, sizeof(tsbuf), "%lld", (long long)ts);
	while (*tmpl && n + 1 < cap) {
		static const char *const names[] = { "{op}", "{id}", "{key}", "{target}", "{ts}" };
		const char *vals[] = { op, id, key, target, tsbuf };
		size_t k;

		for (k = 0; k < 5; k++)
			if (!strncmp(tmpl, names[k], strlen(names[k])))
				break;
		if (k == 5) {
			out[n++] = *tmpl++;
			continue;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s", vals[k]);
		tmpl += strlen(names[k]);
	}
	out[n < cap ? n : cap - 1] = '\0';
}

/* Every payload kind on every delivering topic kind: the exact frame text. */
static void test_delivery_text(void)
{
	static const unsigned char bin[] = { 0xff, 0x00, 0x01, 'a' };
	static const struct {
		const char *payload;
		size_t len;		/* 0: strlen */
		bool bare;		/* gets an idgen id */
		bool edge_ts;		/* gets the edge's ts (now) */
		const char *want;
	} payloads[] = {
		{ "{\"v\":1,\"id\":\"E-1\",\"ts\":42,\"from\":\"alice\",\"data\":{\"a\":1}}", 0, false, false,
		  "{\"op\":\"{op}\",\"id\":\"E-1\",\"{key}\":\"{target}\",\"from\":\"alice\",\"ts\":42,\"data\":{\"a\":1}}" },
		/* an envelope without ts gets the edge's ts, one without from has no from */
		{ "{\"v\":1,\"id\":\"E-2\",\"data\":[true]}", 0, false, true,
		  "{\"op\":\"{op}\",\"id\":\"E-2\",\"{key}\":\"{target}\",\"ts\":{ts},\"data\":[true]}" },
		/* an envelope carrying encoded data keeps its enc */
		{ "{\"v\":1,\"id\":\"E-3\",\"ts\":7,\"enc\":\"base64\",\"data\":\"/wAB\"}", 0, false, false,
		  "{\"op\":\"{op}\",\"id\":\"E-3\",\"{key}\":\"{target}\",\"ts\":7,\"enc\":\"base64\",\"data\":\"/wAB\"}" },
		{ "{\"v\":1,\"id\":\"E-4\",\"ts\":8,\"enc\":\"text\",\"data\":\"hi\"}", 0, false, false,
		  "{\"op\":\"{op}\",\"id\":\"E-4\",\"{key}\":\"{target}\",\"ts\":8,\"enc\":\"text\",\"data\":\"hi\"}" },
		/* ts 0 is a ts (the epoch), not "absent" */
		{ "{\"v\":1,\"id\":\"E-5\",\"ts\":0,\"data\":0}", 0, false, false,
		  "{\"op\":\"{op}\",\"id\":\"E-5\",\"{key}\":\"{target}\",\"ts\":0,\"data\":0}" },
		/* bare JSON, verbatim (whitespace around it trimmed) */
		{ " {\"temp\": 21.5} ", 0, true, true,
		  "{\"op\":\"{op}\",\"id\":\"{id}\",\"{key}\":\"{target}\",\"ts\":{ts},\"data\":{\"temp\": 21.5}}" },
		/* a JSON object that is not an envelope (v 2) is bare JSON */
		{ "{\"v\":2,\"id\":\"X\",\"data\":1}", 0, true, true,
		  "{\"op\":\"{op}\",\"id\":\"{id}\",\"{key}\":\"{target}\",\"ts\":{ts},\"data\":{\"v\":2,\"id\":\"X\",\"data\":1}}" },
		{ "12", 0, true, true, "{\"op\":\"{op}\",\"id\":\"{id}\",\"{key}\":\"{target}\",\"ts\":{ts},\"data\":12}" },
		/* text: enc text, escaped */
		{ "hello \"world\"\n", 0, true, true,
		  "{\"op\":\"{op}\",\"id\":\"{id}\",\"{key}\":\"{target}\",\"ts\":{ts},\"enc\":\"text\","
		  "\"data\":\"hello \\\"world\\\"\\n\"}" },
		/* bytes: enc base64 */
		{ (const char *)bin, sizeof(bin), true, true,
		  "{\"op\":\"{op}\",\"id\":\"{id}\",\"{key}\":\"{target}\",\"ts\":{ts},\"enc\":\"base64\",\"data\":\"/wABYQ==\"}" },
	};
	static const struct {
		enum topic_kind kind;
		const char *id, *op, *key;
	} topics[] = {
		{ TOPIC_ROOM, "lobby", "msg", "room" },
		{ TOPIC_DIRECT, "bob", "msg", "to" },
		{ TOPIC_TELEMETRY, "dev-1", "telemetry", "device" },
		{ TOPIC_CMD, "dev-2", "cmd", "device" },
	};
	struct rig r;
	struct fake_session s;
	int bare = 0;

	CHECK(rig_init(&r, 1 << 20));
	sess_init(&s, "bob");
	fanout_peer_add(&r.fo, &s.peer);
	for (size_t t = 0; t < sizeof(topics) / sizeof(topics[0]); t++)
		CHECK(fanout_join(&r.fo, &s.peer, topics[t].kind, topics[t].id, NULL) == 0);

	for (size_t t = 0; t < sizeof(topics) / sizeof(topics[0]); t++) {
		for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
			size_t len = payloads[i].len ? payloads[i].len : strlen(payloads[i].payload);
			uint64_t in = r.fo.stats.messages_in;
			char want[512], id[IDGEN_ID_MAX + 1] = "";
			int64_t before = clock_now_ms(), ts;
			struct frame *f;

			deliver(&r, topics[t].kind, topics[t].id, payloads[i].payload, len);
			CHECK(r.fo.stats.messages_in == in + 1);
			CHECK(s.peer.outq.count == 1);
			if (s.peer.outq.count != 1)
				break;
			f = outq_at(&s.peer.outq, 0);
			ts = frame_ts(f);
			if (payloads[i].bare) {
				idgen_message(&r.shadow, id);
				bare++;
			}
			if (payloads[i].edge_ts)
				CHECK(ts >= before && ts <= clock_now_ms());
			expand(want, sizeof(want), payloads[i].want, topics[t].op, id, topics[t].key, topics[t].id, ts);
			CHECK(payload_is(f, want));
			CHECK(f->born_us > 0);
			fanout_on_batch_done(&r.fo);
			write_all(&r.fo, &s.peer);
		}
	}
	/* the ids of bare payloads are the generator's sequence: e1.{boot36}.0, .1, ... */
	{
		char id[IDGEN_ID_MAX + 1];
		struct idgen g;

		CHECK(idgen_init(&g, EDGE_ID, BOOT_MS) == 0);
		idgen_message(&g, id);
		CHECK_STR(id, "e1.loyw3v28.0");
		CHECK(r.ids.next_msg == (uint64_t)bare && bare == 20);
		idgen_message(&r.shadow, id);
		CHECK_STR(id, "e1.loyw3v28.k");	/* the 21st: 20 in base 36 */
	}
	CHECK(r.fo.stats.drop_duplicate == 0);
	CHECK(s.flushes == (int)(sizeof(topics) / sizeof(topics[0]) * sizeof(payloads) / sizeof(payloads[0])));
	CHECK(s.wakes == 0);
	CHECK(r.fo.stats.outq_bytes == 0);
	fanout_peer_remove(&r.fo, &s.peer);
	fanout_fini(&r.fo);
}

/* Dropped messages: duplicates, no channel, bad topics. */
static void test_drops(void)
{
	static const char *bad_topics[] = {
		"",
		"mqedge/v1",
		"mqedge/v1/room",
		"mqedge/v1/room/",
		"mqedge/v1/room/a/b",
		"mqedge/v1/room/a+b",
		"mqedge/v2/room/lobby",
		"other/room/lobby",
		"mqedge/v1/user/bob/notify",		/* inbox topics are not fan-out's */
		"mqedge/v1/user/bob/read",
		"mqedge/v1/user/bob/settings",
		"mqedge/v1/notify/all",
		"mqedge/v1/edge/e1/status",
		"mqedge/v1/user/bob",
		"mqedge/v1/device/d/other",
	};
	struct rig r;
	struct fake_session a, b;
	char env[256];
	int n;

	CHECK(rig_init(&r, 1 << 20));
	sess_init(&a, "a");
	sess_init(&b, "b");
	fanout_peer_add(&r.fo, &a.peer);
	fanout_peer_add(&r.fo, &b.peer);
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_ROOM, "lobby", NULL) == 0);
	CHECK(fanout_join(&r.fo, &b.peer, TOPIC_ROOM, "lobby", NULL) == 0);
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_ROOM, "side", NULL) == 0);

	/* the same envelope id on the same topic: delivered once */
	n = envelope_build(env, sizeof(env), "dup-1", 1, "x", "1", 1);
	deliver(&r, TOPIC_ROOM, "lobby", env, (size_t)n);
	deliver(&r, TOPIC_ROOM, "lobby", env, (size_t)n);
	CHECK(r.fo.stats.messages_in == 1);
	CHECK(r.fo.stats.drop_duplicate == 1);
	CHECK(r.fo.stats.deliveries == 2);
	CHECK(a.peer.outq.count == 1 && b.peer.outq.count == 1);
	/* a duplicate is the id, not the bytes: other content with the same id is dropped too */
	n = envelope_build(env, sizeof(env), "dup-1", 2, NULL, "\"other\"", 7);
	deliver(&r, TOPIC_ROOM, "lobby", env, (size_t)n);
	CHECK(r.fo.stats.drop_duplicate == 2);
	CHECK(a.peer.outq.count == 1);
	/* the same id on another topic is another message */
	deliver(&r, TOPIC_ROOM, "side", env, (size_t)n);
	CHECK(r.fo.stats.drop_duplicate == 2);
	CHECK(r.fo.stats.messages_in == 2);
	CHECK(a.peer.outq.count == 2 && b.peer.outq.count == 1);
	/* bare payloads have no id to compare: each copy is delivered, with its own id */
	deliver_str(&r, TOPIC_ROOM, "lobby", "{\"same\":1}");
	deliver_str(&r, TOPIC_ROOM, "lobby", "{\"same\":1}");
	CHECK(r.fo.stats.drop_duplicate == 2);
	CHECK(r.fo.stats.messages_in == 4);
	CHECK(b.peer.outq.count == 3);
	if (b.peer.outq.count == 3) {
		struct frame *f1 = outq_at(&b.peer.outq, 1), *f2 = outq_at(&b.peer.outq, 2);

		CHECK(f1 != f2);
		CHECK(f1->len == f2->len && memcmp(frame_payload(f1), frame_payload(f2), f1->len) != 0);
	}

	/* a valid topic nobody here is a member of */
	deliver_str(&r, TOPIC_ROOM, "nobody", "1");
	deliver_str(&r, TOPIC_DIRECT, "a", "1");
	deliver_str(&r, TOPIC_TELEMETRY, "d", "1");
	CHECK(r.fo.stats.drop_no_channel == 3);
	CHECK(r.fo.stats.drop_bad_topic == 0);

	/* topics that are not a fan-out channel's */
	for (size_t i = 0; i < sizeof(bad_topics) / sizeof(bad_topics[0]); i++) {
		uint64_t before = r.fo.stats.drop_bad_topic;

		fanout_on_message(&r.fo, bad_topics[i], strlen(bad_topics[i]), "1", 1);
		if (r.fo.stats.drop_bad_topic != before + 1)
			fprintf(stderr, "topic '%s' was not counted as bad\n", bad_topics[i]);
		CHECK(r.fo.stats.drop_bad_topic == before + 1);
	}
	/* a channel topic with bytes after it (length counts) */
	{
		char t[TOPICS_TOPIC_MAX];

		topic(TOPIC_ROOM, "lobby", t);
		strcat(t, "/x");
		fanout_on_message(&r.fo, t, strlen(t), "1", 1);
		CHECK(r.fo.stats.drop_bad_topic == sizeof(bad_topics) / sizeof(bad_topics[0]) + 1);
		/* the same bytes but a length that stops at the room: delivered */
		fanout_on_message(&r.fo, t, strlen(t) - 2, "1", 1);
		CHECK(r.fo.stats.messages_in == 5);
	}
	CHECK(r.fo.stats.drop_no_channel == 3);
	CHECK(r.fo.stats.messages_in == 5);
	CHECK(r.fo.stats.deliveries == 2 + 1 + 4 + 2);
	CHECK(r.fo.stats.drop_slow_consumer == 0 && r.fo.stats.drop_nomem == 0);
	CHECK(a.wakes == 0 && b.wakes == 0);
	fanout_on_batch_done(&r.fo);
	CHECK(a.flushes == 1 && b.flushes == 1);
	CHECK(gauge_consistent(&r.fo));
	fanout_peer_remove(&r.fo, &a.peer);
	fanout_peer_remove(&r.fo, &b.peer);
	CHECK(r.fo.stats.outq_bytes == 0);	/* dropped with the queues */
	fanout_fini(&r.fo);
}

/* Outside a burst: wake once per empty -> non-empty; inside: no wake, one flush at the end. */
static void test_wake_and_flush(void)
{
	struct rig r;
	struct fake_session a, b;
	struct frame *f = frame_from_text("{\"op\":\"x\"}", 10);

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(rig_init(&r, 1 << 20));
	sess_init(&a, "a");
	sess_init(&b, "b");
	fanout_peer_add(&r.fo, &a.peer);
	fanout_peer_add(&r.fo, &b.peer);
	CHECK(fanout_join(&r.fo, &a.peer, TOPIC_ROOM, "r", NULL) == 0);
	CHECK(fanout_join(&r.fo, &b.peer, TOPIC_ROOM, "r", NULL) == 0);

	CHECK(fanout_send(&r.fo, &a.peer, f) == 0);
	CHECK(a.wakes == 1 && a.flushes == 0);
	CHECK(!a.peer.dirty && r.fo.dirty == NULL);
	CHECK(fanout_send(&r.fo, &a.peer, f) == 0);
	CHECK(fanout_send(&r.fo, &a.peer, f) == 0);
	CHECK(a.wakes == 1);
	CHECK(a.peer.outq.count == 3 && f->refs == 4);
	CHECK(r.fo.stats.deliveries == 3);
	CHECK(r.fo.stats.outq_bytes == 3 * frame_wire_len(f));
	write_all(&r.fo, &a.peer);
	CHECK(a.peer.outq.count == 0 && f->refs == 1);
	CHECK(fanout_send(&r.fo, &a.peer, f) == 0);
	CHECK(a.wakes == 2);

	/* fanout_send_channel: one reference per member, wake for the one whose queue was empty */
	CHECK(fanout_send_channel(&r.fo, fanout_channel(&r.fo, TOPIC_ROOM, "r"), f) == 2);
	CHECK(a.wakes == 2 && b.wakes == 1);
	CHECK(a.peer.outq.count == 2 && b.peer.outq.count == 1);
	CHECK(fanout_send_channel(&r.fo, NULL, f) == 0);
	fanout_send_text(&r.fo, &b.peer, "{\"op\":\"t\"}", 10);
	CHECK(b.wakes == 1 && b.peer.outq.count == 2);
	if (b.peer.outq.count == 2) {
		CHECK(outq_at(&b.peer.outq, 1) != f);
		CHECK(payload_is(outq_at(&b.peer.outq, 1), "{\"op\":\"t\"}"));
		CHECK(outq_at(&b.peer.outq, 1)->born_us == 0);
	}
	CHECK(a.flushes == 0 && b.flushes == 0);

	/* a burst: peers with a write already asked for (non-empty queues) are not flushed, the
	 * wake they got covers the new frames; a peer whose queue was empty is flushed once */
	write_all(&r.fo, &b.peer);
	deliver_str(&r, TOPIC_ROOM, "r", "1");
	deliver_str(&r, TOPIC_ROOM, "r", "2");
	deliver_str(&r, TOPIC_ROOM, "r", "3");
	CHECK(a.wakes == 2 && b.wakes == 1);
	CHECK(!a.peer.dirty && b.peer.dirty);
	CHECK(a.peer.outq.count == 5 && b.peer.outq.count == 3);
	fanout_on_batch_done(&r.fo);
	CHECK(a.flushes == 0 && b.flushes == 1 && b.count_at_flush == 3);
	CHECK(a.wakes == 2 && b.wakes == 1);
	/* after the burst, direct sends wake again */
	write_all(&r.fo, &b.peer);
	CHECK(fanout_send(&r.fo, &b.peer, f) == 0);
	CHECK(b.wakes == 2 && b.flushes == 1);

	/* a dirty peer whose queue was written during the burst and then fed again stays on the
	 * dirty list once: flushed once, the list never loops */
	write_all(&r.fo, &a.peer);
	write_all(&r.fo, &b.peer);
	deliver_str(&r, TOPIC_ROOM, "r", "4");
	CHECK(a.peer.dirty && b.peer.dirty);
	write_all(&r.fo, &b.peer);
	CHECK(b.peer.outq.count == 0 && b.peer.dirty);
	deliver_str(&r, TOPIC_ROOM, "r", "5");
	CHECK(b.peer.outq.count == 1);
	{
		int len = 0;

		for (struct peer *p = r.fo.dirty; p && len < 10; p = p->dirty_next)
			len++;
		CHECK(len == 2);
	}
	fanout_on_batch_done(&r.fo);
	CHECK(a.flushes == 1 && a.count_at_flush == 2);
	CHECK(b.flushes == 2 && b.count_at_flush == 1);
	CHECK(a.wakes == 2 && b.wakes == 2);

	/* a peer whose close is decided mid-burst (not as a slow consumer) keeps its queue, but the
	 * burst's end does not flush it: the close owns its remaining writes */
	write_all(&r.fo, &a.peer);
	write_all(&r.fo, &b.peer);
	deliver_str(&r, TOPIC_ROOM, "r", "6");
	fanout_close(&r.fo, &a.peer, 1001, "going away");
	CHECK(a.closes == 1 && a.peer.closing && a.peer.outq.count == 1 && a.peer.dirty);
	fanout_on_batch_done(&r.fo);
	CHECK(a.flushes == 1 && b.flushes == 3);
	CHECK(!a.peer.dirty && r.fo.dirty == NULL);

	write_all(&r.fo, &a.peer);
	write_all(&r.fo, &b.peer);
	CHECK(r.fo.stats.outq_bytes == 0);
	CHECK(a.closes == 1 && b.closes == 0);
	fanout_peer_remove(&r.fo, &a.peer);
	fanout_peer_remove(&r.fo, &b.peer);
	frame_unref(f);
	fanout_fini(&r.fo);
}

/* The out-queue byte bound: a slow consumer is closed with 4002 once and gets nothing more. */
static void test_slow_consumer(void)
{
	struct rig r;
	struct fake_session slow, ok;
	char text[61];
	struct frame *f;
	size_t wire;

	memset(text, 'x', 60);
	text[60] = '\0';
	f = frame_from_text(text, 60);
	CHECK(f != NULL);
	if (!f)
		return;
	wire = frame_wire_len(f);	/* 62 */
	CHECK(wire == 62);
	CHECK(rig_init(&r, 3 * wire));	/* three frames fit, the fourth does not */
	sess_init(&slow, "slow");
	sess_init(&ok, "ok");
	fanout_peer_add(&r.fo, &slow.peer);
	fanout_peer_add(&r.fo, &ok.peer);

	for (int i = 0; i < 3; i++)
		CHECK(fanout_send(&r.fo, &slow.peer, f) == 0);
	CHECK(slow.peer.outq.count == 3 && slow.peer.outq.bytes == 3 * wire);
	CHECK(r.fo.stats.outq_bytes == 3 * wire);
	CHECK(fanout_send(&r.fo, &ok.peer, f) == 0);
	CHECK(slow.closes == 0);

	/* the fourth would pass the bound */
	CHECK(fanout_send(&r.fo, &slow.peer, f) == -ENOBUFS);
	CHECK(slow.closes == 1);
	CHECK(slow.close_code == 4002);
	CHECK_STR(slow.close_reason, "slow consumer");
	CHECK(slow.count_at_close == 0);	/* the queue is dropped before close is asked */
	CHECK(slow.peer.closing);
	CHECK(slow.peer.outq.count == 0 && slow.peer.outq.bytes == 0 && slow.peer.outq.ring == NULL);
	CHECK(r.fo.stats.drop_slow_consumer == 1);
	CHECK(r.fo.stats.closed_slow == 1);
	CHECK(r.fo.stats.deliveries == 4);
	CHECK(r.fo.stats.outq_bytes == wire);	/* only ok's frame */
	CHECK(f->refs == 2);
	CHECK(gauge_consistent(&r.fo));

	/* later sends are ignored: no queue, no second close, no more drops counted */
	CHECK(fanout_send(&r.fo, &slow.peer, f) == 0);
	fanout_send_text(&r.fo, &slow.peer, "x", 1);
	fanout_send_error(&r.fo, &slow.peer, "", "internal", "x");
	fanout_close(&r.fo, &slow.peer, 1011, "again");
	CHECK(slow.closes == 1 && slow.close_code == 4002);
	CHECK(slow.peer.outq.count == 0);
	CHECK(r.fo.stats.drop_slow_consumer == 1 && r.fo.stats.closed_slow == 1);
	CHECK(r.fo.stats.deliveries == 4);
	CHECK(slow.wakes == 1);	/* only the first frame's */

	/* through the broker path, in a burst: the slow one is skipped, the other flushed */
	CHECK(fanout_join(&r.fo, &slow.peer, TOPIC_ROOM, "r", NULL) == 0);
	CHECK(fanout_join(&r.fo, &ok.peer, TOPIC_ROOM, "r", NULL) == 0);
	write_all(&r.fo, &ok.peer);
	deliver_str(&r, TOPIC_ROOM, "r", "{\"n\":1}");
	CHECK(slow.peer.outq.count == 0 && !slow.peer.dirty);
	CHECK(ok.peer.outq.count == 1 && ok.peer.dirty);
	fanout_on_batch_done(&r.fo);
	CHECK(slow.flushes == 0 && ok.flushes == 1);
	CHECK(r.fo.stats.deliveries == 5);

	/* a peer that becomes slow within a burst: closed once, never flushed */
	{
		struct fake_session late;
		char big[200];
		int n;

		sess_init(&late, "late");
		fanout_peer_add(&r.fo, &late.peer);
		CHECK(fanout_join(&r.fo, &late.peer, TOPIC_ROOM, "r", NULL) == 0);
		write_all(&r.fo, &ok.peer);
		/* three deliveries of 134 wire bytes each: the second passes 186 */
		for (int i = 0; i < 3; i++) {
			char env[256];

			snprintf(big, sizeof(big), "\"%080d\"", i);
			n = envelope_build(env, sizeof(env), i == 0 ? "b0" : i == 1 ? "b1" : "b2", 1, NULL, big,
					   strlen(big));
			CHECK(n > 0);
			deliver(&r, TOPIC_ROOM, "r", env, (size_t)n);
			if (i == 0)
				CHECK(late.peer.outq.bytes == 134 && ok.peer.outq.bytes == 134 && late.closes == 0);
		}
		CHECK(late.closes == 1 && late.close_code == 4002);
		CHECK(ok.closes == 1 && ok.close_code == 4002);	/* the same bound applies to both */
		CHECK(r.fo.stats.closed_slow == 3);
		CHECK(r.fo.stats.drop_slow_consumer == 3);
		fanout_on_batch_done(&r.fo);
		CHECK(late.flushes == 0);
		CHECK(ok.flushes == 1);	/* from before: closing peers are not flushed */
		CHECK(r.fo.dirty == NULL && !late.peer.dirty && !ok.peer.dirty);
		CHECK(r.fo.stats.outq_bytes == 0);
		CHECK(gauge_consistent(&r.fo));
		fanout_peer_remove(&r.fo, &late.peer);
	}

	/* a close with another code keeps what is queued (the client learns why) */
	{
		struct fake_session c;

		sess_init(&c, "c");
		fanout_peer_add(&r.fo, &c.peer);
		CHECK(fanout_send(&r.fo, &c.peer, f) == 0);
		fanout_close(&r.fo, &c.peer, 1001, "going away");
		CHECK(c.closes == 1 && c.close_code == 1001 && c.count_at_close == 1);
		CHECK_STR(c.close_reason, "going away");
		CHECK(c.peer.closing && c.peer.outq.count == 1);
		CHECK(r.fo.stats.outq_bytes == wire);
		CHECK(fanout_send(&r.fo, &c.peer, f) == 0);	/* closing: nothing new */
		CHECK(c.peer.outq.count == 1);
		fanout_close(&r.fo, &c.peer, 4002, "slow consumer");	/* already closing: ignored */
		CHECK(c.closes == 1 && c.peer.outq.count == 1);
		write_all(&r.fo, &c.peer);
		CHECK(r.fo.stats.outq_bytes == 0);
		fanout_peer_remove(&r.fo, &c.peer);
	}
	fanout_peer_remove(&r.fo, &slow.peer);
	fanout_peer_remove(&r.fo, &ok.peer);
	CHECK(r.fo.stats.outq_bytes == 0);
	CHECK(f->refs == 1);
	frame_unref(f);
	fanout_fini(&r.fo);
}

static void test_send_error(void)
{
	struct rig r;
	struct fake_session a;

	CHECK(rig_init(&r, 1 << 20));
	sess_init(&a, "a");
	fanout_peer_add(&r.fo, &a.peer);
	fanout_send_error(&r.fo, &a.peer, "\"r1\"", "bad_request", "'room' is \"missing\"");
	CHECK(r.fo.stats.errors_sent == 1);
	CHECK(r.fo.stats.deliveries == 1);
	CHECK(a.wakes == 1);
	CHECK(a.peer.outq.count == 1);
	if (a.peer.outq.count == 1) {
		struct frame *f = outq_at(&a.peer.outq, 0);

		CHECK(payload_is(f, "{\"op\":\"error\",\"ref\":\"r1\",\"code\":\"bad_request\","
				    "\"message\":\"'room' is \\\"missing\\\"\"}"));
		CHECK(f->born_us == 0);
		CHECK(f->refs == 1);	/* the queue's only */
	}
	fanout_send_error(&r.fo, &a.peer, "", "internal", "");
	CHECK(r.fo.stats.errors_sent == 2);
	CHECK(a.wakes == 1);
	if (a.peer.outq.count == 2)
		CHECK(payload_is(outq_at(&a.peer.outq, 1), "{\"op\":\"error\",\"code\":\"internal\",\"message\":\"\"}"));
	CHECK(a.peer.outq.count == 2);
	write_all(&r.fo, &a.peer);
	CHECK(r.fo.stats.latency_count == 0);	/* control frames are not deliveries */
	CHECK(r.fo.stats.outq_bytes == 0);
	fanout_peer_remove(&r.fo, &a.peer);
	fanout_fini(&r.fo);
}

/* fanout_written: pops n frames, counts frames/bytes/writes, latency of deliveries only. */
static void test_written(void)
{
	static const struct {
		int64_t age_us;		/* now - born; INT64_MIN: a control frame (born 0) */
		unsigned bucket;
	} frames[] = {
		{ 50, 0 }, { INT64_MIN, 0 }, { 3000, 5 }, { 100, 0 }, { 101, 1 }, { -20, 0 },
		{ 5000000, 14 }, { 5000001, 15 }, { 250, 1 }, { 251, 2 },
	};
	enum { N = sizeof(frames) / sizeof(frames[0]) };
	const int64_t now = 1700000000000000LL;
	struct rig r;
	struct fake_session a;
	size_t wire[N], total = 0;
	uint64_t want_buckets[16] = { 0 }, want_sum = 0, want_count = 0;

	CHECK(rig_init(&r, 1 << 20));
	sess_init(&a, "a");
	fanout_peer_add(&r.fo, &a.peer);
	for (int i = 0; i < N; i++) {
		char text[64];
		int n = snprintf(text, sizeof(text), "{\"i\":%d%*s}", i, i * 3, "");
		struct frame *f = frame_from_text(text, (size_t)n);

		CHECK(f != NULL);
		if (!f)
			return;
		f->born_us = frames[i].age_us == INT64_MIN ? 0 : now - frames[i].age_us;
		wire[i] = frame_wire_len(f);
		total += wire[i];
		CHECK(fanout_send(&r.fo, &a.peer, f) == 0);
		frame_unref(f);
	}
	CHECK(r.fo.stats.outq_bytes == total);
	CHECK(a.peer.outq.count == N);

	/* written in three writes: 2, 5, 3 frames */
	static const uint32_t chunks[] = { 2, 5, 3 };
	int next = 0;
	uint64_t frames_out = 0, bytes_out = 0;

	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		size_t bytes = 0;

		for (uint32_t k = 0; k < chunks[c]; k++) {
			int i = next + (int)k;

			bytes += wire[i];
			if (frames[i].age_us != INT64_MIN) {
				want_buckets[frames[i].bucket]++;
				want_sum += frames[i].age_us < 0 ? 0 : (uint64_t)frames[i].age_us;
				want_count++;
			}
		}
		fanout_written(&r.fo, &a.peer, chunks[c], bytes, now);
		next += (int)chunks[c];
		frames_out += chunks[c];
		bytes_out += bytes;
		total -= bytes;
		CHECK(a.peer.outq.count == (uint32_t)(N - next));
		CHECK(r.fo.stats.frames_out == frames_out);
		CHECK(r.fo.stats.bytes_out == bytes_out);
		CHECK(r.fo.stats.writes == c + 1);
		CHECK(r.fo.stats.outq_bytes == total);
		CHECK(a.peer.outq.bytes == total);
		CHECK(r.fo.stats.latency_count == want_count);
		CHECK(r.fo.stats.latency_sum_us == want_sum);
		/* the oldest frame left is the next one */
		if (a.peer.outq.count) {
			char want[16];

			snprintf(want, sizeof(want), "{\"i\":%d", next);
			CHECK(!memcmp(frame_payload(outq_at(&a.peer.outq, 0)), want, strlen(want)));
		}
	}
	for (int b = 0; b < 16; b++) {
		if (r.fo.stats.latency_buckets[b] != want_buckets[b])
			fprintf(stderr, "latency bucket %d: %llu, want %llu\n", b,
				(unsigned long long)r.fo.stats.latency_buckets[b], (unsigned long long)want_buckets[b]);
		CHECK(r.fo.stats.latency_buckets[b] == want_buckets[b]);
	}
	CHECK(want_count == N - 1);
	CHECK(r.fo.stats.outq_bytes == 0);
	CHECK(fanout_latency_bounds_us[0] == 100 && fanout_latency_bounds_us[14] == 5000000);
	fanout_peer_remove(&r.fo, &a.peer);
	fanout_fini(&r.fo);
}

/* Removing a dirty peer mid-burst: off the dirty list (never flushed), out of every channel. */
static void test_remove_dirty(void)
{
	struct rig r;
	struct fake_session s[4];

	CHECK(rig_init(&r, 1 << 20));
	for (int i = 0; i < 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "p%d", i);
		sess_init(&s[i], name);
		fanout_peer_add(&r.fo, &s[i].peer);
		CHECK(fanout_join(&r.fo, &s[i].peer, TOPIC_ROOM, "all", NULL) == 0);
	}
	CHECK(fanout_join(&r.fo, &s[1].peer, TOPIC_ROOM, "own1", NULL) == 0);
	CHECK(fanout_join(&r.fo, &s[1].peer, TOPIC_DIRECT, "p1", NULL) == 0);
	CHECK(fanout_join(&r.fo, &s[3].peer, TOPIC_ROOM, "own3", NULL) == 0);

	deliver_str(&r, TOPIC_ROOM, "all", "{\"m\":1}");
	deliver_str(&r, TOPIC_ROOM, "own1", "{\"m\":2}");
	for (int i = 0; i < 4; i++)
		CHECK(s[i].peer.dirty);
	CHECK(r.fo.stats.outq_bytes > 0);

	/* one from the middle of the dirty list, then the head and the tail */
	int empty = r.h.empty;

	fanout_peer_remove(&r.fo, &s[1].peer);
	CHECK(r.h.empty == empty + 2);	/* own1 and its direct channel */
	CHECK(fanout_channel(&r.fo, TOPIC_ROOM, "own1") == NULL);
	CHECK(fanout_channel(&r.fo, TOPIC_DIRECT, "p1") == NULL);
	CHECK(s[1].peer.ml.count == 0 && s[1].peer.outq.count == 0 && !s[1].peer.dirty);
	CHECK(!peer_listed(&r.fo, &s[1].peer));
	{
		struct channel *ch = fanout_channel(&r.fo, TOPIC_ROOM, "all");

		CHECK(ch && ch->n_members == 3);
	}
	CHECK(gauge_consistent(&r.fo));
	/* the dirty list is LIFO over the channel's member list (newest member first): s[0] is its
	 * head, s[3] its tail */
	CHECK(r.fo.dirty == &s[0].peer);
	fanout_peer_remove(&r.fo, &s[3].peer);
	CHECK(r.h.empty == empty + 3);	/* own3 */
	fanout_peer_remove(&r.fo, &s[0].peer);
	CHECK(r.h.empty == empty + 3);
	CHECK(r.fo.dirty == &s[2].peer && s[2].peer.dirty_next == NULL);
	CHECK(gauge_consistent(&r.fo));

	fanout_on_batch_done(&r.fo);
	CHECK(s[0].flushes == 0 && s[1].flushes == 0 && s[3].flushes == 0);
	CHECK(s[2].flushes == 1);
	CHECK(bad_ops == 0);

	fanout_peer_remove(&r.fo, &s[2].peer);
	CHECK(r.h.empty == empty + 4);	/* "all" */
	CHECK(channels_count(r.fo.channels) == 0);
	CHECK(r.fo.stats.outq_bytes == 0);
	CHECK(r.fo.peers == NULL);
	fanout_fini(&r.fo);
}

/* The slow-reader policy: above the soft bound a peer may stay for the timeout (a burst draining
 * while the client reads), never above the hard bound; draining below the soft bound resets it. */
static void test_slow_policy(void)
{
	struct rig r;
	struct fake_session reader, stalled, hog;
	char text[61];
	struct frame *f;
	size_t wire;

	memset(text, 'x', 60);
	text[60] = '\0';
	f = frame_from_text(text, 60);
	CHECK(f != NULL);
	if (!f)
		return;
	wire = frame_wire_len(f);
	/* soft: 2 frames, hard: 10 frames, 50 ms to drain */
	CHECK(rig_init_policy(&r, 2 * wire, 10 * wire, 50000));
	sess_init(&reader, "reader");
	sess_init(&stalled, "stalled");
	sess_init(&hog, "hog");
	fanout_peer_add(&r.fo, &reader.peer);
	fanout_peer_add(&r.fo, &stalled.peer);
	fanout_peer_add(&r.fo, &hog.peer);

	/* a burst of 8 frames (4x the soft bound) to all three: nobody is closed yet */
	for (int i = 0; i < 8; i++) {
		CHECK(fanout_send(&r.fo, &reader.peer, f) == 0);
		CHECK(fanout_send(&r.fo, &stalled.peer, f) == 0);
		CHECK(fanout_send(&r.fo, &hog.peer, f) == 0);
	}
	CHECK(reader.closes == 0 && stalled.closes == 0 && hog.closes == 0);
	CHECK(reader.peer.over_since_us != 0 && stalled.peer.over_since_us != 0);
	/* the reader drains below the soft bound: its clock stops */
	write_all(&r.fo, &reader.peer);
	CHECK(reader.peer.over_since_us == 0);
	/* past the hard bound: closed at once, whatever the time */
	CHECK(fanout_send(&r.fo, &hog.peer, f) == 0 && fanout_send(&r.fo, &hog.peer, f) == 0);	/* 10 */
	CHECK(fanout_send(&r.fo, &hog.peer, f) == -ENOBUFS);
	CHECK(hog.closes == 1 && hog.close_code == 4002);
	/* the timeout runs out: the stalled one is closed at its next frame, the reader is not */
	usleep(60000);
	CHECK(fanout_send(&r.fo, &reader.peer, f) == 0);
	CHECK(fanout_send(&r.fo, &stalled.peer, f) == -ENOBUFS);
	CHECK(stalled.closes == 1 && stalled.close_code == 4002);
	CHECK(reader.closes == 0 && !reader.peer.closing);
	CHECK(r.fo.stats.closed_slow == 2 && r.fo.stats.drop_slow_consumer == 2);
	/* a reader that goes above again gets a fresh timeout */
	for (int i = 0; i < 3; i++)
		CHECK(fanout_send(&r.fo, &reader.peer, f) == 0);
	CHECK(reader.peer.over_since_us != 0 && reader.closes == 0);
	CHECK(gauge_consistent(&r.fo));
	fanout_peer_remove(&r.fo, &reader.peer);
	fanout_peer_remove(&r.fo, &stalled.peer);
	fanout_peer_remove(&r.fo, &hog.peer);
	CHECK(r.fo.stats.outq_bytes == 0);
	fanout_fini(&r.fo);
	frame_unref(f);
}

int main(void)
{
	log_threshold = LOG_WARN;	/* slow consumers are logged at info */
	siphash_seed_random();
	test_peers_and_membership();
	test_room_message();
	test_delivery_text();
	test_drops();
	test_wake_and_flush();
	test_slow_consumer();
	test_slow_policy();
	test_send_error();
	test_written();
	test_remove_dirty();
	frame_pool_drain();
	return CHECK_DONE();
}
