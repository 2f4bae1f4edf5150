/*
 * test_envelope.c - payload classification, envelope fields, and envelope_build round trips
 * (edge/wire/envelope.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/wire/envelope.h"
#include "mqedge/wire/jsontext.h"

#define T(s) s, sizeof(s) - 1

#define ID100 "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
#define ID64 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

static bool span_is(const char *p, size_t len, const char *want)
{
	return p && len == strlen(want) && !memcmp(p, want, len);
}

static void test_envelopes(void)
{
	static const struct {
		const char *payload;
		size_t len;
		const char *id, *from, *data;	/* from NULL: absent */
		int64_t ts;
		enum data_enc enc;
	} cases[] = {
		{ T("{\"v\":1,\"id\":\"m1\",\"ts\":1700000000000,\"from\":\"alice\",\"data\":{\"x\":1}}"),
		  "m1", "alice", "{\"x\":1}", 1700000000000LL, ENC_NONE },
		{ T("{\"v\":1,\"id\":\"m1\",\"data\":[1,2]}"), "m1", NULL, "[1,2]", -1, ENC_NONE },
		{ T("{\"data\":null,\"id\":\"e.1.a\",\"v\":1}"), "e.1.a", NULL, "null", -1, ENC_NONE },
		{ T(" { \"v\" : 1 , \"id\" : \"m\" , \"ts\" : 0 , \"from\" : null , \"data\" : \"s\" } "),
		  "m", NULL, "\"s\"", 0, ENC_NONE },
		{ T("{\"v\":1,\"id\":\"m\",\"data\":\"hi\",\"enc\":\"text\"}"), "m", NULL, "\"hi\"", -1, ENC_TEXT },
		{ T("{\"v\":1,\"id\":\"m\",\"data\":\"AAE=\",\"enc\":\"base64\",\"from\":\"dev-1\"}"),
		  "m", "dev-1", "\"AAE=\"", -1, ENC_BASE64 },
		{ T("{\"v\":1,\"id\":\"" ID100 "\",\"data\":1}"), ID100, NULL, "1", -1, ENC_NONE },
		{ T("{\"v\":1,\"id\":\"m\",\"from\":\"" ID64 "\",\"data\":1}"), "m", ID64, "1", -1, ENC_NONE },
		{ T("{\"v\":1,\"id\":\"m\",\"ts\":9223372036854775807,\"data\":true}"), "m", NULL, "true",
		  INT64_MAX, ENC_NONE },
		/* unknown members (even escaped look-alikes) are ignored */
		{ T("{\"v\":1,\"id\":\"m\",\"data\":{\"v\":2},\"extra\":[],\"i\\u0064\":5}"), "m", NULL,
		  "{\"v\":2}", -1, ENC_NONE },
		{ T("{\"v\":1,\"id\":\"m\",\"data\":\"caf\xc3\xa9\"}"), "m", NULL, "\"caf\xc3\xa9\"", -1, ENC_NONE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct envelope env;
		enum payload_kind k = envelope_parse(cases[i].payload, cases[i].len, &env);

		if (k != PAYLOAD_ENVELOPE)
			fprintf(stderr, "envelope case %zu: kind %d\n", i, k);
		CHECK(k == PAYLOAD_ENVELOPE);
		CHECK(span_is(env.id, env.id_len, cases[i].id));
		if (cases[i].from)
			CHECK(span_is(env.from, env.from_len, cases[i].from));
		else
			CHECK(env.from == NULL && env.from_len == 0);
		CHECK(span_is(env.data, env.data_len, cases[i].data));
		CHECK(env.ts == cases[i].ts);
		CHECK(env.enc == cases[i].enc);
		/* spans point into the payload */
		CHECK(env.id > cases[i].payload && env.id + env.id_len <= cases[i].payload + cases[i].len);
		CHECK(env.data > cases[i].payload && env.data + env.data_len <= cases[i].payload + cases[i].len);
	}
}

static void test_bad_envelopes(void)
{
	static const struct {
		const char *payload;
		size_t len;
	} cases[] = {
		{ T("{\"v\":1}") },
		{ T("{\"v\":1,\"id\":\"m\"}") },			/* no data */
		{ T("{\"v\":1,\"data\":1}") },			/* no id */
		{ T("{\"v\":1,\"i\\u0064\":\"m\",\"data\":1}") },	/* escaped key is not "id" */
		{ T("{\"v\":1,\"id\":5,\"data\":1}") },
		{ T("{\"v\":1,\"id\":null,\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"" ID100 "0\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"a/b\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"a b\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"a+\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"caf\xc3\xa9\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"a\\u0000\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"a\\/b\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"from\":5,\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"from\":\"\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"from\":\"a b\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"from\":\"a\\u0062\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"from\":\"" ID64 "x\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"ts\":-1,\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"ts\":1.5,\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"ts\":1e3,\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"ts\":\"1\",\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"ts\":null,\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"ts\":9223372036854775808,\"data\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"data\":1,\"enc\":\"text\"}") },	/* enc needs a string */
		{ T("{\"v\":1,\"id\":\"m\",\"data\":\"x\",\"enc\":\"hex\"}") },
		{ T("{\"v\":1,\"id\":\"m\",\"data\":\"x\",\"enc\":\"TEXT\"}") },
		{ T("{\"v\":1,\"id\":\"m\",\"data\":\"x\",\"enc\":1}") },
		{ T("{\"v\":1,\"id\":\"m\",\"data\":\"x\",\"enc\":\"te\\u0078t\"}") },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct envelope env;
		enum payload_kind k = envelope_parse(cases[i].payload, cases[i].len, &env);

		/* not an envelope by docs/PROTOCOL.md section 5: delivered as data, the whole value */
		if (k != PAYLOAD_JSON)
			fprintf(stderr, "bad envelope case %zu (%s): kind %d\n", i, cases[i].payload, k);
		CHECK(k == PAYLOAD_JSON);
		CHECK(env.id == NULL);
		CHECK(env.data_len == cases[i].len && !memcmp(env.data, cases[i].payload, env.data_len));
	}
}

