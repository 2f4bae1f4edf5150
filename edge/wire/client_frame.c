/*
 * client_frame.c - client frame text -> a validated op (docs/PROTOCOL.md sections 2, 3).
 * Owns: op names, field rules and error codes for malformed frames. Must not: check permissions,
 * touch sessions or the broker (the caller acts on the parsed op), or write replies (edge_frame.c).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mqedge/wire/jsontext.h"
#include "mqedge/wire/client_frame.h"


struct frame_fields {
	struct json_span op, ref, room, device, to, data, token, before, limit, ids, all, mute, presence, since, method;
};

struct since_fields {
	struct json_span epoch, offset;
};

static const struct {
	const char *name;
	enum op_type type;
} op_names[] = {
	{ "sub", OP_SUB }, { "unsub", OP_UNSUB }, { "pub", OP_PUB }, { "send", OP_SEND },
	{ "cmd", OP_CMD }, { "ping", OP_PING }, { "refresh", OP_REFRESH }, { "telemetry", OP_TELEMETRY },
	{ "inbox", OP_INBOX }, { "read", OP_READ }, { "settings", OP_SETTINGS }, { "presence", OP_PRESENCE },
	{ "history", OP_HISTORY }, { "rpc", OP_RPC },
};

#define FIELD(name) { #name, offsetof(struct frame_fields, name) }
static const struct jsontext_field frame_field_table[] = {
	FIELD(op), FIELD(ref), FIELD(room), FIELD(device), FIELD(to), FIELD(data), FIELD(token),
	FIELD(before), FIELD(limit), FIELD(ids), FIELD(all), FIELD(mute), FIELD(presence), FIELD(since),
	FIELD(method),
};
#undef FIELD
#define FIELD(name) { #name, offsetof(struct since_fields, name) }
static const struct jsontext_field since_field_table[] = { FIELD(epoch), FIELD(offset) };
#undef FIELD

static int fail(struct proto_error *err, const char *code, const char *message)
{
	err->code = code;
	snprintf(err->message, sizeof(err->message), "%s", message);
	return -1;
}

static bool is_string(struct json_span v)
{
	return v.len >= 2 && v.p[0] == '"';
}

/* Reads an id field into op->id; a string with escapes or bad characters is invalid_id. */
static int take_id(struct client_op *op, struct json_span v, const char *field, struct proto_error *err)
{
	struct json_span s;

	if (!is_string(v)) {
		snprintf(err->message, sizeof(err->message), "'%s' must be a string", field);
		err->code = "bad_request";
		return -1;
	}
	if (!jsontext_plain_string(v, &s) || topics_validate_id(s.p, s.len)) {
		snprintf(err->message, sizeof(err->message),
			 "'%s' must be 1-%d characters of A-Z a-z 0-9 _ - . @ :", field, TOPICS_ID_MAX);
		err->code = "invalid_id";
		return -1;
	}
	memcpy(op->id, s.p, s.len);
	op->id[s.len] = '\0';
	return 0;
}

static int need_data(struct client_op *op, const struct frame_fields *f, struct proto_error *err)
{
	if (!f->data.p)
		return fail(err, "bad_request", "'data' is required");
	op->data = f->data.p;
	op->data_len = f->data.len;
	return 0;
}

/* "since":{"epoch":E,"offset":N} of a resuming sub. Any epoch string is taken (one this edge does
 * not know is answered recovered:false); its shape and the offset must be right. */
static int take_since(struct client_op *op, struct json_span v, struct proto_error *err)
{
	struct since_fields sf = { 0 };
	struct jsontext_fields collect = { since_field_table, 2, &sf };
	struct json_span epoch;
	const char *value;
	size_t value_len;
	bool is_object;
	int64_t offset;

	if (jsontext_validate(v.p, v.len, &is_object, &value, &value_len, jsontext_collect_fields, &collect) ||
	    !is_object || !sf.epoch.p || !sf.offset.p)
		return fail(err, "bad_request", "'since' must be {\"epoch\":string,\"offset\":integer}");
	if (!jsontext_plain_string(sf.epoch, &epoch) || epoch.len == 0 || epoch.len > CLIENT_FRAME_EPOCH_MAX)
		return fail(err, "bad_request", "'since.epoch' must be a string of 1-32 characters");
	if (jsontext_parse_uint(sf.offset.p, sf.offset.len, &offset))
		return fail(err, "bad_request", "'since.offset' must be a non-negative integer");
	memcpy(op->since_epoch, epoch.p, epoch.len);
	op->since_epoch[epoch.len] = '\0';
	op->since_offset = (uint64_t)offset;
	op->has_since = true;
	return 0;
}

