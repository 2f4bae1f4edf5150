/*
 * test_ratelimit.c - the token bucket (edge/server/ratelimit.c) with explicit timestamps: burst, refill
 * rate without losing fractions, the cap, clocks going backwards, and huge gaps (UBSan watches
 * for overflow).
 */
#include <stdint.h>

#include "check.h"
#include "ratelimit.h"

static int take_n(struct ratelimit *rl, long rate, long burst, int64_t now, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += ratelimit_take(rl, rate, burst, now);
	return ok;
}

static void test_burst(void)
{
	static const long bursts[] = { 1, 2, 20, 200, 1000000 };

	for (size_t i = 0; i < sizeof(bursts) / sizeof(bursts[0]); i++) {
		struct ratelimit rl;
		long b = bursts[i];

		ratelimit_init(&rl, b, 5000);
		CHECK(take_n(&rl, 100, b, 5000, (int)b) == (int)b);
		CHECK(!ratelimit_take(&rl, 100, b, 5000));
		CHECK(!ratelimit_take(&rl, 100, b, 5000));
	}
}

static void test_refill(void)
{
	struct ratelimit rl;

	/* 100/s: one token every 10 ms, fractions carried over */
	ratelimit_init(&rl, 200, 1000);
	CHECK(take_n(&rl, 100, 200, 1000, 200) == 200);
	CHECK(!ratelimit_take(&rl, 100, 200, 1009));	/* 0.9 token */
	CHECK(ratelimit_take(&rl, 100, 200, 1010));	/* 0.9 + 0.1 */
	CHECK(!ratelimit_take(&rl, 100, 200, 1010));
	CHECK(!ratelimit_take(&rl, 100, 200, 1015));
	CHECK(ratelimit_take(&rl, 100, 200, 1020));
	CHECK(take_n(&rl, 100, 200, 1120, 20) == 10);	/* 100 ms later: 10 tokens */

	/* 1/s */
	ratelimit_init(&rl, 1, 0);
	CHECK(ratelimit_take(&rl, 1, 1, 0));
	CHECK(!ratelimit_take(&rl, 1, 1, 999));
	CHECK(ratelimit_take(&rl, 1, 1, 1000));
	CHECK(!ratelimit_take(&rl, 1, 1, 1000));

	/* 1000/s: one token per millisecond */
	ratelimit_init(&rl, 5, 0);
	CHECK(take_n(&rl, 1000, 5, 0, 10) == 5);
	CHECK(take_n(&rl, 1000, 5, 3, 10) == 3);

	/* rate above 1000/s: several tokens per millisecond */
	ratelimit_init(&rl, 100, 0);
	CHECK(take_n(&rl, 5000, 100, 0, 100) == 100);
	CHECK(take_n(&rl, 5000, 100, 2, 100) == 10);
}

static void test_cap(void)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 10, 0);
	CHECK(take_n(&rl, 100, 10, 0, 10) == 10);
	/* a long idle period refills to the burst, not beyond */
	CHECK(take_n(&rl, 100, 10, 60000, 50) == 10);
	/* idle while already full: still the burst */
	ratelimit_init(&rl, 10, 0);
	CHECK(take_n(&rl, 100, 10, 100000, 50) == 10);
}

/* Sustained: attempts every millisecond for 10 s give burst + rate * 10 successes. */
static void test_sustained(void)
{
	struct ratelimit rl;
	int ok = 0;

	ratelimit_init(&rl, 200, 0);
	for (int64_t t = 0; t <= 10000; t++)
		ok += take_n(&rl, 100, 200, t, 3);
	CHECK(ok == 200 + 1000);
}

static void test_clock_backwards(void)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 2, 10000);
	CHECK(take_n(&rl, 100, 2, 10000, 2) == 2);
	/* time going backwards refills nothing and breaks nothing */
	CHECK(!ratelimit_take(&rl, 100, 2, 5000));
	CHECK(!ratelimit_take(&rl, 100, 2, 0));
	CHECK(!ratelimit_take(&rl, 100, 2, 10000));
	CHECK(ratelimit_take(&rl, 100, 2, 10010));
}

static void test_huge_gaps(void)
{
	struct ratelimit rl;

	/* the largest configurable rate and burst over the largest gaps */
	ratelimit_init(&rl, 1000000, 0);
	CHECK(take_n(&rl, 1000000, 1000000, 0, 1000000) == 1000000);
	CHECK(!ratelimit_take(&rl, 1000000, 1000000, 0));
	CHECK(ratelimit_take(&rl, 1000000, 1000000, INT64_MAX / 2));
	CHECK(rl.milli_tokens == (int64_t)1000000 * 1000 - 1000);
	CHECK(ratelimit_take(&rl, 1000000, 1000000, INT64_MAX));
	CHECK(rl.milli_tokens <= (int64_t)1000000 * 1000);

	ratelimit_init(&rl, 200, 0);
	CHECK(take_n(&rl, 100, 200, 0, 200) == 200);
	CHECK(take_n(&rl, 100, 200, INT64_MAX, 300) == 200);
	CHECK(!ratelimit_take(&rl, 100, 200, INT64_MAX));

	/* a clock starting near zero after a boot, then the epoch in milliseconds */
	ratelimit_init(&rl, 3, 1);
	CHECK(take_n(&rl, 1, 3, 1, 5) == 3);
	CHECK(take_n(&rl, 1, 3, 1700000000000LL, 5) == 3);
}

int main(void)
{
	test_burst();
	test_refill();
	test_cap();
	test_sustained();
	test_clock_backwards();
	test_huge_gaps();
	return CHECK_DONE();
}
