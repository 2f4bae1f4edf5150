/*
 * test_config.c - defaults, config_set bounds, the config file, argv flags and the derived fields
 * of config_finish (edge/server/config.c). Files are written to a temporary directory and removed.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "mqedge/wire/topics.h"

static char tmpdir[256];

/* Writes text to tmpdir/name; returns the path (static buffer per call site: copy if kept). */
static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

/* Runs config_load with stdout and stderr sent to /dev/null (help, version, error messages). */
static int load_quiet(struct edge_config *cfg, int argc, char **argv)
{
	int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY);
	int rc;

	fflush(stdout);
	fflush(stderr);
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
	}
	rc = config_load(cfg, argc, argv);
	fflush(stdout);
	fflush(stderr);
	if (out >= 0) {
		dup2(out, 1);
		close(out);
	}
	if (err >= 0) {
		dup2(err, 2);
		close(err);
	}
	if (null >= 0)
		close(null);
	return rc;
}

static int load_file_quiet(struct edge_config *cfg, const char *path)
{
	int err = dup(2), null = open("/dev/null", O_WRONLY);
	int rc;

	fflush(stderr);
	if (null >= 0)
		dup2(null, 2);
	rc = config_load_file(cfg, path);
	fflush(stderr);
	if (err >= 0) {
		dup2(err, 2);
		close(err);
	}
	if (null >= 0)
		close(null);
	return rc;
}

static void test_defaults(void)
{
	struct edge_config cfg;

	CHECK(config_defaults(&cfg) == 0);
	CHECK_STR(cfg.bind, "127.0.0.1");
	CHECK(cfg.port == 8080);
	CHECK(cfg.tls_port == 0);
	CHECK(cfg.cert == NULL && cfg.key == NULL);
	CHECK_STR(cfg.origins, "");
	CHECK_STR(cfg.broker, "127.0.0.1:1883");
	CHECK(cfg.broker_host == NULL);
	CHECK(cfg.broker_username == NULL && cfg.broker_password == NULL && cfg.broker_cafile == NULL);
	CHECK(cfg.broker_keepalive == 30);
	CHECK(cfg.offline_queue == 1000);
	CHECK(cfg.offline_queue_bytes == 4194304);
	CHECK_STR(cfg.topic_prefix, "mqedge/v1");
	CHECK(cfg.edge_id == NULL);
	CHECK(cfg.jwt_secret == NULL && cfg.jwt_public_key == NULL && cfg.jwt_alg == NULL);
	CHECK(cfg.jwt_audience == NULL && cfg.jwt_issuer == NULL);
	CHECK(!cfg.allow_anonymous);
	CHECK_STR(cfg.anonymous_rooms, "*");
	CHECK(cfg.max_frame == 65536);
	CHECK(cfg.max_rooms == 100);
	CHECK(cfg.max_conns_per_user == 16);
	CHECK(cfg.rate == 100);
	CHECK(cfg.burst == 200);
	CHECK(cfg.rate_strikes == 20);
	CHECK(cfg.outq_max_bytes == 1048576);
	CHECK(cfg.ping_interval == 20);
	CHECK(cfg.ping_timeout == 10);
	CHECK(cfg.dedup_window == 65536);
	CHECK_STR(cfg.log_level, "info");
	config_free(&cfg);
	CHECK(cfg.bind == NULL && cfg.port == 0);
}

