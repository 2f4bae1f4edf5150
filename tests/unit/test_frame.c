/*
 * test_frame.c - WebSocket headers, refcounts and free-list reuse, and the delivery serialiser
 * (edge/fanout/frame.c, edge/wire/edge_frame.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/fanout/frame.h"
#include "mqedge/wire/jsontext.h"

#define T(s) s, sizeof(s) - 1

/* RFC 6455 5.2: FIN|text, then 7-bit length, or 126 + 16-bit, or 127 + 64-bit, big-endian. */
static void test_header(void)
{
	static const struct {
		size_t len;
		uint8_t hdr_len;
		unsigned char hdr[10];
	} cases[] = {
		{ 0, 2, { 0x81, 0 } },
		{ 1, 2, { 0x81, 1 } },
		{ 125, 2, { 0x81, 125 } },
		{ 126, 4, { 0x81, 126, 0x00, 126 } },
		{ 127, 4, { 0x81, 126, 0x00, 127 } },
		{ 256, 4, { 0x81, 126, 0x01, 0x00 } },
		{ 65535, 4, { 0x81, 126, 0xff, 0xff } },
		{ 65536, 10, { 0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00 } },
		{ 70000, 10, { 0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70 } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame *f = frame_alloc(cases[i].len);

		CHECK(f != NULL);
		if (!f)
			continue;
		CHECK(f->cap >= cases[i].len);
		memset(frame_payload(f), 'x', cases[i].len);
		frame_seal(f, cases[i].len);
		CHECK(f->len == cases[i].len);
		CHECK(f->hdr_len == cases[i].hdr_len);
		CHECK(frame_wire(f) == frame_payload(f) - cases[i].hdr_len);
		CHECK(frame_wire_len(f) == cases[i].len + cases[i].hdr_len);
		if (memcmp(frame_wire(f), cases[i].hdr, cases[i].hdr_len))
			fprintf(stderr, "header for length %zu is wrong\n", cases[i].len);
		CHECK(!memcmp(frame_wire(f), cases[i].hdr, cases[i].hdr_len));
		/* resealing a frame at another length rewrites the header */
		if (f->cap >= 3) {
			frame_seal(f, 3);
			CHECK(f->hdr_len == 2 && frame_wire(f)[0] == 0x81 && frame_wire(f)[1] == 3);
		}
		frame_unref(f);
	}
	CHECK(FRAME_HEADROOM >= 10);
}

static void test_from_text(void)
{
	struct frame *f = frame_from_text(T("{\"op\":\"pong\"}"));

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(f->refs == 1);
	CHECK(f->len == 13);
	CHECK(!memcmp(frame_payload(f), "{\"op\":\"pong\"}", 13));
	CHECK(frame_wire_len(f) == 15);
	CHECK(frame_wire(f)[0] == 0x81 && frame_wire(f)[1] == 13);
	frame_unref(f);

	f = frame_from_text("", 0);
	CHECK(f && f->len == 0 && frame_wire_len(f) == 2);
	if (f)
		frame_unref(f);
}

static void test_size_classes(void)
{
	static const struct {
		size_t want;
		uint32_t cap;
		uint8_t cls;
	} cases[] = {
		{ 0, 256, 0 }, { 1, 256, 0 }, { 256, 256, 0 }, { 257, 512, 1 }, { 512, 512, 1 }, { 513, 1024, 2 },
		{ 1024, 1024, 2 }, { 1025, 2048, 3 }, { 2048, 2048, 3 }, { 2049, 4096, 4 }, { 4096, 4096, 4 },
		{ 4097, 8192, 5 }, { 8192, 8192, 5 }, { 8193, 16384, 6 }, { 16384, 16384, 6 },
		{ 16385, 16385, 0xff }, { 100000, 100000, 0xff },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame *f = frame_alloc(cases[i].want);

		CHECK(f != NULL);
		if (!f)
			continue;
		CHECK(f->cap == cases[i].cap);
		CHECK(f->size_class == cases[i].cls);
		CHECK(f->refs == 1 && f->len == 0 && f->hdr_len == 0 && f->born_us == 0);
		/* the whole capacity is writable (ASan checks) */
		memset(frame_payload(f), 'y', f->cap);
		frame_unref(f);
	}
	CHECK(frame_alloc((size_t)UINT32_MAX) == NULL);
}

static void test_refcounts_and_reuse(void)
{
	struct frame *f = frame_alloc(100), *g, *h;

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(f->refs == 1);
	CHECK(frame_ref(f) == f);
	CHECK(frame_ref(f) == f);
	CHECK(f->refs == 3);
	frame_unref(f);
	frame_unref(f);
	CHECK(f->refs == 1);
	f->born_us = 1234;
	frame_seal(f, 50);
	frame_unref(f);	/* back to the 256 free list */

	/* the next frame of the same class is the one just freed, reset */
	g = frame_alloc(200);
	CHECK(g == f);
	if (g) {
		CHECK(g->refs == 1 && g->len == 0 && g->hdr_len == 0 && g->born_us == 0);
		CHECK(g->cap == 256 && g->size_class == 0);
	}
	/* another class does not take it */
	h = frame_alloc(1000);
	CHECK(h != NULL && h != g);
	if (h)
		frame_unref(h);
	if (g)
		frame_unref(g);

	/* LIFO reuse of several frames */
	struct frame *a = frame_alloc(10), *b = frame_alloc(10), *c = frame_alloc(10);

	CHECK(a && b && c && a != b && b != c && a != c);
	if (a && b && c) {
		frame_unref(a);
		frame_unref(b);
		frame_unref(c);
		CHECK(frame_alloc(10) == c);
		CHECK(frame_alloc(10) == b);
		CHECK(frame_alloc(10) == a);
		frame_unref(a);
		frame_unref(b);
		frame_unref(c);
	}

	/* more frames than the free list keeps: the surplus is freed (LeakSanitizer checks) */
	enum { N = 5000 };
	struct frame **many = calloc(N, sizeof(*many));

	if (many) {
		int ok = 0;

		for (int i = 0; i < N; i++)
			ok += (many[i] = frame_alloc(64)) != NULL;
		CHECK(ok == N);
		for (int i = 0; i < N; i++)
			if (many[i])
				frame_unref(many[i]);
		free(many);
	}
	frame_pool_drain();
	/* the pool works again after a drain */
	f = frame_from_text(T("x"));
	CHECK(f && f->len == 1);
	if (f)
		frame_unref(f);
}

/* The top-level members of a delivery frame, collected by jsontext_validate. */
struct members {
	int n;
	char key[12][16];
	const char *value[12];
	size_t value_len[12];
};

static int collect(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value,
		   size_t valuelen)
{
	struct members *m = ctx;

	(void)key_escaped;
	if (m->n >= 12 || keylen >= sizeof(m->key[0]))
		return 9;
	memcpy(m->key[m->n], key, keylen);
	m->key[m->n][keylen] = '\0';
	m->value[m->n] = value;
	m->value_len[m->n] = valuelen;
	m->n++;
	return 0;
}

/* The value of key as text, or NULL. */
static const char *member(const struct members *m, const char *key, size_t *len)
{
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->key[i], key)) {
			*len = m->value_len[i];
			return m->value[i];
		}
	return NULL;
}

