/*
 * ingest.c - a notification enters: validate, give it an id once, store it in the open
 * transaction, queue its push; after the commit the pushes go to the recipient's local peers.
 * Owns: the pending-push list. Must not: touch SQLite (inbox.c), sockets (fan-out does), or
 * acknowledge anything (the bridge sends PUBACKs after notify_on_batch_done).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/base/clock.h"
#include "mqedge/base/err.h"
#include "mqedge/base/log.h"
#include "mqedge/wire/edge_frame.h"
#include "mutes.h"
#include "notify_int.h"

struct pending_push {
	char user[TOPICS_ID_MAX + 1];	/* INBOX_BROADCAST_USER for an announcement */
	char action[TOPICS_ID_MAX + 1];	/* an announcement's action, for the per-user mute check */
	int64_t seq;			/* a sibling's row: only peers whose backlog did not cover it */
	struct frame *frame;
};

static int queue_push(struct notify *n, const char *user, const char *action, int64_t seq, struct frame *f)
{
	struct pending_push *p;

	if (n->n_pushes == n->cap_pushes) {
		size_t cap = n->cap_pushes ? n->cap_pushes * 2 : 64;
		struct pending_push *np = realloc(n->pushes, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		n->pushes = np;
		n->cap_pushes = cap;
	}
	p = &n->pushes[n->n_pushes++];
	strcpy(p->user, user);		/* both validated ids */
	strcpy(p->action, action);
	p->seq = seq;
	p->frame = f;
	return 0;
}

/* An announcement goes to every named user's peer that has not muted it (and, for a sibling's
 * row, whose backlog did not cover it). */
static unsigned send_announcement(struct notify *n, struct frame *f, const char *action, int64_t seq)
{
	unsigned sent = 0;

	for (struct peer *p = n->fanout->peers, *next; p; p = next) {
		next = p->next;
		if (!p->announcements || p->closing || (seq && p->inbox_seq >= seq) ||
		    mutes_match(n->mutes, p->name, NOTIFY_ANNOUNCEMENT, action))
			continue;
		if (fanout_send(n->fanout, p, f) == 0)
			sent++;
	}
	return sent;
}

/* A sibling's row to user's peers whose backlog did not cover it. */
static unsigned send_uncovered(struct notify *n, const char *user, struct frame *f, int64_t seq)
{
	struct channel *ch = fanout_channel(n->fanout, TOPIC_DIRECT, user);
	unsigned sent = 0;

	for (struct member *m = ch ? ch->members : NULL, *next; m; m = next) {
		struct peer *p = m->session;

		next = m->ch_next;
		if (!p->closing && p->inbox_seq < seq && fanout_send(n->fanout, p, f) == 0)
			sent++;
	}
	return sent;
}

void notify__flush_pushes(struct notify *n, bool deliver)
{
	for (size_t i = 0; i < n->n_pushes; i++) {
		struct pending_push *p = &n->pushes[i];

		if (deliver && !strcmp(p->user, INBOX_BROADCAST_USER))
			n->stats.pushed += send_announcement(n, p->frame, p->action, p->seq);
		else if (deliver && !p->seq)
			n->stats.pushed += fanout_send_channel(n->fanout, fanout_channel(n->fanout, TOPIC_DIRECT, p->user),
							       p->frame);
		else if (deliver)
			n->stats.pushed += send_uncovered(n, p->user, p->frame, p->seq);
		frame_unref(p->frame);
	}
	n->n_pushes = 0;
}

int notify__commit(struct notify *n)
{
	if (!n->inbox || !inbox_in_transaction(n->inbox)) {
		notify__flush_pushes(n, true);
		return 0;
	}
	if (inbox_commit(n->inbox) < 0) {
		n->stats.commit_failures++;
		notify__flush_pushes(n, false);
		return -EIO;
	}
	notify__flush_pushes(n, true);
	return 0;
}

struct mute_mark {
	struct notify *n;
	const char *id, *action;
};

/* An announcement is stored once: users who muted it get it marked read. */
static void mark_muted_announcement(void *ctx, const char *user, const struct mute_entry *e, size_t count)
{
	struct mute_mark *m = ctx;
	const char *ids[1] = { m->id };

	if (mute_entries_match(e, count, NOTIFY_ANNOUNCEMENT, m->action))
		inbox_mark_read(m->n->inbox, user, ids, 1);
}

static struct frame *notify_frame(const char *json, size_t len, bool read)
{
	struct frame *f = frame_alloc(len + EDGE_FRAME_NOTIFY_EXTRA);
	int w;

	if (!f)
		return NULL;
	w = edge_frame_notify((char *)frame_payload(f), json, len, read);
	if (w < 0) {
		frame_unref(f);
		return NULL;
	}
	frame_seal(f, (size_t)w);
	return f;
}

struct sibling_row {
	struct notify *n;
	const char *user, *action;
};

static int queue_sibling_row(void *ctx, int64_t seq, const char *json, size_t len, bool read)
{
	struct sibling_row *r = ctx;
	struct frame *f = notify_frame(json, len, read);

	if (!f || queue_push(r->n, r->user, r->action, seq, f)) {
		if (f)
			frame_unref(f);
		log_error("notify_push_lost", "user=%s reason=nomem", r->user);
	}
	return 0;
}

/* The row as stored (its ts and read mark are the sibling's) is pushed after this burst's commit
 * to the user's peers here whose backlog did not cover it. */
static void push_sibling_row(struct notify *n, const char *user, const char *id, const char *action)
{
	struct sibling_row r = { n, user, action };

	if (inbox_row(n->inbox, user, id, queue_sibling_row, &r) < 0)
		log_error("notify_push_lost", "user=%s id=%s reason=\"%s\"", user, id, inbox_last_error(n->inbox));
}

int notify__store(struct notify *n, const char *user, const struct notification *f, const char *id, int64_t ts)
{
	bool broadcast = !strcmp(user, INBOX_BROADCAST_USER);
	const char *action = f->action_str;
	bool mute = !broadcast && mutes_match(n->mutes, user, f->k, action);
	struct textbuf json = { 0 };
	struct frame *out = NULL;
	int rc;

	notification_canonical(&json, f, id, ts);
	if (json.oom) {
		inbox_abort(n->inbox);	/* not stored: the batch must not be acknowledged */
		return -ENOMEM;
	}
	rc = inbox_put(n->inbox, user, id, ts, notification_kind_name(f->k), json.p, json.len, mute);
	/* a shared store: a row a sibling process stored first is still ours to push, once (a
	 * redelivery to this process is not) */
	if (n->opt.shared_store && (rc == 0 || rc == -EEXIST)) {
		bool handled_before = dedup_check_and_add(&n->handled, dedup_key(user, strlen(user), id, strlen(id)));

		if (rc == -EEXIST && !handled_before && !mute)
			push_sibling_row(n, user, id, broadcast ? action : "");
	}
	if (rc == 0) {
		n->stats.stored++;
		if (broadcast) {
			struct mute_mark m = { n, id, action };

			mutes_each(n->mutes, mark_muted_announcement, &m);
		}
		if (mute) {
			n->stats.muted++;
		} else if (!(out = notify_frame(json.p, json.len, false)) || queue_push(n, user, broadcast ? action : "", 0, out)) {
			if (out)
				frame_unref(out);
			log_error("notify_push_lost", "user=%s id=%s reason=nomem", user, id);
		}
	}
	textbuf_free(&json);
	return rc == -EEXIST ? 0 : rc;
}

void notify__on_notification(struct notify *n, const char *user, const char *topic, size_t topic_len,
			     const void *payload, size_t len)
{
	struct notification f;
	const char *why;
	char id[ENVELOPE_ID_MAX + 1];
	int rc;

	n->stats.received++;
	why = notification_parse(payload, len, &f, false, !strcmp(user, INBOX_BROADCAST_USER));
	if (why) {
		n->stats.rejected++;
		log_warn("notify_rejected", "topic=%.*s reason=\"%s\"", (int)topic_len, topic, why);
		return;
	}
	if (f.id.p)
		notification_given_id(&f, id);
	else
		notification_content_id(topic, topic_len, payload, len, id);
	if (n->inbox && (rc = notify__store(n, user, &f, id, notification_ts(&f, clock_now_ms()))) < 0)
		log_error("notify_store_failed", "user=%s id=%s err=\"%s\" detail=\"%s\"", user, id, mqe_strerror(rc),
			  inbox_last_error(n->inbox));
}
