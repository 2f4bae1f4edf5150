/*
 * notification.h - the offline notification as bytes (docs/PROTOCOL.md section 7): validation of
 * what backends send (MQTT payloads and HTTP items), the stored canonical form, content-derived
 * ids, mute lists, and the payloads edges exchange to keep read marks and settings in step.
 * Pure functions over text: nothing is parsed into a tree, every stored value is the sender's
 * own text (never re-serialised), no I/O.
 */
#ifndef MQEDGE_NOTIFICATION_H
#define MQEDGE_NOTIFICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/textbuf.h"
#include "mqedge/wire/envelope.h"
#include "mqedge/wire/jsontext.h"
#include "mqedge/wire/topics.h"

#define NOTIFICATION_MAX_RECIPIENTS 1000
#define NOTIFICATION_MAX_TEXT 1024	/* decoded bytes of title and object_id */

enum notification_kind { NOTIFY_ANNOUNCEMENT = 0, NOTIFY_REMIND, NOTIFY_MAILBOX, NOTIFY_KINDS };

/* The fields of one notification: spans of the sender's text (p NULL when absent). */
struct notification {
	struct json_span kind, action, object_type, object_id, actor, title, data, id, ts, to;
	enum notification_kind k;
	char action_str[TOPICS_ID_MAX + 1];	/* action as a C string, "" when absent */
};

const char *notification_kind_name(enum notification_kind k);

/* Reads and checks text[0..len). with_to: an HTTP item, whose "to" decides whether it is an
 * announcement; otherwise broadcast says which topic it came on. Returns NULL, or a sentence
 * saying what is wrong (for the error the sender gets). */
const char *notification_parse(const char *text, size_t len, struct notification *n, bool with_to, bool broadcast);

/* The id the sender gave (n->id must be present), NUL-terminated. */
void notification_given_id(const struct notification *n, char id[ENVELOPE_ID_MAX + 1]);
/* The ts the sender gave, or now_ms. */
int64_t notification_ts(const struct notification *n, int64_t now_ms);
/* An id derived from the content and its topic: every edge derives the same one, so a copy of a
 * message without an id is one notification everywhere. */
#define NOTIFICATION_CONTENT_ID_MAX 40
void notification_content_id(const char *topic, size_t topic_len, const void *payload, size_t len,
			     char out[NOTIFICATION_CONTENT_ID_MAX]);

/* The stored form: {"id":..,"ts":..} then the known fields in a fixed order, each value the
 * sender's own text. Appended to b. */
void notification_canonical(struct textbuf *b, const struct notification *n, const char *id, int64_t ts);

/* Calls fn with each recipient of an HTTP item's "to" (validated ids, NUL-terminated). */
void notification_each_recipient(const struct notification *n, void (*fn)(void *ctx, const char *user), void *ctx);

/* ---- mute lists: entries "kind" (all of that kind) or "kind:action" ---- */

#define MUTE_MAX 100
struct mute_entry {
	enum notification_kind kind;
	char action[TOPICS_ID_MAX + 1];	/* "" mutes the whole kind */
};
struct mute_list {
	size_t count;
	struct mute_entry e[MUTE_MAX];
};
/* Parses a JSON array of entries. Returns 0, or -EINVAL when it is not an array of at most
 * MUTE_MAX valid entries. */
int mute_list_parse(const char *text, size_t len, struct mute_list *out);
/* True when entries mute (kind, action); action NULL or "" for a notification without one. */
bool mute_entries_match(const struct mute_entry *e, size_t n, enum notification_kind kind, const char *action);
/* The entries as a compact JSON array. */
void mute_list_json(struct textbuf *b, const struct mute_entry *e, size_t n);

/* ---- what edges publish to each other ---- */

/* Settings, retained on {prefix}/user/{id}/settings: {"mute":[..],"ts":..}. */
void notification_settings_json(struct textbuf *b, const struct mute_entry *e, size_t n, int64_t ts);
/* Reads settings published by an edge. Returns 0 with *ts and out filled, or -EINVAL. */
int notification_settings_parse(const char *text, size_t len, struct mute_list *out, int64_t *ts);

#define READ_MAX_IDS 256
struct read_ids {
	size_t count;
	char ids[READ_MAX_IDS][ENVELOPE_ID_MAX + 1];
	const char *ptrs[READ_MAX_IDS];
};
/* Reads a JSON array of 1..READ_MAX_IDS notification ids. Returns 0, or -EINVAL. */
int read_ids_parse(const char *text, size_t len, struct read_ids *out);

/* Read marks on {prefix}/user/{id}/read: {"ids":[..],"ts":..} or {"all":true,"ts":..}. */
void notification_read_json(struct textbuf *b, const struct read_ids *ids, int64_t ts);	/* ids NULL: all */
/* Reads a read-mark message: *all, or out with the ids; *ts. Returns 0, or -EINVAL. */
int notification_read_parse(const char *text, size_t len, bool *all, struct read_ids *out, int64_t *ts);

#endif
