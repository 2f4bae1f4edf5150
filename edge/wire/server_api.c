/*
 * server_api.c - the server HTTP API's request and answer bodies, and the disconnect and revocation
 * payloads edges exchange (server_api.h). Owns: their field names and rules. Must not: allocate
 * (answers grow a caller's textbuf), or know topics, sessions or the broker.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mqedge/wire/server_api.h"

/* ---- reading a request object ---- */

struct member_spec {
	const char *name;
	size_t offset;		/* of its json_span in the caller's struct */
};

struct members {
	const struct member_spec *spec;
	size_t n;
	void *base;
	const char *problem;	/* unknown or repeated member */
};

static int on_member(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value, size_t len)
{
	struct members *m = ctx;

	for (size_t i = 0; !key_escaped && i < m->n; i++) {
		struct json_span *slot;

		if (strlen(m->spec[i].name) != keylen || memcmp(m->spec[i].name, key, keylen))
			continue;
		slot = (struct json_span *)((char *)m->base + m->spec[i].offset);
		if (slot->p && !m->problem)
			m->problem = "a member is given twice";
		slot->p = value;
		slot->len = len;
		return 0;
	}
	if (!m->problem)
		m->problem = "unknown member (see PROTOCOL.md section 8, Server API)";
	return 0;	/* read on: bad JSON later in the body is bad_json, not this */
}

/* Validates body as one JSON object and collects its members. 0, or -EINVAL with err set. */
static int read_object(const char *body, size_t len, const struct member_spec *spec, size_t n, void *base,
		       struct server_api_error *err)
{
	struct members m = { spec, n, base, NULL };
	bool is_object;
	const char *value;
	size_t vlen;
	int rc = jsontext_validate(body, len, &is_object, &value, &vlen, on_member, &m);

	if (rc < 0) {
		*err = (struct server_api_error){ "bad_json", "the body is not one JSON value" };
		return -EINVAL;
	}
	if (m.problem) {
		*err = (struct server_api_error){ "bad_request", m.problem };
		return -EINVAL;
	}
	if (!is_object) {
		*err = (struct server_api_error){ "bad_request", "the body must be a JSON object" };
		return -EINVAL;
	}
	return 0;
}

static int fail(struct server_api_error *err, const char *code, const char *message)
{
	*err = (struct server_api_error){ code, message };
	return -EINVAL;
}

/* An id member: a string (else bad_request) holding a valid id written plainly (else invalid_id).
 * msg_id: a message id (1-100 id characters) instead of a room, user or device id (1-64). */
static int read_id(struct json_span v, char *out, bool msg_id, const char *what_type, const char *what_id,
		   struct server_api_error *err)
{
	struct json_span s;

	if (!v.len || v.p[0] != '"')
		return fail(err, "bad_request", what_type);
	if (!jsontext_plain_string(v, &s) ||
	    (msg_id ? envelope_validate_id(s.p, s.len) : topics_validate_id(s.p, s.len)) < 0)
		return fail(err, "invalid_id", what_id);
	memcpy(out, s.p, s.len);
	out[s.len] = '\0';
	return 0;
}

/* The optional "id" (message id) and "from" (an id). */
static int read_id_from(struct json_span id, struct json_span from, char *id_out, char *from_out,
			struct server_api_error *err)
{
	id_out[0] = from_out[0] = '\0';
	if (id.p && read_id(id, id_out, true, "id must be a string",
			    "id must be 1-100 characters of A-Z a-z 0-9 _ - . @ :", err))
		return -EINVAL;
	if (from.p && read_id(from, from_out, false, "from must be a string",
			      "from must be an id (1-64 characters of A-Z a-z 0-9 _ - . @ :)", err))
		return -EINVAL;
	return 0;
}

/* ---- publish ---- */

struct publish_fields {
	struct json_span room, user, device, data, id, from;
};

#define F(s, name) { #name, offsetof(struct s, name) }
static const struct member_spec publish_spec[] = {
	F(publish_fields, room), F(publish_fields, user), F(publish_fields, device),
	F(publish_fields, data), F(publish_fields, id), F(publish_fields, from),
};

