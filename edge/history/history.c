/*
 * history.c - history rooms (history.h). Owns: the room list with each room's window and fetch
 * state, parked members' resume requests, the window exchange with other edges. Must not: touch
 * sockets (replays and oks go through fan-out) or know sessions beyond their peer.
 *
 * Path of a resume on an edge that does not follow the room yet: dispatch (sub, since) ->
 * fanout_join (the channel subscribes on the broker) -> history_sub parks the member -> SUBACK ->
 * history_on_subscribed publishes a request -> its echo comes back (barrier) -> another edge's
 * window arrives -> window_adopt + its messages -> fanout_window_ready (what came after the
 * barrier gets the next offsets) -> every parked member: the missed messages, then its ok.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mqedge/base/clock.h"
#include "mqedge/base/err.h"
#include "mqedge/base/list.h"
#include "mqedge/base/log.h"
#include "mqedge/bridge/bridge.h"
#include "mqedge/history/history.h"
#include "mqedge/wire/api_body.h"
#include "mqedge/wire/edge_frame.h"
#include "mqedge/wire/history_sync.h"
#include "mqedge/wire/jsontext.h"

#define MAX_FETCH_RETRIES 2
#define PAGE_MAX_BYTES (1u << 20)	/* a history page stops growing here (more: true), or at a
					 * quarter of the slow-reader hard bound when that is less */

enum hroom_state {
	HR_SUBSCRIBING,		/* waiting for the room's SUBACK */
	HR_FETCHING,		/* asked the other edges; deferring messages */
	HR_READY,
};

struct hroom {
	struct hroom *prev, *next;
	struct channel *ch;
	struct window window;
	enum hroom_state state;
	char nonce[HISTORY_SYNC_NONCE_MAX + 1];
	int64_t deadline_ms;		/* HR_FETCHING: when to stop waiting */
	int64_t idle_since_ms;		/* HR_READY without members: since when; 0 otherwise */
	uint32_t barrier_skip;		/* deferred payloads that came before the request's echo */
	bool barrier_seen;		/* the request's echo arrived */
	bool saw_earlier;		/* another edge asked for this room before our request (sticky) */
	bool ahead_waiting;		/* HR_READY: a member's resume waits for the window to catch up */
	uint8_t retries;
	uint32_t expected_answers;	/* edges online when our request's echo came */
	struct strmap nones;		/* edges online that said they do not follow the room (values: non-NULL) */
	char room[TOPICS_ID_MAX + 1];
};

/* A parked member's request: malloc'd into member.parked (no inner pointers). */
struct park {
	char ref[CLIENT_FRAME_REF_MAX + 3];
	bool has_since;
	char epoch[CLIENT_FRAME_EPOCH_MAX + 1];
	uint64_t offset;
	int64_t ahead_until_ms;	/* a resume ahead of this edge's window: how long it may wait */
};

/* How often a resume that is ahead checks whether the window caught up. */
#define AHEAD_POLL_MS 10

/* ---- patterns ---- */

