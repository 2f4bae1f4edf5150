/*
 * mqedge-token - mints development tokens for mqedge (docs/PROTOCOL.md section 1) with libjwt.
 *
 *   mqedge-token --secret S --sub alice --rooms 'lobby,team-*' [--ttl 3600]
 *   mqedge-token --secret-file /etc/mqedge/jwt-secret --sub alice   (the edge's jwt-secret-file)
 *   mqedge-token --private-key key.pem --alg RS256 --sub d1 --kind device
 *   mqedge-token --secret S --sub alice --rpc 'whoami,orders.*'   (rpc methods, PROTOCOL.md section 11)
 *
 * Pattern lists are comma-separated; each becomes a JSON array claim. Prints the token.
 * For development and tests: production tokens come from your identity provider.
 */
#include <errno.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const list_claims[] = { "rooms", "pub", "devices", "cmd", "dm", "rpc" };
#define N_LISTS (sizeof(list_claims) / sizeof(list_claims[0]))

static void usage(void)
{
	fprintf(stderr,
		"usage: mqedge-token (--secret S | --secret-file FILE | --private-key FILE [--alg RS256|ES256])\n"
		"       --sub ID\n"
		"       [--kind user|device] [--rooms CSV] [--pub CSV] [--devices CSV] [--cmd CSV] [--dm CSV] [--rpc CSV]\n"
		"       [--ttl SECONDS (default 3600, 0 = no exp)] [--aud A] [--iss I]\n");
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (size = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc((size_t)size + 1)) && fread(buf, 1, (size_t)size, f) == (size_t)size) {
		buf[size] = '\0';
		*len = (size_t)size;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* "a,b" -> ["a","b"] as JSON (patterns hold only id characters and '*', nothing to escape). */
static int csv_to_json(const char *csv, char *out, size_t outlen)
{
	size_t n = 0;
	const char *p = csv;

	n += (size_t)snprintf(out + n, outlen - n, "[");
	while (*p && n < outlen) {
		const char *comma = strchr(p, ',');
		int len = comma ? (int)(comma - p) : (int)strlen(p);

		for (int i = 0; i < len; i++)
			if (p[i] == '"' || p[i] == '\\')
				return -1;
		if (len)
			n += (size_t)snprintf(out + n, outlen - n, "%s\"%.*s\"", n > 1 ? "," : "", len, p);
		p = comma ? comma + 1 : p + len;
	}
	if (n + 2 > outlen)
		return -1;
	snprintf(out + n, outlen - n, "]");
	return 0;
}

int main(int argc, char **argv)
{
	const char *secret = NULL, *secret_file = NULL, *keyfile = NULL, *alg = NULL, *sub = NULL, *kind = NULL, *aud = NULL,
		   *iss = NULL, *lists[N_LISTS] = { 0 };
	long ttl = 3600;
	jwt_t *jwt = NULL;
	unsigned char *key = NULL;
	size_t key_len = 0;
	char *token, json[4096], wrapped[4200];
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		size_t k;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			return 0;
		}
		if (!v) {
			usage();
			return 2;
		}
		i++;
		if (!strcmp(a, "--secret")) secret = v;
		else if (!strcmp(a, "--secret-file")) secret_file = v;
		else if (!strcmp(a, "--private-key")) keyfile = v;
		else if (!strcmp(a, "--alg")) alg = v;
		else if (!strcmp(a, "--sub")) sub = v;
		else if (!strcmp(a, "--kind")) kind = v;
		else if (!strcmp(a, "--aud")) aud = v;
		else if (!strcmp(a, "--iss")) iss = v;
		else if (!strcmp(a, "--ttl")) ttl = strtol(v, NULL, 10);
		else {
			for (k = 0; k < N_LISTS; k++)
				if (!strncmp(a, "--", 2) && !strcmp(a + 2, list_claims[k]))
					break;
			if (k == N_LISTS) {
				usage();
				return 2;
			}
			lists[k] = v;
		}
	}
	if (!sub || (secret != NULL) + (secret_file != NULL) + (keyfile != NULL) != 1) {
		usage();
		return 2;
	}
	if (jwt_new(&jwt))
		goto fail;
	if (secret) {
		key = (unsigned char *)strdup(secret);
		key_len = strlen(secret);
		alg = "HS256";
	} else if (secret_file) {
		/* read as the edge reads jwt-secret-file: one trailing newline is not part of it */
		key = (unsigned char *)read_file(secret_file, &key_len);
		if (key && key_len && key[key_len - 1] == '\n')
			key_len -= key_len >= 2 && key[key_len - 2] == '\r' ? 2 : 1;
		if (key)
			key[key_len] = '\0';
		if (key && !key_len) {
			fprintf(stderr, "mqedge-token: %s is empty\n", secret_file);
			goto done;
		}
		alg = "HS256";
	} else {
		key = (unsigned char *)read_file(keyfile, &key_len);
		if (!alg)
			alg = "RS256";
	}
	if (!key) {
		fprintf(stderr, "mqedge-token: cannot read %s: %s\n", secret ? "the secret" : secret_file ? secret_file : keyfile,
			strerror(errno));
		goto done;
	}
	if (jwt_set_alg(jwt, jwt_str_alg(alg), key, (int)key_len) || jwt_add_grant(jwt, "sub", sub) ||
	    (kind && jwt_add_grant(jwt, "kind", kind)) || (aud && jwt_add_grant(jwt, "aud", aud)) ||
	    (iss && jwt_add_grant(jwt, "iss", iss)) || jwt_add_grant_int(jwt, "iat", (long)time(NULL)) ||
	    (ttl > 0 && jwt_add_grant_int(jwt, "exp", (long)time(NULL) + ttl)))
		goto fail;
	for (size_t k = 0; k < N_LISTS; k++) {
		if (!lists[k])
			continue;
		if (csv_to_json(lists[k], json, sizeof(json)))
			goto fail;
		snprintf(wrapped, sizeof(wrapped), "{\"%s\":%s}", list_claims[k], json);
		if (jwt_add_grants_json(jwt, wrapped))
			goto fail;
	}
	token = jwt_encode_str(jwt);
	if (!token)
		goto fail;
	puts(token);
	free(token);
	rc = 0;
fail:
	if (rc)
		fprintf(stderr, "mqedge-token: could not build the token (errno %d)\n", errno);
done:
	jwt_free(jwt);
	free(key);
	return rc;
}
