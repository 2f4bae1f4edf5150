/*
 * api.c - the server HTTP API's routes (api.h): publish, broadcast and disconnect go out on the
 * live MQTT session at QoS 1 and are answered once the broker acknowledged every publish (info is
 * edge_list.c's).
 * Owns: the calls waiting for PUBACKs (struct api_call; each publish's cookie is one of its
 * struct api_pub). Must not: speak HTTP (http.c), parse or write bodies
 * (wire/server_api.c), or close sockets itself (dispatch_disconnect goes through fan-out).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "dispatch.h"
#include "edge.h"
#include "mqedge/base/clock.h"
#include "mqedge/base/err.h"
#include "mqedge/base/list.h"
#include "mqedge/base/log.h"
#include "mqedge/bridge/bridge.h"
#include "mqedge/wire/api_body.h"
#include "mqedge/wire/server_api.h"

static const struct {
	const char *name, *path;
} endpoints[API_N_ENDPOINTS] = {
	[API_NOTIFICATIONS] = { "notifications", "/api/v1/notifications" },
	[API_PUBLISH] = { "publish", "/api/v1/publish" },
	[API_BROADCAST] = { "broadcast", "/api/v1/broadcast" },
	[API_DISCONNECT] = { "disconnect", "/api/v1/disconnect" },
	[API_INFO] = { "info", "/api/v1/info" },
};

const unsigned api_statuses[API_N_STATUSES] = { 200, 201, 400, 401, 404, 405, 413, 500, 503, 0 };

size_t api_status_index(unsigned status)
{
	for (size_t i = 0; i + 1 < API_N_STATUSES; i++)
		if (api_statuses[i] == status)
			return i;
	return API_N_STATUSES - 1;
}

int api_endpoint_of(const char *path)
{
	for (int i = 0; i < API_N_ENDPOINTS; i++)
		if (!strcmp(path, endpoints[i].path))
			return i;
	return -1;
}

const char *api_endpoint_name(enum api_endpoint ep)
{
	return endpoints[ep].name;
}

const char *api_endpoint_path(enum api_endpoint ep)
{
	return endpoints[ep].path;
}

/* ---- calls waiting for PUBACKs ---- */

struct api_call;

/* One publish of a call: the bridge's cookie until its PUBACK (or abandonment) comes back. */
struct api_pub {
	struct bridge_cookie cookie;		/* first: the live bridge's cookies say what they are */
	struct api_call *call;
	int status;				/* 1: waiting; 0: taken; < 0: not taken */
	char room[TOPICS_ID_MAX + 1];		/* broadcast: the room */
	char id[ENVELOPE_ID_MAX + 1];		/* the message id */
};

struct api_call {
	struct api_call *prev, *next;		/* in api.calls */
	struct edge *edge;
	enum api_endpoint ep;
	api_done_fn done;
	void *ctx;				/* NULL once cancelled: nobody to answer */
	int outstanding;			/* cookies the bridge still holds */
	int64_t ts;
	/* disconnect */
	char user[TOPICS_ID_MAX + 1];
	uint16_t code;
	char reason[SERVER_API_REASON_MAX + 1];
	bool revoked;
	int64_t before;				/* seconds (0: lifted) */
	uint32_t closed_here;
	size_t n;
	struct api_pub pubs[];
};

static void answer_error(api_done_fn done, void *ctx, unsigned status, const char *code, const char *message)
{
	char body[API_BODY_ERROR_MAX];

	done(ctx, status, body, (size_t)api_body_error(body, code, message));
}

static void answer_text(struct api_call *c, unsigned status, struct textbuf *b)
{
	if (b->oom)
		answer_error(c->done, c->ctx, 500, "internal", "out of memory");
	else
		c->done(c->ctx, status, b->p, b->len);
	textbuf_free(b);
}

