/*
 * dispatch.c - client ops -> channels and broker publishes; a session's start and end.
 * Owns: pending acks and the per-session op state (subscription count, rate limits).
 * Must not: touch sockets or libwebsockets (replies and closes go through fan-out), nor
 * libmosquitto (only bridge.h), nor SQLite (the inbox subsystem).
 *
 * Path of a client publish: dispatch_frame (pub) -> permission -> envelope -> bridge_publish
 * (QoS 1, a pending ack as cookie) -> broker -> dispatch_on_published -> {"op":"ok","id",..}.
 * The message itself comes back through fan-out, in broker order, like everyone's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "mqedge/base/clock.h"
#include "mqedge/base/err.h"
#include "mqedge/base/list.h"
#include "mqedge/base/log.h"
#include "mqedge/bridge/bridge.h"
#include "mqedge/wire/edge_frame.h"
#include "mqedge/wire/server_api.h"

/* ---- channel hooks: first member subscribes, last member unsubscribes ---- */

static int on_channel_first(void *ctx, struct channel *ch)
{
	struct edge *e = ctx;

	ch->sub = e->bridge ? bridge_subscribe(e->bridge, ch->topic, ch) : NULL;
	return ch->sub ? 0 : -ENOMEM;
}

static void on_channel_empty(void *ctx, struct channel *ch)
{
	struct edge *e = ctx;

	if (ch->sub && e->bridge)	/* without a bridge (exit), the bridge freed its subs itself */
		bridge_unsubscribe(e->bridge, ch->sub);
	ch->sub = NULL;
}

const struct channels_hooks dispatch_channel_hooks = { on_channel_first, on_channel_empty };

/* ---- replies ---- */

static void send_ok(struct edge *e, struct session *s, const char *ref)
{
	char buf[EDGE_FRAME_MAX];

	fanout_send_text(&e->fanout, &s->peer, buf, (size_t)edge_frame_ok(buf, ref));
}

static void send_error(struct edge *e, struct session *s, const char *ref, const char *code, const char *message)
{
	fanout_send_error(&e->fanout, &s->peer, ref, code, message);
}

/* The ok of a sub; a resume of a room without history hears that nothing was recovered. */
static void send_sub_ok(struct edge *e, struct session *s, struct member *m, const char *ref)
{
	char buf[EDGE_FRAME_MAX];

	if (!m->owes_no_history) {
		send_ok(e, s, ref);
		return;
	}
	m->owes_no_history = false;
	fanout_send_text(&e->fanout, &s->peer, buf, (size_t)edge_frame_ok_resume(buf, ref, false, "no_history", NULL, 0));
}

/* ---- a session's life ---- */

static enum topic_kind own_channel_kind(enum identity_kind kind)
{
	return kind == IDENTITY_DEVICE ? TOPIC_CMD : TOPIC_DIRECT;
}

uint32_t dispatch_user_connections(struct edge *e, const struct identity *id)
{
	struct channel *ch = fanout_channel(&e->fanout, own_channel_kind(id->kind), id->id);

	return ch ? ch->n_members : 0;
}

uint32_t dispatch_user_connections_by_id(struct edge *e, const char *user)
{
	struct channel *ch = fanout_channel(&e->fanout, TOPIC_DIRECT, user);
	uint32_t n = 0;

	for (struct member *m = ch ? ch->members : NULL; m; m = m->ch_next)
		n += !((struct peer *)m->session)->closing;
	return n;
}

uint32_t dispatch_disconnect(struct edge *e, const char *user, uint16_t code, const char *reason)
{
	struct channel *ch = fanout_channel(&e->fanout, TOPIC_DIRECT, user);
	uint32_t n = 0;

	/* closing unlinks nothing now (the session closes itself from WRITEABLE), so the list holds */
	for (struct member *m = ch ? ch->members : NULL; m; m = m->ch_next) {
		struct session *s = session_of_peer(m->session);

		if (s->peer.closing)
			continue;
		free(s->close_text);
		s->close_text = strdup(reason);
		log_info("session_disconnected", "sess=%s user=%s code=%u", s->id, user, code);
		fanout_close(&e->fanout, &s->peer, code, s->close_text ? s->close_text : "disconnected by the server");
		n++;
	}
	return n;
}

