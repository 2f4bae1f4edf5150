/*
 * strmap.c - string-keyed hash map with chaining (strmap.h). Owns its entries and the copied
 * keys, never the values.
 */
#include <stdlib.h>
#include <string.h>

#include "mqedge/base/siphash.h"
#include "mqedge/base/strmap.h"

static struct strmap_entry **slot(const struct strmap *m, const char *key, uint64_t h)
{
	struct strmap_entry **pp = &m->buckets[h & (m->n_buckets - 1)];

	while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key)))
		pp = &(*pp)->next;
	return pp;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry **pp;

	if (!m->count)
		return NULL;
	pp = slot(m, key, siphash(key, strlen(key)));
	return *pp ? (*pp)->value : NULL;
}

static void grow(struct strmap *m)
{
	size_t n = m->n_buckets ? m->n_buckets * 2 : 16;
	struct strmap_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return;	/* longer chains, still correct */
	for (size_t i = 0; i < m->n_buckets; i++) {
		for (struct strmap_entry *e = m->buckets[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

struct strmap_entry *strmap_put(struct strmap *m, const char *key)
{
	size_t len = strlen(key);
	uint64_t h = siphash(key, len);
	struct strmap_entry **pp, *e;

	if (m->count >= m->n_buckets)
		grow(m);
	if (!m->buckets)
		return NULL;
	pp = slot(m, key, h);
	if (*pp)
		return *pp;
	e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	e->hash = h;
	memcpy(e->key, key, len + 1);
	*pp = e;
	m->count++;
	return e;
}

void *strmap_del(struct strmap *m, const char *key)
{
	struct strmap_entry **pp, *e;
	void *v;

	if (!m->count)
		return NULL;
	pp = slot(m, key, siphash(key, strlen(key)));
	e = *pp;
	if (!e)
		return NULL;
	*pp = e->next;
	v = e->value;
	free(e);
	m->count--;
	return v;
}

void strmap_each(const struct strmap *m, void (*fn)(void *ctx, const char *key, void *value), void *ctx)
{
	for (size_t i = 0; i < m->n_buckets; i++)
		for (struct strmap_entry *e = m->buckets[i]; e; e = e->next)
			fn(ctx, e->key, e->value);
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		for (struct strmap_entry *e = m->buckets[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->n_buckets = m->count = 0;
}
