/*
 * history_sync.h - how edges hand a history room's window to each other over the broker
 * (docs/ARCHITECTURE.md, "Room history").
 *
 * Request, on {prefix}/history/{room}/req:   "{edge} {nonce}"
 * Reply, on {prefix}/edge/{edge}/history:   "MQH1 {room} {nonce} {epoch} {last} {count} {from}\n"
 *                                             then count records "{ms} {len}\n{len bytes}"
 * where the records are the room's msg frames as clients receive them, oldest first, the newest
 * at offset `last`, ms is when each reached the answering edge, and from is that edge's id. An edge that does not follow
 * the room answers with the epoch "-" and no records. Pure text: no allocation
 * beyond the caller's textbuf, no I/O.
 */
#ifndef MQEDGE_HISTORY_SYNC_H
#define MQEDGE_HISTORY_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/textbuf.h"

#define HISTORY_SYNC_NONCE_MAX 32
#define HISTORY_SYNC_NONE "-"	/* the epoch of an answer "I do not follow this room" (last 0, count 0) */
#define HISTORY_SYNC_BUSY "+"	/* "I am fetching it myself, and asked before you: ask again" */

struct history_request {
	const char *edge, *nonce;	/* spans of the payload */
	size_t edge_len, nonce_len;
};

struct history_reply {
	const char *room, *nonce, *epoch, *from;	/* spans of the payload */
	size_t room_len, nonce_len, epoch_len, from_len;
	uint64_t last;
	uint32_t count;
	size_t body;				/* where the first record starts */
};

/* Writes the request into buf. Returns its length, or -1 when it does not fit. */
int history_sync_request(char *buf, size_t cap, const char *edge, const char *nonce);
/* Returns 0, or -1 for a malformed request (ids checked against the id alphabet). */
int history_sync_parse_request(const char *p, size_t len, struct history_request *out);

/* Appends a reply's first line: room's window at edge `from`, count records up to offset last. */
void history_sync_reply_header(struct textbuf *b, const char *room, const char *nonce, const char *epoch,
			       uint64_t last, uint32_t count, const char *from);
/* Appends one record: a msg frame's text and when it reached the answering edge. */
void history_sync_reply_record(struct textbuf *b, int64_t ms, const char *text, size_t len);
/* Returns 0, or -1 for a malformed header. */
int history_sync_parse_reply(const char *p, size_t len, struct history_reply *out);
/* The record at *pos: returns 1 with its fields and *pos moved past it, 0 at the end, -1 when
 * malformed (truncated, a bad number). */
int history_sync_next_record(const char *p, size_t len, size_t *pos, int64_t *ms, const char **text,
			     size_t *text_len);

#endif
