/*
 * config.c - the option table and the four sources that fill it, later winning: defaults, a
 * "key = value" file, MQEDGE_* environment variables and "--key value" flags. Owns: parsing,
 * bounds, --help text, derived fields, reading the secret files that *-file options name.
 * Must not: open sockets, or files other than the config file and those secret files.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "mqedge/wire/topics.h"
#include "tls.h"

/* OPT_FILE: the value is a path; the file's content (one trailing newline stripped) is stored in
 * the string field at offset, as if that option had been given at this point. */
enum opt_type { OPT_STR, OPT_INT, OPT_BOOL, OPT_FILE };

struct option_def {
	const char *name;
	enum opt_type type;
	size_t offset;
	long min, max;
	const char *def;	/* default as text; NULL = unset */
	const char *help;
};

#define STR(field, def, help) { #field, OPT_STR, offsetof(struct edge_config, field), 0, 0, def, help }
#define NUM(field, lo, hi, def, help) { #field, OPT_INT, offsetof(struct edge_config, field), lo, hi, def, help }
#define BOOL(field, def, help) { #field, OPT_BOOL, offsetof(struct edge_config, field), 0, 1, def, help }
#define FROM_FILE(field, help) { #field "_file", OPT_FILE, offsetof(struct edge_config, field), 0, 0, NULL, help }

#define SECRET_FILE_MAX 65536	/* bytes; a secret or key list, not a document */

/* Names use '_' here and are shown with '-' ("tls_port" is --tls-port / "tls-port = " /
 * MQEDGE_TLS_PORT). */
