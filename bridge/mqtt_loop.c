/*
 * mqtt_loop.c - the only bridge file that knows libwebsockets: adopts the MQTT socket as an lws
 * RAW_FILE descriptor and keeps the bridge's timers on lws's scheduler.
 * Owns: the adopted wsi and its fd. Must not: read or write the socket (the MQTT client does).
 */
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "mqedge/base/log.h"
#include "mqedge/bridge/bridge_lws.h"
#include "mqtt_loop.h"

#define PROTOCOL_NAME "mqedge-mqtt"

struct mqtt_loop {
	struct lws_vhost *vh;
	struct lws_context *context;
	struct lws *wsi;		/* the adopted fd, or NULL */
	bool in_callback;		/* inside a callback for wsi */
	bool detach_pending;		/* close wsi when that callback returns */
	struct mqtt_loop_ops ops;
	void *ctx;
	struct timer_slot {
		lws_sorted_usec_list_t sul;
		struct mqtt_loop *loop;
	} timers[MQTT_TIMER_COUNT];
};

static int callback_mqtt_loop(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct mqtt_loop *l = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (!l || l->wsi != wsi)
			return -1;	/* a wsi we already let go of */
		l->in_callback = true;
		if (reason == LWS_CALLBACK_RAW_RX_FILE)
			l->ops.on_readable(l->ctx);
		else
			l->ops.on_writable(l->ctx);
		l->in_callback = false;
		if (l->detach_pending) {
			l->detach_pending = false;
			l->wsi = NULL;
			return -1;	/* lws closes the fd */
		}
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (l && l->wsi == wsi)
			l->wsi = NULL;
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocol = {
	PROTOCOL_NAME, callback_mqtt_loop, 0, 0, 0, NULL, 0,
};

/* Where bridges live: the context whose loop runs them and the vhost their sockets join. */
struct bridge_loop {
	struct lws_context *context;
	struct lws_vhost *vh;
};

const struct lws_protocols *bridge_lws_protocol(void)
{
	return &protocol;
}

struct bridge_loop *bridge_loop_lws(struct lws_context *context, struct lws_vhost *vh)
{
	struct bridge_loop *bl = calloc(1, sizeof(*bl));

	if (bl) {
		bl->context = context;
		bl->vh = vh;
	}
	return bl;
}

void bridge_loop_free(struct bridge_loop *bl)
{
	free(bl);
}

static void on_sul(lws_sorted_usec_list_t *sul)
{
	struct timer_slot *slot = lws_container_of(sul, struct timer_slot, sul);
	struct mqtt_loop *l = slot->loop;

	l->ops.on_timer(l->ctx, (enum mqtt_timer)(slot - l->timers));
}

struct mqtt_loop *mqtt_loop_create(struct bridge_loop *bl, const struct mqtt_loop_ops *ops, void *ctx)
{
	struct mqtt_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->vh = bl->vh;
	l->context = bl->context;
	l->ops = *ops;
	l->ctx = ctx;
	for (int i = 0; i < MQTT_TIMER_COUNT; i++)
		l->timers[i].loop = l;
	return l;
}

void mqtt_loop_destroy(struct mqtt_loop *l)
{
	if (!l)
		return;
	for (int i = 0; i < MQTT_TIMER_COUNT; i++)
		lws_sul_cancel(&l->timers[i].sul);
	mqtt_loop_detach(l);
	free(l);
}

int mqtt_loop_attach(struct mqtt_loop *l, int fd)
{
	lws_sock_file_fd_type desc;
	struct lws *wsi;

	mqtt_loop_detach(l);
	desc.filefd = fd;
	wsi = lws_adopt_descriptor_vhost(l->vh, LWS_ADOPT_RAW_FILE_DESC, desc, PROTOCOL_NAME, NULL);
	if (!wsi) {
		log_error("mqtt_adopt_failed", "fd=%d", fd);
		close(fd);
		return -1;
	}
	lws_set_opaque_user_data(wsi, l);
	l->wsi = wsi;
	l->detach_pending = false;
	return 0;
}

void mqtt_loop_detach(struct mqtt_loop *l)
{
	struct lws *wsi = l->wsi;

	if (!wsi)
		return;
	if (l->in_callback) {
		l->detach_pending = true;
		return;
	}
	l->wsi = NULL;
	/* not from inside its own callback: have lws close it on its next pass */
	lws_set_opaque_user_data(wsi, NULL);
	lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, LWS_TO_KILL_ASYNC);
}

void mqtt_loop_want_write(struct mqtt_loop *l)
{
	if (l->wsi && !l->detach_pending)
		lws_callback_on_writable(l->wsi);
}

void mqtt_loop_timer(struct mqtt_loop *l, enum mqtt_timer which, int64_t ms)
{
	if (ms < 0)
		lws_sul_cancel(&l->timers[which].sul);
	else
		lws_sul_schedule(l->context, 0, &l->timers[which].sul, on_sul, ms * LWS_US_PER_MS);
}
