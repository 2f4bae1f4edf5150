/*
 * test_auth.c - token verification and permissions (edge/server/auth.c). Tokens are minted here with
 * libjwt 1.10.2's encoding API: HS256 with a secret, RS256 and ES256 with the test-only keys in
 * tests/unit/fixtures/ (see fixtures/README).
 */
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "auth.h"
#include "config.h"

#define NOW 1700000000LL
#define SECRET "test-secret-0123456789"
#define ID64 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

static char fixtures[1024];

/* fixtures/ next to this source file (CMake compiles with absolute paths). */
static void find_fixtures(void)
{
	const char *slash = strrchr(__FILE__, '/');

	if (slash)
		snprintf(fixtures, sizeof(fixtures), "%.*s/fixtures", (int)(slash - __FILE__), __FILE__);
	else
		snprintf(fixtures, sizeof(fixtures), "fixtures");
}

/* The contents of fixtures/name (caller frees), with its length. */
static unsigned char *fixture(const char *name, int *len)
{
	char path[1100];
	FILE *f;
	unsigned char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open fixture %s\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (int)n;
	}
	return buf;
}

/* A token with the given claims (JSON object text), signed with alg and key. Caller frees. */
static char *mint(jwt_alg_t alg, const void *key, int keylen, const char *claims)
{
	jwt_t *jwt = NULL;
	char *tok = NULL;

	if (jwt_new(&jwt))
		return NULL;
	if (claims && *claims && jwt_add_grants_json(jwt, claims)) {
		fprintf(stderr, "libjwt refused claims %s\n", claims);
		goto out;
	}
	if (jwt_set_alg(jwt, alg, alg == JWT_ALG_NONE ? NULL : key, alg == JWT_ALG_NONE ? 0 : keylen))
		goto out;
	tok = jwt_encode_str(jwt);
out:
	jwt_free(jwt);
	return tok;
}

static char *mint_hs(const char *claims)
{
	return mint(JWT_ALG_HS256, SECRET, (int)strlen(SECRET), claims);
}

/* An auth for the given config settings (name, value pairs, NULL-terminated). */
static struct auth *make_auth(const char *const *settings)
{
	struct edge_config cfg;
	char err[256];
	struct auth *a = NULL;

	if (config_defaults(&cfg))
		return NULL;
	for (int i = 0; settings[i]; i += 2) {
		if (config_set(&cfg, settings[i], settings[i + 1], err, sizeof(err))) {
			fprintf(stderr, "config_set %s: %s\n", settings[i], err);
			goto out;
		}
	}
	if (config_finish(&cfg, err, sizeof(err))) {
		fprintf(stderr, "config_finish: %s\n", err);
		goto out;
	}
	a = auth_create(&cfg, err, sizeof(err));
	if (!a)
		fprintf(stderr, "auth_create: %s\n", err);
out:
	config_free(&cfg);
	return a;
}

static enum auth_result verify(struct auth *a, const char *token, struct identity *id)
{
	enum auth_result r = auth_verify(a, token, NOW, id);

	if (r != AUTH_OK)
		CHECK(id->perms == NULL);
	return r;
}

static void test_result_codes(void)
{
	CHECK_STR(auth_result_code(AUTH_OK), "ok");
	CHECK_STR(auth_result_code(AUTH_MISSING), "token_missing");
	CHECK_STR(auth_result_code(AUTH_INVALID), "token_invalid");
	CHECK_STR(auth_result_code(AUTH_EXPIRED), "token_expired");
	CHECK_STR(auth_result_code(AUTH_NOMEM), "internal");
}

