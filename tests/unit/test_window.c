/*
 * test_window.c - a history room's window and its positions (edge/fanout/window.c), the window
 * exchange between edges (edge/wire/history_sync.c), and the client fields that name positions
 * (sub's since, the history op) in edge/wire/client_frame.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/fanout/window.h"
#include "mqedge/wire/client_frame.h"
#include "mqedge/wire/history_sync.h"

static void push_text(struct window *w, const char *text, int64_t ms)
{
	struct frame *f = frame_from_text(text, strlen(text));

	window_push(w, f, ms);
	if (f)
		frame_unref(f);
}

static void push_n(struct window *w, int from, int to, int64_t ms)
{
	for (int i = from; i <= to; i++) {
		char s[32];

		snprintf(s, sizeof(s), "m%d", i);
		push_text(w, s, ms);
	}
}

static bool entry_is(const struct window *w, uint32_t i, const char *text)
{
	const struct frame *f = window_at(w, i)->frame;

	return f->len == strlen(text) && !memcmp(f->buf + FRAME_HEADROOM, text, f->len);
}

static enum window_verdict resume_at(const struct window *w, const char *epoch, uint64_t offset, uint32_t *from)
{
	return window_resume(w, epoch, strlen(epoch), offset, from);
}

static void test_positions_and_eviction(void)
{
	struct window w;
	uint32_t from = 99;

	CHECK(window_init(&w, 5, 0) == 0);
	CHECK(!w.ready);
	CHECK(resume_at(&w, "0000000000000000", 0, &from) == WINDOW_EPOCH);	/* not ready: nothing is complete */
	window_new_epoch(&w);
	CHECK(w.ready);
	CHECK(strlen(w.epoch) == WINDOW_EPOCH_LEN);
	CHECK(w.last == 0 && w.count == 0);
	CHECK(window_next_offset(&w) == 1);
	/* an empty epoch: offset 0 is complete with nothing to replay */
	CHECK(resume_at(&w, w.epoch, 0, &from) == WINDOW_OK && from == 0);
	CHECK(resume_at(&w, w.epoch, 1, &from) == WINDOW_AHEAD);

	push_n(&w, 1, 3, 0);
	CHECK(w.last == 3 && w.count == 3 && window_first_offset(&w) == 1);
	CHECK(resume_at(&w, w.epoch, 0, &from) == WINDOW_OK && from == 0);
	CHECK(resume_at(&w, w.epoch, 2, &from) == WINDOW_OK && from == 2 && entry_is(&w, from, "m3"));
	CHECK(resume_at(&w, w.epoch, 3, &from) == WINDOW_OK && from == 3);	/* up to date */
	CHECK(resume_at(&w, w.epoch, 4, &from) == WINDOW_AHEAD);

	/* 5 more into a window of 5: offsets 4..8 are held, 1..3 left */
	push_n(&w, 4, 8, 0);
	CHECK(w.last == 8 && w.count == 5 && window_first_offset(&w) == 4);
	CHECK(entry_is(&w, 0, "m4") && entry_is(&w, 4, "m8"));
	CHECK(resume_at(&w, w.epoch, 2, &from) == WINDOW_TOO_OLD);	/* 3 is gone */
	CHECK(resume_at(&w, w.epoch, 3, &from) == WINDOW_OK && from == 0);	/* 4.. all held */
	CHECK(resume_at(&w, w.epoch, 7, &from) == WINDOW_OK && from == 4 && entry_is(&w, from, "m8"));

	/* other epochs, garbage and a prefix of ours are all "another stream" */
	CHECK(resume_at(&w, "ffffffffffffffff", 7, &from) == WINDOW_EPOCH);
	CHECK(resume_at(&w, "garbage", 7, &from) == WINDOW_EPOCH);
	{
		char prefix[WINDOW_EPOCH_LEN];

		memcpy(prefix, w.epoch, WINDOW_EPOCH_LEN - 1);
		prefix[WINDOW_EPOCH_LEN - 1] = '\0';
		CHECK(resume_at(&w, prefix, 7, &from) == WINDOW_EPOCH);
	}

	/* a new epoch forgets everything, and differs */
	{
		char old[WINDOW_EPOCH_LEN + 1];

		memcpy(old, w.epoch, sizeof(old));
		window_new_epoch(&w);
		CHECK(strcmp(old, w.epoch) != 0);
		CHECK(w.last == 0 && w.count == 0 && w.bytes == 0);
		CHECK(resume_at(&w, old, 8, &from) == WINDOW_EPOCH);
	}
	window_fini(&w);
}

