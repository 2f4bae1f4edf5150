/*
 * listener.c - a worker's own listening sockets: SO_REUSEPORT, so the kernel spreads new
 * connections over the workers of a host, and their accepts, handed to libwebsockets
 * (lws_adopt_socket_vhost) as if its own listener had accepted them: TLS, the handshake and its
 * timeout are lws' from there. Debian's lws 4.1.6 is built with LWS_MAX_SMP 1, so its own listen
 * sharing is not available.
 * Owns: the listening descriptors. Must not: read or write a connection.
 */
#define _GNU_SOURCE	/* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"
#include "mqedge/base/log.h"

#define ACCEPTS_PER_WAKEUP 64	/* then back to the loop: others get their turn */
#define LISTEN_BACKLOG 4096
#define LISTENERS_MAX 2

struct listener {
	struct lws *wsi;	/* the adopted listening descriptor (lws closes it) */
	const bool *refuse;
	long port;
	struct log_limit limit_accept;	/* EMFILE can repeat on every wakeup */
};

static struct listener listeners[LISTENERS_MAX];
static size_t n_listeners;

static struct listener *listener_of(struct lws *wsi)
{
	for (size_t i = 0; i < n_listeners; i++)
		if (listeners[i].wsi == wsi)
			return &listeners[i];
	return NULL;
}

static void accept_ready(struct lws *wsi, struct listener *l)
{
	int fd, lfd = lws_get_socket_fd(wsi);

	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_limited(&l->limit_accept, LOG_ERROR, "accept_failed", "port=%ld errno=%d err=\"%s\"",
					    l->port, errno, strerror(errno));
			return;
		}
		if (*l->refuse) {
			close(fd);	/* draining: new connections go to the other workers */
			continue;
		}
		/* on failure lws has closed fd */
		if (!lws_adopt_socket_vhost(lws_get_vhost(wsi), fd))
			log_warn("accept_adopt_failed", "port=%ld", l->port);
	}
}

static int callback_listener(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct listener *l;

	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		l = listener_of(wsi);
		if (l)
			accept_ready(wsi, l);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		l = listener_of(wsi);
		if (l)
			l->wsi = NULL;
		return 0;
	default:
		return 0;
	}
}

const struct lws_protocols *listener_lws_protocol(void)
{
	static const struct lws_protocols p = { LISTENER_PROTOCOL_NAME, callback_listener, 0, 0, 0, NULL, 0 };

	return &p;
}

int listener_open(struct lws_vhost *vh, const char *bind_addr, long port, const bool *refuse, char *err,
		  size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	lws_sock_file_fd_type desc;
	int fd = -1, one = 1;
	struct listener *l;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, bind_addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		slen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, bind_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		slen = sizeof(struct sockaddr_in6);
	} else {
		snprintf(err, errlen, "%s is not an IP address", bind_addr);
		return -1;
	}
	if (n_listeners == LISTENERS_MAX) {
		snprintf(err, errlen, "too many listeners");
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) || bind(fd, (struct sockaddr *)&ss, slen) ||
	    listen(fd, LISTEN_BACKLOG))
		goto fail;
	l = &listeners[n_listeners];
	memset(l, 0, sizeof(*l));
	l->refuse = refuse;
	l->port = port;
	desc.filefd = fd;
	l->wsi = lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, desc, LISTENER_PROTOCOL_NAME, NULL);
	if (!l->wsi) {
		snprintf(err, errlen, "%s:%ld: the loop did not take the listening socket", bind_addr, port);
		close(fd);
		return -1;
	}
	n_listeners++;
	return 0;
fail:
	snprintf(err, errlen, "%s:%ld: %s", bind_addr, port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

void listener_close_all(void)
{
	for (size_t i = 0; i < n_listeners; i++) {
		struct lws *wsi = listeners[i].wsi;

		listeners[i].wsi = NULL;
		if (wsi) {
			/* shut the socket first: lws may close the descriptor later than this call */
			shutdown(lws_get_socket_fd(wsi), SHUT_RDWR);
			lws_set_timeout(wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
		}
	}
}
