/*
 * fuzz_netaddr.c - edge/base/netaddr.c: an operator's trusted-proxies list (config) and the
 * X-Forwarded-For header any client can send. Input: the list, a newline, the peer address, a
 * newline, the header (absent when there is no second newline).
 *
 * Invariants: parsing is deterministic and never yields more than NETADDR_LIST_MAX networks; the
 * client address is always NUL-terminated within the buffer and is either the peer or one entry
 * of the header, trimmed, that parses as an address (what a client wrote is never passed on
 * unless it is an address); with an empty list it is always the peer; a peer that is not trusted
 * is always returned as it is.
 */
#include "fuzz.h"
#include "mqedge/base/netaddr.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

/* True when s is one of the comma-separated, blank-trimmed items of xff. */
static bool is_item(const char *xff, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = xff; *p;) {
		size_t len = strcspn(p, ",");
		const char *q = p;
		size_t l = len;

		while (l && (*q == ' ' || *q == '\t')) {
			q++;
			l--;
		}
		while (l && (q[l - 1] == ' ' || q[l - 1] == '\t'))
			l--;
		if (l == n && !memcmp(q, s, n))
			return true;
		p += len;
		if (*p)
			p++;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size), *peer, *xff, out[NETADDR_TEXT_MAX + 1], err[160];
	struct netaddr_list l, again;
	const char *got;

	peer = strchr(text, '\n');
	if (!peer)
		goto done;
	*peer++ = '\0';
	xff = strchr(peer, '\n');
	if (xff)
		*xff++ = '\0';
	if (netaddr_list_parse(text, &l, err, sizeof(err))) {
		FUZZ_CHECK(err[0] != '\0');
		goto done;
	}
	FUZZ_CHECK(l.count <= NETADDR_LIST_MAX);
	FUZZ_CHECK(netaddr_list_parse(text, &again, err, sizeof(err)) == 0 && !memcmp(&l, &again, sizeof(l)));
	for (size_t i = 0; i < l.count; i++)
		FUZZ_CHECK(l.nets[i].prefix <= 128);
	memset(out, 'x', sizeof(out));
	got = netaddr_client(&l, peer, xff, out, sizeof(out));
	FUZZ_CHECK(got == out && memchr(out, '\0', sizeof(out)));
	if (!netaddr_list_contains(&l, peer) || !xff) {
		FUZZ_CHECK(!strncmp(out, peer, sizeof(out) - 1));
	} else if (strcmp(out, peer) != 0) {
		struct netaddr_list any;

		FUZZ_CHECK(is_item(xff, out));
		FUZZ_CHECK(netaddr_list_parse("0.0.0.0/0,::/0", &any, err, sizeof(err)) == 0);
		FUZZ_CHECK(netaddr_list_contains(&any, out));	/* an address, nothing else */
	}
	if (l.count == 0)
		FUZZ_CHECK(!strncmp(out, peer, sizeof(out) - 1));
done:
	free(text);
	return 0;
}
