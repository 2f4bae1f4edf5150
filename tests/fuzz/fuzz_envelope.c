/*
 * fuzz_envelope.c - the MQTT payload (edge/wire/envelope.c): envelope_parse classifies whatever a
 * backend or another edge publishes on a mapped topic, and envelope_build writes what the edge
 * publishes.
 *
 * Invariants: the classification is exactly what PROTOCOL.md section 5 says (envelope, other JSON,
 * UTF-8 text, bytes); an envelope's id, from and data lie inside the payload, the ids are valid and
 * data is one JSON value (a string when enc is given); an envelope rebuilt with envelope_build in a
 * buffer of envelope_build_size bytes parses back to the same id, ts, from and data; any JSON value
 * wrapped by envelope_build parses back as an envelope carrying exactly that value.
 */
#include "fuzz.h"
#include "mqedge/wire/envelope.h"
#include "mqedge/wire/topics.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

/* Builds an envelope of (id, ts, from, data) and checks that it parses back to the same. */
static void round_trip(const char *id, size_t id_len, int64_t ts, const char *from, size_t from_len, const char *data,
		       size_t data_len)
{
	char idz[ENVELOPE_ID_MAX + 1], fromz[TOPICS_ID_MAX + 1];
	size_t cap = envelope_build_size(id_len, from ? from_len : 0, data_len);
	char *buf = malloc(cap);
	struct envelope env;
	int n;

	FUZZ_CHECK(buf && id_len <= ENVELOPE_ID_MAX && from_len <= TOPICS_ID_MAX);
	memcpy(idz, id, id_len);
	idz[id_len] = '\0';
	if (from) {
		memcpy(fromz, from, from_len);
		fromz[from_len] = '\0';
	}
	n = envelope_build(buf, cap, idz, ts, from ? fromz : NULL, data, data_len);
	FUZZ_CHECK(n > 0 && (size_t)n < cap && buf[n] == '\0');
	FUZZ_CHECK(envelope_parse(buf, (size_t)n, &env) == PAYLOAD_ENVELOPE);
	FUZZ_CHECK(env.id_len == id_len && !memcmp(env.id, id, id_len));
	FUZZ_CHECK(env.ts == ts);
	FUZZ_CHECK(from ? env.from && env.from_len == from_len && !memcmp(env.from, from, from_len) : !env.from);
	FUZZ_CHECK(env.data_len == data_len && !memcmp(env.data, data, data_len));
	FUZZ_CHECK(env.enc == ENC_NONE);
	/* one byte short of what it wrote: refused, never cut */
	FUZZ_CHECK(envelope_build(buf, (size_t)n, idz, ts, from ? fromz : NULL, data, data_len) == -1);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env, again;
	enum payload_kind k = envelope_parse(data, size, &env);
	bool json = fuzz_json((const char *)data, size);

	FUZZ_CHECK(envelope_parse(data, size, &again) == k && !memcmp(&env, &again, sizeof(env)));
	switch (k) {
	case PAYLOAD_ENVELOPE:
		FUZZ_CHECK(json && fuzz_json_object((const char *)data, size));
		FUZZ_CHECK(fuzz_inside(env.id, env.id_len, data, size));
		FUZZ_CHECK(envelope_validate_id(env.id, env.id_len) == 0);
		if (env.from) {
			FUZZ_CHECK(fuzz_inside(env.from, env.from_len, data, size));
			FUZZ_CHECK(topics_validate_id(env.from, env.from_len) == 0);
		} else {
			FUZZ_CHECK(env.from_len == 0);
		}
		FUZZ_CHECK(fuzz_inside(env.data, env.data_len, data, size));
		FUZZ_CHECK(fuzz_json(env.data, env.data_len));
		FUZZ_CHECK(env.enc == ENC_NONE || env.data[0] == '"');
		FUZZ_CHECK(env.ts >= -1);
		round_trip(env.id, env.id_len, env.ts < 0 ? 0 : env.ts, env.from, env.from_len, env.data, env.data_len);
		break;
	case PAYLOAD_JSON:
		FUZZ_CHECK(json);
		FUZZ_CHECK(!env.id && !env.from && env.ts == -1 && env.enc == ENC_NONE);
		FUZZ_CHECK(fuzz_inside(env.data, env.data_len, data, size) && fuzz_json(env.data, env.data_len));
		/* what a client publishes is wrapped like this (dispatch.c) */
		round_trip("e1.17.42", 8, 1700000000000, "alice", 5, env.data, env.data_len);
		round_trip("x", 1, INT64_MAX, NULL, 0, env.data, env.data_len);
		break;
	case PAYLOAD_TEXT:
		FUZZ_CHECK(!json && utf8_valid(data, size) && env.enc == ENC_TEXT);
		FUZZ_CHECK(env.data == (const char *)data && env.data_len == size);
		break;
	case PAYLOAD_BINARY:
		FUZZ_CHECK(!json && !utf8_valid(data, size) && env.enc == ENC_BASE64);
		FUZZ_CHECK(env.data == (const char *)data && env.data_len == size);
		break;
	default:
		FUZZ_CHECK(!"a payload kind outside the enum");
	}
	return 0;
}