bool dispatch_token_revoked(struct edge *e, const struct identity *id)
{
	if (id->kind != IDENTITY_USER || id->anonymous || !revocations_refuse(&e->revocations, id->id, id->iat))
		return false;
	e->revocations.refused++;
	return true;
}

int dispatch_session_open(struct edge *e, struct session *s)
{
	const struct edge_config *cfg = e->cfg;
	char buf[EDGE_FRAME_MAX];
	struct welcome w;
	int64_t now = clock_now_ms();
	bool user;

	idgen_session(&e->ids, s->id);
	s->rpc.peer = &s->peer;
	s->rpc.session = s->id;
	ratelimit_init(&s->rate, cfg->burst, now);
	ratelimit_init(&s->strikes, cfg->rate_strikes, now);
	/* anonymous identities are named after the session, so they are completed here */
	if (!s->ident.perms && auth_anonymous(e->auth, s->id, &s->ident))
		return -ENOMEM;
	user = s->ident.kind == IDENTITY_USER;
	s->rpc.user = s->ident.id;
	s->rpc.kind = user ? "user" : "device";
	s->peer.id = s->id;
	s->peer.name = s->ident.id;
	s->peer.announcements = user && !s->ident.anonymous;
	/* an anonymous id lives as long as its session: nobody can address it, so no broker
	 * subscription is spent on it */
	if (!s->ident.anonymous && fanout_join(&e->fanout, &s->peer, own_channel_kind(s->ident.kind), s->ident.id, NULL) < 0) {
		log_error("session_join_failed", "sess=%s user=%s", s->id, s->ident.id);
		return -ENOMEM;
	}
	fanout_peer_add(&e->fanout, &s->peer);
	s->opened = true;
	e->stats.connections_opened++;
	if (user)
		e->stats.sessions_user++;
	else
		e->stats.sessions_device++;

	w.session = s->id;
	w.user = s->ident.id;
	w.kind = user ? "user" : "device";
	w.edge = cfg->edge_id;
	w.ts = now;
	w.exp = s->ident.exp;
	w.max_frame = cfg->max_frame;
	w.max_rooms = cfg->max_rooms;
	w.rate = cfg->rate;
	w.burst = cfg->burst;
	w.unread = -1;
	if (s->peer.announcements) {
		notify_user_seen(&e->notify, s->ident.id);
		w.unread = notify_unread(&e->notify, s->ident.id);
	}
	fanout_send_text(&e->fanout, &s->peer, buf, (size_t)edge_frame_welcome(buf, &w));
	/* the unread backlog goes out before anything live: this loop turn sends nothing else */
	if (w.unread > 0)
		notify_push_backlog(&e->notify, &s->peer, s->ident.id);
	return 0;
}

void dispatch_session_closed(struct edge *e, struct session *s)
{
	if (!s->opened) {
		identity_release(&s->ident);
		return;
	}
	for (struct member *m = s->peer.ml.head; m; m = m->s_next) {
		if (m->channel->kind == TOPIC_ROOM) {
			char room[TOPICS_ID_MAX + 1];

			memcpy(room, m->channel->topic + m->channel->id_off, m->channel->id_len);
			room[m->channel->id_len] = '\0';
			presence_leave(&e->presence, room, s->ident.id);
		}
	}
	fanout_peer_remove(&e->fanout, &s->peer);
	rpc_caller_gone(&e->rpc, &s->rpc);
	while (s->acks) {
		struct pending_ack *a = s->acks;

		DLIST_UNLINK(s->acks, a, prev, next);
		a->session = NULL;	/* freed when the broker answers */
	}
	if (s->ident.kind == IDENTITY_DEVICE)
		e->stats.sessions_device--;
	else
		e->stats.sessions_user--;
	identity_release(&s->ident);
	free(s->close_text);	/* the close frame and its log line are behind us */
	s->close_text = NULL;
	s->opened = false;
}

