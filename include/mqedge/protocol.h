/*
 * protocol.h - client frames (JSON text) <-> C structs: the schemas/ contract in code.
 *
 * protocol_parse turns one client frame into a validated op (no cJSON tree: spans of the text); the reply writers produce the
 * edge's control frames (ok, error, pong, welcome). Delivery frames (msg, telemetry, cmd) are
 * built by frame.c, once per message.
 */
#ifndef MQEDGE_PROTOCOL_H
#define MQEDGE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/topics.h"

#define PROTOCOL_REF_MAX 64
#define PROTOCOL_REPLY_MAX 1024	/* every control frame fits in this */

enum op_type {
	OP_SUB, OP_UNSUB, OP_PUB, OP_SEND, OP_CMD, OP_PING, OP_REFRESH, OP_TELEMETRY,
	OP_INBOX, OP_READ, OP_SETTINGS,
};

/* What a sub/unsub names. */
enum op_target { TARGET_NONE = 0, TARGET_ROOM, TARGET_DEVICE };

struct client_op {
	enum op_type type;
	char ref[PROTOCOL_REF_MAX + 3];	/* the ref as JSON text (string quoted), "" when absent */
	enum op_target target;
	char id[TOPICS_ID_MAX + 1];	/* room, device or user id, validated */
	const char *data;		/* data's JSON text inside the frame, or NULL */
	size_t data_len;
	const char *token;		/* refresh token inside the frame, or NULL */
	size_t token_len;
	/* inbox: page before this notification id (0-length: from the newest), at most limit */
	char before[TOPICS_ID_MAX * 2 + 1];
	long limit;			/* 0 when absent */
	/* read: the ids array's JSON text, or all */
	const char *ids;
	size_t ids_len;
	bool all;
	/* settings: the mute array's JSON text, or NULL to read the settings */
	const char *mute;
	size_t mute_len;
};

struct proto_error {
	const char *code;		/* "bad_json", "bad_request", "unknown_op", "invalid_id" */
	char message[128];
};

/* Parses text[0..len) without allocating: data and token point into text. Returns 0 with *op
 * filled, or -1 with *err filled; op->ref is set whenever the frame had a usable ref, so errors
 * can echo it. Ids must be plain JSON strings (no escapes), which rules out smuggled NULs. */
int protocol_parse(const char *text, size_t len, struct client_op *op, struct proto_error *err);

/* Reply writers: each writes one frame into buf (PROTOCOL_REPLY_MAX bytes) and returns its length.
 * ref is JSON text or "" (omitted). */
int protocol_write_ok(char *buf, const char *ref);
int protocol_write_ok_msg(char *buf, const char *ref, const char *id, int64_t ts);
int protocol_write_ok_exp(char *buf, const char *ref, int64_t exp);
int protocol_write_error(char *buf, const char *ref, const char *code, const char *message);
int protocol_write_pong(char *buf, const char *ref, int64_t ts);

struct welcome {
	const char *session, *user, *kind, *edge;
	int64_t ts, exp;	/* exp 0 = null */
	int64_t unread;		/* -1 = null (no inbox for this session) */
	long max_frame, max_rooms, rate, burst;
};
int protocol_write_welcome(char *buf, const struct welcome *w);

#endif
