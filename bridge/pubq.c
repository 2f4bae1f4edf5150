/*
 * pubq.c - a bridge's queued and in-flight publishes (pubq.h). Owns the queued copies and the
 * mid table. Must not: publish (mqtt_client.c does) or call the user's hooks itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pubq.h"

#define MID_SLOTS 65536

int pubq_init(struct pubq *q, size_t max_pending, size_t max_pending_bytes)
{
	memset(q, 0, sizeof(*q));
	q->max_pending = max_pending;
	q->max_pending_bytes = max_pending_bytes;
	q->inflight = calloc(MID_SLOTS, sizeof(*q->inflight));
	q->inflight_used = calloc(MID_SLOTS, sizeof(*q->inflight_used));
	if (!q->inflight || !q->inflight_used) {
		pubq_fini(q);
		return -ENOMEM;
	}
	return 0;
}

void pubq_fini(struct pubq *q)
{
	struct pubq_item *it;

	while ((it = pubq_pop(q)))
		free(it);
	free(q->inflight);
	free(q->inflight_used);
	q->inflight = NULL;
	q->inflight_used = NULL;
	q->inflight_count = 0;
}

bool pubq_full(const struct pubq *q, size_t len)
{
	return pubq_pending(q) >= q->max_pending || q->bytes + len > q->max_pending_bytes;
}

int pubq_push(struct pubq *q, const char *topic, const void *payload, size_t len, bool retain, void *cookie)
{
	size_t topic_len = strlen(topic);
	struct pubq_item *it = malloc(sizeof(*it) + topic_len + 1 + len);

	if (!it)
		return -ENOMEM;
	it->next = NULL;
	it->cookie = cookie;
	it->retain = retain;
	it->topic_len = topic_len;
	it->len = len;
	memcpy(it->data, topic, topic_len + 1);
	memcpy(it->data + topic_len + 1, payload, len);
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->count++;
	q->bytes += len;
	return 0;
}

struct pubq_item *pubq_pop(struct pubq *q)
{
	struct pubq_item *it = q->head;

	if (!it)
		return NULL;
	q->head = it->next;
	if (!q->head)
		q->tail = NULL;
	q->count--;
	q->bytes -= it->len;
	return it;
}

void pubq_inflight_add(struct pubq *q, int mid, void *cookie)
{
	if (mid <= 0 || mid >= MID_SLOTS || q->inflight_used[mid])
		return;
	q->inflight_used[mid] = true;
	q->inflight[mid] = cookie;
	q->inflight_count++;
}

bool pubq_inflight_take(struct pubq *q, int mid, void **cookie)
{
	if (mid <= 0 || mid >= MID_SLOTS || !q->inflight_used[mid])
		return false;
	*cookie = q->inflight[mid];
	q->inflight_used[mid] = false;
	q->inflight[mid] = NULL;
	q->inflight_count--;
	return true;
}

void pubq_abandon(struct pubq *q, void (*fn)(void *ctx, void *cookie), void *ctx)
{
	struct pubq_item *it;

	while ((it = pubq_pop(q))) {
		if (it->cookie)
			fn(ctx, it->cookie);
		free(it);
	}
	for (int mid = 1; mid < MID_SLOTS && q->inflight_count; mid++) {
		void *cookie;

		if (pubq_inflight_take(q, mid, &cookie) && cookie)
			fn(ctx, cookie);
	}
}
