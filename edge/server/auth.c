/*
 * auth.c - the only libjwt user: verify a token, read its claims into an identity.
 * Owns: the verification key and the anonymous permission block. Must not: know about HTTP,
 * sessions or rooms (callers turn results into 401s and close codes).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "mqedge/base/log.h"

#define TOKEN_MAX 8192
#define PATTERN_MAX 64

struct auth {
	jwt_alg_t alg;
	unsigned char *key;
	int key_len;
	char *audience;
	char *issuer;
	struct perms *anonymous;
};

static const char *const perm_claims[PERM_COUNT] = { "rooms", "pub", "devices", "cmd", "dm", "rpc" };
static const char *const star = "*";

const char *auth_result_code(enum auth_result r)
{
	switch (r) {
	case AUTH_OK: return "ok";
	case AUTH_MISSING: return "token_missing";
	case AUTH_EXPIRED: return "token_expired";
	case AUTH_NOMEM: return "internal";
	default: return "token_invalid";
	}
}

static bool valid_pattern(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PATTERN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '*' && !topics_id_char((unsigned char)s[i]))
			return false;
	return true;
}

/* One block: struct, pointer arrays, strings. Absent "pub" aliases "rooms"; absent "dm" is "*". */
static struct perms *perms_build(const cJSON *lists[PERM_COUNT], const char *info)
{
	size_t n_ptrs = 0, n_chars = info ? strlen(info) + 1 : 0;
	struct perms *p;
	const char **ptrs;
	char *chars;
	const cJSON *item;

	for (int k = 0; k < PERM_COUNT; k++) {
		if (!lists[k])
			continue;
		cJSON_ArrayForEach(item, lists[k]) {
			n_ptrs++;
			n_chars += strlen(item->valuestring) + 1;
		}
	}
	p = calloc(1, sizeof(*p) + n_ptrs * sizeof(char *) + n_chars);
	if (!p)
		return NULL;
	p->refs = 1;
	ptrs = (const char **)(p + 1);
	chars = (char *)(ptrs + n_ptrs);
	for (int k = 0; k < PERM_COUNT; k++) {
		p->lists[k] = ptrs;
		if (!lists[k])
			continue;
		cJSON_ArrayForEach(item, lists[k]) {
			size_t len = strlen(item->valuestring) + 1;

			memcpy(chars, item->valuestring, len);
			*ptrs++ = chars;
			chars += len;
			p->counts[k]++;
		}
	}
	if (info) {
		p->info_len = strlen(info);
		memcpy(chars, info, p->info_len + 1);
		p->info = chars;
	}
	if (!lists[PERM_PUB]) {
		p->lists[PERM_PUB] = p->lists[PERM_ROOMS];
		p->counts[PERM_PUB] = p->counts[PERM_ROOMS];
	}
	if (!lists[PERM_DM]) {
		p->lists[PERM_DM] = (const char **)&star;
		p->counts[PERM_DM] = 1;
	}
	return p;
}

void perms_unref(struct perms *p)
{
	if (p && !--p->refs)
		free(p);
}

void identity_release(struct identity *id)
{
	perms_unref(id->perms);
	id->perms = NULL;
}

bool perms_allow(const struct perms *p, enum perm k, const char *id)
{
	for (uint32_t i = 0; i < p->counts[k]; i++)
		if (topics_pattern_match(p->lists[k][i], id))
			return true;
	return false;
}

/* A comma-separated pattern list from the config as a cJSON array (caller deletes). */
static cJSON *split_patterns(const char *csv)
{
	cJSON *arr = cJSON_CreateArray();
	const char *p = csv;

	if (!arr)
		return NULL;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char buf[PATTERN_MAX + 1];

		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (len) {
			if (len > PATTERN_MAX)
				goto fail;
			memcpy(buf, p, len);
			buf[len] = '\0';
			if (!valid_pattern(buf) || !cJSON_AddItemToArray(arr, cJSON_CreateString(buf)))
				goto fail;
		}
		p = comma ? comma + 1 : NULL;
	}
	return arr;
fail:
	cJSON_Delete(arr);
	return NULL;
}

static int read_file(const char *path, unsigned char **out, int *out_len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long size;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || size > 1 << 20 || fseek(f, 0, SEEK_SET))
		goto fail;
	buf = malloc((size_t)size + 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size)
		goto fail;
	buf[size] = '\0';
	fclose(f);
	*out = buf;
	*out_len = (int)size;
	return 0;
fail:
	free(buf);
	fclose(f);
	return -1;
}

struct auth *auth_create(const struct edge_config *cfg, char *err, size_t errlen)
{
	struct auth *a = calloc(1, sizeof(*a));
	const cJSON *lists[PERM_COUNT] = { 0 };
	cJSON *anon = NULL;

	if (!a)
		goto nomem;
	a->alg = jwt_str_alg(cfg->jwt_alg);
	if (cfg->jwt_secret) {
		a->key = (unsigned char *)strdup(cfg->jwt_secret);
		if (!a->key)
			goto nomem;
		a->key_len = (int)strlen(cfg->jwt_secret);
	} else if (cfg->jwt_public_key) {
		if (read_file(cfg->jwt_public_key, &a->key, &a->key_len)) {
			snprintf(err, errlen, "cannot read jwt-public-key %s", cfg->jwt_public_key);
			goto fail;
		}
	}
	if ((cfg->jwt_audience && !(a->audience = strdup(cfg->jwt_audience))) ||
	    (cfg->jwt_issuer && !(a->issuer = strdup(cfg->jwt_issuer))))
		goto nomem;
	anon = split_patterns(cfg->anonymous_rooms);
	if (!anon) {
		snprintf(err, errlen, "anonymous-rooms: bad pattern list '%s'", cfg->anonymous_rooms);
		goto fail;
	}
	lists[PERM_ROOMS] = anon;
	a->anonymous = perms_build(lists, NULL);
	cJSON_Delete(anon);
	if (!a->anonymous)
		goto nomem;
	return a;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	auth_destroy(a);
	return NULL;
}