/* HS256: claims -> result, identity. */
static void test_hs256_claims(struct auth *a)
{
	static const struct {
		const char *claims;
		enum auth_result want;
		const char *id;
		enum identity_kind kind;
		int64_t exp;
	} cases[] = {
		{ "{\"sub\":\"alice\",\"exp\":1700003600}", AUTH_OK, "alice", IDENTITY_USER, 1700003600 },
		{ "{\"sub\":\"alice\"}", AUTH_OK, "alice", IDENTITY_USER, 0 },
		{ "{\"sub\":\"" ID64 "\"}", AUTH_OK, ID64, IDENTITY_USER, 0 },
		{ "{\"sub\":\"u@example.com:1.x_y-z\"}", AUTH_OK, "u@example.com:1.x_y-z", IDENTITY_USER, 0 },
		{ "{\"sub\":\"alice\",\"exp\":1700000001}", AUTH_OK, "alice", IDENTITY_USER, 1700000001 },
		{ "{\"sub\":\"alice\",\"exp\":1700003600.7}", AUTH_OK, "alice", IDENTITY_USER, 1700003600 },
		{ "{\"sub\":\"alice\",\"nbf\":1700000000}", AUTH_OK, "alice", IDENTITY_USER, 0 },
		{ "{\"sub\":\"alice\",\"nbf\":1690000000,\"iat\":1690000000}", AUTH_OK, "alice", IDENTITY_USER, 0 },
		{ "{\"sub\":\"alice\",\"kind\":\"user\"}", AUTH_OK, "alice", IDENTITY_USER, 0 },
		{ "{\"sub\":\"dev-1\",\"kind\":\"device\",\"exp\":1800000000}", AUTH_OK, "dev-1", IDENTITY_DEVICE,
		  1800000000 },
		{ "{\"sub\":\"alice\",\"aud\":\"anything\",\"iss\":\"anyone\"}", AUTH_OK, "alice", IDENTITY_USER, 0 },
		/* expiry: exp at or before now */
		{ "{\"sub\":\"alice\",\"exp\":1700000000}", AUTH_EXPIRED, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"exp\":1699999999}", AUTH_EXPIRED, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"exp\":1}", AUTH_EXPIRED, NULL, 0, 0 },
		/* not yet valid */
		{ "{\"sub\":\"alice\",\"nbf\":1700000001}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"nbf\":1800000000,\"exp\":1900000000}", AUTH_INVALID, NULL, 0, 0 },
		/* sub */
		{ "{}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"exp\":1800000000}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"a/b\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"a+b\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"#\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"a b\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"" ID64 "x\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"caf\\u00e9\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":123}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":null}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":[\"alice\"]}", AUTH_INVALID, NULL, 0, 0 },
		/* kind */
		{ "{\"sub\":\"alice\",\"kind\":\"admin\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"kind\":\"Device\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"kind\":1}", AUTH_INVALID, NULL, 0, 0 },
		/* exp and nbf must be numbers */
		{ "{\"sub\":\"alice\",\"exp\":\"1800000000\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"nbf\":\"0\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"exp\":null}", AUTH_INVALID, NULL, 0, 0 },
		/* invalid patterns in a permission claim */
		{ "{\"sub\":\"alice\",\"rooms\":[\"a/b\"]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"rooms\":[\"ok\",\"team-+\"]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"rooms\":[\"#\"]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"rooms\":[\"\"]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"rooms\":[\"a b\"]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"rooms\":[\"" ID64 "*\"]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"rooms\":[1]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"rooms\":[null]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"rooms\":\"lobby\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"rooms\":{\"lobby\":1}}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"pub\":[\"x/y\"]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"devices\":[\"d#\"]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"cmd\":\"*\"}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"dm\":[\"caf\\u00e9\"]}", AUTH_INVALID, NULL, 0, 0 },
		{ "{\"sub\":\"alice\",\"dm\":null}", AUTH_INVALID, NULL, 0, 0 },
		/* an invalid token stays invalid even when expired too */
		{ "{\"sub\":\"a/b\",\"exp\":1}", AUTH_INVALID, NULL, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tok = mint_hs(cases[i].claims);
		struct identity id;
		enum auth_result r;

		CHECK(tok != NULL);
		if (!tok)
			continue;
		r = verify(a, tok, &id);
		if (r != cases[i].want)
			fprintf(stderr, "hs256 case %zu (%s): got %s\n", i, cases[i].claims, auth_result_code(r));
		CHECK(r == cases[i].want);
		if (r == AUTH_OK && cases[i].want == AUTH_OK) {
			CHECK_STR(id.id, cases[i].id);
			CHECK(id.kind == cases[i].kind);
			CHECK(id.exp == cases[i].exp);
			CHECK(id.perms && id.perms->refs == 1);
		}
		identity_release(&id);
		CHECK(id.perms == NULL);
		free(tok);
	}
}

/* Tokens minted through the single-grant API too. */
static void test_hs256_grant_api(struct auth *a)
{
	jwt_t *jwt = NULL;
	char *tok = NULL;
	struct identity id;

	CHECK(jwt_new(&jwt) == 0);
	if (!jwt)
		return;
	CHECK(jwt_add_grant(jwt, "sub", "bob") == 0);
	CHECK(jwt_add_grant(jwt, "kind", "device") == 0);
	CHECK(jwt_add_grant_int(jwt, "exp", (long)(NOW + 60)) == 0);
	CHECK(jwt_add_grant_int(jwt, "nbf", (long)(NOW - 60)) == 0);
	CHECK(jwt_add_grants_json(jwt, "{\"rooms\":[\"x\"]}") == 0);
	CHECK(jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)SECRET, (int)strlen(SECRET)) == 0);
	tok = jwt_encode_str(jwt);
	jwt_free(jwt);
	CHECK(tok != NULL);
	if (!tok)
		return;
	CHECK(verify(a, tok, &id) == AUTH_OK);
	CHECK_STR(id.id, "bob");
	CHECK(id.kind == IDENTITY_DEVICE);
	CHECK(id.exp == NOW + 60);
	CHECK(id.perms && perms_allow(id.perms, PERM_ROOMS, "x"));
	identity_release(&id);
	/* the same token later: expired */
	CHECK(auth_verify(a, tok, NOW + 60, &id) == AUTH_EXPIRED);
	CHECK(auth_verify(a, tok, NOW + 59, &id) == AUTH_OK);
	identity_release(&id);
	/* and earlier: not yet valid */
	CHECK(auth_verify(a, tok, NOW - 61, &id) == AUTH_INVALID);
	free(tok);
}

