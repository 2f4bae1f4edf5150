/*
 * notify.c - offline notifications: validate what enters (MQTT, HTTP), give it an id once, store
 * it (inbox.c), push it to local sessions after the commit, answer the inbox/read/settings ops,
 * and keep read marks and settings in step across edges over MQTT.
 * Owns: the pending-push list and HTTP ingest requests. Must not: touch SQLite (inbox.c) or
 * sockets (session_send), or libmosquitto (bridge.h).
 *
 * Path of one offline notification: backend publishes {prefix}/user/bob/notify (QoS 1) -> every
 * edge's inbox session -> notify_on_message: validate, id, mute check, inbox_put in the open
 * transaction, push queued -> end of the read burst: notify_on_batch_done commits, then pushes
 * {"op":"notify"} to bob's sessions on this edge; the PUBACKs leave after that. Bob connects
 * later to any edge -> welcome carries "unread" -> notify_push_backlog sends the unread ones in
 * arrival order -> {"op":"read"} marks them on this edge and publishes {prefix}/user/bob/read,
 * which every other edge applies.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edge.h"
#include "mqedge/bridge.h"
#include "mqedge/envelope.h"
#include "mqedge/frame.h"
#include "mqedge/jsontext.h"
#include "mqedge/log.h"
#include "mqedge/siphash.h"
#include "notify.h"

#define MAX_RECIPIENTS 1000
#define MAX_REQUEST_ITEMS 100
#define MAX_TEXT 1024		/* title, object ids */
#define PRUNE_BUDGET 500
/* content ids: a fixed key, so every edge derives the same id for the same message */
#define CONTENT_KEY0 0x6d71656467652d31ULL
#define CONTENT_KEY1 0x6e6f746966792d31ULL

struct pending_push {
	char user[TOPICS_ID_MAX + 1];	/* "*" for an announcement */
	char action[TOPICS_ID_MAX + 1];	/* an announcement's action, for the per-session mute check */
	struct frame *frame;
};

/* One HTTP request: answered once the commit is done and every publish acknowledged. */
struct ingest_req {
	struct ingest_req *next;
	notify_http_done_fn done;
	void *ctx;			/* NULL once cancelled */
	int outstanding;
	bool failed;
	char *ids_json;			/* ["id",...] */
};

static struct ingest_req *requests;

static const char *const kinds[] = { "announcement", "remind", "mailbox" };

/* ---- helpers ---- */

static bool valid_kind(const char *k)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(k, kinds[i]))
			return true;
	return false;
}

static int64_t now_ms(void)
{
	return hub_now_ms();
}

/* Sessions of user on this edge: the members of their direct channel. */
static struct channel *user_channel(struct notify *n, const char *user)
{
	char topic[TOPICS_TOPIC_MAX];
	int len = topics_build(topic, sizeof(topic), n->edge->cfg->topic_prefix, TOPIC_DIRECT, user);

	return len < 0 ? NULL : channels_find(n->edge->channels, topic, (size_t)len);
}

static bool muted(struct notify *n, const char *user, const char *kind, const char *action);

/* Sends f to every session of user on this edge ("*": every user session that has not muted
 * announcements, or announcement:action when action is not NULL). Returns how many. */
static unsigned send_to_user(struct notify *n, const char *user, struct frame *f, const char *action)
{
	unsigned sent = 0;

	if (!strcmp(user, INBOX_BROADCAST_USER)) {
		for (struct session *s = n->edge->sessions; s; s = s->next) {
			if (s->ident.anonymous || s->ident.kind != IDENTITY_USER)
				continue;
			if (action && muted(n, s->ident.id, "announcement", *action ? action : NULL))
				continue;
			session_send(s, f);
			sent++;
		}
		return sent;
	}
	struct channel *ch = user_channel(n, user);

	for (struct member *m = ch ? ch->members : NULL; m; m = m->ch_next, sent++)
		session_send(m->session, f);
	return sent;
}

/* {"op":"notify","read":R, ...the stored notification's members} as a frame. */
static struct frame *notify_frame(const char *op, const char *json, size_t len, bool read)
{
	char head[48];
	int h = snprintf(head, sizeof(head), "{\"op\":\"%s\",\"read\":%s%s", op, read ? "true" : "false",
			 len > 2 ? "," : "");
	struct frame *f;

	if (len < 2 || json[0] != '{')
		return NULL;
	f = frame_alloc((size_t)h + len - 1);
	if (!f)
		return NULL;
	memcpy(frame_payload(f), head, (size_t)h);
	memcpy(frame_payload(f) + h, json + 1, len - 1);
	frame_seal(f, (size_t)h + len - 1);
	return f;
}

/* ---- settings ---- */

/* True when the settings JSON mutes this kind (or kind:action). */
static bool settings_mute(const char *json, const char *kind, const char *action)
{
	char full[160];
	cJSON *settings, *mute, *item;
	bool hit = false;

	snprintf(full, sizeof(full), "%s:%s", kind, action ? action : "");
	settings = cJSON_Parse(json);
	mute = cJSON_GetObjectItemCaseSensitive(settings, "mute");
	cJSON_ArrayForEach(item, mute) {
		if (cJSON_IsString(item) && (!strcmp(item->valuestring, kind) || !strcmp(item->valuestring, full))) {
			hit = true;
			break;
		}
	}
	cJSON_Delete(settings);
	return hit;
}

