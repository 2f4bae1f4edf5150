/*
 * failover.c - the failover rule of failover.h: a broker unreachable for the configured time is
 * left for the next one of the list, round robin.
 * Owns: nothing (pure functions). Must not: know about libmosquitto, sockets or timers.
 */
#include "failover.h"

static bool can_fail_over(int64_t down_since_ms, int64_t after_ms, size_t n)
{
	return n > 1 && after_ms > 0 && down_since_ms > 0;
}

bool failover_due(int64_t down_since_ms, int64_t now_ms, int64_t after_ms, size_t n)
{
	return can_fail_over(down_since_ms, after_ms, n) && now_ms - down_since_ms >= after_ms;
}

size_t failover_next(size_t cur, size_t n)
{
	return n ? (cur + 1) % n : 0;
}

int64_t failover_clamp_delay(int64_t delay_ms, int64_t down_since_ms, int64_t now_ms, int64_t after_ms, size_t n)
{
	int64_t left;

	if (!can_fail_over(down_since_ms, after_ms, n))
		return delay_ms;
	left = down_since_ms + after_ms - now_ms;
	if (left < 0)
		left = 0;
	return delay_ms < left ? delay_ms : left;
}
