/*
 * edge.h - private to edge/server: the process's state, one struct passed explicitly (the lws
 * context's user pointer leads to it from every callback). Data only: each field's owner is the
 * module named beside it. No libwebsockets type is embedded here, so dispatch.c stays testable
 * without a socket.
 */
#ifndef MQEDGE_EDGE_H
#define MQEDGE_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_state.h"
#include "auth.h"
#include "config.h"
#include "edge_list.h"
#include "heartbeat.h"
#include "mqedge/base/idgen.h"
#include "mqedge/fanout/fanout.h"
#include "mqedge/history/history.h"
#include "mqedge/inbox/notify.h"
#include "mqedge/presence/presence.h"
#include "mqedge/rpc/rpc.h"
#include "revocations.h"
#include "tls.h"

struct lws;
struct lws_context;
struct lws_vhost;
struct bridge;
struct bridge_loop;
struct bridge_sub;

/* Largest batch of queued frames sent in one write (ws_session.c). */
#define EDGE_WRITE_BATCH (64 * 1024)

/* Counters of the process layer exported by /metrics (fan-out and inbox keep their own). */
struct edge_stats {
	uint64_t connections_opened;
	uint64_t sessions_user, sessions_device;	/* gauges */
	uint64_t frames_in;
	uint64_t auth_failures, handshake_rejects;
	uint64_t rate_limited, closed_flood, closed_oversize, closed_bad_utf8, closed_expired;
	uint64_t wss_full, wss_resumed;	/* wss sessions by TLS handshake: full, or a resumed session */
};

struct board;

struct edge {
	struct edge_config *cfg;		/* main.c */
	struct lws_context *context;		/* server.c */
	struct lws_vhost *vh_ws, *vh_wss;	/* server.c */
	struct bridge_loop *bridge_loop;	/* server.c */
	struct bridge *bridge;			/* server.c: live traffic (rooms, users, devices) */
	struct bridge *inbox_bridge;		/* server.c: the inbox's own persistent session */
	struct auth *auth;			/* server.c creates, auth.c */
	struct tls_tickets tickets;		/* server.c sets up, tls.c: wss session tickets */
	struct hb_wheel heartbeats;		/* ws_session.c: every session's next PING or PING deadline */
	struct idgen ids;			/* message and session ids */
	struct fanout fanout;			/* delivery to sessions */
	struct notify notify;			/* the offline inbox */
	struct presence presence;		/* who is in presence rooms, across edges */
	struct history history;			/* history rooms' windows, resume */
	struct rpc rpc;				/* rpc calls in flight */
	struct api api;				/* api.c: server API calls in flight */
	struct edge_list edge_list;		/* edge_list.c: every edge's latest status (GET /api/v1/info) */
	struct revocations revocations;		/* revocations.c: users whose older tokens are refused */
	struct bridge_sub *revoke_sub, *sync_sub;	/* server.c subscribes; dispatch.c waits for both SUBACKs */
	int64_t boot_ms;			/* start time of this run (status, presence lists) */
	bool draining;				/* server.c: stopping; new connections refused */
	struct board *board;			/* supervisor.c's board (--workers), or NULL: one process */
	unsigned char *write_buf;		/* ws_session.c: LWS_PRE + EDGE_WRITE_BATCH, for batched writes */
	/* ws_session.c: the identity verified in HTTP_CONFIRM_UPGRADE, picked up by
	 * FILTER_PROTOCOL_CONNECTION of the same wsi in the same service call */
	struct {
		struct lws *wsi;
		struct identity ident;
	} stash;
	struct edge_stats stats;
	/* dispatch.c: the broker sessions' continuity. A live session that comes back without its
	 * session (another broker of the list, or one that lost it) is a gap: sessions are told once
	 * both broker sessions are up again (the resync frame). server.c sets failover. */
	struct {
		int64_t lost_ms;	/* when the live session went down; 0 while up */
		int64_t since_ms;	/* start of the gap the pending resync reports */
		bool ever_up;		/* the live session was up once in this process */
		bool pending;		/* a resync waits for both sessions */
		bool failover;		/* the gap came from a move to another broker */
		uint64_t resyncs;	/* gaps reported */
		uint64_t frames;	/* resync frames sent */
	} continuity;
};

#endif
