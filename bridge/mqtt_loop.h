/*
 * mqtt_loop.h - private to bridge/: watch one socket and two timers on the edge's lws loop.
 *
 * The MQTT client knows nothing about libwebsockets; it hands this adapter a duplicate of its
 * socket and gets readable/writable/timer callbacks back. (hiredis adapters plug a client into a
 * foreign loop the same way.)
 */
#ifndef MQEDGE_MQTT_LOOP_H
#define MQEDGE_MQTT_LOOP_H

#include <stdint.h>

struct bridge_loop;
struct mqtt_loop;

enum mqtt_timer { MQTT_TIMER_MISC = 0, MQTT_TIMER_RECONNECT = 1, MQTT_TIMER_COUNT };

struct mqtt_loop_ops {
	void (*on_readable)(void *ctx);
	void (*on_writable)(void *ctx);
	void (*on_timer)(void *ctx, enum mqtt_timer which);
};

/* A watcher on the loop of bl (bridge_lws.h). NULL on OOM. */
struct mqtt_loop *mqtt_loop_create(struct bridge_loop *bl, const struct mqtt_loop_ops *ops, void *ctx);
void mqtt_loop_destroy(struct mqtt_loop *l);

/* Watches fd (ownership passes to the loop, which closes it on detach). Returns 0 or -1 (fd is
 * closed either way). Any previous fd is detached first. */
int mqtt_loop_attach(struct mqtt_loop *l, int fd);
/* Stops watching and closes the fd: at once, or when the current callback for it returns. */
void mqtt_loop_detach(struct mqtt_loop *l);
/* Asks for one on_writable call when the socket can take data. */
void mqtt_loop_want_write(struct mqtt_loop *l);
/* Arms a one-shot timer in ms (re-arming replaces it); ms < 0 cancels it. */
void mqtt_loop_timer(struct mqtt_loop *l, enum mqtt_timer which, int64_t ms);


#endif
