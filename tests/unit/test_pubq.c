/*
 * test_pubq.c - a bridge's queued and in-flight publishes (bridge/pubq.c): order and copies of
 * queued publishes, both bounds, the mid table, and abandoning everything with one report per
 * cookie.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pubq.h"

struct seen {
	void *cookies[16];
	int n;
};

static void record(void *ctx, void *cookie)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->cookies[s->n] = cookie;
	s->n++;
}

static void test_queue(void)
{
	struct pubq q;
	struct pubq_item *it;
	char payload[8] = "abc";
	int c1, c2;

	CHECK(pubq_init(&q, 3, 10) == 0);
	CHECK(!pubq_full(&q, 10));
	CHECK(pubq_full(&q, 11));			/* one publish over the byte bound */
	CHECK(pubq_push(&q, "t/1", payload, 3, false, &c1) == 0);
	payload[0] = 'X';				/* the queue holds a copy */
	CHECK(pubq_push(&q, "t/2", "hello", 5, true, &c2) == 0);
	CHECK(q.count == 2 && q.bytes == 8 && pubq_pending(&q) == 2);
	CHECK(pubq_full(&q, 3));			/* 8 + 3 > 10 */
	CHECK(!pubq_full(&q, 2));
	it = pubq_pop(&q);
	CHECK(it && !strcmp(pubq_item_topic(it), "t/1") && it->len == 3 && !memcmp(pubq_item_payload(it), "abc", 3));
	CHECK(it && it->cookie == &c1 && !it->retain);
	free(it);
	it = pubq_pop(&q);
	CHECK(it && !strcmp(pubq_item_topic(it), "t/2") && it->retain && it->cookie == &c2);
	free(it);
	CHECK(pubq_pop(&q) == NULL && q.count == 0 && q.bytes == 0 && q.head == NULL && q.tail == NULL);
	/* the tail is reset, so a push after draining starts a fresh list */
	CHECK(pubq_push(&q, "t/3", "x", 1, false, NULL) == 0);
	CHECK(q.head && q.head == q.tail);
	pubq_fini(&q);
}

static void test_inflight(void)
{
	struct pubq q;
	void *cookie = NULL;
	int a, b;

	CHECK(pubq_init(&q, 2, 1000) == 0);
	pubq_inflight_add(&q, 7, &a);
	pubq_inflight_add(&q, 7, &b);			/* taken: the first stays */
	pubq_inflight_add(&q, 0, &b);			/* not a valid mid */
	pubq_inflight_add(&q, 65536, &b);
	CHECK(q.inflight_count == 1 && pubq_pending(&q) == 1);
	CHECK(pubq_push(&q, "t", "p", 1, false, NULL) == 0);
	CHECK(pubq_full(&q, 1));			/* queued + in flight reached max_pending */
	CHECK(!pubq_inflight_take(&q, 8, &cookie));
	CHECK(pubq_inflight_take(&q, 7, &cookie) && cookie == &a);
	CHECK(!pubq_inflight_take(&q, 7, &cookie));	/* a second PUBACK for the same mid */
	CHECK(q.inflight_count == 0 && !pubq_full(&q, 1));
	pubq_fini(&q);
}

static void test_abandon(void)
{
	struct pubq q;
	struct seen s = { { 0 }, 0 };
	int c1, c2, c3;

	CHECK(pubq_init(&q, 10, 1000) == 0);
	pubq_inflight_add(&q, 65535, &c3);
	CHECK(pubq_push(&q, "t", "1", 1, false, &c1) == 0);
	CHECK(pubq_push(&q, "t", "2", 1, false, NULL) == 0);	/* no cookie: nobody to tell */
	CHECK(pubq_push(&q, "t", "3", 1, false, &c2) == 0);
	pubq_abandon(&q, record, &s);
	CHECK(s.n == 3);
	CHECK(s.cookies[0] == &c1 && s.cookies[1] == &c2 && s.cookies[2] == &c3);	/* queued first, in order */
	CHECK(pubq_pending(&q) == 0 && q.bytes == 0);
	s.n = 0;
	pubq_abandon(&q, record, &s);
	CHECK(s.n == 0);
	pubq_fini(&q);
}

int main(void)
{
	test_queue();
	test_inflight();
	test_abandon();
	return CHECK_DONE();
}
