/*
 * test_tls.c - the session ticket keys (edge/server/tls.c): derived keys agree across processes for
 * one secret and period and differ otherwise, the name carries the period, a ticket's key is found
 * for the current period and the previous one (renew) and for nothing else, the rotation keeps the
 * previous period, and short secrets are refused.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "tls.h"

#define SECRET_A "0123456789abcdef0123456789abcdef-a"
#define SECRET_B "0123456789abcdef0123456789abcdef-b"
#define ROTATE 3600

static void test_init(void)
{
	struct tls_tickets t;

	CHECK(tls_tickets_init(&t, true, "too short", ROTATE) == -1);
	CHECK(tls_tickets_init(&t, true, NULL, ROTATE) == -1);
	CHECK(tls_tickets_init(&t, false, NULL, ROTATE) == 0 && !t.enabled);
	CHECK(tls_tickets_init(&t, true, SECRET_A, ROTATE) == 0 && t.enabled && t.rotate_s == ROTATE);
}

static void test_derive(void)
{
	struct tls_tickets a1, a2, b;
	struct tls_ticket_key k1, k2, k3, kb;
	int64_t period = 493000;

	CHECK(tls_tickets_init(&a1, true, SECRET_A, ROTATE) == 0);
	CHECK(tls_tickets_init(&a2, true, SECRET_A, 60) == 0);	/* the period length is not in the keys */
	CHECK(tls_tickets_init(&b, true, SECRET_B, ROTATE) == 0);
	CHECK(tls_ticket_key_derive(&a1, period, &k1) == 0);
	CHECK(tls_ticket_key_derive(&a2, period, &k2) == 0);
	CHECK(tls_ticket_key_derive(&a1, period + 1, &k3) == 0);
	CHECK(tls_ticket_key_derive(&b, period, &kb) == 0);
	/* another process with the same secret: the same keys */
	CHECK(!memcmp(k1.name, k2.name, sizeof(k1.name)) && !memcmp(k1.aes, k2.aes, 32) && !memcmp(k1.mac, k2.mac, 32));
	/* the next period: all three differ */
	CHECK(memcmp(k1.name, k3.name, 8) && memcmp(k1.aes, k3.aes, 32) && memcmp(k1.mac, k3.mac, 32));
	/* another secret: all three differ */
	CHECK(memcmp(k1.name, kb.name, 8) && memcmp(k1.aes, kb.aes, 32) && memcmp(k1.mac, kb.mac, 32));
	/* the cipher and the MAC never share a key */
	CHECK(memcmp(k1.aes, k1.mac, 32));
	/* the name ends with the period, big-endian */
	{
		int64_t p = 0;

		for (int i = 8; i < 16; i++)
			p = p << 8 | k1.name[i];
		CHECK(p == period);
		CHECK(k1.period == period);
	}
}

static void test_lookup(void)
{
	struct tls_tickets t, other;
	struct tls_ticket_key cur, prev, old, next, foreign;
	const struct tls_ticket_key *k;
	int64_t now = (int64_t)ROTATE * 500000 + 17, period = now / ROTATE;
	bool renew;

	CHECK(tls_tickets_init(&t, true, SECRET_A, ROTATE) == 0);
	CHECK(tls_tickets_init(&other, true, SECRET_B, ROTATE) == 0);
	CHECK(tls_ticket_key_derive(&t, period, &cur) == 0);
	CHECK(tls_ticket_key_derive(&t, period - 1, &prev) == 0);
	CHECK(tls_ticket_key_derive(&t, period - 2, &old) == 0);
	CHECK(tls_ticket_key_derive(&t, period + 1, &next) == 0);
	CHECK(tls_ticket_key_derive(&other, period, &foreign) == 0);

	k = tls_ticket_key_current(&t, now);
	CHECK(k && k->period == period && !memcmp(k->name, cur.name, 16) && !memcmp(k->aes, cur.aes, 32));

	renew = true;
	k = tls_ticket_key_for_name(&t, cur.name, now, &renew);
	CHECK(k && !renew && !memcmp(k->mac, cur.mac, 32));
	renew = false;
	k = tls_ticket_key_for_name(&t, prev.name, now, &renew);
	CHECK(k && renew && k->period == period - 1 && !memcmp(k->aes, prev.aes, 32));
	/* both are kept: asking again derives nothing new and still answers right */
	k = tls_ticket_key_for_name(&t, cur.name, now, &renew);
	CHECK(k && !renew && k->period == period);
	CHECK(!tls_ticket_key_for_name(&t, old.name, now, &renew));	/* two periods back: expired */
	CHECK(!tls_ticket_key_for_name(&t, next.name, now, &renew));	/* from the future */
	CHECK(!tls_ticket_key_for_name(&t, foreign.name, now, &renew));	/* another secret, same period */
	{
		unsigned char forged[16];

		memcpy(forged, cur.name, 16);
		forged[0] ^= 1;	/* the right period, a wrong tag */
		CHECK(!tls_ticket_key_for_name(&t, forged, now, &renew));
	}

	/* rotation: one period later the old current key decrypts (renew), the older one is gone */
	now += ROTATE;
	k = tls_ticket_key_current(&t, now);
	CHECK(k && k->period == period + 1 && !memcmp(k->name, next.name, 16));
	k = tls_ticket_key_for_name(&t, cur.name, now, &renew);
	CHECK(k && renew && !memcmp(k->aes, cur.aes, 32));
	CHECK(!tls_ticket_key_for_name(&t, prev.name, now, &renew));
	/* the clock stepped back a period: the previous key is derived again */
	now -= ROTATE;
	k = tls_ticket_key_for_name(&t, prev.name, now, &renew);
	CHECK(k && renew && !memcmp(k->aes, prev.aes, 32));
}

int main(void)
{
	test_init();
	test_derive();
	test_lookup();
	return CHECK_DONE();
}
