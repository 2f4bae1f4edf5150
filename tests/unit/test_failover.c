/*
 * test_failover.c - when a bridge leaves its broker for the next one of the list (bridge/failover.c):
 * due exactly at the failover time and not before, never with one broker, no failover time or a
 * broker that is up; round robin over the list; a reconnect delay never overshoots the moment.
 */
#include "check.h"
#include "failover.h"

static void test_due(void)
{
	static const struct {
		int64_t down_since, now, after;
		size_t n;
		bool due;
	} cases[] = {
		{ 1000, 1000, 2000, 2, false },	/* just went down */
		{ 1000, 2999, 2000, 2, false },	/* one ms early */
		{ 1000, 3000, 2000, 2, true },	/* on time */
		{ 1000, 90000, 2000, 3, true },	/* long gone */
		{ 1000, 90000, 2000, 1, false },	/* nowhere to go */
		{ 1000, 90000, 2000, 0, false },
		{ 1000, 90000, 0, 2, false },	/* this bridge does not move by itself */
		{ 0, 90000, 2000, 2, false },	/* up */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(failover_due(cases[i].down_since, cases[i].now, cases[i].after, cases[i].n) == cases[i].due);
}

static void test_next(void)
{
	CHECK(failover_next(0, 2) == 1);
	CHECK(failover_next(1, 2) == 0);
	CHECK(failover_next(0, 3) == 1);
	CHECK(failover_next(2, 3) == 0);
	CHECK(failover_next(0, 1) == 0);
	CHECK(failover_next(0, 0) == 0);
	/* a full round visits every broker once */
	{
		size_t cur = 0, seen = 0;

		for (int i = 0; i < 5; i++) {
			seen |= (size_t)1 << cur;
			cur = failover_next(cur, 5);
		}
		CHECK(cur == 0 && seen == 0x1f);
	}
}

static void test_clamp(void)
{
	CHECK(failover_clamp_delay(5000, 1000, 2500, 2000, 2) == 500);	/* due at 3000 */
	CHECK(failover_clamp_delay(100, 1000, 2500, 2000, 2) == 100);	/* the backoff comes first */
	CHECK(failover_clamp_delay(5000, 1000, 9000, 2000, 2) == 0);	/* overdue: at once */
	CHECK(failover_clamp_delay(5000, 1000, 2500, 2000, 1) == 5000);	/* one broker */
	CHECK(failover_clamp_delay(5000, 1000, 2500, 0, 2) == 5000);	/* never by itself */
	CHECK(failover_clamp_delay(5000, 0, 2500, 2000, 2) == 5000);	/* up */
}

int main(void)
{
	test_due();
	test_next();
	test_clamp();
	return CHECK_DONE();
}
