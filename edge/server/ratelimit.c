/*
 * ratelimit.c - token bucket. Owns: nothing but the arithmetic. Must not: read clocks itself
 * (callers pass the time, so tests are deterministic).
 */
#include "ratelimit.h"

void ratelimit_init(struct ratelimit *rl, long burst, int64_t now_ms)
{
	rl->milli_tokens = (int64_t)burst * 1000;
	rl->last_ms = now_ms;
}

bool ratelimit_take(struct ratelimit *rl, long rate, long burst, int64_t now_ms)
{
	int64_t cap = (int64_t)burst * 1000;

	if (now_ms > rl->last_ms) {
		int64_t elapsed = now_ms - rl->last_ms;

		/* rate tokens/s = rate milli-tokens/ms; clamp before multiplying to avoid overflow */
		if (elapsed > cap)
			elapsed = cap;
		rl->milli_tokens += elapsed * rate;
		if (rl->milli_tokens > cap)
			rl->milli_tokens = cap;
		rl->last_ms = now_ms;
	}
	if (rl->milli_tokens < 1000)
		return false;
	rl->milli_tokens -= 1000;
	return true;
}