static void test_gap_and_ttl(void)
{
	struct window w;
	uint32_t from;

	CHECK(window_init(&w, 100, 1000) == 0);
	window_new_epoch(&w);
	push_n(&w, 1, 4, 10);
	/* a message that could not be kept: it still takes its offset, and nothing before it may be
	 * replayed as complete */
	window_push(&w, NULL, 20);
	CHECK(w.last == 5 && w.count == 0);
	CHECK(resume_at(&w, w.epoch, 3, &from) == WINDOW_TOO_OLD);
	CHECK(resume_at(&w, w.epoch, 5, &from) == WINDOW_OK && from == 0);
	push_n(&w, 6, 7, 500);
	CHECK(resume_at(&w, w.epoch, 5, &from) == WINDOW_OK && from == 0 && w.count == 2);

	/* ttl 1000 ms: at 1600 the one from 500 is 1100 ms old */
	push_n(&w, 8, 8, 1200);
	window_expire(&w, 1400);
	CHECK(w.count == 3);
	window_expire(&w, 1600);
	CHECK(w.count == 1 && window_first_offset(&w) == 8);
	CHECK(resume_at(&w, w.epoch, 6, &from) == WINDOW_TOO_OLD);
	CHECK(resume_at(&w, w.epoch, 7, &from) == WINDOW_OK && from == 0);
	window_fini(&w);
}

static void test_adopt_and_defer(void)
{
	struct window w;
	struct window_deferred *d;
	uint32_t from;
	int n = 0;

	CHECK(window_init(&w, 10, 0) == 0);
	CHECK(window_defer(&w, "a", 1, 1) == 0);
	CHECK(window_defer(&w, "bb", 2, 2) == 0);
	CHECK(w.n_deferred == 2);
	/* another edge's window: epoch E, newest at 42, 3 messages held (40..42) */
	CHECK(window_adopt(&w, "0123456789abcdef", 16, 42, 3) == 0);
	CHECK(w.ready && w.last == 39);
	push_n(&w, 40, 42, 0);
	CHECK(w.last == 42 && window_first_offset(&w) == 40);
	CHECK(resume_at(&w, "0123456789abcdef", 39, &from) == WINDOW_OK && from == 0);
	CHECK(resume_at(&w, "0123456789abcdef", 38, &from) == WINDOW_TOO_OLD);
	CHECK(window_next_offset(&w) == 43);
	/* malformed epochs and counts are refused, the window unchanged */
	CHECK(window_adopt(&w, "0123456789ABCDEF", 16, 42, 3) == -EINVAL);
	CHECK(window_adopt(&w, "0123", 4, 42, 3) == -EINVAL);
	CHECK(window_adopt(&w, "0123456789abcdef", 16, 2, 3) == -EINVAL);
	CHECK(w.last == 42 && w.count == 3);
	/* the deferred payloads come back in order, once */
	d = window_take_deferred(&w);
	CHECK(w.n_deferred == 0 && window_take_deferred(&w) == NULL);
	for (struct window_deferred *next; d; d = next, n++) {
		next = d->next;
		CHECK(d->len == (size_t)(n + 1) && d->born_us == n + 1);
		free(d);
	}
	CHECK(n == 2);
	/* freed with the window when still deferred */
	CHECK(window_defer(&w, "c", 1, 3) == 0);
	window_fini(&w);
}

static void test_growth_wraps(void)
{
	struct window w;
	uint32_t from;

	/* a size that is not a power of two, pushed far past it: the ring wraps and grows */
	CHECK(window_init(&w, 37, 0) == 0);
	window_new_epoch(&w);
	push_n(&w, 1, 1000, 0);
	CHECK(w.count == 37 && w.last == 1000 && window_first_offset(&w) == 964);
	CHECK(entry_is(&w, 0, "m964") && entry_is(&w, 36, "m1000"));
	CHECK(resume_at(&w, w.epoch, 963, &from) == WINDOW_OK && from == 0);
	CHECK(resume_at(&w, w.epoch, 962, &from) == WINDOW_TOO_OLD);
	window_fini(&w);
}

