/*
 * edge_frame.h - every frame the edge sends to a client (schemas/edge-frame.schema.json), written
 * in one place. Pure text: no allocation except into a caller's textbuf, no I/O.
 *
 * Small control frames go into a fixed buffer of EDGE_FRAME_MAX bytes and return their length.
 * A delivery is sized first (edge_frame_delivery_size) and written into memory the caller owns
 * (a shared frame), so a message for N members is serialised once. Pages and lists that grow
 * with their content append to a textbuf.
 *
 * ref is always the client's ref as JSON text (quoted string or number), or "" for none.
 */
#ifndef MQEDGE_EDGE_FRAME_H
#define MQEDGE_EDGE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/textbuf.h"
#include "mqedge/wire/envelope.h"

#define EDGE_FRAME_MAX 1024	/* every fixed-size control frame fits */

/* {"op":"ok"} with the ref, and the variants that carry a result. */
int edge_frame_ok(char *buf, const char *ref);
int edge_frame_ok_msg(char *buf, const char *ref, const char *id, int64_t ts);
int edge_frame_ok_exp(char *buf, const char *ref, int64_t exp);		/* exp 0: null */
int edge_frame_ok_unread(char *buf, const char *ref, int64_t unread);
/* {"op":"ok","mute":MUTE} where mute is a JSON array's text. */
void edge_frame_ok_mute(struct textbuf *b, const char *ref, const char *mute, size_t mute_len);
/* rpc answers (wire/rpc_reply.h validated them): data and the message are JSON text, the code a
 * plain [a-z0-9_] word. */
void edge_frame_ok_data(struct textbuf *b, const char *ref, const char *data, size_t data_len);
void edge_frame_error_json(struct textbuf *b, const char *ref, const char *code, size_t code_len,
			   const char *message_json, size_t message_len);
/* A history room's sub: {"op":"ok","epoch":E,"offset":N} (the position now), and a resume's answer:
 * ,"recovered":B[,"reason":R] and the position (epoch NULL: no position, the room keeps none). */
int edge_frame_ok_position(char *buf, const char *ref, const char *epoch, uint64_t offset);
int edge_frame_ok_resume(char *buf, const char *ref, bool recovered, const char *reason, const char *epoch,
			 uint64_t offset);
/* {"op":"history","room":R,"epoch":E,"msgs":[MSG,..],"more":B}: begin, one item per message (the
 * msg frame's text as delivered), end. */
void edge_frame_history_begin(struct textbuf *b, const char *ref, const char *room, const char *epoch);
void edge_frame_history_item(struct textbuf *b, const char *msg, size_t len, bool first);
void edge_frame_history_end(struct textbuf *b, bool more);
/* {"op":"error","code":..,"message":..}; message is escaped and cut at 100 bytes. */
int edge_frame_error(char *buf, const char *ref, const char *code, const char *message);
int edge_frame_pong(char *buf, const char *ref, int64_t ts);

struct welcome {
	const char *session, *user, *kind, *edge;
	int64_t ts, exp;	/* exp 0 = null */
	int64_t unread;		/* -1 = null (no inbox for this session) */
	long max_frame, max_rooms, rate, burst;
};
int edge_frame_welcome(char *buf, const struct welcome *w);
/* {"op":"resync","reason":R,"since":MS,"ts":MS,"unread":N|null}: the broker sessions are back on a
 * broker that did not keep them (reason "failover" or "session_lost"); unread -1 = null. */
int edge_frame_resync(char *buf, const char *reason, int64_t since, int64_t ts, int64_t unread);

/* What a delivery says: {"op":OP,"id":..,KEY:TARGET,["from":..,]"ts":..,["enc":..,]"data":..} */
struct delivery {
	const char *op;		/* "msg", "telemetry", "cmd" */
	const char *key;	/* "room", "to", "device" */
	const char *target;	/* the room, user or device id */
	size_t target_len;
	const char *id;
	size_t id_len;
	int64_t ts;
	const char *from;	/* NULL: omitted */
	size_t from_len;
	enum payload_kind kind;	/* how data is presented (ENVELOPE/JSON verbatim, TEXT escaped, BINARY base64) */
	enum data_enc enc;	/* for ENVELOPE: enc carried by the envelope */
	const char *data;
	size_t data_len;
	const char *epoch;	/* a history room's position ("epoch","offset"); NULL: none */
	uint64_t offset;
};
/* An upper bound of the delivery's length. */
size_t edge_frame_delivery_size(const struct delivery *d);
/* Writes the delivery into out (edge_frame_delivery_size bytes); returns its length. */
size_t edge_frame_delivery(char *out, const struct delivery *d);

/* {"op":OP,"read":R,...the members of the stored notification object json}: "notify" frames.
 * The length is at most len + EDGE_FRAME_NOTIFY_EXTRA. Returns the length, or -1 when json is not
 * an object's text. */
#define EDGE_FRAME_NOTIFY_EXTRA 48
int edge_frame_notify(char *out, const char *json, size_t len, bool read);
/* {"op":"backlog","count":N,"more":B}: the end of the unread backlog after welcome. */
int edge_frame_backlog(char *buf, int count, bool more);

/* An inbox page: begin, one item per stored notification (newest first), end. */
void edge_frame_inbox_begin(struct textbuf *b, const char *ref);
/* Returns false (nothing written) when json is not an object's text. */
bool edge_frame_inbox_item(struct textbuf *b, bool first, const char *json, size_t len, bool read);
void edge_frame_inbox_end(struct textbuf *b, int64_t unread, bool more);

/* {"op":"read","ids":[..]} (ids are validated notification ids) or {"op":"read","all":true,"ts":..}:
 * another tab of the user read these. */
void edge_frame_read_ids(struct textbuf *b, const char *const *ids, size_t n);
int edge_frame_read_all(char *buf, int64_t ts);

/* The answer to {"op":"presence"}: {"op":"ok","room":R,"users":N,"conns":C[,"members":[{"user":U,
 * "conns":N[,"info":{..}]},...]]}; members left out for rooms too big for lists (counts only). */
void edge_frame_presence_begin(struct textbuf *b, const char *ref, const char *room, uint32_t users, uint32_t conns,
			       bool members);
void edge_frame_presence_member(struct textbuf *b, bool first, const char *user, uint32_t conns, const char *info,
				size_t info_len);
void edge_frame_presence_end(struct textbuf *b, bool members);
/* {"op":"join"|"leave","room":R,"user":U}: a user's first connection joined, or the last left. */
int edge_frame_presence_event(char *buf, bool join, const char *room, const char *user);

#endif
