/*
 * http.h - private to edge/server: the edge's HTTP surface on its WebSocket port: /healthz,
 * /readyz, /metrics, the notification API (POST /api/v1/notifications) and the server API
 * (api.h: publish, broadcast, disconnect, info). ws_session.c's
 * callback hands HTTP events here; an API request lives in a struct http_req hung off the
 * connection until answered.
 */
#ifndef MQEDGE_HTTP_H
#define MQEDGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "edge.h"

struct lws;
struct http_req;

/* A request for path: answers at once, or starts an API request in *req (its body follows).
 * Returns 0, or -1 to drop the connection. */
int http_on_request(struct edge *e, struct lws *wsi, struct http_req **req, const char *path);
/* A piece of the API request's body. Returns 0 or -1. */
int http_on_body(struct edge *e, struct lws *wsi, struct http_req *req, const char *in, size_t len);
/* The body is complete: hand it to the inbox, which answers now or after the broker's PUBACKs. */
int http_on_body_done(struct edge *e, struct http_req *req);
/* The connection is writable: send the answer if it is ready (then *req is freed). */
int http_on_writeable(struct edge *e, struct lws *wsi, struct http_req **req);
/* The connection is gone: stop a pending answer and free *req. */
void http_on_closed(struct edge *e, struct http_req **req);

/* Answers with {"error":code,"message":..} and status. complete: finish the HTTP transaction
 * here (not after HTTP_CONFIRM_UPGRADE, where lws does it). Returns 0, or -1 to drop it. */
int http_json_error(struct lws *wsi, unsigned status, const char *code, const char *message, bool complete);
/* 426 Upgrade Required with Sec-WebSocket-Version: 13 (RFC 6455 4.2.2), a JSON error body. */
int http_upgrade_required(struct lws *wsi);
/* The client's address for logs: the peer ("1.2.3.4" also on a dual-stack socket), or, when the
 * peer is a trusted proxy (trusted-proxies), the client its X-Forwarded-For names. Needs the
 * request headers: call it before the upgrade completes. */
/* Why this process is not ready for traffic (a /readyz error code), or NULL when it is. */
const char *http_not_ready_reason(const struct edge *e);

void http_client_addr(const struct edge *e, struct lws *wsi, char *buf, size_t len);

#endif
