/*
 * dedup.c - fixed-size hash set of recent message keys with FIFO eviction.
 * Owns: its two arrays. Must not: know what a message is beyond its key.
 */
#include <stdlib.h>
#include <string.h>

#include "mqedge/fanout/dedup.h"
#include "mqedge/base/siphash.h"

int dedup_init(struct dedup *d, uint32_t window)
{
	uint32_t size = 16;

	memset(d, 0, sizeof(*d));
	while (size < window * 2u)	/* load factor <= 0.5 keeps probes short */
		size *= 2;
	d->table = calloc(size, sizeof(*d->table));
	d->ring = calloc(window, sizeof(*d->ring));
	if (!d->table || !d->ring) {
		dedup_free(d);
		return -1;
	}
	d->mask = size - 1;
	d->window = window;
	return 0;
}

void dedup_free(struct dedup *d)
{
	free(d->table);
	free(d->ring);
	memset(d, 0, sizeof(*d));
}

uint64_t dedup_key(const char *topic, size_t topic_len, const char *id, size_t id_len)
{
	char buf[512];
	size_t n = topic_len + 1 + id_len;

	/* topics and ids are bounded well below this; hash a truncated key rather than fail */
	if (n > sizeof(buf))
		n = sizeof(buf);
	memcpy(buf, topic, topic_len < sizeof(buf) ? topic_len : sizeof(buf));
	if (topic_len + 1 <= sizeof(buf)) {
		buf[topic_len] = '\0';
		memcpy(buf + topic_len + 1, id, n - topic_len - 1);
	}
	uint64_t k = siphash(buf, n);

	return k ? k : 1;	/* 0 marks an empty slot */
}

static void erase(struct dedup *d, uint64_t key)
{
	uint32_t i = (uint32_t)key & d->mask;

	while (d->table[i] != key) {
		if (!d->table[i])
			return;
		i = (i + 1) & d->mask;
	}
	/* backward-shift deletion keeps every remaining key reachable from its home slot */
	for (uint32_t j = (i + 1) & d->mask; d->table[j]; j = (j + 1) & d->mask) {
		uint32_t home = (uint32_t)d->table[j] & d->mask;

		if (((j - home) & d->mask) >= ((j - i) & d->mask)) {
			d->table[i] = d->table[j];
			i = j;
		}
	}
	d->table[i] = 0;
}

bool dedup_check_and_add(struct dedup *d, uint64_t key)
{
	uint32_t i = (uint32_t)key & d->mask;

	for (; d->table[i]; i = (i + 1) & d->mask)
		if (d->table[i] == key)
			return true;
	if (d->ring_count == d->window) {
		uint64_t oldest = d->ring[d->ring_head];

		erase(d, oldest);
		d->ring_head = (d->ring_head + 1) % d->window;
		d->ring_count--;
		/* the erase may have shifted keys into our probe path: find a free slot again */
		for (i = (uint32_t)key & d->mask; d->table[i]; i = (i + 1) & d->mask)
			;
	}
	d->table[i] = key;
	d->ring[(d->ring_head + d->ring_count) % d->window] = key;
	d->ring_count++;
	return false;
}