/* An exp past what int64 seconds can hold must not become a negative or garbage expiry. */
static void test_huge_exp(struct auth *a)
{
	char *tok = mint_hs("{\"sub\":\"alice\",\"exp\":1e19}");
	struct identity id;
	enum auth_result r;

	CHECK(tok != NULL);
	if (!tok)
		return;
	r = verify(a, tok, &id);
	/* either refused, or accepted with an expiry in the future */
	if (r == AUTH_OK && id.exp <= NOW)
		fprintf(stderr, "exp 1e19 accepted with exp %lld\n", (long long)id.exp);
	CHECK(r == AUTH_INVALID || (r == AUTH_OK && id.exp > NOW));
	identity_release(&id);
	free(tok);
}

static void test_perms(struct auth *a)
{
	static const struct {
		const char *claims;
		enum perm k;
		const char *id;
		bool want;
	} cases[] = {
		/* rooms */
		{ "{\"sub\":\"u\",\"rooms\":[\"team-*\",\"lobby\"]}", PERM_ROOMS, "team-a", true },
		{ "{\"sub\":\"u\",\"rooms\":[\"team-*\",\"lobby\"]}", PERM_ROOMS, "lobby", true },
		{ "{\"sub\":\"u\",\"rooms\":[\"team-*\",\"lobby\"]}", PERM_ROOMS, "lobby2", false },
		{ "{\"sub\":\"u\",\"rooms\":[\"team-*\",\"lobby\"]}", PERM_ROOMS, "other", false },
		{ "{\"sub\":\"u\"}", PERM_ROOMS, "lobby", false },		/* absent: none */
		{ "{\"sub\":\"u\",\"rooms\":[]}", PERM_ROOMS, "lobby", false },
		{ "{\"sub\":\"u\",\"rooms\":[\"*\"]}", PERM_ROOMS, "anything", true },
		/* pub absent = rooms */
		{ "{\"sub\":\"u\",\"rooms\":[\"team-*\",\"lobby\"]}", PERM_PUB, "team-b", true },
		{ "{\"sub\":\"u\",\"rooms\":[\"team-*\",\"lobby\"]}", PERM_PUB, "lobby", true },
		{ "{\"sub\":\"u\",\"rooms\":[\"team-*\",\"lobby\"]}", PERM_PUB, "other", false },
		{ "{\"sub\":\"u\"}", PERM_PUB, "lobby", false },
		/* pub present overrides */
		{ "{\"sub\":\"u\",\"rooms\":[\"*\"],\"pub\":[]}", PERM_PUB, "lobby", false },
		{ "{\"sub\":\"u\",\"rooms\":[\"*\"],\"pub\":[\"news\"]}", PERM_PUB, "news", true },
		{ "{\"sub\":\"u\",\"rooms\":[\"*\"],\"pub\":[\"news\"]}", PERM_PUB, "lobby", false },
		{ "{\"sub\":\"u\",\"rooms\":[\"*\"],\"pub\":[\"news\"]}", PERM_ROOMS, "lobby", true },
		{ "{\"sub\":\"u\",\"pub\":[\"news\"]}", PERM_ROOMS, "news", false },
		/* dm absent = anyone */
		{ "{\"sub\":\"u\"}", PERM_DM, "bob", true },
		{ "{\"sub\":\"u\",\"rooms\":[\"x\"]}", PERM_DM, "anyone-at-all", true },
		{ "{\"sub\":\"u\",\"dm\":[]}", PERM_DM, "bob", false },
		{ "{\"sub\":\"u\",\"dm\":[\"bob\",\"support-*\"]}", PERM_DM, "bob", true },
		{ "{\"sub\":\"u\",\"dm\":[\"bob\",\"support-*\"]}", PERM_DM, "support-7", true },
		{ "{\"sub\":\"u\",\"dm\":[\"bob\",\"support-*\"]}", PERM_DM, "carol", false },
		/* devices and cmd: absent = none */
		{ "{\"sub\":\"u\"}", PERM_DEVICES, "d1", false },
		{ "{\"sub\":\"u\"}", PERM_CMD, "d1", false },
		{ "{\"sub\":\"u\",\"rooms\":[\"*\"]}", PERM_DEVICES, "d1", false },
		{ "{\"sub\":\"u\",\"devices\":[\"sensor-*\"],\"cmd\":[\"sensor-1\"]}", PERM_DEVICES, "sensor-9", true },
		{ "{\"sub\":\"u\",\"devices\":[\"sensor-*\"],\"cmd\":[\"sensor-1\"]}", PERM_DEVICES, "pump-1", false },
		{ "{\"sub\":\"u\",\"devices\":[\"sensor-*\"],\"cmd\":[\"sensor-1\"]}", PERM_CMD, "sensor-1", true },
		{ "{\"sub\":\"u\",\"devices\":[\"sensor-*\"],\"cmd\":[\"sensor-1\"]}", PERM_CMD, "sensor-2", false },
		{ "{\"sub\":\"u\",\"devices\":[\"sensor-*\"],\"cmd\":[\"sensor-1\"]}", PERM_ROOMS, "sensor-1", false },
		{ "{\"sub\":\"u\",\"cmd\":[\"*\"]}", PERM_DEVICES, "d1", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tok = mint_hs(cases[i].claims);
		struct identity id;

		CHECK(tok != NULL);
		if (!tok)
			continue;
		CHECK(verify(a, tok, &id) == AUTH_OK);
		if (id.perms) {
			bool got = perms_allow(id.perms, cases[i].k, cases[i].id);

			if (got != cases[i].want)
				fprintf(stderr, "perms case %zu (%s, list %d, %s): got %d\n", i, cases[i].claims,
					cases[i].k, cases[i].id, got);
			CHECK(got == cases[i].want);
		}
		identity_release(&id);
		free(tok);
	}

	/* the lists themselves */
	char *tok = mint_hs("{\"sub\":\"u\",\"rooms\":[\"a\",\"b*\"],\"devices\":[\"d\"],\"dm\":[\"x\",\"y\",\"z\"]}");
	struct identity id;

	if (tok && verify(a, tok, &id) == AUTH_OK && id.perms) {
		struct perms *p = id.perms;

		CHECK(p->counts[PERM_ROOMS] == 2);
		CHECK_STR(p->lists[PERM_ROOMS][0], "a");
		CHECK_STR(p->lists[PERM_ROOMS][1], "b*");
		CHECK(p->counts[PERM_PUB] == 2);
		CHECK_STR(p->lists[PERM_PUB][1], "b*");
		CHECK(p->counts[PERM_DEVICES] == 1);
		CHECK(p->counts[PERM_CMD] == 0);
		CHECK(p->counts[PERM_DM] == 3);
		CHECK_STR(p->lists[PERM_DM][2], "z");
		identity_release(&id);
	} else {
		CHECK(0);
	}
	free(tok);
}

/* Anything that is not a good HS256 token under our secret. */
static void test_hs256_rejects(struct auth *a)
{
	struct identity id;
	char *tok, *other, *t512, *none;
	char big[9000];

	CHECK(auth_verify(a, NULL, NOW, &id) == AUTH_MISSING);
	CHECK(auth_verify(a, "", NOW, &id) == AUTH_MISSING);
	CHECK(verify(a, "abc", &id) == AUTH_INVALID);
	CHECK(verify(a, "a.b.c", &id) == AUTH_INVALID);
	CHECK(verify(a, "..", &id) == AUTH_INVALID);
	CHECK(verify(a, "eyJhbGciOiJIUzI1NiJ9..", &id) == AUTH_INVALID);

	tok = mint_hs("{\"sub\":\"alice\",\"rooms\":[\"*\"]}");
	other = mint(JWT_ALG_HS256, "wrong-secret", 12, "{\"sub\":\"alice\",\"rooms\":[\"*\"]}");
	t512 = mint(JWT_ALG_HS512, SECRET, (int)strlen(SECRET), "{\"sub\":\"alice\"}");
	none = mint(JWT_ALG_NONE, NULL, 0, "{\"sub\":\"alice\"}");
	CHECK(tok && other && t512 && none);
	if (!tok || !other || !t512 || !none)
		goto out;
	CHECK(verify(a, tok, &id) == AUTH_OK);
	identity_release(&id);

	/* wrong secret */
	CHECK(verify(a, other, &id) == AUTH_INVALID);
	/* right secret, another HMAC algorithm: the algorithm is pinned */
	CHECK(verify(a, t512, &id) == AUTH_INVALID);
	/* alg none, as libjwt writes it and with a signature pasted on */
	CHECK(verify(a, none, &id) == AUTH_INVALID);
	{
		char forged[2048];
		const char *sig = strrchr(tok, '.');
		const char *body = strchr(none, '.');

		snprintf(forged, sizeof(forged), "%.*s%s", (int)(strrchr(none, '.') - none), none, sig);
		CHECK(verify(a, forged, &id) == AUTH_INVALID);
		/* eyJhbGciOiJub25lIn0 = {"alg":"none"}; lower-case and odd spellings too */
		snprintf(forged, sizeof(forged), "eyJhbGciOiJub25lIn0%.*s.", (int)(strrchr(none, '.') - body), body);
		CHECK(verify(a, forged, &id) == AUTH_INVALID);
		/* eyJhbGciOiJOb05lIn0 = {"alg":"NoNe"} */
		snprintf(forged, sizeof(forged), "eyJhbGciOiJOb05lIn0%.*s.", (int)(strrchr(none, '.') - body), body);
		CHECK(verify(a, forged, &id) == AUTH_INVALID);
	}
	/* a flipped character in the signature, the payload or the header */
	{
		size_t len = strlen(tok);
		char *bad = malloc(len + 2);
		char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
		size_t pos[3] = { len - 5, (size_t)(dot1 - tok) + 5, 3 };

		for (int i = 0; bad && i < 3; i++) {
			memcpy(bad, tok, len + 1);
			bad[pos[i]] = bad[pos[i]] == 'A' ? 'B' : 'A';
			CHECK(verify(a, bad, &id) == AUTH_INVALID);
		}
		/* signature removed or truncated */
		if (bad) {
			memcpy(bad, tok, (size_t)(dot2 - tok) + 1);
			bad[dot2 - tok + 1] = '\0';
			CHECK(verify(a, bad, &id) == AUTH_INVALID);
			memcpy(bad, tok, len + 1);
			bad[len - 4] = '\0';
			CHECK(verify(a, bad, &id) == AUTH_INVALID);
			/* trailing garbage */
			memcpy(bad, tok, len + 1);
			strcat(bad, "x");
			CHECK(verify(a, bad, &id) == AUTH_INVALID);
		}
		free(bad);
	}
	/* a token signed with a bad signature and expired is invalid, not expired */
	{
		char *exp = mint(JWT_ALG_HS256, "wrong-secret", 12, "{\"sub\":\"alice\",\"exp\":1}");

		CHECK(exp && verify(a, exp, &id) == AUTH_INVALID);
		free(exp);
	}
	/* over the size limit */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(verify(a, big, &id) == AUTH_INVALID);
out:
	free(tok);
	free(other);
	free(t512);
	free(none);
}

static void test_audience_issuer(void)
{
	static const char *const settings[] = { "jwt_secret", SECRET, "jwt_audience", "app",
						"jwt_issuer", "https://auth.example", NULL };
	static const struct {
		const char *claims;
		enum auth_result want;
	} cases[] = {
		{ "{\"sub\":\"u\",\"aud\":\"app\",\"iss\":\"https://auth.example\"}", AUTH_OK },
		{ "{\"sub\":\"u\",\"aud\":[\"other\",\"app\"],\"iss\":\"https://auth.example\"}", AUTH_OK },
		{ "{\"sub\":\"u\",\"aud\":\"other\",\"iss\":\"https://auth.example\"}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"aud\":\"App\",\"iss\":\"https://auth.example\"}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"aud\":\"app2\",\"iss\":\"https://auth.example\"}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"aud\":[],\"iss\":\"https://auth.example\"}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"aud\":[\"x\"],\"iss\":\"https://auth.example\"}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"aud\":5,\"iss\":\"https://auth.example\"}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"iss\":\"https://auth.example\"}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"aud\":\"app\"}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"aud\":\"app\",\"iss\":\"https://evil.example\"}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"aud\":\"app\",\"iss\":\"https://auth.example/\"}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"aud\":\"app\",\"iss\":[\"https://auth.example\"]}", AUTH_INVALID },
		{ "{\"sub\":\"u\",\"aud\":\"app\",\"iss\":\"https://auth.example\",\"exp\":5}", AUTH_EXPIRED },
	};
	struct auth *a = make_auth(settings);

	CHECK(a != NULL);
	if (!a)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tok = mint_hs(cases[i].claims);
		struct identity id;
		enum auth_result r;

		if (!tok) {
			CHECK(tok != NULL);
			continue;
		}
		r = verify(a, tok, &id);
		if (r != cases[i].want)
			fprintf(stderr, "aud/iss case %zu (%s): got %s\n", i, cases[i].claims, auth_result_code(r));
		CHECK(r == cases[i].want);
		identity_release(&id);
		free(tok);
	}
	auth_destroy(a);
}

