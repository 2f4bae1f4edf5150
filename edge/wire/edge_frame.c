/*
 * edge_frame.c - writes every frame the edge sends to clients (docs/PROTOCOL.md sections 3-7).
 * Owns: the field names and order of outgoing frames. Must not: decide what to send (callers do)
 * or allocate frames (fanout/frame.c owns frame memory).
 */
#include <stdio.h>
#include <string.h>

#include "mqedge/wire/edge_frame.h"
#include "mqedge/wire/jsontext.h"

/* "{"op":"OP"" plus ,"ref":REF when there is one; returns the length written. */
static int head(char *buf, const char *op, const char *ref)
{
	return snprintf(buf, EDGE_FRAME_MAX, "{\"op\":\"%s\"%s%s", op, *ref ? ",\"ref\":" : "", ref);
}

/* Appends ,"KEY":V} after a head of n bytes; returns the frame's length. */
static int tail_int(char *buf, int n, const char *key, long long v)
{
	return n + snprintf(buf + n, (size_t)(EDGE_FRAME_MAX - n), ",\"%s\":%lld}", key, v);
}

int edge_frame_ok(char *buf, const char *ref)
{
	int n = head(buf, "ok", ref);

	return n + snprintf(buf + n, (size_t)(EDGE_FRAME_MAX - n), "}");
}

int edge_frame_ok_msg(char *buf, const char *ref, const char *id, int64_t ts)
{
	int n = head(buf, "ok", ref);

	return n + snprintf(buf + n, (size_t)(EDGE_FRAME_MAX - n), ",\"id\":\"%s\",\"ts\":%lld}", id, (long long)ts);
}

int edge_frame_ok_exp(char *buf, const char *ref, int64_t exp)
{
	int n = head(buf, "ok", ref);

	if (exp)
		return tail_int(buf, n, "exp", (long long)exp);
	return n + snprintf(buf + n, (size_t)(EDGE_FRAME_MAX - n), ",\"exp\":null}");
}

int edge_frame_ok_unread(char *buf, const char *ref, int64_t unread)
{
	return tail_int(buf, head(buf, "ok", ref), "unread", (long long)(unread < 0 ? 0 : unread));
}

/* {"op":"ok","ref":REF,"KEY":JSON}: an ok carrying a JSON value of any size. */
static void ok_with_json(struct textbuf *b, const char *ref, const char *key, const char *json, size_t len)
{
	char buf[EDGE_FRAME_MAX];

	textbuf_append(b, buf, (size_t)head(buf, "ok", ref));
	textbuf_printf(b, ",\"%s\":", key);
	textbuf_append(b, json, len);
	textbuf_puts(b, "}");
}

void edge_frame_ok_mute(struct textbuf *b, const char *ref, const char *mute, size_t mute_len)
{
	ok_with_json(b, ref, "mute", mute, mute_len);
}

void edge_frame_ok_data(struct textbuf *b, const char *ref, const char *data, size_t data_len)
{
	ok_with_json(b, ref, "data", data, data_len);
}

void edge_frame_error_json(struct textbuf *b, const char *ref, const char *code, size_t code_len,
			   const char *message_json, size_t message_len)
{
	char buf[EDGE_FRAME_MAX];

	textbuf_append(b, buf, (size_t)head(buf, "error", ref));
	textbuf_puts(b, ",\"code\":\"");
	textbuf_append(b, code, code_len);
	textbuf_puts(b, "\",\"message\":");
	textbuf_append(b, message_json, message_len);
	textbuf_puts(b, "}");
}

int edge_frame_ok_position(char *buf, const char *ref, const char *epoch, uint64_t offset)
{
	int n = head(buf, "ok", ref);

	return n + snprintf(buf + n, (size_t)(EDGE_FRAME_MAX - n), ",\"epoch\":\"%s\",\"offset\":%llu}", epoch,
			    (unsigned long long)offset);
}

int edge_frame_ok_resume(char *buf, const char *ref, bool recovered, const char *reason, const char *epoch,
			 uint64_t offset)
{
	int n = head(buf, "ok", ref);

	n += snprintf(buf + n, (size_t)(EDGE_FRAME_MAX - n), ",\"recovered\":%s", recovered ? "true" : "false");
	if (!recovered)
		n += snprintf(buf + n, (size_t)(EDGE_FRAME_MAX - n), ",\"reason\":\"%s\"", reason);
	if (!epoch)
		return n + snprintf(buf + n, (size_t)(EDGE_FRAME_MAX - n), "}");
	return n + snprintf(buf + n, (size_t)(EDGE_FRAME_MAX - n), ",\"epoch\":\"%s\",\"offset\":%llu}", epoch,
			    (unsigned long long)offset);
}

void edge_frame_history_begin(struct textbuf *b, const char *ref, const char *room, const char *epoch)
{
	char buf[EDGE_FRAME_MAX];

	textbuf_append(b, buf, (size_t)head(buf, "history", ref));
	textbuf_printf(b, ",\"room\":\"%s\",\"epoch\":\"%s\",\"msgs\":[", room, epoch);
}

