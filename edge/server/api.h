/*
 * api.h - private to edge/server: the server HTTP API (docs/PROTOCOL.md section 8, "Server API"):
 * POST /api/v1/publish, /broadcast, /disconnect and GET /api/v1/info. http.c checks method, key
 * and size and hands over a complete body with a callback; the answer comes at once (a refusal)
 * or after the broker's PUBACKs. (GET /api/v1/info is edge_list.h's.)
 */
#ifndef MQEDGE_API_H
#define MQEDGE_API_H

#include <stddef.h>
#include <stdint.h>

#include "api_state.h"
#include "edge.h"
#include "mqedge/base/textbuf.h"

void api_init(struct api *a);
/* Frees what is left: call after the bridge gave back its cookies. */
void api_fini(struct api *a);

/* The endpoint of path, or -1. */
int api_endpoint_of(const char *path);
/* "publish", ... for logs and labels; path: "/api/v1/publish". */
const char *api_endpoint_name(enum api_endpoint ep);
const char *api_endpoint_path(enum api_endpoint ep);

/* Answers a POST to publish, broadcast or disconnect: done(ctx, status, json, len) exactly once,
 * now or later; api_cancel(ctx) stops a pending call (the client went away). */
typedef void (*api_done_fn)(void *ctx, unsigned status, const char *json, size_t len);
void api_submit(struct edge *e, enum api_endpoint ep, const char *body, size_t len, api_done_fn done, void *ctx);
void api_cancel(struct edge *e, void *ctx);

#endif
