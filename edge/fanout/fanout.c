/*
 * fanout.c - delivery to local peers (fanout.h). Owns: the peer list, the burst's dirty list,
 * out-queue accounting, dedup of broker messages, delivery stats. Must not: touch sockets or
 * libwebsockets (peers are reached through peer_ops), the broker (channel hooks do that), or
 * interpret client ops.
 *
 * Path of a room message from the broker: fanout_on_message -> topics_parse -> channels_find ->
 * envelope_parse (no copy) -> dedup -> frame_build_delivery once -> fanout_send per member (a
 * reference, not a copy) -> fanout_on_batch_done -> peer_ops.flush: one write per socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/fanout/dedup.h"
#include "mqedge/base/clock.h"
#include "mqedge/base/list.h"
#include "mqedge/base/log.h"
#include "mqedge/fanout/fanout.h"
#include "mqedge/wire/edge_frame.h"

const int64_t fanout_latency_bounds_us[15] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000,
};

int fanout_init(struct fanout *fo, const struct fanout_options *opt, const struct peer_ops *ops,
		const struct channels_hooks *ch_hooks, void *ctx)
{
	memset(fo, 0, sizeof(*fo));
	fo->opt = *opt;
	fo->ops = ops;
	fo->channels = channels_create(ch_hooks, ctx);
	fo->dedup = calloc(1, sizeof(*fo->dedup));
	if (!fo->channels || !fo->dedup || dedup_init(fo->dedup, opt->dedup_window) ||
	    deflater_init(&fo->deflate, opt->deflate_min_bytes)) {
		fanout_fini(fo);
		return -ENOMEM;
	}
	return 0;
}

void fanout_fini(struct fanout *fo)
{
	channels_destroy(fo->channels);
	fo->channels = NULL;
	if (fo->dedup)
		dedup_free(fo->dedup);
	free(fo->dedup);
	fo->dedup = NULL;
	deflater_fini(&fo->deflate);
}

void fanout_peer_add(struct fanout *fo, struct peer *p)
{
	DLIST_PUSH(fo->peers, p, prev, next);
}

void fanout_peer_remove(struct fanout *fo, struct peer *p)
{
	channels_leave_all(fo->channels, &p->ml);
	fanout_drop_queue(fo, p);
	if (p->dirty) {
		for (struct peer **pp = &fo->dirty; *pp; pp = &(*pp)->dirty_next) {
			if (*pp == p) {
				*pp = p->dirty_next;
				break;
			}
		}
		p->dirty = false;
	}
	DLIST_UNLINK(fo->peers, p, prev, next);
}

/* ---- channels ---- */

static int topic_of(const struct fanout *fo, enum topic_kind kind, const char *id, char topic[TOPICS_TOPIC_MAX])
{
	return topics_build(topic, TOPICS_TOPIC_MAX, fo->opt.topic_prefix, kind, id);
}

struct channel *fanout_channel(struct fanout *fo, enum topic_kind kind, const char *id)
{
	char topic[TOPICS_TOPIC_MAX];
	int len = topic_of(fo, kind, id, topic);

	return len < 0 ? NULL : channels_find(fo->channels, topic, (size_t)len);
}

int fanout_join(struct fanout *fo, struct peer *p, enum topic_kind kind, const char *id, struct member **out)
{
	char topic[TOPICS_TOPIC_MAX];
	const char *idp;
	size_t idlen;
	int len = topic_of(fo, kind, id, topic);

	if (len < 0 || topics_parse(fo->opt.topic_prefix, topic, (size_t)len, &idp, &idlen) != kind)
		return -EINVAL;
	return channels_join(fo->channels, &p->ml, p, kind, topic, (size_t)len, (size_t)(idp - topic), idlen, out);
}

struct member *fanout_membership(struct fanout *fo, struct peer *p, enum topic_kind kind, const char *id)
{
	char topic[TOPICS_TOPIC_MAX];
	int len = topic_of(fo, kind, id, topic);

	return len < 0 ? NULL : channels_membership(&p->ml, topic, (size_t)len);
}

int fanout_leave(struct fanout *fo, struct peer *p, enum topic_kind kind, const char *id)
{
	char topic[TOPICS_TOPIC_MAX];
	int len = topic_of(fo, kind, id, topic);

	return len < 0 ? 1 : channels_leave(fo->channels, &p->ml, topic, (size_t)len);
}

/* ---- sending ---- */

void fanout_drop_queue(struct fanout *fo, struct peer *p)
{
	fo->stats.outq_bytes -= p->outq.bytes;
	outq_clear(&p->outq);
	p->over_since_us = 0;
}

void fanout_close(struct fanout *fo, struct peer *p, uint16_t code, const char *reason)
{
	if (p->closing)
		return;
	p->closing = true;
	/* what is queued still goes out before the close frame (the client learns why), except for
	 * a slow consumer, whose queue is the problem */
	if (code == 4002)
		fanout_drop_queue(fo, p);
	fo->ops->close(p, code, reason);
}

