/*
 * server.h - private to edge/: the process-wide state that libwebsockets callbacks reach through
 * lws_context_user(), and the pieces server.c and ws_session.c share.
 */
#ifndef MQEDGE_SERVER_H
#define MQEDGE_SERVER_H

#include <libwebsockets.h>

#include "edge.h"
#include "notify.h"

/* Largest batch of queued frames sent in one write. */
#define SERVER_WRITE_BATCH (64 * 1024)

struct server {
	struct edge edge;
	struct edge_config *cfg;
	struct lws_context *context;
	struct lws_vhost *vh_ws, *vh_wss;
	struct bridge *bridge;		/* live traffic: rooms, users, devices */
	struct notify notify;
	struct bridge *inbox_bridge;	/* the inbox's own persistent session */
	lws_sorted_usec_list_t sul_tick;
	uint64_t trimmed_at_opened;	/* connections_opened at the last malloc_trim */
	int64_t trimmed_at_us;
	unsigned char *write_buf;	/* LWS_PRE + SERVER_WRITE_BATCH, reused by every batched write */

	/* identity verified in HTTP_CONFIRM_UPGRADE, picked up by FILTER_PROTOCOL_CONNECTION of the
	 * same wsi in the same service call (lws re-creates the per-session struct in between) */
	struct {
		struct lws *wsi;
		struct identity ident;
	} stash;

	struct ev_loop *ev_loop;	/* the foreign libev loop (event-loop = epoll), or NULL */
	int signal_fd;
	bool stopping, done;
	int64_t stop_deadline_us;
	lws_sorted_usec_list_t sul_stop;
};

/* The WebSocket + HTTP protocol (ws_session.c). */
extern const struct lws_protocols ws_session_protocol;
#define WS_SESSION_PROTOCOL_NAME "mqedge.v1"

/* Renders /metrics into a malloc'd buffer (metrics.c); *len gets its length. NULL on OOM. */
char *metrics_render(const struct server *srv, size_t *len);

/* Tunes a TLS vhost's OpenSSL SSL_CTX (passed as void *) for many idle connections. Returns 0. */
int server_tune_tls(void *ssl_ctx);

/* Starts the graceful stop (server.c): close sessions with 1001, stop the bridge, exit. */
void server_begin_shutdown(struct server *srv, const char *why);

#endif
