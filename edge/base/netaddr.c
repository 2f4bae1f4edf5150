/*
 * netaddr.c - address lists and the client behind trusted proxies.
 * Owns: the text forms of addresses and networks. Must not: touch sockets or headers (the server
 * layer reads X-Forwarded-For and hands the text over).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "mqedge/base/netaddr.h"

/* Parses one address (no prefix) into the 16-byte form; false when it is not one. */
static bool parse_addr(const char *text, size_t len, uint8_t out[16], bool *v4)
{
	char buf[NETADDR_TEXT_MAX + 1];
	struct in_addr a4;

	if (!len || len > NETADDR_TEXT_MAX)
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4 = true;
		return true;
	}
	*v4 = false;
	return inet_pton(AF_INET6, buf, out) == 1;
}

static const char *trim(const char *s, size_t *len)
{
	while (*len && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

int netaddr_list_parse(const char *text, struct netaddr_list *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	for (const char *p = text ? text : ""; *p;) {
		size_t len = strcspn(p, ","), alen;
		const char *item = trim(p, &len), *slash = memchr(item, '/', len);
		struct netaddr_net *n;
		bool v4;

		p += strcspn(p, ",");
		if (*p)
			p++;
		if (!len)
			continue;
		if (out->count == NETADDR_LIST_MAX) {
			snprintf(err, errlen, "more than %d networks", NETADDR_LIST_MAX);
			return -1;
		}
		n = &out->nets[out->count];
		alen = slash ? (size_t)(slash - item) : len;
		if (!parse_addr(item, alen, n->addr, &v4)) {
			snprintf(err, errlen, "'%.*s' is not an IP address or network", (int)len, item);
			return -1;
		}
		n->prefix = 128;
		if (slash) {
			unsigned bits = 0, max = v4 ? 32 : 128;
			size_t digits = len - alen - 1;

			for (size_t i = 0; i < digits; i++) {
				char c = slash[1 + i];

				if (c < '0' || c > '9' || bits > 128) {
					digits = 0;
					break;
				}
				bits = bits * 10 + (unsigned)(c - '0');
			}
			if (!digits || bits > max) {
				snprintf(err, errlen, "'%.*s': the prefix must be 0-%u bits", (int)len, item, max);
				return -1;
			}
			n->prefix = (uint8_t)(v4 ? 96 + bits : bits);
		}
		out->count++;
	}
	return 0;
}

static bool in_net(const struct netaddr_net *n, const uint8_t a[16])
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (memcmp(n->addr, a, full))
		return false;
	return !rest || ((n->addr[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool contains(const struct netaddr_list *l, const char *text, size_t len, bool *valid)
{
	uint8_t a[16];
	bool v4;

	*valid = parse_addr(text, len, a, &v4);
	for (size_t i = 0; *valid && i < l->count; i++)
		if (in_net(&l->nets[i], a))
			return true;
	return false;
}

bool netaddr_list_contains(const struct netaddr_list *l, const char *addr)
{
	bool valid;

	return contains(l, addr, strlen(addr), &valid);
}

static const char *copy_out(char *out, size_t outlen, const char *s, size_t len)
{
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

const char *netaddr_client(const struct netaddr_list *trusted, const char *peer, const char *xff, char *out,
			   size_t outlen)
{
	const char *best = peer;
	size_t best_len = strlen(peer), end;
	bool valid;

	if (!outlen)
		return out;
	if (!xff || !contains(trusted, peer, best_len, &valid))
		return copy_out(out, outlen, best, best_len);
	/* from the right: each hop appended what it saw; stop at the first we do not trust */
	for (end = strlen(xff); end > 0;) {
		size_t start = end, len;
		const char *item;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		len = end - start;
		item = trim(xff + start, &len);
		end = start ? start - 1 : 0;
		if (!len)
			continue;
		if (!contains(trusted, item, len, &valid)) {
			if (valid)
				return copy_out(out, outlen, item, len);
			break;	/* garbage from an untrusted hop: keep the last trusted address */
		}
		best = item;
		best_len = len;
	}
	return copy_out(out, outlen, best, best_len);
}