static void test_set(void)
{
	static const struct {
		const char *name, *value;
		int rc;
	} cases[] = {
		{ "port", "0", 0 },
		{ "port", "65535", 0 },
		{ "port", "65536", -1 },
		{ "port", "-1", -1 },
		{ "port", "abc", -1 },
		{ "port", "", -1 },
		{ "port", "80x", -1 },
		{ "port", "0x50", -1 },
		{ "port", "8.0", -1 },
		{ "port", "99999999999999999999999", -1 },
		{ "tls-port", "8443", 0 },
		{ "tls_port", "8443", 0 },
		{ "max-frame", "127", -1 },
		{ "max-frame", "128", 0 },
		{ "max-frame", "16777216", 0 },
		{ "max-frame", "16777217", -1 },
		{ "max-rooms", "0", -1 },
		{ "max-rooms", "1", 0 },
		{ "rate", "0", -1 },
		{ "burst", "1000000", 0 },
		{ "burst", "1000001", -1 },
		{ "dedup-window", "1023", -1 },
		{ "dedup-window", "1024", 0 },
		{ "outq-max-bytes", "4095", -1 },
		{ "ping-interval", "3601", -1 },
		{ "broker-keepalive", "4", -1 },
		{ "allow-anonymous", "true", 0 },
		{ "allow-anonymous", "yes", 0 },
		{ "allow-anonymous", "on", 0 },
		{ "allow-anonymous", "1", 0 },
		{ "allow-anonymous", "false", 0 },
		{ "allow-anonymous", "no", 0 },
		{ "allow-anonymous", "off", 0 },
		{ "allow-anonymous", "0", 0 },
		{ "allow-anonymous", "maybe", -1 },
		{ "allow-anonymous", "", -1 },
		{ "allow-anonymous", "2", -1 },
		{ "jwt-secret", "s", 0 },
		{ "jwt_secret", "", 0 },
		{ "topic-prefix", "a/b", 0 },
		{ "nope", "1", -1 },
		{ "", "1", -1 },
		{ "--port", "1", -1 },
		{ "PORT", "1", -1 },
		{ "port ", "1", -1 },
		{ "config", "x", -1 },
		{ "help", "x", -1 },
	};
	struct edge_config cfg;
	char err[256];

	CHECK(config_defaults(&cfg) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		err[0] = '\0';
		rc = config_set(&cfg, cases[i].name, cases[i].value, err, sizeof(err));
		if (rc != cases[i].rc)
			fprintf(stderr, "config_set case %zu (%s = '%s'): rc %d %s\n", i, cases[i].name,
				cases[i].value, rc, err);
		CHECK(rc == cases[i].rc);
		if (rc)
			CHECK(err[0] != '\0');
	}
	/* values land in their fields; a failed set leaves the old value */
	CHECK(config_set(&cfg, "port", "1234", err, sizeof(err)) == 0);
	CHECK(cfg.port == 1234);
	CHECK(config_set(&cfg, "port", "70000", err, sizeof(err)) == -1);
	CHECK(cfg.port == 1234);
	CHECK(strstr(err, "port") && strstr(err, "70000") && strstr(err, "65535"));
	CHECK(config_set(&cfg, "allow_anonymous", "on", err, sizeof(err)) == 0);
	CHECK(cfg.allow_anonymous);
	CHECK(config_set(&cfg, "allow_anonymous", "maybe", err, sizeof(err)) == -1);
	CHECK(cfg.allow_anonymous);
	CHECK(config_set(&cfg, "allow-anonymous", "off", err, sizeof(err)) == 0);
	CHECK(!cfg.allow_anonymous);
	CHECK(config_set(&cfg, "bind", "0.0.0.0", err, sizeof(err)) == 0);
	CHECK(config_set(&cfg, "bind", "::", err, sizeof(err)) == 0);	/* the old copy is freed */
	CHECK_STR(cfg.bind, "::");
	CHECK(config_set(&cfg, "nope", "1", err, sizeof(err)) == -1);
	CHECK(strstr(err, "nope") != NULL);
	config_free(&cfg);
}

