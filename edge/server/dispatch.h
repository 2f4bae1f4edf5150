/*
 * dispatch.h - private to edge/server: what the edge does with a session's life and its ops.
 * Permissions, joins and leaves (first member subscribes on the broker, last unsubscribes),
 * publishes whose ok waits for the broker's PUBACK, token refresh, and the inbox ops handed to
 * the inbox subsystem. Replies go out through fan-out; nothing here touches a socket.
 */
#ifndef MQEDGE_DISPATCH_H
#define MQEDGE_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "edge.h"
#include "session.h"

/* The channel hooks for fanout_init (ctx: the edge): subscribe on first member, unsubscribe on
 * the last leaving. */
extern const struct channels_hooks dispatch_channel_hooks;

/* A session with an authenticated identity (or none, when anonymous): names it, joins its own
 * channel, sends welcome and the unread backlog. Returns 0, or a negative error when it cannot be
 * served (the caller closes it with 1011). */
int dispatch_session_open(struct edge *e, struct session *s);
/* The session's socket is gone: leave every channel, orphan pending acks, release the identity. */
void dispatch_session_closed(struct edge *e, struct session *s);
/* One complete client text frame. */
void dispatch_frame(struct edge *e, struct session *s, const char *text, size_t len);
/* How many sessions of this user (or device) are on this edge. */
uint32_t dispatch_user_connections(struct edge *e, const struct identity *id);
/* How many sessions of user (kind user) on this edge are open and not closing. */
uint32_t dispatch_user_connections_by_id(struct edge *e, const char *user);
/* Closes every session of user (kind user) on this edge with code and reason (copied). Returns
 * how many it closed (sessions already closing are left alone). */
uint32_t dispatch_disconnect(struct edge *e, const char *user, uint16_t code, const char *reason);
/* Whether a user token issued at iat is refused: the user's revocation (token_revoked). */
bool dispatch_token_revoked(struct edge *e, const struct identity *id);

/* The live bridge's hooks (ctx: the edge): broker messages and burst ends go to fan-out. */
void dispatch_on_message(void *ctx, const char *topic, size_t topic_len, const void *payload, size_t len,
			 bool retained, const struct bridge_msg_props *props);
void dispatch_on_batch_done(void *ctx);
void dispatch_on_state(void *ctx, bool up);
/* Sends the pending resync frame to every session once both broker sessions are up (the live
 * session's on_state and the inbox session's call it). */
void dispatch_resync_check(struct edge *e);
void dispatch_on_published(void *ctx, void *cookie, int status);
void dispatch_on_subscribed(void *ctx, void *user);

#endif
