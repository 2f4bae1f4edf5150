/*
 * notification.c - notifications, mute lists and read marks as text (notification.h).
 * Owns: the field rules of PROTOCOL.md section 7 and the error sentences for them. Must not:
 * store, send or publish anything (edge/inbox does).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mqedge/base/siphash.h"
#include "mqedge/wire/notification.h"

/* content ids: a fixed key, so every edge derives the same id for the same message */
#define CONTENT_KEY0 0x6d71656467652d31ULL
#define CONTENT_KEY1 0x6e6f746966792d31ULL

static const char *const kind_names[NOTIFY_KINDS] = { "announcement", "remind", "mailbox" };

const char *notification_kind_name(enum notification_kind k)
{
	return (unsigned)k < NOTIFY_KINDS ? kind_names[k] : "";
}

static int kind_of(const char *p, size_t len)
{
	for (int k = 0; k < NOTIFY_KINDS; k++)
		if (strlen(kind_names[k]) == len && !memcmp(p, kind_names[k], len))
			return k;
	return -1;
}

/* A plain-string id (the id alphabet) copied into out. */
static bool id_span(struct json_span v, char *out, size_t outlen)
{
	struct json_span s;

	if (!jsontext_plain_string(v, &s) || topics_validate_id(s.p, s.len) || s.len >= outlen)
		return false;
	memcpy(out, s.p, s.len);
	out[s.len] = '\0';
	return true;
}