void edge_frame_history_item(struct textbuf *b, const char *msg, size_t len, bool first)
{
	if (!first)
		textbuf_puts(b, ",");
	textbuf_append(b, msg, len);
}

void edge_frame_history_end(struct textbuf *b, bool more)
{
	textbuf_puts(b, more ? "],\"more\":true}" : "],\"more\":false}");
}

int edge_frame_error(char *buf, const char *ref, const char *code, const char *message)
{
	int n = head(buf, "error", ref);
	size_t mlen = strlen(message);

	/* messages are ours, but escape them anyway: they may quote an op name back */
	if (mlen > 100) {
		mlen = 100;	/* escaped, at most 602 bytes: fits EDGE_FRAME_MAX */
		while (mlen && ((unsigned char)message[mlen] & 0xC0) == 0x80)
			mlen--;	/* never cut a UTF-8 sequence */
	}
	n += snprintf(buf + n, (size_t)(EDGE_FRAME_MAX - n), ",\"code\":\"%s\",\"message\":", code);
	n += (int)jsontext_escape(buf + n, message, mlen);
	buf[n++] = '}';
	buf[n] = '\0';
	return n;
}

int edge_frame_pong(char *buf, const char *ref, int64_t ts)
{
	return tail_int(buf, head(buf, "pong", ref), "ts", (long long)ts);
}

int edge_frame_welcome(char *buf, const struct welcome *w)
{
	char exp[24] = "null", unread[24] = "null";

	if (w->exp)
		snprintf(exp, sizeof(exp), "%lld", (long long)w->exp);
	if (w->unread >= 0)
		snprintf(unread, sizeof(unread), "%lld", (long long)w->unread);
	return snprintf(buf, EDGE_FRAME_MAX,
			"{\"op\":\"welcome\",\"session\":\"%s\",\"user\":\"%s\",\"kind\":\"%s\",\"edge\":\"%s\","
			"\"ts\":%lld,\"exp\":%s,\"unread\":%s,\"limits\":{\"max_frame\":%ld,\"max_rooms\":%ld,"
			"\"rate\":%ld,\"burst\":%ld}}",
			w->session, w->user, w->kind, w->edge, (long long)w->ts, exp, unread, w->max_frame,
			w->max_rooms, w->rate, w->burst);
}

int edge_frame_resync(char *buf, const char *reason, int64_t since, int64_t ts, int64_t unread)
{
	char u[24] = "null";

	if (unread >= 0)
		snprintf(u, sizeof(u), "%lld", (long long)unread);
	return snprintf(buf, EDGE_FRAME_MAX, "{\"op\":\"resync\",\"reason\":\"%s\",\"since\":%lld,\"ts\":%lld,\"unread\":%s}",
			reason, (long long)since, (long long)ts, u);
}

/* ---- deliveries: the fan-out path, written straight into the shared frame ---- */

static char *put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

static const char *delivery_enc(const struct delivery *d)
{
	switch (d->kind) {
	case PAYLOAD_TEXT: return "text";
	case PAYLOAD_BINARY: return "base64";
	default: return d->enc == ENC_TEXT ? "text" : d->enc == ENC_BASE64 ? "base64" : NULL;
	}
}

static size_t delivery_data_len(const struct delivery *d)
{
	switch (d->kind) {
	case PAYLOAD_TEXT: return jsontext_escaped_len(d->data, d->data_len);
	case PAYLOAD_BINARY: return base64_len(d->data_len) + 2;
	default: return d->data_len;
	}
}

size_t edge_frame_delivery_size(const struct delivery *d)
{
	/* {"op":"","id":"","":"","from":"","ts":,"enc":"","data":} plus the variable parts; 20
	 * digits hold any ts */
	return 64 + strlen(d->op) + d->id_len + strlen(d->key) + d->target_len + d->from_len + 20 +
	       (delivery_enc(d) ? 6 : 0) + (d->epoch ? 32 + strlen(d->epoch) : 0) + delivery_data_len(d);
}