static bool member_is(const struct members *m, const char *key, const char *want)
{
	size_t len = 0;
	const char *v = member(m, key, &len);

	if (!v || len != strlen(want) || memcmp(v, want, len)) {
		fprintf(stderr, "member %s: got %.*s, want %s\n", key, v ? (int)len : 6, v ? v : "absent", want);
		return false;
	}
	return true;
}

/* Builds d, checks the frame is sealed valid JSON, and fills m with its members. */
static struct frame *build(const struct delivery *d, struct members *m)
{
	struct frame *f = frame_build_delivery(d);
	bool obj = false;
	const char *v;
	size_t vlen;

	memset(m, 0, sizeof(*m));
	CHECK(f != NULL);
	if (!f)
		return NULL;
	CHECK(f->refs == 1);
	CHECK(f->len <= f->cap);
	CHECK(frame_wire(f)[0] == 0x81);
	CHECK(frame_wire_len(f) == f->hdr_len + (size_t)f->len);
	CHECK(utf8_valid(frame_payload(f), f->len));
	CHECK(jsontext_validate((const char *)frame_payload(f), f->len, &obj, &v, &vlen, collect, m) == 0);
	CHECK(obj);
	return f;
}

static void test_delivery_exact(void)
{
	struct delivery d = {
		.op = "msg", .key = "room", .target = "lobby", .target_len = 5,
		.id = "e1.k.1", .id_len = 6, .ts = 1700000000000LL, .from = "alice", .from_len = 5,
		.kind = PAYLOAD_JSON, .data = "{\"x\":1}", .data_len = 7,
	};
	struct members m;
	struct frame *f = build(&d, &m);
	const char *want = "{\"op\":\"msg\",\"id\":\"e1.k.1\",\"room\":\"lobby\",\"from\":\"alice\","
			   "\"ts\":1700000000000,\"data\":{\"x\":1}}";

	if (f) {
		CHECK(f->len == strlen(want));
		CHECK(!memcmp(frame_payload(f), want, strlen(want)));
		frame_unref(f);
	}
	d.from = NULL;
	d.from_len = 0;
	d.op = "telemetry";
	d.key = "device";
	d.target = "dev-1";
	d.data = "21.5";
	d.data_len = 4;
	want = "{\"op\":\"telemetry\",\"id\":\"e1.k.1\",\"device\":\"dev-1\",\"ts\":1700000000000,\"data\":21.5}";
	f = build(&d, &m);
	if (f) {
		CHECK(f->len == strlen(want));
		CHECK(!memcmp(frame_payload(f), want, strlen(want)));
		frame_unref(f);
	}
}

