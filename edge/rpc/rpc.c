/*
 * rpc.c - rpc calls in flight: the request publish, the answer, the deadline (rpc.h).
 * Owns: struct rpc_call (one per request), the correlation map, the deadline list, the response
 * topic's subscription. Must not: check permissions (dispatch does), touch sockets (fan-out) or
 * libmosquitto (the bridge).
 *
 * A call lives until two things happened: it was answered (reply, no_backend, timeout,
 * unavailable) and the bridge gave its cookie back (PUBACK or abandon). The first answer wins;
 * whatever comes after it is dropped (and a backend's late answer counted).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/base/list.h"
#include "mqedge/base/log.h"
#include "mqedge/rpc/rpc.h"
#include "mqedge/wire/edge_frame.h"
#include "mqedge/wire/rpc_reply.h"
#include "mqedge/wire/topics.h"

#define CORR_MAX 40

struct rpc_call {
	struct bridge_cookie cookie;		/* first: the bridge hands it back (dispatch_on_published) */
	struct rpc *rpc;
	struct rpc_call *prev, *next;		/* deadline list, while unanswered */
	struct rpc_call *c_prev, *c_next;	/* the caller's list, while it has a caller */
	struct rpc_caller *caller;		/* NULL once the caller went away */
	int64_t deadline_ms;
	bool answered;
	bool published;				/* the bridge holds the cookie */
	char ref[CLIENT_FRAME_REF_MAX + 3];
	char corr[CORR_MAX];
};

/* ---- options ---- */

/* One PATTERN=MS of rpc-timeouts (tok is modified). 0 or -1. */
static int parse_timeout(char *tok, struct rpc_timeout_pattern *out)
{
	char *eq = strchr(tok, '='), *end;
	long long ms;

	if (!eq || eq == tok)
		return -1;
	*eq = '\0';
	ms = strtoll(eq + 1, &end, 10);
	if (end == eq + 1 || *end || ms < 1 || ms > RPC_TIMEOUT_MAX_MS)
		return -1;
	for (const char *c = tok; *c; c++)
		if (*c != '*' && !topics_id_char((unsigned char)*c))
			return -1;
	*out = (struct rpc_timeout_pattern){ tok, ms };
	return 0;
}

