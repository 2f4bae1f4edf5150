/*
 * test_client_frame.c - client frame parsing (every op, every error path, ref echo) and the
 * control frames the edge writes back (edge/wire/client_frame.c, edge/wire/edge_frame.c).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/wire/jsontext.h"
#include "mqedge/wire/client_frame.h"
#include "mqedge/wire/edge_frame.h"

#define T(s) s, sizeof(s) - 1

#define ID64 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
#define REF64 "1234567890123456789012345678901234567890123456789012345678901234"

static bool span_is(const char *p, size_t len, const char *want)
{
	return p && len == strlen(want) && !memcmp(p, want, len);
}

static void test_ops(void)
{
	static const struct {
		const char *text;
		enum op_type type;
		enum op_target target;
		const char *id, *ref, *data, *token;	/* NULL data/token: absent */
	} cases[] = {
		{ "{\"op\":\"sub\",\"room\":\"lobby\",\"ref\":1}", OP_SUB, TARGET_ROOM, "lobby", "1", NULL, NULL },
		{ "{\"op\":\"sub\",\"device\":\"dev-1\"}", OP_SUB, TARGET_DEVICE, "dev-1", "", NULL, NULL },
		{ "{\"room\":\"team-a:chat\",\"op\":\"sub\",\"ref\":\"r1\"}", OP_SUB, TARGET_ROOM, "team-a:chat",
		  "\"r1\"", NULL, NULL },
		{ "{\"op\":\"unsub\",\"room\":\"lobby\"}", OP_UNSUB, TARGET_ROOM, "lobby", "", NULL, NULL },
		{ "{\"op\":\"unsub\",\"device\":\"d\",\"ref\":-2.5e3}", OP_UNSUB, TARGET_DEVICE, "d", "-2.5e3", NULL,
		  NULL },
		{ "{\"op\":\"pub\",\"room\":\"r\",\"data\":{\"x\":[1,2]},\"ref\":\"a\"}", OP_PUB, TARGET_ROOM, "r",
		  "\"a\"", "{\"x\":[1,2]}", NULL },
		{ "{\"op\":\"pub\",\"room\":\"" ID64 "\",\"data\":null}", OP_PUB, TARGET_ROOM, ID64, "", "null", NULL },
		{ "{\"op\":\"send\",\"to\":\"bob@example.com\",\"data\":\"hi\"}", OP_SEND, TARGET_NONE,
		  "bob@example.com", "", "\"hi\"", NULL },
		{ "{\"op\":\"cmd\",\"device\":\"d.1\",\"data\":[1],\"ref\":0}", OP_CMD, TARGET_DEVICE, "d.1", "0",
		  "[1]", NULL },
		{ "{\"op\":\"ping\",\"ref\":\"p\"}", OP_PING, TARGET_NONE, "", "\"p\"", NULL, NULL },
		{ "{\"op\":\"ping\"}", OP_PING, TARGET_NONE, "", "", NULL, NULL },
		{ "{\"op\":\"refresh\",\"token\":\"aaa.bbb.ccc\",\"ref\":3}", OP_REFRESH, TARGET_NONE, "", "3", NULL,
		  "aaa.bbb.ccc" },
		{ "{\"op\":\"telemetry\",\"data\":21.5}", OP_TELEMETRY, TARGET_NONE, "", "", "21.5", NULL },
		{ " \n{ \"op\" : \"pub\" , \"room\" : \"r\" , \"data\" : \"caf\xc3\xa9\" , \"extra\" : {\"room\":5} } \t",
		  OP_PUB, TARGET_ROOM, "r", "", "\"caf\xc3\xa9\"", NULL },
		/* escaped keys are nobody's field: the plain one counts */
		{ "{\"op\":\"sub\",\"r\\u006fom\":\"x/y\",\"room\":\"ok\"}", OP_SUB, TARGET_ROOM, "ok", "", NULL, NULL },
		{ "{\"op\":\"sub\",\"ref\":\"" REF64 "\",\"room\":\"a\"}", OP_SUB, TARGET_ROOM, "a", "\"" REF64 "\"",
		  NULL, NULL },
		{ "{\"op\":\"ping\",\"ref\":\"a\\\"b\\u00e9\"}", OP_PING, TARGET_NONE, "", "\"a\\\"b\\u00e9\"", NULL,
		  NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct client_op op;
		struct proto_error err = { 0 };
		int rc = client_frame_parse(cases[i].text, strlen(cases[i].text), &op, &err);

		if (rc != 0)
			fprintf(stderr, "op case %zu (%s): %s %s\n", i, cases[i].text, err.code, err.message);
		CHECK(rc == 0);
		if (rc)
			continue;
		CHECK(op.type == cases[i].type);
		CHECK(op.target == cases[i].target);
		CHECK_STR(op.id, cases[i].id);
		CHECK_STR(op.ref, cases[i].ref);
		if (cases[i].data)
			CHECK(span_is(op.data, op.data_len, cases[i].data));
		else
			CHECK(op.data == NULL);
		if (cases[i].token)
			CHECK(span_is(op.token, op.token_len, cases[i].token));
		else
			CHECK(op.token == NULL);
		/* spans point into the frame */
		if (op.data)
			CHECK(op.data > cases[i].text && op.data + op.data_len <= cases[i].text + strlen(cases[i].text));
	}
}

