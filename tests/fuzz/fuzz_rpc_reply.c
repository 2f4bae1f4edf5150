/*
 * fuzz_rpc_reply.c - a backend's answer to an rpc request, as it arrives on an edge's response
 * topic (edge/wire/rpc_reply.c), and the client frame built from it (edge/wire/edge_frame.c).
 *
 * Invariants: an accepted answer is exactly one of data or error; its spans lie inside the
 * payload; data is one JSON value; an error's code is a valid code and its message a JSON string
 * of at most RPC_REPLY_MESSAGE_MAX bytes; the frame the edge builds from it is a JSON object.
 */
#include "fuzz.h"
#include "mqedge/base/textbuf.h"
#include "mqedge/wire/edge_frame.h"
#include "mqedge/wire/rpc_reply.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct rpc_reply r;
	struct textbuf frame = { 0 };

	if (rpc_reply_parse(text, size, &r))
		return 0;
	if (r.is_error) {
		FUZZ_CHECK(r.data.p == NULL);
		FUZZ_CHECK(fuzz_inside(r.code.p, r.code.len, text, size));
		FUZZ_CHECK(rpc_reply_code_valid(r.code.p, r.code.len));
		FUZZ_CHECK(r.message.len >= 2 && r.message.len <= RPC_REPLY_MESSAGE_MAX && r.message.p[0] == '"');
		FUZZ_CHECK(fuzz_json(r.message.p, r.message.len));
		edge_frame_error_json(&frame, "1", r.code.p, r.code.len, r.message.p, r.message.len);
	} else {
		FUZZ_CHECK(r.data.p && fuzz_inside(r.data.p, r.data.len, text, size));
		FUZZ_CHECK(fuzz_json(r.data.p, r.data.len));
		edge_frame_ok_data(&frame, "\"r\"", r.data.p, r.data.len);
	}
	FUZZ_CHECK(!frame.oom && fuzz_json_object(frame.p, frame.len));
	textbuf_free(&frame);
	return 0;
}
