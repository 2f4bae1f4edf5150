/*
 * siphash.c - SipHash-2-4 (Aumasson and Bernstein, 2012) under one random process key.
 * Owns: the key. Must not: be used for anything but table hashing (it is not a MAC here).
 */
#include <string.h>
#include <sys/random.h>

#include "mqedge/base/siphash.h"

static uint64_t process_k0, process_k1;

int siphash_seed_random(void)
{
	uint64_t key[2];

	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return -1;
	process_k0 = key[0];
	process_k1 = key[1];
	return 0;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
	do { \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

uint64_t siphash(const void *data, size_t len)
{
	return siphash_keyed(process_k0, process_k1, data, len);
}

uint64_t siphash_keyed(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + (len & ~(size_t)7);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t m, b = (uint64_t)len << 56;

	for (; p != end; p += 8) {
		memcpy(&m, p, 8);	/* little-endian host assumed (x86_64, arm64) */
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
