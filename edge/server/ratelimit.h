/*
 * ratelimit.h - a token bucket in integer arithmetic (thousandths of a token).
 * Used per connection for incoming frames and for the strikes before a flood close.
 */
#ifndef MQEDGE_RATELIMIT_H
#define MQEDGE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	int64_t milli_tokens;
	int64_t last_ms;
};

/* Starts full. */
void ratelimit_init(struct ratelimit *rl, long burst, int64_t now_ms);

/* Refills at rate tokens/s up to burst, then takes one token if there is one. */
bool ratelimit_take(struct ratelimit *rl, long rate, long burst, int64_t now_ms);

#endif
