/*
 * ops.c - what a client asks of its inbox: the unread backlog after welcome, pages ("inbox"),
 * read marks ("read") and mute settings ("settings"). Owns: page and backlog budgets. Must not:
 * touch SQLite or sockets directly (inbox.c, fan-out), or write frames itself (edge_frame.c).
 */
#include <stdlib.h>
#include <string.h>

#include "mqedge/base/clock.h"
#include "mqedge/wire/edge_frame.h"
#include "mutes.h"
#include "notify_int.h"

int64_t notify_unread(struct notify *n, const char *user)
{
	int64_t count;

	if (!n->inbox)
		return -1;
	count = inbox_unread_count(n->inbox, user);
	return count < 0 ? -1 : count;
}

struct backlog_ctx {
	struct notify *n;
	struct peer *p;
	size_t budget_bytes;
	int pushed, max;
	bool more;
};

static int push_row(void *ctx, int64_t seq, const char *json, size_t len, bool read)
{
	struct backlog_ctx *b = ctx;
	struct frame *f;
	int w;

	(void)seq;
	if (b->pushed == b->max)
		return 1;	/* the extra row: there is more */
	f = frame_alloc(len + EDGE_FRAME_NOTIFY_EXTRA);
	if (!f)
		return 1;
	w = edge_frame_notify((char *)frame_payload(f), json, len, read);
	if (w < 0 || b->p->outq.bytes + (size_t)w + 10 > b->budget_bytes) {
		frame_unref(f);
		b->more = true;		/* the client pages the rest with {"op":"inbox"} */
		return 1;
	}
	frame_seal(f, (size_t)w);
	fanout_send(b->n->fanout, b->p, f);
	frame_unref(f);
	b->pushed++;
	return 0;
}

void notify_push_backlog(struct notify *n, struct peer *p, const char *user)
{
	struct backlog_ctx b = { n, p, n->opt.outq_max_bytes / 2, 0, (int)n->opt.backlog, false };
	char buf[EDGE_FRAME_MAX];
	int rows = 0;

	int snapshot = 0;

	if (!n->inbox)
		return;
	/* with a shared store, what the backlog covered decides which of a sibling's rows this
	 * session still needs pushed (ingest.c): the newest seq and the backlog in one snapshot */
	if (n->opt.shared_store) {
		snapshot = inbox_snapshot_begin(n->inbox);
		int64_t newest = snapshot < 0 ? -1 : inbox_max_seq(n->inbox);

		p->inbox_seq = newest < 0 ? 0 : newest;
	}
	/* one row past the maximum tells whether there is more */
	if (n->opt.backlog > 0)
		rows = inbox_each(n->inbox, user, true, 0, (int)n->opt.backlog + 1, push_row, &b);
	if (n->opt.shared_store)
		inbox_snapshot_end(n->inbox, snapshot);
	if (rows < 0)
		return;
	if (b.pushed == n->opt.backlog && rows > b.pushed)
		b.more = true;
	n->stats.pushed += (uint64_t)b.pushed;
	fanout_send_text(n->fanout, p, buf, (size_t)edge_frame_backlog(buf, b.pushed, b.more));
}

struct page_ctx {
	struct textbuf out;
	size_t budget;		/* a page stays well under outq-max-bytes */
	int rows, limit;
	bool more;
};

static int page_row(void *ctx, int64_t seq, const char *json, size_t len, bool read)
{
	struct page_ctx *p = ctx;

	(void)seq;
	if (p->rows == p->limit || (p->rows && p->out.len + len + 24 > p->budget)) {
		p->more = true;	/* the row one past the page, or the size budget: say there is more */
		return 1;
	}
	if (edge_frame_inbox_item(&p->out, p->rows == 0, json, len, read))
		p->rows++;
	return p->out.oom;
}

static void op_inbox(struct notify *n, struct peer *peer, const char *user, const struct client_op *op)
{
	struct page_ctx p = { { 0 }, n->opt.outq_max_bytes / 2, 0, op->limit ? (int)op->limit : 50, false };
	int64_t before = 0;
	int rows;

	if (op->before[0]) {
		before = inbox_seq_of(n->inbox, user, op->before);
		if (before <= 0) {
			fanout_send_error(n->fanout, peer, op->ref, "bad_request",
					  "'before' is not a notification of yours on this edge");
			return;
		}
	}
	edge_frame_inbox_begin(&p.out, op->ref);
	/* one row more than asked tells whether there is more */
	rows = inbox_page(n->inbox, user, before, p.limit + 1, page_row, &p);
	edge_frame_inbox_end(&p.out, inbox_unread_count(n->inbox, user), p.more);
	if (rows < 0 || p.out.oom)
		fanout_send_error(n->fanout, peer, op->ref, "internal", "could not read the inbox");
	else
		fanout_send_text(n->fanout, peer, p.out.p, p.out.len);
	textbuf_free(&p.out);
}

