/*
 * test_server_api.c - the server API's bodies (wire/server_api.c), the JSON string decoder they use
 * (wire/jsontext.c) and the status with connections (wire/api_body.c): table-driven, codes pinned.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "mqedge/wire/api_body.h"
#include "mqedge/wire/server_api.h"

#define T(s) s, sizeof(s) - 1

struct bad_case {
	const char *body;
	const char *code;
};

static void test_publish(void)
{
	struct server_api_publish p;
	struct server_api_error err;
	static const struct bad_case bad[] = {
		{ "{\"room\":", "bad_json" },
		{ "{\"room\":\"a\",\"data\":1} x", "bad_json" },
		{ "", "bad_json" },
		{ "[]", "bad_request" },
		{ "{\"data\":1}", "bad_request" },
		{ "{\"room\":\"a\"}", "bad_request" },
		{ "{\"room\":\"a\",\"user\":\"b\",\"data\":1}", "bad_request" },
		{ "{\"room\":\"a\",\"data\":1,\"x\":1}", "bad_request" },
		{ "{\"room\":\"a\",\"room\":\"b\",\"data\":1}", "bad_request" },
		{ "{\"room\":5,\"data\":1}", "bad_request" },
		{ "{\"room\":\"a\",\"data\":1,\"id\":7}", "bad_request" },
		{ "{\"room\":\"a/b\",\"data\":1}", "invalid_id" },
		{ "{\"user\":\"+\",\"data\":1}", "invalid_id" },
		{ "{\"device\":\"#\",\"data\":1}", "invalid_id" },
		{ "{\"room\":\"\",\"data\":1}", "invalid_id" },
		{ "{\"room\":\"\\u0061\",\"data\":1}", "invalid_id" },
		{ "{\"room\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"data\":1}", "invalid_id" },
		{ "{\"room\":\"a\",\"data\":1,\"from\":\"x y\"}", "invalid_id" },
		{ "{\"room\":\"a\",\"data\":1,\"id\":\"a#\"}", "invalid_id" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.code = NULL;
		CHECK(server_api_parse_publish(bad[i].body, strlen(bad[i].body), &p, &err) == -EINVAL);
		CHECK_STR(err.code, bad[i].code);
	}
	CHECK(server_api_parse_publish(T("{\"room\":\"lobby\",\"data\":{\"a\":[1,2]},\"from\":\"svc\"}"), &p, &err) == 0);
	CHECK(p.target == SERVER_API_ROOM);
	CHECK_STR(p.to, "lobby");
	CHECK_STR(p.from, "svc");
	CHECK_STR(p.id, "");
	CHECK(p.data.len == 11 && !memcmp(p.data.p, "{\"a\":[1,2]}", 11));
	/* a 100-character message id is fine (room ids stop at 64) */
	CHECK(server_api_parse_publish(T("{\"device\":\"d1\",\"data\":null,\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"),
				       &p, &err) == 0);
	CHECK(p.target == SERVER_API_DEVICE && strlen(p.id) == 100);
	CHECK(server_api_parse_publish(T(" {\"user\":\"bob\",\"data\":\"x\"} "), &p, &err) == 0 && p.target == SERVER_API_USER);
}

static void test_broadcast(void)
{
	static struct server_api_broadcast b;
	struct server_api_error err;
	char body[4096];
	int n;

	CHECK(server_api_parse_broadcast(T("{\"rooms\":[\"a\",\"b\",\"c\"],\"data\":1,\"id\":\"x.1\"}"), &b, &err) == 0);
	CHECK(b.n_rooms == 3);
	CHECK_STR(b.rooms[2], "c");
	CHECK_STR(b.id, "x.1");
	CHECK(server_api_parse_broadcast(T("{\"rooms\":[],\"data\":1}"), &b, &err) == -EINVAL);
	CHECK_STR(err.code, "bad_request");
	CHECK(server_api_parse_broadcast(T("{\"rooms\":[\"a\",\"a\"],\"data\":1}"), &b, &err) == -EINVAL);
	CHECK_STR(err.code, "bad_request");
	CHECK(server_api_parse_broadcast(T("{\"rooms\":[\"a\",\"b/c\"],\"data\":1}"), &b, &err) == -EINVAL);
	CHECK_STR(err.code, "invalid_id");
	CHECK(server_api_parse_broadcast(T("{\"rooms\":\"a\",\"data\":1}"), &b, &err) == -EINVAL);
	CHECK_STR(err.code, "bad_request");
	CHECK(server_api_parse_broadcast(T("{\"rooms\":[\"a\"]}"), &b, &err) == -EINVAL);
	CHECK_STR(err.code, "bad_request");
	/* 100 rooms pass, 101 do not */
	n = snprintf(body, sizeof(body), "{\"data\":1,\"rooms\":[");
	for (int i = 0; i < 101; i++) {
		n += snprintf(body + n, sizeof(body) - (size_t)n, "%s\"r%d\"", i ? "," : "", i);
		if (i == 99) {
			CHECK(server_api_parse_broadcast(body, (size_t)n, &b, &err) == -EINVAL);	/* unclosed */
			CHECK_STR(err.code, "bad_json");
			snprintf(body + n, sizeof(body) - (size_t)n, "]}");
			CHECK(server_api_parse_broadcast(body, (size_t)n + 2, &b, &err) == 0 && b.n_rooms == 100);
		}
	}
	n += snprintf(body + n, sizeof(body) - (size_t)n, "]}");
	CHECK(server_api_parse_broadcast(body, (size_t)n, &b, &err) == -EINVAL);
	CHECK_STR(err.code, "bad_request");
}

