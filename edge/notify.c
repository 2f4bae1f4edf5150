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
#define MAX_TEXT 1024		/* title, object ids */
#define PRUNE_BUDGET 500
/* content ids: a fixed key, so every edge derives the same id for the same message */
#define CONTENT_KEY0 0x6d71656467652d31ULL
#define CONTENT_KEY1 0x6e6f746966792d31ULL

struct pending_push {
	char user[TOPICS_ID_MAX + 1];	/* "*" for an announcement */
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

static bool valid_id_string(const cJSON *v)
{
	return cJSON_IsString(v) && !topics_validate_id(v->valuestring, strlen(v->valuestring));
}

static bool valid_text(const cJSON *v)
{
	return cJSON_IsString(v) && strlen(v->valuestring) <= MAX_TEXT;
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

/* Sends f to every session of user on this edge ("*": every user session). Returns how many. */
static unsigned send_to_user(struct notify *n, const char *user, struct frame *f)
{
	unsigned sent = 0;

	if (!strcmp(user, INBOX_BROADCAST_USER)) {
		for (struct session *s = n->edge->sessions; s; s = s->next) {
			if (!s->ident.anonymous && s->ident.kind == IDENTITY_USER) {
				session_send(s, f);
				sent++;
			}
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

/* True when user's settings mute this kind (or kind:action). */
static bool muted(struct notify *n, const char *user, const char *kind, const char *action)
{
	char *json = NULL, full[160];
	int64_t ts;
	cJSON *settings, *mute, *item;
	bool hit = false;

	if (inbox_settings_get(n->inbox, user, &json, &ts) || !json)
		return false;
	snprintf(full, sizeof(full), "%s:%s", kind, action ? action : "");
	settings = cJSON_Parse(json);
	free(json);
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

/* ---- ingest ---- */

/* Checks a notification object for kind's required fields. Returns NULL or what is wrong. */
static const char *check_notification(const cJSON *obj, bool broadcast)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");

	if (!cJSON_IsObject(obj))
		return "a notification is a JSON object";
	if (!cJSON_IsString(kind) || !valid_kind(kind->valuestring))
		return "'kind' must be announcement, remind or mailbox";
	if (broadcast != !strcmp(kind->valuestring, "announcement"))
		return broadcast ? "'to' is required (only announcements go to everyone)" :
				   "announcements go to everyone: no 'to'";
	for (const char *const *f = (const char *const[]){ "action", "object_type", "actor", NULL }; *f; f++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, *f);

		if (v && !valid_id_string(v))
			return "'action', 'object_type' and 'actor' must be ids (A-Z a-z 0-9 _ - . @ :, 1-64)";
	}
	if (cJSON_GetObjectItemCaseSensitive(obj, "object_id") &&
	    !valid_text(cJSON_GetObjectItemCaseSensitive(obj, "object_id")))
		return "'object_id' must be a string";
	if (cJSON_GetObjectItemCaseSensitive(obj, "title") && !valid_text(cJSON_GetObjectItemCaseSensitive(obj, "title")))
		return "'title' must be a string of at most 1024 bytes";
	if (!strcmp(kind->valuestring, "remind") &&
	    (!cJSON_GetObjectItemCaseSensitive(obj, "action") || !cJSON_GetObjectItemCaseSensitive(obj, "object_type") ||
	     !cJSON_GetObjectItemCaseSensitive(obj, "object_id")))
		return "a remind needs 'action', 'object_type' and 'object_id'";
	if (!strcmp(kind->valuestring, "mailbox") && !cJSON_GetObjectItemCaseSensitive(obj, "actor"))
		return "a mailbox message needs 'actor' (the sender)";
	return NULL;
}

/* The stored form: fixed field order, only known fields, id and ts filled in. Caller frees. */
static char *canonical(const cJSON *obj, const char *id, int64_t ts)
{
	static const char *const fields[] = { "kind", "action", "object_type", "object_id", "actor", "title", "data" };
	cJSON *out = cJSON_CreateObject();
	char *text = NULL;

	if (!out || !cJSON_AddStringToObject(out, "id", id) || !cJSON_AddNumberToObject(out, "ts", (double)ts))
		goto done;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, fields[i]);

		/* a reference: printed from the source tree, not copied, not freed with out */
		if (v && !cJSON_AddItemReferenceToObject(out, fields[i], v))
			goto done;
	}
	text = cJSON_PrintUnformatted(out);
done:
	cJSON_Delete(out);
	return text;
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
	n->pushes[n->n_pushes++].frame = f;
	return 0;
}

static void flush_pushes(struct notify *n, bool deliver)
{
	for (size_t i = 0; i < n->n_pushes; i++) {
		if (deliver)
			n->stats.pushed += send_to_user(n, n->pushes[i].user, n->pushes[i].frame);
		frame_unref(n->pushes[i].frame);
	}
	n->n_pushes = 0;
}

/* Stores one notification for user (or "*") in the open transaction and queues its push.
 * Returns 0 (stored or duplicate) or -1 (store failure). */
static int store(struct notify *n, const char *user, const cJSON *obj, const char *id, int64_t ts)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(obj, "action");
	bool broadcast = !strcmp(user, INBOX_BROADCAST_USER);
	bool mute = !broadcast && muted(n, user, kind->valuestring, cJSON_IsString(action) ? action->valuestring : NULL);
	char *json = canonical(obj, id, ts);
	struct frame *f = NULL;
	int rc;

	if (!json)
		return -1;
	rc = inbox_put(n->inbox, user, id, ts, kind->valuestring, json, strlen(json), mute);
	if (rc == INBOX_OK) {
		n->stats.stored++;
		if (mute) {
			n->stats.muted++;
		} else {
			f = notify_frame("notify", json, strlen(json), false);
			if (!f || queue_push(n, user, f)) {
				if (f)
					frame_unref(f);
				log_error("notify_push_lost", "user=%s id=%s reason=nomem", user, id);
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
	cJSON *obj = cJSON_ParseWithLength(payload, len);
	const cJSON *jid, *jts;
	const char *why;
	char id[ENVELOPE_ID_MAX + 1];
	int64_t ts;

	n->stats.received++;
	why = obj ? check_notification(obj, !strcmp(user, INBOX_BROADCAST_USER)) : "not JSON";
	jid = cJSON_GetObjectItemCaseSensitive(obj, "id");
	jts = cJSON_GetObjectItemCaseSensitive(obj, "ts");
	if (!why && jid && (!cJSON_IsString(jid) || envelope_validate_id(jid->valuestring, strlen(jid->valuestring))))
		why = "'id' must be 1-100 id characters";
	if (!why && jts && (!cJSON_IsNumber(jts) || jts->valuedouble < 0))
		why = "'ts' must be milliseconds since the epoch";
	if (why) {
		n->stats.rejected++;
		log_warn("notify_rejected", "topic=%.*s reason=\"%s\"", (int)topic_len, topic, why);
		cJSON_Delete(obj);
		return;
	}
	if (jid)
		snprintf(id, sizeof(id), "%s", jid->valuestring);
	else
		content_id(topic, topic_len, payload, len, id);
	ts = jts ? (int64_t)jts->valuedouble : now_ms();
	if (n->inbox && store(n, user, obj, id, ts) < 0)
		log_error("notify_store_failed", "user=%s id=%s err=\"%s\"", user, id, inbox_last_error(n->inbox));
	cJSON_Delete(obj);
}

/* ---- read marks and settings from other edges (and our own echo) ---- */

static void push_event(struct notify *n, const char *user, const char *json)
{
	struct frame *f = frame_from_text(json, strlen(json));

	if (!f)
		return;
	send_to_user(n, user, f);
	frame_unref(f);
}

static void on_read(struct notify *n, const char *user, const void *payload, size_t len)
{
	cJSON *msg = cJSON_ParseWithLength(payload, len), *ids, *item, *ts;
	const char *list[256];
	size_t count = 0;
	char event[PROTOCOL_REPLY_MAX];

	ids = cJSON_GetObjectItemCaseSensitive(msg, "ids");
	ts = cJSON_GetObjectItemCaseSensitive(msg, "ts");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "all")) && cJSON_IsNumber(ts)) {
		if (n->inbox)
			inbox_mark_all_read(n->inbox, user, (int64_t)ts->valuedouble);
		snprintf(event, sizeof(event), "{\"op\":\"read\",\"all\":true,\"ts\":%lld}", (long long)ts->valuedouble);
		push_event(n, user, event);
	} else if (cJSON_IsArray(ids)) {
		cJSON_ArrayForEach(item, ids) {
			if (count < sizeof(list) / sizeof(list[0]) && cJSON_IsString(item) &&
			    !envelope_validate_id(item->valuestring, strlen(item->valuestring)))
				list[count++] = item->valuestring;
		}
		if (n->inbox && count)
			inbox_mark_read(n->inbox, user, list, count);
		/* the ids were validated: they need no escaping */
		int w = snprintf(event, sizeof(event), "{\"op\":\"read\",\"ids\":[");

		for (size_t i = 0; i < count && w < (int)sizeof(event) - 110; i++)
			w += snprintf(event + w, sizeof(event) - (size_t)w, "%s\"%s\"", i ? "," : "", list[i]);
		snprintf(event + w, sizeof(event) - (size_t)w, "]}");
		if (count)
			push_event(n, user, event);
	} else {
		log_warn("read_rejected", "user=%s reason=\"neither ids nor all\"", user);
	}
	cJSON_Delete(msg);
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
	if (!n->inbox)
		log_error("store_unavailable", "dir=%s err=\"%s\" effect=\"live traffic only, no inbox\"",
			  e->cfg->data_dir, n->store_error);
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
	int pushed;
	bool more;
};

static int push_row(void *ctx, int64_t seq, const char *json, size_t len, bool read)
{
	struct backlog_ctx *b = ctx;
	struct frame *f;

	(void)seq;
	if (b->s->outq.bytes > b->budget_bytes) {
		b->more = true;		/* the client pages the rest with {"op":"inbox"} */
		return 1;
	}
	f = notify_frame("notify", json, len, read);
	if (!f)
		return 1;
	session_send(b->s, f);
	frame_unref(f);
	b->pushed++;
	return 0;
}

void notify_push_backlog(struct notify *n, struct session *s)
{
	struct backlog_ctx b = { n, s, (size_t)n->edge->cfg->outq_max_bytes / 2, 0, false };
	char buf[PROTOCOL_REPLY_MAX];
	int rows = 0;

	if (!n->inbox || s->ident.anonymous || s->ident.kind != IDENTITY_USER)
		return;
	if (n->edge->cfg->inbox_backlog > 0)
		rows = inbox_each(n->inbox, s->ident.id, true, 0, (int)n->edge->cfg->inbox_backlog, push_row, &b);
	if (rows < 0)
		return;
	if (rows >= n->edge->cfg->inbox_backlog)
		b.more = true;
	n->stats.pushed += (uint64_t)b.pushed;
	snprintf(buf, sizeof(buf), "{\"op\":\"backlog\",\"count\":%d,\"more\":%s}", b.pushed, b.more ? "true" : "false");
	session_send_text(s, buf, strlen(buf));
}

/* ---- client ops ---- */

struct page_ctx {
	char *buf;
	size_t len, cap;
	int rows;
	bool oom;
};

static int page_row(void *ctx, int64_t seq, const char *json, size_t len, bool read)
{
	struct page_ctx *p = ctx;
	size_t need = len + 24;

	(void)seq;
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
	struct page_ctx p = { NULL, 0, 0, 0, false };
	long limit = op->limit ? op->limit : 50;
	int64_t before = 0, unread;
	int rows;

	if (op->before[0]) {
		before = inbox_seq_of(n->inbox, s->ident.id, op->before);
		if (before <= 0) {
			hub_send_error(s, op->ref, "bad_request", "'before' is not a notification of yours on this edge");
			return;
		}
	}
	p.cap = 4096;
	p.buf = malloc(p.cap);
	if (!p.buf)
		goto internal;
	p.len = (size_t)snprintf(p.buf, p.cap, "{\"op\":\"inbox\"%s%s,\"items\":[", op->ref[0] ? ",\"ref\":" : "", op->ref);
	/* one row more than asked tells whether there is more */
	rows = inbox_page(n->inbox, s->ident.id, before, (int)limit + 1, page_row, &p);
	if (rows < 0 || p.oom)
		goto internal;
	if (p.rows > limit) {	/* drop the extra row */
		char *last = p.buf + p.len;

		while (last > p.buf && memcmp(last, ",{\"read\":", 9))
			last--;
		p.len = (size_t)(last - p.buf);
	}
	unread = inbox_unread_count(n->inbox, s->ident.id);
	if (p.len + 96 > p.cap) {
		char *nb = realloc(p.buf, p.len + 96);

		if (!nb)
			goto internal;
		p.buf = nb;
	}
	p.len += (size_t)snprintf(p.buf + p.len, 96, "],\"unread\":%lld,\"more\":%s}", (long long)(unread < 0 ? 0 : unread),
				  p.rows > limit ? "true" : "false");
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
	char msg[8192];
	int64_t now = now_ms();

	if (op->all) {
		if (inbox_mark_all_read(n->inbox, s->ident.id, now) < 0 || inbox_commit(n->inbox) < 0)
			goto unavailable;
		snprintf(msg, sizeof(msg), "{\"all\":true,\"ts\":%lld}", (long long)now);
	} else {
		cJSON *ids = cJSON_ParseWithLength(op->ids, op->ids_len), *item;
		const char *list[256];
		size_t count = 0;
		int w;

		cJSON_ArrayForEach(item, ids) {
			if (!cJSON_IsString(item) || envelope_validate_id(item->valuestring, strlen(item->valuestring)) ||
			    count == sizeof(list) / sizeof(list[0])) {
				cJSON_Delete(ids);
				hub_send_error(s, op->ref, "bad_request", "'ids' must hold 1 to 256 notification ids");
				return;
			}
			list[count++] = item->valuestring;
		}
		if (!count) {
			cJSON_Delete(ids);
			hub_send_error(s, op->ref, "bad_request", "'ids' must hold 1 to 256 notification ids");
			return;
		}
		if (inbox_mark_read(n->inbox, s->ident.id, list, count) < 0 || inbox_commit(n->inbox) < 0) {
			cJSON_Delete(ids);
			goto unavailable;
		}
		w = snprintf(msg, sizeof(msg), "{\"ids\":[");
		for (size_t i = 0; i < count && w < (int)sizeof(msg) - 128; i++)
			w += snprintf(msg + w, sizeof(msg) - (size_t)w, "%s\"%s\"", i ? "," : "", list[i]);
		snprintf(msg + w, sizeof(msg) - (size_t)w, "],\"ts\":%lld}", (long long)now);
		cJSON_Delete(ids);
	}
	/* every edge (this one too, harmlessly) applies it and tells the user's other tabs */
	publish_json(n, TOPIC_READ, s->ident.id, msg, false);
	reply_unread(n, s, op->ref);
	return;
unavailable:
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

/* Validates one request item; fills id and ts. Returns NULL or what is wrong. */
static const char *check_item(struct notify *n, cJSON *item, char id[ENVELOPE_ID_MAX + 1], int64_t *ts)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(item, "to");
	const cJSON *jid = cJSON_GetObjectItemCaseSensitive(item, "id");
	const cJSON *jts = cJSON_GetObjectItemCaseSensitive(item, "ts");
	const cJSON *r;
	const char *why = check_notification(item, !to);

	if (why)
		return why;
	if (to) {
		int count = 0;

		if (!cJSON_IsArray(to))
			return "'to' must be an array of user ids";
		cJSON_ArrayForEach(r, to) {
			if (!valid_id_string(r))
				return "'to' must hold user ids (A-Z a-z 0-9 _ - . @ :, 1-64)";
			count++;
		}
		if (count < 1 || count > MAX_RECIPIENTS)
			return "'to' must hold 1 to 1000 user ids";
	}
	if (jid && (!cJSON_IsString(jid) || envelope_validate_id(jid->valuestring, strlen(jid->valuestring))))
		return "'id' must be 1-100 id characters";
	if (jts && (!cJSON_IsNumber(jts) || jts->valuedouble < 0))
		return "'ts' must be milliseconds since the epoch";
	if (jid)
		snprintf(id, ENVELOPE_ID_MAX + 1, "%s", jid->valuestring);
	else
		hub_next_message_id(n->edge, id);
	*ts = jts ? (int64_t)jts->valuedouble : now_ms();
	return NULL;
}

void notify_http_submit(struct notify *n, const char *body, size_t len, notify_http_done_fn done, void *ctx)
{
	cJSON *doc = cJSON_ParseWithLength(body, len), *item, *r;
	struct ingest_req *req = NULL;
	char (*ids)[ENVELOPE_ID_MAX + 1] = NULL;
	int64_t *tss = NULL;
	int count, i = 0;
	size_t ids_cap;
	const char *why = NULL;

	n->stats.http_requests++;
	if (!doc) {
		n->stats.http_errors++;
		http_error(done, ctx, 400, "bad_json", "the body is not JSON");
		return;
	}
	count = cJSON_IsArray(doc) ? cJSON_GetArraySize(doc) : 1;
	if (count < 1 || count > 100) {
		why = "send 1 to 100 notifications per request";
		goto bad;
	}
	ids = calloc((size_t)count, sizeof(*ids));
	tss = calloc((size_t)count, sizeof(*tss));
	if (!ids || !tss)
		goto internal;
	/* validate everything before storing anything: a request is taken whole or not at all */
	for (item = cJSON_IsArray(doc) ? doc->child : doc; item && i < count; item = item->next, i++) {
		why = check_item(n, item, ids[i], &tss[i]);
		if (why)
			goto bad;
		if (!cJSON_IsArray(doc))
			break;
	}
	req = calloc(1, sizeof(*req));
	ids_cap = (size_t)count * (ENVELOPE_ID_MAX + 4) + 3;
	if (!req || !(req->ids_json = malloc(ids_cap)))
		goto internal;
	req->done = done;
	req->ctx = ctx;
	req->ids_json[0] = '[';
	req->ids_json[1] = '\0';
	i = 0;
	for (item = cJSON_IsArray(doc) ? doc->child : doc; item && i < count; item = item->next, i++) {
		const cJSON *to = cJSON_GetObjectItemCaseSensitive(item, "to");
		char *json = canonical(item, ids[i], tss[i]);
		char topic[TOPICS_TOPIC_MAX];

		if (!json) {
			req->failed = true;
			break;
		}
		snprintf(req->ids_json + strlen(req->ids_json), ids_cap - strlen(req->ids_json), "%s\"%s\"",
			 i ? "," : "", ids[i]);
		if (!to) {	/* an announcement: one message for everyone */
			if (n->inbox)
				store(n, INBOX_BROADCAST_USER, item, ids[i], tss[i]);
			if (topics_filter(topic, sizeof(topic), n->edge->cfg->topic_prefix, TOPIC_NOTIFY_ALL) < 0 ||
			    bridge_publish(n->bridge, topic, json, strlen(json), false, req) != BRIDGE_OK)
				req->failed = true;
			else
				req->outstanding++;
		}
		cJSON_ArrayForEach(r, to) {
			if (n->inbox)
				store(n, r->valuestring, item, ids[i], tss[i]);
			if (topics_build(topic, sizeof(topic), n->edge->cfg->topic_prefix, TOPIC_NOTIFY, r->valuestring) < 0 ||
			    bridge_publish(n->bridge, topic, json, strlen(json), false, req) != BRIDGE_OK)
				req->failed = true;
			else
				req->outstanding++;
		}
		free(json);
		if (!cJSON_IsArray(doc))
			break;
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
	cJSON_Delete(doc);
	free(ids);
	free(tss);
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
	cJSON_Delete(doc);
	free(ids);
	free(tss);
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