/* True when user's settings mute this kind (or kind:action). */
static bool muted(struct notify *n, const char *user, const char *kind, const char *action)
{
	char *json = NULL;
	int64_t ts;
	bool hit;

	if (!n->inbox || inbox_settings_get(n->inbox, user, &json, &ts) || !json)
		return false;
	hit = settings_mute(json, kind, action);
	free(json);
	return hit;
}

/* ---- ingest ---- */

/* ---- the notification as text: fields are spans of the payload, never re-serialised ---- */


struct nfields {
	struct json_span kind, action, object_type, object_id, actor, title, data, id, ts, to;
	char kind_str[16];		/* kind as a C string */
	char action_str[TOPICS_ID_MAX + 1];
};

static bool id_span(struct json_span v, char *out, size_t outlen)
{
	struct json_span s;

	if (!jsontext_plain_string(v, &s) || topics_validate_id(s.p, s.len) || s.len >= outlen)
		return false;
	memcpy(out, s.p, s.len);
	out[s.len] = '\0';
	return true;
}

/* A JSON string whose decoded form is at most MAX_TEXT bytes. */
static bool text_span(struct json_span v)
{
	cJSON *s;
	bool ok;

	if (v.len < 2 || v.p[0] != '"' || v.len > MAX_TEXT * 6 + 2)
		return false;
	s = cJSON_ParseWithLength(v.p, v.len);
	ok = cJSON_IsString(s) && strlen(s->valuestring) <= MAX_TEXT;
	cJSON_Delete(s);
	return ok;
}

static int collect_field(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value, size_t len)
{
	struct nfields *f = ctx;
	struct json_span *slot = NULL;

	if (key_escaped)
		return 0;
#define FIELD(name) else if (keylen == sizeof(#name) - 1 && !memcmp(key, #name, keylen)) slot = &f->name
	if (0) {}
	FIELD(kind); FIELD(action); FIELD(object_type); FIELD(object_id); FIELD(actor); FIELD(title);
	FIELD(data); FIELD(id); FIELD(ts); FIELD(to);
#undef FIELD
	if (slot) {
		slot->p = value;
		slot->len = len;
	}
	return 0;
}

static int check_recipient(void *ctx, const char *value, size_t len)
{
	char user[TOPICS_ID_MAX + 1];
	int *count = ctx;

	(*count)++;
	return id_span((struct json_span){ value, len }, user, sizeof(user)) ? 0 : 1;
}

/* Reads and checks one notification (docs/PROTOCOL.md section 7). with_to: an HTTP item, whose
 * "to" decides broadcast; otherwise broadcast says which topic it came on. Returns NULL or what is
 * wrong. */
static const char *parse_notification(const char *text, size_t len, struct nfields *f, bool with_to, bool broadcast)
{
	char scratch[TOPICS_ID_MAX + 1];
	struct json_span s;
	bool is_object, is_array;
	const char *value;
	size_t vlen;
	int64_t ts;
	size_t k;

	memset(f, 0, sizeof(*f));
	if (jsontext_validate(text, len, &is_object, &value, &vlen, collect_field, f))
		return "not JSON";
	if (!is_object)
		return "a notification is a JSON object";
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (jsontext_plain_string(f->kind, &s) && s.len == strlen(kinds[k]) && !memcmp(s.p, kinds[k], s.len))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return "'kind' must be announcement, remind or mailbox";
	snprintf(f->kind_str, sizeof(f->kind_str), "%s", kinds[k]);
	if (with_to) {
		int count = 0;

		broadcast = !f->to.p;
		if (f->to.p && (jsontext_array_items(f->to.p, f->to.len, &is_array, check_recipient, &count) || !is_array))
			return "'to' must be an array of user ids (A-Z a-z 0-9 _ - . @ :, 1-64)";
		if (f->to.p && (count < 1 || count > MAX_RECIPIENTS))
			return "'to' must hold 1 to 1000 user ids";
	}
	if (broadcast != !strcmp(f->kind_str, "announcement"))
		return broadcast ? "'to' is required (only announcements go to everyone)" :
				   "announcements go to everyone: no 'to'";
	if ((f->action.p && !id_span(f->action, f->action_str, sizeof(f->action_str))) ||
	    (f->object_type.p && !id_span(f->object_type, scratch, sizeof(scratch))) ||
	    (f->actor.p && !id_span(f->actor, scratch, sizeof(scratch))))
		return "'action', 'object_type' and 'actor' must be ids (A-Z a-z 0-9 _ - . @ :, 1-64)";
	if (f->object_id.p && !text_span(f->object_id))
		return "'object_id' must be a string of at most 1024 bytes";
	if (f->title.p && !text_span(f->title))
		return "'title' must be a string of at most 1024 bytes";
	if (!strcmp(f->kind_str, "remind") && (!f->action.p || !f->object_type.p || !f->object_id.p))
		return "a remind needs 'action', 'object_type' and 'object_id'";
	if (!strcmp(f->kind_str, "mailbox") && !f->actor.p)
		return "a mailbox message needs 'actor' (the sender)";
	if (f->id.p && (!jsontext_plain_string(f->id, &s) || envelope_validate_id(s.p, s.len)))
		return "'id' must be 1-100 id characters";
	if (f->ts.p && jsontext_parse_uint(f->ts.p, f->ts.len, &ts))
		return "'ts' must be milliseconds since the epoch";
	return NULL;
}

static void given_id(const struct nfields *f, char id[ENVELOPE_ID_MAX + 1])
{
	memcpy(id, f->id.p + 1, f->id.len - 2);
	id[f->id.len - 2] = '\0';
}