/* The code unit of the \uXXXX escape whose 'u' is at p[0], or -1; reads p[0..4] only. */
static long hex4(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 5)
		return -1;
	for (int i = 1; i <= 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* Bytes the JSON string v (validated, with quotes) decodes to, reading only v.p[0..v.len). */
static size_t decoded_len(struct json_span v)
{
	const char *p = v.p + 1, *end = v.p + v.len - 1;	/* between the quotes */
	size_t n = 0;

	while (p < end) {
		long cu, lo;

		if (*p != '\\') {
			n++;
			p++;
			continue;
		}
		if (p + 1 >= end || p[1] != 'u') {
			n++;	/* \n, \", ... */
			p += 2;
			continue;
		}
		cu = hex4(p + 1, end);
		if (cu < 0)
			return SIZE_MAX;
		p += 6;
		/* a high surrogate followed by a low one is one 4-byte character */
		if (cu >= 0xD800 && cu < 0xDC00 && p + 1 < end && p[0] == '\\' && p[1] == 'u' &&
		    (lo = hex4(p + 1, end)) >= 0xDC00 && lo < 0xE000) {
			n += 4;
			p += 6;
		} else {
			n += cu < 0x80 ? 1 : cu < 0x800 ? 2 : 3;
		}
	}
	return n;
}

/* A JSON string whose decoded form is at most NOTIFICATION_MAX_TEXT bytes. */
static bool text_span(struct json_span v)
{
	return v.len >= 2 && v.p[0] == '"' && v.len <= NOTIFICATION_MAX_TEXT * 6 + 2 &&
	       decoded_len(v) <= NOTIFICATION_MAX_TEXT;
}

#define FIELD(name) { #name, offsetof(struct notification, name) }
static const struct jsontext_field notification_fields[] = {
	FIELD(kind), FIELD(action), FIELD(object_type), FIELD(object_id), FIELD(actor), FIELD(title),
	FIELD(data), FIELD(id), FIELD(ts), FIELD(to),
};
#undef FIELD

static int check_recipient(void *ctx, const char *value, size_t len)
{
	char user[TOPICS_ID_MAX + 1];
	int *count = ctx;

	(*count)++;
	return id_span((struct json_span){ value, len }, user, sizeof(user)) ? 0 : 1;
}

const char *notification_parse(const char *text, size_t len, struct notification *f, bool with_to, bool broadcast)
{
	char scratch[TOPICS_ID_MAX + 1];
	struct json_span s;
	bool is_object, is_array;
	const char *value;
	size_t vlen;
	int64_t ts;
	int k;

	struct jsontext_fields collect = { notification_fields, sizeof(notification_fields) / sizeof(notification_fields[0]), f };

	memset(f, 0, sizeof(*f));
	if (jsontext_validate(text, len, &is_object, &value, &vlen, jsontext_collect_fields, &collect))
		return "not JSON";
	if (!is_object)
		return "a notification is a JSON object";
	k = jsontext_plain_string(f->kind, &s) ? kind_of(s.p, s.len) : -1;
	if (k < 0)
		return "'kind' must be announcement, remind or mailbox";
	f->k = (enum notification_kind)k;
	if (with_to) {
		int count = 0;

		broadcast = !f->to.p;
		if (f->to.p && (jsontext_array_items(f->to.p, f->to.len, &is_array, check_recipient, &count) || !is_array))
			return "'to' must be an array of user ids (A-Z a-z 0-9 _ - . @ :, 1-64)";
		if (f->to.p && (count < 1 || count > NOTIFICATION_MAX_RECIPIENTS))
			return "'to' must hold 1 to 1000 user ids";
	}
	if (broadcast != (f->k == NOTIFY_ANNOUNCEMENT)) {
		if (!with_to)	/* MQTT: the topic decides */
			return broadcast ? "only announcements go to notify/all" :
					   "announcements go to notify/all, not to a user";
		return broadcast ? "'to' is required (only announcements go to everyone)" :
				   "announcements go to everyone: no 'to'";
	}
	if ((f->action.p && !id_span(f->action, f->action_str, sizeof(f->action_str))) ||
	    (f->object_type.p && !id_span(f->object_type, scratch, sizeof(scratch))) ||
	    (f->actor.p && !id_span(f->actor, scratch, sizeof(scratch))))
		return "'action', 'object_type' and 'actor' must be ids (A-Z a-z 0-9 _ - . @ :, 1-64)";
	if (f->object_id.p && !text_span(f->object_id))
		return "'object_id' must be a string of at most 1024 bytes";
	if (f->title.p && !text_span(f->title))
		return "'title' must be a string of at most 1024 bytes";
	if (f->k == NOTIFY_REMIND && (!f->action.p || !f->object_type.p || !f->object_id.p))
		return "a remind needs 'action', 'object_type' and 'object_id'";
	if (f->k == NOTIFY_MAILBOX && !f->actor.p)
		return "a mailbox message needs 'actor' (the sender)";
	if (f->id.p && (!jsontext_plain_string(f->id, &s) || envelope_validate_id(s.p, s.len)))
		return "'id' must be 1-100 id characters";
	if (f->ts.p && jsontext_parse_uint(f->ts.p, f->ts.len, &ts))
		return "'ts' must be milliseconds since the epoch";
	return NULL;
}

void notification_given_id(const struct notification *f, char id[ENVELOPE_ID_MAX + 1])
{
	memcpy(id, f->id.p + 1, f->id.len - 2);
	id[f->id.len - 2] = '\0';
}

int64_t notification_ts(const struct notification *f, int64_t now_ms)
{
	int64_t ts = 0;

	return f->ts.p && !jsontext_parse_uint(f->ts.p, f->ts.len, &ts) ? ts : now_ms;
}

void notification_content_id(const char *topic, size_t topic_len, const void *payload, size_t len,
			     char out[NOTIFICATION_CONTENT_ID_MAX])
{
	uint64_t h1 = siphash_keyed(CONTENT_KEY0, CONTENT_KEY1, payload, len);
	uint64_t h2 = siphash_keyed(CONTENT_KEY1 ^ h1, CONTENT_KEY0, topic, topic_len);

	snprintf(out, NOTIFICATION_CONTENT_ID_MAX, "h%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
}

void notification_canonical(struct textbuf *b, const struct notification *f, const char *id, int64_t ts)
{
	const struct {
		const char *name;
		struct json_span v;
	} parts[] = {
		{ "kind", f->kind }, { "action", f->action }, { "object_type", f->object_type },
		{ "object_id", f->object_id }, { "actor", f->actor }, { "title", f->title }, { "data", f->data },
	};

	textbuf_printf(b, "{\"id\":\"%s\",\"ts\":%lld", id, (long long)ts);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!parts[i].v.p)
			continue;
		textbuf_printf(b, ",\"%s\":", parts[i].name);
		textbuf_append(b, parts[i].v.p, parts[i].v.len);
	}
	textbuf_puts(b, "}");
}

struct recipient_ctx {
	void (*fn)(void *ctx, const char *user);
	void *ctx;
};

static int each_recipient(void *ctx, const char *value, size_t len)
{
	struct recipient_ctx *r = ctx;
	char user[TOPICS_ID_MAX + 1];

	if (id_span((struct json_span){ value, len }, user, sizeof(user)))
		r->fn(r->ctx, user);
	return 0;
}

void notification_each_recipient(const struct notification *f, void (*fn)(void *ctx, const char *user), void *ctx)
{
	struct recipient_ctx r = { fn, ctx };
	bool is_array;

	if (f->to.p)
		jsontext_array_items(f->to.p, f->to.len, &is_array, each_recipient, &r);
}

/* ---- mute lists ---- */

static int collect_mute(void *ctx, const char *value, size_t len)
{
	struct mute_list *l = ctx;
	struct json_span s;
	const char *colon;
	int k;

	if (l->count == MUTE_MAX || !jsontext_plain_string((struct json_span){ value, len }, &s))
		return 1;
	colon = memchr(s.p, ':', s.len);
	k = kind_of(s.p, colon ? (size_t)(colon - s.p) : s.len);
	if (k < 0)
		return 1;
	l->e[l->count].kind = (enum notification_kind)k;
	l->e[l->count].action[0] = '\0';
	if (colon) {
		size_t alen = s.len - (size_t)(colon + 1 - s.p);

		if (topics_validate_id(colon + 1, alen))
			return 1;
		memcpy(l->e[l->count].action, colon + 1, alen);
		l->e[l->count].action[alen] = '\0';
	}
	l->count++;
	return 0;
}