static const struct option_def options[] = {
	STR(bind, "127.0.0.1", "IP address the WebSocket listeners bind to (0.0.0.0 or :: for all)"),
	NUM(port, 0, 65535, "8080", "plain ws:// port; 0 disables it"),
	NUM(tls_port, 0, 65535, "0", "wss:// port (needs --cert and --key); 0 disables it"),
	STR(cert, NULL, "PEM certificate chain for the TLS port"),
	STR(key, NULL, "PEM private key for the TLS port"),
	BOOL(tls_session_tickets, "true",
	     "issue TLS session tickets (stateless: no server memory per session) so returning clients resume "
	     "without a full handshake"),
	STR(tls_ticket_key, NULL,
	    "secret (32+ characters) the ticket keys derive from; edges given the same one resume each other's "
	    "clients; unset: a random one per start (shared by the workers)"),
	FROM_FILE(tls_ticket_key, "read tls-ticket-key from FILE (kept out of ps; e.g. openssl rand -base64 48)"),
	NUM(tls_ticket_rotate, 1, 604800, "3600",
	    "seconds a ticket key issues tickets; a ticket is good for as long (then a full handshake)"),
	STR(origins, "", "comma-separated Origin allowlist for upgrades; empty allows any"),
	STR(trusted_proxies, "",
	    "comma-separated addresses or networks (10.0.0.0/8) of reverse proxies whose X-Forwarded-For names the client"),
	STR(web_root, NULL, "directory served over HTTP at /demo/ (the browser demo: examples/web)"),
	BOOL(permessage_deflate, "true", "accept permessage-deflate when a client offers it"),
	NUM(deflate_min_bytes, 0, 16L << 20, "256",
	    "with permessage-deflate negotiated, messages from this size go out compressed (once per message, "
	    "shared by every member); 0 sends everything uncompressed"),
	STR(broker, "127.0.0.1:1883",
	    "MQTT broker as HOST:PORT, or a failover list HOST:PORT,HOST:PORT,... (tried in turn, round robin)"),
	NUM(broker_failover_after, 1, 86400, "30",
	    "seconds the broker may stay unreachable before the edge moves to the next one of the broker list"),
	STR(broker_username, NULL, "MQTT username"),
	STR(broker_password, NULL, "MQTT password"),
	FROM_FILE(broker_password, "read broker-password from FILE (kept out of ps)"),
	STR(broker_cafile, NULL, "CA file; when set the broker connection uses TLS"),
	NUM(broker_keepalive, 5, 3600, "30", "MQTT keepalive in seconds"),
	STR(mqtt_version, "5", "MQTT version spoken with the broker: 5, or 3.1.1 for a broker without MQTT 5 (no rpc)"),
	NUM(offline_queue, 0, 60000, "1000", "messages held for the broker while it is away"),
	NUM(offline_queue_bytes, 0, 1L << 30, "4194304", "bytes held for the broker while it is away"),
	STR(topic_prefix, "mqedge/v1", "MQTT topic prefix"),
	STR(edge_id, NULL, "this edge's id (default: HOSTNAME-PORT)"),
	STR(data_dir, "./mqedge-data", "directory for the edge's persistent state (inbox.db)"),
	STR(inbox_scope, "all", "whose notifications this edge stores: all, or served (users that connected here)"),
	NUM(inbox_max_per_user, 1, 10000000, "1000", "notifications kept per user (oldest pruned first)"),
	NUM(inbox_max_age, 1, 315360000, "2592000", "seconds a notification is kept"),
	NUM(inbox_backlog, 0, 100000, "1000", "unread notifications pushed on connect (0: the client pages)"),
	STR(api_key, NULL, "comma-separated keys for the HTTP API (/api/v1/...: notifications, server API); unset disables it"),
	FROM_FILE(api_key, "read api-key from FILE (kept out of ps)"),
	NUM(api_max_body, 1024, 64L << 20, "1048576", "largest HTTP request body in bytes (413 above)"),
	NUM(status_interval, 1, 3600, "15",
	    "seconds between rewrites of the retained status while the connection count changes (GET /api/v1/info)"),
	STR(jwt_secret, NULL, "HS256 shared secret for tokens"),
	FROM_FILE(jwt_secret, "read jwt-secret from FILE (kept out of ps)"),
	STR(jwt_public_key, NULL, "PEM public key file for RS256/ES256 tokens"),
	STR(jwt_alg, NULL, "token algorithm: HS256, RS256 or ES256 (default from the key given)"),
	STR(jwt_audience, NULL, "required aud claim, if set"),
	STR(jwt_issuer, NULL, "required iss claim, if set"),
	BOOL(allow_anonymous, "false", "accept connections without a token"),
	STR(anonymous_rooms, "*", "comma-separated room patterns anonymous users may join and publish to"),
	NUM(max_frame, 128, 16L << 20, "65536", "largest client message in bytes (close 1009 above)"),
	NUM(max_rooms, 1, 100000, "100", "rooms and devices one connection may subscribe to"),
	NUM(max_conns_per_user, 1, 100000, "16", "connections per user on this edge (HTTP 429 above)"),
	NUM(rate, 1, 1000000, "100", "frames per second a connection may send, sustained"),
	NUM(burst, 1, 1000000, "200", "frames a connection may send in a burst"),
	NUM(rate_strikes, 1, 1000000, "20", "rate_limited replies before close 1008 (refill 1/s)"),
	NUM(outq_max_bytes, 4096, 1L << 30, "1048576",
	    "bytes a client may leave queued longer than slow-timeout before close 4002"),
	NUM(outq_hard_bytes, 4096, 1L << 30, "8388608", "bytes queued for one client at any moment before close 4002 at once"),
	NUM(slow_timeout, 1, 3600, "5", "seconds a client may stay above outq-max-bytes (a burst draining)"),
	NUM(handshake_timeout, 1, 300, "10",
	    "seconds from TCP accept until the WebSocket upgrade (TLS included) must be complete"),
	NUM(ping_interval, 1, 3600, "20", "seconds without a PONG before the edge sends a PING"),
	NUM(ping_timeout, 1, 3600, "10", "seconds to wait for the PONG before closing"),
	STR(presence_rooms, "", "comma-separated room patterns whose members are tracked across edges (presence)"),
	NUM(presence_max_members, 1, 1000000, "1000", "users per edge and room listed by presence; bigger rooms: counts only"),
	STR(history_rooms, "", "comma-separated PATTERN[=SIZE[/TTL]] of rooms that keep a history window (resume)"),
	NUM(history_size, 1, 1000000, "100", "messages kept per history room (when its pattern names no SIZE)"),
	NUM(history_ttl, 0, 31536000, "300", "seconds a history message is kept (when its pattern names no TTL; 0: no limit)"),
	NUM(history_grace, 0, 86400, "60", "seconds an edge keeps a history room after its last local member left"),
	NUM(history_fetch_timeout, 50, 60000, "1000", "ms an edge waits for another edge's window of a history room"),
	NUM(rpc_timeout, 1, 600000, "5000", "ms an rpc request waits for its backend's answer (default for every method)"),
	STR(rpc_timeouts, "", "comma-separated METHOD-PATTERN=MS: rpc timeouts of some methods (first match wins)"),
	NUM(rpc_max_inflight, 1, 100000, "16", "rpc requests one connection may have waiting for answers"),
	NUM(dedup_window, 1024, 1L << 24, "65536", "message ids remembered to drop duplicates"),
	STR(log_level, "info", "error, warn, info or debug"),
	STR(event_loop, "epoll", "epoll (libev under libwebsockets) or poll (libwebsockets' own loop)"),
	STR(workers, "0",
	    "worker processes sharing the ports (SO_REUSEPORT) under one supervisor: N (1-64), auto (one per core), "
	    "or 0 (one process, no supervisor)"),
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void display_name(const char *name, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < outlen; i++)
		out[i] = name[i] == '_' ? '-' : name[i];
	out[i] = '\0';
}

