/*
 * netaddr.h - IP addresses and networks as operators write them ("10.0.0.0/8, 127.0.0.1, ::1"),
 * and the client address behind trusted reverse proxies (X-Forwarded-For). Pure: text in, text
 * out, no sockets.
 */
#ifndef MQEDGE_NETADDR_H
#define MQEDGE_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETADDR_LIST_MAX 32
#define NETADDR_TEXT_MAX 46	/* INET6_ADDRSTRLEN */

struct netaddr_net {
	uint8_t addr[16];	/* IPv4 as ::ffff:a.b.c.d, so one compare serves both */
	uint8_t prefix;		/* bits of addr that must match, 0..128 */
};

struct netaddr_list {
	struct netaddr_net nets[NETADDR_LIST_MAX];
	size_t count;
};

/* Parses a comma-separated list of addresses and networks (ADDR or ADDR/BITS, IPv4 or IPv6);
 * blanks around items are ignored, an empty text is an empty list. 0, or -1 with the reason. */
int netaddr_list_parse(const char *text, struct netaddr_list *out, char *err, size_t errlen);

/* True when addr (text, IPv4, IPv6 or IPv4-mapped IPv6) is inside one of the list's networks. */
bool netaddr_list_contains(const struct netaddr_list *l, const char *addr);

/* The client's address for a connection from peer that carries the X-Forwarded-For header xff
 * (NULL: none): peer itself unless peer is trusted; then, walking xff from the right, the first
 * entry that is not trusted (each proxy appends the address it saw). A malformed entry stops the
 * walk: what a client wrote is never taken further than the nearest untrusted hop. Writes the
 * address to out (always NUL-terminated) and returns out. */
const char *netaddr_client(const struct netaddr_list *trusted, const char *peer, const char *xff, char *out,
			   size_t outlen);

#endif