static void finish_publish(struct api_call *c)
{
	char body[SERVER_API_PUBLISHED_MAX];

	if (c->pubs[0].status < 0)
		answer_error(c->done, c->ctx, 503, "unavailable", "the broker did not take the message");
	else
		c->done(c->ctx, 200, body, (size_t)server_api_published(body, c->pubs[0].id, c->ts));
}

static void finish_broadcast(struct api_call *c)
{
	struct server_api_result *r = calloc(c->n, sizeof(*r));
	struct textbuf b = { 0 };
	size_t failed = 0;

	if (!r) {
		answer_error(c->done, c->ctx, 500, "internal", "out of memory");
		return;
	}
	for (size_t i = 0; i < c->n; i++) {
		r[i].room = c->pubs[i].room;
		r[i].id = c->pubs[i].id;
		if (c->pubs[i].status < 0) {
			r[i].error = "unavailable";
			failed++;
		}
	}
	/* a partial failure is an error (503) that still says which rooms got their message */
	server_api_broadcast_body(&b, r, c->n, c->ts, failed ? "unavailable" : NULL,
				  failed == c->n ? "the broker took none of the messages" :
						   "the broker did not take every message; see results");
	free(r);
	answer_text(c, failed ? 503 : 200, &b);
}

static void finish_disconnect(struct api_call *c)
{
	struct edge *e = c->edge;
	struct textbuf b = { 0 };

	for (size_t i = 0; i < c->n; i++) {
		if (c->pubs[i].status < 0) {
			if (c->ctx)
				answer_error(c->done, c->ctx, 503, "unavailable",
					     "the broker did not take the disconnect; it may have reached some edges: retry");
			return;
		}
	}
	/* our own copies come back through the broker too; acting now does not depend on their order
	 * against the PUBACKs (both are idempotent) */
	if (c->revoked) {
		char payload[SERVER_API_REVOKE_MSG_MAX];
		int n = c->before ? server_api_revoke_msg(payload, c->before, c->ts) : 0;

		if (revocations_apply(&e->revocations, c->user, payload, (size_t)n) < 0)
			log_error("revocation_not_applied", "user=%s", c->user);
	}
	e->api.stats.disconnect_closes += dispatch_disconnect(e, c->user, c->code, c->reason);
	log_info("api_disconnect", "user=%s code=%u closed_here=%u refuse_tokens_before=%lld", c->user, c->code,
		 c->closed_here, c->revoked ? (long long)c->before : -1LL);
	if (!c->ctx)
		return;
	server_api_disconnect_body(&b, c->user, c->closed_here, c->revoked, c->before, c->ts);
	answer_text(c, 200, &b);
}

static void call_free(struct api *a, struct api_call *c)
{
	DLIST_UNLINK(a->calls, c, prev, next);
	free(c);
}

static void finish(struct api_call *c)
{
	struct edge *e = c->edge;

	if (c->ep == API_DISCONNECT)
		finish_disconnect(c);	/* closes here even when the client went away */
	else if (c->ctx && c->ep == API_PUBLISH)
		finish_publish(c);
	else if (c->ctx)
		finish_broadcast(c);
	call_free(&e->api, c);
}

/* A publish's PUBACK (status >= 0, BRIDGE_PUB_NO_SUBSCRIBERS included: taken all the same), or
 * its abandonment (< 0). */
static void pub_done(struct bridge_cookie *cookie, void *ctx, int status)
{
	struct api_pub *p = (struct api_pub *)cookie;
	struct api_call *c = p->call;

	(void)ctx;
	p->status = status < 0 ? status : 0;
	if (--c->outstanding == 0)
		finish(c);
}

static struct api_call *call_new(struct edge *e, enum api_endpoint ep, size_t n, api_done_fn done, void *ctx)
{
	struct api_call *c = calloc(1, sizeof(*c) + n * sizeof(c->pubs[0]));

	if (!c)
		return NULL;
	c->edge = e;
	c->ep = ep;
	c->done = done;
	c->ctx = ctx;
	c->n = n;
	c->ts = clock_now_ms();
	for (size_t i = 0; i < n; i++) {
		c->pubs[i].cookie.done = pub_done;
		c->pubs[i].call = c;
		c->pubs[i].status = 1;
	}
	return c;
}

