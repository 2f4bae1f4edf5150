/*
 * test_edge_frame.c - the edge_frame.c writers that test_client_frame.c does not cover (ok with
 * unread, ok with mute, notify, backlog, the inbox page, read events) and the delivery size bound
 * against exactly sized buffers for many shapes; plus the HTTP bodies of edge/wire/api_body.c
 * (error with its escaping and UTF-8-safe 200-byte cut, ids, status). Every output is checked
 * exactly and as valid JSON (jsontext_validate).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/wire/api_body.h"
#include "mqedge/wire/edge_frame.h"
#include "mqedge/wire/topics.h"
#include "mqedge/wire/jsontext.h"

#define T(s) s, sizeof(s) - 1

#define ID64 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
#define ID100 ID64 "012345678901234567890123456789012345"

static bool valid_json(const char *p, size_t len)
{
	bool obj = false;
	const char *v;
	size_t vlen;

	if (jsontext_validate(p, len, &obj, &v, &vlen, NULL, NULL) || !obj) {
		fprintf(stderr, "not a valid JSON object: %.*s\n", (int)len, p);
		return false;
	}
	return true;
}

/* buf holds n bytes == want, NUL-terminated, and is a valid JSON object. */
static bool is_frame(const char *buf, int n, const char *want)
{
	if (n < 0 || (size_t)n != strlen(want) || memcmp(buf, want, (size_t)n) || buf[n] != '\0') {
		fprintf(stderr, "got (%d) %.*s\nwant (%zu) %s\n", n, n > 0 ? n : 0, buf, strlen(want), want);
		return false;
	}
	return valid_json(buf, (size_t)n);
}

static bool tb_is(const struct textbuf *b, const char *want)
{
	if (b->oom || !b->p || b->len != strlen(want) || strcmp(b->p, want)) {
		fprintf(stderr, "got %s\nwant %s\n", b->p ? b->p : "(null)", want);
		return false;
	}
	return valid_json(b->p, b->len);
}

