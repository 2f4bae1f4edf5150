/*
 * siphash.h - keyed 64-bit hashing for tables whose keys come from the network (room names,
 * message ids), so nobody can craft colliding keys without knowing the process's random key.
 */
#ifndef MQEDGE_SIPHASH_H
#define MQEDGE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* Seeds the process-wide key from getrandom(); returns 0 or -1. Until called the key is zero. */
int siphash_seed_random(void);
/* SipHash-2-4 of data[0..len) under the process-wide key. */
uint64_t siphash(const void *data, size_t len);
/* SipHash-2-4 under a given key: for values that must agree across processes (content ids). */
uint64_t siphash_keyed(uint64_t key0, uint64_t key1, const void *data, size_t len);

#endif
