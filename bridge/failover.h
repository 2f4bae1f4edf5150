/*
 * failover.h - private to bridge/: when a bridge leaves the broker it is on for the next one of
 * its list, and which one that is. Pure arithmetic on times and indexes: no libmosquitto, no I/O,
 * so the rule is unit-tested alone (tests/unit/test_failover.c).
 */
#ifndef MQEDGE_FAILOVER_H
#define MQEDGE_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the current broker, unreachable since down_since_ms (0: it is not), has been so for
 * after_ms or longer at now_ms and there is another broker to go to (n > 1, after_ms > 0). */
bool failover_due(int64_t down_since_ms, int64_t now_ms, int64_t after_ms, size_t n);

/* The broker after cur in a list of n (round robin). */
size_t failover_next(size_t cur, size_t n);

/* A reconnect delay shortened so the retry falls no later than the moment failover is due (never
 * negative); delay_ms itself when no failover can come (n < 2, after_ms 0, not down). */
int64_t failover_clamp_delay(int64_t delay_ms, int64_t down_since_ms, int64_t now_ms, int64_t after_ms, size_t n);

#endif
