/*
 * http_ingest.c - POST /api/v1/notifications: validate a whole request (one notification, or an
 * array of up to 100), give each an id, store the local copies, publish one copy per recipient
 * (or one announcement) on the inbox session, and answer 201 with the ids once the commit is done
 * and every publish acknowledged. A request is taken whole or not at all: nothing is published
 * unless every local copy was committed.
 * Owns: the requests waiting for PUBACKs. Must not: speak HTTP (the server layer does) or touch
 * SQLite directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/base/clock.h"
#include "mqedge/base/err.h"
#include "mqedge/base/log.h"
#include "mqedge/bridge/bridge.h"
#include "mqedge/wire/api_body.h"
#include "notify_int.h"

#define MAX_REQUEST_ITEMS 100

/* One HTTP request: answered once the commit is done and every publish acknowledged. */
struct ingest_req {
	struct ingest_req *next;
	notify_http_done_fn done;
	void *ctx;			/* NULL once cancelled */
	int outstanding;		/* publishes awaiting PUBACK */
	bool failed;
	size_t n_ids;
	char (*ids)[ENVELOPE_ID_MAX + 1];	/* the notifications' ids, in request order */
};

/* One item: its text and what notification_parse found in it. */
struct req_item {
	struct json_span text;
	struct notification f;
	int64_t ts;
};

struct req_items {
	struct req_item items[MAX_REQUEST_ITEMS];
	int count;
	bool too_many;
};

static void http_error(notify_http_done_fn done, void *ctx, unsigned status, const char *code, const char *message)
{
	char body[API_BODY_ERROR_MAX];

	done(ctx, status, body, (size_t)api_body_error(body, code, message));
}