int server_api_parse_publish(const char *body, size_t len, struct server_api_publish *out, struct server_api_error *err)
{
	struct publish_fields f;
	struct json_span target;
	int targets;

	memset(&f, 0, sizeof(f));
	if (read_object(body, len, publish_spec, sizeof(publish_spec) / sizeof(publish_spec[0]), &f, err))
		return -EINVAL;
	targets = !!f.room.p + !!f.user.p + !!f.device.p;
	if (targets != 1)
		return fail(err, "bad_request", "give exactly one of room, user and device");
	if (!f.data.p)
		return fail(err, "bad_request", "data is required (any JSON value)");
	out->target = f.room.p ? SERVER_API_ROOM : f.user.p ? SERVER_API_USER : SERVER_API_DEVICE;
	target = f.room.p ? f.room : f.user.p ? f.user : f.device;
	if (read_id(target, out->to, false, "room, user and device are strings",
		    "ids are 1-64 characters of A-Z a-z 0-9 _ - . @ : (no / + # or spaces)", err))
		return -EINVAL;
	if (read_id_from(f.id, f.from, out->id, out->from, err))
		return -EINVAL;
	out->data = f.data;
	return 0;
}

/* ---- broadcast ---- */

struct broadcast_fields {
	struct json_span rooms, data, id, from;
};

static const struct member_spec broadcast_spec[] = {
	F(broadcast_fields, rooms), F(broadcast_fields, data), F(broadcast_fields, id), F(broadcast_fields, from),
};

struct rooms_ctx {
	struct server_api_broadcast *out;
	struct server_api_error *err;
};

static int on_room(void *ctx, const char *value, size_t len)
{
	struct rooms_ctx *c = ctx;
	struct server_api_broadcast *b = c->out;

	if (b->n_rooms == SERVER_API_MAX_ROOMS) {
		fail(c->err, "bad_request", "at most 100 rooms per broadcast");
		return 1;
	}
	if (read_id((struct json_span){ value, len }, b->rooms[b->n_rooms], false, "rooms holds strings",
		    "room ids are 1-64 characters of A-Z a-z 0-9 _ - . @ : (no / + # or spaces)", c->err))
		return 1;
	for (size_t i = 0; i < b->n_rooms; i++) {
		if (!strcmp(b->rooms[i], b->rooms[b->n_rooms])) {
			fail(c->err, "bad_request", "a room is listed twice");
			return 1;
		}
	}
	b->n_rooms++;
	return 0;
}

int server_api_parse_broadcast(const char *body, size_t len, struct server_api_broadcast *out,
			       struct server_api_error *err)
{
	struct broadcast_fields f;
	struct rooms_ctx c = { out, err };
	bool is_array;
	int rc;

	memset(&f, 0, sizeof(f));
	out->n_rooms = 0;
	if (read_object(body, len, broadcast_spec, sizeof(broadcast_spec) / sizeof(broadcast_spec[0]), &f, err))
		return -EINVAL;
	if (!f.rooms.p)
		return fail(err, "bad_request", "rooms is required: an array of 1-100 room ids");
	if (!f.data.p)
		return fail(err, "bad_request", "data is required (any JSON value)");
	if (f.rooms.p[0] != '[')
		return fail(err, "bad_request", "rooms must be an array of 1-100 room ids");
	rc = jsontext_array_items(f.rooms.p, f.rooms.len, &is_array, on_room, &c);
	if (rc < 0)
		return fail(err, "bad_json", "the body is not one JSON value");
	if (rc)
		return -EINVAL;	/* on_room said why */
	if (!out->n_rooms)
		return fail(err, "bad_request", "rooms must be an array of 1-100 room ids");
	if (read_id_from(f.id, f.from, out->id, out->from, err))
		return -EINVAL;
	out->data = f.data;
	return 0;
}

/* ---- disconnect ---- */

struct disconnect_fields {
	struct json_span user, code, reason, refuse_tokens_before;
};

static const struct member_spec disconnect_spec[] = {
	F(disconnect_fields, user), F(disconnect_fields, code), F(disconnect_fields, reason),
	F(disconnect_fields, refuse_tokens_before),
};
#undef F