static void test_ok_unread(void)
{
	static const struct {
		const char *ref;
		int64_t unread;
		const char *want;
	} cases[] = {
		{ "\"r1\"", 5, "{\"op\":\"ok\",\"ref\":\"r1\",\"unread\":5}" },
		{ "", 0, "{\"op\":\"ok\",\"unread\":0}" },
		{ "7", 1000, "{\"op\":\"ok\",\"ref\":7,\"unread\":1000}" },
		{ "", -1, "{\"op\":\"ok\",\"unread\":0}" },	/* negative clamps to 0 */
		{ "\"x\"", INT64_MIN, "{\"op\":\"ok\",\"ref\":\"x\",\"unread\":0}" },
		{ "", INT64_MAX, "{\"op\":\"ok\",\"unread\":9223372036854775807}" },
		{ "\"a\\\"b\\u0000\"", 2, "{\"op\":\"ok\",\"ref\":\"a\\\"b\\u0000\",\"unread\":2}" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[EDGE_FRAME_MAX];

		CHECK(is_frame(buf, edge_frame_ok_unread(buf, cases[i].ref, cases[i].unread), cases[i].want));
	}
}

static void test_ok_mute(void)
{
	static const struct {
		const char *ref, *mute, *want;
	} cases[] = {
		{ "\"s\"", "[\"remind:liked\",\"announcement\"]",
		  "{\"op\":\"ok\",\"ref\":\"s\",\"mute\":[\"remind:liked\",\"announcement\"]}" },
		{ "", "[]", "{\"op\":\"ok\",\"mute\":[]}" },
		{ "12", "[\"mailbox\"]", "{\"op\":\"ok\",\"ref\":12,\"mute\":[\"mailbox\"]}" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct textbuf b = { 0 };

		edge_frame_ok_mute(&b, cases[i].ref, cases[i].mute, strlen(cases[i].mute));
		CHECK(tb_is(&b, cases[i].want));
		textbuf_free(&b);
	}
	/* only mute_len bytes of mute are taken; appended to what the buffer holds */
	{
		struct textbuf b = { 0 };
		static const char mute[] = "[\"remind\"]garbage";

		textbuf_puts(&b, "X");
		edge_frame_ok_mute(&b, "", mute, 10);
		CHECK_STR(b.p, "X{\"op\":\"ok\",\"mute\":[\"remind\"]}");
		textbuf_free(&b);
	}
	/* a long mute list (100 entries of 64-character actions) does not fit EDGE_FRAME_MAX: it
	 * still comes out whole */
	{
		struct textbuf m = { 0 }, b = { 0 };

		textbuf_puts(&m, "[");
		for (int i = 0; i < 100; i++)
			textbuf_printf(&m, "%s\"remind:%s\"", i ? "," : "", ID64);
		textbuf_puts(&m, "]");
		edge_frame_ok_mute(&b, "\"r\"", m.p, m.len);
		CHECK(!b.oom && b.len == strlen("{\"op\":\"ok\",\"ref\":\"r\",\"mute\":}") + m.len);
		CHECK(b.len > EDGE_FRAME_MAX);
		CHECK(b.p && valid_json(b.p, b.len));
		textbuf_free(&m);
		textbuf_free(&b);
	}
}

/* edge_frame_notify into a buffer of exactly len + EDGE_FRAME_NOTIFY_EXTRA bytes (ASan checks). */
static int notify_exact(const char *json, size_t len, bool read, char **out)
{
	*out = malloc(len + EDGE_FRAME_NOTIFY_EXTRA);
	if (!*out)
		return -2;
	return edge_frame_notify(*out, json, len, read);
}

static void test_notify(void)
{
	static const struct {
		const char *json;
		size_t len;
		bool read;
		const char *want;	/* NULL: -1 */
	} cases[] = {
		{ T("{\"id\":\"n1\",\"ts\":5,\"kind\":\"announcement\"}"), false,
		  "{\"op\":\"notify\",\"read\":false,\"id\":\"n1\",\"ts\":5,\"kind\":\"announcement\"}" },
		{ T("{\"id\":\"n1\",\"ts\":5,\"kind\":\"announcement\"}"), true,
		  "{\"op\":\"notify\",\"read\":true,\"id\":\"n1\",\"ts\":5,\"kind\":\"announcement\"}" },
		{ T("{\"a\":{\"b\":[1,{}]}}"), false, "{\"op\":\"notify\",\"read\":false,\"a\":{\"b\":[1,{}]}}" },
		{ T("{ \"a\" : 1 }"), true, "{\"op\":\"notify\",\"read\":true, \"a\" : 1 }" },
		/* the empty object: no comma */
		{ T("{}"), false, "{\"op\":\"notify\",\"read\":false}" },
		{ T("{}"), true, "{\"op\":\"notify\",\"read\":true}" },
		/* not an object's text */
		{ T(""), false, NULL },
		{ T("{"), false, NULL },
		{ T("}"), false, NULL },
		{ T("[1]"), false, NULL },
		{ T("[]"), true, NULL },
		{ T("\"{}\""), false, NULL },
		{ T("12"), false, NULL },
		{ T("null"), false, NULL },
		{ T(" {}"), false, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		int n = notify_exact(cases[i].json, cases[i].len, cases[i].read, &out);

		CHECK(out != NULL);
		if (!out)
			continue;
		if (!cases[i].want) {
			if (n != -1)
				fprintf(stderr, "notify case %zu (%s): %d, want -1\n", i, cases[i].json, n);
			CHECK(n == -1);
		} else {
			bool ok = n == (int)strlen(cases[i].want) && !memcmp(out, cases[i].want, (size_t)n);

			if (!ok)
				fprintf(stderr, "notify case %zu: got %.*s\n", i, n > 0 ? n : 0, out);
			CHECK(ok);
			CHECK(n <= (int)(cases[i].len + EDGE_FRAME_NOTIFY_EXTRA));
			CHECK(n > 0 && valid_json(out, (size_t)n));
		}
		free(out);
	}
	/* the bound holds for a big stored notification too */
	{
		size_t len = 70000;
		char *json = malloc(len), *out = NULL;
		int n;

		CHECK(json != NULL);
		if (json) {
			memcpy(json, "{\"title\":\"", 10);
			memset(json + 10, 'x', len - 12);
			memcpy(json + len - 2, "\"}", 2);
			n = notify_exact(json, len, true, &out);
			CHECK(out && n == (int)(len + strlen("{\"op\":\"notify\",\"read\":true,") - 1));
			CHECK(n <= (int)(len + EDGE_FRAME_NOTIFY_EXTRA));
			CHECK(out && n > 0 && valid_json(out, (size_t)n));
			free(out);
			free(json);
		}
	}
	/* "{ }" is an empty object too: no comma after "read" (a bug found here: it once wrote
	 * {"op":"notify","read":false, }) */
	{
		char *out = NULL;
		int n = notify_exact(T("{ }"), false, &out);

		CHECK(out != NULL);
		if (out)
			CHECK(n == 28 && !memcmp(out, "{\"op\":\"notify\",\"read\":false}", 28));
		free(out);
	}
}

static void test_backlog(void)
{
	static const struct {
		int count;
		bool more;
		const char *want;
	} cases[] = {
		{ 0, false, "{\"op\":\"backlog\",\"count\":0,\"more\":false}" },
		{ 3, true, "{\"op\":\"backlog\",\"count\":3,\"more\":true}" },
		{ 1000, false, "{\"op\":\"backlog\",\"count\":1000,\"more\":false}" },
		{ 2147483647, true, "{\"op\":\"backlog\",\"count\":2147483647,\"more\":true}" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[EDGE_FRAME_MAX];

		CHECK(is_frame(buf, edge_frame_backlog(buf, cases[i].count, cases[i].more), cases[i].want));
	}
}

static void test_resync(void)
{
	char buf[EDGE_FRAME_MAX];

	CHECK(is_frame(buf, edge_frame_resync(buf, "failover", 1796495906755, 1796495908759, 2),
		       "{\"op\":\"resync\",\"reason\":\"failover\",\"since\":1796495906755,\"ts\":1796495908759,\"unread\":2}"));
	CHECK(is_frame(buf, edge_frame_resync(buf, "session_lost", 1, 2, -1),
		       "{\"op\":\"resync\",\"reason\":\"session_lost\",\"since\":1,\"ts\":2,\"unread\":null}"));
	CHECK(is_frame(buf, edge_frame_resync(buf, "failover", 0, 0, 0),
		       "{\"op\":\"resync\",\"reason\":\"failover\",\"since\":0,\"ts\":0,\"unread\":0}"));
}

static void test_inbox_page(void)
{
	static const struct {
		const char *json;
		bool read;
	} items[] = {
		{ "{\"id\":\"n3\",\"ts\":3,\"kind\":\"mailbox\",\"actor\":\"bob\"}", false },
		{ "{\"id\":\"n2\",\"ts\":2,\"kind\":\"announcement\",\"data\":{\"x\":[1]}}", true },
		{ "{}", false },
		{ "{\"id\":\"n1\",\"ts\":1,\"kind\":\"remind\",\"action\":\"liked\",\"object_type\":\"post\","
		  "\"object_id\":\"p \\\"1\\\"\",\"title\":\"caf\xc3\xa9\"}", true },
	};
	static const struct {
		const char *ref;
		int n_items;
		int64_t unread;
		bool more;
		const char *want;
	} pages[] = {
		{ "\"p\"", 0, 0, false, "{\"op\":\"inbox\",\"ref\":\"p\",\"items\":[],\"unread\":0,\"more\":false}" },
		{ "", 0, -5, true, "{\"op\":\"inbox\",\"items\":[],\"unread\":0,\"more\":true}" },
		{ "1", 1, 3, true,
		  "{\"op\":\"inbox\",\"ref\":1,\"items\":[{\"read\":false,\"id\":\"n3\",\"ts\":3,\"kind\":\"mailbox\","
		  "\"actor\":\"bob\"}],\"unread\":3,\"more\":true}" },
		{ "", 4, 2, false,
		  "{\"op\":\"inbox\",\"items\":[{\"read\":false,\"id\":\"n3\",\"ts\":3,\"kind\":\"mailbox\",\"actor\":\"bob\"},"
		  "{\"read\":true,\"id\":\"n2\",\"ts\":2,\"kind\":\"announcement\",\"data\":{\"x\":[1]}},"
		  "{\"read\":false},"
		  "{\"read\":true,\"id\":\"n1\",\"ts\":1,\"kind\":\"remind\",\"action\":\"liked\",\"object_type\":\"post\","
		  "\"object_id\":\"p \\\"1\\\"\",\"title\":\"caf\xc3\xa9\"}],\"unread\":2,\"more\":false}" },
		{ "\"q\"", 2, INT64_MAX, false,
		  "{\"op\":\"inbox\",\"ref\":\"q\",\"items\":[{\"read\":false,\"id\":\"n3\",\"ts\":3,\"kind\":\"mailbox\","
		  "\"actor\":\"bob\"},{\"read\":true,\"id\":\"n2\",\"ts\":2,\"kind\":\"announcement\",\"data\":{\"x\":[1]}}],"
		  "\"unread\":9223372036854775807,\"more\":false}" },
	};

	for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
		struct textbuf b = { 0 };

		edge_frame_inbox_begin(&b, pages[p].ref);
		for (int i = 0; i < pages[p].n_items; i++)
			edge_frame_inbox_item(&b, i == 0, items[i].json, strlen(items[i].json), items[i].read);
		edge_frame_inbox_end(&b, pages[p].unread, pages[p].more);
		CHECK(tb_is(&b, pages[p].want));
		textbuf_free(&b);
	}
	/* an item that is not an object's text is skipped (nothing appended) */
	{
		struct textbuf b = { 0 };
		size_t before;

		edge_frame_inbox_begin(&b, "");
		edge_frame_inbox_item(&b, true, T("{\"id\":\"a\"}"), false);
		before = b.len;
		edge_frame_inbox_item(&b, false, T("[1]"), false);
		edge_frame_inbox_item(&b, false, T(""), true);
		edge_frame_inbox_item(&b, false, T("{"), true);
		CHECK(b.len == before);
		edge_frame_inbox_end(&b, 1, false);
		CHECK(tb_is(&b, "{\"op\":\"inbox\",\"items\":[{\"read\":false,\"id\":\"a\"}],\"unread\":1,\"more\":false}"));
		textbuf_free(&b);
	}
	/* an empty object with whitespace: still valid JSON (the same bug as in edge_frame_notify) */
	{
		struct textbuf b = { 0 };

		edge_frame_inbox_begin(&b, "");
		edge_frame_inbox_item(&b, true, T("{ }"), false);
		edge_frame_inbox_end(&b, 0, false);
		CHECK(tb_is(&b, "{\"op\":\"inbox\",\"items\":[{\"read\":false}],\"unread\":0,\"more\":false}"));
		textbuf_free(&b);
	}
	/* a big page grows the buffer and stays valid */
	{
		struct textbuf b = { 0 };

		edge_frame_inbox_begin(&b, "\"big\"");
		for (int i = 0; i < 2000; i++)
			edge_frame_inbox_item(&b, i == 0, items[i % 4].json, strlen(items[i % 4].json), i & 1);
		edge_frame_inbox_end(&b, 2000, true);
		CHECK(!b.oom && b.p && b.len == strlen(b.p) && b.len > 100000);
		CHECK(b.p && valid_json(b.p, b.len));
		textbuf_free(&b);
	}
}

static void test_read_events(void)
{
	static const char *const ids[] = { "n1", "h0123456789abcdef0123456789abcdef", ID100 };
	static const struct {
		size_t n;
		const char *want;
	} cases[] = {
		{ 0, "{\"op\":\"read\",\"ids\":[]}" },
		{ 1, "{\"op\":\"read\",\"ids\":[\"n1\"]}" },
		{ 3, "{\"op\":\"read\",\"ids\":[\"n1\",\"h0123456789abcdef0123456789abcdef\",\"" ID100 "\"]}" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct textbuf b = { 0 };

		edge_frame_read_ids(&b, ids, cases[i].n);
		CHECK(tb_is(&b, cases[i].want));
		textbuf_free(&b);
	}
	/* 256 ids of 100 characters: far more than EDGE_FRAME_MAX, still whole */
	{
		const char *many[256];
		struct textbuf b = { 0 };

		for (int i = 0; i < 256; i++)
			many[i] = ID100;
		edge_frame_read_ids(&b, many, 256);
		CHECK(!b.oom && b.len == strlen("{\"op\":\"read\",\"ids\":[]}") + 256 * 102 + 255);
		CHECK(b.p && valid_json(b.p, b.len));
		textbuf_free(&b);
	}

	char buf[EDGE_FRAME_MAX];

	CHECK(is_frame(buf, edge_frame_read_all(buf, 1700000000000LL), "{\"op\":\"read\",\"all\":true,\"ts\":1700000000000}"));
	CHECK(is_frame(buf, edge_frame_read_all(buf, 0), "{\"op\":\"read\",\"all\":true,\"ts\":0}"));
	CHECK(is_frame(buf, edge_frame_read_all(buf, INT64_MAX), "{\"op\":\"read\",\"all\":true,\"ts\":9223372036854775807}"));
}

/* ---- delivery size: an upper bound for every shape, checked in an exactly sized buffer ---- */

static size_t size_checks, max_slack;

static void check_delivery(const struct delivery *d)
{
	size_t size = edge_frame_delivery_size(d), len;
	char *out = malloc(size + 1);

	CHECK(out != NULL);
	if (!out)
		return;
	out[size] = '\x5a';	/* a canary right after the bound (ASan also guards the heap) */
	len = edge_frame_delivery(out, d);
	if (len > size)
		fprintf(stderr, "delivery of %zu bytes, size bound %zu (op %s, kind %d, data_len %zu)\n", len, size, d->op,
			d->kind, d->data_len);
	CHECK(len <= size);
	CHECK(out[size] == '\x5a');
	CHECK(valid_json(out, len));
	size_checks++;
	if (size - len > max_slack)
		max_slack = size - len;
	free(out);
}

static void test_delivery_size(void)
{
	static const struct {
		const char *op, *key;
	} ops[] = { { "msg", "room" }, { "msg", "to" }, { "telemetry", "device" }, { "cmd", "device" } };
	static const int64_t tss[] = { 0, 7, 1700000000000LL, INT64_MAX, -1, INT64_MIN };
	static const char *const targets[] = { "r", ID64 };
	static const char *const ids[] = { "i", "e1.k2.3z", ID100 };
	static const char *const froms[] = { NULL, "a", ID64 };
	unsigned char all[256], text[512];
	char ctl[300];

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	/* text with every byte that needs escaping, and UTF-8 */
	{
		size_t n = 0;

		for (int c = 1; c < 0x20; c++)
			text[n++] = (unsigned char)c;
		static const char utf8[] = "\"\\/ caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";

		memcpy(text + n, utf8, sizeof(utf8) - 1);
		n += sizeof(utf8) - 1;
		text[n] = '\0';
	}
	memset(ctl, '\x01', sizeof(ctl));

	const struct {
		enum payload_kind kind;
		enum data_enc enc;
		const char *data;
		size_t len;
	} payloads[] = {
		{ PAYLOAD_JSON, ENC_NONE, T("{\"a\":[1,2,{\"b\":null}]}") },
		{ PAYLOAD_JSON, ENC_NONE, T("0") },
		{ PAYLOAD_ENVELOPE, ENC_NONE, T("\"s\"") },
		{ PAYLOAD_ENVELOPE, ENC_TEXT, T("\"plain\"") },
		{ PAYLOAD_ENVELOPE, ENC_BASE64, T("\"/wAB\"") },
		{ PAYLOAD_TEXT, ENC_TEXT, "", 0 },
		{ PAYLOAD_TEXT, ENC_TEXT, (const char *)text, strlen((const char *)text) },
		{ PAYLOAD_TEXT, ENC_TEXT, ctl, sizeof(ctl) },
		{ PAYLOAD_TEXT, ENC_TEXT, T("a\0b") },
		{ PAYLOAD_BINARY, ENC_BASE64, "", 0 },
		{ PAYLOAD_BINARY, ENC_BASE64, (const char *)all, 1 },
		{ PAYLOAD_BINARY, ENC_BASE64, (const char *)all, 2 },
		{ PAYLOAD_BINARY, ENC_BASE64, (const char *)all, 3 },
		{ PAYLOAD_BINARY, ENC_BASE64, (const char *)all, 4 },
		{ PAYLOAD_BINARY, ENC_BASE64, (const char *)all, 256 },
	};

	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
		for (size_t t = 0; t < sizeof(tss) / sizeof(tss[0]); t++)
			for (size_t g = 0; g < 2; g++)
				for (size_t i = 0; i < 3; i++)
					for (size_t f = 0; f < 3; f++)
						for (size_t p = 0; p < sizeof(payloads) / sizeof(payloads[0]); p++) {
							struct delivery d = {
								.op = ops[o].op, .key = ops[o].key,
								.target = targets[g], .target_len = strlen(targets[g]),
								.id = ids[i], .id_len = strlen(ids[i]), .ts = tss[t],
								.from = froms[f], .from_len = froms[f] ? strlen(froms[f]) : 0,
								.kind = payloads[p].kind, .enc = payloads[p].enc,
								.data = payloads[p].data, .data_len = payloads[p].len,
							};

							check_delivery(&d);
						}
	CHECK(size_checks == 4 * 6 * 2 * 3 * 3 * 15);
	/* a bound, not a wild guess: the slack is the fixed parts' headroom only */
	CHECK(max_slack <= 64);

	/* the exact text of the extremes */
	{
		struct delivery d = {
			.op = "cmd", .key = "device", .target = "d", .target_len = 1, .id = "i", .id_len = 1,
			.ts = INT64_MIN, .from = NULL, .kind = PAYLOAD_BINARY, .enc = ENC_BASE64,
			.data = (const char *)all, .data_len = 2,
		};
		size_t size = edge_frame_delivery_size(&d);
		char *out = malloc(size);
		const char *want = "{\"op\":\"cmd\",\"id\":\"i\",\"device\":\"d\",\"ts\":-9223372036854775808,"
				   "\"enc\":\"base64\",\"data\":\"AAE=\"}";

		CHECK(out != NULL);
		if (out) {
			size_t len = edge_frame_delivery(out, &d);

			CHECK(len == strlen(want) && !memcmp(out, want, len));
			free(out);
		}
	}
}

/* ---- api_body.c ---- */

/* api_body_error into a buffer of exactly API_BODY_ERROR_MAX bytes. */
static bool error_is(const char *code, const char *message, const char *want)
{
	char *buf = malloc(API_BODY_ERROR_MAX);
	int n;
	bool ok;

	if (!buf)
		return false;
	n = api_body_error(buf, code, message);
	ok = n > 0 && n < API_BODY_ERROR_MAX && (size_t)n == strlen(buf) && !strcmp(buf, want) && valid_json(buf, (size_t)n);
	if (!ok)
		fprintf(stderr, "api_body_error: got (%d) %s\nwant %s\n", n, buf, want);
	free(buf);
	return ok;
}

static void test_api_error(void)
{
	char msg[400], want[API_BODY_ERROR_MAX];

	CHECK(error_is("bad_json", "the body is not one JSON value",
		       "{\"error\":\"bad_json\",\"message\":\"the body is not one JSON value\"}"));
	CHECK(error_is("bad_request", "", "{\"error\":\"bad_request\",\"message\":\"\"}"));
	CHECK(error_is("bad_request", "q \" b \\ n \n t \t r \r ctl \x01\x1f caf\xc3\xa9 / end",
		       "{\"error\":\"bad_request\",\"message\":\"q \\\" b \\\\ n \\n t \\t r \\r ctl \\u0001\\u001f "
		       "caf\xc3\xa9 / end\"}"));

	/* cut at 200 bytes */
	static const struct {
		int a;			/* 'a' bytes first */
		const char *tail;	/* then this */
		int keep_a;		/* the message keeps this many 'a' */
		const char *keep_tail;	/* and this much of the tail */
	} cuts[] = {
		{ 200, "", 200, "" },
		{ 201, "", 200, "" },
		{ 250, "", 200, "" },
		{ 199, "b", 199, "b" },
		{ 199, "bc", 199, "b" },
		/* never inside a UTF-8 sequence: 2, 3 and 4 bytes across byte 200 */
		{ 199, "\xc3\xa9", 199, "" },
		{ 198, "\xc3\xa9", 198, "\xc3\xa9" },
		{ 200, "\xc3\xa9", 200, "" },
		{ 198, "\xe2\x82\xac", 198, "" },
		{ 199, "\xe2\x82\xac", 199, "" },
		{ 197, "\xe2\x82\xac", 197, "\xe2\x82\xac" },
		{ 197, "\xf0\x9f\x98\x80", 197, "" },
		{ 196, "\xf0\x9f\x98\x80", 196, "\xf0\x9f\x98\x80" },
		{ 198, "\xf0\x9f\x98\x80", 198, "" },
		{ 199, "\xf0\x9f\x98\x80", 199, "" },
	};

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		int n = 0;

		memset(msg, 'a', (size_t)cuts[i].a);
		snprintf(msg + cuts[i].a, sizeof(msg) - (size_t)cuts[i].a, "%s", cuts[i].tail);
		n = snprintf(want, sizeof(want), "{\"error\":\"forbidden\",\"message\":\"");
		memset(want + n, 'a', (size_t)cuts[i].keep_a);
		snprintf(want + n + cuts[i].keep_a, sizeof(want) - (size_t)(n + cuts[i].keep_a), "%s\"}", cuts[i].keep_tail);
		if (!error_is("forbidden", msg, want))
			fprintf(stderr, "cut case %zu\n", i);
		CHECK(error_is("forbidden", msg, want));
	}
	/* 200 quotes: each escaped to 2 bytes, 402 + 33 still fits */
	memset(msg, '"', 200);
	msg[200] = '\0';
	{
		int n = snprintf(want, sizeof(want), "{\"error\":\"bad_request\",\"message\":\"");

		for (int i = 0; i < 200; i++) {
			want[n++] = '\\';
			want[n++] = '"';
		}
		snprintf(want + n, sizeof(want) - (size_t)n, "\"}");
		CHECK(error_is("bad_request", msg, want));
	}
	/*
	 * Control characters escape to 6 bytes: 79 still fit next to {"error":"bad_request",...}
	 * (33 + 79 * 6 + 2 + 1 = 510 bytes, 511 with the NUL); of 80 or more, the first 79 are kept
	 * (the message was once dropped whole instead) - still valid JSON within API_BODY_ERROR_MAX.
	 */
	memset(msg, '\x01', 79);
	msg[79] = '\0';
	{
		int n = snprintf(want, sizeof(want), "{\"error\":\"bad_request\",\"message\":\"");

		for (int i = 0; i < 79; i++)
			n += snprintf(want + n, sizeof(want) - (size_t)n, "\\u0001");
		snprintf(want + n, sizeof(want) - (size_t)n, "\"}");
		CHECK(strlen(want) == 510);
		CHECK(error_is("bad_request", msg, want));
	}
	memset(msg, '\x01', 80);
	msg[80] = '\0';
	CHECK(error_is("bad_request", msg, want));	/* cut to the 79 that fit */
	/* the last byte: 69 control characters and 61 letters make 511 bytes and the NUL (fits),
	 * one letter more would need 513 */
	memset(msg, '\x01', 69);
	memset(msg + 69, 'a', 61);
	msg[130] = '\0';
	{
		int n = snprintf(want, sizeof(want), "{\"error\":\"bad_request\",\"message\":\"");

		for (int i = 0; i < 69; i++)
			n += snprintf(want + n, sizeof(want) - (size_t)n, "\\u0001");
		n += snprintf(want + n, sizeof(want) - (size_t)n, "%.61s\"}", msg + 69);
		CHECK(n == API_BODY_ERROR_MAX - 1);
		CHECK(error_is("bad_request", msg, want));
	}
	msg[130] = 'a';
	msg[131] = '\0';
	CHECK(error_is("bad_request", msg, want));	/* the 131st byte is cut */
	memset(msg, '\x1f', 200);
	msg[200] = '\0';
	{
		int n = snprintf(want, sizeof(want), "{\"error\":\"bad_request\",\"message\":\"");

		for (int i = 0; i < 79; i++)
			n += snprintf(want + n, sizeof(want) - (size_t)n, "\\u001f");
		snprintf(want + n, sizeof(want) - (size_t)n, "\"}");
		CHECK(error_is("bad_request", msg, want));
	}
	memset(msg, '\n', 300);
	msg[300] = '\0';
	{
		/* 200 newlines: 400 + 33 fits */
		int n = snprintf(want, sizeof(want), "{\"error\":\"bad_request\",\"message\":\"");

		for (int i = 0; i < 200; i++)
			n += snprintf(want + n, sizeof(want) - (size_t)n, "\\n");
		snprintf(want + n, sizeof(want) - (size_t)n, "\"}");
		CHECK(error_is("bad_request", msg, want));
	}
}

static void test_api_ids_and_status(void)
{
	static const char *const ids[] = { "e1.k2.0", "given-1", ID100 };
	struct textbuf b = { 0 };
	char buf[256];
	int n;

	api_body_ids(&b, ids, 0);
	CHECK(tb_is(&b, "{\"ids\":[]}"));
	textbuf_free(&b);
	api_body_ids(&b, ids, 1);
	CHECK(tb_is(&b, "{\"ids\":[\"e1.k2.0\"]}"));
	textbuf_free(&b);
	api_body_ids(&b, ids, 3);
	CHECK(tb_is(&b, "{\"ids\":[\"e1.k2.0\",\"given-1\",\"" ID100 "\"]}"));
	textbuf_free(&b);

	n = api_body_status(buf, sizeof(buf), "edge-1", "online", 1700000000000LL, 1699999999000LL, "0.1.0");
	CHECK(is_frame(buf, n, "{\"edge\":\"edge-1\",\"status\":\"online\",\"ts\":1700000000000,\"boot\":1699999999000,"
			    "\"version\":\"0.1.0\"}"));
	n = api_body_status(buf, sizeof(buf), ID64, "offline", 0, 0, "");
	CHECK(is_frame(buf, n, "{\"edge\":\"" ID64 "\",\"status\":\"offline\",\"ts\":0,\"boot\":0,\"version\":\"\"}"));
	/* and back: edge, online, boot (ts for an edge that does not send boot) */
	{
		char edge[TOPICS_ID_MAX + 1];
		bool online = false;
		int64_t boot = -1;

		n = api_body_status(buf, sizeof(buf), "edge-1", "online", 5, 3, "v");
		CHECK(api_body_status_parse(buf, (size_t)n, edge, &online, &boot) == 0 && online && boot == 3 &&
		      !strcmp(edge, "edge-1"));
		CHECK(api_body_status_parse(T("{\"edge\":\"e2\",\"status\":\"offline\",\"ts\":7}"), edge, &online, &boot) == 0 &&
		      !online && boot == 7 && !strcmp(edge, "e2"));
		CHECK(api_body_status_parse(T("{\"edge\":\"e/2\",\"status\":\"online\",\"ts\":7}"), edge, &online, &boot) < 0);
		CHECK(api_body_status_parse(T("{\"edge\":\"e2\",\"status\":\"online\"}"), edge, &online, &boot) < 0);
		CHECK(api_body_status_parse(T("[]"), edge, &online, &boot) < 0);
	}
	/* a buffer too small: snprintf's contract - NUL-terminated within cap, the full length returned */
	n = api_body_status(buf, 10, "edge-1", "online", 1, 1, "v");
	CHECK(n == (int)strlen("{\"edge\":\"edge-1\",\"status\":\"online\",\"ts\":1,\"boot\":1,\"version\":\"v\"}"));
	CHECK(strlen(buf) == 9);
}

int main(void)
{
	test_ok_unread();
	test_ok_mute();
	test_notify();
	test_backlog();
	test_resync();
	test_inbox_page();
	test_read_events();
	test_delivery_size();
	test_api_error();
	test_api_ids_and_status();
	return CHECK_DONE();
}
