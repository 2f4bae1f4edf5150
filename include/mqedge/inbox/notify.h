/*
 * notify.h - the offline notification inbox as the rest of the edge sees it.
 *
 * Notifications enter over MQTT ({prefix}/user/{id}/notify, {prefix}/notify/all) through the
 * edge's second, persistent MQTT session, or over HTTP (POST /api/v1/notifications). Every edge
 * stores them (inbox.c) and pushes them to the recipient's local peers once stored. PUBACKs for a
 * burst leave only after its commit; HTTP answers 201 only after the local commit and the
 * broker's PUBACKs. Read marks and settings travel between edges on MQTT too.
 *
 * The subsystem reaches connections only through fan-out (fanout.h) and the broker only through
 * its bridge (bridge.h); callers pass a peer and the user it belongs to.
 */
#ifndef MQEDGE_NOTIFY_H
#define MQEDGE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/idgen.h"
#include "mqedge/base/log.h"
#include "mqedge/base/strmap.h"
#include "mqedge/fanout/dedup.h"
#include "mqedge/fanout/fanout.h"
#include "mqedge/inbox/inbox.h"
#include "mqedge/wire/client_frame.h"

struct bridge;
struct bridge_msg_props;
struct mutes;
struct pending_push;
struct ingest_req;

struct notify_options {
	const char *topic_prefix;
	const char *data_dir;
	bool scope_served;		/* follow only users served here (inbox-scope = served) */
	long max_per_user, max_age_s;	/* retention */
	long backlog;			/* unread pushed after welcome */
	size_t outq_max_bytes;		/* pages and backlogs stay well under it */
	bool shared_store;		/* other processes store into the same file (--workers) */
};

struct notify_stats {
	uint64_t received, stored, pushed, muted, rejected, http_requests, http_errors, commit_failures;
	uint64_t store_open_failures;
};

struct notify {
	struct notify_options opt;
	struct fanout *fanout;		/* where pushes go (not owned) */
	struct idgen *ids;		/* ids for HTTP notifications (not owned) */
	struct inbox *inbox;		/* NULL when the store could not be opened */
	struct bridge *bridge;		/* the inbox's MQTT session (not owned) */
	struct mutes *mutes;		/* every user's mute list, in step with the store */
	char store_error[512];
	struct pending_push *pushes;	/* stored in the open transaction, pushed after commit */
	size_t n_pushes, cap_pushes;
	struct ingest_req *requests;	/* HTTP requests waiting for PUBACKs */
	char topics[4][TOPICS_TOPIC_MAX];
	const char *topic_list[5];
	struct notify_stats stats;
	struct log_limit limit_not_stored;	/* a full disk fails every redelivery */
	/* shared_store only: notifications this process has handled (a sibling's row is pushed to
	 * local sessions once, a redelivery to this process never), and the users it follows */
	struct dedup handled;
	struct strmap followed;
};

/* Opens the store under opt->data_dir (a failure is logged and leaves inbox NULL: live traffic
 * goes on). Returns 0, or -ENOMEM. */
int notify_init(struct notify *n, const struct notify_options *opt, struct fanout *fo, struct idgen *ids);
void notify_attach_bridge(struct notify *n, struct bridge *b);
void notify_fini(struct notify *n);

/* The topics the inbox session subscribes to (NULL-terminated, held by n). In "served" scope:
 * only the broadcast topic; per-user topics follow notify_user_seen. */
const char *const *notify_topics(struct notify *n);
/* A user opened a session here: in "served" scope, start following their topics. */
void notify_user_seen(struct notify *n, const char *user);
/* In "served" scope: follow the topics of every user this edge served before (at start). */
void notify_follow_served(struct notify *n);

/* For welcome: unread count of user, or -1 when the store is unavailable. */
int64_t notify_unread(struct notify *n, const char *user);
/* Pushes user's unread backlog (up to the configured maximum) to p, in order, then "backlog". */
void notify_push_backlog(struct notify *n, struct peer *p, const char *user);
/* The client ops inbox (page), read and settings of user's peer p. */
void notify_op(struct notify *n, struct peer *p, const char *user, const struct client_op *op);

/* HTTP ingress. body: the request body. Calls done(ctx, status, json, len) exactly once, now or
 * later; notify_http_cancel(ctx) stops a pending call (the client went away). */
typedef void (*notify_http_done_fn)(void *ctx, unsigned status, const char *json, size_t len);
void notify_http_submit(struct notify *n, const char *body, size_t len, notify_http_done_fn done, void *ctx);
void notify_http_cancel(struct notify *n, void *ctx);

/* Periodic work: pruning within a small budget. Returns true when more is left to do soon. */
bool notify_tick(struct notify *n);

/* The inbox bridge's hooks. */
void notify_on_message(void *ctx, const char *topic, size_t topic_len, const void *payload, size_t len,
		       bool retained, const struct bridge_msg_props *props);
void notify_on_state(void *ctx, bool up);
void notify_on_published(void *ctx, void *cookie, int status);
void notify_on_subscribed(void *ctx, void *user);
void notify_on_batch_done(void *ctx);

#endif