/* The queue of p is above the soft bound: true once it has been for longer than the timeout. */
static bool over_too_long(struct fanout *fo, struct peer *p)
{
	int64_t now = clock_now_us();

	if (!p->over_since_us) {
		p->over_since_us = now;
		return false;
	}
	return now - p->over_since_us > fo->opt.slow_timeout_us;
}

static int cut_off(struct fanout *fo, struct peer *p, const char *why)
{
	fo->stats.drop_slow_consumer++;
	fo->stats.closed_slow++;
	log_info("session_slow_consumer", "sess=%s user=%s queued_bytes=%zu reason=%s", p->id, p->name, p->outq.bytes, why);
	fanout_close(fo, p, 4002, "slow consumer");
	return -ENOBUFS;
}

int fanout_send(struct fanout *fo, struct peer *p, struct frame *f)
{
	int rc;

	if (p->closing)
		return 0;	/* nothing new after the close is decided */
	if (p->deflate) {
		struct frame *z = deflater_twin(&fo->deflate, f);	/* compressed once per message */

		if (z)
			f = z;
	}
	rc = outq_push(&p->outq, f, fo->opt.outq_hard_bytes);
	if (rc == -ENOBUFS)
		return cut_off(fo, p, "hard_limit");
	if (rc < 0) {
		fo->stats.drop_nomem++;
		fanout_close(fo, p, 1011, "out of memory");
		return rc;
	}
	fo->stats.deliveries++;
	fo->stats.outq_bytes += frame_wire_len(f);
	if (p->outq.bytes > fo->opt.outq_max_bytes && over_too_long(fo, p))
		return cut_off(fo, p, "soft_limit_timeout");
	if (p->outq.count > 1 || p->dirty)
		return 0;	/* a write is already on its way for a longer queue */
	if (fo->in_burst) {
		p->dirty = true;	/* flushed by fanout_on_batch_done when the burst ends */
		p->dirty_next = fo->dirty;
		fo->dirty = p;
	} else {
		fo->ops->wake(p);
	}
	return 0;
}

unsigned fanout_send_channel(struct fanout *fo, struct channel *ch, struct frame *f)
{
	unsigned sent = 0;

	/* one frame, one reference per member: nothing is serialised or copied per member */
	for (struct member *m = ch ? ch->members : NULL, *next; m; m = next) {
		struct peer *p = m->session;

		next = m->ch_next;	/* sending may close the peer, never unlink it now */
		if (!p->closing && !m->parked && fanout_send(fo, p, f) == 0)
			sent++;
	}
	return sent;
}

void fanout_send_text(struct fanout *fo, struct peer *p, const char *text, size_t len)
{
	struct frame *f = frame_from_text(text, len);

	if (!f) {
		fo->stats.drop_nomem++;
		fanout_close(fo, p, 1011, "out of memory");
		return;
	}
	fanout_send(fo, p, f);
	frame_unref(f);
}

void fanout_send_error(struct fanout *fo, struct peer *p, const char *ref, const char *code, const char *message)
{
	char buf[EDGE_FRAME_MAX];
	int n = edge_frame_error(buf, ref, code, message);

	fo->stats.errors_sent++;
	fanout_send_text(fo, p, buf, (size_t)n);
}

void fanout_written(struct fanout *fo, struct peer *p, uint32_t n, size_t bytes, int64_t now_us)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct frame *f = outq_at(&p->outq, i);
		int64_t d = now_us - f->born_us;
		unsigned b = 0;

		if (!f->born_us)
			continue;	/* a control frame: not a delivery */
		if (d < 0)
			d = 0;
		while (b < 15 && d > fanout_latency_bounds_us[b])
			b++;
		fo->stats.latency_buckets[b]++;
		fo->stats.latency_count++;
		fo->stats.latency_sum_us += (uint64_t)d;
	}
	fo->stats.frames_out += n;
	fo->stats.bytes_out += bytes;
	fo->stats.writes++;
	fo->stats.outq_bytes -= bytes;
	outq_pop(&p->outq, n);
	if (p->outq.bytes <= fo->opt.outq_max_bytes)
		p->over_since_us = 0;	/* drained below the soft bound: the client keeps up */
}

/* ---- from the broker ---- */

/* One message of ch (envelope parsed, duplicates dropped) -> one frame -> every member, and into
 * the room's history window with its position. */