size_t edge_frame_delivery(char *out, const struct delivery *d)
{
	const char *enc = delivery_enc(d);
	char *o = out;

	o = PUT_LIT(o, "{\"op\":\"");
	o = put(o, d->op, strlen(d->op));
	o = PUT_LIT(o, "\",\"id\":\"");
	o = put(o, d->id, d->id_len);
	o = PUT_LIT(o, "\",\"");
	o = put(o, d->key, strlen(d->key));
	o = PUT_LIT(o, "\":\"");
	o = put(o, d->target, d->target_len);
	if (d->from) {
		o = PUT_LIT(o, "\",\"from\":\"");
		o = put(o, d->from, d->from_len);
	}
	o = PUT_LIT(o, "\",\"ts\":");
	o += sprintf(o, "%lld", (long long)d->ts);
	if (d->epoch) {
		o = PUT_LIT(o, ",\"epoch\":\"");
		o = put(o, d->epoch, strlen(d->epoch));
		o += sprintf(o, "\",\"offset\":%llu", (unsigned long long)d->offset);
	}
	if (enc) {
		o = PUT_LIT(o, ",\"enc\":\"");
		o = put(o, enc, strlen(enc));
		*o++ = '"';
	}
	o = PUT_LIT(o, ",\"data\":");
	if (d->kind == PAYLOAD_TEXT) {
		o += jsontext_escape(o, d->data, d->data_len);
	} else if (d->kind == PAYLOAD_BINARY) {
		*o++ = '"';
		o += base64_encode(o, (const unsigned char *)d->data, d->data_len);
		*o++ = '"';
	} else {
		o = put(o, d->data, d->data_len);
	}
	*o++ = '}';
	return (size_t)(o - out);
}

/* ---- the inbox ---- */

/* True when the object text json (starting with '{') has no members. */
static bool empty_object(const char *json, size_t len)
{
	size_t i = 1;

	while (i < len && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
		i++;
	return i < len && json[i] == '}';
}

int edge_frame_notify(char *out, const char *json, size_t len, bool read)
{
	int h;

	if (len < 2 || json[0] != '{')
		return -1;
	h = snprintf(out, EDGE_FRAME_NOTIFY_EXTRA, "{\"op\":\"notify\",\"read\":%s", read ? "true" : "false");
	if (empty_object(json, len)) {
		out[h] = '}';
		return h + 1;
	}
	out[h++] = ',';
	memcpy(out + h, json + 1, len - 1);	/* the stored object's members and its "}" */
	return h + (int)len - 1;
}

int edge_frame_backlog(char *buf, int count, bool more)
{
	return snprintf(buf, EDGE_FRAME_MAX, "{\"op\":\"backlog\",\"count\":%d,\"more\":%s}", count,
			more ? "true" : "false");
}

void edge_frame_inbox_begin(struct textbuf *b, const char *ref)
{
	char buf[EDGE_FRAME_MAX];

	textbuf_append(b, buf, (size_t)head(buf, "inbox", ref));
	textbuf_puts(b, ",\"items\":[");
}

bool edge_frame_inbox_item(struct textbuf *b, bool first, const char *json, size_t len, bool read)
{
	if (len < 2 || json[0] != '{')
		return false;
	textbuf_puts(b, first ? "{\"read\":" : ",{\"read\":");
	textbuf_puts(b, read ? "true" : "false");
	if (empty_object(json, len)) {
		textbuf_puts(b, "}");
		return true;
	}
	textbuf_puts(b, ",");
	textbuf_append(b, json + 1, len - 1);
	return true;
}

void edge_frame_inbox_end(struct textbuf *b, int64_t unread, bool more)
{
	textbuf_printf(b, "],\"unread\":%lld,\"more\":%s}", (long long)(unread < 0 ? 0 : unread),
		       more ? "true" : "false");
}

void edge_frame_read_ids(struct textbuf *b, const char *const *ids, size_t n)
{
	textbuf_puts(b, "{\"op\":\"read\",\"ids\":[");
	for (size_t i = 0; i < n; i++) {
		textbuf_puts(b, i ? ",\"" : "\"");
		textbuf_puts(b, ids[i]);
		textbuf_puts(b, "\"");
	}
	textbuf_puts(b, "]}");
}

int edge_frame_read_all(char *buf, int64_t ts)
{
	return snprintf(buf, EDGE_FRAME_MAX, "{\"op\":\"read\",\"all\":true,\"ts\":%lld}", (long long)ts);
}

/* ---- presence ---- */

void edge_frame_presence_begin(struct textbuf *b, const char *ref, const char *room, uint32_t users, uint32_t conns,
			       bool members)
{
	char buf[EDGE_FRAME_MAX];

	textbuf_append(b, buf, (size_t)head(buf, "ok", ref));
	textbuf_printf(b, ",\"room\":\"%s\",\"users\":%u,\"conns\":%u%s", room, users, conns, members ? ",\"members\":[" : "");
}

void edge_frame_presence_member(struct textbuf *b, bool first, const char *user, uint32_t conns, const char *info,
				size_t info_len)
{
	textbuf_printf(b, "%s{\"user\":\"%s\",\"conns\":%u", first ? "" : ",", user, conns);
	if (info) {
		textbuf_puts(b, ",\"info\":");
		textbuf_append(b, info, info_len);
	}
	textbuf_puts(b, "}");
}

void edge_frame_presence_end(struct textbuf *b, bool members)
{
	textbuf_puts(b, members ? "]}" : "}");
}

int edge_frame_presence_event(char *buf, bool join, const char *room, const char *user)
{
	return snprintf(buf, EDGE_FRAME_MAX, "{\"op\":\"%s\",\"room\":\"%s\",\"user\":\"%s\"}", join ? "join" : "leave",
			room, user);
}