static void test_disconnect(void)
{
	struct server_api_disconnect d;
	struct server_api_error err;
	static const char *const bad[] = {
		"{}", "{\"user\":\"u\",\"code\":3999}", "{\"user\":\"u\",\"code\":5000}", "{\"user\":\"u\",\"code\":\"4000\"}",
		"{\"user\":\"u\",\"code\":4000.5}", "{\"user\":\"u\",\"reason\":7}", "{\"user\":\"u\",\"reason\":\"\\u0000\"}",
		"{\"user\":\"u\",\"reason\":\"\\ud800\"}", "{\"user\":\"u\",\"refuse_tokens_before\":-1}",
		"{\"user\":\"u\",\"refuse_tokens_before\":\"later\"}", "{\"user\":\"u\",\"refuse_tokens_before\":1.5}",
		"{\"user\":\"u\",\"refuse_tokens_before\":9007199254740992}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.code = NULL;
		CHECK(server_api_parse_disconnect(bad[i], strlen(bad[i]), &d, &err) == -EINVAL);
		CHECK_STR(err.code, "bad_request");
	}
	CHECK(server_api_parse_disconnect(T("{\"user\":\"a b\"}"), &d, &err) == -EINVAL);
	CHECK_STR(err.code, "invalid_id");
	CHECK(server_api_parse_disconnect(T("{\"user\":\"carol\"}"), &d, &err) == 0);
	CHECK(d.code == 4003 && d.revoke == SERVER_API_REVOKE_NONE);
	CHECK_STR(d.reason, "disconnected by the server");
	CHECK(server_api_parse_disconnect(T("{\"user\":\"c\",\"code\":4999,\"reason\":\"ban \\u270b \\ud83d\\ude00 \\\"q\\\"\","
					    "\"refuse_tokens_before\":\"now\"}"), &d, &err) == 0);
	CHECK(d.code == 4999 && d.revoke == SERVER_API_REVOKE_NOW);
	CHECK_STR(d.reason, "ban \xe2\x9c\x8b \xf0\x9f\x98\x80 \"q\"");
	CHECK(server_api_parse_disconnect(T("{\"user\":\"c\",\"refuse_tokens_before\":0}"), &d, &err) == 0 &&
	      d.revoke == SERVER_API_REVOKE_LIFT);
	CHECK(server_api_parse_disconnect(T("{\"user\":\"c\",\"refuse_tokens_before\":1700000000}"), &d, &err) == 0 &&
	      d.revoke == SERVER_API_REVOKE_AT && d.before == 1700000000);
	/* 120 bytes of reason pass (60 two-byte characters), 121 do not */
	{
		char body[512], reason[SERVER_API_REASON_MAX + 1];
		int n = snprintf(body, sizeof(body), "{\"user\":\"u\",\"reason\":\"");
		uint16_t code;
		char msg[SERVER_API_DISCONNECT_MSG_MAX];
		int m;

		for (int i = 0; i < 60; i++)
			n += snprintf(body + n, sizeof(body) - (size_t)n, "\xc3\xa9");
		CHECK(snprintf(body + n, sizeof(body) - (size_t)n, "\"}") == 2);
		CHECK(server_api_parse_disconnect(body, strlen(body), &d, &err) == 0 && strlen(d.reason) == 120);
		snprintf(body + n, sizeof(body) - (size_t)n, "x\"}");
		CHECK(server_api_parse_disconnect(body, strlen(body), &d, &err) == -EINVAL);
		/* the message between edges carries it whole */
		CHECK(server_api_parse_disconnect(T("{\"user\":\"c\",\"reason\":\"a\\\"b\\n\\u00e9\"}"), &d, &err) == 0);
		m = server_api_disconnect_msg(msg, 4010, d.reason, 5);
		CHECK_STR(msg, "{\"code\":4010,\"reason\":\"a\\\"b\\n\xc3\xa9\",\"ts\":5}");
		CHECK(server_api_disconnect_msg_parse(msg, (size_t)m, &code, reason) == 0 && code == 4010);
		CHECK_STR(reason, "a\"b\n\xc3\xa9");
		CHECK(server_api_disconnect_msg_parse(T("{\"code\":1000,\"reason\":\"x\"}"), &code, reason) == -EINVAL);
		CHECK(server_api_disconnect_msg_parse(T("{\"code\":4001}"), &code, reason) == 0);
		CHECK_STR(reason, "disconnected by the server");
		CHECK(server_api_disconnect_msg_parse(T("nope"), &code, reason) == -EINVAL);
	}
}