/* RS256 and ES256 with PEM public keys; the classic HS256-with-the-public-key forgery. */
static void test_public_keys(void)
{
	char rsa_pub[1200], ec_pub[1200];
	int rsa_priv_len = 0, rsa_other_len = 0, ec_priv_len = 0, rsa_pub_len = 0, ec_pub_len = 0;
	unsigned char *rsa_priv = fixture("rsa_private.pem", &rsa_priv_len);
	unsigned char *rsa_other = fixture("rsa_other_private.pem", &rsa_other_len);
	unsigned char *ec_priv = fixture("ec_private.pem", &ec_priv_len);
	unsigned char *rsa_pub_pem = fixture("rsa_public.pem", &rsa_pub_len);
	unsigned char *ec_pub_pem = fixture("ec_public.pem", &ec_pub_len);
	struct auth *rs = NULL, *es = NULL;
	struct identity id;
	const char *claims = "{\"sub\":\"alice\",\"exp\":1700003600,\"rooms\":[\"lobby\"]}";
	char *t;

	snprintf(rsa_pub, sizeof(rsa_pub), "%s/rsa_public.pem", fixtures);
	snprintf(ec_pub, sizeof(ec_pub), "%s/ec_public.pem", fixtures);
	CHECK(rsa_priv && rsa_other && ec_priv && rsa_pub_pem && ec_pub_pem);
	if (!rsa_priv || !rsa_other || !ec_priv || !rsa_pub_pem || !ec_pub_pem)
		goto out;
	{
		const char *const s_rs[] = { "jwt_public_key", rsa_pub, "jwt_alg", "RS256", NULL };
		const char *const s_es[] = { "jwt_public_key", ec_pub, "jwt_alg", "ES256", NULL };

		rs = make_auth(s_rs);
		es = make_auth(s_es);
	}
	CHECK(rs != NULL && es != NULL);
	if (!rs || !es)
		goto out;

	/* good tokens */
	t = mint(JWT_ALG_RS256, rsa_priv, rsa_priv_len, claims);
	CHECK(t && verify(rs, t, &id) == AUTH_OK);
	CHECK_STR(id.id, "alice");
	CHECK(id.exp == 1700003600 && id.perms && perms_allow(id.perms, PERM_ROOMS, "lobby"));
	identity_release(&id);
	CHECK(t && verify(es, t, &id) == AUTH_INVALID);	/* RS256 token, ES256 edge */
	free(t);
	t = mint(JWT_ALG_ES256, ec_priv, ec_priv_len, claims);
	CHECK(t && verify(es, t, &id) == AUTH_OK);
	CHECK_STR(id.id, "alice");
	identity_release(&id);
	CHECK(t && verify(rs, t, &id) == AUTH_INVALID);	/* ES256 token, RS256 edge */
	free(t);

	/* expired under a public key */
	t = mint(JWT_ALG_RS256, rsa_priv, rsa_priv_len, "{\"sub\":\"alice\",\"exp\":1600000000}");
	CHECK(t && verify(rs, t, &id) == AUTH_EXPIRED);
	free(t);

	/* another RSA key */
	t = mint(JWT_ALG_RS256, rsa_other, rsa_other_len, claims);
	CHECK(t && verify(rs, t, &id) == AUTH_INVALID);
	free(t);
	/* RS512 with the right key: the algorithm is pinned */
	t = mint(JWT_ALG_RS512, rsa_priv, rsa_priv_len, claims);
	CHECK(t && verify(rs, t, &id) == AUTH_INVALID);
	free(t);

	/* HS256 tokens at a public-key edge: with a random secret, and signed with the PEM public
	 * key itself as the HMAC secret (the classic algorithm-confusion forgery) */
	t = mint_hs(claims);
	CHECK(t && verify(rs, t, &id) == AUTH_INVALID);
	free(t);
	t = mint(JWT_ALG_HS256, rsa_pub_pem, rsa_pub_len, claims);
	CHECK(t && verify(rs, t, &id) == AUTH_INVALID);
	free(t);
	t = mint(JWT_ALG_HS256, ec_pub_pem, ec_pub_len, claims);
	CHECK(t && verify(es, t, &id) == AUTH_INVALID);
	free(t);
	t = mint(JWT_ALG_NONE, NULL, 0, claims);
	CHECK(t && verify(rs, t, &id) == AUTH_INVALID);
	CHECK(t && verify(es, t, &id) == AUTH_INVALID);
	free(t);
out:
	auth_destroy(rs);
	auth_destroy(es);
	free(rsa_priv);
	free(rsa_other);
	free(ec_priv);
	free(rsa_pub_pem);
	free(ec_pub_pem);
}

