/*
 * deflate.c - the shared compressor (RFC 7692 permessage-deflate, server to client): a frame's
 * compressed twin, made once per message however many members get it. Each message is its own
 * raw-deflate stream (the z_stream is reset, so nothing refers to an earlier message) ended with
 * a sync flush whose 00 00 ff ff tail is dropped: the same bytes are valid for every client,
 * whether it keeps its inflate context between messages or not, so lws 4.1.6 — which answers a
 * client's offer without adding server_no_context_takeover — needs to promise nothing more.
 * Owns: the z_stream. Must not: know peers, negotiation or sockets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mqedge/fanout/deflate.h"

#define DEFLATE_LEVEL 1		/* single JSON messages: level 6 saves ~1 % more, at 3-5x the CPU */
#define DEFLATE_WINDOW_BITS 15	/* negative below: raw deflate, no zlib header */
#define DEFLATE_MEM_LEVEL 8
#define TAIL_LEN 4		/* 00 00 ff ff: the sync flush's empty block, dropped (RFC 7692 7.2.1) */

int deflater_init(struct deflater *d, size_t min_bytes)
{
	z_stream *zs;

	memset(d, 0, sizeof(*d));
	d->min_bytes = min_bytes;
	if (!min_bytes)
		return 0;
	zs = calloc(1, sizeof(*zs));
	if (!zs)
		return -ENOMEM;
	if (deflateInit2(zs, DEFLATE_LEVEL, Z_DEFLATED, -DEFLATE_WINDOW_BITS, DEFLATE_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(zs);
		return -ENOMEM;
	}
	d->zs = zs;
	return 0;
}

void deflater_fini(struct deflater *d)
{
	if (d->zs) {
		deflateEnd(d->zs);
		free(d->zs);
	}
	d->zs = NULL;
}

/* Compresses f into a new frame; NULL when it does not pay (or no memory). */
static struct frame *compress_frame(struct deflater *d, const struct frame *f)
{
	z_stream *zs = d->zs;
	/* worth it only below 7/8 of the plain payload: the buffer stops there */
	size_t cap = f->len - f->len / 8 + TAIL_LEN, out;
	struct frame *z = frame_alloc(cap);

	if (!z || deflateReset(zs) != Z_OK)
		goto not_worth;
	zs->next_in = (Bytef *)(f->buf + FRAME_HEADROOM);
	zs->avail_in = f->len;
	zs->next_out = frame_payload(z);
	zs->avail_out = (uInt)cap;
	/* all input consumed and room left over: the flush is complete */
	if (deflate(zs, Z_SYNC_FLUSH) != Z_OK || zs->avail_in || !zs->avail_out)
		goto not_worth;
	out = cap - zs->avail_out;
	if (out < TAIL_LEN || memcmp(frame_payload(z) + out - TAIL_LEN, "\x00\x00\xff\xff", TAIL_LEN))
		goto not_worth;
	frame_seal_compressed(z, out - TAIL_LEN);
	z->born_us = f->born_us;
	return z;
not_worth:
	if (z)
		frame_unref(z);
	return NULL;
}

struct frame *deflater_twin(struct deflater *d, struct frame *f)
{
	if (f->twin_state == FRAME_TWIN_MADE)
		return f->twin;
	if (f->twin_state == FRAME_TWIN_NOT_WORTH || !d->zs || f->len < d->min_bytes)
		return NULL;
	f->twin = compress_frame(d, f);
	if (!f->twin) {
		f->twin_state = FRAME_TWIN_NOT_WORTH;
		d->not_worth++;
		return NULL;
	}
	f->twin_state = FRAME_TWIN_MADE;
	d->made++;
	d->bytes_in += f->len;
	d->bytes_out += f->twin->len;
	return f->twin;
}
