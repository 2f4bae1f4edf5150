/*
 * hub.c - what the edge does: client ops -> channels and broker publishes; broker messages ->
 * one frame -> every local member. Owns: the server state's registries (channels, dedup, ids)
 * and pending acks. Must not: touch sockets or libwebsockets (sessions are reached through
 * session_send/session_close), nor libmosquitto (only bridge.h).
 *
 * Path of a room message: hub_handle_frame (pub) -> envelope -> bridge_publish -> broker ->
 * hub_on_message on every edge with members -> frame_build_delivery once -> session_send per
 * member (a reference, not a copy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edge.h"
#include "mqedge/bridge.h"
#include "mqedge/frame.h"
#include "mqedge/log.h"
#include "mqedge/siphash.h"
#include "notify.h"

int64_t hub_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hub_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int base36(char *out, size_t outlen, uint64_t v)
{
	char tmp[16];
	int n = 0, i;

	do {
		tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
		v /= 36;
	} while (v && n < (int)sizeof(tmp));
	if ((size_t)n >= outlen)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

/* "{edge}.{boot}.{seq}": unique across edges (ids differ) and restarts (boot differs). */
void hub_next_message_id(struct edge *e, char out[ENVELOPE_ID_MAX + 1])
{
	memcpy(out, e->id_prefix, e->id_prefix_len);
	base36(out + e->id_prefix_len, ENVELOPE_ID_MAX + 1 - e->id_prefix_len, e->next_msg_seq++);
}

/* ---- channel hooks: first member subscribes, last member unsubscribes ---- */

static int on_channel_first(void *ctx, struct channel *ch)
{
	struct edge *e = ctx;

	ch->sub = e->bridge ? bridge_subscribe(e->bridge, ch->topic, ch) : NULL;
	return ch->sub ? 0 : -1;
}

static void on_channel_empty(void *ctx, struct channel *ch)
{
	struct edge *e = ctx;

	if (ch->sub && e->bridge)	/* without a bridge (exit), the bridge freed its subs itself */
		bridge_unsubscribe(e->bridge, ch->sub);
	ch->sub = NULL;
}