int mute_list_parse(const char *text, size_t len, struct mute_list *out)
{
	bool is_array;

	out->count = 0;
	return !jsontext_array_items(text, len, &is_array, collect_mute, out) && is_array ? 0 : -EINVAL;
}

bool mute_entries_match(const struct mute_entry *e, size_t n, enum notification_kind kind, const char *action)
{
	for (size_t i = 0; i < n; i++)
		if (e[i].kind == kind && (!e[i].action[0] || (action && !strcmp(e[i].action, action))))
			return true;
	return false;
}

void mute_list_json(struct textbuf *b, const struct mute_entry *e, size_t n)
{
	textbuf_puts(b, "[");
	for (size_t i = 0; i < n; i++) {
		textbuf_printf(b, "%s\"%s%s%s\"", i ? "," : "", kind_names[e[i].kind], e[i].action[0] ? ":" : "",
			       e[i].action);
	}
	textbuf_puts(b, "]");
}

void notification_settings_json(struct textbuf *b, const struct mute_entry *e, size_t n, int64_t ts)
{
	textbuf_puts(b, "{\"mute\":");
	mute_list_json(b, e, n);
	textbuf_printf(b, ",\"ts\":%lld}", (long long)ts);
}

struct sync_fields {
	struct json_span mute, ids, all, ts;
};

#define FIELD(name) { #name, offsetof(struct sync_fields, name) }
static const struct jsontext_field sync_field_table[] = { FIELD(mute), FIELD(ids), FIELD(all), FIELD(ts) };
#undef FIELD

static int parse_sync(const char *text, size_t len, struct sync_fields *f)
{
	bool is_object;
	const char *value;
	size_t vlen;

	struct jsontext_fields collect = { sync_field_table, sizeof(sync_field_table) / sizeof(sync_field_table[0]), f };

	memset(f, 0, sizeof(*f));
	return !jsontext_validate(text, len, &is_object, &value, &vlen, jsontext_collect_fields, &collect) && is_object ?
		0 : -EINVAL;
}

int notification_settings_parse(const char *text, size_t len, struct mute_list *out, int64_t *ts)
{
	struct sync_fields f;

	if (parse_sync(text, len, &f) || !f.mute.p || !f.ts.p || jsontext_parse_uint(f.ts.p, f.ts.len, ts))
		return -EINVAL;
	return mute_list_parse(f.mute.p, f.mute.len, out);
}

/* ---- read marks ---- */

static int collect_id(void *ctx, const char *value, size_t len)
{
	struct read_ids *l = ctx;
	struct json_span s;

	if (l->count == READ_MAX_IDS || !jsontext_plain_string((struct json_span){ value, len }, &s) ||
	    envelope_validate_id(s.p, s.len))
		return 1;
	memcpy(l->ids[l->count], s.p, s.len);
	l->ids[l->count][s.len] = '\0';
	l->ptrs[l->count] = l->ids[l->count];
	l->count++;
	return 0;
}

int read_ids_parse(const char *text, size_t len, struct read_ids *out)
{
	bool is_array;

	out->count = 0;
	if (jsontext_array_items(text, len, &is_array, collect_id, out) || !is_array || !out->count)
		return -EINVAL;
	return 0;
}

void notification_read_json(struct textbuf *b, const struct read_ids *ids, int64_t ts)
{
	if (!ids) {
		textbuf_printf(b, "{\"all\":true,\"ts\":%lld}", (long long)ts);
		return;
	}
	textbuf_puts(b, "{\"ids\":[");
	for (size_t i = 0; i < ids->count; i++)
		textbuf_printf(b, "%s\"%s\"", i ? "," : "", ids->ids[i]);
	textbuf_printf(b, "],\"ts\":%lld}", (long long)ts);
}

int notification_read_parse(const char *text, size_t len, bool *all, struct read_ids *out, int64_t *ts)
{
	struct sync_fields f;

	*all = false;
	*ts = 0;
	if (parse_sync(text, len, &f))
		return -EINVAL;
	if (f.all.len == 4 && !memcmp(f.all.p, "true", 4) && f.ts.p && !jsontext_parse_uint(f.ts.p, f.ts.len, ts)) {
		*all = true;
		return 0;
	}
	if (f.ts.p && jsontext_parse_uint(f.ts.p, f.ts.len, ts))
		*ts = 0;
	return f.ids.p ? read_ids_parse(f.ids.p, f.ids.len, out) : -EINVAL;
}
