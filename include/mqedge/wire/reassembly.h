/*
 * reassembly.h - one WebSocket message put together from the pieces libwebsockets hands over
 * (a frame may arrive in several reads, a message in several frames), under a size limit that is
 * checked before anything is buffered, and text checked for UTF-8 piece by piece (a bad byte fails
 * the message at once, not when it ends). Text only is kept; binary messages are counted for the
 * limit and dropped. No I/O: the server feeds it, the fuzzer too (tests/fuzz/fuzz_reassembly.c).
 */
#ifndef MQEDGE_WIRE_REASSEMBLY_H
#define MQEDGE_WIRE_REASSEMBLY_H

#include <stdbool.h>
#include <stddef.h>

#include "mqedge/wire/jsontext.h"

/* Buffers above this are freed after each message, so an idle session holds none. */
#define REASSEMBLY_KEEP_BYTES 4096

struct reassembly {
	char *buf;		/* malloc'd; the pieces of the current text message */
	size_t len, cap;
	bool binary;		/* the current message is binary: counted, never stored */
	bool compressed;	/* the current message is permessage-deflate: frame_remaining is not its size */
	struct utf8_stream utf8;	/* of the current text message so far */
};

/* One piece as libwebsockets reports it: first/final piece of the message, binary and compressed
 * (RSV1, read on the first piece), and the bytes of the current frame still to come. For a
 * compressed message those are compressed bytes, while the pieces are inflated: they say nothing
 * of the size to come, so only the inflated bytes count (the limit still holds as they arrive;
 * counting both refused messages of exactly max_bytes, depending on how reads were cut). */
struct reassembly_piece {
	const char *data;
	size_t len;
	bool first, final, binary, compressed;
	size_t frame_remaining;
};

enum reassembly_result {
	REASSEMBLY_MORE,	/* wait for the next piece */
	REASSEMBLY_TEXT,	/* a whole text message: *msg, *msg_len (valid until the next feed) */
	REASSEMBLY_BINARY,	/* a whole binary message ended (its bytes were not kept) */
	REASSEMBLY_TOO_BIG,	/* the message would pass max_bytes: nothing of it was kept */
	REASSEMBLY_BAD_UTF8,	/* text that is not UTF-8 (RFC 6455 close 1007) */
	REASSEMBLY_NOMEM,
};

/* Feeds one piece. A single-piece text message is returned in place (no copy); a longer one in
 * the buffer, until reassembly_done, which the caller calls once it has used the message. */
enum reassembly_result reassembly_feed(struct reassembly *r, const struct reassembly_piece *p, size_t max_bytes,
				       const char **msg, size_t *msg_len);
void reassembly_done(struct reassembly *r);
void reassembly_free(struct reassembly *r);

#endif
