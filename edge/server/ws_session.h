/*
 * ws_session.h - private to edge/server: the one libwebsockets protocol of the edge's listeners
 * (WebSocket sessions at /ws, and HTTP requests, handed to http.c), and the peer_ops through
 * which fan-out reaches those sessions' sockets.
 */
#ifndef MQEDGE_WS_SESSION_H
#define MQEDGE_WS_SESSION_H

#include "mqedge/fanout/fanout.h"

struct lws_protocols;

#define WS_SESSION_PROTOCOL_NAME "mqedge.v1"

/* The protocol for the vhosts' protocol lists. */
const struct lws_protocols *ws_session_protocol(void);
struct edge;

#define WS_HEARTBEAT_TICK_MS 100	/* the heartbeat wheel's tick: PINGs at most this late */

/* Sends the PINGs and drops the silent connections that came due (every tick, server.c). */
void ws_session_heartbeats(struct edge *e);

/* How fan-out asks a session's socket for a write, writes, and closes (for fanout_init). */
extern const struct peer_ops ws_session_peer_ops;

#endif