/* A close reason: a JSON string of at most SERVER_API_REASON_MAX bytes once decoded. */
static int read_reason(struct json_span v, char *out, struct server_api_error *err)
{
	int n;

	if (!v.len || v.p[0] != '"')
		return fail(err, "bad_request", "reason must be a string");
	n = jsontext_string_decode(v, out, SERVER_API_REASON_MAX + 1);
	if (n == -ENOBUFS)
		return fail(err, "bad_request", "reason is longer than 120 bytes (UTF-8)");
	if (n < 0)
		return fail(err, "bad_request", "reason must be text (no U+0000, no lone surrogates)");
	return 0;
}

int server_api_parse_disconnect(const char *body, size_t len, struct server_api_disconnect *out,
				struct server_api_error *err)
{
	struct disconnect_fields f;
	int64_t v;

	memset(&f, 0, sizeof(f));
	if (read_object(body, len, disconnect_spec, sizeof(disconnect_spec) / sizeof(disconnect_spec[0]), &f, err))
		return -EINVAL;
	if (!f.user.p)
		return fail(err, "bad_request", "user is required");
	if (read_id(f.user, out->user, false, "user must be a string",
		    "user ids are 1-64 characters of A-Z a-z 0-9 _ - . @ : (no / + # or spaces)", err))
		return -EINVAL;
	out->code = SERVER_API_DEFAULT_CODE;
	if (f.code.p) {
		if (jsontext_parse_uint(f.code.p, f.code.len, &v) || v < SERVER_API_CODE_MIN || v > SERVER_API_CODE_MAX)
			return fail(err, "bad_request", "code must be an integer from 4000 to 4999");
		out->code = (uint16_t)v;
	}
	snprintf(out->reason, sizeof(out->reason), "%s", SERVER_API_DEFAULT_REASON);
	if (f.reason.p && read_reason(f.reason, out->reason, err))
		return -EINVAL;
	out->revoke = SERVER_API_REVOKE_NONE;
	out->before = 0;
	if (f.refuse_tokens_before.p) {
		struct json_span s;

		if (jsontext_plain_string(f.refuse_tokens_before, &s) && s.len == 3 && !memcmp(s.p, "now", 3)) {
			out->revoke = SERVER_API_REVOKE_NOW;
		} else if (!jsontext_parse_uint(f.refuse_tokens_before.p, f.refuse_tokens_before.len, &v) &&
			   v <= SERVER_API_BEFORE_MAX) {
			out->revoke = v ? SERVER_API_REVOKE_AT : SERVER_API_REVOKE_LIFT;
			out->before = v;
		} else {
			return fail(err, "bad_request",
				    "refuse_tokens_before must be seconds since the epoch (an integer; 0 lifts) or \"now\"");
		}
	}
	return 0;
}

/* ---- answers ---- */

int server_api_published(char *buf, const char *id, int64_t ts)
{
	return snprintf(buf, SERVER_API_PUBLISHED_MAX, "{\"id\":\"%s\",\"ts\":%lld}", id, (long long)ts);
}

static void put_string(struct textbuf *b, const char *s)
{
	size_t len = strlen(s);
	char *p = textbuf_reserve(b, jsontext_escaped_len(s, len));

	if (p)
		b->len += jsontext_escape(p, s, len);
}

void server_api_broadcast_body(struct textbuf *b, const struct server_api_result *r, size_t n, int64_t ts,
			       const char *error, const char *message)
{
	textbuf_puts(b, "{");
	if (error) {
		textbuf_printf(b, "\"error\":\"%s\",\"message\":", error);
		put_string(b, message);
		textbuf_puts(b, ",");
	}
	textbuf_puts(b, "\"results\":[");
	for (size_t i = 0; i < n; i++) {
		/* ids, rooms and codes are validated id characters: nothing to escape */
		if (r[i].error)
			textbuf_printf(b, "%s{\"room\":\"%s\",\"error\":\"%s\"}", i ? "," : "", r[i].room, r[i].error);
		else
			textbuf_printf(b, "%s{\"room\":\"%s\",\"id\":\"%s\"}", i ? "," : "", r[i].room, r[i].id);
	}
	textbuf_printf(b, "],\"ts\":%lld}", (long long)ts);
}

