/*
 * test_netaddr.c - edge/base/netaddr.c: address lists as operators write them, and the client
 * behind trusted proxies (X-Forwarded-For), including what a client may forge.
 */
#include <string.h>

#include "check.h"
#include "mqedge/base/netaddr.h"

static const char *client(const char *trusted, const char *peer, const char *xff)
{
	static char out[NETADDR_TEXT_MAX + 1];
	struct netaddr_list l;
	char err[128];

	if (netaddr_list_parse(trusted, &l, err, sizeof(err)))
		return "PARSE ERROR";
	return netaddr_client(&l, peer, xff, out, sizeof(out));
}

int main(void)
{
	struct netaddr_list l;
	char err[128];

	/* parsing */
	CHECK(netaddr_list_parse("", &l, err, sizeof(err)) == 0 && l.count == 0);
	CHECK(netaddr_list_parse(NULL, &l, err, sizeof(err)) == 0 && l.count == 0);
	CHECK(netaddr_list_parse(" 127.0.0.1 , 10.0.0.0/8,::1, fd00::/8 ,", &l, err, sizeof(err)) == 0 && l.count == 4);
	CHECK(netaddr_list_parse("10.0.0.0/33", &l, err, sizeof(err)) == -1 && strstr(err, "0-32"));
	CHECK(netaddr_list_parse("::/129", &l, err, sizeof(err)) == -1 && strstr(err, "0-128"));
	CHECK(netaddr_list_parse("10.0.0.0/", &l, err, sizeof(err)) == -1);
	CHECK(netaddr_list_parse("10.0.0.0/8x", &l, err, sizeof(err)) == -1);
	CHECK(netaddr_list_parse("10.0.0.0/99999999999", &l, err, sizeof(err)) == -1);
	CHECK(netaddr_list_parse("localhost", &l, err, sizeof(err)) == -1 && strstr(err, "'localhost'"));
	CHECK(netaddr_list_parse("1.2.3", &l, err, sizeof(err)) == -1);

	/* membership, IPv4 also as IPv4-mapped IPv6 (a dual-stack socket's view) */
	CHECK(netaddr_list_parse("10.0.0.0/8, 192.168.1.7, 2001:db8::/32, 0.0.0.0/0x", &l, err, sizeof(err)) == -1);
	CHECK(netaddr_list_parse("10.0.0.0/8, 192.168.1.7, 2001:db8::/32, 172.16.0.0/12", &l, err, sizeof(err)) == 0);
	CHECK(netaddr_list_contains(&l, "10.1.2.3"));
	CHECK(netaddr_list_contains(&l, "::ffff:10.1.2.3"));
	CHECK(!netaddr_list_contains(&l, "11.0.0.1"));
	CHECK(netaddr_list_contains(&l, "192.168.1.7"));
	CHECK(!netaddr_list_contains(&l, "192.168.1.8"));
	CHECK(netaddr_list_contains(&l, "172.31.255.255"));
	CHECK(!netaddr_list_contains(&l, "172.32.0.0"));
	CHECK(netaddr_list_contains(&l, "2001:db8:1::5"));
	CHECK(!netaddr_list_contains(&l, "2001:db9::5"));
	CHECK(!netaddr_list_contains(&l, "not an address"));
	CHECK(!netaddr_list_contains(&l, ""));
	CHECK(netaddr_list_parse("0.0.0.0/0", &l, err, sizeof(err)) == 0);
	CHECK(netaddr_list_contains(&l, "8.8.8.8") && !netaddr_list_contains(&l, "2001:db8::1"));

	/* the client behind proxies */
	CHECK_STR(client("", "127.0.0.2", "203.0.113.7"), "127.0.0.2");	/* nobody trusted: the peer */
	CHECK_STR(client("127.0.0.1", "127.0.0.3", "203.0.113.9"), "127.0.0.3");	/* untrusted peer: forged XFF ignored */
	CHECK_STR(client("127.0.0.1", "127.0.0.1", NULL), "127.0.0.1");	/* a trusted peer without XFF */
	CHECK_STR(client("127.0.0.1", "127.0.0.1", "127.0.0.2"), "127.0.0.2");
	/* a client's forged entry is left of what our proxy saw: never taken */
	CHECK_STR(client("127.0.0.1", "127.0.0.1", "203.0.113.7, 127.0.0.2"), "127.0.0.2");
	/* two proxies of ours: the first untrusted hop from the right */
	CHECK_STR(client("127.0.0.1, 10.0.0.0/8", "127.0.0.1", "198.51.100.4,10.0.0.5"), "198.51.100.4");
	CHECK_STR(client("127.0.0.1, 10.0.0.0/8", "::ffff:127.0.0.1", " 198.51.100.4 , 10.0.0.5 "), "198.51.100.4");
	CHECK_STR(client("127.0.0.1", "127.0.0.1", "2001:db8::7"), "2001:db8::7");
	/* garbage: never returned; the walk stops at the last trusted address */
	CHECK_STR(client("127.0.0.1, 10.0.0.0/8", "127.0.0.1", "evil\nkey=1, 10.0.0.5"), "10.0.0.5");
	CHECK_STR(client("127.0.0.1", "127.0.0.1", "x=1 y=2"), "127.0.0.1");
	CHECK_STR(client("127.0.0.1", "127.0.0.1", ",,, ,"), "127.0.0.1");
	CHECK_STR(client("127.0.0.1", "127.0.0.1", ""), "127.0.0.1");
	/* every entry trusted: the leftmost */
	CHECK_STR(client("127.0.0.0/8", "127.0.0.1", "127.0.0.9, 127.0.0.8"), "127.0.0.9");
	return CHECK_DONE();
}
