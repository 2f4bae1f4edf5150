/*
 * tls.c - the TLS side of wss: stateless session tickets with keys derived per period from one
 * secret, and the tuning of the wss vhost's SSL_CTX. The process's only OpenSSL user.
 * Owns: key derivation, OpenSSL's ticket key callback, the ticket counters. Must not: read files
 * (the secret arrives as config text) or touch connections beyond asking whether one resumed.
 *
 * Why derived keys: a client resumes only where its ticket can be decrypted. OpenSSL's own ticket
 * keys are random per SSL_CTX, i.e. per worker and per start, so a client that lands on another
 * worker (SO_REUSEPORT), on a restarted edge or on another edge behind the same load balancer
 * pays a full handshake — in a reconnect storm, every client at once. Keys derived from a shared
 * secret and the period number rotate by themselves, agree in every process without any
 * exchange, and keep no per-session state on the server.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "mqedge/base/clock.h"
#include "tls.h"

#define KDF_LABEL "mqedge session ticket v1 "

static int ctx_ex_index = -1;	/* where an SSL_CTX keeps its struct tls_tickets (process-wide) */

static int kdf(const struct tls_tickets *t, const char *what, int64_t period, unsigned char out[32])
{
	unsigned char msg[64];
	size_t n = strlen(KDF_LABEL), wn = strlen(what);
	unsigned int outlen = 0;

	memcpy(msg, KDF_LABEL, n);
	memcpy(msg + n, what, wn);
	n += wn;
	for (int i = 7; i >= 0; i--)
		msg[n++] = (unsigned char)((uint64_t)period >> (i * 8));
	if (!HMAC(EVP_sha256(), t->secret, sizeof(t->secret), msg, n, out, &outlen) || outlen != 32)
		return -1;
	return 0;
}

int tls_ticket_key_derive(const struct tls_tickets *t, int64_t period, struct tls_ticket_key *k)
{
	unsigned char name[32];

	if (kdf(t, "name", period, name) || kdf(t, "aes", period, k->aes) || kdf(t, "mac", period, k->mac))
		return -1;
	/* 8 bytes that only this secret makes, then the period: a foreign or expired ticket is told
	 * apart without trying to decrypt it */
	memcpy(k->name, name, 8);
	for (int i = 0; i < 8; i++)
		k->name[8 + i] = (unsigned char)((uint64_t)period >> ((7 - i) * 8));
	k->period = period;
	return 0;
}

int tls_tickets_init(struct tls_tickets *t, bool enabled, const char *secret, long rotate_s)
{
	memset(t, 0, sizeof(*t));
	t->enabled = enabled;
	t->rotate_s = rotate_s > 0 ? rotate_s : 1;
	t->cur.period = t->prev.period = -1;
	if (!enabled)
		return 0;
	if (!secret || strlen(secret) < TLS_TICKET_SECRET_MIN)
		return -1;
	/* any length in, 32 bytes of key material out */
	if (!SHA256((const unsigned char *)secret, strlen(secret), t->secret))
		return -1;
	return 0;
}

/* Makes cur the key of period (moving the old cur to prev when it is the period before). */
static const struct tls_ticket_key *key_of_period(struct tls_tickets *t, int64_t period)
{
	if (t->cur.period == period)
		return &t->cur;
	if (t->prev.period == period)
		return &t->prev;
	if (period > t->cur.period) {
		if (t->cur.period == period - 1)
			t->prev = t->cur;
		if (tls_ticket_key_derive(t, period, &t->cur))
			goto fail;
		return &t->cur;
	}
	/* an older period than cur (only ever cur - 1, when the clock stepped back or prev was not
	 * derived yet) */
	if (tls_ticket_key_derive(t, period, &t->prev))
		goto fail;
	return &t->prev;
fail:
	t->cur.period = t->prev.period = -1;
	return NULL;
}

const struct tls_ticket_key *tls_ticket_key_current(struct tls_tickets *t, int64_t now_s)
{
	return key_of_period(t, now_s / t->rotate_s);
}

const struct tls_ticket_key *tls_ticket_key_for_name(struct tls_tickets *t, const unsigned char *name,
						     int64_t now_s, bool *renew)
{
	int64_t now_period = now_s / t->rotate_s, period = 0;
	const struct tls_ticket_key *k;

	for (int i = 0; i < 8; i++)
		period = (int64_t)((uint64_t)period << 8 | name[8 + i]);
	if (period != now_period && period != now_period - 1)
		return NULL;	/* expired, from the future, or not ours */
	k = key_of_period(t, period);
	if (!k || memcmp(k->name, name, TLS_TICKET_NAME_LEN))
		return NULL;
	*renew = period != now_period;
	return k;
}

/* OpenSSL's ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb): enc 1 sets up a new
 * ticket's encryption; enc 0 looks up a ticket's key and returns 0 (unknown: full handshake) or
 * 2 (decrypt, then issue a fresh ticket under the current key). Always 2, not 1: with 1 OpenSSL
 * sends no ticket after a TLS 1.3 resumption, and the client, which should not offer a ticket
 * twice (RFC 8446 C.4), would pay a full handshake on its next reconnect. */
static int ticket_key_cb(SSL *ssl, unsigned char key_name[TLS_TICKET_NAME_LEN], unsigned char *iv,
			 EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int enc)
{
	struct tls_tickets *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_ex_index);
	int64_t now_s = clock_now_ms() / 1000;
	const struct tls_ticket_key *k;
	bool renew = false;
	OSSL_PARAM params[3];

	if (!t)
		return -1;
	if (enc) {
		k = tls_ticket_key_current(t, now_s);
		if (!k || RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1)
			goto fail;
		memcpy(key_name, k->name, TLS_TICKET_NAME_LEN);
	} else {
		k = tls_ticket_key_for_name(t, key_name, now_s, &renew);
		if (!k) {
			t->stats.refused++;
			return 0;
		}
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->mac, sizeof(k->mac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(mac, params))
		goto fail;
	if (enc ? !EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, k->aes, iv) :
		  !EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, k->aes, iv))
		goto fail;
	if (enc)
		t->stats.issued++;
	else if (renew)
		t->stats.previous_key++;
	else
		t->stats.current_key++;
	return enc ? 1 : 2;
fail:
	/* 0, not -1 (which aborts the handshake): no ticket issued, or a full handshake */
	t->stats.errors++;
	return 0;
}

int tls_ctx_setup(void *ssl_ctx, struct tls_tickets *t)
{
	SSL_CTX *ctx = ssl_ctx;

	/* no server-side cache: a cached session costs memory for as long as it is kept */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (!t->enabled) {
		/* in TLS 1.3 NO_TICKET alone still sends (stateful, here useless) tickets */
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		return SSL_CTX_set_num_tickets(ctx, 0) == 1 ? 0 : -1;
	}
	if (ctx_ex_index < 0) {
		ctx_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		if (ctx_ex_index < 0)
			return -1;
	}
	if (!SSL_CTX_set_ex_data(ctx, ctx_ex_index, t))
		return -1;
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	/* a ticket is good for one period: the keys of the current and the previous period are
	 * accepted, so no ticket younger than this meets a key that is gone */
	SSL_CTX_set_timeout(ctx, t->rotate_s);
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb) != 1)
		return -1;
	return 0;
}

bool tls_session_resumed(void *ssl)
{
	return ssl && SSL_session_reused((SSL *)ssl) == 1;
}
