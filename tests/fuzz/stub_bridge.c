/*
 * stub_bridge.c - bridge.h in memory (stub_bridge.h): no socket, no libmosquitto, no loop.
 * Subscriptions are a list; publishes a bounded queue of copies the fuzz target acknowledges,
 * delivers back or abandons through stub_bridge.h. Hooks may publish, subscribe or unsubscribe
 * while they run, as they do with the real bridge; like it, on_published is only called for
 * publishes made with a cookie.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "stub_bridge.h"

#define STUB_MAX_PENDING 4096
#define STUB_MAX_BYTES (16u << 20)

struct bridge_sub {
	struct bridge_sub *next;
	void *user;
	bool active;
	char topic[];
};

#define STUB_CORR_MAX 64

struct bridge;
static bool any_match(const struct bridge *b, const char *topic);

struct stub_pub {
	struct stub_pub *next;
	void *cookie;
	size_t corr_len;		/* a request's Correlation Data (0: a plain publish) */
	char corr[STUB_CORR_MAX];
	char *topic;
	size_t len;
	unsigned char payload[];
};

struct bridge {
	struct bridge_hooks hooks;
	void *ctx;
	bool up, stopped;
	struct bridge_sub *subs;
	struct stub_pub *head, **tail;
	char last_corr[STUB_CORR_MAX];	/* of the last request delivered */
	size_t last_corr_len;
	size_t n_pending, bytes;
	struct bridge_stats stats;
};

struct bridge *bridge_create(struct bridge_loop *loop, const struct bridge_options *opt,
			     const struct bridge_hooks *hooks, void *ctx)
{
	struct bridge *b = calloc(1, sizeof(*b));

	(void)loop;
	(void)opt;
	if (!b)
		return NULL;
	b->hooks = *hooks;
	b->ctx = ctx;
	b->up = true;
	b->tail = &b->head;
	return b;
}

struct bridge_sub *bridge_subscribe(struct bridge *b, const char *topic, void *user)
{
	size_t len = strlen(topic);
	struct bridge_sub *s = calloc(1, sizeof(*s) + len + 1), **pp;

	if (!s)
		return NULL;
	memcpy(s->topic, topic, len + 1);
	s->user = user;
	for (pp = &b->subs; *pp; pp = &(*pp)->next)
		;
	*pp = s;
	b->stats.subscriptions++;
	return s;
}

bool bridge_sub_active(const struct bridge_sub *sub)
{
	return sub->active;
}

void bridge_unsubscribe(struct bridge *b, struct bridge_sub *sub)
{
	for (struct bridge_sub **pp = &b->subs; *pp; pp = &(*pp)->next) {
		if (*pp == sub) {
			*pp = sub->next;
			b->stats.subscriptions--;
			free(sub);
			return;
		}
	}
	abort();	/* not one of ours: a double unsubscribe */
}

int bridge_publish(struct bridge *b, const char *topic, const void *payload, size_t len, bool retain, void *cookie)
{
	struct stub_pub *p;

	(void)retain;
	if (len > 256u * 1024 * 1024 || b->stopped)
		return -EINVAL;
	if (b->n_pending >= STUB_MAX_PENDING || b->bytes + len > STUB_MAX_BYTES) {
		b->stats.publish_refused++;
		return -ENOBUFS;
	}
	p = malloc(sizeof(*p) + len + 1);
	if (!p || !(p->topic = strdup(topic))) {
		free(p);
		return -ENOMEM;
	}
	p->next = NULL;
	p->cookie = cookie;
	p->corr_len = 0;
	p->len = len;
	if (len)
		memcpy(p->payload, payload, len);
	p->payload[len] = '\0';
	*b->tail = p;
	b->tail = &p->next;
	b->n_pending++;
	b->bytes += len;
	b->stats.publishes++;
	return 0;
}

/* Requests go out like any publish (the target may answer them through the response topic). */
int bridge_publish_request(struct bridge *b, const char *topic, const void *payload, size_t len,
			   const struct bridge_request *req, void *cookie)
{
	if (!req->response_topic || !req->correlation || req->correlation_len > UINT16_MAX)
		return -EINVAL;
	int rc;

	if (!b->up)
		return -ENOTCONN;
	if (req->correlation_len > STUB_CORR_MAX)
		return -EINVAL;
	rc = bridge_publish(b, topic, payload, len, false, cookie);
	if (rc == 0) {
		struct stub_pub *p = (struct stub_pub *)((char *)b->tail - offsetof(struct stub_pub, next));

		memcpy(p->corr, req->correlation, req->correlation_len);
		p->corr_len = req->correlation_len;
	}
	return rc;
}

bool stub_bridge_answer(struct bridge *b, const char *topic, const void *payload, size_t len)
{
	struct bridge_msg_props props = { b->last_corr, b->last_corr_len };

	if (!b->up || !any_match(b, topic))
		return false;
	b->stats.messages_in++;
	b->hooks.on_message(b->ctx, topic, strlen(topic), payload, len, false, b->last_corr_len ? &props : NULL);
	if (b->hooks.on_batch_done)
		b->hooks.on_batch_done(b->ctx);
	return true;
}

bool bridge_is_up(const struct bridge *b)
{
	return b->up;
}

