/*
 * fuzz_peers.h - the socket side of fan-out for fuzz targets that run the process's state: a
 * writer that checks every frame the edge would send to a client. Each queued frame must be a
 * well-formed unmasked WebSocket text frame (FIN, opcode 1, the shortest length encoding) whose
 * payload is one JSON object with an "op" (schemas/edge-frame.schema.json); then it is "written"
 * (fanout_written), as ws_session.c does.
 */
#ifndef MQEDGE_FUZZ_PEERS_H
#define MQEDGE_FUZZ_PEERS_H

#include "fuzz.h"
#include "mqedge/base/clock.h"
#include "mqedge/fanout/fanout.h"

static bool fuzz_frame_has_op(const char *text, size_t len)
{
	static const char op[] = "{\"op\":\"";

	return len > sizeof(op) && !memcmp(text, op, sizeof(op) - 1);
}

/* Checks and "writes" everything queued for p. Returns the frames written. */
static uint32_t fuzz_peer_drain(struct fanout *fo, struct peer *p)
{
	uint32_t n = p->outq.count;
	size_t bytes = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct frame *f = outq_at(&p->outq, i);
		const unsigned char *w = frame_wire(f);
		const char *text = (const char *)frame_payload(f);
		size_t len = f->len;

		FUZZ_CHECK(f->refs >= 1 && f->len <= f->cap);
		FUZZ_CHECK(w[0] == 0x81);
		if (len < 126)
			FUZZ_CHECK(f->hdr_len == 2 && w[1] == len);
		else if (len < 65536)
			FUZZ_CHECK(f->hdr_len == 4 && w[1] == 126 && ((size_t)w[2] << 8 | w[3]) == len);
		else
			FUZZ_CHECK(f->hdr_len == 10 && w[1] == 127);
		if (!fuzz_json_object(text, len) || !fuzz_frame_has_op(text, len))
			fprintf(fuzz_report, "fuzz: bad frame to a client: %.*s\n", (int)(len > 2000 ? 2000 : len), text);
		FUZZ_CHECK(fuzz_json_object(text, len));
		FUZZ_CHECK(fuzz_frame_has_op(text, len));
		bytes += frame_wire_len(f);
	}
	FUZZ_CHECK(bytes == p->outq.bytes);
	if (n)
		fanout_written(fo, p, n, bytes, clock_now_us());
	FUZZ_CHECK(p->outq.count == 0 && p->outq.bytes == 0);
	return n;
}

#endif
