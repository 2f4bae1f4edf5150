/*
 * test_rpc.c - the rpc pieces without a broker: a backend's answer (edge/wire/rpc_reply.c), the
 * rpc op as a client frame, its topics, the answer frames, and per-method timeouts (edge/rpc).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/base/textbuf.h"
#include "mqedge/rpc/rpc.h"
#include "mqedge/wire/client_frame.h"
#include "mqedge/wire/edge_frame.h"
#include "mqedge/wire/rpc_reply.h"
#include "mqedge/wire/topics.h"

#define T(s) s, sizeof(s) - 1

static bool span_is(struct json_span s, const char *want)
{
	return s.len == strlen(want) && !memcmp(s.p, want, s.len);
}

static void test_reply_parse(void)
{
	struct rpc_reply r;
	static const char *const bad[] = {
		"", "null", "1", "[]", "{}", "{\"data\":1,\"error\":{\"code\":\"x\"}}", "{\"data\":1,\"extra\":2}",
		"{\"data\":1,\"data\":2}", "{\"error\":\"x\"}", "{\"error\":{}}", "{\"error\":{\"code\":\"\"}}",
		"{\"error\":{\"code\":\"Bad\"}}", "{\"error\":{\"code\":\"1abc\"}}", "{\"error\":{\"code\":\"a-b\"}}",
		"{\"error\":{\"code\":\"abcdefghijabcdefghijabcdefghijabc\"}}", "{\"error\":{\"code\":\"x\",\"message\":1}}",
		"{\"error\":{\"code\":\"x\",\"other\":1}}", "{\"error\":{\"code\":\"\\u0078\"}}", "{\"data\":1", "{\"data\":\"\xff\"}",
		"{\"d\\u0061ta\":1}",
	};

	CHECK(rpc_reply_parse(T("{\"data\":{\"a\":[1,2]}}"), &r) == 0);
	CHECK(!r.is_error && span_is(r.data, "{\"a\":[1,2]}"));
	CHECK(rpc_reply_parse(T(" {\"data\":null} "), &r) == 0 && span_is(r.data, "null"));
	CHECK(rpc_reply_parse(T("{\"error\":{\"code\":\"out_of_stock\",\"message\":\"sold \\\"out\\\"\"}}"), &r) == 0);
	CHECK(r.is_error && span_is(r.code, "out_of_stock") && span_is(r.message, "\"sold \\\"out\\\"\""));
	CHECK(rpc_reply_parse(T("{\"error\":{\"code\":\"x9_\"}}"), &r) == 0 && span_is(r.message, "\"\""));
	CHECK(rpc_reply_parse(T("{\"error\":{\"code\":\"abcdefghijabcdefghijabcdefghijab\"}}"), &r) == 0);	/* 32 */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = rpc_reply_parse(bad[i], strlen(bad[i]), &r);

		CHECK(rc == -1);
		if (rc != -1)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
	}
	{
		/* a message of 512 bytes of JSON text is taken, 513 is not */
		char buf[700];
		int n = snprintf(buf, sizeof(buf), "{\"error\":{\"code\":\"x\",\"message\":\"%0510d\"}}", 0);

		CHECK(rpc_reply_parse(buf, (size_t)n, &r) == 0 && r.message.len == 512);
		n = snprintf(buf, sizeof(buf), "{\"error\":{\"code\":\"x\",\"message\":\"%0511d\"}}", 0);
		CHECK(rpc_reply_parse(buf, (size_t)n, &r) == -1);
	}
}

static void test_client_frame(void)
{
	struct client_op op;
	struct proto_error err;

	CHECK(client_frame_parse(T("{\"op\":\"rpc\",\"method\":\"orders.get\",\"data\":{\"id\":7},\"ref\":\"a\"}"), &op, &err) == 0);
	CHECK(op.type == OP_RPC);
	CHECK_STR(op.id, "orders.get");
	CHECK_STR(op.ref, "\"a\"");
	CHECK(op.data_len == 8 && !memcmp(op.data, "{\"id\":7}", 8));
	CHECK(client_frame_parse(T("{\"op\":\"rpc\",\"method\":\"whoami\",\"ref\":1}"), &op, &err) == 0);
	CHECK(op.data_len == 4 && !memcmp(op.data, "null", 4));
	CHECK(client_frame_parse(T("{\"op\":\"rpc\",\"method\":\"whoami\"}"), &op, &err) == -1);
	CHECK_STR(err.code, "bad_request");
	CHECK(client_frame_parse(T("{\"op\":\"rpc\",\"ref\":1}"), &op, &err) == -1);
	CHECK_STR(err.code, "bad_request");
	CHECK(client_frame_parse(T("{\"op\":\"rpc\",\"method\":\"a/b\",\"ref\":1}"), &op, &err) == -1);
	CHECK_STR(err.code, "invalid_id");
	CHECK_STR(op.ref, "1");	/* echoed with the error */
	CHECK(client_frame_parse(T("{\"op\":\"rpc\",\"method\":\"#\",\"ref\":1}"), &op, &err) == -1);
	CHECK_STR(err.code, "invalid_id");
	CHECK(client_frame_parse(T("{\"op\":\"rpc\",\"method\":7,\"ref\":1}"), &op, &err) == -1);
	CHECK_STR(err.code, "bad_request");
}