void server_api_disconnect_body(struct textbuf *b, const char *user, uint32_t closed_here, bool revoked,
				int64_t before, int64_t ts)
{
	textbuf_printf(b, "{\"user\":\"%s\",\"closed_here\":%u", user, closed_here);
	if (revoked)
		textbuf_printf(b, ",\"refuse_tokens_before\":%lld", (long long)before);
	textbuf_printf(b, ",\"ts\":%lld}", (long long)ts);
}

void server_api_info_body(struct textbuf *b, const struct server_api_edge *edges, size_t n, int64_t now)
{
	textbuf_puts(b, "{\"edges\":[");
	for (size_t i = 0; i < n; i++) {
		const struct server_api_edge *e = &edges[i];

		textbuf_printf(b, "%s{\"edge\":\"%s\",\"version\":", i ? "," : "", e->edge);
		put_string(b, e->version);
		if (e->connections >= 0)
			textbuf_printf(b, ",\"connections\":%lld", (long long)e->connections);
		else
			textbuf_puts(b, ",\"connections\":null");
		textbuf_printf(b, ",\"boot\":%lld,\"uptime_s\":%lld,\"ts\":%lld}", (long long)e->boot,
			       (long long)(now > e->boot ? (now - e->boot) / 1000 : 0), (long long)e->ts);
	}
	textbuf_printf(b, "],\"ts\":%lld}", (long long)now);
}

/* ---- between edges ---- */

int server_api_disconnect_msg(char *buf, uint16_t code, const char *reason, int64_t ts)
{
	size_t rlen = strlen(reason);
	int n;

	if (rlen > SERVER_API_REASON_MAX)
		rlen = SERVER_API_REASON_MAX;
	n = snprintf(buf, SERVER_API_DISCONNECT_MSG_MAX, "{\"code\":%u,\"reason\":", code);
	n += (int)jsontext_escape(buf + n, reason, rlen);
	n += snprintf(buf + n, SERVER_API_DISCONNECT_MSG_MAX - (size_t)n, ",\"ts\":%lld}", (long long)ts);
	return n;
}

struct msg_fields {
	struct json_span code, reason, before;
};

int server_api_disconnect_msg_parse(const char *p, size_t len, uint16_t *code, char *reason)
{
	struct msg_fields f;
	static const struct jsontext_field table[] = {
		{ "code", offsetof(struct msg_fields, code) }, { "reason", offsetof(struct msg_fields, reason) },
	};
	struct jsontext_fields collect = { table, 2, &f };
	struct server_api_error err;
	bool is_object;
	const char *value;
	size_t vlen;
	int64_t v;

	memset(&f, 0, sizeof(f));
	if (jsontext_validate(p, len, &is_object, &value, &vlen, jsontext_collect_fields, &collect) || !is_object ||
	    !f.code.p || jsontext_parse_uint(f.code.p, f.code.len, &v) || v < SERVER_API_CODE_MIN ||
	    v > SERVER_API_CODE_MAX)
		return -EINVAL;
	*code = (uint16_t)v;
	if (!f.reason.p) {
		snprintf(reason, SERVER_API_REASON_MAX + 1, "%s", SERVER_API_DEFAULT_REASON);
		return 0;
	}
	return read_reason(f.reason, reason, &err) ? -EINVAL : 0;
}

int server_api_revoke_msg(char *buf, int64_t before, int64_t ts)
{
	return snprintf(buf, SERVER_API_REVOKE_MSG_MAX, "{\"before\":%lld,\"ts\":%lld}", (long long)before, (long long)ts);
}

int server_api_revoke_msg_parse(const char *p, size_t len, int64_t *before)
{
	struct msg_fields f;
	static const struct jsontext_field table[] = { { "before", offsetof(struct msg_fields, before) } };
	struct jsontext_fields collect = { table, 1, &f };
	bool is_object;
	const char *value;
	size_t vlen;

	memset(&f, 0, sizeof(f));
	if (jsontext_validate(p, len, &is_object, &value, &vlen, jsontext_collect_fields, &collect) || !is_object ||
	    !f.before.p || jsontext_parse_uint(f.before.p, f.before.len, before) || *before > SERVER_API_BEFORE_MAX)
		return -EINVAL;
	return 0;
}