int client_frame_parse(const char *text, size_t len, struct client_op *op, struct proto_error *err)
{
	struct frame_fields f;
	bool is_object;
	const char *value;
	size_t value_len;
	struct json_span name;
	size_t i;

	memset(op, 0, sizeof(*op));
	memset(&f, 0, sizeof(f));
	struct jsontext_fields collect = { frame_field_table, sizeof(frame_field_table) / sizeof(frame_field_table[0]), &f };

	if (jsontext_validate(text, len, &is_object, &value, &value_len, jsontext_collect_fields, &collect))
		return fail(err, "bad_json", "frame is not valid JSON");
	if (!is_object)
		return fail(err, "bad_json", "frame is not a JSON object");
	if (f.ref.p) {
		bool number = f.ref.p[0] == '-' || (f.ref.p[0] >= '0' && f.ref.p[0] <= '9');

		if ((!number && !is_string(f.ref)) || f.ref.len > CLIENT_FRAME_REF_MAX + (number ? 0 : 2))
			return fail(err, "bad_request", "'ref' must be a string or number of at most 64 characters");
		memcpy(op->ref, f.ref.p, f.ref.len);
		op->ref[f.ref.len] = '\0';
	}
	if (!f.op.p)
		return fail(err, "bad_request", "'op' is required");
	if (!jsontext_plain_string(f.op, &name))
		return fail(err, "bad_request", "'op' must be a string");
	for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strlen(op_names[i].name) == name.len && !memcmp(op_names[i].name, name.p, name.len))
			break;
	if (i == sizeof(op_names) / sizeof(op_names[0]))
		return fail(err, "unknown_op", "unknown op");
	op->type = op_names[i].type;

	switch (op->type) {
	case OP_SUB:
	case OP_UNSUB:
		if (f.room.p && f.device.p)
			return fail(err, "bad_request", "give 'room' or 'device', not both");
		if (f.presence.p) {
			if (!(f.presence.len == 4 && !memcmp(f.presence.p, "true", 4)) &&
			    !(f.presence.len == 5 && !memcmp(f.presence.p, "false", 5)))
				return fail(err, "bad_request", "'presence' must be true or false");
			op->presence = f.presence.len == 4;
		}
		if (f.since.p && (op->type != OP_SUB || !f.room.p))
			return fail(err, "bad_request", "'since' is for a sub to a room");
		if (f.since.p && take_since(op, f.since, err))
			return -1;
		if (f.room.p) {
			op->target = TARGET_ROOM;
			return take_id(op, f.room, "room", err);
		}
		if (f.device.p) {
			op->target = TARGET_DEVICE;
			return take_id(op, f.device, "device", err);
		}
		return fail(err, "bad_request", "'room' or 'device' is required");
	case OP_PUB:
		if (!f.room.p)
			return fail(err, "bad_request", "'room' is required");
		op->target = TARGET_ROOM;
		if (take_id(op, f.room, "room", err))
			return -1;
		return need_data(op, &f, err);
	case OP_SEND:
		if (!f.to.p)
			return fail(err, "bad_request", "'to' is required");
		if (take_id(op, f.to, "to", err))
			return -1;
		return need_data(op, &f, err);
	case OP_CMD:
		if (!f.device.p)
			return fail(err, "bad_request", "'device' is required");
		op->target = TARGET_DEVICE;
		if (take_id(op, f.device, "device", err))
			return -1;
		return need_data(op, &f, err);
	case OP_TELEMETRY:
		return need_data(op, &f, err);
	case OP_REFRESH: {
		struct json_span tok;

		if (!f.token.p || !jsontext_plain_string(f.token, &tok) || !tok.len)
			return fail(err, "bad_request", "'token' must be a non-empty string");
		op->token = tok.p;
		op->token_len = tok.len;
		return 0;
	}
	case OP_PING:
		return 0;
	case OP_RPC:
		/* the answer is matched by ref: a request without one could never be told apart */
		if (!op->ref[0])
			return fail(err, "bad_request", "'ref' is required");
		if (!f.method.p)
			return fail(err, "bad_request", "'method' is required");
		if (take_id(op, f.method, "method", err))
			return -1;
		op->data = f.data.p ? f.data.p : "null";
		op->data_len = f.data.p ? f.data.len : 4;
		return 0;
	case OP_PRESENCE:
		if (!f.room.p)
			return fail(err, "bad_request", "'room' is required");
		op->target = TARGET_ROOM;
		return take_id(op, f.room, "room", err);
	case OP_HISTORY: {
		int64_t v;

		if (!f.room.p)
			return fail(err, "bad_request", "'room' is required");
		op->target = TARGET_ROOM;
		if (take_id(op, f.room, "room", err))
			return -1;
		if (f.before.p) {
			if (jsontext_parse_uint(f.before.p, f.before.len, &v) || v < 1)
				return fail(err, "bad_request", "'before' must be an offset (a positive integer)");
			op->before_offset = (uint64_t)v;
		}
		op->limit = 50;
		if (f.limit.p) {
			if (jsontext_parse_uint(f.limit.p, f.limit.len, &v) || v < 1 || v > 200)
				return fail(err, "bad_request", "'limit' must be an integer from 1 to 200");
			op->limit = (long)v;
		}
		return 0;
	}
	case OP_INBOX: {
		struct json_span b;
		int64_t limit;

		if (f.before.p) {
			if (!jsontext_plain_string(f.before, &b) || b.len >= sizeof(op->before))
				return fail(err, "bad_request", "'before' must be a notification id");
			memcpy(op->before, b.p, b.len);
			op->before[b.len] = '\0';
		}
		if (f.limit.p) {
			if (jsontext_parse_uint(f.limit.p, f.limit.len, &limit) || limit < 1 || limit > 1000)
				return fail(err, "bad_request", "'limit' must be an integer from 1 to 1000");
			op->limit = (long)limit;
		}
		return 0;
	}
	case OP_READ:
		if (f.all.p && f.all.len == 4 && !memcmp(f.all.p, "true", 4)) {
			op->all = true;
			return 0;
		}
		if (!f.ids.p || f.ids.p[0] != '[')
			return fail(err, "bad_request", "give 'ids' (an array of notification ids) or 'all': true");
		op->ids = f.ids.p;
		op->ids_len = f.ids.len;
		return 0;
	case OP_SETTINGS:
		if (f.mute.p) {
			if (f.mute.p[0] != '[')
				return fail(err, "bad_request", "'mute' must be an array");
			op->mute = f.mute.p;
			op->mute_len = f.mute.len;
		}
		return 0;
	}
	return fail(err, "unknown_op", "unknown op");
}