/* The inbox ops: inbox (paging), read (ids or all) and settings (mute). */
static void test_inbox_ops(void)
{
	struct client_op op;
	struct proto_error err;

	CHECK(client_frame_parse(T("{\"op\":\"inbox\"}"), &op, &err) == 0);
	CHECK(op.type == OP_INBOX && op.limit == 0 && op.before[0] == '\0');
	CHECK(client_frame_parse(T("{\"op\":\"inbox\",\"before\":\"n1\",\"limit\":50,\"ref\":1}"), &op, &err) == 0);
	CHECK(op.type == OP_INBOX && op.limit == 50);
	CHECK_STR(op.before, "n1");
	CHECK_STR(op.ref, "1");
	CHECK(client_frame_parse(T("{\"op\":\"inbox\",\"limit\":0}"), &op, &err) == -1);
	CHECK_STR(err.code, "bad_request");
	CHECK(client_frame_parse(T("{\"op\":\"inbox\",\"limit\":1001}"), &op, &err) == -1);
	CHECK(client_frame_parse(T("{\"op\":\"inbox\",\"limit\":\"5\"}"), &op, &err) == -1);
	CHECK(client_frame_parse(T("{\"op\":\"inbox\",\"before\":5}"), &op, &err) == -1);
	CHECK(client_frame_parse(T("{\"op\":\"read\",\"all\":true}"), &op, &err) == 0);
	CHECK(op.type == OP_READ && op.all);
	CHECK(client_frame_parse(T("{\"op\":\"read\",\"ids\":[\"a\",\"b\"]}"), &op, &err) == 0);
	CHECK(op.type == OP_READ && !op.all && span_is(op.ids, op.ids_len, "[\"a\",\"b\"]"));
	CHECK(client_frame_parse(T("{\"op\":\"read\"}"), &op, &err) == -1);
	CHECK_STR(err.code, "bad_request");
	CHECK(client_frame_parse(T("{\"op\":\"read\",\"ids\":\"a\"}"), &op, &err) == -1);
	CHECK(client_frame_parse(T("{\"op\":\"settings\"}"), &op, &err) == 0);
	CHECK(op.type == OP_SETTINGS && op.mute == NULL);
	CHECK(client_frame_parse(T("{\"op\":\"settings\",\"mute\":[\"r\"]}"), &op, &err) == 0);
	CHECK(span_is(op.mute, op.mute_len, "[\"r\"]"));
	CHECK(client_frame_parse(T("{\"op\":\"settings\",\"mute\":1}"), &op, &err) == -1);
}