static void deliver(struct fanout *fo, struct channel *ch, struct envelope *env, enum payload_kind pk,
		    int64_t born_us)
{
	static const struct {
		const char *op, *key;
	} shape[] = {
		[TOPIC_ROOM] = { "msg", "room" },
		[TOPIC_DIRECT] = { "msg", "to" },
		[TOPIC_TELEMETRY] = { "telemetry", "device" },
		[TOPIC_CMD] = { "cmd", "device" },
	};
	struct window *w = ch->window;
	char id[IDGEN_ID_MAX + 1];
	struct delivery d;
	struct frame *f;

	if (pk != PAYLOAD_ENVELOPE) {
		idgen_message(fo->opt.ids, id);
		env->id = id;
		env->id_len = strlen(id);
	}
	fo->stats.messages_in++;
	d.op = shape[ch->kind].op;
	d.key = shape[ch->kind].key;
	d.target = ch->topic + ch->id_off;
	d.target_len = ch->id_len;
	d.id = env->id;
	d.id_len = env->id_len;
	d.ts = env->ts >= 0 ? env->ts : born_us / 1000;
	d.from = env->from;
	d.from_len = env->from_len;
	d.kind = pk;
	d.enc = env->enc;
	d.data = env->data;
	d.data_len = env->data_len;
	d.epoch = w ? w->epoch : NULL;
	d.offset = w ? window_next_offset(w) : 0;
	f = frame_build_delivery(&d);
	if (w) {
		/* the window keeps its own copy: a replay must not count in the latency histogram,
		 * which reads the frame's birth time when it is written */
		struct frame *kept = f ? frame_from_text((const char *)frame_payload(f), f->len) : NULL;

		window_push(w, kept, born_us / 1000);
		if (kept)
			frame_unref(kept);
	}
	if (!f) {
		fo->stats.drop_nomem += ch->n_members;
		log_error("frame_alloc_failed", "topic=%s", ch->topic);
		return;
	}
	f->born_us = born_us;
	fanout_send_channel(fo, ch, f);
	frame_unref(f);
}

void fanout_on_message(void *ctx, const char *topic, size_t topic_len, const void *payload, size_t len)
{
	struct fanout *fo = ctx;
	const char *idp;
	size_t idlen;
	enum topic_kind kind = topics_parse(fo->opt.topic_prefix, topic, topic_len, &idp, &idlen);

	fanout_on_channel_message(fo, kind, topic, topic_len, payload, len, false);
}

void fanout_on_channel_message(struct fanout *fo, enum topic_kind kind, const char *topic, size_t topic_len,
			       const void *payload, size_t len, bool retained)
{
	int64_t now_us = clock_now_us();
	struct envelope env;
	enum payload_kind pk;
	struct channel *ch;

	/* frames for members collect until the burst ends: then one write per socket */
	fo->in_burst = true;
	if (kind != TOPIC_ROOM && kind != TOPIC_DIRECT && kind != TOPIC_TELEMETRY && kind != TOPIC_CMD) {
		fo->stats.drop_bad_topic++;
		return;
	}
	ch = channels_find(fo->channels, topic, topic_len);
	if (!ch) {
		fo->stats.drop_no_channel++;	/* the last member left while it was in flight */
		return;
	}
	if (retained && ch->window) {
		/* a retained message comes again with every (re)subscription: a history room counts
		 * each message once, when it was published */
		fo->stats.drop_duplicate++;
		return;
	}
	pk = envelope_parse(payload, len, &env);
	if (pk == PAYLOAD_ENVELOPE &&
	    dedup_check_and_add(fo->dedup, dedup_key(topic, topic_len, env.id, env.id_len))) {
		fo->stats.drop_duplicate++;
		return;
	}
	if (ch->window && !ch->window->ready) {
		/* positions unknown yet: kept raw until edge/history makes the window ready */
		if (ch->window->deferred_bytes + len > WINDOW_DEFER_MAX_BYTES ||
		    window_defer(ch->window, payload, len, now_us)) {
			ch->window->gap = true;
			fo->stats.drop_nomem += ch->n_members;
		}
		return;
	}
	deliver(fo, ch, &env, pk, now_us);
}

void fanout_window_ready(struct fanout *fo, struct channel *ch, uint32_t skip)
{
	struct window *w = ch->window;
	struct window_deferred *d = window_take_deferred(w);

	w->ready = true;
	/* the skipped payloads are the adopted window's newest entries (the same messages, numbered
	 * by the edge that answered): members already live (a window refetched after the broker lost
	 * our session) get those, the others get nothing here (edge/history replays to them) */
	for (uint32_t i = skip < w->count ? w->count - skip : 0; i < w->count; i++) {
		struct frame *f = window_at(w, i)->frame;

		fanout_send_channel(fo, ch, f);
	}
	for (uint32_t i = 0; d; i++) {
		struct window_deferred *next = d->next;
		struct envelope env;

		if (i >= skip)
			deliver(fo, ch, &env, envelope_parse(d->payload, d->len, &env), d->born_us);
		free(d);
		d = next;
	}
}

void fanout_seen(struct fanout *fo, const struct channel *ch, const char *id, size_t id_len)
{
	dedup_check_and_add(fo->dedup, dedup_key(ch->topic, ch->topic_len, id, id_len));
}

void fanout_on_batch_done(void *ctx)
{
	struct fanout *fo = ctx;

	fo->in_burst = false;
	while (fo->dirty) {
		struct peer *p = fo->dirty;

		fo->dirty = p->dirty_next;
		p->dirty = false;
		p->dirty_next = NULL;
		if (!p->closing && p->outq.count)
			fo->ops->flush(p);
	}
}