static int parse_timeouts(struct rpc *r, char *err, size_t errlen)
{
	size_t n = 1;
	char *save = NULL;

	for (const char *p = r->timeouts_text; *p; p++)
		n += *p == ',';
	r->pats = calloc(n, sizeof(*r->pats));
	if (!r->pats)
		return -ENOMEM;
	for (char *tok = strtok_r(r->timeouts_text, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char shown[80];

		snprintf(shown, sizeof(shown), "%s", tok);
		if (parse_timeout(tok, &r->pats[r->n_pats])) {
			snprintf(err, errlen, "rpc-timeouts: '%s' is not PATTERN=MS (MS 1..%d; the pattern of id characters and *)",
				 shown, RPC_TIMEOUT_MAX_MS);
			return -EINVAL;
		}
		r->n_pats++;
	}
	return 0;
}

int rpc_init(struct rpc *r, const struct rpc_options *opt, struct fanout *fo, char *err, size_t errlen)
{
	int n;

	memset(r, 0, sizeof(*r));
	r->opt = *opt;
	r->fo = fo;
	if (opt->timeout_ms < 1 || opt->timeout_ms > RPC_TIMEOUT_MAX_MS) {
		snprintf(err, errlen, "rpc-timeout must be 1..%d ms", RPC_TIMEOUT_MAX_MS);
		return -EINVAL;
	}
	n = topics_build(r->reply_topic, sizeof(r->reply_topic), opt->topic_prefix, TOPIC_RPC_REPLY, opt->edge_id);
	r->timeouts_text = strdup(opt->timeouts ? opt->timeouts : "");
	if (n < 0 || !r->timeouts_text) {
		snprintf(err, errlen, "rpc: out of memory");
		free(r->timeouts_text);
		r->timeouts_text = NULL;
		return -ENOMEM;
	}
	return parse_timeouts(r, err, errlen);
}

int64_t rpc_timeout_of(const struct rpc *r, const char *method)
{
	for (size_t i = 0; i < r->n_pats; i++)
		if (topics_pattern_match(r->pats[i].pattern, method))
			return r->pats[i].ms;
	return r->opt.timeout_ms;
}

int rpc_start(struct rpc *r, struct bridge *b)
{
	r->bridge = b;
	r->reply_sub = bridge_subscribe(b, r->reply_topic, NULL);
	return r->reply_sub ? 0 : -ENOMEM;
}

/* ---- a call's life ---- */

static void unlink_caller(struct rpc_call *call)
{
	if (!call->caller)
		return;
	DLIST_UNLINK(call->caller->calls, call, c_prev, c_next);
	call->caller->inflight--;
	call->caller = NULL;
}

static void free_if_done(struct rpc_call *call)
{
	if (call->answered && !call->published)
		free(call);
}

/* Ends the call's open part: no deadline, not findable by its correlation id, no caller. */
static void settle(struct rpc *r, struct rpc_call *call)
{
	call->answered = true;
	if (call->prev)
		call->prev->next = call->next;
	else
		r->first = call->next;
	if (call->next)
		call->next->prev = call->prev;
	else
		r->last = call->prev;
	call->prev = call->next = NULL;
	strmap_del(&r->calls, call->corr);
	unlink_caller(call);
	r->stats.inflight--;
}

/* Answers with an edge-side error (the caller may be gone: then nothing is sent). */
static void answer_error(struct rpc *r, struct rpc_call *call, const char *code, const char *message)
{
	if (call->caller)
		fanout_send_error(r->fo, call->caller->peer, call->ref, code, message);
	settle(r, call);
}

static void on_published(struct bridge_cookie *cookie, void *ctx, int status)
{
	struct rpc_call *call = (struct rpc_call *)cookie;
	struct rpc *r = call->rpc;

	(void)ctx;
	call->published = false;
	if (!call->answered) {
		if (status == BRIDGE_PUB_NO_SUBSCRIBERS) {
			r->stats.no_backend++;
			answer_error(r, call, "no_backend", "no backend is subscribed for this method");
		} else if (status < 0) {
			r->stats.unavailable++;
			answer_error(r, call, "unavailable", "the broker did not take the request");
		}
	}
	free_if_done(call);
}

/* Inserts call by deadline; calls mostly arrive in deadline order, so the walk starts at the end. */
static void insert_by_deadline(struct rpc *r, struct rpc_call *call)
{
	struct rpc_call *after = r->last;

	while (after && after->deadline_ms > call->deadline_ms)
		after = after->prev;
	call->prev = after;
	call->next = after ? after->next : r->first;
	if (call->next)
		call->next->prev = call;
	else
		r->last = call;
	if (after)
		after->next = call;
	else
		r->first = call;
}

static void refuse(struct rpc *r, struct rpc_caller *c, const struct client_op *op, uint64_t *counter,
		   const char *code, const char *message)
{
	(*counter)++;
	fanout_send_error(r->fo, c->peer, op->ref, code, message);
}

void rpc_call(struct rpc *r, struct rpc_caller *c, const struct client_op *op, int64_t now_ms)
{
	char topic[TOPICS_TOPIC_MAX];
	int64_t timeout_ms = rpc_timeout_of(r, op->id);
	struct bridge_user_prop props[4] = {
		{ "user", c->user }, { "kind", c->kind }, { "session", c->session }, { "edge", r->opt.edge_id },
	};
	struct bridge_request req = { .response_topic = r->reply_topic, .content_type = "application/json",
				      .expiry_s = (uint32_t)((timeout_ms + 999) / 1000), .user_props = props,
				      .n_user_props = 4 };
	struct rpc_call *call;
	struct strmap_entry *slot;
	int rc;

	r->stats.requests++;
	if (c->inflight >= r->opt.max_inflight) {
		refuse(r, c, op, &r->stats.too_many, "too_many_requests", "too many rpc requests in flight on this connection");
		return;
	}
	if (!r->bridge || !bridge_is_up(r->bridge)) {
		refuse(r, c, op, &r->stats.unavailable, "unavailable", "the broker is away; nothing was sent");
		return;
	}
	if (topics_build(topic, sizeof(topic), r->opt.topic_prefix, TOPIC_RPC, op->id) < 0)
		goto internal;
	call = calloc(1, sizeof(*call));
	if (!call)
		goto internal;
	call->cookie.done = on_published;
	call->rpc = r;
	snprintf(call->ref, sizeof(call->ref), "%s", op->ref);
	snprintf(call->corr, sizeof(call->corr), "%llx.%llx", (unsigned long long)r->opt.boot_ms,
		 (unsigned long long)++r->seq);
	slot = strmap_put(&r->calls, call->corr);
	if (!slot) {
		free(call);
		goto internal;
	}
	req.correlation = call->corr;
	req.correlation_len = strlen(call->corr);
	rc = bridge_publish_request(r->bridge, topic, op->data, op->data_len, &req, call);
	if (rc) {
		strmap_del(&r->calls, call->corr);
		free(call);
		if (rc == -ENOMEM || rc == -EINVAL)
			goto internal;
		refuse(r, c, op, &r->stats.unavailable, "unavailable",
		       rc == -EPROTONOSUPPORT ? "rpc needs an MQTT 5 broker (mqtt-version)" : "the broker did not take the request");
		return;
	}
	slot->value = call;
	call->published = true;
	call->caller = c;
	DLIST_PUSH(c->calls, call, c_prev, c_next);
	c->inflight++;
	call->deadline_ms = now_ms + timeout_ms;
	insert_by_deadline(r, call);
	r->stats.inflight++;
	if (r->first == call && r->opt.schedule)
		r->opt.schedule(r->opt.schedule_ctx, timeout_ms);
	return;
internal:
	log_error("rpc_request_failed", "sess=%s method=%s", c->session, op->id);
	refuse(r, c, op, &r->stats.internal, "internal", "could not send the request");
}

void rpc_caller_gone(struct rpc *r, struct rpc_caller *c)
{
	(void)r;
	while (c->calls)
		unlink_caller(c->calls);
}

/* ---- answers ---- */

void rpc_on_reply(struct rpc *r, const void *payload, size_t len, const struct bridge_msg_props *props)
{
	char corr[CORR_MAX];
	struct rpc_call *call = NULL;
	struct rpc_reply reply;
	struct textbuf out = { 0 };

	if (props && props->correlation_len > 0 && props->correlation_len < sizeof(corr)) {
		memcpy(corr, props->correlation, props->correlation_len);
		corr[props->correlation_len] = '\0';
		if (!memchr(corr, '\0', props->correlation_len))
			call = strmap_get(&r->calls, corr);
	}
	if (!call) {
		r->stats.late++;
		log_debug("rpc_answer_dropped", "reason=%s", props ? "no_request_in_flight" : "no_correlation_data");
		return;
	}
	if (len > RPC_REPLY_MAX_BYTES || rpc_reply_parse(payload, len, &reply)) {
		log_info("rpc_bad_reply", "corr=%s bytes=%zu", call->corr, len);
		r->stats.bad_reply++;
		answer_error(r, call, "bad_reply", "the backend's answer was not valid");
		free_if_done(call);
		return;
	}
	if (call->caller) {
		if (reply.is_error)
			edge_frame_error_json(&out, call->ref, reply.code.p, reply.code.len, reply.message.p, reply.message.len);
		else
			edge_frame_ok_data(&out, call->ref, reply.data.p, reply.data.len);
		if (out.oom)
			fanout_send_error(r->fo, call->caller->peer, call->ref, "internal", "could not pass the answer on");
		else
			fanout_send_text(r->fo, call->caller->peer, out.p, out.len);
		textbuf_free(&out);
	}
	if (reply.is_error)
		r->stats.backend_error++;
	else
		r->stats.ok++;
	settle(r, call);
	free_if_done(call);
}

int64_t rpc_tick(struct rpc *r, int64_t now_ms)
{
	while (r->first && r->first->deadline_ms <= now_ms) {
		struct rpc_call *call = r->first;

		r->stats.timeout++;
		answer_error(r, call, "timeout", "the backend did not answer in time");
		free_if_done(call);
	}
	return r->first ? r->first->deadline_ms - now_ms : -1;
}

void rpc_fini(struct rpc *r)
{
	/* the bridge is gone by now (its abandon answered what it held): answer and free the rest */
	while (r->first) {
		struct rpc_call *call = r->first;

		answer_error(r, call, "unavailable", "the edge is stopping");
		call->published = false;
		free_if_done(call);
	}
	strmap_free(&r->calls);
	free(r->pats);
	free(r->timeouts_text);
}