static void test_errors(void)
{
	static const struct {
		const char *text;
		size_t len;
		const char *code, *ref;
	} cases[] = {
		/* not a JSON object */
		{ T(""), "bad_json", "" },
		{ T("   "), "bad_json", "" },
		{ T("not json"), "bad_json", "" },
		{ T("[1]"), "bad_json", "" },
		{ T("\"op\""), "bad_json", "" },
		{ T("42"), "bad_json", "" },
		{ T("null"), "bad_json", "" },
		{ T("{\"op\":\"ping\""), "bad_json", "" },
		{ T("{\"op\":\"ping\"} x"), "bad_json", "" },
		{ T("{\"op\":\"ping\"}{}"), "bad_json", "" },
		{ T("{\"op\":\"ping\",}"), "bad_json", "" },
		{ T("{\"op\":\"ping\",\"ref\":\"\xff\"}"), "bad_json", "" },
		{ T("{\"op\":\"ping\"}\0"), "bad_json", "" },
		/* op */
		{ T("{}"), "bad_request", "" },
		{ T("{\"ref\":\"r\"}"), "bad_request", "\"r\"" },
		{ T("{\"op\":1,\"ref\":2}"), "bad_request", "2" },
		{ T("{\"op\":null}"), "bad_request", "" },
		{ T("{\"op\":[\"sub\"]}"), "bad_request", "" },
		{ T("{\"op\":{\"x\":1}}"), "bad_request", "" },
		{ T("{\"op\":true}"), "bad_request", "" },
		{ T("{\"op\":\"nope\",\"ref\":\"x\"}"), "unknown_op", "\"x\"" },
		{ T("{\"ref\":\"x\",\"op\":\"SUB\"}"), "unknown_op", "\"x\"" },
		{ T("{\"op\":\"\"}"), "unknown_op", "" },
		{ T("{\"op\":\"sub \"}"), "unknown_op", "" },
		{ T("{\"op\":\"subscribe\"}"), "unknown_op", "" },
		{ T("{\"op\":\"su\"}"), "unknown_op", "" },
		{ T("{\"op\":\"welcome\"}"), "unknown_op", "" },
		{ T("{\"op\":\"ok\"}"), "unknown_op", "" },
		/* sub / unsub */
		{ T("{\"op\":\"sub\",\"ref\":1}"), "bad_request", "1" },
		{ T("{\"op\":\"unsub\"}"), "bad_request", "" },
		{ T("{\"op\":\"sub\",\"room\":\"a\",\"device\":\"b\"}"), "bad_request", "" },
		{ T("{\"op\":\"sub\",\"room\":5,\"ref\":\"n\"}"), "bad_request", "\"n\"" },
		{ T("{\"op\":\"sub\",\"room\":null}"), "bad_request", "" },
		{ T("{\"op\":\"sub\",\"room\":[\"a\"]}"), "bad_request", "" },
		{ T("{\"op\":\"sub\",\"room\":{\"a\":1}}"), "bad_request", "" },
		{ T("{\"op\":\"sub\",\"room\":true}"), "bad_request", "" },
		{ T("{\"op\":\"sub\",\"device\":7}"), "bad_request", "" },
		{ T("{\"op\":\"sub\",\"room\":\"\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"room\":\"a/b\",\"ref\":7}"), "invalid_id", "7" },
		{ T("{\"op\":\"sub\",\"room\":\"a+b\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"room\":\"#\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"room\":\"$SYS\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"room\":\"a b\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"room\":\"" ID64 "x\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"room\":\"caf\xc3\xa9\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"room\":\"\\u0061\"}"), "invalid_id", "" },	/* escapes are refused */
		{ T("{\"op\":\"sub\",\"room\":\"a\\u0000b\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"room\":\"a\\u0000\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"room\":\"a\\/b\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"room\":\"a\\nb\"}"), "invalid_id", "" },
		{ T("{\"op\":\"sub\",\"device\":\"d/+\"}"), "invalid_id", "" },
		{ T("{\"op\":\"unsub\",\"device\":\"\"}"), "invalid_id", "" },
		/* pub */
		{ T("{\"op\":\"pub\",\"data\":1}"), "bad_request", "" },
		{ T("{\"op\":\"pub\",\"room\":\"r\"}"), "bad_request", "" },
		{ T("{\"op\":\"pub\",\"room\":1,\"data\":1}"), "bad_request", "" },
		{ T("{\"op\":\"pub\",\"room\":\"r/#\",\"data\":1,\"ref\":\"q\"}"), "invalid_id", "\"q\"" },
		{ T("{\"op\":\"pub\",\"device\":\"d\",\"data\":1}"), "bad_request", "" },
		/* send */
		{ T("{\"op\":\"send\",\"data\":1}"), "bad_request", "" },
		{ T("{\"op\":\"send\",\"to\":\"bob\"}"), "bad_request", "" },
		{ T("{\"op\":\"send\",\"to\":5,\"data\":1}"), "bad_request", "" },
		{ T("{\"op\":\"send\",\"to\":\"bob smith\",\"data\":1}"), "invalid_id", "" },
		{ T("{\"op\":\"send\",\"to\":\"b\\u006fb\",\"data\":1}"), "invalid_id", "" },
		{ T("{\"op\":\"send\",\"room\":\"bob\",\"data\":1}"), "bad_request", "" },
		/* cmd */
		{ T("{\"op\":\"cmd\",\"data\":1}"), "bad_request", "" },
		{ T("{\"op\":\"cmd\",\"device\":\"d\"}"), "bad_request", "" },
		{ T("{\"op\":\"cmd\",\"device\":[],\"data\":1}"), "bad_request", "" },
		{ T("{\"op\":\"cmd\",\"device\":\"d#\",\"data\":1}"), "invalid_id", "" },
		{ T("{\"op\":\"cmd\",\"room\":\"d\",\"data\":1}"), "bad_request", "" },
		/* telemetry */
		{ T("{\"op\":\"telemetry\"}"), "bad_request", "" },
		/* refresh */
		{ T("{\"op\":\"refresh\"}"), "bad_request", "" },
		{ T("{\"op\":\"refresh\",\"token\":\"\"}"), "bad_request", "" },
		{ T("{\"op\":\"refresh\",\"token\":5}"), "bad_request", "" },
		{ T("{\"op\":\"refresh\",\"token\":null,\"ref\":9}"), "bad_request", "9" },
		/* ref: a string or number of at most 64 characters */
		{ T("{\"op\":\"ping\",\"ref\":true}"), "bad_request", "" },
		{ T("{\"op\":\"ping\",\"ref\":null}"), "bad_request", "" },
		{ T("{\"op\":\"ping\",\"ref\":{\"a\":1}}"), "bad_request", "" },
		{ T("{\"op\":\"ping\",\"ref\":[1]}"), "bad_request", "" },
		{ T("{\"op\":\"ping\",\"ref\":\"" REF64 "x\"}"), "bad_request", "" },
		{ T("{\"op\":\"ping\",\"ref\":" REF64 "1}"), "bad_request", "" },
		{ T("{\"op\":\"ping\",\"ref\":1" REF64 "1}"), "bad_request", "" },
		{ T("{\"op\":\"nope\",\"ref\":false}"), "bad_request", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct client_op op;
		struct proto_error err = { 0 };
		int rc = client_frame_parse(cases[i].text, cases[i].len, &op, &err);

		if (rc != -1 || !err.code || strcmp(err.code, cases[i].code) || strcmp(op.ref, cases[i].ref))
			fprintf(stderr, "error case %zu (%.*s): rc %d code %s ref '%s' (want %s '%s')\n", i,
				(int)cases[i].len, cases[i].text, rc, rc ? err.code : "-", op.ref, cases[i].code,
				cases[i].ref);
		CHECK(rc == -1);
		if (rc != -1)
			continue;
		CHECK_STR(err.code, cases[i].code);
		CHECK_STR(op.ref, cases[i].ref);
		CHECK(err.message[0] != '\0');
		CHECK(utf8_valid((const unsigned char *)err.message, strlen(err.message)));
	}
	/* a number ref of exactly 64 characters is fine */
	struct client_op op;
	struct proto_error err;

	CHECK(client_frame_parse(T("{\"op\":\"ping\",\"ref\":" REF64 "}"), &op, &err) == 0);
	CHECK_STR(op.ref, REF64);
	CHECK(client_frame_parse(T("{\"op\":\"ping\",\"ref\":-" REF64 "}"), &op, &err) == -1);
}

/* The members of a reply, as JSON text. */
struct reply {
	int n;
	char key[16][16];
	char value[16][EDGE_FRAME_MAX];
};

static int collect(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value,
		   size_t valuelen)
{
	struct reply *r = ctx;

	(void)key_escaped;
	if (r->n >= 16 || keylen >= sizeof(r->key[0]) || valuelen >= sizeof(r->value[0]))
		return 5;
	snprintf(r->key[r->n], sizeof(r->key[0]), "%.*s", (int)keylen, key);
	snprintf(r->value[r->n], sizeof(r->value[0]), "%.*s", (int)valuelen, value);
	r->n++;
	return 0;
}

static const char *get(const struct reply *r, const char *key)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->key[i], key))
			return r->value[i];
	return NULL;
}