int hub_init(struct edge *e, struct edge_config *cfg, char *err, size_t errlen)
{
	static const struct channels_hooks hooks = { on_channel_first, on_channel_empty };
	int n;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	if (siphash_seed_random()) {
		snprintf(err, errlen, "getrandom failed");
		return -1;
	}
	base36(e->boot36, sizeof(e->boot36), (uint64_t)hub_now_ms());
	n = snprintf(e->id_prefix, sizeof(e->id_prefix), "%s.%s.", cfg->edge_id, e->boot36);
	if (n < 0 || (size_t)n >= sizeof(e->id_prefix) || n + 14 > ENVELOPE_ID_MAX) {
		snprintf(err, errlen, "edge id too long for message ids");
		return -1;
	}
	e->id_prefix_len = (size_t)n;
	e->channels = channels_create(&hooks, e);
	if (!e->channels || dedup_init(&e->dedup, (uint32_t)cfg->dedup_window)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	e->auth = auth_create(cfg, err, errlen);
	return e->auth ? 0 : -1;
}

void hub_attach_bridge(struct edge *e, struct bridge *b)
{
	e->bridge = b;
}

void hub_fini(struct edge *e)
{
	channels_destroy(e->channels);
	dedup_free(&e->dedup);
	auth_destroy(e->auth);
	e->channels = NULL;
	e->auth = NULL;
}

/* ---- replies ---- */

void hub_send_error(struct session *s, const char *ref, const char *code, const char *message)
{
	char buf[PROTOCOL_REPLY_MAX];
	int n = protocol_write_error(buf, ref, code, message);

	s->edge->stats.errors_sent++;
	session_send_text(s, buf, (size_t)n);
}

static void send_ok(struct session *s, const char *ref)
{
	char buf[PROTOCOL_REPLY_MAX];

	session_send_text(s, buf, (size_t)protocol_write_ok(buf, ref));
}

/* ---- channels of a session ---- */

/* Joins the channel for (kind, id). Returns 0 joined, 1 already a member, -1 failure. */
static int join(struct edge *e, struct session *s, enum topic_kind kind, const char *id, struct member **m)
{
	char topic[TOPICS_TOPIC_MAX];
	const char *idp;
	size_t idlen;
	int len = topics_build(topic, sizeof(topic), e->cfg->topic_prefix, kind, id);

	if (len < 0 || topics_parse(e->cfg->topic_prefix, topic, (size_t)len, &idp, &idlen) != kind)
		return -1;
	return channels_join(e->channels, &s->ml, s, kind, topic, (size_t)len, (size_t)(idp - topic),
			     idlen, m);
}

static enum topic_kind own_channel_kind(const struct session *s)
{
	return s->ident.kind == IDENTITY_DEVICE ? TOPIC_CMD : TOPIC_DIRECT;
}

uint32_t hub_user_connections(struct edge *e, const struct identity *id)
{
	char topic[TOPICS_TOPIC_MAX];
	enum topic_kind kind = id->kind == IDENTITY_DEVICE ? TOPIC_CMD : TOPIC_DIRECT;
	int len = topics_build(topic, sizeof(topic), e->cfg->topic_prefix, kind, id->id);
	struct channel *ch = len < 0 ? NULL : channels_find(e->channels, topic, (size_t)len);

	return ch ? ch->n_members : 0;
}

int hub_session_open(struct edge *e, struct session *s)
{
	char buf[PROTOCOL_REPLY_MAX];
	struct welcome w;
	int64_t now = hub_now_ms();

	snprintf(s->id, sizeof(s->id), "%s-", e->boot36);
	base36(s->id + strlen(s->id), sizeof(s->id) - strlen(s->id), e->next_session_seq++);
	s->edge = e;
	ratelimit_init(&s->rate, e->cfg->burst, now);
	ratelimit_init(&s->strikes, e->cfg->rate_strikes, now);
	/* anonymous identities are named after the session, so they are completed here */
	if (!s->ident.perms && auth_anonymous(e->auth, s->id, &s->ident))
		return -1;
	/* an anonymous id lives as long as its session: nobody can address it, so no broker
	 * subscription is spent on it */
	if (!s->ident.anonymous && join(e, s, own_channel_kind(s), s->ident.id, NULL) < 0) {
		log_error("session_join_failed", "sess=%s user=%s", s->id, s->ident.id);
		return -1;
	}
	s->next = e->sessions;
	if (e->sessions)
		e->sessions->prev = s;
	e->sessions = s;
	e->stats.connections_opened++;
	if (s->ident.kind == IDENTITY_DEVICE)
		e->stats.sessions_device++;
	else
		e->stats.sessions_user++;

	w.session = s->id;
	w.user = s->ident.id;
	w.kind = s->ident.kind == IDENTITY_DEVICE ? "device" : "user";
	w.edge = e->cfg->edge_id;
	w.ts = now;
	w.exp = s->ident.exp;
	w.max_frame = e->cfg->max_frame;
	w.max_rooms = e->cfg->max_rooms;
	w.rate = e->cfg->rate;
	w.burst = e->cfg->burst;
	w.unread = -1;
	if (!s->ident.anonymous && s->ident.kind == IDENTITY_USER && e->notify) {
		notify_user_seen(e->notify, s->ident.id);
		w.unread = notify_unread(e->notify, s->ident.id);
	}
	session_send_text(s, buf, (size_t)protocol_write_welcome(buf, &w));
	/* the unread backlog goes out before anything live: this loop turn sends nothing else */
	if (w.unread > 0)
		notify_push_backlog(e->notify, s);
	log_debug("session_open", "sess=%s user=%s kind=%s", s->id, s->ident.id, w.kind);
	return 0;
}

void hub_session_closed(struct edge *e, struct session *s)
{
	if (!s->edge)
		return;	/* never opened */
	channels_leave_all(e->channels, &s->ml);
	while (s->acks) {
		struct pending_ack *a = s->acks;

		s->acks = a->next;
		a->session = NULL;	/* freed when the broker answers */
		a->prev = a->next = NULL;
	}
	if (s->prev)
		s->prev->next = s->next;
	else if (e->sessions == s)
		e->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->ident.kind == IDENTITY_DEVICE)
		e->stats.sessions_device--;
	else
		e->stats.sessions_user--;
	log_debug("session_closed", "sess=%s user=%s", s->id, s->ident.id);
	identity_release(&s->ident);
	s->edge = NULL;
}

/* ---- ops ---- */

