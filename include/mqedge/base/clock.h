/*
 * clock.h - wall-clock time for timestamps the protocol carries (ms) and for latency (us).
 */
#ifndef MQEDGE_CLOCK_H
#define MQEDGE_CLOCK_H

#include <stdint.h>

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t clock_now_ms(void);
/* Microseconds since the epoch (CLOCK_REALTIME). */
int64_t clock_now_us(void);
/* Milliseconds of CLOCK_MONOTONIC: for intervals that must not jump with the wall clock. */
int64_t clock_mono_ms(void);

#endif