void auth_destroy(struct auth *a)
{
	if (!a)
		return;
	free(a->key);
	free(a->audience);
	free(a->issuer);
	perms_unref(a->anonymous);
	free(a);
}

int auth_anonymous(struct auth *a, const char *session_id, struct identity *out)
{
	memset(out, 0, sizeof(*out));
	if (snprintf(out->id, sizeof(out->id), "anon-%s", session_id) >= (int)sizeof(out->id))
		return -1;
	out->kind = IDENTITY_USER;
	out->anonymous = true;
	out->iat = -1;
	out->perms = a->anonymous;
	a->anonymous->refs++;
	return 0;
}

static bool audience_matches(const cJSON *aud, const char *want)
{
	const cJSON *item;

	if (cJSON_IsString(aud))
		return !strcmp(aud->valuestring, want);
	if (cJSON_IsArray(aud))
		cJSON_ArrayForEach(item, aud)
			if (cJSON_IsString(item) && !strcmp(item->valuestring, want))
				return true;
	return false;
}

static bool pattern_list_ok(const cJSON *list)
{
	const cJSON *item;

	if (!cJSON_IsArray(list))
		return false;
	cJSON_ArrayForEach(item, list)
		if (!cJSON_IsString(item) || !valid_pattern(item->valuestring))
			return false;
	return true;
}

enum auth_result auth_verify(struct auth *a, const char *token, int64_t now_s, struct identity *out)
{
	enum auth_result rc = AUTH_INVALID;
	jwt_t *jwt = NULL;
	char *grants_json = NULL;
	cJSON *claims = NULL;
	const cJSON *sub, *exp, *nbf, *iat, *kind, *info, *lists[PERM_COUNT];
	char *info_text = NULL;	/* cJSON_free */
	int jrc;

	memset(out, 0, sizeof(*out));
	if (!token || !*token)
		return AUTH_MISSING;
	if (strlen(token) > TOKEN_MAX || !a->key)
		return AUTH_INVALID;
	jrc = jwt_decode(&jwt, token, a->key, a->key_len);
	if (jrc) {
		log_debug("auth_reject", "reason=decode errno=%d", jrc);
		goto done;
	}
	/* the algorithm is ours, never the token's: this stops HS256-with-the-public-key forgeries */
	if (jwt_get_alg(jwt) != a->alg) {
		log_debug("auth_reject", "reason=alg alg=%s", jwt_alg_str(jwt_get_alg(jwt)));
		goto done;
	}
	grants_json = jwt_get_grants_json(jwt, NULL);
	claims = grants_json ? cJSON_Parse(grants_json) : NULL;
	if (!cJSON_IsObject(claims))
		goto done;
	sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
	if (!cJSON_IsString(sub) || topics_validate_id(sub->valuestring, strlen(sub->valuestring)))
		goto done;
	exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	nbf = cJSON_GetObjectItemCaseSensitive(claims, "nbf");
	iat = cJSON_GetObjectItemCaseSensitive(claims, "iat");
	/* seconds since the epoch, within what a double holds exactly (and an int64 surely) */
	if ((exp && (!cJSON_IsNumber(exp) || exp->valuedouble < 0 || exp->valuedouble > 9007199254740992.0)) ||
	    (nbf && (!cJSON_IsNumber(nbf) || nbf->valuedouble < 0 || nbf->valuedouble > 9007199254740992.0)) ||
	    (iat && (!cJSON_IsNumber(iat) || iat->valuedouble < 0 || iat->valuedouble > 9007199254740992.0)))
		goto done;
	if (nbf && nbf->valuedouble > (double)now_s)
		goto done;
	if (a->audience && !audience_matches(cJSON_GetObjectItemCaseSensitive(claims, "aud"), a->audience))
		goto done;
	if (a->issuer) {
		const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");

		if (!cJSON_IsString(iss) || strcmp(iss->valuestring, a->issuer))
			goto done;
	}
	kind = cJSON_GetObjectItemCaseSensitive(claims, "kind");
	if (kind && (!cJSON_IsString(kind) ||
		     (strcmp(kind->valuestring, "user") && strcmp(kind->valuestring, "device"))))
		goto done;
	for (int k = 0; k < PERM_COUNT; k++) {
		lists[k] = cJSON_GetObjectItemCaseSensitive(claims, perm_claims[k]);
		if (lists[k] && !pattern_list_ok(lists[k]))
			goto done;
	}
	info = cJSON_GetObjectItemCaseSensitive(claims, "info");
	if (info) {
		if (!cJSON_IsObject(info) || !(info_text = cJSON_PrintUnformatted(info)) || strlen(info_text) > AUTH_INFO_MAX)
			goto done;
	}
	if (exp && exp->valuedouble <= (double)now_s) {
		rc = AUTH_EXPIRED;
		goto done;
	}
	out->perms = perms_build(lists, info_text);
	if (!out->perms) {
		rc = AUTH_NOMEM;
		goto done;
	}
	snprintf(out->id, sizeof(out->id), "%s", sub->valuestring);
	out->kind = kind && !strcmp(kind->valuestring, "device") ? IDENTITY_DEVICE : IDENTITY_USER;
	out->exp = exp ? (int64_t)exp->valuedouble : 0;
	out->iat = iat ? (int64_t)iat->valuedouble : -1;
	rc = AUTH_OK;
done:
	cJSON_free(info_text);
	cJSON_Delete(claims);
	free(grants_json);
	jwt_free(jwt);
	return rc;
}