static int64_t given_ts(const struct nfields *f)
{
	int64_t ts = 0;

	return f->ts.p && !jsontext_parse_uint(f->ts.p, f->ts.len, &ts) ? ts : now_ms();
}

/* The stored form: fixed field order, only known fields, id and ts filled in, every value the
 * sender's own text. Caller frees. */
static char *canonical(const struct nfields *f, const char *id, int64_t ts)
{
	const struct {
		const char *name;
		struct json_span v;
	} parts[] = {
		{ "kind", f->kind }, { "action", f->action }, { "object_type", f->object_type },
		{ "object_id", f->object_id }, { "actor", f->actor }, { "title", f->title }, { "data", f->data },
	};
	size_t cap = 64 + strlen(id), len;
	char *out, *o;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		cap += parts[i].v.len + strlen(parts[i].name) + 4;
	out = malloc(cap);
	if (!out)
		return NULL;
	len = (size_t)snprintf(out, cap, "{\"id\":\"%s\",\"ts\":%lld", id, (long long)ts);
	o = out + len;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!parts[i].v.p)
			continue;
		o += sprintf(o, ",\"%s\":", parts[i].name);
		memcpy(o, parts[i].v.p, parts[i].v.len);
		o += parts[i].v.len;
	}
	*o++ = '}';
	*o = '\0';
	return out;
}

static int queue_push(struct notify *n, const char *user, struct frame *f)
{
	if (n->n_pushes == n->cap_pushes) {
		size_t cap = n->cap_pushes ? n->cap_pushes * 2 : 64;
		struct pending_push *np = realloc(n->pushes, cap * sizeof(*np));

		if (!np)
			return -1;
		n->pushes = np;
		n->cap_pushes = cap;
	}
	snprintf(n->pushes[n->n_pushes].user, sizeof(n->pushes[0].user), "%s", user);
	snprintf(n->pushes[n->n_pushes].action, sizeof(n->pushes[0].action), "%s", "");
	n->pushes[n->n_pushes++].frame = f;
	return 0;
}

static void flush_pushes(struct notify *n, bool deliver)
{
	for (size_t i = 0; i < n->n_pushes; i++) {
		if (deliver)
			n->stats.pushed += send_to_user(n, n->pushes[i].user, n->pushes[i].frame, n->pushes[i].action);
		frame_unref(n->pushes[i].frame);
	}
	n->n_pushes = 0;
}

struct mute_ctx {
	struct notify *n;
	const char *id, *action;
};

/* An announcement is stored once: users who muted it get it marked read. */
static void mark_muted_announcement(void *ctx, const char *user, const char *json)
{
	struct mute_ctx *m = ctx;
	const char *ids[1] = { m->id };

	if (json && settings_mute(json, "announcement", m->action))
		inbox_mark_read(m->n->inbox, user, ids, 1);
}

/* Stores one notification for user (or "*") in the open transaction and queues its push.
 * Returns 0 (stored or duplicate) or -1 (store failure). */
static int store(struct notify *n, const char *user, const struct nfields *f, const char *id, int64_t ts)
{
	bool broadcast = !strcmp(user, INBOX_BROADCAST_USER);
	const char *action = f->action.p ? f->action_str : NULL;
	bool mute = !broadcast && muted(n, user, f->kind_str, action);
	char *json = canonical(f, id, ts);
	struct frame *f_out = NULL;
	int rc;

	if (!json)
		return -1;
	rc = inbox_put(n->inbox, user, id, ts, f->kind_str, json, strlen(json), mute);
	if (rc == INBOX_OK) {
		n->stats.stored++;
		if (broadcast) {
			struct mute_ctx m = { n, id, action };

			inbox_settings_each(n->inbox, mark_muted_announcement, &m);
		}
		if (mute) {
			n->stats.muted++;
		} else {
			f_out = notify_frame("notify", json, strlen(json), false);
			if (!f_out || queue_push(n, user, f_out)) {
				if (f_out)
					frame_unref(f_out);
				log_error("notify_push_lost", "user=%s id=%s reason=nomem", user, id);
			} else if (broadcast) {
				snprintf(n->pushes[n->n_pushes - 1].action, sizeof(n->pushes[0].action), "%s",
					 action ? action : "");
			}
		}
	}
	free(json);
	return rc < 0 ? -1 : 0;
}