static void test_delivery_shapes(void)
{
	static const struct {
		const char *op, *key, *target, *from;
	} shapes[] = {
		{ "msg", "room", "lobby", "alice" },
		{ "msg", "room", "lobby", NULL },
		{ "msg", "to", "bob", "alice" },
		{ "telemetry", "device", "dev-1", NULL },
		{ "cmd", "device", "dev-1", "alice" },
		{ "cmd", "device", "dev-1", NULL },
	};
	static const unsigned char bytes[] = { 0xff, 0x00, 0x01, 0x80, 0xfe };
	static const struct {
		enum payload_kind kind;
		enum data_enc enc;
		const char *data;
		size_t data_len;
		const char *want_data, *want_enc;	/* want_enc NULL: no enc member */
	} payloads[] = {
		{ PAYLOAD_JSON, ENC_NONE, T("{\"a\":[1,2,{\"b\":null}]}"), "{\"a\":[1,2,{\"b\":null}]}", NULL },
		{ PAYLOAD_JSON, ENC_NONE, T("\"str\""), "\"str\"", NULL },
		{ PAYLOAD_ENVELOPE, ENC_NONE, T("[true,false]"), "[true,false]", NULL },
		{ PAYLOAD_ENVELOPE, ENC_TEXT, T("\"plain text\""), "\"plain text\"", "\"text\"" },
		{ PAYLOAD_ENVELOPE, ENC_BASE64, T("\"/wAB\""), "\"/wAB\"", "\"base64\"" },
		{ PAYLOAD_TEXT, ENC_TEXT, T("he said \"hi\"\n\tand \\ left \x01 caf\xc3\xa9"),
		  "\"he said \\\"hi\\\"\\n\\tand \\\\ left \\u0001 caf\xc3\xa9\"", "\"text\"" },
		{ PAYLOAD_TEXT, ENC_TEXT, T(""), "\"\"", "\"text\"" },
		{ PAYLOAD_TEXT, ENC_TEXT, T("a\0b"), "\"a\\u0000b\"", "\"text\"" },
		{ PAYLOAD_BINARY, ENC_BASE64, (const char *)bytes, sizeof(bytes), "\"/wABgP4=\"", "\"base64\"" },
		{ PAYLOAD_BINARY, ENC_BASE64, T("foobar"), "\"Zm9vYmFy\"", "\"base64\"" },
		{ PAYLOAD_BINARY, ENC_BASE64, T(""), "\"\"", "\"base64\"" },
	};

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		for (size_t p = 0; p < sizeof(payloads) / sizeof(payloads[0]); p++) {
			struct delivery d = {
				.op = shapes[s].op, .key = shapes[s].key, .target = shapes[s].target,
				.target_len = strlen(shapes[s].target), .id = "edge-1.a.zz", .id_len = 11,
				.ts = 42, .from = shapes[s].from,
				.from_len = shapes[s].from ? strlen(shapes[s].from) : 0,
				.kind = payloads[p].kind, .enc = payloads[p].enc, .data = payloads[p].data,
				.data_len = payloads[p].data_len,
			};
			struct members m;
			struct frame *f = build(&d, &m);
			char q[80];
			size_t len;

			if (!f)
				continue;
			snprintf(q, sizeof(q), "\"%s\"", shapes[s].op);
			CHECK(member_is(&m, "op", q));
			CHECK(member_is(&m, "id", "\"edge-1.a.zz\""));
			snprintf(q, sizeof(q), "\"%s\"", shapes[s].target);
			CHECK(member_is(&m, shapes[s].key, q));
			CHECK(member_is(&m, "ts", "42"));
			if (shapes[s].from) {
				snprintf(q, sizeof(q), "\"%s\"", shapes[s].from);
				CHECK(member_is(&m, "from", q));
			} else {
				CHECK(member(&m, "from", &len) == NULL);
			}
			if (payloads[p].want_enc)
				CHECK(member_is(&m, "enc", payloads[p].want_enc));
			else
				CHECK(member(&m, "enc", &len) == NULL);
			CHECK(member_is(&m, "data", payloads[p].want_data));
			CHECK(m.n == 5 + (shapes[s].from != NULL) + (payloads[p].want_enc != NULL));
			frame_unref(f);
		}
	}
}

