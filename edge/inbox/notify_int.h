/*
 * notify_int.h - private to edge/inbox: what the subsystem's files share. notify.c owns the
 * lifecycle and routes the bridge's hooks; ingest.c stores; ops.c answers clients; sync.c keeps
 * edges in step; http_ingest.c takes HTTP requests.
 */
#ifndef MQEDGE_NOTIFY_INT_H
#define MQEDGE_NOTIFY_INT_H

#include "mqedge/inbox/notify.h"
#include "mqedge/wire/notification.h"
#include "mqedge/wire/topics.h"

/* ingest.c: stores one notification for user (or INBOX_BROADCAST_USER) in the open transaction
 * and queues its push for after the commit. Returns 0 (stored or a duplicate) or an error. */
int notify__store(struct notify *n, const char *user, const struct notification *f, const char *id, int64_t ts);
/* ingest.c: a notification from MQTT, for user (or INBOX_BROADCAST_USER). */
void notify__on_notification(struct notify *n, const char *user, const char *topic, size_t topic_len,
			     const void *payload, size_t len);
/* ingest.c: after the commit, push what was queued (deliver), or drop it (the commit failed). */
void notify__flush_pushes(struct notify *n, bool deliver);
/* ingest.c: commits the open transaction and delivers or drops the pushes. Returns 0 or an error. */
int notify__commit(struct notify *n);

/* sync.c: read marks and settings from the broker (other edges, and our own echo). */
void notify__on_read(struct notify *n, const char *user, const void *payload, size_t len);
void notify__on_settings(struct notify *n, const char *user, const void *payload, size_t len);
/* sync.c: publishes text to user's topic of kind on the inbox session. */
void notify__publish(struct notify *n, enum topic_kind kind, const char *user, const char *text, size_t len, bool retain);
/* sync.c: sends a frame's text to every peer of user on this edge. */
void notify__send_user_text(struct notify *n, const char *user, const char *text, size_t len);
/* sync.c: loads every user's mute list from the store into the cache. */
void notify__load_mutes(struct notify *n);

/* http_ingest.c: a PUBACK (status 0) or abandoned publish of request cookie. */
void notify__http_published(struct notify *n, void *cookie, int status);
/* http_ingest.c: answers and frees every open request (at exit). */
void notify__http_fini(struct notify *n);

#endif