/* A content-derived id: the same message on every edge gets the same id. */
static void content_id(const char *topic, size_t topic_len, const void *payload, size_t len, char out[40])
{
	uint64_t h1 = siphash_keyed(CONTENT_KEY0, CONTENT_KEY1, payload, len);
	uint64_t h2 = siphash_keyed(CONTENT_KEY1 ^ h1, CONTENT_KEY0, topic, topic_len);

	snprintf(out, 40, "h%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
}

static void on_notification(struct notify *n, const char *user, const char *topic, size_t topic_len,
			    const void *payload, size_t len)
{
	struct nfields f;
	const char *why;
	char id[ENVELOPE_ID_MAX + 1];

	n->stats.received++;
	why = parse_notification(payload, len, &f, false, !strcmp(user, INBOX_BROADCAST_USER));
	if (why) {
		n->stats.rejected++;
		log_warn("notify_rejected", "topic=%.*s reason=\"%s\"", (int)topic_len, topic, why);
		return;
	}
	if (f.id.p)
		given_id(&f, id);
	else
		content_id(topic, topic_len, payload, len, id);
	if (n->inbox && store(n, user, &f, id, given_ts(&f)) < 0)
		log_error("notify_store_failed", "user=%s id=%s err=\"%s\"", user, id, inbox_last_error(n->inbox));
}

/* ---- read marks and settings from other edges (and our own echo) ---- */

#define MAX_READ_IDS 256

struct id_list {
	char ids[MAX_READ_IDS][ENVELOPE_ID_MAX + 1];
	const char *ptrs[MAX_READ_IDS];
	size_t count;
};

static int collect_id(void *ctx, const char *value, size_t len)
{
	struct id_list *l = ctx;
	struct json_span s;

	if (l->count == MAX_READ_IDS || !jsontext_plain_string((struct json_span){ value, len }, &s) ||
	    envelope_validate_id(s.p, s.len))
		return 1;
	memcpy(l->ids[l->count], s.p, s.len);
	l->ids[l->count][s.len] = '\0';
	l->ptrs[l->count] = l->ids[l->count];
	l->count++;
	return 0;
}

/* Reads a JSON array of notification ids into l. Returns 0, or -1 when it is not one. */
static int parse_ids(const char *text, size_t len, struct id_list *l)
{
	bool is_array;

	l->count = 0;
	return !jsontext_array_items(text, len, &is_array, collect_id, l) && is_array ? 0 : -1;
}

/* {"op":"read","ids":[..]} for l. */
static void read_event(const struct id_list *l, char *out, size_t outlen)
{
	int w = snprintf(out, outlen, "{\"op\":\"read\",\"ids\":[");

	for (size_t i = 0; i < l->count && w < (int)outlen - 110; i++)
		w += snprintf(out + w, outlen - (size_t)w, "%s\"%s\"", i ? "," : "", l->ids[i]);
	snprintf(out + w, outlen - (size_t)w, "]}");
}

static void push_event(struct notify *n, const char *user, const char *json)
{
	struct frame *f = frame_from_text(json, strlen(json));

	if (!f)
		return;
	send_to_user(n, user, f, NULL);
	frame_unref(f);
}

struct read_fields {
	struct json_span ids, all, ts;
};

static int collect_read(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value, size_t len)
{
	struct read_fields *r = ctx;

	if (key_escaped)
		return 0;
	if (keylen == 3 && !memcmp(key, "ids", 3))
		r->ids = (struct json_span){ value, len };
	else if (keylen == 3 && !memcmp(key, "all", 3))
		r->all = (struct json_span){ value, len };
	else if (keylen == 2 && !memcmp(key, "ts", 2))
		r->ts = (struct json_span){ value, len };
	return 0;
}

static void on_read(struct notify *n, const char *user, const void *payload, size_t len)
{
	struct read_fields r = { { 0 }, { 0 }, { 0 } };
	struct id_list *l = NULL;
	char event[MAX_READ_IDS * (ENVELOPE_ID_MAX + 3) + 64];
	bool is_object;
	const char *value;
	size_t vlen;
	int64_t ts;

	if (jsontext_validate(payload, len, &is_object, &value, &vlen, collect_read, &r) || !is_object)
		goto bad;
	if (r.all.len == 4 && !memcmp(r.all.p, "true", 4) && r.ts.p && !jsontext_parse_uint(r.ts.p, r.ts.len, &ts)) {
		if (n->inbox)
			inbox_mark_all_read(n->inbox, user, ts);
		snprintf(event, sizeof(event), "{\"op\":\"read\",\"all\":true,\"ts\":%lld}", (long long)ts);
		push_event(n, user, event);
		return;
	}
	l = malloc(sizeof(*l));
	if (!l || !r.ids.p || parse_ids(r.ids.p, r.ids.len, l) || !l->count)
		goto bad;
	if (n->inbox)
		inbox_mark_read(n->inbox, user, l->ptrs, l->count);
	read_event(l, event, sizeof(event));
	push_event(n, user, event);
	free(l);
	return;
bad:
	free(l);
	log_warn("read_rejected", "user=%s reason=\"neither ids nor all\"", user);
}

static void on_settings(struct notify *n, const char *user, const void *payload, size_t len)
{
	cJSON *msg = cJSON_ParseWithLength(payload, len);
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(msg, "ts");

	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(msg, "mute")) || !cJSON_IsNumber(ts)) {
		if (len)	/* an empty retained message just clears the topic */
			log_warn("settings_rejected", "user=%s", user);
	} else if (n->inbox) {
		inbox_settings_put(n->inbox, user, payload, len, (int64_t)ts->valuedouble);
	}
	cJSON_Delete(msg);
}

/* ---- bridge hooks ---- */

void notify_on_message(void *ctx, const char *topic, size_t topic_len, const void *payload, size_t len)
{
	struct notify *n = ctx;
	const char *idp;
	size_t idlen;
	char user[TOPICS_ID_MAX + 1];
	enum topic_kind kind = topics_parse(n->edge->cfg->topic_prefix, topic, topic_len, &idp, &idlen);

	if (kind == TOPIC_NOTIFY_ALL) {
		on_notification(n, INBOX_BROADCAST_USER, topic, topic_len, payload, len);
		return;
	}
	if (kind != TOPIC_NOTIFY && kind != TOPIC_READ && kind != TOPIC_SETTINGS)
		return;
	memcpy(user, idp, idlen);
	user[idlen] = '\0';
	if (kind == TOPIC_NOTIFY)
		on_notification(n, user, topic, topic_len, payload, len);
	else if (kind == TOPIC_READ)
		on_read(n, user, payload, len);
	else
		on_settings(n, user, payload, len);
}

