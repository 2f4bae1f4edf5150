/*
 * edge_list.h - private to edge/server: every edge's latest retained status
 * ({prefix}/edge/{edge}/status, this edge's own included), as GET /api/v1/info shows it. Pure
 * bookkeeping over the payloads the live bridge hands over (dispatch.c); no broker, no sockets.
 */
#ifndef MQEDGE_EDGE_LIST_H
#define MQEDGE_EDGE_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/strmap.h"
#include "mqedge/base/textbuf.h"

struct edge_list {
	struct strmap edges;		/* edge id -> struct api_status */
	uint64_t malformed;		/* statuses that could not be read (ignored) */
};

void edge_list_init(struct edge_list *l);
void edge_list_fini(struct edge_list *l);
/* edge's retained status (empty: cleared, the edge is forgotten). */
void edge_list_on_status(struct edge_list *l, const char *edge, const void *payload, size_t len);
/* The GET /api/v1/info body: the edges whose latest status is online, by id, at time now (ms). */
void edge_list_info(const struct edge_list *l, int64_t now, struct textbuf *out);

#endif
