/*
 * test_siphash.c - SipHash-2-4 (edge/siphash.c): the 64 reference vectors of the SipHash authors
 * (github.com/veorq/SipHash vectors.h, vectors_sip64: key 00..0f, message 00..len-1 for len 0..63;
 * vector 15 is the worked example of the paper's appendix), cross-checked with an independent
 * Python implementation; the process key (zero until seeded, taken from getrandom - replaced here -
 * as two little-endian words, kept on a failed seed, new on every seed); unaligned input and
 * exact-size buffers (ASan catches any read past len).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "mqedge/base/siphash.h"

/* siphash_seed_random's entropy source, replaced here (the executable's definition wins over
 * libc's) so the test can choose the process key: 0 = the kernel's, 1 = bytes 00 01 02 .. (the
 * reference key), 2 = a short read of 8 bytes, -1 = failure (EAGAIN). */
static int fake_random;
static int fake_random_calls;

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	if (fake_random == 0)
		return syscall(SYS_getrandom, buf, len, flags);
	fake_random_calls++;
	if (fake_random < 0) {
		errno = EAGAIN;
		return -1;
	}
	if (fake_random == 2 && len > 8)
		len = 8;
	for (size_t i = 0; i < len; i++)
		((unsigned char *)buf)[i] = (unsigned char)i;
	return (ssize_t)len;
}

/* The key 00 01 .. 0f as the two little-endian words siphash_keyed takes. */
#define REF_K0 0x0706050403020100ULL
#define REF_K1 0x0f0e0d0c0b0a0908ULL

/* SipHash-2-4 of 00 01 .. (len-1) under the key above, as 64-bit values (the reference file
 * stores each as 8 bytes, least significant first). */
static const uint64_t ref_vectors[64] = {
	0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL,
	0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL,
	0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
	0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL,
	0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL,
	0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
	0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL,
	0xf723ca908e7af2eeULL, 0xa129ca6149be45e5ULL,
	0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL,
	0x4bc1b3f0968dd39cULL, 0xbb6dc91da77961bdULL,
	0xbed65cf21aa2ee98ULL, 0xd0f2cbb02e3b67c7ULL,
	0x93536795e3a33e88ULL, 0xa80c038ccd5ccec8ULL,
	0xb8ad50c6f649af94ULL, 0xbce192de8a85b8eaULL,
	0x17d835b85bbb15f3ULL, 0x2f2e6163076bcfadULL,
	0xde4daaaca71dc9a5ULL, 0xa6a2506687956571ULL,
	0xad87a3535c49ef28ULL, 0x32d892fad841c342ULL,
	0x7127512f72f27cceULL, 0xa7f32346f95978e3ULL,
	0x12e0b01abb051238ULL, 0x15e034d40fa197aeULL,
	0x314dffbe0815a3b4ULL, 0x027990f029623981ULL,
	0xcadcd4e59ef40c4dULL, 0x9abfd8766a33735cULL,
	0x0e3ea96b5304a7d0ULL, 0xad0c42d6fc585992ULL,
	0x187306c89bc215a9ULL, 0xd4a60abcf3792b95ULL,
	0xf935451de4f21df2ULL, 0xa9538f0419755787ULL,
	0xdb9acddff56ca510ULL, 0xd06c98cd5c0975ebULL,
	0xe612a3cb9ecba951ULL, 0xc766e62cfcadaf96ULL,
	0xee64435a9752fe72ULL, 0xa192d576b245165aULL,
	0x0a8787bf8ecb74b2ULL, 0x81b3e73d20b49b6fULL,
	0x7fa8220ba3b2eceaULL, 0x245731c13ca42499ULL,
	0xb78dbfaf3a8d83bdULL, 0xea1ad565322a1a0bULL,
	0x60e61c23a3795013ULL, 0x6606d7e446282b93ULL,
	0x6ca4ecb15c5f91e1ULL, 0x9f626da15c9625f3ULL,
	0xe51b38608ef25f57ULL, 0x958a324ceb064572ULL,
};

/* Values from the same independent Python implementation that reproduces the table above. */
#define ZERO_KEY_EMPTY 0x1e924b9d737700d7ULL	/* key 0, "" */
#define ZERO_KEY_MQEDGE 0xca266f550f40b404ULL	/* key 0, "mqedge" */
#define REF_KEY_LONG 0x57e4508252ae40ceULL	/* key 00..0f, 1000 bytes (i * 7 + 3) & 0xff */

static unsigned char msg[64];	/* 00 01 .. 3f */

static void test_vectors(void)
{
	for (size_t len = 0; len < 64; len++) {
		uint64_t got = siphash_keyed(REF_K0, REF_K1, msg, len);

		CHECK(got == ref_vectors[len]);
		if (got != ref_vectors[len])
			fprintf(stderr, "  len %zu: got %016llx, want %016llx\n", len, (unsigned long long)got,
				(unsigned long long)ref_vectors[len]);
	}
	/* the paper's appendix: 15-byte message 00..0e -> a129ca6149be45e5 */
	CHECK(siphash_keyed(REF_K0, REF_K1, msg, 15) == 0xa129ca6149be45e5ULL);

	/* many 8-byte blocks (the loop, not only the tail) */
	unsigned char *big = malloc(1000);

	if (!big) {
		CHECK(0);
		return;
	}
	for (int i = 0; i < 1000; i++)
		big[i] = (unsigned char)((i * 7 + 3) & 0xff);
	CHECK(siphash_keyed(REF_K0, REF_K1, big, 1000) == REF_KEY_LONG);
	free(big);

	/* key words in the documented order: swapping them (or the bytes) changes the hash */
	CHECK(siphash_keyed(REF_K1, REF_K0, msg, 15) != ref_vectors[15]);
	CHECK(siphash_keyed(0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL, msg, 15) != ref_vectors[15]);
	CHECK(siphash_keyed(0, 0, "", 0) == ZERO_KEY_EMPTY);
	CHECK(siphash_keyed(0, 0, "mqedge", 6) == ZERO_KEY_MQEDGE);
}

