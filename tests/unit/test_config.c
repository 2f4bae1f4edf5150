/*
 * test_config.c - defaults, config_set bounds, the config file, argv flags and the derived fields
 * of config_finish (edge/server/config.c). Files are written to a temporary directory and removed.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
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
	{	/* --check-config is a flag of its own, anywhere, and takes no value */
		const char *a[] = { "--port", "9006", "--check-config", "--allow-anonymous", NULL };
		const char *b[] = { "--allow-anonymous", "--check-config=yes", NULL };

		CHECK(load(&cfg, a) == 0);
		CHECK(cfg.check_only && cfg.port == 9006 && cfg.allow_anonymous);
		config_free(&cfg);
		CHECK(load(&cfg, b) == -1);
		config_free(&cfg);
		CHECK(config_defaults(&cfg) == 0 && !cfg.check_only);
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

/* Where a setting comes from: defaults < config file < MQEDGE_* environment < flags. */
static void test_env(void)
{
	struct edge_config cfg;
	char conf[512];
	const char *path = write_file("env.conf", "port = 9000\nrate = 7\nburst = 9\njwt-secret = from-file\n");

	CHECK(path != NULL);
	snprintf(conf, sizeof(conf), "%s", path ? path : "");
	{	/* each source over the one before it, option by option */
		const char *a[] = { "--config", conf, "--burst", "11", NULL };

		setenv("MQEDGE_RATE", "8", 1);
		setenv("MQEDGE_BURST", "10", 1);
		setenv("MQEDGE_MAX_ROOMS", "3", 1);
		CHECK(load(&cfg, a) == 0);
		CHECK(cfg.port == 9000);	/* file only */
		CHECK(cfg.rate == 8);		/* env over file */
		CHECK(cfg.burst == 11);		/* flag over env over file */
		CHECK(cfg.max_rooms == 3);	/* env over the default */
		CHECK(cfg.ping_interval == 20);	/* default */
		CHECK_STR(cfg.jwt_secret, "from-file");
		config_free(&cfg);
	}
	{	/* the secret from the environment; a flag still wins */
		const char *a[] = { "--config", conf, NULL };
		const char *b[] = { "--config", conf, "--jwt-secret", "from-flag", NULL };

		setenv("MQEDGE_JWT_SECRET", "from-env", 1);
		CHECK(load(&cfg, a) == 0);
		CHECK_STR(cfg.jwt_secret, "from-env");
		config_free(&cfg);
		CHECK(load(&cfg, b) == 0);
		CHECK_STR(cfg.jwt_secret, "from-flag");
		config_free(&cfg);
	}
	{	/* an empty variable is unset; names that are not options are ignored */
		const char *a[] = { "--config", conf, NULL };

		setenv("MQEDGE_JWT_SECRET", "", 1);
		setenv("MQEDGE_BIN", "/not/an/option", 1);
		setenv("MQEDGE_NOPE", "1", 1);
		CHECK(load(&cfg, a) == 0);
		CHECK_STR(cfg.jwt_secret, "from-file");
		config_free(&cfg);
	}
	{	/* every kind: booleans, dashed names, derived fields */
		const char *a[] = { NULL };

		setenv("MQEDGE_ALLOW_ANONYMOUS", "yes", 1);
		setenv("MQEDGE_BROKER", "10.0.0.2:1884", 1);
		setenv("MQEDGE_TOPIC_PREFIX", "acme/v1", 1);
		CHECK(load(&cfg, a) == 0);
		CHECK(cfg.allow_anonymous);
		CHECK_STR(cfg.broker_host, "10.0.0.2");
		CHECK(cfg.broker_port == 1884);
		CHECK_STR(cfg.topic_prefix, "acme/v1");
		config_free(&cfg);
	}
	{	/* a bad value in the environment refuses to start, like one in the file */
		const char *a[] = { NULL };

		setenv("MQEDGE_PORT", "80x", 1);
		CHECK(load(&cfg, a) == -1);
		config_free(&cfg);
		unsetenv("MQEDGE_PORT");
		setenv("MQEDGE_ALLOW_ANONYMOUS", "perhaps", 1);
		CHECK(load(&cfg, a) == -1);
		config_free(&cfg);
	}
	static const char *const vars[] = { "MQEDGE_RATE", "MQEDGE_BURST", "MQEDGE_MAX_ROOMS", "MQEDGE_JWT_SECRET",
					    "MQEDGE_BIN", "MQEDGE_NOPE", "MQEDGE_ALLOW_ANONYMOUS", "MQEDGE_BROKER",
					    "MQEDGE_TOPIC_PREFIX", "MQEDGE_PORT" };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

/* --jwt-secret-file, --api-key-file, --broker-password-file: the file's content, one trailing
 * newline stripped; a missing, unreadable, empty or odd file is an error naming it. */
static void test_secret_files(void)
{
	struct edge_config cfg;
	char secret[512], key[512], pass[512], crlf[512], empty[512], blank[512], nul[512], big[512], conf[512];
	char err[512];

	snprintf(secret, sizeof(secret), "%s", write_file("secret.txt", "s3cret # not a comment\n"));
	snprintf(key, sizeof(key), "%s", write_file("key.txt", "k1,k2"));	/* no newline */
	snprintf(pass, sizeof(pass), "%s", write_file("pass.txt", "pw\n\n"));	/* only one newline goes */
	snprintf(crlf, sizeof(crlf), "%s", write_file("crlf.txt", "win\r\n"));
	snprintf(empty, sizeof(empty), "%s", write_file("empty.txt", ""));
	snprintf(blank, sizeof(blank), "%s", write_file("blank.txt", "\n"));
	{
		FILE *f;

		snprintf(nul, sizeof(nul), "%s/nul.txt", tmpdir);
		f = fopen(nul, "w");
		CHECK(f != NULL);
		if (f) {
			fwrite("a\0b", 1, 3, f);
			fclose(f);
		}
		snprintf(big, sizeof(big), "%s/big.txt", tmpdir);
		f = fopen(big, "w");
		CHECK(f != NULL);
		if (f) {
			for (int i = 0; i < 65537; i++)
				fputc('x', f);
			fclose(f);
		}
	}
	{
		const char *a[] = { "--jwt-secret-file", secret, "--api-key-file", key, "--broker-password-file", pass,
				    NULL };

		CHECK(load(&cfg, a) == 0);
		CHECK_STR(cfg.jwt_secret, "s3cret # not a comment");
		CHECK_STR(cfg.api_key, "k1,k2");
		CHECK_STR(cfg.broker_password, "pw\n");
		config_free(&cfg);
	}
	{
		const char *a[] = { "--jwt-secret-file=", NULL };
		char arg[600];

		snprintf(arg, sizeof(arg), "--jwt-secret-file=%s", crlf);
		a[0] = arg;
		CHECK(load(&cfg, a) == 0);
		CHECK_STR(cfg.jwt_secret, "win");
		config_free(&cfg);
	}
	{	/* the file form takes its place in the order of sources: a later flag wins, either way */
		const char *a[] = { "--jwt-secret-file", secret, "--jwt-secret", "later", NULL };
		const char *b[] = { "--jwt-secret", "earlier", "--jwt-secret-file", secret, NULL };
		const char *c[] = { "--config", conf, NULL };

		CHECK(load(&cfg, a) == 0);
		CHECK_STR(cfg.jwt_secret, "later");
		config_free(&cfg);
		CHECK(load(&cfg, b) == 0);
		CHECK_STR(cfg.jwt_secret, "s3cret # not a comment");
		config_free(&cfg);
		/* in the config file, and the environment over it */
		{
			char text[600];

			snprintf(text, sizeof(text), "jwt-secret-file = %s\n", key);
			snprintf(conf, sizeof(conf), "%s", write_file("secretfile.conf", text));
		}
		CHECK(load(&cfg, c) == 0);
		CHECK_STR(cfg.jwt_secret, "k1,k2");
		config_free(&cfg);
		setenv("MQEDGE_JWT_SECRET_FILE", secret, 1);
		CHECK(load(&cfg, c) == 0);
		CHECK_STR(cfg.jwt_secret, "s3cret # not a comment");
		config_free(&cfg);
		setenv("MQEDGE_JWT_SECRET", "direct", 1);	/* both at one level: ambiguous */
		CHECK(load(&cfg, c) == -1);
		config_free(&cfg);
		unsetenv("MQEDGE_JWT_SECRET_FILE");
		unsetenv("MQEDGE_JWT_SECRET");
	}

	/* errors name the option and the file */
	static const struct {
		const char *opt, *file, *want;
	} bad[] = {
		{ "jwt-secret-file", "missing", "No such file" },
		{ "api-key-file", "empty", "is empty" },
		{ "broker-password-file", "blank", "is empty" },
		{ "jwt-secret-file", "nul", "NUL" },
		{ "jwt-secret-file", "big", "larger than" },
		{ "jwt-secret-file", "dir", "not a regular file" },
		{ "jwt-secret-file", "", "no file" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[600];
		const char *file = !strcmp(bad[i].file, "missing") ? "/nonexistent/secret" :
				   !strcmp(bad[i].file, "empty") ? empty : !strcmp(bad[i].file, "blank") ? blank :
				   !strcmp(bad[i].file, "nul") ? nul : !strcmp(bad[i].file, "big") ? big :
				   !strcmp(bad[i].file, "dir") ? tmpdir : "";

		snprintf(path, sizeof(path), "%s", file);
		CHECK(config_defaults(&cfg) == 0);
		err[0] = '\0';
		CHECK(config_set(&cfg, bad[i].opt, path, err, sizeof(err)) == -1);
		if (!strstr(err, bad[i].want) || !strstr(err, bad[i].opt) || !strstr(err, path))
			fprintf(stderr, "secret file case %zu: '%s'\n", i, err);
		CHECK(strstr(err, bad[i].want) != NULL);
		CHECK(strstr(err, bad[i].opt) != NULL);
		CHECK(strstr(err, path) != NULL);
		config_free(&cfg);
	}
	{	/* a FIFO is refused, not waited on */
		char fifo[600];

		snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
		CHECK(mkfifo(fifo, 0600) == 0);
		CHECK(config_defaults(&cfg) == 0);
		CHECK(config_set(&cfg, "jwt-secret-file", fifo, err, sizeof(err)) == -1);
		CHECK(strstr(err, "not a regular file") != NULL);
		config_free(&cfg);
		unlink(fifo);
	}
	{	/* and config_load refuses to start on one */
		const char *a[] = { "--jwt-secret-file", empty, NULL };

		CHECK(load(&cfg, a) == -1);
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
	CHECK(strstr(text, "--jwt-secret-file FILE") != NULL);
	CHECK(strstr(text, "--api-key-file FILE") != NULL);
	CHECK(strstr(text, "--broker-password-file FILE") != NULL);
	CHECK(strstr(text, "defaults < config file < environment < flags") != NULL);
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

	/* broker lists: every entry checked, in order, the first is broker_host/port */
	{
		static const struct {
			const char *broker;
			size_t n;
			const char *hosts[3];
			long ports[3];
			const char *err;	/* a part of the message when refused */
		} lists[] = {
			{ "b:1884,a:1883", 2, { "b", "a" }, { 1884, 1883 }, NULL },
			{ " b:1884 , [::1]:1883,c:1", 3, { "b", "::1", "c" }, { 1884, 1883, 1 }, NULL },
			{ "10.0.0.1:1883", 1, { "10.0.0.1" }, { 1883 }, NULL },
			{ "a:1,", 0, { NULL }, { 0 }, "entry 2 of the list is empty" },
			{ ",a:1", 0, { NULL }, { 0 }, "entry 1 of the list is empty" },
			{ "a:1,,b:2", 0, { NULL }, { 0 }, "entry 2 of the list is empty" },
			{ "a:1, ,b:2", 0, { NULL }, { 0 }, "entry 2 of the list is empty" },
			{ "a:1,b", 0, { NULL }, { 0 }, "'b' is not HOST:PORT" },
			{ "a:1,b:0", 0, { NULL }, { 0 }, "bad port in 'b:0'" },
			{ "a:1,b:+2", 0, { NULL }, { 0 }, "bad port in 'b:+2'" },
			{ "a:1,b:123456789", 0, { NULL }, { 0 }, "bad port" },
			{ "a:1,b:2,a:1", 0, { NULL }, { 0 }, "a:1 is listed twice" },
			{ "a:1,a:2", 2, { "a", "a" }, { 1, 2 }, NULL },
			{ "a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9,j:10,k:11,l:12,m:13,n:14,o:15,p:16,q:17", 0, { NULL }, { 0 },
			  "more than 16 brokers" },
		};

		for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
			const char *const s[] = { "allow_anonymous", "true", "broker", lists[i].broker, NULL };
			int rc = finish(&cfg, s, err, sizeof(err));

			if (lists[i].err) {
				CHECK(rc == -1);
				if (!strstr(err, lists[i].err))
					fprintf(stderr, "list case %zu (%s): '%s' lacks '%s'\n", i, lists[i].broker, err, lists[i].err);
				CHECK(strstr(err, lists[i].err) != NULL);
				CHECK(cfg.n_brokers == 0 && cfg.broker_host == NULL);
			} else {
				CHECK(rc == 0);
				CHECK(cfg.n_brokers == lists[i].n);
				for (size_t k = 0; k < lists[i].n && k < cfg.n_brokers; k++) {
					CHECK_STR(cfg.brokers[k].host, lists[i].hosts[k]);
					CHECK(cfg.brokers[k].port == lists[i].ports[k]);
				}
				CHECK_STR(cfg.broker_host, lists[i].hosts[0]);
				CHECK(cfg.broker_port == lists[i].ports[0]);
				CHECK(cfg.broker_failover_after == 30);
			}
			config_free(&cfg);
		}
	}
	{
		const char *const s[] = { "allow_anonymous", "true", "broker", "a:1,b:2", "broker_failover_after", "5", NULL };

		CHECK(finish(&cfg, s, err, sizeof(err)) == 0);
		CHECK(cfg.broker_failover_after == 5);
		config_free(&cfg);
		CHECK(config_defaults(&cfg) == 0);
		CHECK(config_set(&cfg, "broker-failover-after", "0", err, sizeof(err)) == -1);
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

extern char **environ;

int main(void)
{
	const char *base = getenv("TMPDIR");

	/* settings in the caller's environment (MQEDGE_JWT_SECRET, ...) would change what loads */
	for (char **e = environ; *e;) {
		char name[128];

		if (strncmp(*e, "MQEDGE_", 7) || !strchr(*e, '=')) {
			e++;
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(strchr(*e, '=') - *e), *e);
		unsetenv(name);	/* shifts environ down: look at the same slot again */
	}

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
	test_env();
	test_secret_files();
	test_help();
	test_finish();
	test_examples();
	{
		const char *names[] = { "good.conf", "bad.conf", "empty.conf", "flags.conf", "comments.conf",
					"env.conf", "secret.txt", "key.txt", "pass.txt", "crlf.txt", "empty.txt",
					"blank.txt", "nul.txt", "big.txt", "secretfile.conf" };
		char path[512];

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
			unlink(path);
		}
		rmdir(tmpdir);
	}
	return CHECK_DONE();
}