static void test_bare_payloads(void)
{
	static const struct {
		const char *payload;
		size_t len;
		enum payload_kind kind;
		const char *data;	/* NULL: the whole payload */
		size_t data_len;
	} cases[] = {
		/* JSON that is not an envelope: data is the value without surrounding whitespace */
		{ T("{\"temp\":21.5}"), PAYLOAD_JSON, "{\"temp\":21.5}", 0 },
		{ T("  {\"a\":1}\n"), PAYLOAD_JSON, "{\"a\":1}", 0 },
		{ T("{}"), PAYLOAD_JSON, "{}", 0 },
		{ T("[1,2]"), PAYLOAD_JSON, "[1,2]", 0 },
		{ T("\"str\""), PAYLOAD_JSON, "\"str\"", 0 },
		{ T("42"), PAYLOAD_JSON, "42", 0 },
		{ T(" null "), PAYLOAD_JSON, "null", 0 },
		{ T("[{\"v\":1,\"id\":\"m\",\"data\":1}]"), PAYLOAD_JSON, "[{\"v\":1,\"id\":\"m\",\"data\":1}]", 0 },
		{ T("{\"id\":\"m\",\"data\":1}"), PAYLOAD_JSON, "{\"id\":\"m\",\"data\":1}", 0 },
		/* an escaped "v" is not the envelope's v */
		{ T("{\"\\u0076\":1,\"id\":\"m\",\"data\":1}"), PAYLOAD_JSON, "{\"\\u0076\":1,\"id\":\"m\",\"data\":1}", 0 },
		/* "v" that is not 1 does not declare an envelope: an ordinary reading (docs/PROTOCOL.md 5) */
		{ T("{\"v\":3.3,\"unit\":\"V\"}"), PAYLOAD_JSON, "{\"v\":3.3,\"unit\":\"V\"}", 0 },
		{ T("{\"v\":0}"), PAYLOAD_JSON, "{\"v\":0}", 0 },
		/* UTF-8 text that is not JSON */
		{ T("hello world"), PAYLOAD_TEXT, NULL, 0 },
		{ T("caf\xc3\xa9 \xf0\x9f\x98\x80"), PAYLOAD_TEXT, NULL, 0 },
		{ T(""), PAYLOAD_TEXT, NULL, 0 },
		{ T("{\"a\":"), PAYLOAD_TEXT, NULL, 0 },
		{ T("01"), PAYLOAD_TEXT, NULL, 0 },
		{ T("a\0b"), PAYLOAD_TEXT, NULL, 0 },
		{ T("{\"v\":1,\"id\":\"m\",\"data\":1} trailing"), PAYLOAD_TEXT, NULL, 0 },
		/* anything else is bytes */
		{ T("\xff\xfe"), PAYLOAD_BINARY, NULL, 0 },
		{ T("\x80"), PAYLOAD_BINARY, NULL, 0 },
		{ T("\xc0\xaf"), PAYLOAD_BINARY, NULL, 0 },
		{ T("\xed\xa0\x80"), PAYLOAD_BINARY, NULL, 0 },
		{ T("\0\x01\x02\xff"), PAYLOAD_BINARY, NULL, 0 },
		{ T("{\"a\":\"\xff\"}"), PAYLOAD_BINARY, NULL, 0 },
		{ T("{\"v\":1,\"id\":\"m\",\"data\":\"\xc3\"}"), PAYLOAD_BINARY, NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct envelope env;
		enum payload_kind k = envelope_parse(cases[i].payload, cases[i].len, &env);
		enum data_enc want_enc = cases[i].kind == PAYLOAD_TEXT ? ENC_TEXT :
					 cases[i].kind == PAYLOAD_BINARY ? ENC_BASE64 : ENC_NONE;

		if (k != cases[i].kind)
			fprintf(stderr, "bare case %zu (%.*s): kind %d want %d\n", i, (int)cases[i].len,
				cases[i].payload, k, cases[i].kind);
		CHECK(k == cases[i].kind);
		CHECK(env.id == NULL && env.id_len == 0);
		CHECK(env.from == NULL);
		CHECK(env.ts == -1);
		CHECK(env.enc == want_enc);
		if (cases[i].data)
			CHECK(span_is(env.data, env.data_len, cases[i].data));
		else
			CHECK(env.data == cases[i].payload && env.data_len == cases[i].len);
	}
}

static void test_validate_id(void)
{
	static const struct {
		const char *id;
		size_t len;
		int want;
	} cases[] = {
		{ T("m"), 0 },
		{ T("edge-1.k2.3z"), 0 },
		{ T("a@b:c_d"), 0 },
		{ T(ID100), 0 },
		{ T(ID100 "0"), -1 },
		{ T(""), -1 },
		{ T("a/b"), -1 },
		{ T("a b"), -1 },
		{ T("a#"), -1 },
		{ T("a\0"), -1 },
		{ T("\xc3\xa9"), -1 },
		{ T("\"m\""), -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(envelope_validate_id(cases[i].id, cases[i].len) == cases[i].want);
}

static void check_build_round_trip(const char *id, int64_t ts, const char *from, const char *data)
{
	size_t data_len = strlen(data);
	size_t cap = envelope_build_size(strlen(id), from ? strlen(from) : 0, data_len);
	char *buf = malloc(cap);
	struct envelope env;
	int n;

	if (!buf) {
		CHECK(buf != NULL);
		return;
	}
	n = envelope_build(buf, cap, id, ts, from, data, data_len);
	if (n < 0)
		fprintf(stderr, "envelope_build(id %zu, ts %lld, from %zu, data %zu) did not fit %zu bytes\n",
			strlen(id), (long long)ts, from ? strlen(from) : 0, data_len, cap);
	CHECK(n > 0);
	if (n > 0) {
		bool obj = false;
		const char *v;
		size_t vlen;

		CHECK((size_t)n < cap);
		CHECK(buf[n] == '\0' && strlen(buf) == (size_t)n);
		CHECK(jsontext_validate(buf, (size_t)n, &obj, &v, &vlen, NULL, NULL) == 0 && obj);
		CHECK(envelope_parse(buf, (size_t)n, &env) == PAYLOAD_ENVELOPE);
		CHECK(span_is(env.id, env.id_len, id));
		CHECK(env.ts == ts);
		if (from)
			CHECK(span_is(env.from, env.from_len, from));
		else
			CHECK(env.from == NULL);
		CHECK(span_is(env.data, env.data_len, data));
		CHECK(env.enc == ENC_NONE);

		/* exactly the output plus its NUL fits; one byte less does not */
		char *exact = malloc((size_t)n + 1);

		if (exact) {
			CHECK(envelope_build(exact, (size_t)n + 1, id, ts, from, data, data_len) == n);
			CHECK(!memcmp(exact, buf, (size_t)n + 1));
			CHECK(envelope_build(exact, (size_t)n, id, ts, from, data, data_len) == -1);
			free(exact);
		}
	}
	free(buf);
}

static void test_build(void)
{
	char out[256];
	int n;
	const char *datas[] = { "1", "null", "\"text\"", "{\"a\":[1,{\"b\":\"c\"}]}", "[]", "-1.5e-3",
				"\"caf\xc3\xa9\"" };
	const char *ids[] = { "m", "edge-1.k2.3z", ID100 };
	const char *froms[] = { NULL, "a", ID64 };
	const int64_t tss[] = { 0, 1700000000000LL, 999999999999999999LL, INT64_MAX };

	n = envelope_build(out, sizeof(out), "m1", 5, "alice", "{\"x\":1}", 7);
	CHECK_STR(n > 0 ? out : NULL, "{\"v\":1,\"id\":\"m1\",\"ts\":5,\"from\":\"alice\",\"data\":{\"x\":1}}");
	CHECK(n == (int)strlen("{\"v\":1,\"id\":\"m1\",\"ts\":5,\"from\":\"alice\",\"data\":{\"x\":1}}"));
	n = envelope_build(out, sizeof(out), "m1", 5, NULL, "2", 1);
	CHECK_STR(n > 0 ? out : NULL, "{\"v\":1,\"id\":\"m1\",\"ts\":5,\"data\":2}");
	CHECK(envelope_build(out, 10, "m1", 5, NULL, "2", 1) == -1);
	CHECK(envelope_build(out, 0, "m1", 5, NULL, "2", 1) == -1);

	for (size_t d = 0; d < sizeof(datas) / sizeof(datas[0]); d++)
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
			for (size_t f = 0; f < sizeof(froms) / sizeof(froms[0]); f++)
				for (size_t t = 0; t < sizeof(tss) / sizeof(tss[0]); t++)
					check_build_round_trip(ids[i], tss[t], froms[f], datas[d]);

	/* a large payload */
	size_t big = 100000;
	char *data = malloc(big + 3);

	if (data) {
		data[0] = '"';
		memset(data + 1, 'x', big);
		data[big + 1] = '"';
		data[big + 2] = '\0';
		check_build_round_trip("m", 1, "u", data);
		free(data);
	}
}

int main(void)
{
	test_envelopes();
	test_bad_envelopes();
	test_bare_payloads();
	test_validate_id();
	test_build();
	return CHECK_DONE();
}