bool bridge_session_present(const struct bridge *b)
{
	(void)b;
	return true;
}

size_t bridge_broker(const struct bridge *b, const char **host, int *port)
{
	(void)b;
	if (host)
		*host = "stub";
	if (port)
		*port = 1883;
	return 0;
}

int bridge_move(struct bridge *b, size_t index)
{
	(void)b;
	return index == 0 ? 0 : -EINVAL;	/* one broker in memory */
}

void bridge_drop_connection(struct bridge *b)
{
	stub_bridge_abandon(b);
}

void bridge_get_stats(const struct bridge *b, struct bridge_stats *out)
{
	*out = b->stats;
	out->pending = b->n_pending;
}

void bridge_stop(struct bridge *b)
{
	stub_bridge_abandon(b);
	b->stopped = true;
}

bool bridge_stopped(const struct bridge *b)
{
	return b->stopped;
}

void bridge_destroy(struct bridge *b)
{
	if (!b)
		return;
	stub_bridge_abandon(b);
	while (b->subs) {
		struct bridge_sub *s = b->subs;

		b->subs = s->next;
		free(s);
	}
	free(b);
}

/* ---- the broker's side ---- */

bool stub_topic_matches(const char *filter, const char *topic)
{
	while (*filter) {
		if (filter[0] == '#' && filter[1] == '\0')
			return true;
		if (*filter == '+') {
			while (*topic && *topic != '/')
				topic++;
			filter++;
			continue;
		}
		if (*filter != *topic)
			return false;
		filter++;
		topic++;
	}
	return *topic == '\0';
}

size_t stub_bridge_pending(const struct bridge *b)
{
	return b->n_pending;
}

bool stub_bridge_published(const struct bridge *b, size_t i, const char **topic, const void **payload, size_t *len)
{
	const struct stub_pub *p = b->head;

	while (p && i--)
		p = p->next;
	if (!p)
		return false;
	*topic = p->topic;
	*payload = p->payload;
	*len = p->len;
	return true;
}

void stub_bridge_suback(struct bridge *b)
{
	/* one at a time from the head: a hook may unsubscribe (free) any other subscription */
	for (;;) {
		struct bridge_sub *s = b->subs;

		while (s && s->active)
			s = s->next;
		if (!s)
			return;
		s->active = true;
		if (b->hooks.on_subscribed)
			b->hooks.on_subscribed(b->ctx, s->user);
	}
}

static bool any_match(const struct bridge *b, const char *topic)
{
	for (const struct bridge_sub *s = b->subs; s; s = s->next)
		if (s->active && stub_topic_matches(s->topic, topic))
			return true;
	return false;
}

/* Takes the whole queue: what hooks publish meanwhile starts a new one. */
static struct stub_pub *take_queue(struct bridge *b)
{
	struct stub_pub *q = b->head;

	b->head = NULL;
	b->tail = &b->head;
	b->n_pending = 0;
	b->bytes = 0;
	return q;
}

void stub_bridge_deliver(struct bridge *b, bool echo)
{
	struct stub_pub *q = take_queue(b);

	while (q) {
		struct stub_pub *p = q;

		int status = 0;

		q = p->next;
		if (echo && b->up && any_match(b, p->topic)) {
			b->stats.messages_in++;
			b->hooks.on_message(b->ctx, p->topic, strlen(p->topic), p->payload, p->len, false, NULL);
		}
		if (p->corr_len) {	/* a request: the backend (the fuzz input) may answer it */
			memcpy(b->last_corr, p->corr, p->corr_len);
			b->last_corr_len = p->corr_len;
			/* as a broker: nobody subscribed to rpc topics here, unless an odd input made it so */
			status = any_match(b, p->topic) ? 0 : BRIDGE_PUB_NO_SUBSCRIBERS;
			if (echo && (p->corr[p->corr_len - 1] & 1))
				status = 0;	/* half the requests reach a backend somewhere else */
		}
		if (p->cookie && b->hooks.on_published)
			b->hooks.on_published(b->ctx, p->cookie, status);
		free(p->topic);
		free(p);
	}
	if (b->hooks.on_batch_done)
		b->hooks.on_batch_done(b->ctx);
}

void stub_bridge_abandon(struct bridge *b)
{
	struct stub_pub *q = take_queue(b);

	while (q) {
		struct stub_pub *p = q;

		q = p->next;
		if (p->cookie && b->hooks.on_published)
			b->hooks.on_published(b->ctx, p->cookie, -1);
		free(p->topic);
		free(p);
	}
}

bool stub_bridge_inject(struct bridge *b, const char *topic, const void *payload, size_t len, bool retained)
{
	if (!b->up || !any_match(b, topic))
		return false;
	b->stats.messages_in++;
	b->hooks.on_message(b->ctx, topic, strlen(topic), payload, len, retained, NULL);
	if (b->hooks.on_batch_done)
		b->hooks.on_batch_done(b->ctx);
	return true;
}

void stub_bridge_set_up(struct bridge *b, bool up)
{
	if (b->up == up)
		return;
	b->up = up;
	if (!up) {
		for (struct bridge_sub *s = b->subs; s; s = s->next)
			s->active = false;
	}
	if (b->hooks.on_state)
		b->hooks.on_state(b->ctx, up);
}