static void reply_unread(struct notify *n, struct peer *p, const char *user, const char *ref)
{
	char buf[EDGE_FRAME_MAX];

	fanout_send_text(n->fanout, p, buf, (size_t)edge_frame_ok_unread(buf, ref, inbox_unread_count(n->inbox, user)));
}

static void op_read(struct notify *n, struct peer *p, const char *user, const struct client_op *op)
{
	struct read_ids *ids = NULL;
	struct textbuf msg = { 0 };
	int64_t now = clock_now_ms();
	int marked;

	if (!op->all) {
		ids = malloc(sizeof(*ids));
		if (!ids)
			goto unavailable;
		if (read_ids_parse(op->ids, op->ids_len, ids)) {
			free(ids);
			fanout_send_error(n->fanout, p, op->ref, "bad_request", "'ids' must hold 1 to 256 notification ids");
			return;
		}
	}
	marked = ids ? inbox_mark_read(n->inbox, user, ids->ptrs, ids->count) : inbox_mark_all_read(n->inbox, user, now);
	/* commit even after a failure: it ends (rolls back) the transaction */
	if (inbox_commit(n->inbox) < 0 || marked < 0)
		goto unavailable;
	/* every edge (this one too, harmlessly) applies it and tells the user's other tabs */
	notification_read_json(&msg, ids, now);
	if (!msg.oom)
		notify__publish(n, TOPIC_READ, user, msg.p, msg.len, false);
	reply_unread(n, p, user, op->ref);
	goto done;
unavailable:
	fanout_send_error(n->fanout, p, op->ref, "unavailable", "the inbox store is unavailable");
done:
	textbuf_free(&msg);
	free(ids);
}

static void op_settings(struct notify *n, struct peer *p, const char *user, const struct client_op *op)
{
	struct mute_list *l = NULL;
	struct textbuf settings = { 0 }, reply = { 0 }, mute = { 0 };
	int64_t now = clock_now_ms();
	int stored;

	if (op->mute) {
		l = malloc(sizeof(*l));
		if (!l)
			goto unavailable;
		if (mute_list_parse(op->mute, op->mute_len, l)) {
			fanout_send_error(n->fanout, p, op->ref, "bad_request",
					  "'mute' holds up to 100 entries like \"remind\" or \"remind:liked\"");
			goto done;
		}
		notification_settings_json(&settings, l->e, l->count, now);
		if (settings.oom)
			goto unavailable;
		stored = inbox_settings_put(n->inbox, user, settings.p, settings.len, now);
		if (inbox_commit(n->inbox) < 0 || stored < 0 || mutes_set(n->mutes, user, l->e, l->count, now) < 0)
			goto unavailable;
		notify__publish(n, TOPIC_SETTINGS, user, settings.p, settings.len, true);	/* retained: the latest wins */
		mute_list_json(&mute, l->e, l->count);
	} else {
		size_t count;
		const struct mute_entry *e = mutes_get(n->mutes, user, &count);

		mute_list_json(&mute, e, count);
	}
	edge_frame_ok_mute(&reply, op->ref, mute.p ? mute.p : "[]", mute.len);
	if (mute.oom || reply.oom)
		goto unavailable;
	fanout_send_text(n->fanout, p, reply.p, reply.len);
	goto done;
unavailable:
	fanout_send_error(n->fanout, p, op->ref, "unavailable", "the inbox store is unavailable");
done:
	textbuf_free(&settings);
	textbuf_free(&reply);
	textbuf_free(&mute);
	free(l);
}

void notify_op(struct notify *n, struct peer *p, const char *user, const struct client_op *op)
{
	if (!n->inbox) {
		fanout_send_error(n->fanout, p, op->ref, "unavailable", "the inbox store is unavailable");
		return;
	}
	if (op->type == OP_INBOX)
		op_inbox(n, p, user, op);
	else if (op->type == OP_READ)
		op_read(n, p, user, op);
	else
		op_settings(n, p, user, op);
}
