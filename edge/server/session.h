/*
 * session.h - private to edge/server: one client connection as the process layer sees it. The
 * WebSocket side (ws_session.c) embeds it in its per-connection struct; dispatch.c acts on it;
 * fan-out sees only its peer.
 */
#ifndef MQEDGE_SESSION_H
#define MQEDGE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "mqedge/base/idgen.h"
#include "mqedge/bridge/bridge.h"
#include "mqedge/fanout/fanout.h"
#include "mqedge/rpc/rpc.h"
#include "mqedge/wire/client_frame.h"
#include "mqedge/wire/envelope.h"
#include "ratelimit.h"

/* A publish waiting for the broker's PUBACK before the client gets its ok. Owned by the bridge's
 * in-flight table (it is the cookie) and freed in dispatch_on_published; a closing session only
 * unlinks it. */
struct pending_ack {
	struct bridge_cookie cookie;		/* first: the live bridge's cookies say what they are */
	struct pending_ack *prev, *next;	/* in the session's list */
	struct session *session;		/* NULL once the session closed */
	int64_t ts;
	char ref[CLIENT_FRAME_REF_MAX + 3];
	char id[ENVELOPE_ID_MAX + 1];
};

struct session {
	struct peer peer;		/* fan-out's view: queue, memberships */
	struct identity ident;
	char id[IDGEN_SESSION_MAX];
	bool opened;			/* dispatch_session_open succeeded */
	uint32_t n_subs;		/* rooms and devices joined on request (max-rooms) */
	struct ratelimit rate, strikes;
	struct pending_ack *acks;
	struct rpc_caller rpc;		/* rpc calls in flight */
	uint16_t close_code;		/* decided close, sent from WRITEABLE */
	const char *close_reason;	/* static string, or close_text */
	char *close_text;		/* a reason given at run time (the disconnect API); freed on close */
};

static inline struct session *session_of_peer(struct peer *p)
{
	return (struct session *)((char *)p - offsetof(struct session, peer));
}

#endif
