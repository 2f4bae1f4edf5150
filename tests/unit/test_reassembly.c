/*
 * test_reassembly.c - edge/wire/reassembly.c: messages from pieces, the limit checked before
 * anything is buffered, binary counted but not kept, buffers released after big messages.
 * (tests/fuzz/fuzz_reassembly.c checks the same against a model on arbitrary piece sequences.)
 */
#include <string.h>

#include "check.h"
#include "mqedge/wire/reassembly.h"

static enum reassembly_result feed(struct reassembly *r, const char *data, bool first, bool final, bool binary,
				   size_t remaining, size_t max, const char **msg, size_t *len)
{
	struct reassembly_piece p = {
		.data = data, .len = strlen(data), .first = first, .final = final, .binary = binary,
		.frame_remaining = remaining,
	};

	*msg = NULL;
	*len = 0;
	return reassembly_feed(r, &p, max, msg, len);
}

int main(void)
{
	struct reassembly r = { 0 };
	const char *msg, *one = "{\"op\":\"ping\"}";
	size_t len;
	char big[REASSEMBLY_KEEP_BYTES + 100];

	/* one piece: handed back in place, nothing allocated */
	CHECK(feed(&r, one, true, true, false, 0, 100, &msg, &len) == REASSEMBLY_TEXT);
	CHECK(msg == one && len == strlen(one));
	CHECK(r.buf == NULL);

	/* three frames, the middle one in two reads */
	CHECK(feed(&r, "{\"op\":", true, false, false, 0, 100, &msg, &len) == REASSEMBLY_MORE);
	CHECK(feed(&r, "\"pi", false, false, false, 3, 100, &msg, &len) == REASSEMBLY_MORE);
	CHECK(feed(&r, "ng\"", false, false, false, 0, 100, &msg, &len) == REASSEMBLY_MORE);
	CHECK(feed(&r, "}", false, true, false, 0, 100, &msg, &len) == REASSEMBLY_TEXT);
	CHECK(len == strlen(one) && !memcmp(msg, one, len));
	reassembly_done(&r);
	CHECK(r.len == 0 && r.cap <= REASSEMBLY_KEEP_BYTES);	/* small buffers are kept for the next */

	/* the limit: exactly max passes, one more is refused as soon as the frame header says so */
	CHECK(feed(&r, "12345", true, false, false, 0, 10, &msg, &len) == REASSEMBLY_MORE);
	CHECK(feed(&r, "67890", false, true, false, 0, 10, &msg, &len) == REASSEMBLY_TEXT);
	CHECK(len == 10);
	reassembly_done(&r);
	CHECK(feed(&r, "12345", true, false, false, 0, 10, &msg, &len) == REASSEMBLY_MORE);
	CHECK(feed(&r, "6", false, false, false, 5, 10, &msg, &len) == REASSEMBLY_TOO_BIG);	/* 5 + 1 + 5 */
	CHECK(feed(&r, "x", true, true, false, (size_t)-1, 10, &msg, &len) == REASSEMBLY_TOO_BIG);	/* no wrap */

	/* compressed: the frame's remaining bytes are compressed ones, not counted; the inflated
	 * bytes are, as they arrive (a message of exactly max passes however the reads were cut) */
	{
		struct reassembly_piece z1 = { .data = "12345678", .len = 8, .first = true, .compressed = true, .frame_remaining = 6 };
		struct reassembly_piece z2 = { .data = "90", .len = 2, .final = false, .frame_remaining = 3 };
		struct reassembly_piece z3 = { .data = "", .len = 0, .final = true };
		struct reassembly_piece z4 = { .data = "1", .len = 1, .final = false, .frame_remaining = 1 };

		CHECK(reassembly_feed(&r, &z1, 10, &msg, &len) == REASSEMBLY_MORE);
		CHECK(reassembly_feed(&r, &z2, 10, &msg, &len) == REASSEMBLY_MORE);
		CHECK(reassembly_feed(&r, &z3, 10, &msg, &len) == REASSEMBLY_TEXT);
		CHECK(len == 10 && !memcmp(msg, "1234567890", 10));
		reassembly_done(&r);
		CHECK(reassembly_feed(&r, &z1, 10, &msg, &len) == REASSEMBLY_MORE);
		CHECK(reassembly_feed(&r, &z2, 10, &msg, &len) == REASSEMBLY_MORE);
		CHECK(reassembly_feed(&r, &z4, 10, &msg, &len) == REASSEMBLY_TOO_BIG);	/* inflated 11 */
		/* the next message is not compressed: its frame length counts again */
		CHECK(feed(&r, "12345", true, false, false, 6, 10, &msg, &len) == REASSEMBLY_TOO_BIG);
	}

	/* binary: counted for the limit, never kept */
	CHECK(feed(&r, "\x01\x02", true, false, true, 0, 10, &msg, &len) == REASSEMBLY_MORE);
	CHECK(feed(&r, "\x03", false, true, true, 0, 10, &msg, &len) == REASSEMBLY_BINARY);
	CHECK(msg == NULL);
	CHECK(feed(&r, "123456", true, false, true, 0, 10, &msg, &len) == REASSEMBLY_MORE);
	CHECK(feed(&r, "123456", false, true, true, 0, 10, &msg, &len) == REASSEMBLY_TOO_BIG);

	/* a message of empty frames is an empty text, never NULL */
	CHECK(feed(&r, "", true, false, false, 0, 10, &msg, &len) == REASSEMBLY_MORE);
	CHECK(feed(&r, "", false, true, false, 0, 10, &msg, &len) == REASSEMBLY_TEXT);
	CHECK(msg != NULL && len == 0);
	reassembly_done(&r);

	/* a big message's buffer is released once it has been used */
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(feed(&r, big, true, false, false, 0, 1 << 20, &msg, &len) == REASSEMBLY_MORE);
	CHECK(feed(&r, "!", false, true, false, 0, 1 << 20, &msg, &len) == REASSEMBLY_TEXT);
	CHECK(len == sizeof(big) && msg[len - 1] == '!');
	CHECK(r.cap > REASSEMBLY_KEEP_BYTES);
	reassembly_done(&r);
	CHECK(r.buf == NULL && r.cap == 0);
	reassembly_free(&r);
	return CHECK_DONE();
}
