/*
 * notify.c - the inbox subsystem's entry points: opening the store and the mute cache, the
 * topics the inbox session follows, periodic pruning, and the inbox bridge's hooks, which route
 * each message to ingest.c (notifications) or sync.c (read marks, settings) and commit each
 * burst before its PUBACKs leave.
 * Owns: struct notify's lifecycle. Must not: touch SQLite or sockets directly.
 *
 * Path of one offline notification: a backend publishes {prefix}/user/bob/notify (QoS 1) ->
 * every edge's inbox session -> notify_on_message -> notify__on_notification: validate, id, mute
 * check, inbox_put in the open transaction, push queued -> end of the read burst:
 * notify_on_batch_done commits, then pushes {"op":"notify"} to bob's peers on this edge; the
 * PUBACKs leave after that. Bob connects later to any edge -> welcome carries "unread" ->
 * notify_push_backlog sends the unread ones in arrival order -> {"op":"read"} marks them here and
 * publishes {prefix}/user/bob/read, which every other edge applies (sync.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mqedge/base/clock.h"
#include "mqedge/base/log.h"
#include "mqedge/bridge/bridge.h"
#include "mutes.h"
#include "notify_int.h"

#define PRUNE_BUDGET 500
#define NOTIFY_HANDLED_WINDOW 65536	/* far more than a broker redelivers after a reconnect */

int notify_init(struct notify *n, const struct notify_options *opt, struct fanout *fo, struct idgen *ids)
{
	char err[sizeof(n->store_error)];

	memset(n, 0, sizeof(*n));
	n->opt = *opt;
	n->fanout = fo;
	n->ids = ids;
	n->mutes = mutes_create();
	if (!n->mutes || (opt->shared_store && dedup_init(&n->handled, NOTIFY_HANDLED_WINDOW)))
		return -ENOMEM;
	if (mkdir(opt->data_dir, 0750) && errno != EEXIST) {
		snprintf(n->store_error, sizeof(n->store_error), "cannot create %s", opt->data_dir);
	} else {
		n->inbox = inbox_open(opt->data_dir, err, sizeof(err));
		if (!n->inbox)
			snprintf(n->store_error, sizeof(n->store_error), "%s", err);
	}
	if (!n->inbox) {
		n->stats.store_open_failures++;
		log_error("store_unavailable", "dir=%s err=\"%s\" effect=\"live traffic only, no inbox\"",
			  opt->data_dir, n->store_error);
	}
	notify__load_mutes(n);
	return 0;
}

void notify_attach_bridge(struct notify *n, struct bridge *b)
{
	n->bridge = b;
}

void notify_fini(struct notify *n)
{
	notify__flush_pushes(n, false);
	free(n->pushes);
	n->pushes = NULL;
	notify__http_fini(n);
	inbox_close(n->inbox);
	n->inbox = NULL;
	mutes_destroy(n->mutes);
	n->mutes = NULL;
	if (n->opt.shared_store)
		dedup_free(&n->handled);
	strmap_free(&n->followed);
}

const char *const *notify_topics(struct notify *n)
{
	static const enum topic_kind all[] = { TOPIC_NOTIFY_ALL, TOPIC_NOTIFY, TOPIC_READ, TOPIC_SETTINGS };
	size_t count = n->opt.scope_served ? 1 : 4;

	for (size_t i = 0; i < count; i++) {
		if (topics_filter(n->topics[i], sizeof(n->topics[i]), n->opt.topic_prefix, all[i]) < 0)
			n->topics[i][0] = '\0';
		n->topic_list[i] = n->topics[i];
	}
	n->topic_list[count] = NULL;
	return n->topic_list;
}

static void follow_user(void *ctx, const char *user)
{
	static const enum topic_kind kinds_of_user[] = { TOPIC_NOTIFY, TOPIC_READ, TOPIC_SETTINGS };
	struct notify *n = ctx;
	char topic[TOPICS_TOPIC_MAX];

	/* a shared store's served list is every process's: follow each user once here */
	if (n->opt.shared_store) {
		if (strmap_get(&n->followed, user))
			return;
		struct strmap_entry *entry = strmap_put(&n->followed, user);

		if (!entry) {
			log_error("inbox_follow_failed", "user=%s reason=nomem", user);
			return;
		}
		entry->value = n;
	}

	for (size_t i = 0; i < 3; i++)
		if (topics_build(topic, sizeof(topic), n->opt.topic_prefix, kinds_of_user[i], user) > 0 &&
		    !bridge_subscribe(n->bridge, topic, NULL))
			log_error("inbox_subscribe_failed", "topic=%s", topic);
}

void notify_follow_served(struct notify *n)
{
	if (n->inbox && n->opt.scope_served)
		inbox_served_each(n->inbox, follow_user, n);
}

void notify_user_seen(struct notify *n, const char *user)
{
	int added;

	if (!n->inbox || !n->opt.scope_served)
		return;
	added = inbox_served_add(n->inbox, user);

	/* commit whatever happened: a failed write must not be left for the next writer */
	if (inbox_commit(n->inbox) == 0 && (added == 1 || (added == 0 && n->opt.shared_store)))
		follow_user(n, user);
}

bool notify_tick(struct notify *n)
{
	int deleted;

	if (!n->inbox)
		return false;
	deleted = inbox_prune(n->inbox, clock_now_ms(), n->opt.max_age_s * 1000, n->opt.max_per_user, PRUNE_BUDGET);
	return deleted >= PRUNE_BUDGET;
}

/* ---- the inbox bridge's hooks ---- */

void notify_on_message(void *ctx, const char *topic, size_t topic_len, const void *payload, size_t len,
		       bool retained, const struct bridge_msg_props *props)
{
	struct notify *n = ctx;
	const char *idp;
	size_t idlen;
	char user[TOPICS_ID_MAX + 1];
	enum topic_kind kind = topics_parse(n->opt.topic_prefix, topic, topic_len, &idp, &idlen);

	(void)props;
	(void)retained;	/* settings are retained on purpose; notifications are deduplicated by id */
	if (kind == TOPIC_NOTIFY_ALL) {
		notify__on_notification(n, INBOX_BROADCAST_USER, topic, topic_len, payload, len);
		return;
	}
	if (kind != TOPIC_NOTIFY && kind != TOPIC_READ && kind != TOPIC_SETTINGS)
		return;
	memcpy(user, idp, idlen);
	user[idlen] = '\0';
	if (kind == TOPIC_NOTIFY)
		notify__on_notification(n, user, topic, topic_len, payload, len);
	else if (kind == TOPIC_READ)
		notify__on_read(n, user, payload, len);
	else
		notify__on_settings(n, user, payload, len);
}

void notify_on_batch_done(void *ctx)
{
	struct notify *n = ctx;

	/* not stored: acknowledge nothing. The broker redelivers after the reconnect. */
	if (notify__commit(n) < 0) {
		log_limited(&n->limit_not_stored, LOG_ERROR, "inbox_batch_not_stored",
			    "err=\"%s\" effect=\"not acknowledged, redelivered after a reconnect\"", inbox_last_error(n->inbox));
		bridge_drop_connection(n->bridge);
	}
}

void notify_on_state(void *ctx, bool up)
{
	(void)ctx;
	log_info("inbox_broker_state", "up=%d", up);
}

void notify_on_subscribed(void *ctx, void *user)
{
	(void)ctx;
	(void)user;
}

void notify_on_published(void *ctx, void *cookie, int status)
{
	notify__http_published(ctx, cookie, status);
}