static void finish_request(struct notify *n, struct ingest_req *r)
{
	if (r->ctx) {
		if (r->failed) {
			char body[API_BODY_ERROR_MAX];

			r->done(r->ctx, 503, body,
				(size_t)api_body_error(body, "unavailable", "the broker did not take the notification"));
		} else {
			const char **ptrs = malloc(r->n_ids * sizeof(*ptrs) + 1);
			struct textbuf b = { 0 };

			for (size_t i = 0; ptrs && i < r->n_ids; i++)
				ptrs[i] = r->ids[i];
			if (ptrs)
				api_body_ids(&b, ptrs, r->n_ids);
			if (ptrs && !b.oom)
				r->done(r->ctx, 201, b.p, b.len);
			else
				http_error(r->done, r->ctx, 500, "internal", "out of memory");
			textbuf_free(&b);
			free(ptrs);
		}
	}
	for (struct ingest_req **pp = &n->requests; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	free(r->ids);
	free(r);
}

void notify__http_published(struct notify *n, void *cookie, int status)
{
	struct ingest_req *r = cookie;

	if (status < 0)	/* BRIDGE_PUB_NO_SUBSCRIBERS: taken all the same */
		r->failed = true;
	if (--r->outstanding == 0)
		finish_request(n, r);
}

void notify__http_fini(struct notify *n)
{
	while (n->requests) {
		n->requests->ctx = NULL;
		finish_request(n, n->requests);
	}
}

static int collect_item(void *ctx, const char *value, size_t len)
{
	struct req_items *r = ctx;

	if (r->count == MAX_REQUEST_ITEMS) {
		r->too_many = true;
		return 1;
	}
	r->items[r->count++].text = (struct json_span){ value, len };
	return 0;
}

/* Publishes one copy of text to topic for request req. */
static void publish_copy(struct notify *n, struct ingest_req *req, const char *topic, const struct textbuf *text)
{
	if (bridge_publish(n->bridge, topic, text->p, text->len, false, req) != 0)
		req->failed = true;
	else
		req->outstanding++;
}

struct recipient_ctx {
	struct notify *n;
	struct ingest_req *req;
	const struct req_item *item;
	const char *id;
	const struct textbuf *json;
	int stored;	/* <0: a local copy was not kept */
};

/* Adds one recipient's local copy to the open transaction. */
static void store_recipient(void *ctx, const char *user)
{
	struct recipient_ctx *c = ctx;
	int rc = notify__store(c->n, user, &c->item->f, c->id, c->item->ts);

	if (rc < 0)
		c->stored = rc;
}

/* Publishes one recipient's copy. */
static void publish_recipient(void *ctx, const char *user)
{
	struct recipient_ctx *c = ctx;
	char topic[TOPICS_TOPIC_MAX];

	if (topics_build(topic, sizeof(topic), c->n->opt.topic_prefix, TOPIC_NOTIFY, user) < 0)
		c->req->failed = true;
	else
		publish_copy(c->n, c->req, topic, c->json);
}

/* Stores every item's local copies in one transaction. 0, or an error: then nothing is stored. */
static int store_items(struct notify *n, struct req_items *r, struct ingest_req *req, struct textbuf *json)
{
	int rc = 0;

	if (!n->inbox)
		return 0;	/* no store at all: live delivery only (PROTOCOL.md section 7) */
	for (int i = 0; i < r->count && !rc; i++) {
		struct req_item *it = &r->items[i];
		struct recipient_ctx c = { n, req, it, req->ids[i], &json[i], 0 };

		if (!it->f.to.p)
			c.stored = notify__store(n, INBOX_BROADCAST_USER, &it->f, req->ids[i], it->ts);
		else
			notification_each_recipient(&it->f, store_recipient, &c);
		rc = c.stored;
	}
	/* commit even after a failure: that ends (rolls back) the transaction */
	if (notify__commit(n) < 0 && !rc)
		rc = -EIO;
	return rc;
}

static void publish_items(struct notify *n, struct req_items *r, struct ingest_req *req, struct textbuf *json)
{
	char topic[TOPICS_TOPIC_MAX];

	for (int i = 0; i < r->count; i++) {
		struct req_item *it = &r->items[i];
		struct recipient_ctx c = { n, req, it, req->ids[i], &json[i], 0 };

		if (it->f.to.p)
			notification_each_recipient(&it->f, publish_recipient, &c);
		else if (topics_filter(topic, sizeof(topic), n->opt.topic_prefix, TOPIC_NOTIFY_ALL) < 0)
			req->failed = true;
		else
			publish_copy(n, req, topic, &json[i]);
	}
}

void notify_http_submit(struct notify *n, const char *body, size_t len, notify_http_done_fn done, void *ctx)
{
	struct req_items *r = calloc(1, sizeof(*r));
	struct ingest_req *req = NULL;
	struct textbuf *json = NULL;	/* each item's canonical text, owned here */
	const char *why = NULL;
	bool is_array;
	int rc;

	n->stats.http_requests++;
	if (!r)
		goto internal;
	if (jsontext_array_items(body, len, &is_array, collect_item, r)) {
		if (!r->too_many) {
			n->stats.http_errors++;
			http_error(done, ctx, 400, "bad_json", "the body is not one JSON value");
			goto out;
		}
		why = "send 1 to 100 notifications per request";
		goto bad;
	}
	if (!is_array) {
		r->items[0].text = (struct json_span){ body, len };
		r->count = 1;
	}
	if (r->count < 1) {
		why = "send 1 to 100 notifications per request";
		goto bad;
	}
	req = calloc(1, sizeof(*req));
	if (!req || !(req->ids = calloc((size_t)r->count, sizeof(*req->ids))))
		goto internal;
	/* validate everything before storing anything */
	for (int i = 0; i < r->count; i++) {
		struct req_item *it = &r->items[i];

		why = notification_parse(it->text.p, it->text.len, &it->f, true, false);
		if (why)
			goto bad;
		if (it->f.id.p)
			notification_given_id(&it->f, req->ids[i]);
		else
			idgen_message(n->ids, req->ids[i]);
		it->ts = notification_ts(&it->f, clock_now_ms());
	}
	req->n_ids = (size_t)r->count;
	req->done = done;
	req->ctx = ctx;
	json = calloc((size_t)r->count, sizeof(*json));
	if (!json)
		goto internal;
	for (int i = 0; i < r->count; i++) {
		notification_canonical(&json[i], &r->items[i].f, req->ids[i], r->items[i].ts);
		if (json[i].oom)
			goto internal;
	}
	/* our own copies first: a request this edge cannot keep is refused before anything is
	 * published, so a 503 means nothing went anywhere */
	if ((rc = store_items(n, r, req, json)) < 0) {
		n->stats.http_errors++;
		log_error("notify_http_not_stored", "items=%d err=\"%s\" detail=\"%s\"", r->count, mqe_strerror(rc),
			  inbox_last_error(n->inbox));
		http_error(done, ctx, 503, "store_unavailable",
			   "the inbox store could not keep the notifications (disk full or I/O error); nothing was published");
		goto out;
	}
	/* the broker's PUBACKs make it durable for every edge */
	publish_items(n, r, req, json);
	if (req->failed)
		n->stats.http_errors++;
	req->next = n->requests;
	n->requests = req;
	if (req->outstanding == 0)
		finish_request(n, req);
	req = NULL;
	goto out;
bad:
	n->stats.http_errors++;
	http_error(done, ctx, 400, "bad_request", why);
	goto out;
internal:
	n->stats.http_errors++;
	http_error(done, ctx, 500, "internal", "out of memory");
out:
	if (req)
		free(req->ids);
	free(req);
	for (int i = 0; json && i < r->count; i++)
		textbuf_free(&json[i]);
	free(json);
	free(r);
}

void notify_http_cancel(struct notify *n, void *ctx)
{
	for (struct ingest_req *r = n->requests; r; r = r->next)
		if (r->ctx == ctx)
			r->ctx = NULL;
}
