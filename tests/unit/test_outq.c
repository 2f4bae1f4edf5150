/*
 * test_outq.c - the per-session frame queue: order, growth, wrap-around, the byte bound and
 * reference counting (edge/fanout/outq.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/fanout/outq.h"

static struct frame *text_frame(const char *s)
{
	return frame_from_text(s, strlen(s));
}

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

static void test_order_and_growth(void)
{
	enum { N = 100 };
	struct outq q = { 0 };
	struct frame *f[N];
	size_t bytes = 0;
	int ok = 0;

	for (int i = 0; i < N; i++) {
		char s[16];

		snprintf(s, sizeof(s), "%d", i);
		f[i] = text_frame(s);
		if (!f[i]) {
			CHECK(f[i] != NULL);
			return;
		}
	}
	CHECK(q.ring == NULL && q.cap == 0 && q.count == 0 && q.bytes == 0);
	for (int i = 0; i < N; i++) {
		ok += outq_push(&q, f[i], SIZE_MAX) == 0;
		bytes += frame_wire_len(f[i]);
		CHECK(q.count == (uint32_t)i + 1);
		CHECK(q.cap >= q.count && is_pow2(q.cap));
		CHECK(q.bytes == bytes);
		CHECK(f[i]->refs == 2);	/* ours and the queue's */
	}
	CHECK(ok == N);
	CHECK(q.cap == 128);
	for (uint32_t i = 0; i < q.count; i++)
		CHECK(outq_at(&q, i) == f[i]);

	/* the same frame may be queued twice: two references */
	CHECK(outq_push(&q, f[0], SIZE_MAX) == 0);
	CHECK(f[0]->refs == 3);
	CHECK(outq_at(&q, N) == f[0]);

	outq_pop(&q, 10);
	CHECK(q.count == N + 1 - 10);
	for (int i = 0; i < 10; i++)
		CHECK(f[i]->refs == (i == 0 ? 2 : 1));
	CHECK(outq_at(&q, 0) == f[10]);
	outq_pop(&q, 0);
	CHECK(q.count == N + 1 - 10);
	outq_pop(&q, 1000);	/* more than queued: stops when empty */
	CHECK(q.count == 0 && q.bytes == 0);
	for (int i = 0; i < N; i++)
		CHECK(f[i]->refs == 1);
	/* a big drained ring is given back; the queue still works */
	CHECK(q.cap == 0 && q.ring == NULL);
	CHECK(outq_push(&q, f[5], SIZE_MAX) == 0 && outq_at(&q, 0) == f[5]);
	outq_clear(&q);
	CHECK(q.ring == NULL && q.cap == 0 && q.count == 0 && q.bytes == 0);
	for (int i = 0; i < N; i++)
		frame_unref(f[i]);
}

static void test_small_ring_kept(void)
{
	struct outq q = { 0 };
	struct frame *f = text_frame("x");

	if (!f) {
		CHECK(f != NULL);
		return;
	}
	for (int i = 0; i < 10; i++)
		CHECK(outq_push(&q, f, SIZE_MAX) == 0);
	CHECK(q.cap == 16);
	outq_pop(&q, 10);
	CHECK(q.count == 0 && q.bytes == 0 && q.head == 0);
	CHECK(q.cap == 16 && q.ring != NULL);	/* small rings stay for the next burst */
	CHECK(f->refs == 1);
	outq_clear(&q);
	CHECK(q.ring == NULL && q.cap == 0);
	outq_clear(&q);	/* clearing an empty queue is fine */
	outq_pop(&q, 3);
	CHECK(q.count == 0);
	frame_unref(f);
}

static void test_wrap_around(void)
{
	struct outq q = { 0 };
	struct frame *f[8];

	for (int i = 0; i < 8; i++) {
		char s[4] = { (char)('a' + i), 0 };

		f[i] = text_frame(s);
		if (!f[i]) {
			CHECK(f[i] != NULL);
			return;
		}
	}
	/* cap 4: push a b c, pop a b, push d e f -> head 2, ring [e f c d] */
	for (int i = 0; i < 3; i++)
		CHECK(outq_push(&q, f[i], SIZE_MAX) == 0);
	CHECK(q.cap == 4);
	outq_pop(&q, 2);
	CHECK(q.head == 2 && q.count == 1);
	for (int i = 3; i < 6; i++)
		CHECK(outq_push(&q, f[i], SIZE_MAX) == 0);
	CHECK(q.cap == 4 && q.count == 4);
	CHECK(q.ring[0] == f[4] && q.ring[1] == f[5]);	/* really wrapped */
	CHECK(outq_at(&q, 0) == f[2]);
	CHECK(outq_at(&q, 1) == f[3]);
	CHECK(outq_at(&q, 2) == f[4]);
	CHECK(outq_at(&q, 3) == f[5]);
	/* growing a wrapped ring keeps the order */
	CHECK(outq_push(&q, f[6], SIZE_MAX) == 0);
	CHECK(q.cap == 8 && q.count == 5);
	for (uint32_t i = 0; i < 5; i++)
		CHECK(outq_at(&q, i) == f[2 + i]);
	outq_pop(&q, 1);
	CHECK(outq_at(&q, 0) == f[3]);
	outq_clear(&q);
	for (int i = 0; i < 8; i++) {
		CHECK(f[i]->refs == 1);
		frame_unref(f[i]);
	}
}

