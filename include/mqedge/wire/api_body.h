/*
 * api_body.h - JSON bodies the edge answers HTTP requests with and the status it publishes
 * (schemas/http-error.schema.json, schemas/edge-status.schema.json). Pure text.
 */
#ifndef MQEDGE_API_BODY_H
#define MQEDGE_API_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/textbuf.h"
#include "mqedge/wire/topics.h"

#define API_BODY_ERROR_MAX 512

/* {"error":CODE,"message":MESSAGE} into buf (API_BODY_ERROR_MAX bytes): the message escaped and
 * cut at 200 bytes, or shorter until it fits, never inside a UTF-8 sequence. Returns the length. */
int api_body_error(char *buf, const char *code, const char *message);
/* {"ids":[..]}: the notifications an HTTP request created (ids are validated). */
void api_body_ids(struct textbuf *b, const char *const *ids, size_t n);
/* {"edge":..,"status":..,"ts":..,"boot":..,"version":..}: the edge's retained status (and last
 * will); boot is the start time of this run of the edge (presence lists carry it too). */
int api_body_status(char *buf, size_t cap, const char *edge, const char *status, int64_t ts, int64_t boot,
		    const char *version);
/* The same with "connections":N at the end (its WebSocket sessions when written; N < 0 omits it). */
int api_body_status_conns(char *buf, size_t cap, const char *edge, const char *status, int64_t ts, int64_t boot,
			  const char *version, int64_t connections);

#define API_STATUS_VERSION_MAX 32

/* Everything a status says (older edges' statuses lack connections, some even boot). */
struct api_status {
	char edge[TOPICS_ID_MAX + 1];
	bool online;
	int64_t ts;			/* -1 when absent */
	int64_t boot;			/* ts when absent (an edge older than boot) */
	int64_t connections;		/* -1 when absent */
	char version[API_STATUS_VERSION_MAX + 1];	/* "" when absent or not a short plain string */
};
/* Reads a status whole. Returns 0, or -EINVAL (then out is undefined). */
int api_body_status_read(const char *text, size_t len, struct api_status *out);
/* Reads a status: the edge id (TOPICS_ID_MAX + 1 bytes), online or not, and boot (ts when the
 * edge is older than boot). Returns 0, or -EINVAL. */
int api_body_status_parse(const char *text, size_t len, char *edge, bool *online, int64_t *boot);

#endif