/* ---- ops ---- */

static void op_sub(struct edge *e, struct session *s, const struct client_op *op)
{
	enum topic_kind kind = op->target == TARGET_DEVICE ? TOPIC_TELEMETRY : TOPIC_ROOM;
	enum perm perm = op->target == TARGET_DEVICE ? PERM_DEVICES : PERM_ROOMS;
	struct member *m = NULL;
	int rc;

	if (!perms_allow(s->ident.perms, perm, op->id)) {
		send_error(e, s, op->ref, "forbidden", op->target == TARGET_DEVICE ?
			   "your token does not allow this device" : "your token does not allow this room");
		return;
	}
	if (s->n_subs >= (uint32_t)e->cfg->max_rooms && !fanout_membership(&e->fanout, &s->peer, kind, op->id)) {
		send_error(e, s, op->ref, "too_many_rooms", "subscription limit reached");
		return;
	}
	rc = fanout_join(&e->fanout, &s->peer, kind, op->id, &m);
	if (rc < 0) {
		send_error(e, s, op->ref, "internal", "could not subscribe");
		return;
	}
	if (rc == 0)
		s->n_subs++;
	if (kind == TOPIC_ROOM) {
		m->presence_events = op->presence;
		if (rc == 0)
			presence_join(&e->presence, op->id, s->ident.id, s->ident.perms->info, s->ident.perms->info_len);
		/* a history room answers with its position once its window is ready (and replays
		 * what a resume missed) */
		if (history_sub(&e->history, &s->peer, m, rc, op))
			return;
		m->owes_no_history = op->has_since;	/* a resume of a room that keeps none */
	}
	/* ok means "you will get what is published from now on": wait for the broker's SUBACK */
	if (rc == 0 && !bridge_sub_active(m->channel->sub)) {
		m->pending_ok = strdup(op->ref);
		if (m->pending_ok)
			return;
	}
	send_sub_ok(e, s, m, op->ref);
}

static void op_unsub(struct edge *e, struct session *s, const struct client_op *op)
{
	enum topic_kind kind = op->target == TARGET_DEVICE ? TOPIC_TELEMETRY : TOPIC_ROOM;
	struct member *m = fanout_membership(&e->fanout, &s->peer, kind, op->id);

	if (m) {
		if (m->pending_ok)	/* the sub still owed its ok: answer it before this one */
			send_sub_ok(e, s, m, m->pending_ok);
		history_member_leaving(&e->history, m);
		if (kind == TOPIC_ROOM)
			presence_leave(&e->presence, op->id, s->ident.id);
		fanout_leave(&e->fanout, &s->peer, kind, op->id);
		s->n_subs--;
	}
	send_ok(e, s, op->ref);
}

static void ack_done(struct bridge_cookie *cookie, void *ctx, int status);

