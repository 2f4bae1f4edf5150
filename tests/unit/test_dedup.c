/*
 * test_dedup.c - the sliding-window duplicate filter (edge/fanout/dedup.c): exact FIFO eviction, no false
 * negatives inside the window, and a long random run against a shadow model.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/fanout/dedup.h"
#include "mqedge/base/siphash.h"

static void test_key(void)
{
	uint64_t k1 = dedup_key("t/room/a", 8, "m1", 2);

	CHECK(k1 != 0);
	CHECK(k1 == dedup_key("t/room/a", 8, "m1", 2));
	CHECK(k1 != dedup_key("t/room/a", 8, "m2", 2));
	CHECK(k1 != dedup_key("t/room/b", 8, "m1", 2));
	/* the boundary between topic and id is part of the key */
	CHECK(dedup_key("ab", 2, "c", 1) != dedup_key("a", 1, "bc", 2));
	CHECK(dedup_key("a", 1, "", 0) != dedup_key("", 0, "a", 1));
	/* only the given lengths count */
	CHECK(dedup_key("t/room/axxx", 8, "m1yyy", 2) == k1);

	/* a very long topic or id is hashed, not refused (and not over-read: ASan checks) */
	char *big = malloc(2000);

	if (big) {
		memset(big, 'x', 2000);
		CHECK(dedup_key(big, 2000, "m", 1) != 0);
		CHECK(dedup_key("t", 1, big, 2000) != 0);
		CHECK(dedup_key(big, 600, big, 600) != 0);
		free(big);
	}
}

static void test_basic(void)
{
	struct dedup d;

	CHECK(dedup_init(&d, 1024) == 0);
	CHECK(d.window == 1024);
	CHECK(!dedup_check_and_add(&d, 42));
	CHECK(dedup_check_and_add(&d, 42));
	CHECK(dedup_check_and_add(&d, 42));
	CHECK(!dedup_check_and_add(&d, 43));
	CHECK(dedup_check_and_add(&d, 43));
	CHECK(d.ring_count == 2);	/* a duplicate is not remembered twice */
	dedup_free(&d);
	CHECK(d.table == NULL && d.ring == NULL);
	dedup_free(&d);	/* twice is harmless */
}

/* Keys 1..W fill the window; key W+1 forgets exactly key 1, and so on. */
static void test_eviction(uint32_t window, uint64_t (*key)(uint64_t))
{
	struct dedup d;
	long wrong = 0;

	if (dedup_init(&d, window)) {
		CHECK(0);
		return;
	}
	for (uint64_t i = 1; i <= window; i++)
		wrong += dedup_check_and_add(&d, key(i));	/* all new */
	CHECK(wrong == 0);
	/* all remembered; checking does not refresh their age */
	for (uint64_t i = 1; i <= window; i++)
		wrong += !dedup_check_and_add(&d, key(i));
	CHECK(wrong == 0);
	CHECK(!dedup_check_and_add(&d, key(window + 1)));	/* overflow: the oldest goes */
	CHECK(!dedup_check_and_add(&d, key(1)));		/* forgotten: new again (evicts 2) */
	for (uint64_t i = 3; i <= window + 1; i++)
		wrong += !dedup_check_and_add(&d, key(i));
	CHECK(wrong == 0);
	CHECK(dedup_check_and_add(&d, key(1)));
	CHECK(!dedup_check_and_add(&d, key(2)));		/* evicted by key 1's return */
	/* a second full turn of new keys forgets everything before it */
	for (uint64_t i = 0; i < window; i++)
		wrong += dedup_check_and_add(&d, key(1000000 + i));
	CHECK(wrong == 0);
	for (uint64_t i = 1; i <= window + 1; i++)
		wrong += dedup_check_and_add(&d, key(i)) != false;
	CHECK(wrong == 0);
	dedup_free(&d);
}

static uint64_t key_plain(uint64_t i) { return i; }
static uint64_t key_spread(uint64_t i) { return i * 0x9E3779B97F4A7C15ull; }
/* every key has the same home slot: one long probe chain */
static uint64_t key_same_home(uint64_t i) { return i << 32 | 7; }

/* Random keys from a small universe against a shadow FIFO of the last window new keys. */
static void test_model(uint32_t window, uint32_t universe, long ops, uint64_t (*key)(uint64_t))
{
	struct dedup d;
	bool *inwin = calloc(universe, sizeof(*inwin));
	uint32_t *fifo = calloc(window, sizeof(*fifo));
	uint32_t head = 0, count = 0;
	uint64_t seed = 88172645463325252ull;
	long false_neg = 0, false_pos = 0, dups = 0;

	if (!inwin || !fifo || dedup_init(&d, window)) {
		CHECK(0);
		free(inwin);
		free(fifo);
		return;
	}
	for (long op = 0; op < ops; op++) {
		uint32_t v;
		bool seen, got;

		seed ^= seed << 13;	/* xorshift64 */
		seed ^= seed >> 7;
		seed ^= seed << 17;
		v = (uint32_t)(seed % universe);
		seen = inwin[v];
		got = dedup_check_and_add(&d, key((uint64_t)v + 1));
		false_neg += seen && !got;
		false_pos += !seen && got;
		dups += got;
		if (!seen) {
			if (count == window) {
				inwin[fifo[head]] = false;
				head = (head + 1) % window;
				count--;
			}
			fifo[(head + count) % window] = v;
			count++;
			inwin[v] = true;
		}
	}
	if (false_neg || false_pos)
		fprintf(stderr, "dedup model (window %u): %ld false negatives, %ld false positives\n", window,
			false_neg, false_pos);
	CHECK(false_neg == 0);
	CHECK(false_pos == 0);
	CHECK(dups > ops / 10 && dups < ops);	/* the run really mixed both outcomes */
	CHECK(d.ring_count == window);
	dedup_free(&d);
	free(inwin);
	free(fifo);
}

/* Real keys from dedup_key: ids never seen before are never reported as duplicates. */
static void test_real_keys(void)
{
	struct dedup d;
	long wrong = 0;

	if (dedup_init(&d, 4096)) {
		CHECK(0);
		return;
	}
	for (int i = 0; i < 200000; i++) {
		char id[32];
		int n = snprintf(id, sizeof(id), "edge-1.k3.%x", i);

		wrong += dedup_check_and_add(&d, dedup_key("mqedge/v1/room/lobby", 20, id, (size_t)n));
		if (i >= 10) {	/* a redelivery ten messages later */
			n = snprintf(id, sizeof(id), "edge-1.k3.%x", i - 10);
			wrong += !dedup_check_and_add(&d, dedup_key("mqedge/v1/room/lobby", 20, id, (size_t)n));
		}
	}
	CHECK(wrong == 0);
	dedup_free(&d);
}

int main(void)
{
	CHECK(siphash_seed_random() == 0);
	test_key();
	test_basic();
	test_eviction(1, key_plain);
	test_eviction(3, key_plain);
	test_eviction(1024, key_plain);
	test_eviction(1024, key_spread);
	test_eviction(100, key_same_home);
	test_model(1024, 4096, 1000000, key_spread);
	test_model(1024, 2048, 1000000, key_plain);
	test_model(1000, 3000, 300000, key_plain);	/* window not a power of two */
	test_model(64, 200, 100000, key_same_home);
	test_real_keys();
	return CHECK_DONE();
}