static void test_sync_codec(void)
{
	char buf[256];
	struct history_request rq;
	struct history_reply rp;
	struct textbuf b = { 0 };
	const char *text;
	size_t text_len, pos;
	int64_t ms;
	int n = history_sync_request(buf, sizeof(buf), "edge-1", "1a2b");

	CHECK(n == 11 && !memcmp(buf, "edge-1 1a2b", 11));
	CHECK(history_sync_parse_request(buf, (size_t)n, &rq) == 0);
	CHECK(rq.edge_len == 6 && !memcmp(rq.edge, "edge-1", 6) && rq.nonce_len == 4);
	CHECK(history_sync_parse_request("edge-1", 6, &rq) == -1);
	CHECK(history_sync_parse_request("ed/ge 1a", 8, &rq) == -1);
	CHECK(history_sync_parse_request("edge 1A", 7, &rq) == -1);
	CHECK(history_sync_parse_request("edge ", 5, &rq) == -1);

	history_sync_reply_header(&b, "lobby", "1a2b", "0123456789abcdef", 42, 2, "edge-2");
	history_sync_reply_record(&b, 1700000000000, "{\"op\":\"msg\"}\n", 13);	/* a newline inside */
	history_sync_reply_record(&b, 5, "", 0);
	CHECK(!b.oom);
	CHECK(history_sync_parse_reply(b.p, b.len, &rp) == 0);
	CHECK(rp.room_len == 5 && !memcmp(rp.room, "lobby", 5) && rp.last == 42 && rp.count == 2);
	CHECK(rp.epoch_len == 16 && rp.nonce_len == 4);
	CHECK(rp.from_len == 6 && !memcmp(rp.from, "edge-2", 6));
	pos = rp.body;
	CHECK(history_sync_next_record(b.p, b.len, &pos, &ms, &text, &text_len) == 1);
	CHECK(ms == 1700000000000 && text_len == 13 && !memcmp(text, "{\"op\":\"msg\"}\n", 13));
	CHECK(history_sync_next_record(b.p, b.len, &pos, &ms, &text, &text_len) == 1 && ms == 5 && text_len == 0);
	CHECK(history_sync_next_record(b.p, b.len, &pos, &ms, &text, &text_len) == 0);
	/* truncated: the second record is cut off, the first claims more than is there */
	pos = rp.body;
	CHECK(history_sync_next_record(b.p, b.len - 2, &pos, &ms, &text, &text_len) == 1);
	CHECK(history_sync_next_record(b.p, b.len - 2, &pos, &ms, &text, &text_len) == -1);
	pos = rp.body;
	CHECK(history_sync_next_record(b.p, rp.body + 20, &pos, &ms, &text, &text_len) == -1);
	textbuf_free(&b);
	memset(&b, 0, sizeof(b));

	/* "I do not follow this room" */
	history_sync_reply_header(&b, "lobby", "9z", HISTORY_SYNC_NONE, 0, 0, "e3");
	CHECK(!b.oom && history_sync_parse_reply(b.p, b.len, &rp) == 0);
	CHECK(rp.epoch_len == 1 && rp.epoch[0] == '-' && rp.last == 0 && rp.count == 0 && rp.body == b.len);
	textbuf_free(&b);
	memset(&b, 0, sizeof(b));

	/* headers that must be refused */
	{
		static const char *const bad[] = {
			"MQH1 lobby 1a2b 0123456789abcdef 42 2\n",	/* no sender */
			"MQH1 lobby 1a2b 0123456789abcdef 42\n",	/* no count */
			"MQH2 lobby 1a2b 0123456789abcdef 42 2 e\n",
			"MQH1 lo+by 1a2b 0123456789abcdef 42 2 e\n",
			"MQH1 lobby 1a2b 0123456789abcdef 2 3 e\n",	/* more held than ever numbered */
			"MQH1 lobby 1a2b 0123456789abcdef 99999999999999999999999 2 e\n",
			"MQH1 lobby 1a2b 0123456789abcdef 42 2 e/x\n",	/* a sender that is not an id */
			"MQH1 lobby 1a2b 0123456789abcdef 42 2 e",	/* no newline */
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK(history_sync_parse_reply(bad[i], strlen(bad[i]), &rp) == -1);
	}
	{
		const char *rec = "12 x\nab";

		pos = 0;
		CHECK(history_sync_next_record(rec, strlen(rec), &pos, &ms, &text, &text_len) == -1);
	}
}

static int parse(const char *text, struct client_op *op, struct proto_error *err)
{
	return client_frame_parse(text, strlen(text), op, err);
}

static void test_client_fields(void)
{
	struct client_op op;
	struct proto_error err;

	CHECK(parse("{\"op\":\"sub\",\"room\":\"r\",\"since\":{\"epoch\":\"0123456789abcdef\",\"offset\":17}}", &op, &err) == 0);
	CHECK(op.has_since && op.since_offset == 17);
	CHECK_STR(op.since_epoch, "0123456789abcdef");
	CHECK(parse("{\"op\":\"sub\",\"room\":\"r\"}", &op, &err) == 0 && !op.has_since);
	/* any epoch string is taken (an unknown one is answered recovered:false), the shape is not */
	CHECK(parse("{\"op\":\"sub\",\"room\":\"r\",\"since\":{\"offset\":0,\"epoch\":\"x y\"}}", &op, &err) == 0);
	{
		static const char *const bad[] = {
			"{\"op\":\"sub\",\"room\":\"r\",\"since\":{\"epoch\":\"e\"}}",
			"{\"op\":\"sub\",\"room\":\"r\",\"since\":{\"epoch\":5,\"offset\":1}}",
			"{\"op\":\"sub\",\"room\":\"r\",\"since\":{\"epoch\":\"e\",\"offset\":-1}}",
			"{\"op\":\"sub\",\"room\":\"r\",\"since\":{\"epoch\":\"e\",\"offset\":1.5}}",
			"{\"op\":\"sub\",\"room\":\"r\",\"since\":{\"epoch\":\"\",\"offset\":1}}",
			"{\"op\":\"sub\",\"room\":\"r\",\"since\":{\"epoch\":\"0123456789abcdef0123456789abcdef0\",\"offset\":1}}",
			"{\"op\":\"sub\",\"room\":\"r\",\"since\":[1]}",
			"{\"op\":\"sub\",\"device\":\"d\",\"since\":{\"epoch\":\"e\",\"offset\":1}}",
			"{\"op\":\"unsub\",\"room\":\"r\",\"since\":{\"epoch\":\"e\",\"offset\":1}}",
			"{\"op\":\"history\"}",
			"{\"op\":\"history\",\"room\":\"r\",\"limit\":0}",
			"{\"op\":\"history\",\"room\":\"r\",\"limit\":201}",
			"{\"op\":\"history\",\"room\":\"r\",\"before\":0}",
			"{\"op\":\"history\",\"room\":\"r\",\"before\":\"5\"}",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			int rc = parse(bad[i], &op, &err);

			CHECK(rc == -1);
			if (rc == -1)
				CHECK_STR(err.code, "bad_request");
		}
	}
	CHECK(parse("{\"op\":\"history\",\"room\":\"r\"}", &op, &err) == 0);
	CHECK(op.type == OP_HISTORY && op.limit == 50 && op.before_offset == 0);
	CHECK(parse("{\"op\":\"history\",\"room\":\"r\",\"limit\":200,\"before\":9}", &op, &err) == 0);
	CHECK(op.limit == 200 && op.before_offset == 9);
	CHECK(parse("{\"op\":\"history\",\"room\":\"a/b\"}", &op, &err) == -1);
	CHECK_STR(err.code, "invalid_id");
}

int main(void)
{
	test_positions_and_eviction();
	test_gap_and_ttl();
	test_adopt_and_defer();
	test_growth_wraps();
	test_sync_codec();
	test_client_fields();
	frame_pool_drain();
	return CHECK_DONE();
}