static void test_answers(void)
{
	char buf[SERVER_API_PUBLISHED_MAX], msg[SERVER_API_REVOKE_MSG_MAX];
	struct server_api_result r[] = { { "a", "e1.x.1", NULL }, { "b", "e1.x.2", "unavailable" } };
	struct server_api_edge edges[] = { { "e1", "0.1.0", 3, 1000, 2000 }, { "e2", "", -1, 5000, 5000 } };
	struct textbuf b = { 0 };
	int64_t before;

	server_api_published(buf, "e1.x.1", 42);
	CHECK_STR(buf, "{\"id\":\"e1.x.1\",\"ts\":42}");
	server_api_broadcast_body(&b, r, 1, 7, NULL, NULL);
	CHECK_STR(b.p, "{\"results\":[{\"room\":\"a\",\"id\":\"e1.x.1\"}],\"ts\":7}");
	textbuf_free(&b);
	server_api_broadcast_body(&b, r, 2, 7, "unavailable", "some \"failed\"");
	CHECK_STR(b.p, "{\"error\":\"unavailable\",\"message\":\"some \\\"failed\\\"\",\"results\":[{\"room\":\"a\",\"id\":\"e1.x.1\"},"
		       "{\"room\":\"b\",\"error\":\"unavailable\"}],\"ts\":7}");
	textbuf_free(&b);
	server_api_disconnect_body(&b, "carol", 2, true, 0, 9);
	CHECK_STR(b.p, "{\"user\":\"carol\",\"closed_here\":2,\"refuse_tokens_before\":0,\"ts\":9}");
	textbuf_free(&b);
	server_api_info_body(&b, edges, 2, 11000);
	CHECK_STR(b.p, "{\"edges\":[{\"edge\":\"e1\",\"version\":\"0.1.0\",\"connections\":3,\"boot\":1000,\"uptime_s\":10,\"ts\":2000},"
		       "{\"edge\":\"e2\",\"version\":\"\",\"connections\":null,\"boot\":5000,\"uptime_s\":6,\"ts\":5000}],\"ts\":11000}");
	textbuf_free(&b);
	server_api_revoke_msg(msg, 1700000000, 3);
	CHECK(server_api_revoke_msg_parse(msg, strlen(msg), &before) == 0 && before == 1700000000);
	CHECK(server_api_revoke_msg_parse(T("{\"before\":-1}"), &before) == -EINVAL);
	CHECK(server_api_revoke_msg_parse(T("{}"), &before) == -EINVAL);
}

static void test_status(void)
{
	char buf[256];
	struct api_status st;
	int n = api_body_status_conns(buf, sizeof(buf), "e1", "online", 10, 5, "0.1.0", 7);

	CHECK_STR(buf, "{\"edge\":\"e1\",\"status\":\"online\",\"ts\":10,\"boot\":5,\"version\":\"0.1.0\",\"connections\":7}");
	CHECK(api_body_status_read(buf, (size_t)n, &st) == 0 && st.online && st.connections == 7 && st.boot == 5 && st.ts == 10);
	CHECK_STR(st.version, "0.1.0");
	/* an older edge's status: no connections, no boot */
	CHECK(api_body_status_read(T("{\"edge\":\"e2\",\"status\":\"online\",\"ts\":3,\"version\":\"0.0.9\"}"), &st) == 0 &&
	      st.connections == -1 && st.boot == 3);
	CHECK(api_body_status_read(T("{\"edge\":\"e2\",\"status\":\"offline\",\"boot\":3,\"connections\":\"x\"}"), &st) == 0 &&
	      !st.online && st.connections == -1 && st.ts == -1);
	CHECK(api_body_status_read(T("{\"edge\":\"e/2\",\"status\":\"online\",\"ts\":3}"), &st) == -EINVAL);
	CHECK(api_body_status_read(T("{\"edge\":\"e2\",\"status\":\"online\"}"), &st) == -EINVAL);
}

int main(void)
{
	test_publish();
	test_broadcast();
	test_disconnect();
	test_answers();
	test_status();
	return CHECK_DONE();
}