void notify_on_batch_done(void *ctx)
{
	struct notify *n = ctx;

	if (!n->inbox || !inbox_in_transaction(n->inbox)) {
		flush_pushes(n, true);
		return;
	}
	if (inbox_commit(n->inbox) < 0) {
		/* not stored: acknowledge nothing. The broker redelivers after the reconnect. */
		n->stats.commit_failures++;
		flush_pushes(n, false);
		bridge_drop_connection(n->bridge);
		return;
	}
	flush_pushes(n, true);
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

static void finish_request(struct ingest_req *r)
{
	char *body = NULL;
	size_t len;

	if (r->ctx) {
		if (r->failed) {
			static const char err[] = "{\"error\":\"unavailable\",\"message\":\"the broker did not take the notification\"}";

			r->done(r->ctx, 503, err, sizeof(err) - 1);
		} else {
			len = strlen(r->ids_json) + 16;
			body = malloc(len);
			if (body) {
				snprintf(body, len, "{\"ids\":%s}", r->ids_json);
				r->done(r->ctx, 201, body, strlen(body));
			} else {
				r->done(r->ctx, 500, "{\"error\":\"internal\"}", 20);
			}
		}
	}
	for (struct ingest_req **pp = &requests; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	free(body);
	free(r->ids_json);
	free(r);
}

void notify_on_published(void *ctx, void *cookie, int status)
{
	struct ingest_req *r = cookie;

	(void)ctx;
	if (status)
		r->failed = true;
	if (--r->outstanding == 0)
		finish_request(r);
}

/* ---- lifecycle ---- */

int notify_init(struct notify *n, struct edge *e)
{
	char err[sizeof(n->store_error)];

	memset(n, 0, sizeof(*n));
	n->edge = e;
	if (mkdir(e->cfg->data_dir, 0750) && errno != EEXIST) {
		snprintf(n->store_error, sizeof(n->store_error), "cannot create %s", e->cfg->data_dir);
	} else {
		n->inbox = inbox_open(e->cfg->data_dir, err, sizeof(err));
		if (!n->inbox)
			snprintf(n->store_error, sizeof(n->store_error), "%s", err);
	}
	if (!n->inbox) {
		n->stats.store_open_failures++;
		log_error("store_unavailable", "dir=%s err=\"%s\" effect=\"live traffic only, no inbox\"",
			  e->cfg->data_dir, n->store_error);
	}
	return 0;
}

void notify_attach_bridge(struct notify *n, struct bridge *b)
{
	n->bridge = b;
}

void notify_fini(struct notify *n)
{
	flush_pushes(n, false);
	free(n->pushes);
	while (requests) {
		requests->ctx = NULL;
		finish_request(requests);
	}
	inbox_close(n->inbox);
	n->inbox = NULL;
}

const char *const *notify_topics(struct notify *n)
{
	static char topics[4][TOPICS_TOPIC_MAX];
	static const char *list[5];
	static const enum topic_kind all[] = { TOPIC_NOTIFY_ALL, TOPIC_NOTIFY, TOPIC_READ, TOPIC_SETTINGS };
	size_t count = strcmp(n->edge->cfg->inbox_scope, "served") ? 4 : 1;

	for (size_t i = 0; i < count; i++) {
		if (topics_filter(topics[i], sizeof(topics[i]), n->edge->cfg->topic_prefix, all[i]) < 0)
			topics[i][0] = '\0';
		list[i] = topics[i];
	}
	list[count] = NULL;
	return list;
}

static void follow_user(void *ctx, const char *user)
{
	struct notify *n = ctx;
	static const enum topic_kind kinds_of_user[] = { TOPIC_NOTIFY, TOPIC_READ, TOPIC_SETTINGS };
	char topic[TOPICS_TOPIC_MAX];

	for (size_t i = 0; i < 3; i++)
		if (topics_build(topic, sizeof(topic), n->edge->cfg->topic_prefix, kinds_of_user[i], user) > 0 &&
		    !bridge_subscribe(n->bridge, topic, NULL))
			log_error("inbox_subscribe_failed", "topic=%s", topic);
}

void notify_follow_served(struct notify *n)
{
	if (n->inbox && !strcmp(n->edge->cfg->inbox_scope, "served"))
		inbox_served_each(n->inbox, follow_user, n);
}

void notify_user_seen(struct notify *n, const char *user)
{
	if (!n->inbox || strcmp(n->edge->cfg->inbox_scope, "served"))
		return;
	if (inbox_served_add(n->inbox, user) == 1) {
		inbox_commit(n->inbox);
		follow_user(n, user);
	}
}

int64_t notify_unread(struct notify *n, const char *user)
{
	int64_t count;

	if (!n->inbox)
		return -1;
	count = inbox_unread_count(n->inbox, user);
	return count < 0 ? -1 : count;
}

struct backlog_ctx {
	struct notify *n;
	struct session *s;
	size_t budget_bytes;
	int pushed, max;
	bool more;
};

static int push_row(void *ctx, int64_t seq, const char *json, size_t len, bool read)
{
	struct backlog_ctx *b = ctx;
	struct frame *f;

	(void)seq;
	if (b->pushed == b->max)
		return 1;	/* the extra row: there is more */
	f = notify_frame("notify", json, len, read);
	if (!f)
		return 1;
	if (b->s->outq.bytes + frame_wire_len(f) > b->budget_bytes) {
		frame_unref(f);
		b->more = true;		/* the client pages the rest with {"op":"inbox"} */
		return 1;
	}
	session_send(b->s, f);
	frame_unref(f);
	b->pushed++;
	return 0;
}

void notify_push_backlog(struct notify *n, struct session *s)
{
	struct backlog_ctx b = { n, s, (size_t)n->edge->cfg->outq_max_bytes / 2, 0, (int)n->edge->cfg->inbox_backlog, false };
	char buf[PROTOCOL_REPLY_MAX];
	int rows = 0;

	if (!n->inbox || s->ident.anonymous || s->ident.kind != IDENTITY_USER)
		return;
	/* one row past the maximum tells whether there is more */
	if (n->edge->cfg->inbox_backlog > 0)
		rows = inbox_each(n->inbox, s->ident.id, true, 0, (int)n->edge->cfg->inbox_backlog + 1, push_row, &b);
	if (rows < 0)
		return;
	if (b.pushed == n->edge->cfg->inbox_backlog && rows > b.pushed)
		b.more = true;
	n->stats.pushed += (uint64_t)b.pushed;
	snprintf(buf, sizeof(buf), "{\"op\":\"backlog\",\"count\":%d,\"more\":%s}", b.pushed, b.more ? "true" : "false");
	session_send_text(s, buf, strlen(buf));
}

/* ---- client ops ---- */

struct page_ctx {
	char *buf;
	size_t len, cap;
	size_t budget;		/* a page stays well under outq-max-bytes */
	int rows, limit;
	bool oom, more;
};

static int page_row(void *ctx, int64_t seq, const char *json, size_t len, bool read)
{
	struct page_ctx *p = ctx;
	size_t need = len + 24;

	(void)seq;
	if (p->rows == p->limit || (p->rows && p->len + need > p->budget)) {
		p->more = true;	/* the row one past the page, or the size budget: say there is more */
		return 1;
	}
	if (p->len + need + 64 > p->cap) {
		size_t cap = (p->cap + need + 64) * 2;
		char *nb = realloc(p->buf, cap);

		if (!nb) {
			p->oom = true;
			return 1;
		}
		p->buf = nb;
		p->cap = cap;
	}
	p->len += (size_t)snprintf(p->buf + p->len, p->cap - p->len, "%s{\"read\":%s,", p->rows ? "," : "",
				   read ? "true" : "false");
	memcpy(p->buf + p->len, json + 1, len - 1);	/* the stored object minus its "{" */
	p->len += len - 1;
	p->rows++;
	return 0;
}

static void op_inbox(struct notify *n, struct session *s, const struct client_op *op)
{
	struct page_ctx p = { NULL, 0, 4096, (size_t)n->edge->cfg->outq_max_bytes / 2, 0, 0, false, false };
	int64_t before = 0, unread;
	int rows;

	p.limit = op->limit ? (int)op->limit : 50;
	if (op->before[0]) {
		before = inbox_seq_of(n->inbox, s->ident.id, op->before);
		if (before <= 0) {
			hub_send_error(s, op->ref, "bad_request", "'before' is not a notification of yours on this edge");
			return;
		}
	}
	p.buf = malloc(p.cap);
	if (!p.buf)
		goto internal;
	p.len = (size_t)snprintf(p.buf, p.cap, "{\"op\":\"inbox\"%s%s,\"items\":[", op->ref[0] ? ",\"ref\":" : "", op->ref);
	/* one row more than asked tells whether there is more */
	rows = inbox_page(n->inbox, s->ident.id, before, p.limit + 1, page_row, &p);
	if (rows < 0 || p.oom)
		goto internal;
	unread = inbox_unread_count(n->inbox, s->ident.id);
	if (p.len + 96 > p.cap) {
		char *nb = realloc(p.buf, p.len + 96);

		if (!nb)
			goto internal;
		p.buf = nb;
	}
	p.len += (size_t)snprintf(p.buf + p.len, 96, "],\"unread\":%lld,\"more\":%s}", (long long)(unread < 0 ? 0 : unread),
				  p.more ? "true" : "false");
	session_send_text(s, p.buf, p.len);
	free(p.buf);
	return;
internal:
	free(p.buf);
	hub_send_error(s, op->ref, "internal", "could not read the inbox");
}

static void publish_json(struct notify *n, enum topic_kind kind, const char *user, const char *json, bool retain)
{
	char topic[TOPICS_TOPIC_MAX];

	if (topics_build(topic, sizeof(topic), n->edge->cfg->topic_prefix, kind, user) < 0 ||
	    bridge_publish(n->bridge, topic, json, strlen(json), retain, NULL) != BRIDGE_OK)
		log_warn("inbox_publish_failed", "user=%s kind=%d", user, kind);
}

static void reply_unread(struct notify *n, struct session *s, const char *ref)
{
	char buf[PROTOCOL_REPLY_MAX];
	int64_t unread = inbox_unread_count(n->inbox, s->ident.id);

	snprintf(buf, sizeof(buf), "{\"op\":\"ok\"%s%s,\"unread\":%lld}", ref[0] ? ",\"ref\":" : "", ref,
		 (long long)(unread < 0 ? 0 : unread));
	session_send_text(s, buf, strlen(buf));
}

static void op_read(struct notify *n, struct session *s, const struct client_op *op)
{
	char msg[MAX_READ_IDS * (ENVELOPE_ID_MAX + 3) + 64];
	int64_t now = now_ms();
	struct id_list *l = NULL;

	if (op->all) {
		if (inbox_mark_all_read(n->inbox, s->ident.id, now) < 0 || inbox_commit(n->inbox) < 0)
			goto unavailable;
		snprintf(msg, sizeof(msg), "{\"all\":true,\"ts\":%lld}", (long long)now);
	} else {
		int w;

		l = malloc(sizeof(*l));
		if (!l)
			goto unavailable;
		if (parse_ids(op->ids, op->ids_len, l) || !l->count) {
			free(l);
			hub_send_error(s, op->ref, "bad_request", "'ids' must hold 1 to 256 notification ids");
			return;
		}
		if (inbox_mark_read(n->inbox, s->ident.id, l->ptrs, l->count) < 0 || inbox_commit(n->inbox) < 0)
			goto unavailable;
		w = snprintf(msg, sizeof(msg), "{\"ids\":[");
		for (size_t i = 0; i < l->count; i++)
			w += snprintf(msg + w, sizeof(msg) - (size_t)w, "%s\"%s\"", i ? "," : "", l->ids[i]);
		snprintf(msg + w, sizeof(msg) - (size_t)w, "],\"ts\":%lld}", (long long)now);
		free(l);
	}
	/* every edge (this one too, harmlessly) applies it and tells the user's other tabs */
	publish_json(n, TOPIC_READ, s->ident.id, msg, false);
	reply_unread(n, s, op->ref);
	return;
unavailable:
	free(l);
	hub_send_error(s, op->ref, "unavailable", "the inbox store is unavailable");
}

static bool valid_mute_entry(const char *v)
{
	const char *colon = strchr(v, ':');
	char kind[32];
	size_t klen = colon ? (size_t)(colon - v) : strlen(v);

	if (klen >= sizeof(kind))
		return false;
	memcpy(kind, v, klen);
	kind[klen] = '\0';
	if (!valid_kind(kind))
		return false;
	return !colon || !topics_validate_id(colon + 1, strlen(colon + 1));
}

static void op_settings(struct notify *n, struct session *s, const struct client_op *op)
{
	char *current = NULL, *reply = NULL, *mute_text = NULL;
	int64_t ts, now = now_ms();
	cJSON *settings = NULL, *mute = NULL, *item;

	if (op->mute) {
		mute = cJSON_ParseWithLength(op->mute, op->mute_len);
		if (cJSON_GetArraySize(mute) > 100)
			goto bad;
		cJSON_ArrayForEach(item, mute)
			if (!cJSON_IsString(item) || !valid_mute_entry(item->valuestring))
				goto bad;
		settings = cJSON_CreateObject();
		if (!settings || !cJSON_AddItemReferenceToObject(settings, "mute", mute) ||
		    !cJSON_AddNumberToObject(settings, "ts", (double)now) || !(current = cJSON_PrintUnformatted(settings)))
			goto unavailable;
		if (inbox_settings_put(n->inbox, s->ident.id, current, strlen(current), now) < 0 ||
		    inbox_commit(n->inbox) < 0)
			goto unavailable;
		publish_json(n, TOPIC_SETTINGS, s->ident.id, current, true);	/* retained: the latest wins */
		mute_text = cJSON_PrintUnformatted(mute);
	} else {
		if (inbox_settings_get(n->inbox, s->ident.id, &current, &ts) < 0)
			goto unavailable;
		settings = current ? cJSON_Parse(current) : NULL;
		item = cJSON_GetObjectItemCaseSensitive(settings, "mute");
		mute_text = item ? cJSON_PrintUnformatted(item) : strdup("[]");
	}
	if (!mute_text)
		goto unavailable;
	reply = malloc(strlen(mute_text) + 128);
	if (!reply)
		goto unavailable;
	snprintf(reply, strlen(mute_text) + 128, "{\"op\":\"ok\"%s%s,\"mute\":%s}", op->ref[0] ? ",\"ref\":" : "",
		 op->ref, mute_text);
	session_send_text(s, reply, strlen(reply));
	goto done;
bad:
	hub_send_error(s, op->ref, "bad_request", "'mute' holds up to 100 entries like \"remind\" or \"remind:liked\"");
	goto done;
unavailable:
	hub_send_error(s, op->ref, "unavailable", "the inbox store is unavailable");
done:
	free(reply);
	free(mute_text);
	free(current);
	cJSON_Delete(settings);
	cJSON_Delete(mute);
}

void notify_op(struct notify *n, struct session *s, const struct client_op *op)
{
	if (s->ident.anonymous) {
		hub_send_error(s, op->ref, "forbidden", "anonymous sessions have no inbox");
		return;
	}
	if (!n->inbox) {
		hub_send_error(s, op->ref, "unavailable", "the inbox store is unavailable");
		return;
	}
	if (op->type == OP_INBOX)
		op_inbox(n, s, op);
	else if (op->type == OP_READ)
		op_read(n, s, op);
	else
		op_settings(n, s, op);
}

/* ---- HTTP ingress ---- */

static void http_error(notify_http_done_fn done, void *ctx, unsigned status, const char *code, const char *message)
{
	char body[512];
	int len = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":", code);

	len += (int)jsontext_escape(body + len, message, strlen(message) > 200 ? 200 : strlen(message));
	body[len++] = '}';
	done(ctx, status, body, (size_t)len);
}

/* One request item: its text and what parse_notification found in it. */
struct req_item {
	struct json_span text;
	struct nfields f;
	char id[ENVELOPE_ID_MAX + 1];
	int64_t ts;
};

struct req_items {
	struct req_item items[MAX_REQUEST_ITEMS];
	int count;
	bool too_many;
};

static int collect_item(void *ctx, const char *value, size_t len)
{
	struct req_items *r = ctx;

	if (r->count == MAX_REQUEST_ITEMS) {
		r->too_many = true;
		return 1;
	}
	r->items[r->count++].text = (struct json_span){ value, len };
	return 0;
}

struct publish_ctx {
	struct notify *n;
	struct ingest_req *req;
	const char *json;
	const struct req_item *item;
};

/* Stores (locally) and publishes one recipient's copy. */
static int publish_to(void *ctx, const char *value, size_t len)
{
	struct publish_ctx *p = ctx;
	char user[TOPICS_ID_MAX + 1], topic[TOPICS_TOPIC_MAX];

	memcpy(user, value + 1, len - 2);	/* validated: a plain string id */
	user[len - 2] = '\0';
	if (p->n->inbox)
		store(p->n, user, &p->item->f, p->item->id, p->item->ts);
	if (topics_build(topic, sizeof(topic), p->n->edge->cfg->topic_prefix, TOPIC_NOTIFY, user) < 0 ||
	    bridge_publish(p->n->bridge, topic, p->json, strlen(p->json), false, p->req) != BRIDGE_OK)
		p->req->failed = true;
	else
		p->req->outstanding++;
	return 0;
}

void notify_http_submit(struct notify *n, const char *body, size_t len, notify_http_done_fn done, void *ctx)
{
	struct req_items *r = calloc(1, sizeof(*r));
	struct ingest_req *req = NULL;
	const char *why = NULL;
	bool is_array;
	size_t ids_cap;

	n->stats.http_requests++;
	if (!r)
		goto internal;
	if (jsontext_array_items(body, len, &is_array, collect_item, r)) {
		if (r->too_many) {
			why = "send 1 to 100 notifications per request";
			goto bad;
		}
		n->stats.http_errors++;
		http_error(done, ctx, 400, "bad_json", "the body is not one JSON value");
		free(r);
		return;
	}
	if (!is_array) {
		r->items[0].text = (struct json_span){ body, len };
		r->count = 1;
	}
	if (r->count < 1) {
		why = "send 1 to 100 notifications per request";
		goto bad;
	}
	/* validate everything before storing anything: a request is taken whole or not at all */
	for (int i = 0; i < r->count; i++) {
		struct req_item *it = &r->items[i];

		why = parse_notification(it->text.p, it->text.len, &it->f, true, false);
		if (why)
			goto bad;
		if (it->f.id.p)
			given_id(&it->f, it->id);
		else
			hub_next_message_id(n->edge, it->id);
		it->ts = given_ts(&it->f);
	}
	req = calloc(1, sizeof(*req));
	ids_cap = (size_t)r->count * (ENVELOPE_ID_MAX + 4) + 3;
	if (!req || !(req->ids_json = malloc(ids_cap)))
		goto internal;
	req->done = done;
	req->ctx = ctx;
	strcpy(req->ids_json, "[");
	for (int i = 0; i < r->count; i++) {
		struct req_item *it = &r->items[i];
		char *json = canonical(&it->f, it->id, it->ts);
		char topic[TOPICS_TOPIC_MAX];

		if (!json) {
			req->failed = true;
			break;
		}
		snprintf(req->ids_json + strlen(req->ids_json), ids_cap - strlen(req->ids_json), "%s\"%s\"",
			 i ? "," : "", it->id);
		if (!it->f.to.p) {	/* an announcement: one message for everyone */
			if (n->inbox)
				store(n, INBOX_BROADCAST_USER, &it->f, it->id, it->ts);
			if (topics_filter(topic, sizeof(topic), n->edge->cfg->topic_prefix, TOPIC_NOTIFY_ALL) < 0 ||
			    bridge_publish(n->bridge, topic, json, strlen(json), false, req) != BRIDGE_OK)
				req->failed = true;
			else
				req->outstanding++;
		} else {
			struct publish_ctx p = { n, req, json, it };
			bool arr;

			jsontext_array_items(it->f.to.p, it->f.to.len, &arr, publish_to, &p);
		}
		free(json);
	}
	strcat(req->ids_json, "]");
	/* local copies are stored now; the broker's PUBACKs make it durable for every edge */
	if (n->inbox && inbox_in_transaction(n->inbox)) {
		if (inbox_commit(n->inbox) < 0) {
			n->stats.commit_failures++;
			flush_pushes(n, false);
		} else {
			flush_pushes(n, true);
		}
	}
	if (req->failed)
		n->stats.http_errors++;
	req->next = requests;
	requests = req;
	if (req->outstanding == 0)
		finish_request(req);
	free(r);
	return;
bad:
	n->stats.http_errors++;
	http_error(done, ctx, 400, "bad_request", why);
	goto out;
internal:
	n->stats.http_errors++;
	http_error(done, ctx, 500, "internal", "out of memory");
out:
	if (req)
		free(req->ids_json);
	free(req);
	free(r);
}

void notify_http_cancel(struct notify *n, void *ctx)
{
	(void)n;
	for (struct ingest_req *r = requests; r; r = r->next)
		if (r->ctx == ctx)
			r->ctx = NULL;
}

bool notify_tick(struct notify *n)
{
	const struct edge_config *cfg = n->edge->cfg;
	int deleted;

	if (!n->inbox)
		return false;
	deleted = inbox_prune(n->inbox, now_ms(), cfg->inbox_max_age * 1000, cfg->inbox_max_per_user, PRUNE_BUDGET);
	return deleted >= PRUNE_BUDGET;
}