/* Wraps data in an envelope and publishes it; the ok (or error) follows the broker's PUBACK. */
static void publish(struct edge *e, struct session *s, const struct client_op *op, enum topic_kind kind,
		    const char *target)
{
	char topic[TOPICS_TOPIC_MAX];
	struct pending_ack *ack = NULL;
	size_t cap = envelope_build_size(ENVELOPE_ID_MAX, TOPICS_ID_MAX, op->data_len);
	char *buf = NULL;
	int len, n, rc;

	len = topics_build(topic, sizeof(topic), e->cfg->topic_prefix, kind, target);
	ack = calloc(1, sizeof(*ack));
	buf = malloc(cap);
	if (len < 0 || !ack || !buf)
		goto internal;
	ack->cookie.done = ack_done;
	idgen_message(&e->ids, ack->id);
	ack->ts = clock_now_ms();
	snprintf(ack->ref, sizeof(ack->ref), "%s", op->ref);
	n = envelope_build(buf, cap, ack->id, ack->ts, s->ident.id, op->data, op->data_len);
	if (n < 0)
		goto internal;
	rc = bridge_publish(e->bridge, topic, buf, (size_t)n, false, ack);
	free(buf);
	buf = NULL;
	if (rc == -ENOBUFS || rc == -EIO) {
		free(ack);
		send_error(e, s, op->ref, "unavailable", rc == -ENOBUFS ? "broker unavailable and the outgoing queue is full" :
								  "the broker connection did not take the message");
		return;
	}
	if (rc < 0) {
		log_error("publish_refused", "sess=%s topic=%s err=\"%s\"", s->id, topic, mqe_strerror(rc));
		goto internal;
	}
	ack->session = s;
	DLIST_PUSH(s->acks, ack, prev, next);
	return;
internal:
	free(buf);
	free(ack);
	log_error("publish_failed", "sess=%s topic=%s", s->id, len < 0 ? "" : topic);
	send_error(e, s, op->ref, "internal", "could not publish");
}

static void op_refresh(struct edge *e, struct session *s, const struct client_op *op)
{
	char token[8200];
	struct identity fresh;
	enum auth_result r;
	char buf[EDGE_FRAME_MAX];

	if (op->token_len >= sizeof(token)) {
		send_error(e, s, op->ref, "token_invalid", "token too long");
		return;
	}
	memcpy(token, op->token, op->token_len);
	token[op->token_len] = '\0';
	r = auth_verify(e->auth, token, clock_now_ms() / 1000, &fresh);
	if (r != AUTH_OK) {
		e->stats.auth_failures++;
		send_error(e, s, op->ref, auth_result_code(r), "token rejected; the current one still applies");
		return;
	}
	if (strcmp(fresh.id, s->ident.id) || fresh.kind != s->ident.kind) {
		identity_release(&fresh);
		send_error(e, s, op->ref, "token_invalid", "the new token is for another identity");
		return;
	}
	if (dispatch_token_revoked(e, &fresh)) {
		identity_release(&fresh);
		e->stats.auth_failures++;
		send_error(e, s, op->ref, "token_revoked", "tokens of this user issued before its revocation are refused");
		return;
	}
	identity_release(&s->ident);
	s->ident = fresh;	/* the caller re-arms the expiry timer when exp changed */
	fanout_send_text(&e->fanout, &s->peer, buf, (size_t)edge_frame_ok_exp(buf, op->ref, s->ident.exp));
}

static void op_presence(struct edge *e, struct session *s, const struct client_op *op)
{
	struct textbuf out = { 0 };

	if (!presence_room(&e->presence, op->id)) {
		send_error(e, s, op->ref, "bad_request", "this room keeps no presence (presence-rooms)");
		return;
	}
	if (!fanout_membership(&e->fanout, &s->peer, TOPIC_ROOM, op->id)) {
		send_error(e, s, op->ref, "not_subscribed", "subscribe to the room first");
		return;
	}
	if (presence_query(&e->presence, op->id, op->ref, &out) < 0 || out.oom)
		send_error(e, s, op->ref, "internal", "could not read the room's presence");
	else
		fanout_send_text(&e->fanout, &s->peer, out.p, out.len);
	textbuf_free(&out);
}

static void op_history(struct edge *e, struct session *s, const struct client_op *op)
{
	if (!perms_allow(s->ident.perms, PERM_ROOMS, op->id))
		send_error(e, s, op->ref, "forbidden", "your token does not allow this room");
	else
		history_op(&e->history, &s->peer, op);
}

static void op_rpc(struct edge *e, struct session *s, const struct client_op *op, int64_t now)
{
	if (!perms_allow(s->ident.perms, PERM_RPC, op->id))
		send_error(e, s, op->ref, "forbidden", "your token does not allow this method (rpc claim)");
	else
		rpc_call(&e->rpc, &s->rpc, op, now);
}