/* Publishes payload to topic with the call's i-th cookie. A refusal marks it failed at once. */
static void call_publish(struct api_call *c, size_t i, const char *topic, const void *payload, size_t len, bool retain)
{
	int rc = bridge_publish(c->edge->bridge, topic, payload, len, retain, &c->pubs[i]);

	if (rc) {
		log_warn("api_publish_refused", "topic=%s err=\"%s\"", topic, mqe_strerror(rc));
		c->pubs[i].status = rc;
		return;
	}
	c->outstanding++;
}

/* Links c in; answers now when nothing is waiting for a PUBACK. */
static void call_start(struct api_call *c)
{
	struct api *a = &c->edge->api;

	DLIST_PUSH(a->calls, c, prev, next);
	if (!c->outstanding)
		finish(c);
}

/* The envelope of a backend's message (as the edge builds for a client's publish) to topic. */
static int publish_envelope(struct api_call *c, size_t i, enum topic_kind kind, const char *target, const char *from,
			    struct json_span data)
{
	struct edge *e = c->edge;
	char topic[TOPICS_TOPIC_MAX];
	size_t cap = envelope_build_size(ENVELOPE_ID_MAX, TOPICS_ID_MAX, data.len);
	char *buf = malloc(cap);
	int n;

	if (!buf)
		return -ENOMEM;
	if (topics_build(topic, sizeof(topic), e->cfg->topic_prefix, kind, target) < 0 ||
	    (n = envelope_build(buf, cap, c->pubs[i].id, c->ts, *from ? from : NULL, data.p, data.len)) < 0) {
		free(buf);
		return -EINVAL;
	}
	call_publish(c, i, topic, buf, (size_t)n, false);
	free(buf);
	return 0;
}

static void submit_publish(struct edge *e, const char *body, size_t len, api_done_fn done, void *ctx)
{
	static const enum topic_kind kinds[] = {
		[SERVER_API_ROOM] = TOPIC_ROOM, [SERVER_API_USER] = TOPIC_DIRECT, [SERVER_API_DEVICE] = TOPIC_CMD,
	};
	struct server_api_publish req;
	struct server_api_error err;
	struct api_call *c;

	if (server_api_parse_publish(body, len, &req, &err)) {
		answer_error(done, ctx, 400, err.code, err.message);
		return;
	}
	c = call_new(e, API_PUBLISH, 1, done, ctx);
	if (!c) {
		answer_error(done, ctx, 500, "internal", "out of memory");
		return;
	}
	if (*req.id)
		memcpy(c->pubs[0].id, req.id, sizeof(req.id));
	else
		idgen_message(&e->ids, c->pubs[0].id);
	if (publish_envelope(c, 0, kinds[req.target], req.to, req.from, req.data) < 0) {
		free(c);
		answer_error(done, ctx, 500, "internal", "could not build the message");
		return;
	}
	call_start(c);
}

static void submit_broadcast(struct edge *e, const char *body, size_t len, api_done_fn done, void *ctx)
{
	struct server_api_broadcast *req = malloc(sizeof(*req));
	struct server_api_error err;
	struct api_call *c = NULL;

	if (!req)
		goto nomem;
	if (server_api_parse_broadcast(body, len, req, &err)) {
		answer_error(done, ctx, 400, err.code, err.message);
		goto out;
	}
	c = call_new(e, API_BROADCAST, req->n_rooms, done, ctx);
	if (!c)
		goto nomem;
	for (size_t i = 0; i < req->n_rooms; i++) {
		memcpy(c->pubs[i].room, req->rooms[i], sizeof(req->rooms[i]));
		/* a given id serves every room: edges dedupe by (topic, id) */
		if (*req->id)
			memcpy(c->pubs[i].id, req->id, sizeof(req->id));
		else
			idgen_message(&e->ids, c->pubs[i].id);
		int rc = publish_envelope(c, i, TOPIC_ROOM, req->rooms[i], req->from, req->data);

		if (rc < 0)
			c->pubs[i].status = rc;
	}
	call_start(c);
	goto out;
nomem:
	answer_error(done, ctx, 500, "internal", "out of memory");
out:
	free(req);
}

