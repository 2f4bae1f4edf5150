/*
 * fuzz_config.c - the config file (edge/server/config.c): the bytes are written to a memory file
 * and read by config_load_file, exactly as `mqedge --config FILE` reads them; then config_finish
 * derives and checks the cross-field rules, and auth_create reads the auth options (the
 * anonymous-rooms pattern list) as the server does at start.
 *
 * Invariants: the loader accepts a file exactly when a plain reading of it does - every line that
 * is not blank or a '#' comment is "name = value" (blanks and tabs around both, one pair of double
 * quotes around the value stripped) and config_set takes each pair - so the grammar of
 * docs and examples/mqedge.conf holds; loading is deterministic; after config_finish succeeds the
 * edge id and topic prefix are valid, the broker has a port in 1-65535 and the JWT algorithm
 * matches the key; the anonymous permissions auth_create builds hold only valid patterns; nothing
 * leaks (config_free, auth_destroy).
 */
#include <sys/mman.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "fuzz.h"
#include "mqedge/wire/topics.h"

static int fd = -1;
static char path[64];

static void cleanup(void)
{
	if (fd >= 0)
		close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	fd = memfd_create("mqedge-fuzz-config", 0);
	if (fd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	atexit(cleanup);
	return 0;
}

static int load(struct edge_config *cfg, const void *data, size_t size)
{
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	if (config_defaults(cfg))
		abort();
	return config_load_file(cfg, path);
}

static char *trim_ref(char *s)
{
	char *end = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* The reference reading: 0 when every line is a comment, blank, or a pair config_set takes; -1
 * otherwise; 1 when the input is outside what it models (NUL bytes, lines fgets would split). */
static int reference(const uint8_t *data, size_t size)
{
	struct edge_config cfg;
	char *text, *line, *next;
	int rc = 0;

	if (memchr(data, '\0', size))
		return 1;
	text = fuzz_strndup(data, size);
	if (config_defaults(&cfg))
		abort();
	for (line = text; rc == 0 && line && *line; line = next) {
		char *nl = strchr(line, '\n'), *s, *eq, *value, err[256];
		size_t vlen;

		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		if (strlen(line) >= 4000) {
			rc = 1;
			break;
		}
		s = trim_ref(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			rc = -1;
			break;
		}
		*eq = '\0';
		value = trim_ref(eq + 1);
		vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			value[vlen - 1] = '\0';
			value++;
		}
		if (config_set(&cfg, trim_ref(s), value, err, sizeof(err)))
			rc = -1;
	}
	config_free(&cfg);
	free(text);
	return rc;
}

static void check_auth(const struct edge_config *cfg)
{
	char err[512];
	struct identity id;
	struct auth *a;

	if (cfg->jwt_public_key)
		return;	/* a path to read: the fuzzer could name a FIFO */
	a = auth_create(cfg, err, sizeof(err));
	if (!a) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(auth_anonymous(a, "s1", &id) == 0 && id.anonymous && id.perms);
	for (uint32_t i = 0; i < id.perms->counts[PERM_ROOMS]; i++) {
		const char *p = id.perms->lists[PERM_ROOMS][i];
		size_t n = strlen(p);

		FUZZ_CHECK(n >= 1 && n <= 64);
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK(p[k] == '*' || topics_id_char((unsigned char)p[k]));
		FUZZ_CHECK(cfg->anonymous_rooms && strstr(cfg->anonymous_rooms, p));
		/* a pattern without '*' allows exactly itself */
		if (!strchr(p, '*') && topics_validate_id(p, n) == 0)
			FUZZ_CHECK(perms_allow(id.perms, PERM_ROOMS, p));
	}
	FUZZ_CHECK(id.perms->counts[PERM_DM] == 1);
	identity_release(&id);
	auth_destroy(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct edge_config cfg, again;
	char err[512], err2[512];
	int rc = load(&cfg, data, size), ref = reference(data, size);

	if (ref != 1)
		FUZZ_CHECK(rc == ref);
	FUZZ_CHECK(load(&again, data, size) == rc);
	if (rc == 0) {
		int fin = config_finish(&cfg, err, sizeof(err));

		FUZZ_CHECK(config_finish(&again, err2, sizeof(err2)) == fin);
		if (fin == 0) {
			FUZZ_CHECK(topics_validate_id(cfg.edge_id, strlen(cfg.edge_id)) == 0);
			FUZZ_CHECK(topics_validate_prefix(cfg.topic_prefix) == 0);
			FUZZ_CHECK(cfg.broker_host && cfg.broker_port >= 1 && cfg.broker_port <= 65535);
			FUZZ_CHECK(cfg.jwt_alg && (!strcmp(cfg.jwt_alg, "HS256") || !strcmp(cfg.jwt_alg, "RS256") ||
						   !strcmp(cfg.jwt_alg, "ES256")));
			FUZZ_CHECK(!strcmp(cfg.jwt_alg, "HS256") ? !cfg.jwt_public_key : !cfg.jwt_secret);
			FUZZ_CHECK(cfg.port || cfg.tls_port);
			FUZZ_CHECK(cfg.outq_hard_bytes >= cfg.outq_max_bytes);
			check_auth(&cfg);
		} else {
			FUZZ_CHECK(err[0] != '\0' && !strcmp(err, err2));
		}
	}
	config_free(&cfg);
	config_free(&again);
	return 0;
}