static const struct option_def *find_option(const char *name)
{
	char shown[64];

	for (size_t i = 0; i < N_OPTIONS; i++) {
		display_name(options[i].name, shown, sizeof(shown));
		if (!strcmp(shown, name) || !strcmp(options[i].name, name))
			return &options[i];
	}
	return NULL;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

/* Reads a secret file whole: a regular file (never a FIFO or device that could block or never
 * end), at most SECRET_FILE_MAX bytes, no NUL, one trailing "\n" (or "\r\n") stripped, not empty
 * after that. Returns a heap string (caller frees with free()) or NULL with a message naming the
 * option and the file in err. */
static char *read_secret_file(const char *shown, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	ssize_t n;
	int fd = -1;

	if (!*path) {
		snprintf(err, errlen, "%s: no file named", shown);
		goto fail;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, errlen, "%s: cannot read %s: %s", shown, path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a regular file", shown, path);
		goto fail;
	}
	buf = malloc(SECRET_FILE_MAX + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	while (len <= SECRET_FILE_MAX && (n = read(fd, buf + len, SECRET_FILE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: cannot read %s: %s", shown, path, strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	if (len > SECRET_FILE_MAX) {
		snprintf(err, errlen, "%s: %s is larger than %d bytes", shown, path, SECRET_FILE_MAX);
		goto fail;
	}
	if (memchr(buf, '\0', len)) {
		snprintf(err, errlen, "%s: %s contains a NUL byte", shown, path);
		goto fail;
	}
	if (len && buf[len - 1] == '\n')
		len -= len >= 2 && buf[len - 2] == '\r' ? 2 : 1;
	if (!len) {
		snprintf(err, errlen, "%s: %s is empty", shown, path);
		goto fail;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int apply(struct edge_config *cfg, const struct option_def *o, const char *value,
		 char *err, size_t errlen)
{
	void *field = (char *)cfg + o->offset;
	char shown[64];

	display_name(o->name, shown, sizeof(shown));
	switch (o->type) {
	case OPT_STR: {
		char **slot = field;
		char *copy = value ? strdup(value) : NULL;

		if (value && !copy) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(*slot);
		*slot = copy;
		return 0;
	}
	case OPT_INT: {
		char *end;
		long n;

		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || end == value || *end || n < o->min || n > o->max) {
			snprintf(err, errlen, "%s: '%s' is not an integer in [%ld, %ld]", shown, value,
				 o->min, o->max);
			return -1;
		}
		*(long *)field = n;
		return 0;
	}
	case OPT_BOOL:
		if (parse_bool(value, field)) {
			snprintf(err, errlen, "%s: '%s' is not true or false", shown, value);
			return -1;
		}
		return 0;
	case OPT_FILE: {
		char **slot = field, *content = read_secret_file(shown, value, err, errlen);

		if (!content)
			return -1;
		free(*slot);
		*slot = content;
		return 0;
	}
	}
	return -1;
}

/* MQEDGE_ and the option name upper-cased ("jwt_secret_file" -> MQEDGE_JWT_SECRET_FILE). */
static void env_name(const char *name, char *out, size_t outlen)
{
	size_t j = (size_t)snprintf(out, outlen, "MQEDGE_");

	for (size_t i = 0; name[i] && j + 1 < outlen; i++)
		out[j++] = (name[i] >= 'a' && name[i] <= 'z') ? (char)(name[i] - 'a' + 'A') : name[i];
	out[j] = '\0';
}

/* The environment source: MQEDGE_<OPTION> for every option. An empty variable counts as unset (a
 * compose file's "${X}" with X unset is empty: it must not become an empty secret). Other MQEDGE_*
 * names (the scripts' MQEDGE_BIN, ...) are not options and are left alone. */
static int load_env(struct edge_config *cfg, char *err, size_t errlen)
{
	char var[80], other[80], msg[256];

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option_def *o = &options[i];
		const char *v;

		env_name(o->name, var, sizeof(var));
		v = getenv(var);
		if (!v || !*v)
			continue;
		if (o->type == OPT_FILE) {	/* both ways at one level: which one was meant? */
			const char *direct;

			snprintf(other, sizeof(other), "%.*s", (int)(strlen(var) - 5), var);
			direct = getenv(other);
			if (direct && *direct) {
				snprintf(err, errlen, "environment: set %s or %s, not both", other, var);
				return -1;
			}
		}
		if (apply(cfg, o, v, msg, sizeof(msg))) {
			snprintf(err, errlen, "environment %s: %.160s", var, msg);
			return -1;
		}
	}
	return 0;
}

int config_set(struct edge_config *cfg, const char *name, const char *value, char *err, size_t errlen)
{
	const struct option_def *o = find_option(name);

	if (!o) {
		snprintf(err, errlen, "unknown option '%s'", name);
		return -1;
	}
	return apply(cfg, o, value, err, errlen);
}

int config_defaults(struct edge_config *cfg)
{
	char err[128];

	memset(cfg, 0, sizeof(*cfg));
	cfg->worker_index = -1;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (options[i].def && apply(cfg, &options[i], options[i].def, err, sizeof(err)))
			return -1;
	}
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* One line of the file grammar (documented in examples/mqedge.conf and --help): blank, a comment
 * ('#' first), or "name = value". A value opening with '"' runs to the next '"' (no escapes), and
 * only blanks or a comment may follow it; an unquoted value ends where a '#' opens a comment - at
 * its start or after a blank - and loses its surrounding blanks. So "s#x" keeps its '#', while
 * "s # note" is "s". Splits s in place: *name NULL for a line without a setting. Returns 0, or -1
 * with *why set. */
static int parse_line(char *s, char **name, char **value, const char **why)
{
	char *eq, *v, *end;

	*name = *value = NULL;
	s = trim(s);
	if (!*s || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (!eq) {
		*why = "expected 'key = value'";
		return -1;
	}
	*eq = '\0';
	*name = trim(s);
	v = eq + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '"') {
		end = strchr(v + 1, '"');
		if (!end) {
			*why = "unterminated quoted value (a quoted value ends at the next '\"')";
			return -1;
		}
		*end = '\0';
		*value = v + 1;
		for (end++; *end == ' ' || *end == '\t'; end++)
			;
		if (*end && *end != '#') {
			*why = "unexpected text after the quoted value";
			return -1;
		}
		return 0;
	}
	for (end = v; *end; end++)
		if (*end == '#' && (end == v || end[-1] == ' ' || end[-1] == '\t'))
			break;
	*end = '\0';
	*value = trim(v);
	return 0;
}

int config_load_file(struct edge_config *cfg, const char *path)
{
	char line[4096], err[256];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "mqedge: cannot open config %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *name, *value;
		const char *why = NULL;

		lineno++;
		if (parse_line(line, &name, &value, &why)) {
			fprintf(stderr, "mqedge: %s:%u: %s\n", path, lineno, why);
			goto fail;
		}
		if (name && config_set(cfg, name, value, err, sizeof(err))) {
			fprintf(stderr, "mqedge: %s:%u: %s\n", path, lineno, err);
			goto fail;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "mqedge: error reading %s\n", path);
		goto fail;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	return -1;
}

/* workers: "0", "auto" or 1-64 -> n_workers; a worker's edge id "{edge-id}-w{k}" must stay an id. */
static int parse_workers(struct edge_config *cfg, char *err, size_t errlen)
{
	char *end;
	long n;

	if (!strcmp(cfg->workers, "auto")) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		n = n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : n;
	} else {
		errno = 0;
		n = strtol(cfg->workers, &end, 10);
		if (errno || end == cfg->workers || *end || n < 0 || n > WORKERS_MAX) {
			snprintf(err, errlen, "workers: '%s' is not 0-%d or auto", cfg->workers, WORKERS_MAX);
			return -1;
		}
	}
	cfg->n_workers = n;
	if (n && strlen(cfg->edge_id) + 4 > TOPICS_ID_MAX) {
		snprintf(err, errlen, "edge-id: '%s' leaves no room for the workers' suffix -wNN (at most %d characters)",
			 cfg->edge_id, TOPICS_ID_MAX - 4);
		return -1;
	}
	return 0;
}

/* One entry of the broker list, [start, end): HOST:PORT or [v6]:PORT, spaces around it ignored. */
static int split_one_broker(const char *start, const char *end, size_t index, struct config_broker *out, char *err,
			    size_t errlen)
{
	const char *colon, *host;
	size_t host_len;
	char portbuf[8];
	char *pend;
	long port;

	while (start < end && *start == ' ')
		start++;
	while (end > start && end[-1] == ' ')
		end--;
	if (start == end) {
		snprintf(err, errlen, "broker: entry %zu of the list is empty", index + 1);
		return -1;
	}
	for (colon = end - 1; colon > start && *colon != ':'; colon--)
		;
	if (colon == start) {
		snprintf(err, errlen, "broker: '%.*s' is not HOST:PORT", (int)(end - start), start);
		return -1;
	}
	host = start;
	host_len = (size_t)(colon - host);
	if (host[0] == '[' && host_len > 2 && host[host_len - 1] == ']') {	/* [::1]:1883 */
		host++;
		host_len -= 2;
	}
	if ((size_t)(end - colon - 1) >= sizeof(portbuf) || end == colon + 1) {
		snprintf(err, errlen, "broker: bad port in '%.*s'", (int)(end - start), start);
		return -1;
	}
	memcpy(portbuf, colon + 1, (size_t)(end - colon - 1));
	portbuf[end - colon - 1] = '\0';
	port = strtol(portbuf, &pend, 10);
	if (*pend || port < 1 || port > 65535 || portbuf[0] == '+' || portbuf[0] == ' ') {
		snprintf(err, errlen, "broker: bad port in '%.*s'", (int)(end - start), start);
		return -1;
	}
	out->host = strndup(host, host_len);
	if (!out->host) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	out->port = port;
	return 0;
}

static void free_brokers(struct edge_config *cfg)
{
	for (size_t i = 0; i < cfg->n_brokers; i++)
		free(cfg->brokers[i].host);
	cfg->n_brokers = 0;
	free(cfg->broker_host);
	cfg->broker_host = NULL;
}

/* broker: HOST:PORT[,HOST:PORT...] -> brokers[] (and broker_host/port: the first). Every entry is
 * checked; an entry listed twice is refused (the round robin would visit it twice). */
static int split_broker(struct edge_config *cfg, char *err, size_t errlen)
{
	const char *p = cfg->broker;

	free_brokers(cfg);
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		struct config_broker *b;

		if (cfg->n_brokers == CONFIG_BROKERS_MAX) {
			snprintf(err, errlen, "broker: more than %d brokers listed", CONFIG_BROKERS_MAX);
			goto fail;
		}
		b = &cfg->brokers[cfg->n_brokers];
		if (split_one_broker(p, end, cfg->n_brokers, b, err, errlen))
			goto fail;
		cfg->n_brokers++;
		for (size_t i = 0; i + 1 < cfg->n_brokers; i++) {
			if (cfg->brokers[i].port == b->port && !strcmp(cfg->brokers[i].host, b->host)) {
				snprintf(err, errlen, "broker: %s:%ld is listed twice", b->host, b->port);
				goto fail;
			}
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	cfg->broker_host = strdup(cfg->brokers[0].host);
	if (!cfg->broker_host) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	cfg->broker_port = cfg->brokers[0].port;
	return 0;
fail:
	free_brokers(cfg);
	return -1;
}

/* Without a configured secret, one made here: config_finish runs before --workers forks, so
 * every worker resumes the others' clients; a restart makes a new one. */
static int random_ticket_key(struct edge_config *cfg)
{
	unsigned char raw[32];
	char *hex = malloc(2 * sizeof(raw) + 1);

	if (!hex || getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		free(hex);
		return -1;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	cfg->tls_ticket_key = hex;
	return 0;
}

int config_finish(struct edge_config *cfg, char *err, size_t errlen)
{
	char why[160];

	if (split_broker(cfg, err, errlen))
		return -1;
	{
		unsigned char addr[16];

		if (inet_pton(AF_INET, cfg->bind, addr) != 1 && inet_pton(AF_INET6, cfg->bind, addr) != 1) {
			snprintf(err, errlen, "bind: '%s' is not an IP address (0.0.0.0 or :: for all)", cfg->bind);
			return -1;
		}
	}
	if (!cfg->port && !cfg->tls_port) {
		snprintf(err, errlen, "no listener: set --port and/or --tls-port");
		return -1;
	}
	if (cfg->tls_port && (!cfg->cert || !cfg->key)) {
		snprintf(err, errlen, "--tls-port needs --cert and --key");
		return -1;
	}
	if (cfg->tls_ticket_key && strlen(cfg->tls_ticket_key) < TLS_TICKET_SECRET_MIN) {
		snprintf(err, errlen, "tls-ticket-key: at least %d characters (e.g. openssl rand -base64 48)",
			 TLS_TICKET_SECRET_MIN);
		return -1;
	}
	if (cfg->tls_port && !cfg->tls_ticket_key && random_ticket_key(cfg)) {
		snprintf(err, errlen, "tls-ticket-key: no random bytes from the kernel");
		return -1;
	}
	if (!cfg->edge_id) {
		char host[256], id[300];
		size_t j = 0;

		if (gethostname(host, sizeof(host)))
			strcpy(host, "edge");
		host[sizeof(host) - 1] = '\0';
		/* keep only id characters of the host name, so the default is always a valid id */
		for (size_t i = 0; host[i] && j < 40; i++)
			if (topics_id_char(host[i]))
				id[j++] = host[i];
		snprintf(id + j, sizeof(id) - j, "-%ld", cfg->port ? cfg->port : cfg->tls_port);
		cfg->edge_id = strdup(id);
		if (!cfg->edge_id) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (topics_validate_id(cfg->edge_id, strlen(cfg->edge_id))) {
		snprintf(err, errlen, "edge-id: '%s' is not a valid id (1-64 of A-Za-z0-9_-.@:)",
			 cfg->edge_id);
		return -1;
	}
	if (parse_workers(cfg, err, errlen))
		return -1;
	if (topics_validate_prefix(cfg->topic_prefix)) {
		snprintf(err, errlen, "topic-prefix: '%s' must be non-empty levels without + # or a trailing /",
			 cfg->topic_prefix);
		return -1;
	}
	if (cfg->jwt_secret && cfg->jwt_public_key) {
		snprintf(err, errlen, "give either --jwt-secret or --jwt-public-key, not both");
		return -1;
	}
	if (!cfg->jwt_alg) {
		cfg->jwt_alg = strdup(cfg->jwt_public_key ? "RS256" : "HS256");
		if (!cfg->jwt_alg) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (strcmp(cfg->jwt_alg, "HS256") && strcmp(cfg->jwt_alg, "RS256") && strcmp(cfg->jwt_alg, "ES256")) {
		snprintf(err, errlen, "jwt-alg: '%s' is not HS256, RS256 or ES256", cfg->jwt_alg);
		return -1;
	}
	if (!strcmp(cfg->jwt_alg, "HS256") ? !!cfg->jwt_public_key : !!cfg->jwt_secret) {
		snprintf(err, errlen, "jwt-alg %s does not match the key given", cfg->jwt_alg);
		return -1;
	}
	if (!cfg->jwt_secret && !cfg->jwt_public_key && !cfg->allow_anonymous) {
		snprintf(err, errlen, "no way to authenticate: give --jwt-secret, --jwt-public-key or --allow-anonymous");
		return -1;
	}
	if (strcmp(cfg->event_loop, "epoll") && strcmp(cfg->event_loop, "poll")) {
		snprintf(err, errlen, "event-loop: '%s' is not epoll or poll", cfg->event_loop);
		return -1;
	}
	if (strcmp(cfg->mqtt_version, "5") && strcmp(cfg->mqtt_version, "3.1.1")) {
		snprintf(err, errlen, "mqtt-version: '%s' is not 5 or 3.1.1", cfg->mqtt_version);
		return -1;
	}
	if (strcmp(cfg->inbox_scope, "all") && strcmp(cfg->inbox_scope, "served")) {
		snprintf(err, errlen, "inbox-scope: '%s' is not all or served", cfg->inbox_scope);
		return -1;
	}
	if (cfg->ping_timeout < 1) {
		snprintf(err, errlen, "ping-timeout must be at least 1");
		return -1;
	}
	if (netaddr_list_parse(cfg->trusted_proxies, &cfg->trusted, why, sizeof(why))) {
		snprintf(err, errlen, "trusted-proxies: %s", why);
		return -1;
	}
	if (cfg->outq_hard_bytes < cfg->outq_max_bytes) {
		snprintf(err, errlen, "outq-hard-bytes (%ld) must be at least outq-max-bytes (%ld)", cfg->outq_hard_bytes,
			 cfg->outq_max_bytes);
		return -1;
	}
	return 0;
}

void config_print_help(FILE *out, const char *prog)
{
	char shown[64], arg[80];

	fprintf(out,
		"Usage: %s [--config FILE] [--OPTION VALUE]...\n"
		"mqedge %s: a WebSocket edge for browsers and devices over a shared MQTT broker.\n\n"
		"Every option may also be set in the config file as 'option = value' (one per line).\n"
		"A '#' at the start of a line, at the start of a value or after a blank starts a comment\n"
		"(\"s#1\" keeps its '#'); a value in double quotes (no escapes) keeps every '#' and blank\n"
		"inside them. Every option may also come from the environment as MQEDGE_ and its name\n"
		"upper-cased with '_' for '-' (MQEDGE_JWT_SECRET); an empty variable counts as unset.\n"
		"Later sources win: defaults < config file < environment < flags. --jwt-secret-file,\n"
		"--api-key-file and --broker-password-file read those values from a file (one trailing\n"
		"newline stripped), so secrets need not show in ps. Booleans take true/false; a boolean\n"
		"flag given alone means true.\n\n"
		"  --config FILE                  read options from FILE first\n"
		"  --check-config                 check the settings (file, environment, flags), the files they\n"
		"                                 name and the data dir, start nothing; print 'config ok' and\n"
		"                                 exit 0, or the error and exit 2\n"
		"  --help                         print this help and exit\n"
		"  --version                      print the version and exit\n",
		prog, MQEDGE_VERSION);
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option_def *o = &options[i];

		display_name(o->name, shown, sizeof(shown));
		snprintf(arg, sizeof(arg), "--%s %s", shown,
			 o->type == OPT_INT ? "N" : o->type == OPT_BOOL ? "[BOOL]" : o->type == OPT_FILE ? "FILE" : "VALUE");
		fprintf(out, "  %-30s %s", arg, o->help);
		if (o->def && *o->def)
			fprintf(out, " (default %s)", o->def);
		fputc('\n', out);
	}
}

int config_load(struct edge_config *cfg, int argc, char **argv)
{
	char err[256];
	int i;

	if (config_defaults(cfg)) {
		fprintf(stderr, "mqedge: out of memory\n");
		return -1;
	}
	/* --help/--version and --config first, so flags override the file wherever they appear */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			config_print_help(stdout, argv[0]);
			return 1;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("mqedge %s\n", MQEDGE_VERSION);
			return 1;
		}
	}
	for (i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--config=", 9) || !strcmp(argv[i], "--config")) {
			const char *path = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : NULL);

			if (!path) {
				fprintf(stderr, "mqedge: --config needs a file\n");
				return -1;
			}
			if (config_load_file(cfg, path))
				return -1;
		}
	}
	if (load_env(cfg, err, sizeof(err))) {
		fprintf(stderr, "mqedge: %s\n", err);
		return -1;
	}
	for (i = 1; i < argc; i++) {
		char name[64];
		const char *arg = argv[i], *value, *eq;
		const struct option_def *o;

		if (strncmp(arg, "--", 2)) {
			fprintf(stderr, "mqedge: unexpected argument '%s' (see --help)\n", arg);
			return -1;
		}
		arg += 2;
		eq = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
		if (!strcmp(name, "config")) {
			if (!eq)
				i++;
			continue;
		}
		if (!strcmp(name, "check-config")) {
			if (eq) {
				fprintf(stderr, "mqedge: --check-config takes no value\n");
				return -1;
			}
			cfg->check_only = true;
			continue;
		}
		o = find_option(name);
		if (!o) {
			fprintf(stderr, "mqedge: unknown option '--%s' (see --help)\n", name);
			return -1;
		}
		if (eq)
			value = eq + 1;
		else if (o->type == OPT_BOOL && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)))
			value = "true";
		else if (i + 1 < argc)
			value = argv[++i];
		else {
			fprintf(stderr, "mqedge: --%s needs a value\n", name);
			return -1;
		}
		if (apply(cfg, o, value, err, sizeof(err))) {
			fprintf(stderr, "mqedge: %s\n", err);
			return -1;
		}
	}
	if (config_finish(cfg, err, sizeof(err))) {
		fprintf(stderr, "mqedge: %s\n", err);
		return -1;
	}
	return 0;
}

void config_free(struct edge_config *cfg)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].type == OPT_STR)
			free(*(char **)((char *)cfg + options[i].offset));
	free_brokers(cfg);
	memset(cfg, 0, sizeof(*cfg));
}
