/*
 * sync.c - keeps read marks and mute settings in step across edges: what one edge's user does is
 * published on {prefix}/user/{id}/read and .../settings (retained); every edge (this one too,
 * harmlessly) applies it to its store and cache and tells the user's local tabs.
 * Owns: nothing but the translation between those topics and the store. Must not: touch
 * SQLite or sockets directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/base/err.h"
#include "mqedge/base/log.h"
#include "mqedge/bridge/bridge.h"
#include "mqedge/wire/edge_frame.h"
#include "mutes.h"
#include "notify_int.h"

void notify__publish(struct notify *n, enum topic_kind kind, const char *user, const char *text, size_t len, bool retain)
{
	char topic[TOPICS_TOPIC_MAX];
	int rc = topics_build(topic, sizeof(topic), n->opt.topic_prefix, kind, user) < 0 ? -EINVAL :
		 bridge_publish(n->bridge, topic, text, len, retain, NULL);

	if (rc < 0)
		log_warn("inbox_publish_failed", "user=%s kind=%d err=\"%s\"", user, kind, mqe_strerror(rc));
}

void notify__send_user_text(struct notify *n, const char *user, const char *text, size_t len)
{
	struct frame *f = frame_from_text(text, len);

	if (!f)
		return;
	fanout_send_channel(n->fanout, fanout_channel(n->fanout, TOPIC_DIRECT, user), f);
	frame_unref(f);
}

void notify__on_read(struct notify *n, const char *user, const void *payload, size_t len)
{
	struct read_ids *ids = malloc(sizeof(*ids));
	struct textbuf event = { 0 };
	int64_t ts;
	bool all;

	if (!ids || notification_read_parse(payload, len, &all, ids, &ts)) {
		log_warn("read_rejected", "user=%s reason=\"neither ids nor all\"", user);
		free(ids);
		return;
	}
	if (all) {
		char buf[EDGE_FRAME_MAX];

		if (n->inbox)
			inbox_mark_all_read(n->inbox, user, ts);
		notify__send_user_text(n, user, buf, (size_t)edge_frame_read_all(buf, ts));
	} else {
		if (n->inbox)
			inbox_mark_read(n->inbox, user, ids->ptrs, ids->count);
		edge_frame_read_ids(&event, ids->ptrs, ids->count);
		if (!event.oom)
			notify__send_user_text(n, user, event.p, event.len);
	}
	textbuf_free(&event);
	free(ids);
}

void notify__on_settings(struct notify *n, const char *user, const void *payload, size_t len)
{
	struct mute_list *l = malloc(sizeof(*l));
	int64_t ts;

	if (!l || notification_settings_parse(payload, len, l, &ts)) {
		if (len)	/* an empty retained message just clears the topic */
			log_warn("settings_rejected", "user=%s", user);
	} else if (n->inbox) {
		if (inbox_settings_put(n->inbox, user, payload, len, ts) == 0 &&
		    mutes_set(n->mutes, user, l->e, l->count, ts) < 0)
			log_error("mutes_update_failed", "user=%s reason=nomem", user);
	}
	free(l);
}

static void load_one(void *ctx, const char *user, const char *json)
{
	struct notify *n = ctx;
	struct mute_list *l = malloc(sizeof(*l));
	int64_t ts;

	if (!l || !json || notification_settings_parse(json, strlen(json), l, &ts) ||
	    mutes_set(n->mutes, user, l->e, l->count, ts) < 0)
		log_warn("mutes_load_failed", "user=%s", user);
	free(l);
}

void notify__load_mutes(struct notify *n)
{
	if (n->inbox && inbox_settings_each(n->inbox, load_one, n) < 0)
		log_error("mutes_load_failed", "err=\"%s\"", inbox_last_error(n->inbox));
}
