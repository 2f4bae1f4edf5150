/*
 * topics.c - id validation and the id <-> topic map.
 * Owns: the safe id alphabet and the topic layout. Must not: allocate or know about sessions.
 */
#include <stdio.h>
#include <string.h>

#include "mqedge/wire/topics.h"

static const struct {
	enum topic_kind kind;
	const char *level;	/* first level after the prefix */
	const char *suffix;	/* level after the id, or "" */
} layout[] = {
	{ TOPIC_ROOM, "room", "" },
	{ TOPIC_DIRECT, "user", "direct" },
	{ TOPIC_TELEMETRY, "device", "telemetry" },
	{ TOPIC_CMD, "device", "cmd" },
	{ TOPIC_STATUS, "edge", "status" },
	{ TOPIC_NOTIFY, "user", "notify" },
	{ TOPIC_READ, "user", "read" },
	{ TOPIC_SETTINGS, "user", "settings" },
	{ TOPIC_HISTORY_REQ, "history", "req" },
	{ TOPIC_HISTORY_REP, "edge", "history" },
	{ TOPIC_RPC, "rpc", "" },
	{ TOPIC_RPC_REPLY, "edge", "rpc" },
	{ TOPIC_DISCONNECT, "user", "disconnect" },
	{ TOPIC_REVOKE, "user", "revoke" },
	{ TOPIC_EDGE_SYNC, "edge", "sync" },
};

#define NOTIFY_ALL "notify/all"
#define PRESENCE "presence/"


#define N_LAYOUT (sizeof(layout) / sizeof(layout[0]))

bool topics_id_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == '@' || c == ':';
}

int topics_validate_id(const char *id, size_t len)
{
	if (!id || len == 0 || len > TOPICS_ID_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!topics_id_char((unsigned char)id[i]))
			return -1;
	return 0;
}

int topics_validate_prefix(const char *prefix)
{
	size_t len = prefix ? strlen(prefix) : 0;

	if (len == 0 || len > TOPICS_PREFIX_MAX || prefix[0] == '/' || prefix[len - 1] == '/' ||
	    prefix[0] == '$')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (prefix[i] == '+' || prefix[i] == '#')
			return -1;
		if (prefix[i] == '/' && prefix[i + 1] == '/')
			return -1;
	}
	return 0;
}

int topics_build(char *buf, size_t buflen, const char *prefix, enum topic_kind kind, const char *id)
{
	for (size_t i = 0; i < N_LAYOUT; i++) {
		int n;

		if (layout[i].kind != kind)
			continue;
		if (topics_validate_id(id, strlen(id)))
			return -1;
		n = snprintf(buf, buflen, "%s/%s/%s%s%s", prefix, layout[i].level, id,
			     *layout[i].suffix ? "/" : "", layout[i].suffix);
		return n < 0 || (size_t)n >= buflen ? -1 : n;
	}
	return -1;
}

int topics_presence(char *buf, size_t buflen, const char *prefix, const char *room, const char *edge)
{
	int n;

	if (topics_validate_id(room, strlen(room)) || (edge && topics_validate_id(edge, strlen(edge))))
		return -1;
	n = snprintf(buf, buflen, "%s/" PRESENCE "%s/%s", prefix, room, edge ? edge : "+");
	return n < 0 || (size_t)n >= buflen ? -1 : n;
}

int topics_filter(char *buf, size_t buflen, const char *prefix, enum topic_kind kind)
{
	int n = -1;

	if (kind == TOPIC_NOTIFY_ALL) {
		n = snprintf(buf, buflen, "%s/" NOTIFY_ALL, prefix);
	} else {
		for (size_t i = 0; i < N_LAYOUT; i++)
			if (layout[i].kind == kind)
				n = snprintf(buf, buflen, "%s/%s/+%s%s", prefix, layout[i].level,
					     *layout[i].suffix ? "/" : "", layout[i].suffix);
	}
	return n < 0 || (size_t)n >= buflen ? -1 : n;
}

enum topic_kind topics_parse(const char *prefix, const char *topic, size_t len,
			     const char **id, size_t *idlen)
{
	size_t plen = strlen(prefix);
	const char *p, *end = topic + len, *slash;

	if (len <= plen + 1 || memcmp(topic, prefix, plen) || topic[plen] != '/')
		return TOPIC_NONE;
	p = topic + plen + 1;
	if ((size_t)(end - p) == strlen(NOTIFY_ALL) && !memcmp(p, NOTIFY_ALL, strlen(NOTIFY_ALL))) {
		*id = end;
		*idlen = 0;
		return TOPIC_NOTIFY_ALL;
	}
	if ((size_t)(end - p) > strlen(PRESENCE) && !memcmp(p, PRESENCE, strlen(PRESENCE))) {
		const char *room = p + strlen(PRESENCE);

		slash = memchr(room, '/', (size_t)(end - room));
		if (!slash || topics_validate_id(room, (size_t)(slash - room)) ||
		    topics_validate_id(slash + 1, (size_t)(end - slash - 1)))
			return TOPIC_NONE;
		*id = room;
		*idlen = (size_t)(slash - room);
		return TOPIC_PRESENCE;
	}
	for (size_t i = 0; i < N_LAYOUT; i++) {
		size_t llen = strlen(layout[i].level), slen = strlen(layout[i].suffix);
		const char *idp;

		if ((size_t)(end - p) <= llen + 1 || memcmp(p, layout[i].level, llen) || p[llen] != '/')
			continue;
		idp = p + llen + 1;
		slash = memchr(idp, '/', (size_t)(end - idp));
		if (slen == 0) {
			if (slash)
				continue;
			slash = end;
		} else if (!slash || (size_t)(end - slash - 1) != slen || memcmp(slash + 1, layout[i].suffix, slen)) {
			continue;
		}
		if (topics_validate_id(idp, (size_t)(slash - idp)))
			return TOPIC_NONE;
		*id = idp;
		*idlen = (size_t)(slash - idp);
		return layout[i].kind;
	}
	return TOPIC_NONE;
}

bool topics_pattern_match(const char *pattern, const char *id)
{
	const char *star = NULL, *resume = NULL;

	/* classic iterative glob: remember the last '*' and retry one character further on mismatch */
	while (*id) {
		if (*pattern == '*') {
			star = pattern++;
			resume = id;
		} else if (*pattern == *id) {
			pattern++;
			id++;
		} else if (star) {
			pattern = star + 1;
			id = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}
