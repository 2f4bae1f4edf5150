/*
 * edge_list.c - every edge's latest retained status (edge_list.h). Owns: the map and its values.
 * Must not: subscribe or publish (server.c subscribes, dispatch.c hands the messages over); the
 * status and info formats are wire/api_body.c's and wire/server_api.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "edge_list.h"
#include "mqedge/wire/api_body.h"
#include "mqedge/wire/server_api.h"

void edge_list_init(struct edge_list *l)
{
	*l = (struct edge_list){ 0 };
}

static void free_value(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	free(value);
}

void edge_list_fini(struct edge_list *l)
{
	strmap_each(&l->edges, free_value, NULL);
	strmap_free(&l->edges);
}

void edge_list_on_status(struct edge_list *l, const char *edge, const void *payload, size_t len)
{
	struct api_status st;
	struct strmap_entry *e;

	if (!len) {
		free(strmap_del(&l->edges, edge));
		return;
	}
	if (api_body_status_read(payload, len, &st) || strcmp(st.edge, edge)) {
		l->malformed++;
		return;
	}
	e = strmap_put(&l->edges, edge);
	if (!e)
		return;	/* out of memory: this status is not shown */
	if (!e->value && !(e->value = malloc(sizeof(st)))) {
		strmap_del(&l->edges, edge);
		return;
	}
	memcpy(e->value, &st, sizeof(st));
}

struct collect {
	struct server_api_edge *list;
	size_t n, cap;
};

static void collect_online(void *ctx, const char *key, void *value)
{
	struct collect *c = ctx;
	const struct api_status *st = value;

	(void)key;
	if (!st->online || c->n == c->cap)
		return;
	c->list[c->n++] = (struct server_api_edge){ st->edge, st->version, st->connections, st->boot, st->ts };
}

static int by_edge(const void *a, const void *b)
{
	return strcmp(((const struct server_api_edge *)a)->edge, ((const struct server_api_edge *)b)->edge);
}

void edge_list_info(const struct edge_list *l, int64_t now, struct textbuf *out)
{
	struct collect c = { NULL, 0, l->edges.count };

	c.list = calloc(c.cap ? c.cap : 1, sizeof(*c.list));
	if (!c.list) {
		out->oom = true;
		return;
	}
	strmap_each(&l->edges, collect_online, &c);
	qsort(c.list, c.n, sizeof(*c.list), by_edge);
	server_api_info_body(out, c.list, c.n, now);
	free(c.list);
}
