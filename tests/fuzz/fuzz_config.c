/*
 * fuzz_config.c - the config file (edge/server/config.c): the bytes are written to a memory file
 * and read by config_load_file, exactly as `mqedge --config FILE` reads them; then config_finish
 * derives and checks the cross-field rules, and auth_create reads the auth options (the
 * anonymous-rooms pattern list) as the server does at start.
 *
 * Invariants: the loader accepts a file exactly when a plain reading of it does - every line that
 * is not blank or a '#' comment is "name = value" (blanks and tabs around both); a value opening
 * with '"' is the text up to the next '"', followed by nothing but blanks and perhaps a '#' comment;
 * an unquoted value ends before the first '#' at its start or after a blank; config_set takes
 * each pair, and the settings loaded are the ones the reading gives - so the grammar of --help
 * and examples/mqedge.conf holds; loading is deterministic; after config_finish succeeds the
 * edge id and topic prefix are valid, the broker has a port in 1-65535 and the JWT algorithm
 * matches the key; the anonymous permissions auth_create builds hold only valid patterns; nothing
 * leaks (config_free, auth_destroy). The *-file options read whatever path the input names: only
 * regular files are read (a FIFO or device would block the run), so both readings see the same.
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

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The value of one setting, read left to right (the grammar in the header comment): a copy in
 * out, 0; -1 when a quoted value is unterminated or followed by more than a comment. */
static int reference_value(const char *v, char *out, size_t outlen)
{
	size_t n = 0, keep = 0;

	while (blank(*v))
		v++;
	if (*v == '"') {
		for (v++; *v && *v != '"'; v++)
			out[n++] = *v;
		if (!*v)
			return -1;
		for (v++; blank(*v); v++)
			;
		out[n] = '\0';
		return *v == '\0' || *v == '#' ? 0 : -1;
	}
	/* unquoted: copy up to a comment, remembering where the last non-blank ended */
	for (size_t i = 0; v[i] && n + 1 < outlen; i++) {
		if (v[i] == '#' && (i == 0 || blank(v[i - 1])))
			break;
		out[n++] = v[i];
		if (!blank(v[i]))
			keep = n;
	}
	out[keep] = '\0';
	return 0;
}

/* The reference reading: 0 when every line is a comment, blank, or a pair config_set takes, with
 * what it read in cfg (caller frees with config_free); -1 otherwise; 1 when the input is outside
 * what it models (NUL bytes, lines fgets would split). */
static int reference(const uint8_t *data, size_t size, struct edge_config *cfg)
{
	char *text, *line, *next, value[4096];
	int rc = 0;

	if (config_defaults(cfg))
		abort();
	if (memchr(data, '\0', size))
		return 1;
	text = fuzz_strndup(data, size);
	for (line = text; rc == 0 && line && *line; line = next) {
		char *nl = strchr(line, '\n'), *s, *eq, err[256];

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
		if (reference_value(eq + 1, value, sizeof(value)) ||
		    config_set(cfg, trim_ref(s), value, err, sizeof(err)))
			rc = -1;
	}
	free(text);
	return rc;
}

/* Every string field of struct edge_config: a field missing here fails at once (its pointers differ). */
#define STRING_FIELDS(X) X(bind) X(cert) X(key) X(origins) X(trusted_proxies) X(web_root) X(broker) X(broker_host) \
	X(broker_username) X(broker_password) X(broker_cafile) X(topic_prefix) X(edge_id) X(data_dir) \
	X(inbox_scope) X(api_key) X(jwt_secret) X(jwt_public_key) X(jwt_alg) X(jwt_audience) X(jwt_issuer) \
	X(anonymous_rooms) X(presence_rooms) X(history_rooms) X(log_level) X(event_loop) X(mqtt_version) \
	X(rpc_timeouts) X(workers) X(tls_ticket_key)

/* Whether two loaded configs hold the same settings (strings by content, the rest by bytes). */
static int same_settings(const struct edge_config *a, const struct edge_config *b)
{
	struct edge_config x = *a, y = *b;

#define SAME_STRING(f) \
	if ((a->f == NULL) != (b->f == NULL) || (a->f && strcmp(a->f, b->f))) \
		return 0; \
	x.f = y.f = NULL;
	STRING_FIELDS(SAME_STRING)
#undef SAME_STRING
	return !memcmp(&x, &y, sizeof(x));
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
	struct edge_config cfg, again, read;
	char err[512], err2[512];
	int rc = load(&cfg, data, size), ref = reference(data, size, &read);

	if (ref != 1)
		FUZZ_CHECK(rc == ref);
	if (ref == 0)
		FUZZ_CHECK(same_settings(&cfg, &read));
	config_free(&read);
	FUZZ_CHECK(load(&again, data, size) == rc);
	if (rc == 0) {
		int fin = config_finish(&cfg, err, sizeof(err));

		FUZZ_CHECK(config_finish(&again, err2, sizeof(err2)) == fin);
		if (fin == 0) {
			FUZZ_CHECK(topics_validate_id(cfg.edge_id, strlen(cfg.edge_id)) == 0);
			FUZZ_CHECK(topics_validate_prefix(cfg.topic_prefix) == 0);
			FUZZ_CHECK(cfg.broker_host && cfg.broker_port >= 1 && cfg.broker_port <= 65535);
			/* the broker list: 1-16 entries, the first is broker_host/port, each valid, none twice */
			FUZZ_CHECK(cfg.n_brokers >= 1 && cfg.n_brokers <= CONFIG_BROKERS_MAX);
			FUZZ_CHECK(!strcmp(cfg.brokers[0].host, cfg.broker_host) && cfg.brokers[0].port == cfg.broker_port);
			for (size_t i = 0; i < cfg.n_brokers; i++) {
				FUZZ_CHECK(cfg.brokers[i].host && cfg.brokers[i].port >= 1 && cfg.brokers[i].port <= 65535);
				FUZZ_CHECK(!strchr(cfg.brokers[i].host, ','));
				for (size_t k = 0; k < i; k++)
					FUZZ_CHECK(cfg.brokers[k].port != cfg.brokers[i].port ||
						   strcmp(cfg.brokers[k].host, cfg.brokers[i].host));
			}
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
