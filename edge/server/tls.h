/*
 * tls.h - private to edge/server: the TLS side of wss (tls.c), the process's only OpenSSL user.
 * Stateless session tickets whose keys derive from one secret per period, so every worker, every
 * restart and every edge given the same secret resumes the others' clients, and no session costs
 * server memory; the tuning of the wss vhost's SSL_CTX.
 */
#ifndef MQEDGE_TLS_H
#define MQEDGE_TLS_H

#include <stdbool.h>
#include <stdint.h>

#define TLS_TICKET_NAME_LEN 16
#define TLS_TICKET_SECRET_MIN 32	/* characters of tls-ticket-key */

/* The keys of one period: the ticket's key name (its period in the last 8 bytes), the AES-256-CBC
 * key that encrypts the session state and the HMAC-SHA256 key that authenticates it. */
struct tls_ticket_key {
	int64_t period;		/* -1: not derived yet */
	unsigned char name[TLS_TICKET_NAME_LEN];
	unsigned char aes[32];
	unsigned char mac[32];
};

struct tls_ticket_stats {
	uint64_t issued;	/* tickets encrypted */
	/* tickets named by the current or the previous period's key: OpenSSL checks their MAC and
	 * age after this (mqedge_wss_sessions_total counts the sessions that did resume) */
	uint64_t current_key;
	uint64_t previous_key;
	uint64_t refused;	/* tickets of an unknown key (other secret, expired period): full handshake */
	uint64_t errors;	/* crypto failures (a full handshake follows) */
};

/* Owned by struct edge; the SSL_CTX points at it (ex_data) for OpenSSL's ticket callback. */
struct tls_tickets {
	bool enabled;		/* tls-session-tickets */
	unsigned char secret[32];	/* SHA-256 of tls-ticket-key: the root of every period's keys */
	int64_t rotate_s;	/* a period: keys encrypt new tickets for this long, tickets live this long */
	struct tls_ticket_key cur, prev;	/* derived on demand, newest first */
	struct tls_ticket_stats stats;
};

/* Sets up t from the configured secret (any length >= TLS_TICKET_SECRET_MIN; tls-ticket-key, or the
 * random one config.c made before the workers were forked) and the rotation period in seconds.
 * enabled false: the vhost issues no tickets at all. Returns 0, or -1 on a crypto failure. */
int tls_tickets_init(struct tls_tickets *t, bool enabled, const char *secret, long rotate_s);

/* Derives into k the keys of period (seconds since the epoch / rotate_s). Pure: the same secret and
 * period give the same keys in every process. Returns 0 or -1. */
int tls_ticket_key_derive(const struct tls_tickets *t, int64_t period, struct tls_ticket_key *k);

/* The key a ticket named name decrypts with at time now_s (seconds): the current period's or the
 * previous one's, *renew set for the latter; NULL for any other name (another secret, an expired
 * period). */
const struct tls_ticket_key *tls_ticket_key_for_name(struct tls_tickets *t, const unsigned char *name,
						     int64_t now_s, bool *renew);

/* The key new tickets are encrypted with at time now_s. NULL on a crypto failure. */
const struct tls_ticket_key *tls_ticket_key_current(struct tls_tickets *t, int64_t now_s);

/* Tunes the wss vhost's SSL_CTX (lws' LOAD_EXTRA_SERVER_VERIFY_CERTS hands it over): no session
 * cache, stateless tickets from t (or none), their lifetime. Returns 0 or -1. */
int tls_ctx_setup(void *ssl_ctx, struct tls_tickets *t);

/* Whether the TLS connection ssl (lws_get_ssl) resumed a session. */
bool tls_session_resumed(void *ssl);

#endif