static void op_sub(struct edge *e, struct session *s, const struct client_op *op)
{
	enum topic_kind kind = op->target == TARGET_DEVICE ? TOPIC_TELEMETRY : TOPIC_ROOM;
	enum perm perm = op->target == TARGET_DEVICE ? PERM_DEVICES : PERM_ROOMS;
	struct member *m = NULL;
	int rc;

	if (!perms_allow(s->ident.perms, perm, op->id)) {
		hub_send_error(s, op->ref, "forbidden", op->target == TARGET_DEVICE ?
			       "your token does not allow this device" : "your token does not allow this room");
		return;
	}
	if (s->n_subs >= (uint32_t)e->cfg->max_rooms) {
		char topic[TOPICS_TOPIC_MAX];
		int len = topics_build(topic, sizeof(topic), e->cfg->topic_prefix, kind, op->id);

		if (len < 0 || !channels_membership(&s->ml, topic, (size_t)len)) {
			hub_send_error(s, op->ref, "too_many_rooms", "subscription limit reached");
			return;
		}
	}
	rc = join(e, s, kind, op->id, &m);
	if (rc < 0) {
		hub_send_error(s, op->ref, "internal", "could not subscribe");
		return;
	}
	if (rc == 0)
		s->n_subs++;
	/* ok means "you will get what is published from now on": wait for the broker's SUBACK */
	if (rc == 0 && !bridge_sub_active(m->channel->sub)) {
		m->pending_ok = strdup(op->ref);
		if (m->pending_ok)
			return;
	}
	send_ok(s, op->ref);
}

static void op_unsub(struct edge *e, struct session *s, const struct client_op *op)
{
	enum topic_kind kind = op->target == TARGET_DEVICE ? TOPIC_TELEMETRY : TOPIC_ROOM;
	char topic[TOPICS_TOPIC_MAX];
	int len = topics_build(topic, sizeof(topic), e->cfg->topic_prefix, kind, op->id);
	struct member *m = len < 0 ? NULL : channels_membership(&s->ml, topic, (size_t)len);

	if (m) {
		if (m->pending_ok)	/* the sub still owed its ok: answer it before this one */
			send_ok(s, m->pending_ok);
		channels_leave(e->channels, &s->ml, topic, (size_t)len);
		s->n_subs--;
	}
	send_ok(s, op->ref);
}

/* Wraps data in an envelope and publishes it; the ok (or error) follows the broker's PUBACK. */
static void publish(struct edge *e, struct session *s, const struct client_op *op,
		    enum topic_kind kind, const char *target)
{
	char topic[TOPICS_TOPIC_MAX];
	struct pending_ack *ack;
	size_t cap;
	char *buf = NULL;
	int len, n, rc;

	len = topics_build(topic, sizeof(topic), e->cfg->topic_prefix, kind, target);
	ack = calloc(1, sizeof(*ack));
	cap = envelope_build_size(ENVELOPE_ID_MAX, TOPICS_ID_MAX, op->data_len);
	buf = malloc(cap);
	if (len < 0 || !ack || !buf)
		goto internal;
	hub_next_message_id(e, ack->id);
	ack->ts = hub_now_ms();
	snprintf(ack->ref, sizeof(ack->ref), "%s", op->ref);
	n = envelope_build(buf, cap, ack->id, ack->ts, s->ident.id, op->data, op->data_len);
	if (n < 0)
		goto internal;
	rc = bridge_publish(e->bridge, topic, buf, (size_t)n, false, ack);
	free(buf);
	buf = NULL;
	if (rc == BRIDGE_EFULL) {
		free(ack);
		hub_send_error(s, op->ref, "unavailable", "broker unavailable and the outgoing queue is full");
		return;
	}
	if (rc != BRIDGE_OK)
		goto internal;
	ack->session = s;
	ack->next = s->acks;
	if (s->acks)
		s->acks->prev = ack;
	s->acks = ack;
	return;
internal:
	free(buf);
	free(ack);
	log_error("publish_failed", "sess=%s topic=%s", s->id, topic);
	hub_send_error(s, op->ref, "internal", "could not publish");
}

