/*
 * client_frame.h - one client frame (JSON text, schemas/client-frame.schema.json) -> a validated
 * op, without allocating: no tree, spans of the text. What the edge sends back is written by
 * edge_frame.h.
 */
#ifndef MQEDGE_CLIENT_FRAME_H
#define MQEDGE_CLIENT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/wire/topics.h"

#define CLIENT_FRAME_REF_MAX 64
#define CLIENT_FRAME_EPOCH_MAX 32

enum op_type {
	OP_SUB, OP_UNSUB, OP_PUB, OP_SEND, OP_CMD, OP_PING, OP_REFRESH, OP_TELEMETRY,
	OP_INBOX, OP_READ, OP_SETTINGS, OP_PRESENCE, OP_HISTORY, OP_RPC,
};

/* What a sub/unsub names. */
enum op_target { TARGET_NONE = 0, TARGET_ROOM, TARGET_DEVICE };

struct client_op {
	enum op_type type;
	char ref[CLIENT_FRAME_REF_MAX + 3];	/* the ref as JSON text (string quoted), "" when absent */
	enum op_target target;
	char id[TOPICS_ID_MAX + 1];	/* room, device, user id or rpc method, validated */
	bool presence;			/* sub: join/leave events of the room wanted */
	/* sub: resume a history room from this position ("since") */
	bool has_since;
	char since_epoch[CLIENT_FRAME_EPOCH_MAX + 1];
	uint64_t since_offset;
	/* history: page before this offset (0: from the newest), at most limit */
	uint64_t before_offset;
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
int client_frame_parse(const char *text, size_t len, struct client_op *op, struct proto_error *err);

#endif
