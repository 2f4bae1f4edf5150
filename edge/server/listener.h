/*
 * listener.h - private to edge/server: a worker's own listening sockets (listener.c).
 */
#ifndef MQEDGE_LISTENER_H
#define MQEDGE_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

#define LISTENER_PROTOCOL_NAME "mqedge-listener"

struct lws_protocols;
struct lws_vhost;

/* The raw-descriptor protocol whose callback accepts; listed in every vhost's protocol table. */
const struct lws_protocols *listener_lws_protocol(void);

/* Opens bind:port with SO_REUSEPORT (the kernel spreads new connections over every worker's
 * socket) and has the loop watch it: accepted sockets go to vh as if lws had accepted them.
 * *refuse is read at each accept (draining: close at once). Returns 0, or -1 with why in err. */
int listener_open(struct lws_vhost *vh, const char *bind_addr, long port, const bool *refuse, char *err,
		  size_t errlen);

/* Stops accepting on every listener of this process (the kernel then gives new connections to
 * the other workers; ones already queued on this socket are reset). */
void listener_close_all(void);

#endif
