/*
 * deflate.h - the shared compressor: a frame's permessage-deflate twin, made once per message for
 * every member that negotiated compression (deflate.c).
 */
#ifndef MQEDGE_DEFLATE_H
#define MQEDGE_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/fanout/frame.h"

struct deflater {
	void *zs;		/* z_stream, reset for each message; NULL: compression off */
	size_t min_bytes;	/* smaller payloads go out as they are */
	uint64_t made, not_worth;	/* twins made; payloads compression did not shrink enough */
	uint64_t bytes_in, bytes_out;	/* payload bytes of the frames compressed, and of their twins */
};

/* min_bytes 0: compression off (deflater_twin always NULL). Returns 0 or -ENOMEM. */
int deflater_init(struct deflater *d, size_t min_bytes);
void deflater_fini(struct deflater *d);

/* f's compressed twin (owned by f, valid while f is), or NULL when f is below min_bytes, would not
 * shrink by an eighth, or memory ran out: then f itself goes out. Compresses on the first call for
 * f only. */
struct frame *deflater_twin(struct deflater *d, struct frame *f);

#endif
