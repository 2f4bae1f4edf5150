/*
 * fuzz_auth.c - token handling (edge/server/auth.c auth_verify) with an HS256 secret, an audience
 * and an issuer configured, as at the WebSocket handshake and on {"op":"refresh"}.
 *
 * Input: byte 0 chooses the mode. 0: the rest is the token text as a client sends it (the
 * signature almost never verifies: this reaches libjwt's decoding of the three parts). 1: the rest
 * is the claims JSON, signed here with the edge's secret under the header {"alg":"HS256",
 * "typ":"JWT"}, so the claims reach the edge's own checks. 2: the rest is "header\nclaims", both
 * chosen by the fuzzer and signed with the secret (alg none, RS256, missing alg...).
 *
 * Invariants: only AUTH_OK fills an identity and holds a perms reference; an accepted identity has
 * a valid id, exp in the future (or 0), only valid patterns in every list (1-64 of the id
 * characters and '*'), "pub" following "rooms" when absent and "dm" allowing everyone when absent,
 * and an "info" that is one JSON object of at most AUTH_INFO_MAX bytes; a token whose header does
 * not say HS256 is never accepted; verifying is deterministic; nothing leaks.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "config.h"
#include "fuzz.h"
#include "mqedge/base/log.h"
#include "mqedge/wire/topics.h"

#define SECRET "fuzz-secret-0123456789abcdef"
#define NOW 1700000000

static struct auth *auth;

static void cleanup(void)
{
	auth_destroy(auth);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct edge_config cfg;
	char err[256];

	(void)argc;
	(void)argv;
	fuzz_quiet();
	log_threshold = LOG_ERROR;
	if (config_defaults(&cfg) || config_set(&cfg, "jwt-secret", SECRET, err, sizeof(err)) ||
	    config_set(&cfg, "jwt-audience", "mqedge", err, sizeof(err)) ||
	    config_set(&cfg, "jwt-issuer", "https://issuer.example", err, sizeof(err)) ||
	    config_set(&cfg, "anonymous-rooms", "lobby,public-*", err, sizeof(err)) ||
	    config_set(&cfg, "allow-anonymous", "true", err, sizeof(err)) || config_finish(&cfg, err, sizeof(err)))
		abort();
	auth = auth_create(&cfg, err, sizeof(err));
	config_free(&cfg);
	if (!auth)
		abort();
	atexit(cleanup);
	return 0;
}

static size_t b64url(char *out, const uint8_t *in, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i;

	for (i = 0; i + 3 <= len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
	}
	return o;
}

/* header.claims.HMAC-SHA256(secret) as a NUL-terminated token (the caller frees it). */
static char *sign(const uint8_t *header, size_t hlen, const uint8_t *claims, size_t clen)
{
	char *tok = malloc((hlen + clen) * 4 / 3 + 128);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	size_t n;

	if (!tok)
		abort();
	n = b64url(tok, header, hlen);
	tok[n++] = '.';
	n += b64url(tok + n, claims, clen);
	if (!HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)tok, n, mac, &maclen))
		abort();
	tok[n++] = '.';
	n += b64url(tok + n, mac, maclen);
	tok[n] = '\0';
	return tok;
}

static void check_pattern_list(const struct perms *p, enum perm k)
{
	for (uint32_t i = 0; i < p->counts[k]; i++) {
		const char *s = p->lists[k][i];
		size_t n = strlen(s);

		FUZZ_CHECK(n >= 1 && n <= 64);
		for (size_t c = 0; c < n; c++)
			FUZZ_CHECK(s[c] == '*' || topics_id_char((unsigned char)s[c]));
	}
}

static void check(const char *token, bool hs256_header)
{
	struct identity id, again;
	enum auth_result r = auth_verify(auth, token, NOW, &id);

	FUZZ_CHECK(r >= AUTH_OK && r <= AUTH_NOMEM && r != AUTH_NOMEM);
	FUZZ_CHECK(auth_verify(auth, token, NOW, &again) == r);
	if (r == AUTH_MISSING)
		FUZZ_CHECK(!*token);
	if (r != AUTH_OK) {
		FUZZ_CHECK(id.perms == NULL && again.perms == NULL);
		FUZZ_CHECK(auth_result_code(r)[0] == 't');
		return;
	}
	FUZZ_CHECK(hs256_header);
	FUZZ_CHECK(topics_validate_id(id.id, strlen(id.id)) == 0 && !strcmp(id.id, again.id));
	FUZZ_CHECK(!id.anonymous && (id.kind == IDENTITY_USER || id.kind == IDENTITY_DEVICE));
	FUZZ_CHECK(id.exp == 0 || id.exp > NOW);
	FUZZ_CHECK(id.perms && id.perms->refs == 1);
	for (int k = 0; k < PERM_COUNT; k++)
		check_pattern_list(id.perms, (enum perm)k);
	if (id.perms->info) {
		FUZZ_CHECK(id.perms->info_len == strlen(id.perms->info) && id.perms->info_len <= AUTH_INFO_MAX);
		FUZZ_CHECK(fuzz_json_object(id.perms->info, id.perms->info_len));
	}
	/* a pattern list allows what its own literal patterns name */
	for (int k = 0; k < PERM_COUNT; k++) {
		for (uint32_t i = 0; i < id.perms->counts[k]; i++) {
			const char *s = id.perms->lists[k][i];

			if (!strchr(s, '*'))
				FUZZ_CHECK(perms_allow(id.perms, (enum perm)k, s));
		}
	}
	FUZZ_CHECK(id.perms->counts[PERM_DM] >= 1 || !perms_allow(id.perms, PERM_DM, "anyone"));
	identity_release(&id);
	identity_release(&again);
	FUZZ_CHECK(id.perms == NULL);
}

/* False when the header cannot say "alg":"HS256": neither the name nor an escape in it. */
static bool says_hs256(const uint8_t *h, size_t len)
{
	return memmem(h, len, "HS256", 5) != NULL || memmem(h, len, "\\u", 2) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char *token;

	if (size < 1 || size > 9000)
		return 0;
	switch (data[0] % 3) {
	case 0:
		token = fuzz_strndup(data + 1, size - 1);
		check(token, true);
		break;
	case 1:
		token = sign((const uint8_t *)header, sizeof(header) - 1, data + 1, size - 1);
		check(token, true);
		break;
	default: {
		const uint8_t *nl = memchr(data + 1, '\n', size - 1);

		if (!nl)
			return 0;
		token = sign(data + 1, (size_t)(nl - data - 1), nl + 1, size - (size_t)(nl - data) - 1);
		check(token, says_hs256(data + 1, (size_t)(nl - data - 1)));
	}
	}
	free(token);
	return 0;
}
