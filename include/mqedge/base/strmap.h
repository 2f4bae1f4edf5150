/*
 * strmap.h - a hash map from short strings (ids) to caller values, keyed with the process's
 * random SipHash key (keys come from the network). The map copies keys; values are the caller's.
 */
#ifndef MQEDGE_STRMAP_H
#define MQEDGE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_entry {
	struct strmap_entry *next;
	uint64_t hash;
	void *value;
	char key[];		/* NUL-terminated copy */
};

struct strmap {
	struct strmap_entry **buckets;	/* n_buckets, a power of two; NULL until the first put */
	size_t n_buckets, count;
};

/* The value for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* The entry for key, created (value NULL) when absent. NULL on OOM. */
struct strmap_entry *strmap_put(struct strmap *m, const char *key);
/* Removes key; returns its value (the caller frees what it owns), or NULL. */
void *strmap_del(struct strmap *m, const char *key);
/* Calls fn for every entry (fn must not add or remove). */
void strmap_each(const struct strmap *m, void (*fn)(void *ctx, const char *key, void *value), void *ctx);
/* Frees the map's memory (not the values). */
void strmap_free(struct strmap *m);

#endif