static void test_byte_bound(void)
{
	struct outq q = { 0 };
	struct frame *f = text_frame("0123456789");	/* 12 wire bytes */
	struct frame *big;
	char *text = malloc(200);

	if (!f || !text) {
		CHECK(0);
		free(text);
		return;
	}
	CHECK(frame_wire_len(f) == 12);
	CHECK(outq_push(&q, f, 36) == 0);
	CHECK(outq_push(&q, f, 36) == 0);
	CHECK(outq_push(&q, f, 36) == 0);	/* exactly at the bound is fine */
	CHECK(q.bytes == 36);
	CHECK(outq_push(&q, f, 36) == -ENOBUFS);
	CHECK(q.count == 3 && q.bytes == 36);
	CHECK(f->refs == 4);	/* the refused push took no reference */
	CHECK(outq_push(&q, f, 47) == -ENOBUFS);
	CHECK(outq_push(&q, f, 48) == 0);
	outq_pop(&q, 1);
	CHECK(q.bytes == 36);
	CHECK(outq_push(&q, f, 48) == 0);
	CHECK(outq_push(&q, f, 48) == -ENOBUFS);
	outq_clear(&q);
	CHECK(f->refs == 1 && q.bytes == 0);

	/* the bound counts wire bytes (header included), and a lone frame over it is refused */
	memset(text, 'z', 200);
	big = frame_from_text(text, 200);	/* 4-byte header */
	if (big) {
		CHECK(frame_wire_len(big) == 204);
		CHECK(outq_push(&q, big, 203) == -ENOBUFS);
		CHECK(q.count == 0 && big->refs == 1);
		CHECK(outq_push(&q, big, 204) == 0);
		CHECK(q.bytes == 204);
		outq_clear(&q);
		CHECK(big->refs == 1);
		frame_unref(big);
	}
	CHECK(outq_push(&q, f, 0) == -ENOBUFS);
	outq_clear(&q);
	frame_unref(f);
	free(text);
}

/* Random pushes and pops against a shadow FIFO. */
static void test_model(void)
{
	enum { NF = 16, OPS = 200000, SHADOW = 4096 };
	struct outq q = { 0 };
	struct frame *f[NF];
	struct frame *shadow[SHADOW];
	unsigned head = 0, count = 0, refs[NF] = { 0 };
	size_t bytes = 0, max_bytes = 3000;
	uint32_t seed = 12345;
	long mismatches = 0;

	for (int i = 0; i < NF; i++) {
		char s[64];

		memset(s, 'a' + i, sizeof(s));
		f[i] = frame_from_text(s, (size_t)i * 3 + 1);
		if (!f[i]) {
			CHECK(f[i] != NULL);
			return;
		}
	}
	for (int op = 0; op < OPS; op++) {
		seed = seed * 1103515245u + 12345u;
		unsigned r = seed >> 16;

		if (r % 3) {
			int k = (int)(r / 3 % NF);
			int rc = outq_push(&q, f[k], max_bytes);
			bool fits = bytes + frame_wire_len(f[k]) <= max_bytes;

			mismatches += rc != (fits ? 0 : -ENOBUFS);
			if (rc == 0) {
				shadow[(head + count++) % SHADOW] = f[k];
				bytes += frame_wire_len(f[k]);
				refs[k]++;
			}
		} else {
			unsigned n = r / 3 % 8;

			outq_pop(&q, n);
			for (; n && count; n--, count--) {
				struct frame *g = shadow[head];

				bytes -= frame_wire_len(g);
				refs[(g->buf[FRAME_HEADROOM] - 'a')]--;
				head = (head + 1) % SHADOW;
			}
		}
		mismatches += q.count != count || q.bytes != bytes;
		if (op % 97 == 0)
			for (unsigned i = 0; i < count; i++)
				mismatches += outq_at(&q, i) != shadow[(head + i) % SHADOW];
	}
	for (int i = 0; i < NF; i++)
		mismatches += f[i]->refs != 1 + refs[i];
	CHECK(mismatches == 0);
	outq_clear(&q);
	for (int i = 0; i < NF; i++) {
		CHECK(f[i]->refs == 1);
		frame_unref(f[i]);
	}
}

int main(void)
{
	test_order_and_growth();
	test_small_ring_kept();
	test_wrap_around();
	test_byte_bound();
	test_model();
	frame_pool_drain();
	return CHECK_DONE();
}
