/*
 * bridge_lws.h - puts bridges on a libwebsockets loop. Only the process assembly (server.c)
 * includes this; the bridge's contract (bridge.h) names no libwebsockets type.
 *
 * Each bridge adopts a duplicate of its MQTT socket into vh as a raw descriptor of the protocol
 * below, and runs its timers on the context's scheduler.
 */
#ifndef MQEDGE_BRIDGE_LWS_H
#define MQEDGE_BRIDGE_LWS_H

struct lws_context;
struct lws_vhost;
struct lws_protocols;
struct bridge_loop;

/* The lws protocol bridges' sockets are adopted under; add it to the vhost's protocol list. */
const struct lws_protocols *bridge_lws_protocol(void);
/* A loop for bridge_create on context, adopting sockets into vh. NULL on OOM; free it with
 * bridge_loop_free after the bridges on it are destroyed. */
struct bridge_loop *bridge_loop_lws(struct lws_context *context, struct lws_vhost *vh);
void bridge_loop_free(struct bridge_loop *bl);

#endif