/* Worst cases for the capacity estimate: long ids, every byte escaped, all 256 byte values. */
static void test_delivery_sizes(void)
{
	char target[65], from[65], id[101];
	size_t big = 70000;
	char *text = malloc(big);
	unsigned char all[256];
	struct members m;
	struct frame *f;

	memset(target, 't', 64);
	target[64] = '\0';
	memset(from, 'f', 64);
	from[64] = '\0';
	memset(id, 'i', 100);
	id[100] = '\0';
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	if (!text) {
		CHECK(text != NULL);
		return;
	}
	memset(text, '\x01', big);	/* each byte becomes \u0001: six times larger */

	struct delivery d = {
		.op = "telemetry", .key = "device", .target = target, .target_len = 64, .id = id,
		.id_len = 100, .ts = INT64_MAX, .from = from, .from_len = 64, .kind = PAYLOAD_TEXT,
		.enc = ENC_TEXT, .data = text, .data_len = big,
	};

	f = build(&d, &m);
	if (f) {
		size_t len = 0;
		const char *v = member(&m, "data", &len);

		CHECK(v && len == big * 6 + 2);
		CHECK(f->hdr_len == 10);
		CHECK(member_is(&m, "ts", "9223372036854775807"));
		frame_unref(f);
	}
	d.kind = PAYLOAD_BINARY;
	d.enc = ENC_BASE64;
	d.data = (const char *)all;
	d.data_len = sizeof(all);
	d.ts = 0;
	f = build(&d, &m);
	if (f) {
		size_t len = 0;

		CHECK(member(&m, "data", &len) && len == base64_len(256) + 2);
		CHECK(member_is(&m, "enc", "\"base64\""));
		frame_unref(f);
	}
	/* tiny frames around the 125/126 header boundary */
	for (size_t n = 60; n < 140; n++) {
		memset(text, 'a', n);
		d.kind = PAYLOAD_TEXT;
		d.enc = ENC_TEXT;
		d.data = text;
		d.data_len = n;
		d.from = NULL;
		d.from_len = 0;
		d.target_len = 1;
		d.id_len = 1;
		f = build(&d, &m);
		if (f) {
			CHECK(f->hdr_len == (f->len < 126 ? 2 : 4));
			frame_unref(f);
		}
	}
	free(text);
}

int main(void)
{
	test_header();
	test_from_text();
	test_size_classes();
	test_refcounts_and_reuse();
	test_delivery_exact();
	test_delivery_shapes();
	test_delivery_sizes();
	frame_pool_drain();
	return CHECK_DONE();
}
