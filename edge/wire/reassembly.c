/*
 * reassembly.c - a WebSocket message from its pieces, bounded before anything is buffered.
 * Owns: the reassembly buffer of one connection and its UTF-8 check (RFC 6455 8.1). Must not: read
 * sockets or look inside the message beyond that (JSON is the dispatcher's).
 */
#include <stdlib.h>
#include <string.h>

#include "mqedge/wire/reassembly.h"

static void release_if_large(struct reassembly *r)
{
	if (r->cap > REASSEMBLY_KEEP_BYTES) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
}

static int reserve(struct reassembly *r, size_t need)
{
	size_t cap = r->cap ? r->cap : 1024;
	char *nbuf;

	if (need <= r->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	nbuf = realloc(r->buf, cap);
	if (!nbuf)
		return -1;
	r->buf = nbuf;
	r->cap = cap;
	return 0;
}

enum reassembly_result reassembly_feed(struct reassembly *r, const struct reassembly_piece *p, size_t max_bytes,
				       const char **msg, size_t *msg_len)
{
	if (p->first) {
		r->len = 0;
		r->binary = p->binary;
		r->compressed = p->compressed;
		r->utf8 = (struct utf8_stream){ 0 };
	}
	/* what we hold + this piece + the rest of its frame, before buffering any of it; each term
	 * is bounded by max_bytes first, so the sum cannot wrap */
	size_t to_come = r->compressed ? 0 : p->frame_remaining;

	if (p->len > max_bytes || to_come > max_bytes || r->len + p->len + to_come > max_bytes) {
		r->len = 0;
		release_if_large(r);
		return REASSEMBLY_TOO_BIG;
	}
	if (r->binary) {
		r->len += p->len;	/* counted for the limit, never stored */
		if (!p->final)
			return REASSEMBLY_MORE;
		r->len = 0;
		return REASSEMBLY_BINARY;
	}
	/* checked as it arrives (fail fast), and complete at the end: a message may not stop inside
	 * a character */
	if (!utf8_stream_feed(&r->utf8, (const unsigned char *)p->data, p->len) ||
	    (p->final && !utf8_stream_complete(&r->utf8))) {
		r->len = 0;
		release_if_large(r);
		return REASSEMBLY_BAD_UTF8;
	}
	if (p->first && p->final) {	/* the common case: no copy */
		*msg = p->data;
		*msg_len = p->len;
		return REASSEMBLY_TEXT;
	}
	if (reserve(r, r->len + p->len)) {
		r->len = 0;
		return REASSEMBLY_NOMEM;
	}
	if (p->len)
		memcpy(r->buf + r->len, p->data, p->len);
	r->len += p->len;
	if (!p->final)
		return REASSEMBLY_MORE;
	*msg = r->buf ? r->buf : "";	/* a message of empty frames only: never a NULL text */
	*msg_len = r->len;
	r->len = 0;
	return REASSEMBLY_TEXT;
}

void reassembly_done(struct reassembly *r)
{
	release_if_large(r);
}

void reassembly_free(struct reassembly *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}