static void op_guarded_publish(struct edge *e, struct session *s, const struct client_op *op, enum perm perm,
			       enum topic_kind kind, const char *refusal)
{
	if (!perms_allow(s->ident.perms, perm, op->id))
		send_error(e, s, op->ref, "forbidden", refusal);
	else
		publish(e, s, op, kind, op->id);
}

void dispatch_frame(struct edge *e, struct session *s, const char *text, size_t len)
{
	struct client_op op;
	struct proto_error perr;
	int64_t now = clock_now_ms();
	char buf[EDGE_FRAME_MAX];
	int parsed;

	e->stats.frames_in++;
	parsed = client_frame_parse(text, len, &op, &perr);
	if (!ratelimit_take(&s->rate, e->cfg->rate, e->cfg->burst, now)) {
		e->stats.rate_limited++;
		if (!ratelimit_take(&s->strikes, 1, e->cfg->rate_strikes, now)) {
			e->stats.closed_flood++;
			log_info("session_flood", "sess=%s user=%s", s->id, s->ident.id);
			fanout_close(&e->fanout, &s->peer, 1008, "rate limit exceeded");
			return;
		}
		send_error(e, s, op.ref, "rate_limited", "too many frames; slow down");
		return;
	}
	if (parsed) {
		send_error(e, s, op.ref, perr.code, perr.message);
		return;
	}
	if (s->ident.kind == IDENTITY_DEVICE) {
		switch (op.type) {
		case OP_TELEMETRY:
			publish(e, s, &op, TOPIC_TELEMETRY, s->ident.id);
			return;
		case OP_PING:
		case OP_REFRESH:
		case OP_RPC:
			break;
		default:
			send_error(e, s, op.ref, "unknown_op", "not an op for device connections");
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
		op_guarded_publish(e, s, &op, PERM_PUB, TOPIC_ROOM, "your token does not allow publishing to this room");
		break;
	case OP_SEND:
		op_guarded_publish(e, s, &op, PERM_DM, TOPIC_DIRECT, "your token does not allow messaging this user");
		break;
	case OP_CMD:
		op_guarded_publish(e, s, &op, PERM_CMD, TOPIC_CMD, "your token does not allow commanding this device");
		break;
	case OP_PING:
		fanout_send_text(&e->fanout, &s->peer, buf, (size_t)edge_frame_pong(buf, op.ref, now));
		break;
	case OP_RPC:
		op_rpc(e, s, &op, now);
		break;
	case OP_REFRESH:
		op_refresh(e, s, &op);
		break;
	case OP_TELEMETRY:
		send_error(e, s, op.ref, "unknown_op", "telemetry is for device connections");
		break;
	case OP_PRESENCE:
		op_presence(e, s, &op);
		break;
	case OP_HISTORY:
		op_history(e, s, &op);
		break;
	case OP_INBOX:
	case OP_READ:
	case OP_SETTINGS:
		if (s->ident.anonymous)
			send_error(e, s, op.ref, "forbidden", "anonymous sessions have no inbox");
		else
			notify_op(&e->notify, &s->peer, s->ident.id, &op);
		break;
	}
}

/* ---- the live bridge ---- */

/* A disconnect of user from the server API (whichever edge took the call; ours comes back too). */
static void on_disconnect_msg(struct edge *e, const char *user, const void *payload, size_t len)
{
	char reason[SERVER_API_REASON_MAX + 1];
	uint16_t code;
	uint32_t n;

	if (server_api_disconnect_msg_parse(payload, len, &code, reason)) {
		e->api.stats.disconnects_malformed++;
		log_warn("disconnect_malformed", "user=%s bytes=%zu", user, len);
		return;
	}
	e->api.stats.disconnects_received++;
	n = dispatch_disconnect(e, user, code, reason);
	e->api.stats.disconnect_closes += n;
	if (n)
		log_info("user_disconnected", "user=%s code=%u closed=%u", user, code, n);
}

/* The id a topic named, as a string (ids were validated by topics_parse: at most TOPICS_ID_MAX). */
static const char *id_text(char *buf, const char *idp, size_t idlen)
{
	memcpy(buf, idp, idlen);
	buf[idlen] = '\0';
	return buf;
}

void dispatch_on_message(void *ctx, const char *topic, size_t topic_len, const void *payload, size_t len,
			 bool retained, const struct bridge_msg_props *props)
{
	struct edge *e = ctx;
	char id[TOPICS_ID_MAX + 1];
	const char *idp;
	size_t idlen;
	enum topic_kind kind = topics_parse(e->cfg->topic_prefix, topic, topic_len, &idp, &idlen);

	/* the topic is parsed once here: the fan-out path pays for no other subsystem */
	switch (kind) {
	case TOPIC_STATUS:
		history_on_message(&e->history, topic, topic_len, payload, len);
		presence_on_message(&e->presence, topic, topic_len, payload, len);
		edge_list_on_status(&e->edge_list, id_text(id, idp, idlen), payload, len);
		return;
	case TOPIC_DISCONNECT:
		on_disconnect_msg(e, id_text(id, idp, idlen), payload, len);
		return;
	case TOPIC_REVOKE:
		id_text(id, idp, idlen);
		if (revocations_apply(&e->revocations, id, payload, len) == -EINVAL)
			log_warn("revocation_malformed", "user=%s bytes=%zu", id, len);
		return;
	case TOPIC_EDGE_SYNC:
		/* our barrier came back: every retained revocation was queued for us before it */
		if (idlen == strlen(e->cfg->edge_id) && !memcmp(idp, e->cfg->edge_id, idlen) && !e->revocations.loaded) {
			e->revocations.loaded = true;
			log_info("revocations_loaded", "users=%zu", revocations_count(&e->revocations));
		}
		return;
	case TOPIC_PRESENCE:
		presence_on_message(&e->presence, topic, topic_len, payload, len);
		return;
	case TOPIC_HISTORY_REQ:
	case TOPIC_HISTORY_REP:
		history_on_message(&e->history, topic, topic_len, payload, len);
		return;
	case TOPIC_RPC_REPLY:
		rpc_on_reply(&e->rpc, payload, len, props);
		return;
	case TOPIC_RPC:
		return;	/* requests are for backends: never subscribed here, never fanned out */
	default:
		fanout_on_channel_message(&e->fanout, kind, topic, topic_len, payload, len, retained);
	}
}

void dispatch_on_batch_done(void *ctx)
{
	struct edge *e = ctx;

	fanout_on_batch_done(&e->fanout);
}

/* Both broker sessions are up after a gap: every session learns it once (PROTOCOL.md section 12). */
void dispatch_resync_check(struct edge *e)
{
	int64_t now = clock_now_ms();

	if (!e->continuity.pending || !e->bridge || !bridge_is_up(e->bridge) ||
	    (e->inbox_bridge && !bridge_is_up(e->inbox_bridge)))
		return;
	e->continuity.pending = false;
	e->continuity.resyncs++;
	for (struct peer *p = e->fanout.peers; p; p = p->next) {
		struct session *s = session_of_peer(p);
		bool user = s->ident.kind == IDENTITY_USER && !s->ident.anonymous;
		char buf[EDGE_FRAME_MAX];

		if (p->closing)
			continue;
		fanout_send_text(&e->fanout, p, buf,
				 (size_t)edge_frame_resync(buf, e->continuity.failover ? "failover" : "session_lost",
							   e->continuity.since_ms, now,
							   user ? notify_unread(&e->notify, s->ident.id) : -1));
		e->continuity.frames++;
	}
	log_info("broker_resync", "reason=%s since=%lld gap_ms=%lld sessions_told=%llu",
		 e->continuity.failover ? "failover" : "session_lost", (long long)e->continuity.since_ms,
		 (long long)(now - e->continuity.since_ms), (unsigned long long)e->continuity.frames);
	e->continuity.failover = false;
}

void dispatch_on_state(void *ctx, bool up)
{
	struct edge *e = ctx;

	log_info("broker_state", "up=%d sessions=%llu", up,
		 (unsigned long long)(e->stats.sessions_user + e->stats.sessions_device));
	if (!up && !e->continuity.lost_ms)
		e->continuity.lost_ms = clock_now_ms();
	presence_on_state(&e->presence, up);
	if (up && e->bridge && !bridge_session_present(e->bridge)) {
		history_on_session_lost(&e->history);
		/* not the process's first session: what the broker queued for us is gone (another
		 * broker, or one that lost it). The retained revocations come again with the
		 * resubscription; until its barrier is back, user tokens wait as at start (a revocation
		 * made during the gap must not let a token in). Sessions are told of the gap. */
		if (e->continuity.ever_up) {
			if (e->revocations.loaded)
				log_info("revocations_reloading", "users=%zu", revocations_count(&e->revocations));
			e->revocations.loaded = false;
			if (!e->continuity.pending)
				e->continuity.since_ms = e->continuity.lost_ms ? e->continuity.lost_ms : clock_now_ms();
			e->continuity.pending = true;
		}
	}
	if (up) {
		e->continuity.ever_up = true;
		e->continuity.lost_ms = 0;
		if (!e->continuity.pending)
			e->continuity.failover = false;	/* a move before the first session: no gap to name */
		dispatch_resync_check(e);
	}
}

/* A client publish's PUBACK (a message nobody subscribed to is published all the same). */
static void ack_done(struct bridge_cookie *cookie, void *ctx, int status)
{
	struct edge *e = ctx;
	struct pending_ack *a = (struct pending_ack *)cookie;
	struct session *s = a->session;
	char buf[EDGE_FRAME_MAX];

	if (s) {
		DLIST_UNLINK(s->acks, a, prev, next);
		if (status >= 0)
			fanout_send_text(&e->fanout, &s->peer, buf, (size_t)edge_frame_ok_msg(buf, a->ref, a->id, a->ts));
		else
			send_error(e, s, a->ref, "unavailable", "the broker did not take the message");
	}
	free(a);
}

void dispatch_on_published(void *ctx, void *cookie, int status)
{
	struct bridge_cookie *c = cookie;	/* a pending_ack or an rpc call */

	c->done(c, ctx, status);
}

/* Both revocation subscriptions are acknowledged: publish the barrier on our own sync topic. The
 * broker queued every retained revocation for this session while handling the SUBSCRIBE, so they
 * all arrive before the barrier's copy. Again after each resubscription until it came back. */
static void revocations_barrier(struct edge *e)
{
	char topic[TOPICS_TOPIC_MAX], payload[64];
	int n;

	if (e->revocations.loaded || !e->revoke_sub || !e->sync_sub || !bridge_sub_active(e->revoke_sub) ||
	    !bridge_sub_active(e->sync_sub))
		return;
	n = snprintf(payload, sizeof(payload), "{\"ts\":%lld}", (long long)clock_now_ms());
	if (topics_build(topic, sizeof(topic), e->cfg->topic_prefix, TOPIC_EDGE_SYNC, e->cfg->edge_id) < 0 ||
	    bridge_publish(e->bridge, topic, payload, (size_t)n, false, NULL) < 0)
		log_error("revocations_barrier_failed", "edge=%s", e->cfg->edge_id);
}

void dispatch_on_subscribed(void *ctx, void *user)
{
	struct edge *e = ctx;
	struct channel *ch = user;	/* NULL for the presence, history, status and disconnect subscriptions */

	if (user == &e->revocations) {
		revocations_barrier(e);
		return;
	}

	if (ch && ch->window)
		history_on_subscribed(&e->history, ch);
	for (struct member *m = ch ? ch->members : NULL; m; m = m->ch_next) {
		if (!m->pending_ok)
			continue;
		send_sub_ok(e, session_of_peer(m->session), m, m->pending_ok);
		free(m->pending_ok);
		m->pending_ok = NULL;
	}
}
