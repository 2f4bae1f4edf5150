/*
 * fuzz_history_sync.c - the history window exchange between edges (edge/wire/history_sync.c):
 * requests on {prefix}/history/{room}/req and replies on {prefix}/edge/{edge}/history, both read
 * from the broker.
 *
 * Input: byte 0 bit 0 chooses a request (1) or a reply (0); the rest is the payload.
 *
 * Invariants: an accepted request has a valid edge id and nonce inside the payload, and writing it
 * again (history_sync_request) gives back exactly the payload; an accepted reply's room, nonce and
 * epoch and answering edge lie inside the header line, room and edge are valid ids, count <= last, and its body starts
 * right after the header; walking the records never leaves the payload, always moves forward and
 * ends (0) exactly at the end or stops at a malformed record (-1); a reply written back with
 * history_sync_reply_header/record from what was read reads back the same.
 */
#include "fuzz.h"
#include "mqedge/base/textbuf.h"
#include "mqedge/wire/history_sync.h"
#include "mqedge/wire/topics.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void check_request(const char *p, size_t len)
{
	struct history_request r;
	char edge[TOPICS_ID_MAX + 1], nonce[HISTORY_SYNC_NONCE_MAX + 1], buf[256];
	int n;

	if (history_sync_parse_request(p, len, &r))
		return;
	FUZZ_CHECK(fuzz_inside(r.edge, r.edge_len, p, len) && fuzz_inside(r.nonce, r.nonce_len, p, len));
	FUZZ_CHECK(topics_validate_id(r.edge, r.edge_len) == 0);
	FUZZ_CHECK(r.nonce_len >= 1 && r.nonce_len <= HISTORY_SYNC_NONCE_MAX);
	memcpy(edge, r.edge, r.edge_len);
	edge[r.edge_len] = '\0';
	memcpy(nonce, r.nonce, r.nonce_len);
	nonce[r.nonce_len] = '\0';
	n = history_sync_request(buf, sizeof(buf), edge, nonce);
	FUZZ_CHECK(n > 0 && (size_t)n == len && !memcmp(buf, p, len));
}

#define MAX_RECORDS 1024

struct record {
	int64_t ms;
	const char *text;
	size_t len;
};

/* Walks the records; returns how many were read (up to MAX_RECORDS) and whether it ended cleanly. */
static size_t walk(const char *p, size_t len, size_t body, struct record *out, int *end)
{
	size_t pos = body, n = 0;

	for (;;) {
		struct record r;
		size_t was = pos;
		int rc = history_sync_next_record(p, len, &pos, &r.ms, &r.text, &r.len);

		FUZZ_CHECK(rc >= -1 && rc <= 1);
		if (rc <= 0) {
			FUZZ_CHECK(pos == was);
			FUZZ_CHECK(rc == -1 || pos == len);
			*end = rc;
			return n;
		}
		FUZZ_CHECK(pos > was && pos <= len);
		FUZZ_CHECK(r.ms >= 0);
		FUZZ_CHECK(fuzz_inside(r.text, r.len, p, len) && r.text + r.len == p + pos);
		if (n == MAX_RECORDS) {
			*end = 2;	/* too many to compare */
			return n;
		}
		out[n++] = r;
	}
}

static void check_reply(const char *p, size_t len)
{
	static struct record first[MAX_RECORDS], second[MAX_RECORDS];
	struct history_reply r, back;
	struct textbuf b = { 0 };
	char room[TOPICS_ID_MAX + 1], nonce[HISTORY_SYNC_NONCE_MAX + 1], from[TOPICS_ID_MAX + 1], *epoch;
	size_t n, m;
	int end, end2;

	if (history_sync_parse_reply(p, len, &r))
		return;
	FUZZ_CHECK(r.body >= 5 && r.body <= len && p[r.body - 1] == '\n');
	FUZZ_CHECK(!memchr(p, '\n', r.body - 1));
	FUZZ_CHECK(fuzz_inside(r.room, r.room_len, p, r.body) && topics_validate_id(r.room, r.room_len) == 0);
	FUZZ_CHECK(fuzz_inside(r.nonce, r.nonce_len, p, r.body) && r.nonce_len >= 1 &&
		   r.nonce_len <= HISTORY_SYNC_NONCE_MAX);
	FUZZ_CHECK(fuzz_inside(r.epoch, r.epoch_len, p, r.body) && r.epoch_len >= 1);
	FUZZ_CHECK(!memchr(r.epoch, ' ', r.epoch_len));
	FUZZ_CHECK(r.count <= r.last && r.last <= UINT64_MAX / 2);
	FUZZ_CHECK(fuzz_inside(r.from, r.from_len, p, r.body) && topics_validate_id(r.from, r.from_len) == 0);
	FUZZ_CHECK(r.from + r.from_len == p + r.body - 1);
	n = walk(p, len, r.body, first, &end);
	if (end != 0)
		return;
	/* written again from what was read, it reads back the same */
	memcpy(room, r.room, r.room_len);
	room[r.room_len] = '\0';
	memcpy(nonce, r.nonce, r.nonce_len);
	nonce[r.nonce_len] = '\0';
	memcpy(from, r.from, r.from_len);
	from[r.from_len] = '\0';
	epoch = fuzz_strndup((const uint8_t *)r.epoch, r.epoch_len);
	if (strlen(epoch) == r.epoch_len) {
		history_sync_reply_header(&b, room, nonce, epoch, r.last, r.count, from);
		for (size_t i = 0; i < n; i++)
			history_sync_reply_record(&b, first[i].ms, first[i].text, first[i].len);
		FUZZ_CHECK(!b.oom);
		FUZZ_CHECK(history_sync_parse_reply(b.p, b.len, &back) == 0);
		FUZZ_CHECK(back.room_len == r.room_len && !memcmp(back.room, r.room, r.room_len));
		FUZZ_CHECK(back.nonce_len == r.nonce_len && !memcmp(back.nonce, r.nonce, r.nonce_len));
		FUZZ_CHECK(back.epoch_len == r.epoch_len && !memcmp(back.epoch, r.epoch, r.epoch_len));
		FUZZ_CHECK(back.last == r.last && back.count == r.count);
		FUZZ_CHECK(back.from_len == r.from_len && !memcmp(back.from, r.from, r.from_len));
		m = walk(b.p, b.len, back.body, second, &end2);
		FUZZ_CHECK(end2 == 0 && m == n);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(second[i].ms == first[i].ms && second[i].len == first[i].len &&
				   !memcmp(second[i].text, first[i].text, first[i].len));
		textbuf_free(&b);
	}
	free(epoch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		check_request((const char *)data + 1, size - 1);
	else
		check_reply((const char *)data + 1, size - 1);
	return 0;
}
