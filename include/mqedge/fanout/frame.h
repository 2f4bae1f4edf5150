/*
 * frame.h - immutable, reference-counted outgoing WebSocket text frames.
 *
 * A message for N members is serialised once into one frame; every member's queue holds a
 * reference. The buffer carries its own WebSocket header just before the payload (server frames
 * are unmasked, so the wire bytes are the same for every member), which lets a writer send one
 * or several queued frames as raw bytes in one write. FRAME_HEADROOM also satisfies LWS_PRE for
 * writers that let libwebsockets frame the payload itself.
 *
 * Frames come from per-size free lists, so steady-state fan-out does not call malloc.
 */
#ifndef MQEDGE_FRAME_H
#define MQEDGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "mqedge/wire/edge_frame.h"

#define FRAME_HEADROOM 16

enum { FRAME_TWIN_UNTRIED, FRAME_TWIN_MADE, FRAME_TWIN_NOT_WORTH };

struct frame {
	uint32_t refs;
	uint32_t len;		/* payload (JSON text) bytes */
	uint32_t cap;		/* payload bytes allocated */
	uint8_t hdr_len;	/* WebSocket header bytes just before the payload */
	uint8_t size_class;
	uint8_t twin_state;	/* deflate.c: FRAME_TWIN_UNTRIED, _MADE (twin set) or _NOT_WORTH */
	struct frame *twin;	/* its permessage-deflate twin (one reference, owned by this frame) */
	int64_t born_us;	/* when the message reached this edge (for the latency histogram) */
	unsigned char buf[];	/* FRAME_HEADROOM bytes, then the payload */
};

static inline unsigned char *frame_payload(struct frame *f) { return f->buf + FRAME_HEADROOM; }
/* The complete wire frame: header + payload. */
static inline const unsigned char *frame_wire(const struct frame *f)
{
	return f->buf + FRAME_HEADROOM - f->hdr_len;
}
static inline size_t frame_wire_len(const struct frame *f) { return (size_t)f->hdr_len + f->len; }

/* A frame with room for cap payload bytes and one reference, owned by the caller; NULL on OOM. */
struct frame *frame_alloc(size_t cap);
/* Seals a frame whose payload is len bytes: writes the WebSocket header. */
void frame_seal(struct frame *f, size_t len);
/* The same for a payload that is a permessage-deflate message (RFC 7692: RSV1 set). */
void frame_seal_compressed(struct frame *f, size_t len);
static inline struct frame *frame_ref(struct frame *f) { f->refs++; return f; }
/* Drops a reference; the last one returns the frame (and its twin) to the free lists. */
void frame_unref(struct frame *f);

/* A sealed frame holding a copy of text[0..len). NULL on OOM. */
struct frame *frame_from_text(const char *text, size_t len);

/* Serialises d (edge_frame_delivery) into a new sealed frame, once for every member. NULL on OOM. */
struct frame *frame_build_delivery(const struct delivery *d);

/* Frees the free lists (at exit, so leak checkers stay quiet). */
void frame_pool_drain(void);

#endif