static void op_refresh(struct edge *e, struct session *s, const struct client_op *op)
{
	char token[8200];
	struct identity fresh;
	enum auth_result r;
	char buf[PROTOCOL_REPLY_MAX];

	if (op->token_len >= sizeof(token)) {
		hub_send_error(s, op->ref, "token_invalid", "token too long");
		return;
	}
	memcpy(token, op->token, op->token_len);
	token[op->token_len] = '\0';
	r = auth_verify(e->auth, token, hub_now_ms() / 1000, &fresh);
	if (r != AUTH_OK) {
		e->stats.auth_failures++;
		hub_send_error(s, op->ref, auth_result_code(r), "token rejected; the current one still applies");
		return;
	}
	if (strcmp(fresh.id, s->ident.id) || fresh.kind != s->ident.kind) {
		identity_release(&fresh);
		hub_send_error(s, op->ref, "token_invalid", "the new token is for another identity");
		return;
	}
	identity_release(&s->ident);
	s->ident = fresh;
	session_arm_expiry(s);
	session_send_text(s, buf, (size_t)protocol_write_ok_exp(buf, op->ref, s->ident.exp));
}

void hub_handle_frame(struct edge *e, struct session *s, const char *text, size_t len)
{
	struct client_op op;
	struct proto_error perr;
	int64_t now = hub_now_ms();
	char buf[PROTOCOL_REPLY_MAX];
	int parsed;

	e->stats.frames_in++;
	parsed = protocol_parse(text, len, &op, &perr);
	if (!ratelimit_take(&s->rate, e->cfg->rate, e->cfg->burst, now)) {
		e->stats.rate_limited++;
		if (!ratelimit_take(&s->strikes, 1, e->cfg->rate_strikes, now)) {
			e->stats.closed_flood++;
			log_info("session_flood", "sess=%s user=%s", s->id, s->ident.id);
			session_close(s, 1008, "rate limit exceeded");
			return;
		}
		hub_send_error(s, op.ref, "rate_limited", "too many frames; slow down");
		return;
	}
	if (parsed) {
		hub_send_error(s, op.ref, perr.code, perr.message);
		return;
	}
	if (s->ident.kind == IDENTITY_DEVICE) {
		switch (op.type) {
		case OP_TELEMETRY:
			publish(e, s, &op, TOPIC_TELEMETRY, s->ident.id);
			return;
		case OP_PING:
		case OP_REFRESH:
			break;
		default:
			hub_send_error(s, op.ref, "unknown_op", "not an op for device connections");
			return;
		}
	}
	switch (op.type) {
	case OP_SUB:
		op_sub(e, s, &op);
		break;
	case OP_UNSUB:
		op_unsub(e, s, &op);
		break;
	case OP_PUB:
		if (!perms_allow(s->ident.perms, PERM_PUB, op.id))
			hub_send_error(s, op.ref, "forbidden", "your token does not allow publishing to this room");
		else
			publish(e, s, &op, TOPIC_ROOM, op.id);
		break;
	case OP_SEND:
		if (!perms_allow(s->ident.perms, PERM_DM, op.id))
			hub_send_error(s, op.ref, "forbidden", "your token does not allow messaging this user");
		else
			publish(e, s, &op, TOPIC_DIRECT, op.id);
		break;
	case OP_CMD:
		if (!perms_allow(s->ident.perms, PERM_CMD, op.id))
			hub_send_error(s, op.ref, "forbidden", "your token does not allow commanding this device");
		else
			publish(e, s, &op, TOPIC_CMD, op.id);
		break;
	case OP_PING:
		session_send_text(s, buf, (size_t)protocol_write_pong(buf, op.ref, now));
		break;
	case OP_REFRESH:
		op_refresh(e, s, &op);
		break;
	case OP_TELEMETRY:
		hub_send_error(s, op.ref, "unknown_op", "telemetry is for device connections");
		break;
	case OP_INBOX:
	case OP_READ:
	case OP_SETTINGS:
		if (e->notify)
			notify_op(e->notify, s, &op);
		else
			hub_send_error(s, op.ref, "unavailable", "this edge has no inbox");
		break;
	}
}

/* ---- broker side ---- */