static void test_file(void)
{
	struct edge_config cfg;
	const char *path;

	path = write_file("good.conf",
			  "# a comment\n"
			  "   # an indented comment\n"
			  "\n"
			  "   \t\n"
			  "port = 9000\n"
			  "tls-port=0\n"
			  "bind = \"0.0.0.0\"\n"
			  "jwt_secret = \"with spaces inside\"\n"
			  "origins = http://a.example,http://b.example\n"
			  "allow-anonymous = yes\n"
			  "\tmax-rooms\t=\t5\t\n"
			  "rate = 50\r\n"
			  "broker_password = a=b=c\n"
			  "anonymous-rooms = \"\"\n"
			  "cert =\n"
			  "log-level = debug");	/* no final newline */
	CHECK(path != NULL);
	CHECK(config_defaults(&cfg) == 0);
	CHECK(path && config_load_file(&cfg, path) == 0);
	CHECK(cfg.port == 9000);
	CHECK(cfg.tls_port == 0);
	CHECK_STR(cfg.bind, "0.0.0.0");
	CHECK_STR(cfg.jwt_secret, "with spaces inside");
	CHECK_STR(cfg.origins, "http://a.example,http://b.example");
	CHECK(cfg.allow_anonymous);
	CHECK(cfg.max_rooms == 5);
	CHECK(cfg.rate == 50);
	CHECK_STR(cfg.broker_password, "a=b=c");
	CHECK_STR(cfg.anonymous_rooms, "");
	CHECK_STR(cfg.cert, "");
	CHECK_STR(cfg.log_level, "debug");
	CHECK(cfg.burst == 200);	/* untouched */
	config_free(&cfg);

	static const char *const bad[] = {
		"port = 9000\nnope = 1\n",		/* unknown key refuses to start */
		"port = 9000\njust a line\n",
		"port = 70000\n",
		"port = \n",
		"allow-anonymous = perhaps\n",
		"= 5\n",
		"--port = 5\n",
		"jwt-issuer = \"\n",			/* unterminated quote */
		"jwt-issuer = \"abc\n",
		"jwt-issuer = \"a\"b\"\n",		/* text after the closing quote */
		"jwt-issuer = \"a\" b\n",
		"port # = 5\n",				/* the name is "port #" */
		"port = 9000 # ok\nrate = 5 #\nburst = 1x # not a number\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = write_file("bad.conf", bad[i]);
		CHECK(config_defaults(&cfg) == 0);
		CHECK(path && load_file_quiet(&cfg, path) == -1);
		config_free(&cfg);
	}
	CHECK(config_defaults(&cfg) == 0);
	CHECK(load_file_quiet(&cfg, "/nonexistent/mqedge.conf") == -1);
	config_free(&cfg);
	path = write_file("empty.conf", "");
	CHECK(config_defaults(&cfg) == 0);
	CHECK(path && config_load_file(&cfg, path) == 0);
	CHECK(cfg.port == 8080);
	config_free(&cfg);
}

/* Comments after values (the case that bit: "jwt-secret = s # my secret" was the secret
 * "s # my secret"): a '#' opens a comment at the start of a value or after a blank, never inside
 * a word or inside quotes. */