static void test_topics(void)
{
	char buf[TOPICS_TOPIC_MAX];
	const char *id;
	size_t idlen;

	CHECK(topics_build(buf, sizeof(buf), "mqedge/v1", TOPIC_RPC, "orders.get") > 0);
	CHECK_STR(buf, "mqedge/v1/rpc/orders.get");
	CHECK(topics_build(buf, sizeof(buf), "mqedge/v1", TOPIC_RPC_REPLY, "e1") > 0);
	CHECK_STR(buf, "mqedge/v1/edge/e1/rpc");
	CHECK(topics_parse("mqedge/v1", T("mqedge/v1/edge/e1/rpc"), &id, &idlen) == TOPIC_RPC_REPLY && idlen == 2);
	CHECK(topics_parse("mqedge/v1", T("mqedge/v1/rpc/x"), &id, &idlen) == TOPIC_RPC);
	CHECK(topics_parse("mqedge/v1", T("mqedge/v1/rpc/x/y"), &id, &idlen) == TOPIC_NONE);
	CHECK(topics_build(buf, sizeof(buf), "mqedge/v1", TOPIC_RPC, "a+b") == -1);
}

static void test_frames(void)
{
	struct textbuf b = { 0 };

	edge_frame_ok_data(&b, "7", "{\"x\":1}", 7);
	CHECK_STR(b.p, "{\"op\":\"ok\",\"ref\":7,\"data\":{\"x\":1}}");
	b.len = 0;
	edge_frame_error_json(&b, "\"r\"", "nope", 4, T("\"no \\\"way\\\"\""));
	CHECK_STR(b.p, "{\"op\":\"error\",\"ref\":\"r\",\"code\":\"nope\",\"message\":\"no \\\"way\\\"\"}");
	textbuf_free(&b);
}

static void test_timeouts(void)
{
	struct rpc r;
	char err[200];
	struct rpc_options opt = { "mqedge/v1", "e1", 1, 5000, "slow*=30000, report.*=600000,*-fast=100", 16, NULL, NULL };

	CHECK(rpc_init(&r, &opt, NULL, err, sizeof(err)) == 0);
	CHECK(rpc_timeout_of(&r, "slow") == 30000);
	CHECK(rpc_timeout_of(&r, "slower") == 30000);
	CHECK(rpc_timeout_of(&r, "report.daily") == 600000);
	CHECK(rpc_timeout_of(&r, "echo-fast") == 100);
	CHECK(rpc_timeout_of(&r, "echo") == 5000);
	CHECK_STR(r.reply_topic, "mqedge/v1/edge/e1/rpc");
	CHECK(rpc_tick(&r, 1000) == -1);
	rpc_fini(&r);

	opt.timeouts = "";
	CHECK(rpc_init(&r, &opt, NULL, err, sizeof(err)) == 0 && r.n_pats == 0);
	rpc_fini(&r);
}

int main(void)
{
	static const char *const bad_timeouts[] = { "slow", "=5", "slow=", "slow=0", "slow=600001", "slow=5x", "a/b=5", "a+=5" };
	struct rpc r;
	char err[200];

	test_reply_parse();
	test_client_frame();
	test_topics();
	test_frames();
	test_timeouts();
	for (size_t i = 0; i < sizeof(bad_timeouts) / sizeof(bad_timeouts[0]); i++) {
		struct rpc_options opt = { "mqedge/v1", "e1", 1, 5000, bad_timeouts[i], 16, NULL, NULL };

		CHECK(rpc_init(&r, &opt, NULL, err, sizeof(err)) == -EINVAL);
		CHECK(strstr(err, "rpc-timeouts") != NULL);
		rpc_fini(&r);
	}
	{
		struct rpc_options opt = { "mqedge/v1", "e1", 1, 0, "", 16, NULL, NULL };

		CHECK(rpc_init(&r, &opt, NULL, err, sizeof(err)) == -EINVAL);
	}
	return CHECK_DONE();
}