void hub_on_message(void *ctx, const char *topic, size_t topic_len, const void *payload, size_t len)
{
	static const struct {
		const char *op, *key;
	} shape[] = {
		[TOPIC_ROOM] = { "msg", "room" },
		[TOPIC_DIRECT] = { "msg", "to" },
		[TOPIC_TELEMETRY] = { "telemetry", "device" },
		[TOPIC_CMD] = { "cmd", "device" },
	};
	struct edge *e = ctx;
	int64_t now_us = hub_now_us();
	char id[ENVELOPE_ID_MAX + 1];

	/* frames for members collect until the burst ends: then one write per socket */
	e->in_burst = true;
	struct envelope env;
	enum payload_kind pk;
	struct delivery d;
	struct channel *ch;
	struct frame *f;
	const char *idp;
	size_t idlen;
	enum topic_kind kind = topics_parse(e->cfg->topic_prefix, topic, topic_len, &idp, &idlen);

	if (kind == TOPIC_NONE || kind == TOPIC_STATUS) {
		e->stats.drop_bad_topic++;
		return;
	}
	ch = channels_find(e->channels, topic, topic_len);
	if (!ch) {
		e->stats.drop_no_channel++;	/* the last member left while it was in flight */
		return;
	}
	pk = envelope_parse(payload, len, &env);
	if (pk == PAYLOAD_ENVELOPE) {
		if (dedup_check_and_add(&e->dedup, dedup_key(topic, topic_len, env.id, env.id_len))) {
			e->stats.drop_duplicate++;
			return;
		}
	} else {
		hub_next_message_id(e, id);
		env.id = id;
		env.id_len = strlen(id);
	}
	e->stats.messages_in++;
	d.op = shape[kind].op;
	d.key = shape[kind].key;
	d.target = idp;
	d.target_len = idlen;
	d.id = env.id;
	d.id_len = env.id_len;
	d.ts = env.ts >= 0 ? env.ts : now_us / 1000;
	d.from = env.from;
	d.from_len = env.from_len;
	d.kind = pk;
	d.enc = env.enc;
	d.data = env.data;
	d.data_len = env.data_len;
	f = frame_build_delivery(&d);
	if (!f) {
		e->stats.drop_nomem += ch->n_members;
		log_error("frame_alloc_failed", "topic=%.*s", (int)topic_len, topic);
		return;
	}
	f->born_us = now_us;
	/* one frame, one reference per member: nothing is serialised or copied per member */
	for (struct member *m = ch->members, *next; m; m = next) {
		next = m->ch_next;	/* session_send may close the session, never unlink it now */
		session_send(m->session, f);
	}
	frame_unref(f);
}

/* The broker burst is over: every session that got frames writes them now, one write each,
 * without waiting for another trip through poll(). */
void hub_on_batch_done(void *ctx)
{
	struct edge *e = ctx;

	e->in_burst = false;
	while (e->dirty) {
		struct session *s = e->dirty;

		e->dirty = s->dirty_next;
		s->dirty = false;
		s->dirty_next = NULL;
		session_flush(s);
	}
}

void hub_on_state(void *ctx, bool up)
{
	struct edge *e = ctx;

	log_info("broker_state", "up=%d sessions=%llu", up,
		 (unsigned long long)(e->stats.sessions_user + e->stats.sessions_device));
}

void hub_on_published(void *ctx, void *cookie, int status)
{
	struct pending_ack *a = cookie;
	struct session *s = a->session;
	char buf[PROTOCOL_REPLY_MAX];

	(void)ctx;
	if (s) {
		if (a->prev)
			a->prev->next = a->next;
		else
			s->acks = a->next;
		if (a->next)
			a->next->prev = a->prev;
		if (status == 0)
			session_send_text(s, buf, (size_t)protocol_write_ok_msg(buf, a->ref, a->id, a->ts));
		else
			hub_send_error(s, a->ref, "unavailable", "the broker did not take the message");
	}
	free(a);
}

void hub_on_subscribed(void *ctx, void *user)
{
	struct channel *ch = user;

	(void)ctx;
	for (struct member *m = ch->members; m; m = m->ch_next) {
		if (!m->pending_ok)
			continue;
		send_ok(m->session, m->pending_ok);
		free(m->pending_ok);
		m->pending_ok = NULL;
	}
}

void hub_note_latency(struct edge *e, int64_t born_us, int64_t now_us)
{
	static const int64_t bounds_us[15] = {
		100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
		1000000, 2500000, 5000000,
	};
	int64_t d = now_us - born_us;
	unsigned i = 0;

	if (d < 0)
		d = 0;
	while (i < 15 && d > bounds_us[i])
		i++;
	e->stats.latency_buckets[i]++;
	e->stats.latency_count++;
	e->stats.latency_sum_us += (uint64_t)d;
}
