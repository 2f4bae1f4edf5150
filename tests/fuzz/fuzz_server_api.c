/*
 * fuzz_server_api.c - the server API's request bodies (edge/wire/server_api.c) as an HTTP client
 * sends them, and what the edge builds from an accepted one: the envelope, the disconnect
 * message between edges (and its reading back), the answers.
 *
 * Invariants: an accepted publish names a valid target id and spans data inside the body as one
 * JSON value; a broadcast holds 1-100 distinct valid rooms; a disconnect's code is 4000-4999 and
 * its reason at most 120 bytes of UTF-8 that survives the trip through the MQTT message unchanged;
 * every body built is JSON; a refusal always names one of the three 400 codes.
 */
#include <string.h>

#include "fuzz.h"
#include "mqedge/base/textbuf.h"
#include "mqedge/wire/envelope.h"
#include "mqedge/wire/jsontext.h"
#include "mqedge/wire/server_api.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static bool known_code(const struct server_api_error *err)
{
	return err->code && err->message &&
	       (!strcmp(err->code, "bad_json") || !strcmp(err->code, "bad_request") || !strcmp(err->code, "invalid_id"));
}

static struct server_api_broadcast b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct server_api_publish p;
	struct server_api_disconnect d;
	struct server_api_error err;

	if (!server_api_parse_publish(text, size, &p, &err)) {
		size_t cap = envelope_build_size(ENVELOPE_ID_MAX, TOPICS_ID_MAX, p.data.len);
		char *buf = malloc(cap);
		int n;

		FUZZ_CHECK(!topics_validate_id(p.to, strlen(p.to)));
		FUZZ_CHECK(!*p.id || !envelope_validate_id(p.id, strlen(p.id)));
		FUZZ_CHECK(!*p.from || !topics_validate_id(p.from, strlen(p.from)));
		FUZZ_CHECK(fuzz_inside(p.data.p, p.data.len, text, size) && fuzz_json(p.data.p, p.data.len));
		FUZZ_CHECK(buf != NULL);
		n = envelope_build(buf, cap, *p.id ? p.id : "e.1.1", 1, *p.from ? p.from : NULL, p.data.p, p.data.len);
		FUZZ_CHECK(n > 0 && fuzz_json_object(buf, (size_t)n));
		free(buf);
	} else {
		FUZZ_CHECK(known_code(&err));
	}
	if (!server_api_parse_broadcast(text, size, &b, &err)) {
		FUZZ_CHECK(b.n_rooms >= 1 && b.n_rooms <= SERVER_API_MAX_ROOMS);
		for (size_t i = 0; i < b.n_rooms; i++) {
			FUZZ_CHECK(!topics_validate_id(b.rooms[i], strlen(b.rooms[i])));
			for (size_t j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(b.rooms[i], b.rooms[j]));
		}
	} else {
		FUZZ_CHECK(known_code(&err));
	}
	if (!server_api_parse_disconnect(text, size, &d, &err)) {
		char msg[SERVER_API_DISCONNECT_MSG_MAX], reason[SERVER_API_REASON_MAX + 1];
		uint16_t code;
		size_t rlen = strlen(d.reason);
		int n;

		FUZZ_CHECK(d.code >= SERVER_API_CODE_MIN && d.code <= SERVER_API_CODE_MAX);
		FUZZ_CHECK(rlen <= SERVER_API_REASON_MAX && utf8_valid((const unsigned char *)d.reason, rlen));
		n = server_api_disconnect_msg(msg, d.code, d.reason, 1);
		FUZZ_CHECK(n > 0 && n < SERVER_API_DISCONNECT_MSG_MAX && fuzz_json_object(msg, (size_t)n));
		FUZZ_CHECK(!server_api_disconnect_msg_parse(msg, (size_t)n, &code, reason));
		FUZZ_CHECK(code == d.code && !strcmp(reason, d.reason));
	} else {
		FUZZ_CHECK(known_code(&err));
	}
	return 0;
}