/* buf holds n bytes of one valid JSON object; its members go to r. */
static bool reply_ok(const char *buf, int n, struct reply *r)
{
	bool obj = false;
	const char *v;
	size_t vlen;

	memset(r, 0, sizeof(*r));
	if (n <= 0 || n >= EDGE_FRAME_MAX || strlen(buf) != (size_t)n) {
		fprintf(stderr, "reply length %d (strlen %zu)\n", n, strlen(buf));
		return false;
	}
	if (jsontext_validate(buf, (size_t)n, &obj, &v, &vlen, collect, r) || !obj) {
		fprintf(stderr, "reply is not a valid JSON object: %s\n", buf);
		return false;
	}
	return true;
}

static void test_writers(void)
{
	char buf[EDGE_FRAME_MAX];
	struct reply r;
	int n;

	n = edge_frame_ok(buf, "");
	CHECK_STR(buf, "{\"op\":\"ok\"}");
	CHECK(reply_ok(buf, n, &r) && r.n == 1);
	n = edge_frame_ok(buf, "\"r1\"");
	CHECK_STR(buf, "{\"op\":\"ok\",\"ref\":\"r1\"}");
	CHECK(reply_ok(buf, n, &r));
	n = edge_frame_ok(buf, "5");
	CHECK(reply_ok(buf, n, &r) && r.n == 2);
	CHECK_STR(get(&r, "ref"), "5");

	n = edge_frame_ok_msg(buf, "\"a\"", "edge-1.k2.3z", 1700000000123LL);
	CHECK(reply_ok(buf, n, &r) && r.n == 4);
	CHECK_STR(get(&r, "op"), "\"ok\"");
	CHECK_STR(get(&r, "ref"), "\"a\"");
	CHECK_STR(get(&r, "id"), "\"edge-1.k2.3z\"");
	CHECK_STR(get(&r, "ts"), "1700000000123");
	n = edge_frame_ok_msg(buf, "", "m", 0);
	CHECK(reply_ok(buf, n, &r) && r.n == 3 && get(&r, "ref") == NULL);

	n = edge_frame_ok_exp(buf, "1", 1700003600);
	CHECK(reply_ok(buf, n, &r));
	CHECK_STR(get(&r, "exp"), "1700003600");
	n = edge_frame_ok_exp(buf, "", 0);
	CHECK(reply_ok(buf, n, &r));
	CHECK_STR(get(&r, "exp"), "null");

	n = edge_frame_error(buf, "\"x\"", "invalid_id", "'room' must be 1-64 characters");
	CHECK(reply_ok(buf, n, &r) && r.n == 4);
	CHECK_STR(get(&r, "op"), "\"error\"");
	CHECK_STR(get(&r, "ref"), "\"x\"");
	CHECK_STR(get(&r, "code"), "\"invalid_id\"");
	CHECK_STR(get(&r, "message"), "\"'room' must be 1-64 characters\"");
	n = edge_frame_error(buf, "", "bad_json", "quote \" backslash \\ newline \n tab \t ctl \x01");
	CHECK(reply_ok(buf, n, &r) && get(&r, "ref") == NULL);
	CHECK_STR(get(&r, "message"), "\"quote \\\" backslash \\\\ newline \\n tab \\t ctl \\u0001\"");

	/* a long message is cut, the frame stays valid */
	char msg[2000];

	memset(msg, '"', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	n = edge_frame_error(buf, "\"" REF64 "\"", "bad_request", msg);
	CHECK(reply_ok(buf, n, &r));
	memset(msg, '\x01', sizeof(msg) - 1);
	n = edge_frame_error(buf, "-" REF64, "bad_request", msg);
	CHECK(reply_ok(buf, n, &r));
	/* ... and never in the middle of a UTF-8 character */
	memset(msg, 'a', 99);
	strcpy(msg + 99, "\xc3\xa9\xc3\xa9");
	n = edge_frame_error(buf, "", "forbidden", msg);
	CHECK(utf8_valid((const unsigned char *)buf, n > 0 ? (size_t)n : 0));
	CHECK(reply_ok(buf, n, &r));

	n = edge_frame_pong(buf, "\"p\"", 42);
	CHECK(reply_ok(buf, n, &r) && r.n == 3);
	CHECK_STR(get(&r, "op"), "\"pong\"");
	CHECK_STR(get(&r, "ref"), "\"p\"");
	CHECK_STR(get(&r, "ts"), "42");
	n = edge_frame_pong(buf, "", 1);
	CHECK_STR(buf, "{\"op\":\"pong\",\"ts\":1}");
	CHECK(n == (int)strlen("{\"op\":\"pong\",\"ts\":1}"));

	struct welcome w = {
		.session = "s-1a2b", .user = "alice", .kind = "user", .edge = "edge-1", .ts = 1700000000000LL,
		.exp = 1700003600, .unread = -1, .max_frame = 65536, .max_rooms = 100, .rate = 100, .burst = 200,
	};

	n = edge_frame_welcome(buf, &w);
	CHECK(reply_ok(buf, n, &r));
	CHECK_STR(get(&r, "op"), "\"welcome\"");
	CHECK_STR(get(&r, "session"), "\"s-1a2b\"");
	CHECK_STR(get(&r, "user"), "\"alice\"");
	CHECK_STR(get(&r, "kind"), "\"user\"");
	CHECK_STR(get(&r, "edge"), "\"edge-1\"");
	CHECK_STR(get(&r, "ts"), "1700000000000");
	CHECK_STR(get(&r, "exp"), "1700003600");
	CHECK_STR(get(&r, "limits"), "{\"max_frame\":65536,\"max_rooms\":100,\"rate\":100,\"burst\":200}");
	w.exp = 0;
	w.kind = "device";
	w.unread = 3;
	n = edge_frame_welcome(buf, &w);
	CHECK(reply_ok(buf, n, &r));
	CHECK_STR(get(&r, "exp"), "null");
	CHECK_STR(get(&r, "kind"), "\"device\"");
	CHECK_STR(get(&r, "unread"), "3");

	/* the biggest welcome: 64-character ids everywhere */
	w.session = w.user = w.edge = ID64;
	w.ts = INT64_MAX;
	w.exp = INT64_MAX;
	w.max_frame = w.max_rooms = w.rate = w.burst = 16L << 20;
	n = edge_frame_welcome(buf, &w);
	CHECK(reply_ok(buf, n, &r));
}

/* What client_frame_parse keeps as ref can be echoed by every writer as valid JSON. */
static void test_ref_echo(void)
{
	static const char *frames[] = {
		"{\"op\":\"nope\",\"ref\":\"a\\\"b\\\\c\\u0000\\n\"}",
		"{\"op\":\"nope\",\"ref\":-0.5e-10}",
		"{\"op\":\"nope\",\"ref\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
		"{\"op\":\"nope\",\"ref\":\"" REF64 "\"}",
		"{\"op\":\"nope\",\"ref\":\"\"}",
		"{\"op\":\"nope\",\"ref\":0}",
	};
	char buf[EDGE_FRAME_MAX];
	struct reply r;

	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		struct client_op op;
		struct proto_error err;

		CHECK(client_frame_parse(frames[i], strlen(frames[i]), &op, &err) == -1);
		CHECK(op.ref[0] != '\0');
		CHECK(reply_ok(buf, edge_frame_error(buf, op.ref, err.code, err.message), &r));
		CHECK_STR(get(&r, "ref"), op.ref);
		CHECK(reply_ok(buf, edge_frame_ok(buf, op.ref), &r));
		CHECK(reply_ok(buf, edge_frame_ok_msg(buf, op.ref, ID64, INT64_MAX), &r));
		CHECK(reply_ok(buf, edge_frame_ok_exp(buf, op.ref, INT64_MAX), &r));
		CHECK(reply_ok(buf, edge_frame_pong(buf, op.ref, INT64_MAX), &r));
	}
}

int main(void)
{
	test_ops();
	test_inbox_ops();
	test_errors();
	test_writers();
	test_ref_echo();
	return CHECK_DONE();
}
