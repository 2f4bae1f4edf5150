/*
 * fuzz_client_frame.c - client_frame_parse (edge/wire/client_frame.c): one client text frame, as
 * a WebSocket session hands it to dispatch.
 *
 * Invariants: the parse is deterministic; every span it returns (data, token, ids, mute) lies
 * inside the frame and is what it claims to be (data one JSON value, ids and mute arrays, a token
 * without escapes); the id is a valid id for every op that names one; numbers are in their
 * documented bounds; a refused frame has one of the documented error codes; and the frames the
 * edge answers with, which echo the client's ref (ok, error, pong), are valid JSON whatever the
 * frame was.
 */
#include "fuzz.h"
#include "mqedge/wire/client_frame.h"
#include "mqedge/wire/edge_frame.h"
#include "mqedge/wire/topics.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void check_ref(const char *ref, const char *text, size_t len)
{
	char buf[EDGE_FRAME_MAX];
	size_t n = strlen(ref);
	int w;

	FUZZ_CHECK(n <= CLIENT_FRAME_REF_MAX + 2);
	if (n) {
		/* the ref is the client's own JSON text: a string or a number, copied from the frame */
		FUZZ_CHECK(memmem(text, len, ref, n) != NULL);
		FUZZ_CHECK(fuzz_json(ref, n));
		FUZZ_CHECK(ref[0] == '"' || ref[0] == '-' || (ref[0] >= '0' && ref[0] <= '9'));
	}
	/* every reply that echoes it is valid JSON and fits its buffer */
	w = edge_frame_ok(buf, ref);
	FUZZ_CHECK(w > 0 && w < EDGE_FRAME_MAX && fuzz_json_object(buf, (size_t)w));
	w = edge_frame_error(buf, ref, "bad_request", "'op' must be a string");
	FUZZ_CHECK(w > 0 && w < EDGE_FRAME_MAX && fuzz_json_object(buf, (size_t)w));
	w = edge_frame_pong(buf, ref, INT64_MAX);
	FUZZ_CHECK(w > 0 && w < EDGE_FRAME_MAX && fuzz_json_object(buf, (size_t)w));
	w = edge_frame_ok_msg(buf, ref, "e1.1.1", 1700000000000);
	FUZZ_CHECK(w > 0 && w < EDGE_FRAME_MAX && fuzz_json_object(buf, (size_t)w));
}

static void check_array_span(const char *p, size_t n, const char *text, size_t len)
{
	bool is_array = false;

	FUZZ_CHECK(fuzz_inside(p, n, text, len));
	FUZZ_CHECK(n >= 2 && p[0] == '[');
	FUZZ_CHECK(jsontext_array_items(p, n, &is_array, NULL, NULL) == 0 && is_array);
}

static void check_ok(const struct client_op *op, const char *text, size_t len)
{
	bool names_id = false;

	switch (op->type) {
	case OP_SUB:
	case OP_UNSUB:
		FUZZ_CHECK(op->target == TARGET_ROOM || op->target == TARGET_DEVICE);
		names_id = true;
		if (op->has_since) {
			size_t el = strlen(op->since_epoch);

			FUZZ_CHECK(op->type == OP_SUB && op->target == TARGET_ROOM);
			FUZZ_CHECK(el >= 1 && el <= CLIENT_FRAME_EPOCH_MAX);
			FUZZ_CHECK(op->since_offset <= (uint64_t)INT64_MAX);
		}
		break;
	case OP_PUB:
	case OP_CMD:
		FUZZ_CHECK(op->target == (op->type == OP_PUB ? TARGET_ROOM : TARGET_DEVICE));
		/* fall through */
	case OP_SEND:
		names_id = true;
		/* fall through */
	case OP_TELEMETRY:
		FUZZ_CHECK(op->data != NULL);
		break;
	case OP_PRESENCE:
		names_id = true;
		break;
	case OP_HISTORY:
		names_id = true;
		FUZZ_CHECK(op->limit >= 1 && op->limit <= 200);
		FUZZ_CHECK(op->before_offset <= (uint64_t)INT64_MAX);
		break;
	case OP_REFRESH:
		FUZZ_CHECK(op->token && op->token_len > 0);
		FUZZ_CHECK(fuzz_inside(op->token, op->token_len, text, len));
		FUZZ_CHECK(!memchr(op->token, '\\', op->token_len) && !memchr(op->token, '"', op->token_len));
		break;
	case OP_INBOX:
		FUZZ_CHECK(op->limit >= 0 && op->limit <= 1000);
		FUZZ_CHECK(strlen(op->before) < sizeof(op->before));
		break;
	case OP_READ:
		FUZZ_CHECK(op->all || op->ids);
		if (!op->all)
			check_array_span(op->ids, op->ids_len, text, len);
		break;
	case OP_SETTINGS:
		if (op->mute)
			check_array_span(op->mute, op->mute_len, text, len);
		break;
	case OP_PING:
		break;
	default:
		FUZZ_CHECK(!"an op type outside the enum");
	}
	if (names_id)
		FUZZ_CHECK(topics_validate_id(op->id, strlen(op->id)) == 0);
	else
		FUZZ_CHECK(op->id[0] == '\0');
	if (op->data) {
		FUZZ_CHECK(fuzz_inside(op->data, op->data_len, text, len));
		FUZZ_CHECK(fuzz_json(op->data, op->data_len));
		/* the span is the value itself, without surrounding whitespace */
		FUZZ_CHECK(op->data[0] != ' ' && op->data[op->data_len - 1] != ' ');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct client_op op, again;
	struct proto_error err, err2;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = client_frame_parse(text, size, &op, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	check_ref(op.ref, text, size);
	if (rc == 0) {
		check_ok(&op, text, size);
	} else {
		FUZZ_CHECK(err.code != NULL);
		FUZZ_CHECK(!strcmp(err.code, "bad_json") || !strcmp(err.code, "bad_request") ||
			   !strcmp(err.code, "unknown_op") || !strcmp(err.code, "invalid_id"));
		FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
		/* valid JSON that is not an object, or not JSON at all: nothing else is bad_json */
		FUZZ_CHECK(!strcmp(err.code, "bad_json") == !fuzz_json_object(text, size));
	}
	/* deterministic: the same frame parses the same way */
	memset(&err2, 0, sizeof(err2));
	FUZZ_CHECK(client_frame_parse(text, size, &again, &err2) == rc);
	FUZZ_CHECK(!memcmp(&op, &again, sizeof(op)));
	if (rc)
		FUZZ_CHECK(!strcmp(err.code, err2.code) && !strcmp(err.message, err2.message));
	return 0;
}