static int parse_number(const char *s, size_t len, long long max, long long *out)
{
	long long v = 0;

	if (!len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (max - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "PATTERN[=SIZE[/TTL]]" in place: the pattern is cut at '='. */
static int parse_pattern(struct history *h, char *item, struct history_pattern *out)
{
	char *eq = strchr(item, '='), *slash;
	long long v;

	out->pattern = item;
	out->size = h->opt.default_size;
	out->ttl_ms = h->opt.default_ttl_ms;
	if (!eq)
		return *item ? 0 : -EINVAL;
	*eq = '\0';
	slash = strchr(eq + 1, '/');
	if (parse_number(eq + 1, slash ? (size_t)(slash - eq - 1) : strlen(eq + 1), 1000000, &v) || v < 1)
		return -EINVAL;
	out->size = (uint32_t)v;
	if (slash) {
		if (parse_number(slash + 1, strlen(slash + 1), 31536000, &v))
			return -EINVAL;
		out->ttl_ms = v * 1000;
	}
	return *item ? 0 : -EINVAL;
}

static int parse_patterns(struct history *h)
{
	size_t n = 1;

	for (const char *c = h->patterns; *c; c++)
		n += *c == ',';
	h->pats = calloc(n, sizeof(*h->pats));
	if (!h->pats)
		return -ENOMEM;
	for (char *s = h->patterns, *next; s; s = next) {
		char *t;
		size_t len;

		next = strchr(s, ',');
		if (next)
			*next++ = '\0';
		while (*s == ' ')
			s++;
		len = strlen(s);
		while (len && s[len - 1] == ' ')
			s[--len] = '\0';
		if (!len)
			continue;
		for (t = s; *t; t++)
			if (!topics_id_char((unsigned char)*t) && *t != '*' && *t != '=' && *t != '/')
				return -EINVAL;
		if (parse_pattern(h, s, &h->pats[h->n_pats]))
			return -EINVAL;
		h->n_pats++;
	}
	return 0;
}

const struct history_pattern *history_room(const struct history *h, const char *room)
{
	for (size_t i = 0; i < h->n_pats; i++)
		if (topics_pattern_match(h->pats[i].pattern, room))
			return &h->pats[i];
	return NULL;
}

/* ---- rooms ---- */

static struct hroom *room_of(struct history *h, const char *room)
{
	struct channel *ch = fanout_channel(h->fanout, TOPIC_ROOM, room);

	return ch && ch->window ? ch->window->owner : NULL;
}

static struct hroom *room_create(struct history *h, struct channel *ch, const struct history_pattern *pat)
{
	struct hroom *r = calloc(1, sizeof(*r));

	if (!r || window_init(&r->window, pat->size, pat->ttl_ms)) {
		free(r);
		return NULL;
	}
	r->ch = ch;
	r->window.owner = r;
	r->state = HR_SUBSCRIBING;
	memcpy(r->room, ch->topic + ch->id_off, ch->id_len);
	r->room[ch->id_len] = '\0';
	ch->window = &r->window;
	channels_hold(ch);
	DLIST_PUSH(h->rooms, r, prev, next);
	h->stats.rooms++;
	return r;
}

static void forget_nones(struct hroom *r)
{
	strmap_free(&r->nones);	/* values are not owned */
	memset(&r->nones, 0, sizeof(r->nones));
}

static void room_release(struct history *h, struct hroom *r)
{
	struct channel *ch = r->ch;

	DLIST_UNLINK(h->rooms, r, prev, next);
	h->stats.rooms--;
	forget_nones(r);
	window_fini(&r->window);
	ch->window = NULL;
	free(r);
	channels_release(h->fanout->channels, ch);	/* may unsubscribe and free the channel */
}

/* ---- answering members ---- */

static void send_text(struct history *h, struct peer *p, const char *text, int len)
{
	fanout_send_text(h->fanout, p, text, (size_t)len);
}

/* A replay is queued at once: it must stay well inside the slow-reader policy's hard bound, or the
 * client would be cut off (4002) in the middle of it. */
static bool replay_fits(const struct history *h, const struct window *w, uint32_t from, const struct peer *p)
{
	size_t room = h->fanout->opt.outq_hard_bytes / 4 * 3, bytes = p->outq.bytes;

	for (uint32_t i = from; i < w->count; i++)
		if ((bytes += frame_wire_len(window_at(w, i)->frame)) > room)
			return false;
	return true;
}

/* A resume ahead of the window in the same epoch: the client came from an edge that had already
 * received messages still on their way here (the broker delivers to edges one after another; a
 * client that moved because its edge died is often that quick). Those messages will come: the
 * member waits parked (getting nothing), for at most fetch-timeout, and is then brought up to date
 * like any resume. Further ahead than a window holds: no wait, it is not lag. */
static bool wait_until_caught_up(struct history *h, struct hroom *r, const struct window *w, struct park *park)
{
	int64_t now = clock_now_ms();

	if (park->offset - w->last > w->cap)
		return false;
	if (!park->ahead_until_ms) {
		park->ahead_until_ms = now + h->opt.fetch_timeout_ms;
		r->ahead_waiting = true;
		if (h->opt.schedule)
			h->opt.schedule(h->opt.schedule_ctx, AHEAD_POLL_MS);
	}
	return now < park->ahead_until_ms;
}

/* Brings p up to date from park (or just tells it the position) and makes it a live member.
 * Returns false when the member stays parked (a resume waiting for the window to catch up). */
static bool complete(struct history *h, struct hroom *r, struct member *m, struct park *park)
{
	struct window *w = &r->window;
	struct peer *p = m->session;
	char buf[EDGE_FRAME_MAX];
	static const char *const reasons[] = {
		[WINDOW_EPOCH] = "epoch", [WINDOW_TOO_OLD] = "too_old", [WINDOW_AHEAD] = "ahead",
	};
	enum window_verdict v;
	uint32_t from = 0;

	window_expire(w, clock_now_ms());
	if (!park->has_since) {
		send_text(h, p, buf, edge_frame_ok_position(buf, park->ref, w->epoch, w->last));
		return true;
	}
	v = window_resume(w, park->epoch, strlen(park->epoch), park->offset, &from);
	if (v == WINDOW_AHEAD && wait_until_caught_up(h, r, w, park))
		return false;
	if (v == WINDOW_OK && !replay_fits(h, w, from, p)) {
		h->stats.resumes_failed++;
		send_text(h, p, buf, edge_frame_ok_resume(buf, park->ref, false, "too_large", w->epoch, w->last));
		return true;
	}
	if (v != WINDOW_OK) {
		h->stats.resumes_failed++;
		send_text(h, p, buf, edge_frame_ok_resume(buf, park->ref, false, reasons[v], w->epoch, w->last));
		return true;
	}
	/* the missed messages, then the ok, then (the member being live) what comes next: one
	 * thread, so nothing can arrive in between */
	for (uint32_t i = from; i < w->count && !p->closing; i++)
		fanout_send(h->fanout, p, window_at(w, i)->frame);
	h->stats.replayed += w->count - from;
	h->stats.resumes_recovered++;
	send_text(h, p, buf, edge_frame_ok_resume(buf, park->ref, true, NULL, w->epoch, w->last));
	return true;
}

static void unpark_all(struct history *h, struct hroom *r)
{
	for (struct member *m = r->ch->members, *next; m; m = next) {
		struct park *park = m->parked;

		next = m->ch_next;
		if (!park)
			continue;
		m->parked = NULL;	/* live from here: complete() replays before anything newer */
		if (complete(h, r, m, park))
			free(park);
		else
			m->parked = park;
	}
}

bool history_sub(struct history *h, struct peer *p, struct member *m, int joined, const struct client_op *op)
{
	const struct history_pattern *pat = history_room(h, op->id);
	struct channel *ch = m->channel;
	struct hroom *r = ch->window ? ch->window->owner : NULL;
	char buf[EDGE_FRAME_MAX];
	struct park *park;

	if (!pat && !r)
		return false;	/* dispatch answers (a resume: recovered false, no_history, after the SUBACK) */
	if (joined == 1 && m->parked) {
		fanout_send_error(h->fanout, p, op->ref, "bad_request", "a sub of this room is still waiting for its ok");
		return true;
	}
	if (joined == 1 && r && r->state == HR_READY) {
		/* live all along: nothing was missed */
		if (op->has_since)
			send_text(h, p, buf, edge_frame_ok_resume(buf, op->ref, true, NULL, r->window.epoch, r->window.last));
		else
			send_text(h, p, buf, edge_frame_ok_position(buf, op->ref, r->window.epoch, r->window.last));
		return true;
	}
	if (!r && !(r = room_create(h, ch, pat))) {
		fanout_send_error(h->fanout, p, op->ref, "internal", "could not keep the room's history");
		return true;
	}
	if (r->state == HR_SUBSCRIBING && bridge_sub_active(ch->sub))
		history_on_subscribed(h, ch);
	park = calloc(1, sizeof(*park));
	if (!park) {
		fanout_send_error(h->fanout, p, op->ref, "internal", "out of memory");
		return true;
	}
	snprintf(park->ref, sizeof(park->ref), "%s", op->ref);
	park->has_since = op->has_since && joined == 0;	/* a live member has missed nothing */
	snprintf(park->epoch, sizeof(park->epoch), "%s", op->since_epoch);
	park->offset = op->since_offset;
	if (r->state == HR_READY) {
		if (complete(h, r, m, park))
			free(park);
		else
			m->parked = park;
	} else {
		m->parked = park;
	}
	return true;
}

void history_member_leaving(struct history *h, struct member *m)
{
	struct park *park = m->parked;
	char buf[EDGE_FRAME_MAX];

	if (!park)
		return;
	/* the sub is undone before its window was ready: it still gets its one reply */
	send_text(h, m->session, buf, edge_frame_ok(buf, park->ref));
	m->parked = NULL;
	free(park);
}

void history_op(struct history *h, struct peer *p, const struct client_op *op)
{
	struct member *m = fanout_membership(h->fanout, p, TOPIC_ROOM, op->id);
	struct hroom *r = room_of(h, op->id);
	struct textbuf out = { 0 };
	struct window *w;
	uint64_t first, end;
	uint32_t i_end, i_start;
	size_t page_max;

	if (!r && !history_room(h, op->id)) {
		fanout_send_error(h->fanout, p, op->ref, "bad_request", "this room keeps no history (history-rooms)");
		return;
	}
	if (!m || m->parked || !r || r->state != HR_READY) {
		fanout_send_error(h->fanout, p, op->ref, "not_subscribed", "subscribe to the room first (and wait for its ok)");
		return;
	}
	w = &r->window;
	window_expire(w, clock_now_ms());
	first = window_first_offset(w);
	end = op->before_offset ? op->before_offset : w->last + 1;	/* offsets < end */
	if (end > w->last + 1)
		end = w->last + 1;
	i_end = end > first ? (uint32_t)(end - first) : 0;
	/* the newest `limit` below `before`, fewer when they would pass PAGE_MAX_BYTES (one at least) */
	i_start = i_end;
	page_max = h->fanout->opt.outq_hard_bytes / 4 < PAGE_MAX_BYTES ? h->fanout->opt.outq_hard_bytes / 4 : PAGE_MAX_BYTES;
	for (size_t bytes = 0; i_start > 0 && i_end - i_start < (uint32_t)op->limit; i_start--) {
		bytes += window_at(w, i_start - 1)->frame->len + 1;
		if (bytes > page_max && i_start < i_end)
			break;
	}
	edge_frame_history_begin(&out, op->ref, r->room, w->epoch);
	for (uint32_t i = i_start; i < i_end; i++) {
		struct frame *f = window_at(w, i)->frame;

		edge_frame_history_item(&out, (const char *)frame_payload(f), f->len, i == i_start);
	}
	edge_frame_history_end(&out, i_start > 0);
	if (out.oom)
		fanout_send_error(h->fanout, p, op->ref, "internal", "out of memory");
	else
		fanout_send_text(h->fanout, p, out.p, out.len);
	textbuf_free(&out);
}

/* ---- positions: a window of our own, or another edge's ---- */

static void become_ready(struct history *h, struct hroom *r, uint32_t skip)
{
	r->state = HR_READY;
	r->idle_since_ms = 0;
	r->saw_earlier = false;
	r->retries = 0;
	forget_nones(r);
	fanout_window_ready(h->fanout, r->ch, skip);
	unpark_all(h, r);
}

static void start_epoch(struct history *h, struct hroom *r, const char *why)
{
	window_new_epoch(&r->window);
	r->window.gap = false;
	h->stats.epochs_started++;
	log_info("history_epoch", "room=%s epoch=%s reason=%s", r->room, r->window.epoch, why);
	/* the first message since our SUBACK is offset 1: nothing before it is claimed */
	become_ready(h, r, 0);
}

static void send_request(struct history *h, struct hroom *r)
{
	char topic[TOPICS_TOPIC_MAX], payload[TOPICS_ID_MAX + HISTORY_SYNC_NONCE_MAX + 2];
	uint64_t rnd;
	int n, len;

	/* unguessable: an answer must be for this very request */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint64_t)clock_now_us() * 0x9e3779b97f4a7c15ull;
	snprintf(r->nonce, sizeof(r->nonce), "%llx%016llx", (unsigned long long)++h->nonce_seq,
		 (unsigned long long)rnd);
	r->state = HR_FETCHING;
	r->barrier_seen = false;
	forget_nones(r);
	r->deadline_ms = clock_now_ms() + h->opt.fetch_timeout_ms;
	h->stats.fetches++;
	len = topics_build(topic, sizeof(topic), h->opt.topic_prefix, TOPIC_HISTORY_REQ, r->room);
	n = history_sync_request(payload, sizeof(payload), h->opt.edge_id, r->nonce);
	if (!h->req_sub || len < 0 || n < 0 || bridge_publish(h->bridge, topic, payload, (size_t)n, false, NULL)) {
		start_epoch(h, r, "request_failed");
		return;
	}
	if (h->opt.schedule)
		h->opt.schedule(h->opt.schedule_ctx, h->opt.fetch_timeout_ms);
}

void history_on_subscribed(struct history *h, struct channel *ch)
{
	struct hroom *r = ch->window ? ch->window->owner : NULL;

	if (r && r->state == HR_SUBSCRIBING)
		send_request(h, r);
}

/* Another edge asked for room: answer with our window (newest part first, to fit), or with
 * "none" when we do not follow the room (r NULL), so it need not wait for the timeout. */
static void answer(struct history *h, const char *room, struct hroom *r, const struct history_request *req)
{
	char topic[TOPICS_TOPIC_MAX], edge[TOPICS_ID_MAX + 1], nonce[HISTORY_SYNC_NONCE_MAX + 1];
	struct window *w = r ? &r->window : NULL;
	struct textbuf out = { 0 };
	size_t bytes = 0;
	uint32_t from;
	int len, rc;

	memcpy(edge, req->edge, req->edge_len);
	edge[req->edge_len] = '\0';
	memcpy(nonce, req->nonce, req->nonce_len);
	nonce[req->nonce_len] = '\0';
	if (!r || r->state != HR_READY) {
		history_sync_reply_header(&out, room, nonce, r ? HISTORY_SYNC_BUSY : HISTORY_SYNC_NONE, 0, 0,
					  h->opt.edge_id);
		goto send;
	}
	window_expire(w, clock_now_ms());
	from = w->count;	/* after expiry: what expired is gone from the ring */
	while (from > 0 && bytes + window_at(w, from - 1)->frame->len + 32 <= h->opt.max_reply_bytes)
		bytes += window_at(w, --from)->frame->len + 32;
	history_sync_reply_header(&out, r->room, nonce, w->epoch, w->last, w->count - from, h->opt.edge_id);
	for (uint32_t i = from; i < w->count; i++) {
		const struct window_entry *e = window_at(w, i);

		history_sync_reply_record(&out, e->ms, (const char *)frame_payload(e->frame), e->frame->len);
	}
send:
	len = topics_build(topic, sizeof(topic), h->opt.topic_prefix, TOPIC_HISTORY_REP, edge);
	rc = out.oom || len < 0 ? -ENOMEM : bridge_publish(h->bridge, topic, out.p, out.len, false, NULL);
	if (rc)
		log_warn("history_reply_failed", "room=%s to=%s err=\"%s\"", room, edge, mqe_strerror(rc));
	else
		h->stats.replies_sent++;
	textbuf_free(&out);
}

/* Every edge online said it does not follow the room: nobody has a window, a new epoch starts
 * at once instead of after the timeout. */
static void maybe_nobody(struct history *h, struct hroom *r)
{
	if (r->state == HR_FETCHING && r->barrier_seen && !r->saw_earlier && r->nones.count >= r->expected_answers)
		start_epoch(h, r, r->expected_answers ? "nobody_follows" : "no_other_edge");
}

static void on_request(struct history *h, const char *room, const char *payload, size_t len)
{
	struct history_request req;
	struct hroom *r = room_of(h, room);
	bool mine;

	if (!history_room(h, room) || history_sync_parse_request(payload, len, &req))
		return;	/* not a history room here: no answer, not even "none" */
	mine = req.edge_len == strlen(h->opt.edge_id) && !memcmp(req.edge, h->opt.edge_id, req.edge_len);
	if (!r) {
		if (!mine)
			answer(h, room, NULL, &req);
		return;
	}
	if (mine) {
		/* our own request, in the broker's order: what we deferred so far is in the window
		 * the other edges answer with; what comes after is ours to add */
		if (r->state == HR_FETCHING && req.nonce_len == strlen(r->nonce) && !memcmp(req.nonce, r->nonce, req.nonce_len)) {
			r->barrier_seen = true;
			r->barrier_skip = r->window.n_deferred;
			/* every status that was retained before our request is in by now */
			r->expected_answers = h->n_online_others;
			/* the answers are behind the echo: the wait starts now, whatever delayed it */
			r->deadline_ms = clock_now_ms() + h->opt.fetch_timeout_ms;
			maybe_nobody(h, r);
		}
		return;
	}
	if (r->state == HR_READY)
		answer(h, room, r, &req);
	else if (!r->barrier_seen)
		r->saw_earlier = true;	/* asked before us: it will have a window when we ask again */
	else
		answer(h, room, r, &req);	/* we asked first: "busy", so it asks again later */
}

/* The fields of one record of a reply that must match where it is put. */
struct record_fields {
	struct json_span op, id, room, epoch, offset;
};

#define RF(name) { #name, offsetof(struct record_fields, name) }
static const struct jsontext_field record_field_table[] = { RF(op), RF(id), RF(room), RF(epoch), RF(offset) };
#undef RF

static bool span_is(struct json_span v, const char *s, size_t len)
{
	struct json_span t;

	return jsontext_plain_string(v, &t) && t.len == len && !memcmp(t.p, s, len);
}

/* A record is a msg frame of this room, in the reply's epoch, at the offset it will take here:
 * anything else (a hostile or broken answer) must never reach a browser. *id gets its id. */
static bool record_valid(const struct hroom *r, const struct history_reply *rep, const char *text, size_t len,
			 uint64_t offset, struct json_span *id)
{
	struct record_fields f = { 0 };
	struct jsontext_fields collect = { record_field_table, 5, &f };
	const char *value;
	size_t value_len;
	bool is_object;
	int64_t off;

	if (jsontext_validate(text, len, &is_object, &value, &value_len, jsontext_collect_fields, &collect) ||
	    !is_object || !span_is(f.op, "msg", 3) || !span_is(f.room, r->room, strlen(r->room)) ||
	    !span_is(f.epoch, rep->epoch, rep->epoch_len) || !f.offset.p ||
	    jsontext_parse_uint(f.offset.p, f.offset.len, &off) || (uint64_t)off != offset ||
	    !jsontext_plain_string(f.id, id) || !id->len)
		return false;
	return true;
}

/* Another edge's window for one of our fetches: checked whole before anything is taken. */
static void on_reply(struct history *h, const char *payload, size_t len)
{
	char room[TOPICS_ID_MAX + 1], from[TOPICS_ID_MAX + 1];
	struct history_reply rep;
	struct hroom *r;
	struct json_span id;
	size_t pos;
	uint32_t n = 0;
	int64_t ms;
	const char *text;
	size_t text_len;
	int rc;

	if (history_sync_parse_reply(payload, len, &rep)) {
		log_warn("history_reply_malformed", "bytes=%zu", len);
		return;
	}
	memcpy(room, rep.room, rep.room_len);
	room[rep.room_len] = '\0';
	memcpy(from, rep.from, rep.from_len);
	from[rep.from_len] = '\0';
	r = room_of(h, room);
	if (!r || r->state != HR_FETCHING || !r->barrier_seen || rep.nonce_len != strlen(r->nonce) ||
	    memcmp(rep.nonce, r->nonce, rep.nonce_len))
		return;	/* late, for an earlier fetch, or a second answer */
	if (rep.epoch_len == strlen(HISTORY_SYNC_NONE) && !memcmp(rep.epoch, HISTORY_SYNC_NONE, rep.epoch_len)) {
		struct strmap_entry *e;

		/* counted once per edge, and only for edges we know to be online */
		if (strmap_get(&h->edges_online, from) && !strmap_get(&r->nones, from) &&
		    (e = strmap_put(&r->nones, from)) != NULL)
			e->value = r;
		maybe_nobody(h, r);
		return;
	}
	if (rep.epoch_len == strlen(HISTORY_SYNC_BUSY) && !memcmp(rep.epoch, HISTORY_SYNC_BUSY, rep.epoch_len)) {
		/* two edges fetching at once (both lost their broker session): the later one waits for
		 * the earlier one's epoch instead of starting its own */
		r->saw_earlier = true;
		return;
	}
	if (r->window.gap) {
		start_epoch(h, r, "deferred_gap");
		return;
	}
	/* the answer must reach back to our SUBACK: the payloads we deferred before the echo are
	 * its newest records, and our window must hold them */
	if (rep.count < r->barrier_skip || r->window.size < r->barrier_skip) {
		log_info("history_reply_short", "room=%s from=%s records=%u needed=%u", room, from, rep.count, r->barrier_skip);
		return;
	}
	pos = rep.body;
	while (n < rep.count && (rc = history_sync_next_record(payload, len, &pos, &ms, &text, &text_len)) == 1 &&
	       record_valid(r, &rep, text, text_len, rep.last - rep.count + 1 + n, &id))
		n++;
	if (n != rep.count || window_adopt(&r->window, rep.epoch, rep.epoch_len, rep.last, rep.count)) {
		log_warn("history_reply_malformed", "room=%s from=%s record=%u of %u", room, from, n, rep.count);
		return;	/* keep waiting for another answer, or the timeout */
	}
	pos = rep.body;
	for (n = 0; n < rep.count && history_sync_next_record(payload, len, &pos, &ms, &text, &text_len) == 1; n++) {
		struct frame *f = frame_from_text(text, text_len);

		window_push(&r->window, f, ms);	/* NULL (OOM) leaves a gap: older ones are dropped */
		if (f)
			frame_unref(f);
		if (record_valid(r, &rep, text, text_len, rep.last - rep.count + 1 + n, &id))
			fanout_seen(h->fanout, r->ch, id.p, id.len);	/* a redelivery is dropped here too */
	}
	h->stats.fetches_adopted++;
	log_info("history_adopted", "room=%s from=%s epoch=%s last=%llu held=%u deferred=%u skipped=%u", room, from,
		 r->window.epoch, (unsigned long long)r->window.last, r->window.count, r->window.n_deferred, r->barrier_skip);
	become_ready(h, r, r->barrier_skip);
}

/* An edge's retained status: who can answer a request. An empty payload (a cleared status) is an
 * edge gone. */
static void on_status(struct history *h, const char *edge, const char *payload, size_t len)
{
	char who[TOPICS_ID_MAX + 1];
	struct strmap_entry *e;
	bool online = false, was;
	int64_t boot;

	if (!strcmp(edge, h->opt.edge_id))
		return;
	if (len && (api_body_status_parse(payload, len, who, &online, &boot) || strcmp(who, edge)))
		return;
	was = strmap_get(&h->edges_online, edge) != NULL;
	if (online && !was && (e = strmap_put(&h->edges_online, edge)) != NULL) {
		e->value = h;	/* any non-NULL: online */
		h->n_online_others++;
	} else if (!online && was) {
		strmap_del(&h->edges_online, edge);
		h->n_online_others--;
	}
}

bool history_on_message(struct history *h, const char *topic, size_t topic_len, const void *payload, size_t len)
{
	char id[TOPICS_ID_MAX + 1];
	const char *idp;
	size_t idlen;
	enum topic_kind kind;

	if (!h->n_pats)
		return false;
	kind = topics_parse(h->opt.topic_prefix, topic, topic_len, &idp, &idlen);
	if (kind != TOPIC_HISTORY_REQ && kind != TOPIC_HISTORY_REP && kind != TOPIC_STATUS)
		return false;
	memcpy(id, idp, idlen);
	id[idlen] = '\0';
	if (kind == TOPIC_STATUS)
		on_status(h, id, payload, len);
	else if (kind == TOPIC_HISTORY_REQ)
		on_request(h, id, payload, len);
	else if (!strcmp(id, h->opt.edge_id))
		on_reply(h, payload, len);
	return true;
}

void history_on_session_lost(struct history *h)
{
	for (struct hroom *r = h->rooms; r; r = r->next) {
		struct window_deferred *d = window_take_deferred(&r->window);

		/* what the broker held for us is gone: nothing deferred before is contiguous, and no
		 * position of ours is complete. Like a new follower, the window is fetched again after
		 * the resubscription's SUBACK (and the epoch of the edges that kept theirs kept), or a
		 * new epoch starts when nobody has one */
		while (d) {
			struct window_deferred *next = d->next;

			free(d);
			d = next;
		}
		window_unready(&r->window);
		r->window.gap = false;
		r->saw_earlier = false;
		r->retries = 0;
		forget_nones(r);
		r->state = HR_SUBSCRIBING;
	}
}

int64_t history_tick(struct history *h, int64_t now_ms)
{
	bool up = h->bridge && bridge_is_up(h->bridge);
	bool ahead = false;	/* a resume still waits for a window to catch up */
	int64_t next = -1;

	for (struct hroom *r = h->rooms, *nr; r; r = nr) {
		nr = r->next;
		if (r->state == HR_FETCHING && !up)
			r->deadline_ms = now_ms + h->opt.fetch_timeout_ms;	/* no answer can come while away */
		if (r->state == HR_FETCHING && now_ms >= r->deadline_ms) {
			if (r->saw_earlier && r->retries < MAX_FETCH_RETRIES) {
				r->retries++;
				send_request(h, r);
			} else {
				h->stats.fetches_timed_out++;
				start_epoch(h, r, "no_answer");
			}
		}
		if (r->state == HR_FETCHING) {
			if (next < 0 || r->deadline_ms - now_ms < next)
				next = r->deadline_ms > now_ms ? r->deadline_ms - now_ms : 0;
			continue;
		}
		if (r->state != HR_READY)
			continue;
		if (r->ahead_waiting) {	/* in a ready room only such resumes are parked */
			unpark_all(h, r);
			r->ahead_waiting = false;
			for (struct member *m = r->ch->members; m && !r->ahead_waiting; m = m->ch_next)
				r->ahead_waiting = m->parked != NULL;
			ahead |= r->ahead_waiting;
		}
		window_expire(&r->window, now_ms);
		if (r->ch->n_members) {
			r->idle_since_ms = 0;
		} else if (!r->idle_since_ms) {
			r->idle_since_ms = now_ms;
		} else if (now_ms - r->idle_since_ms >= h->opt.grace_ms) {
			log_debug("history_room_released", "room=%s", r->room);
			room_release(h, r);
		}
	}
	if (ahead && (next < 0 || next > AHEAD_POLL_MS))
		next = AHEAD_POLL_MS;
	return next;
}

/* ---- lifecycle ---- */

int history_init(struct history *h, const struct history_options *opt, struct fanout *fo)
{
	memset(h, 0, sizeof(*h));
	h->opt = *opt;
	h->fanout = fo;
	h->patterns = strdup(opt->rooms ? opt->rooms : "");
	if (!h->patterns)
		return -ENOMEM;
	return parse_patterns(h);
}

void history_attach_bridge(struct history *h, struct bridge *b)
{
	char filter[TOPICS_TOPIC_MAX];

	h->bridge = b;
	if (!b || !h->n_pats)
		return;
	if (topics_filter(filter, sizeof(filter), h->opt.topic_prefix, TOPIC_HISTORY_REQ) > 0)
		h->req_sub = bridge_subscribe(b, filter, NULL);
	if (topics_build(filter, sizeof(filter), h->opt.topic_prefix, TOPIC_HISTORY_REP, h->opt.edge_id) > 0)
		h->rep_sub = bridge_subscribe(b, filter, NULL);
	/* without them every room starts its own epoch (send_request): said once, loudly */
	if (!h->req_sub || !h->rep_sub)
		log_error("history_subscribe_failed", "rooms keep history on this edge only");
}

void history_fini(struct history *h)
{
	h->bridge = NULL;	/* the bridge freed its subscriptions itself */
	while (h->rooms)
		room_release(h, h->rooms);
	strmap_free(&h->edges_online);
	free(h->pats);
	free(h->patterns);
	h->pats = NULL;
	h->patterns = NULL;
	h->n_pats = 0;
}
