/*
 * topics.h - ids and the MQTT topic map (docs/PROTOCOL.md sections 4 and 5).
 *
 * The one place that knows how a room, user or device id becomes a topic and back. Ids are
 * checked against a safe alphabet before any topic is built, so no id can add a level or a
 * wildcard. Pure string code: no allocation, no I/O.
 */
#ifndef MQEDGE_TOPICS_H
#define MQEDGE_TOPICS_H

#include <stdbool.h>
#include <stddef.h>

#define TOPICS_ID_MAX 64
#define TOPICS_PREFIX_MAX 128
/* The longest topic + NUL, with room to spare: prefix + "/presence/" + room + "/" + edge (two ids;
 * every other topic holds one id and a shorter fixed part than "/device/" + "/telemetry"). */
#define TOPICS_TOPIC_MAX (TOPICS_PREFIX_MAX + 2 * TOPICS_ID_MAX + 32)

enum topic_kind {
	TOPIC_NONE = 0,
	TOPIC_ROOM,		/* {prefix}/room/{room} */
	TOPIC_DIRECT,		/* {prefix}/user/{user}/direct */
	TOPIC_TELEMETRY,	/* {prefix}/device/{id}/telemetry */
	TOPIC_CMD,		/* {prefix}/device/{id}/cmd */
	TOPIC_STATUS,		/* {prefix}/edge/{edge}/status */
	TOPIC_NOTIFY,		/* {prefix}/user/{user}/notify */
	TOPIC_READ,		/* {prefix}/user/{user}/read */
	TOPIC_SETTINGS,		/* {prefix}/user/{user}/settings (retained) */
	TOPIC_NOTIFY_ALL,	/* {prefix}/notify/all: announcements; no id */
	TOPIC_PRESENCE,		/* {prefix}/presence/{room}/{edge} (retained): that edge's members of room */
	TOPIC_HISTORY_REQ,	/* {prefix}/history/{room}/req: an edge asks for room's history window */
	TOPIC_HISTORY_REP,	/* {prefix}/edge/{edge}/history: windows sent to that edge */
	TOPIC_RPC,		/* {prefix}/rpc/{method}: requests to backends (MQTT 5) */
	TOPIC_RPC_REPLY,	/* {prefix}/edge/{edge}/rpc: backends' answers to that edge */
	TOPIC_DISCONNECT,	/* {prefix}/user/{user}/disconnect: close that user's connections everywhere */
	TOPIC_REVOKE,		/* {prefix}/user/{user}/revoke (retained): refuse the user's older tokens */
	TOPIC_EDGE_SYNC,	/* {prefix}/edge/{edge}/sync: that edge's own barrier (its retained state is in) */
};

/* True for the characters an id may contain: A-Z a-z 0-9 _ - . @ : */
bool topics_id_char(int c);

/* 0 when id (len bytes, not necessarily NUL-terminated) is a valid id, else -1. */
int topics_validate_id(const char *id, size_t len);

/* 0 when prefix is 1..TOPICS_PREFIX_MAX bytes of non-empty levels without + # NUL. */
int topics_validate_prefix(const char *prefix);

/* Writes the topic for (kind, id) into buf. Returns its length, or -1 when id is invalid or
 * the topic does not fit. */
int topics_build(char *buf, size_t buflen, const char *prefix, enum topic_kind kind, const char *id);

/* Writes the subscription filter matching kind for every id ({prefix}/user/+/notify), or the
 * fixed topic for TOPIC_NOTIFY_ALL. Returns its length or -1. */
int topics_filter(char *buf, size_t buflen, const char *prefix, enum topic_kind kind);

/* Writes {prefix}/presence/{room}/{edge}, or the filter {prefix}/presence/{room}/+ when edge is
 * NULL. Returns its length, or -1 for an invalid id or a topic that does not fit. */
int topics_presence(char *buf, size_t buflen, const char *prefix, const char *room, const char *edge);

/* Parses topic (len bytes) under prefix. On success returns the kind and points id and idlen at
 * the id inside topic (for TOPIC_PRESENCE: the room; the edge id is the rest of the topic after
 * the room and a '/', validated too); returns TOPIC_NONE for anything else. */
enum topic_kind topics_parse(const char *prefix, const char *topic, size_t len,
			     const char **id, size_t *idlen);

/* True when id matches pattern, where '*' in pattern matches any run of characters. */
bool topics_pattern_match(const char *pattern, const char *id);

#endif