static void test_anonymous(void)
{
	static const char *const s_default[] = { "allow_anonymous", "true", NULL };
	static const char *const s_rooms[] = { "allow_anonymous", "true", "anonymous_rooms", " lobby , public-* ",
					       "jwt_secret", SECRET, NULL };
	static const char *const s_bad[] = { "allow_anonymous", "true", "anonymous_rooms", "lobby,a/b", NULL };
	struct auth *a = make_auth(s_default);
	struct identity x, y;
	char sid[80];

	CHECK(a != NULL);
	if (a) {
		CHECK(auth_anonymous(a, "s1", &x) == 0);
		CHECK_STR(x.id, "anon-s1");
		CHECK(x.kind == IDENTITY_USER && x.exp == 0);
		CHECK(x.perms && perms_allow(x.perms, PERM_ROOMS, "anything"));
		CHECK(x.perms && perms_allow(x.perms, PERM_PUB, "anything"));
		CHECK(x.perms && perms_allow(x.perms, PERM_DM, "bob"));
		CHECK(x.perms && !perms_allow(x.perms, PERM_DEVICES, "d1"));
		CHECK(x.perms && !perms_allow(x.perms, PERM_CMD, "d1"));
		CHECK(auth_anonymous(a, "s2", &y) == 0);
		CHECK_STR(y.id, "anon-s2");
		/* one shared block */
		CHECK(x.perms == y.perms && x.perms && x.perms->refs == 3);
		identity_release(&y);
		CHECK(x.perms->refs == 2);
		identity_release(&x);
		/* the id must stay an id: a session id that makes it too long is refused */
		memset(sid, 'a', sizeof(sid) - 1);
		sid[sizeof(sid) - 1] = '\0';
		CHECK(auth_anonymous(a, sid, &x) == -1);
		identity_release(&x);
		sid[59] = '\0';	/* "anon-" + 59 = 64 */
		CHECK(auth_anonymous(a, sid, &x) == 0);
		CHECK(strlen(x.id) == 64);
		identity_release(&x);
		/* no key configured: every token is invalid */
		char *tok = mint_hs("{\"sub\":\"alice\"}");

		CHECK(tok && auth_verify(a, tok, NOW, &x) == AUTH_INVALID);
		CHECK(auth_verify(a, "", NOW, &x) == AUTH_MISSING);
		free(tok);
		auth_destroy(a);
	}

	a = make_auth(s_rooms);
	CHECK(a != NULL);
	if (a) {
		CHECK(auth_anonymous(a, "s1", &x) == 0);
		CHECK(x.perms && perms_allow(x.perms, PERM_ROOMS, "lobby"));
		CHECK(x.perms && perms_allow(x.perms, PERM_ROOMS, "public-7"));
		CHECK(x.perms && !perms_allow(x.perms, PERM_ROOMS, "private"));
		CHECK(x.perms && perms_allow(x.perms, PERM_PUB, "public-7"));
		CHECK(x.perms && !perms_allow(x.perms, PERM_PUB, "private"));
		CHECK(x.perms && x.perms->counts[PERM_ROOMS] == 2);
		identity_release(&x);
		auth_destroy(a);
	}

	/* a bad anonymous pattern refuses to start */
	{
		struct edge_config cfg;
		char err[256] = "";

		CHECK(config_defaults(&cfg) == 0);
		for (int i = 0; s_bad[i]; i += 2)
			CHECK(config_set(&cfg, s_bad[i], s_bad[i + 1], err, sizeof(err)) == 0);
		CHECK(config_finish(&cfg, err, sizeof(err)) == 0);
		a = auth_create(&cfg, err, sizeof(err));
		CHECK(a == NULL);
		CHECK(strstr(err, "anonymous-rooms") != NULL);
		auth_destroy(a);
		config_free(&cfg);
	}
}

static void test_create_errors(void)
{
	struct edge_config cfg;
	char err[256] = "";
	struct auth *a;

	CHECK(config_defaults(&cfg) == 0);
	CHECK(config_set(&cfg, "jwt_public_key", "/nonexistent/key.pem", err, sizeof(err)) == 0);
	CHECK(config_finish(&cfg, err, sizeof(err)) == 0);
	a = auth_create(&cfg, err, sizeof(err));
	CHECK(a == NULL);
	CHECK(strstr(err, "/nonexistent/key.pem") != NULL);
	auth_destroy(a);
	auth_destroy(NULL);
	config_free(&cfg);
}

int main(void)
{
	static const char *const hs[] = { "jwt_secret", SECRET, NULL };
	struct auth *a;

	find_fixtures();
	test_result_codes();
	a = make_auth(hs);
	CHECK(a != NULL);
	if (a) {
		test_hs256_claims(a);
		test_hs256_grant_api(a);
		test_huge_exp(a);
		test_perms(a);
		test_hs256_rejects(a);
		auth_destroy(a);
	}
	test_audience_issuer();
	test_public_keys();
	test_anonymous();
	test_create_errors();
	return CHECK_DONE();
}