static void test_comments(void)
{
	static const struct {
		const char *line, *value;	/* jwt-secret after loading the line */
	} cases[] = {
		{ "jwt-secret = s # my secret\n", "s" },
		{ "jwt-secret = s\t# tab before the comment\n", "s" },
		{ "jwt-secret = s#1\n", "s#1" },
		{ "jwt-secret = s#1 # and a comment\n", "s#1" },
		{ "jwt-secret = two words # comment\n", "two words" },
		{ "jwt-secret = \"s # not a comment\"\n", "s # not a comment" },
		{ "jwt-secret = \"s # kept\" # a comment\n", "s # kept" },
		{ "jwt-secret = \"s\"# a comment\n", "s" },
		{ "jwt-secret = \" padded \"  \n", " padded " },
		{ "jwt-secret = \"#\"\n", "#" },
		{ "jwt-secret = \"\"\n", "" },
		{ "jwt-secret = # nothing but a comment\n", "" },
		{ "jwt-secret =#x\n", "" },
		{ "jwt-secret = a\"b\n", "a\"b" },	/* a quote inside an unquoted value is plain text */
		{ "jwt-secret = s #\n", "s" },
		{ "jwt-secret = s ##\r\n", "s" },
		{ "  # jwt-secret = commented out\njwt-secret = t\n", "t" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct edge_config cfg;
		const char *path = write_file("comments.conf", cases[i].line);
		int rc;

		CHECK(config_defaults(&cfg) == 0);
		rc = path ? load_file_quiet(&cfg, path) : -1;
		if (rc || !cfg.jwt_secret || strcmp(cfg.jwt_secret, cases[i].value))
			fprintf(stderr, "comment case %zu (%s): rc %d value '%s'\n", i, cases[i].line, rc,
				cfg.jwt_secret ? cfg.jwt_secret : "(null)");
		CHECK(rc == 0);
		CHECK_STR(cfg.jwt_secret, cases[i].value);
		config_free(&cfg);
	}
	{	/* numbers and booleans take trailing comments too */
		struct edge_config cfg;
		const char *path = write_file("comments.conf", "port = 9000 # the plain port\n"
							       "allow-anonymous = yes # for the demo\n"
							       "origins = http://a.example/#frag\n");

		CHECK(config_defaults(&cfg) == 0);
		CHECK(path && config_load_file(&cfg, path) == 0);
		CHECK(cfg.port == 9000 && cfg.allow_anonymous);
		CHECK_STR(cfg.origins, "http://a.example/#frag");
		config_free(&cfg);
	}
}

/* config_load on a NULL-terminated list of arguments (argv[0] added). */
static int load(struct edge_config *cfg, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = "mqedge";
	while (*args && argc < 31)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	return load_quiet(cfg, argc, argv);
}

static void test_argv(void)
{
	struct edge_config cfg;
	char conf[512];
	const char *path = write_file("flags.conf", "port = 9000\nrate = 7\njwt-secret = file-secret\n"
						    "allow-anonymous = true\n");

	CHECK(path != NULL);
	snprintf(conf, sizeof(conf), "%s", path ? path : "");

	{
		const char *a[] = { "--port", "9001", "--jwt-secret", "s", NULL };

		CHECK(load(&cfg, a) == 0);
		CHECK(cfg.port == 9001);
		CHECK_STR(cfg.jwt_secret, "s");
		CHECK_STR(cfg.jwt_alg, "HS256");
		CHECK_STR(cfg.broker_host, "127.0.0.1");
		CHECK(cfg.broker_port == 1883);
		config_free(&cfg);
	}
	{
		const char *a[] = { "--port=9002", "--jwt_secret=x=y", "--burst=3", NULL };

		CHECK(load(&cfg, a) == 0);
		CHECK(cfg.port == 9002);
		CHECK_STR(cfg.jwt_secret, "x=y");
		CHECK(cfg.burst == 3);
		config_free(&cfg);
	}
	{	/* flags override the file wherever --config appears */
		const char *a[] = { "--port", "9005", "--config", conf, NULL };

		CHECK(load(&cfg, a) == 0);
		CHECK(cfg.port == 9005);
		CHECK(cfg.rate == 7);
		CHECK_STR(cfg.jwt_secret, "file-secret");
		CHECK(cfg.allow_anonymous);
		config_free(&cfg);
	}
	{
		char eq[600];
		const char *a[] = { eq, "--rate", "8", NULL };

		snprintf(eq, sizeof(eq), "--config=%s", conf);
		CHECK(load(&cfg, a) == 0);
		CHECK(cfg.port == 9000);
		CHECK(cfg.rate == 8);
		config_free(&cfg);
	}
	{	/* a bare boolean flag means true, before another flag or at the end */
		const char *a[] = { "--allow-anonymous", "--port", "9003", NULL };

		CHECK(load(&cfg, a) == 0);
		CHECK(cfg.allow_anonymous && cfg.port == 9003);
		config_free(&cfg);
	}
	{
		const char *a[] = { "--port", "9004", "--allow-anonymous", NULL };

		CHECK(load(&cfg, a) == 0);
		CHECK(cfg.allow_anonymous);
		config_free(&cfg);
	}
	{	/* an explicit value after a boolean flag */
		const char *a[] = { "--config", conf, "--allow-anonymous", "false", NULL };

		CHECK(load(&cfg, a) == 0);
		CHECK(!cfg.allow_anonymous);
		config_free(&cfg);
	}
	{
		const char *a[] = { "--config", conf, "--allow-anonymous=no", NULL };

		CHECK(load(&cfg, a) == 0);
		CHECK(!cfg.allow_anonymous);
		config_free(&cfg);
	}
	{
		const char *a[] = { "--version", NULL };

		CHECK(load(&cfg, a) == 1);
		config_free(&cfg);
	}
	{
		const char *a[] = { "--port", "1", "--help", NULL };

		CHECK(load(&cfg, a) == 1);
		config_free(&cfg);
	}
	{
		const char *a[] = { "-h", NULL };

		CHECK(load(&cfg, a) == 1);
		config_free(&cfg);
	}

	static const char *const bad[][6] = {
		{ "--nope", "1", "--allow-anonymous", NULL },
		{ "port", "9000", "--allow-anonymous", NULL },
		{ "--allow-anonymous", "stray", NULL },
		{ "--allow-anonymous", "--port", NULL },
		{ "--allow-anonymous", "--port", "abc", NULL },
		{ "--allow-anonymous", "--port=", NULL },
		{ "--allow-anonymous", "--config", NULL },
		{ "--allow-anonymous", "--config", "/nonexistent/mqedge.conf", NULL },
		{ "--allow-anonymous", "maybe", NULL },
		{ "--port", "9000", NULL },	/* no way to authenticate */
		{ "-p", "9000", "--allow-anonymous", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = load(&cfg, bad[i]);

		if (rc != -1)
			fprintf(stderr, "config_load bad case %zu: rc %d\n", i, rc);
		CHECK(rc == -1);
		config_free(&cfg);
	}
}

static void test_help(void)
{
	FILE *f = tmpfile();
	char text[16384];
	size_t n;

	if (!f) {
		CHECK(f != NULL);
		return;
	}
	config_print_help(f, "mqedge");
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	CHECK(strstr(text, "Usage: mqedge") != NULL);
	CHECK(strstr(text, "--tls-port N") != NULL);
	CHECK(strstr(text, "--jwt-secret VALUE") != NULL);
	CHECK(strstr(text, "--allow-anonymous [BOOL]") != NULL);
	CHECK(strstr(text, "--dedup-window N") != NULL);
	CHECK(strstr(text, "(default 65536)") != NULL);
	CHECK(strstr(text, "tls_port") == NULL);	/* shown with dashes */
}

/* config_finish on defaults plus settings; returns its result, cfg kept for inspection. */
static int finish(struct edge_config *cfg, const char *const *settings, char *err, size_t errlen)
{
	char e[256];

	if (config_defaults(cfg))
		return -2;
	for (int i = 0; settings[i]; i += 2)
		if (config_set(cfg, settings[i], settings[i + 1], e, sizeof(e))) {
			fprintf(stderr, "config_set %s: %s\n", settings[i], e);
			return -2;
		}
	err[0] = '\0';
	return config_finish(cfg, err, errlen);
}

static void test_finish(void)
{
	struct edge_config cfg;
	char err[256];

	/* broker host and port */
	static const struct {
		const char *broker, *host;
		long port;
	} brokers[] = {
		{ "localhost:1883", "localhost", 1883 },
		{ "mq.example.com:8883", "mq.example.com", 8883 },
		{ "10.0.0.1:1", "10.0.0.1", 1 },
		{ "h:65535", "h", 65535 },
		{ "localhost", NULL, 0 },
		{ ":1883", NULL, 0 },
		{ "host:", NULL, 0 },
		{ "host:0", NULL, 0 },
		{ "host:65536", NULL, 0 },
		{ "host:12x", NULL, 0 },
		{ "host:-1", NULL, 0 },
		{ "", NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(brokers) / sizeof(brokers[0]); i++) {
		const char *const s[] = { "allow_anonymous", "true", "broker", brokers[i].broker, NULL };
		int rc = finish(&cfg, s, err, sizeof(err));

		if ((rc == 0) != (brokers[i].host != NULL))
			fprintf(stderr, "broker case %zu (%s): rc %d %s\n", i, brokers[i].broker, rc, err);
		if (brokers[i].host) {
			CHECK(rc == 0);
			CHECK_STR(cfg.broker_host, brokers[i].host);
			CHECK(cfg.broker_port == brokers[i].port);
		} else {
			CHECK(rc == -1);
			CHECK(strstr(err, "broker") != NULL);
		}
		config_free(&cfg);
	}

	/* the default edge id is a valid id ending in the port */
	{
		const char *const s[] = { "allow_anonymous", "true", NULL };

		CHECK(finish(&cfg, s, err, sizeof(err)) == 0);
		CHECK(cfg.edge_id != NULL);
		if (cfg.edge_id) {
			size_t n = strlen(cfg.edge_id);

			CHECK(topics_validate_id(cfg.edge_id, n) == 0);
			CHECK(n > 5 && !strcmp(cfg.edge_id + n - 5, "-8080"));
		}
		CHECK_STR(cfg.jwt_alg, "HS256");
		/* finishing twice is harmless */
		CHECK(config_finish(&cfg, err, sizeof(err)) == 0);
		config_free(&cfg);
	}
	{
		const char *const s[] = { "allow_anonymous", "true", "port", "0", "tls_port", "8443", "cert", "c.pem",
					  "key", "k.pem", NULL };

		CHECK(finish(&cfg, s, err, sizeof(err)) == 0);
		CHECK(cfg.edge_id && strlen(cfg.edge_id) > 5 && !strcmp(cfg.edge_id + strlen(cfg.edge_id) - 5, "-8443"));
		config_free(&cfg);
	}

	static const struct {
		const char *settings[12];
		int rc;
		const char *alg;	/* jwt_alg after finish, when rc == 0 */
	} cases[] = {
		{ { "allow_anonymous", "true", "edge_id", "edge-1", NULL }, 0, "HS256" },
		{ { "allow_anonymous", "true", "edge_id", "a/b", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "edge_id", "", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "port", "0", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "tls_port", "8443", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "tls_port", "8443", "cert", "c.pem", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "tls_port", "8443", "key", "k.pem", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "tls_port", "8443", "cert", "c.pem", "key", "k.pem", NULL }, 0, "HS256" },
		{ { "allow_anonymous", "true", "topic_prefix", "a/#", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "topic_prefix", "/x", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "topic_prefix", "x/", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "topic_prefix", "", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "topic_prefix", "acme/prod/v1", NULL }, 0, "HS256" },
		{ { NULL }, -1, NULL },	/* no way to authenticate */
		{ { "jwt_secret", "s", NULL }, 0, "HS256" },
		{ { "jwt_secret", "s", "jwt_alg", "HS256", NULL }, 0, "HS256" },
		{ { "jwt_public_key", "k.pem", NULL }, 0, "RS256" },
		{ { "jwt_public_key", "k.pem", "jwt_alg", "RS256", NULL }, 0, "RS256" },
		{ { "jwt_public_key", "k.pem", "jwt_alg", "ES256", NULL }, 0, "ES256" },
		{ { "jwt_secret", "s", "jwt_public_key", "k.pem", NULL }, -1, NULL },
		{ { "jwt_secret", "s", "jwt_alg", "RS256", NULL }, -1, NULL },
		{ { "jwt_secret", "s", "jwt_alg", "ES256", NULL }, -1, NULL },
		{ { "jwt_public_key", "k.pem", "jwt_alg", "HS256", NULL }, -1, NULL },
		{ { "jwt_secret", "s", "jwt_alg", "none", NULL }, -1, NULL },
		{ { "jwt_secret", "s", "jwt_alg", "hs256", NULL }, -1, NULL },
		{ { "jwt_secret", "s", "jwt_alg", "HS512", NULL }, -1, NULL },
		{ { "jwt_public_key", "k.pem", "jwt_alg", "PS256", NULL }, -1, NULL },
		{ { "allow_anonymous", "true", "jwt_alg", "RS256", NULL }, 0, "RS256" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = finish(&cfg, cases[i].settings, err, sizeof(err));

		if (rc != cases[i].rc)
			fprintf(stderr, "finish case %zu: rc %d %s\n", i, rc, err);
		CHECK(rc == cases[i].rc);
		if (rc == 0 && cases[i].alg)
			CHECK_STR(cfg.jwt_alg, cases[i].alg);
		if (rc == -1)
			CHECK(err[0] != '\0');
		config_free(&cfg);
	}
}

/* The shipped examples must load as they are (every key known, every value in range). */
static void test_examples(void)
{
	static const char *const files[] = { "examples/mqedge.conf", "docker/mqedge.conf" };
	char path[1024], err[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct edge_config cfg;

		snprintf(path, sizeof(path), "%s/../../%s", SOURCE_DIR, files[i]);
		CHECK(config_defaults(&cfg) == 0);
		CHECK(config_load_file(&cfg, path) == 0);
		if (!cfg.jwt_secret && !cfg.jwt_public_key)
			CHECK(config_set(&cfg, "jwt-secret", "s", err, sizeof(err)) == 0);
		CHECK(config_finish(&cfg, err, sizeof(err)) == 0);
		config_free(&cfg);
	}
}

int main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/mqedge-test-config-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_defaults();
	test_set();
	test_file();
	test_comments();
	test_argv();
	test_help();
	test_finish();
	test_examples();
	{
		const char *names[] = { "good.conf", "bad.conf", "empty.conf", "flags.conf", "comments.conf" };
		char path[512];

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
			unlink(path);
		}
		rmdir(tmpdir);
	}
	return CHECK_DONE();
}