static void submit_disconnect(struct edge *e, const char *body, size_t len, api_done_fn done, void *ctx)
{
	struct server_api_disconnect req;
	struct server_api_error err;
	char topic[TOPICS_TOPIC_MAX], msg[SERVER_API_DISCONNECT_MSG_MAX], rev[SERVER_API_REVOKE_MSG_MAX];
	struct api_call *c;
	size_t i = 0;
	int n;

	if (server_api_parse_disconnect(body, len, &req, &err)) {
		answer_error(done, ctx, 400, err.code, err.message);
		return;
	}
	c = call_new(e, API_DISCONNECT, req.revoke == SERVER_API_REVOKE_NONE ? 1 : 2, done, ctx);
	if (!c) {
		answer_error(done, ctx, 500, "internal", "out of memory");
		return;
	}
	memcpy(c->user, req.user, sizeof(req.user));
	memcpy(c->reason, req.reason, sizeof(req.reason));
	c->code = req.code;
	/* the revocation first: every edge gets it before the disconnect (one session keeps QoS 1
	 * order across topics), so a client closed there cannot come back with its old token */
	if (req.revoke != SERVER_API_REVOKE_NONE) {
		c->revoked = true;
		c->before = req.revoke == SERVER_API_REVOKE_NOW ? c->ts / 1000 : req.before;
		n = c->before ? server_api_revoke_msg(rev, c->before, c->ts) : 0;	/* empty: lifted */
		if (topics_build(topic, sizeof(topic), e->cfg->topic_prefix, TOPIC_REVOKE, req.user) < 0)
			goto internal;
		call_publish(c, i++, topic, rev, (size_t)n, true);
	}
	n = server_api_disconnect_msg(msg, req.code, req.reason, c->ts);
	if (topics_build(topic, sizeof(topic), e->cfg->topic_prefix, TOPIC_DISCONNECT, req.user) < 0)
		goto internal;
	/* what this edge closes: its connections of the user now (closed at the PUBACK) */
	c->closed_here = dispatch_user_connections_by_id(e, req.user);
	call_publish(c, i, topic, msg, (size_t)n, false);
	call_start(c);
	return;
internal:
	/* ids were validated by the parser: a topic that does not fit is our bug, and nothing went out
	 * unless the revocation did (its PUBACK still comes to the cookie) */
	c->pubs[i].status = -EINVAL;
	c->n = i + 1;
	call_start(c);
}

void api_submit(struct edge *e, enum api_endpoint ep, const char *body, size_t len, api_done_fn done, void *ctx)
{
	/* nothing is queued for a broker that is away: a 503 means nothing was published */
	if (!bridge_is_up(e->bridge)) {
		answer_error(done, ctx, 503, "unavailable", "the broker is unavailable; nothing was published");
		return;
	}
	switch (ep) {
	case API_PUBLISH:
		submit_publish(e, body, len, done, ctx);
		break;
	case API_BROADCAST:
		submit_broadcast(e, body, len, done, ctx);
		break;
	case API_DISCONNECT:
		submit_disconnect(e, body, len, done, ctx);
		break;
	default:
		answer_error(done, ctx, 500, "internal", "not a POST endpoint of the server API");
	}
}

void api_cancel(struct edge *e, void *ctx)
{
	for (struct api_call *c = e->api.calls; c; c = c->next)
		if (c->ctx == ctx)
			c->ctx = NULL;
}

/* ---- lifecycle ---- */

void api_init(struct api *a)
{
	*a = (struct api){ 0 };
}

void api_fini(struct api *a)
{
	while (a->calls) {
		a->calls->ctx = NULL;
		call_free(a, a->calls);
	}
}
