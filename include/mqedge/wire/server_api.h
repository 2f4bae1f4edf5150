/*
 * server_api.h - the server HTTP API's bodies (docs/PROTOCOL.md section 8, "Server API": publish,
 * broadcast, disconnect, info) and the two payloads a disconnect makes edges exchange over MQTT
 * (a user's disconnect, a token revocation). Pure text: a request is validated whole and read in
 * place (data stays a span of the body, never re-serialised); answers are written into buffers.
 * Schemas: schemas/server-api.schema.json.
 */
#ifndef MQEDGE_SERVER_API_H
#define MQEDGE_SERVER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/textbuf.h"
#include "mqedge/wire/envelope.h"
#include "mqedge/wire/jsontext.h"
#include "mqedge/wire/topics.h"

#define SERVER_API_MAX_ROOMS 100		/* rooms of one broadcast */
#define SERVER_API_REASON_MAX 120		/* bytes of a close reason (a close frame holds 123) */
#define SERVER_API_CODE_MIN 4000
#define SERVER_API_CODE_MAX 4999
#define SERVER_API_DEFAULT_CODE 4003
#define SERVER_API_DEFAULT_REASON "disconnected by the server"
#define SERVER_API_BEFORE_MAX 9007199254740991LL	/* seconds: what a double holds exactly */

/* Why a request was refused: a code of schemas/http-error.schema.json (bad_json, bad_request,
 * invalid_id; all 400) and a message for people. Both static strings. */
struct server_api_error {
	const char *code;
	const char *message;
};

enum server_api_target { SERVER_API_ROOM, SERVER_API_USER, SERVER_API_DEVICE };

/* POST /api/v1/publish: {"room"|"user"|"device":ID,"data":ANY,"id":MSGID?,"from":ID?} */
struct server_api_publish {
	enum server_api_target target;
	char to[TOPICS_ID_MAX + 1];
	char id[ENVELOPE_ID_MAX + 1];		/* "" when not given */
	char from[TOPICS_ID_MAX + 1];		/* "" when not given */
	struct json_span data;			/* inside the body */
};

/* POST /api/v1/broadcast: {"rooms":[ID,..],"data":ANY,"id":MSGID?,"from":ID?} (1-100 rooms, no
 * duplicates). A given id is used for every room (edges dedupe by topic and id). */
struct server_api_broadcast {
	size_t n_rooms;
	char rooms[SERVER_API_MAX_ROOMS][TOPICS_ID_MAX + 1];
	char id[ENVELOPE_ID_MAX + 1];
	char from[TOPICS_ID_MAX + 1];
	struct json_span data;
};

enum server_api_revoke {
	SERVER_API_REVOKE_NONE,		/* no refuse_tokens_before */
	SERVER_API_REVOKE_AT,		/* before: the seconds given */
	SERVER_API_REVOKE_NOW,		/* "now": the answering edge's clock */
	SERVER_API_REVOKE_LIFT,		/* 0: lift the user's revocation */
};

/* POST /api/v1/disconnect: {"user":ID,"code":4000-4999?,"reason":TEXT?,"refuse_tokens_before":S|"now"?} */
struct server_api_disconnect {
	char user[TOPICS_ID_MAX + 1];
	uint16_t code;
	char reason[SERVER_API_REASON_MAX + 1];	/* decoded UTF-8, no NUL inside */
	enum server_api_revoke revoke;
	int64_t before;				/* seconds, for SERVER_API_REVOKE_AT */
};

/* Each parses a whole request body. Returns 0, or -EINVAL with *err set. Unknown members and
 * repeated ones are refused (a misspelt target must not pass as "no target"). */
int server_api_parse_publish(const char *body, size_t len, struct server_api_publish *out, struct server_api_error *err);
int server_api_parse_broadcast(const char *body, size_t len, struct server_api_broadcast *out,
			       struct server_api_error *err);
int server_api_parse_disconnect(const char *body, size_t len, struct server_api_disconnect *out,
				struct server_api_error *err);

/* ---- answers ---- */

#define SERVER_API_PUBLISHED_MAX (ENVELOPE_ID_MAX + 48)
/* {"id":ID,"ts":MS} into buf (SERVER_API_PUBLISHED_MAX bytes). Returns the length. */
int server_api_published(char *buf, const char *id, int64_t ts);

/* One room of a broadcast: its message id, or the error code it failed with (error != NULL). */
struct server_api_result {
	const char *room;
	const char *id;
	const char *error;
};
/* {"results":[{"room":R,"id":ID}|{"room":R,"error":CODE},..],"ts":MS}; with error (a partial
 * failure) {"error":CODE,"message":TEXT,"results":..,"ts":MS}, also an http-error body. */
void server_api_broadcast_body(struct textbuf *b, const struct server_api_result *r, size_t n, int64_t ts,
			       const char *error, const char *message);

/* {"user":U,"closed_here":N,"ts":MS} plus "refuse_tokens_before":S (0: lifted) when one was given. */
void server_api_disconnect_body(struct textbuf *b, const char *user, uint32_t closed_here, bool revoked,
				int64_t before, int64_t ts);

/* One online edge for GET /api/v1/info (connections < 0: its status does not say). */
struct server_api_edge {
	const char *edge, *version;
	int64_t connections, boot, ts;
};
/* {"edges":[{"edge","version","connections","boot","uptime_s","ts"},..],"ts":now} */
void server_api_info_body(struct textbuf *b, const struct server_api_edge *edges, size_t n, int64_t now);

/* ---- between edges ---- */

#define SERVER_API_DISCONNECT_MSG_MAX (SERVER_API_REASON_MAX * 6 + 96)
/* {"code":C,"reason":TEXT,"ts":MS} on {prefix}/user/{U}/disconnect. reason: UTF-8 of at most
 * SERVER_API_REASON_MAX bytes. Returns the length (buf holds SERVER_API_DISCONNECT_MSG_MAX). */
int server_api_disconnect_msg(char *buf, uint16_t code, const char *reason, int64_t ts);
/* Reads one back: code within 4000-4999, reason decoded (SERVER_API_REASON_MAX + 1 bytes).
 * Returns 0 or -EINVAL. */
int server_api_disconnect_msg_parse(const char *p, size_t len, uint16_t *code, char *reason);

#define SERVER_API_REVOKE_MSG_MAX 64
/* {"before":S,"ts":MS}, retained on {prefix}/user/{U}/revoke (an empty retained payload lifts it). */
int server_api_revoke_msg(char *buf, int64_t before, int64_t ts);
/* Reads one: before in seconds. Returns 0 or -EINVAL. */
int server_api_revoke_msg_parse(const char *p, size_t len, int64_t *before);

#endif