/* Every length 0..63 at every offset 0..7 from an aligned malloc, the data ending exactly at the
 * end of its allocation so ASan reports any over-read: same result as the table. */
static void test_unaligned(void)
{
	int wrong_keyed = 0, wrong_process = 0;

	for (size_t len = 0; len < 64; len++) {
		uint64_t process_aligned = siphash(msg, len);

		for (size_t off = 0; off < 8; off++) {
			unsigned char *buf = malloc(off + len + 1);

			if (!buf) {
				CHECK(0);
				return;
			}
			/* the extra byte goes first, so the message still ends at the allocation's end */
			unsigned char *p = buf + 1 + off;

			memset(buf, 0xa5, off + 1);
			memcpy(p, msg, len);
			if (siphash_keyed(REF_K0, REF_K1, p, len) != ref_vectors[len]) {
				wrong_keyed++;
				fprintf(stderr, "  unaligned len %zu off %zu differs\n", len, off + 1);
			}
			if (siphash(p, len) != process_aligned)
				wrong_process++;
			free(buf);
		}
	}
	CHECK(wrong_keyed == 0);
	CHECK(wrong_process == 0);
	/* bytes after len do not count, bytes before it do */
	unsigned char tail[16];

	memcpy(tail, msg, 16);
	tail[15] = 0xee;
	CHECK(siphash_keyed(REF_K0, REF_K1, tail, 15) == ref_vectors[15]);
	tail[14] = 0xee;
	CHECK(siphash_keyed(REF_K0, REF_K1, tail, 15) != ref_vectors[15]);
}

/* Before siphash_seed_random the process key is zero. */
static void test_unseeded(void)
{
	int wrong = 0;

	for (size_t len = 0; len < 64; len++)
		wrong += siphash(msg, len) != siphash_keyed(0, 0, msg, len);
	CHECK(wrong == 0);
	CHECK(siphash("", 0) == ZERO_KEY_EMPTY);
	CHECK(siphash("mqedge", 6) == ZERO_KEY_MQEDGE);
	CHECK(siphash(msg, 15) != ref_vectors[15]);
}

/* The process key is the 16 bytes getrandom gives, as two little-endian words; a failed or short
 * getrandom leaves the key as it was. */
static void test_seed_source(void)
{
	int wrong = 0;

	fake_random = 1;
	fake_random_calls = 0;
	CHECK(siphash_seed_random() == 0);
	CHECK(fake_random_calls == 1);
	for (size_t len = 0; len < 64; len++)
		wrong += siphash(msg, len) != ref_vectors[len];
	CHECK(wrong == 0);
	CHECK(siphash(msg, 15) == 0xa129ca6149be45e5ULL);

	fake_random = 2;	/* short read */
	CHECK(siphash_seed_random() == -1);
	CHECK(siphash(msg, 15) == ref_vectors[15]);
	fake_random = -1;	/* failure */
	CHECK(siphash_seed_random() == -1);
	CHECK(siphash(msg, 15) == ref_vectors[15]);
	CHECK(fake_random_calls == 3);
	fake_random = 0;
}

/* After seeding: a random key (not zero), stable between seeds, new on every seed. */
static void test_seeded(void)
{
	enum { SEEDS = 16 };
	uint64_t h[SEEDS];
	int same_as_zero = 0, unstable = 0, repeats = 0;

	for (int i = 0; i < SEEDS; i++) {
		CHECK(siphash_seed_random() == 0);
		h[i] = siphash("mqedge", 6);
		same_as_zero += h[i] == ZERO_KEY_MQEDGE;
		unstable += siphash("mqedge", 6) != h[i];
		/* the process key is not the reference key either */
		same_as_zero += siphash(msg, 15) == ref_vectors[15];
		/* the unkeyed function does not change with the process key */
		unstable += siphash_keyed(REF_K0, REF_K1, msg, 15) != ref_vectors[15];
		unstable += siphash_keyed(0, 0, "mqedge", 6) != ZERO_KEY_MQEDGE;
	}
	for (int i = 0; i < SEEDS; i++)
		for (int j = i + 1; j < SEEDS; j++)
			repeats += h[i] == h[j];
	CHECK(same_as_zero == 0);
	CHECK(unstable == 0);
	CHECK(repeats == 0);	/* 120 pairs of 64-bit values: a collision is a 2^-57 event */
	/* under one key, different inputs differ */
	CHECK(siphash("a", 1) != siphash("b", 1));
	CHECK(siphash("a", 1) != siphash("a\0", 2));
}

int main(void)
{
	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	test_vectors();
	test_unseeded();	/* must run before the first siphash_seed_random */
	test_unaligned();	/* process key still zero here: compares siphash() only with itself */
	test_seed_source();
	test_seeded();
	test_unaligned();	/* and again under a random process key */
	return CHECK_DONE();
}
