/*
 * device-sim.c - a simulated IoT device that speaks MQTT straight to the broker mqedge uses.
 *
 * Publishes JSON telemetry to {prefix}/device/{id}/telemetry every --interval-ms:
 *     {"type":"reading","temp":21.43,"humidity":40.2,"seq":7,"led":"off","interval_ms":1000}
 * and obeys commands on {prefix}/device/{id}/cmd. Edges (a browser's {"op":"cmd"}) publish an
 * envelope there, {"v":1,"id":ID,"ts":MS,"from":USER,"data":DATA} (docs/PROTOCOL.md section 5);
 * backends may publish a bare JSON object, which is taken as DATA itself. DATA may hold:
 *     {"led":"on"|"off"|"toggle"}   {"set":{"interval_ms":N}}   {"report":true}   {"ping":true}
 * Each command is answered with an ack on the telemetry topic and a log line on stdout:
 *     {"type":"ack","cmd":ID,"from":USER,"ok":true,"result":"led=on","led":"on",...}
 *
 * One thread: mosquitto_loop() with a timeout up to the next reading; SIGINT/SIGTERM end the loop,
 * outstanding QoS>0 publishes are flushed (bounded), then a clean DISCONNECT. Exit status 0 on a
 * clean stop (signal or --count reached), 1 on bad usage, 2 when the broker could not be used.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TOPIC_MAX 512
#define FLUSH_MS 2000		/* how long a stop waits for outstanding acknowledgements */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct options {
	char host[256];
	int port;
	const char *id;
	const char *prefix;
	long interval_ms;
	long count;		/* readings to publish; 0 = until stopped */
	int qos;
	const char *username;
	const char *password;
};

struct sim {
	struct options opt;
	struct mosquitto *mosq;
	char telemetry_topic[TOPIC_MAX];
	char cmd_topic[TOPIC_MAX];
	bool socket_up;		/* mosquitto_connect/reconnect succeeded, not yet lost */
	bool dialled;		/* mosquitto_connect was called once: from then on, reconnect */
	long backoff_ms;	/* wait before the next reconnect; reset by an accepted CONNACK */
	bool connected;		/* CONNACK accepted */
	long interval_ms;
	long readings;		/* readings published */
	long seq;		/* every telemetry message (readings and acks) */
	int inflight;		/* publishes whose on_publish has not come yet */
	bool led;
	bool report_now;
	double temp, humidity;
	int64_t next_ms;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		abort();	/* cannot fail with a valid clock id */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		abort();
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One log line: "<UTC time> <level> <event> key=value..." (the edge's format). */
static void say(FILE *to, const char *level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void say(FILE *to, const char *level, const char *event, const char *fmt, ...)
{
	char when[24] = "?";
	struct timespec ts = { 0, 0 };
	struct tm tm;
	va_list ap;

	if (!clock_gettime(CLOCK_REALTIME, &ts) && gmtime_r(&ts.tv_sec, &tm) &&
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm))
		strcpy(when, "?");
	fprintf(to, "%s.%03ldZ %s %s ", when, ts.tv_nsec / 1000000, level, event);
	va_start(ap, fmt);
	vfprintf(to, fmt, ap);
	va_end(ap);
	fputc('\n', to);
}
#define log_info(event, ...) say(stdout, "info", event, __VA_ARGS__)
#define log_error(event, ...) say(stderr, "error", event, __VA_ARGS__)

/* ---- telemetry ---- */

/* Publishes obj (consumed) to the telemetry topic. Returns 0 or -1. */
static int publish_json(struct sim *s, cJSON *obj)
{
	char *text;
	int rc, mid;

	if (!obj)
		return -1;
	if (!cJSON_AddNumberToObject(obj, "seq", (double)++s->seq) ||
	    !cJSON_AddStringToObject(obj, "led", s->led ? "on" : "off") ||
	    !cJSON_AddNumberToObject(obj, "interval_ms", (double)s->interval_ms) ||
	    !cJSON_AddNumberToObject(obj, "ts", (double)wall_ms())) {
		cJSON_Delete(obj);
		return -1;
	}
	text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (!text)
		return -1;
	/* counted first: at QoS 0 on_publish may run inside mosquitto_publish */
	s->inflight++;
	rc = mosquitto_publish(s->mosq, &mid, s->telemetry_topic, (int)strlen(text), text, s->opt.qos, false);
	free(text);
	if (rc != MOSQ_ERR_SUCCESS) {
		s->inflight--;
		log_error("publish_failed", "topic=%s rc=%d err=\"%s\"", s->telemetry_topic, rc, mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int publish_reading(struct sim *s)
{
	cJSON *obj = cJSON_CreateObject();

	/* a slow random walk, rounded to what a cheap sensor reports */
	s->temp = clamp(s->temp + ((double)random() / RAND_MAX - 0.5) * 0.4, 15.0, 30.0);
	s->humidity = clamp(s->humidity + ((double)random() / RAND_MAX - 0.5) * 1.0, 20.0, 80.0);
	if (!obj || !cJSON_AddStringToObject(obj, "type", "reading") ||
	    !cJSON_AddNumberToObject(obj, "temp", round(s->temp * 100) / 100) ||
	    !cJSON_AddNumberToObject(obj, "humidity", round(s->humidity * 10) / 10)) {
		cJSON_Delete(obj);
		return -1;
	}
	if (publish_json(s, obj))
		return -1;
	s->readings++;
	return 0;
}

/* ---- commands ---- */

/* Applies DATA; appends what it did to result (or why not to error). Returns true when all of it
 * was understood. */
static bool apply_command(struct sim *s, const cJSON *data, char *result, size_t rlen, char *error, size_t elen)
{
	const cJSON *item;
	size_t used = 0;
	bool ok = true;

	result[0] = error[0] = '\0';
	if (!cJSON_IsObject(data)) {
		snprintf(error, elen, "command data must be a JSON object");
		return false;
	}
	cJSON_ArrayForEach(item, data) {
		char did[96] = "";

		if (!strcmp(item->string, "led") && cJSON_IsString(item) &&
		    (!strcmp(item->valuestring, "on") || !strcmp(item->valuestring, "off") ||
		     !strcmp(item->valuestring, "toggle"))) {
			s->led = !strcmp(item->valuestring, "toggle") ? !s->led : !strcmp(item->valuestring, "on");
			snprintf(did, sizeof(did), "led=%s", s->led ? "on" : "off");
		} else if (!strcmp(item->string, "set") && cJSON_IsObject(item)) {
			const cJSON *iv = cJSON_GetObjectItemCaseSensitive(item, "interval_ms");

			if (!cJSON_IsNumber(iv) || iv->valuedouble < 50 || iv->valuedouble > 3600000) {
				snprintf(error, elen, "set.interval_ms must be a number from 50 to 3600000");
				ok = false;
				continue;
			}
			s->interval_ms = (long)iv->valuedouble;
			s->next_ms = now_ms() + s->interval_ms;
			snprintf(did, sizeof(did), "interval_ms=%ld", s->interval_ms);
		} else if (!strcmp(item->string, "report") && cJSON_IsTrue(item)) {
			s->report_now = true;
			snprintf(did, sizeof(did), "report");
		} else if (!strcmp(item->string, "ping")) {
			snprintf(did, sizeof(did), "pong");
		} else {
			snprintf(error, elen, "unknown command '%.40s'", item->string);
			ok = false;
			continue;
		}
		int w = snprintf(result + used, rlen - used, "%s%s", used ? " " : "", did);

		if (w < 0 || (size_t)w >= rlen - used)
			break;	/* result text full: what fits is reported */
		used += (size_t)w;
	}
	if (ok && !used) {
		snprintf(error, elen, "empty command");
		ok = false;
	}
	return ok;
}

static void handle_command(struct sim *s, const struct mosquitto_message *m)
{
	cJSON *root = cJSON_ParseWithLength(m->payload, (size_t)m->payloadlen);
	const cJSON *v, *id = NULL, *from = NULL, *data = root;
	char result[256], error[160];
	char *printed = NULL;
	bool ok;
	cJSON *ack;

	if (root && cJSON_IsObject(root) && cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(root, "v")) &&
	    v->valuedouble == 1 && cJSON_IsString(id = cJSON_GetObjectItemCaseSensitive(root, "id")) &&
	    cJSON_HasObjectItem(root, "data")) {
		from = cJSON_GetObjectItemCaseSensitive(root, "from");
		data = cJSON_GetObjectItemCaseSensitive(root, "data");
	} else {
		id = NULL;	/* a bare payload from a backend: it is the command itself */
	}
	if (!root) {
		ok = false;
		result[0] = '\0';
		snprintf(error, sizeof(error), "payload is not JSON");
	} else {
		ok = apply_command(s, data, result, sizeof(result), error, sizeof(error));
		printed = cJSON_PrintUnformatted(data);
	}
	log_info("cmd", "id=%s from=%s data=%s ok=%d result=\"%s\"%s%s%s", id ? id->valuestring : "-",
		 cJSON_IsString(from) ? from->valuestring : "-", printed ? printed : "?", ok, result,
		 error[0] ? " error=\"" : "", error, error[0] ? "\"" : "");
	free(printed);

	ack = cJSON_CreateObject();
	if (!ack || !cJSON_AddStringToObject(ack, "type", "ack") ||
	    !(id ? cJSON_AddStringToObject(ack, "cmd", id->valuestring) : cJSON_AddNullToObject(ack, "cmd")) ||
	    (cJSON_IsString(from) && !cJSON_AddStringToObject(ack, "from", from->valuestring)) ||
	    !cJSON_AddBoolToObject(ack, "ok", ok) || !cJSON_AddStringToObject(ack, "result", result) ||
	    (error[0] && !cJSON_AddStringToObject(ack, "error", error))) {
		cJSON_Delete(ack);
		cJSON_Delete(root);
		log_error("ack_failed", "reason=nomem");
		return;
	}
	cJSON_Delete(root);
	if (publish_json(s, ack))
		log_error("ack_failed", "reason=publish");
}

/* ---- libmosquitto callbacks ---- */

static void on_connect(struct mosquitto *mosq, void *ud, int rc)
{
	struct sim *s = ud;
	int src;

	if (rc) {
		log_error("connect_refused", "rc=%d reason=\"%s\"", rc, mosquitto_connack_string(rc));
		return;
	}
	s->connected = true;
	s->backoff_ms = BACKOFF_MIN_MS;
	log_info("connected", "broker=%s:%d id=%s", s->opt.host, s->opt.port, s->opt.id);
	src = mosquitto_subscribe(mosq, NULL, s->cmd_topic, s->opt.qos);
	if (src != MOSQ_ERR_SUCCESS)
		log_error("subscribe_failed", "topic=%s rc=%d err=\"%s\"", s->cmd_topic, src, mosquitto_strerror(src));
}

static void on_disconnect(struct mosquitto *mosq, void *ud, int rc)
{
	struct sim *s = ud;

	(void)mosq;
	s->connected = false;
	s->socket_up = false;
	s->inflight = 0;	/* a clean session: nothing will be acknowledged any more */
	if (rc)
		log_error("disconnected", "rc=%d", rc);
	else
		log_info("disconnected", "clean=1");
}

static void on_subscribe(struct mosquitto *mosq, void *ud, int mid, int qos_count, const int *granted)
{
	struct sim *s = ud;

	(void)mosq;
	(void)mid;
	if (qos_count < 1 || granted[0] > 2)
		log_error("subscribe_refused", "topic=%s", s->cmd_topic);
	else
		log_info("subscribed", "topic=%s qos=%d", s->cmd_topic, granted[0]);
}

static void on_publish(struct mosquitto *mosq, void *ud, int mid)
{
	struct sim *s = ud;

	(void)mosq;
	(void)mid;
	if (s->inflight > 0)
		s->inflight--;
}

static void on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *m)
{
	struct sim *s = ud;

	(void)mosq;
	if (!strcmp(m->topic, s->cmd_topic))
		handle_command(s, m);
}

/* ---- options ---- */

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n < 1 || n > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("_-.@:", *p)))
			return false;
	return true;
}

static bool parse_long(const char *text, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static void usage(FILE *to, const char *argv0)
{
	fprintf(to,
		"Usage: %s [OPTION]...\n"
		"A simulated device: JSON telemetry to {prefix}/device/{id}/telemetry, commands from\n"
		"{prefix}/device/{id}/cmd ({\"led\":\"on\"|\"off\"|\"toggle\"}, {\"set\":{\"interval_ms\":N}},\n"
		"{\"report\":true}, {\"ping\":true}), each answered with an ack on the telemetry topic.\n\n"
		"  --broker HOST:PORT   MQTT broker (default 127.0.0.1:1883)\n"
		"  --id ID              device id, [A-Za-z0-9_.@:-]{1,64} (default d1)\n"
		"  --prefix PREFIX      topic prefix (default mqedge/v1)\n"
		"  --interval-ms N      telemetry period in ms, 50..3600000 (default 1000)\n"
		"  --count N            stop after N readings; 0 = run until SIGINT/SIGTERM (default 0)\n"
		"  --qos N              QoS of telemetry and of the cmd subscription, 0..2 (default 1)\n"
		"  --username U         MQTT username\n"
		"  --password P         MQTT password\n"
		"  --help               this text\n",
		argv0);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "broker", required_argument, NULL, 'b' },   { "id", required_argument, NULL, 'i' },
		{ "prefix", required_argument, NULL, 'p' },   { "interval-ms", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },    { "qos", required_argument, NULL, 'q' },
		{ "username", required_argument, NULL, 'u' }, { "password", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	const char *broker = "127.0.0.1:1883";
	long v;
	int c;

	*o = (struct options){ .port = 1883, .id = "d1", .prefix = "mqedge/v1", .interval_ms = 1000, .qos = 1 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': broker = optarg; break;
		case 'i': o->id = optarg; break;
		case 'p': o->prefix = optarg; break;
		case 'n':
			if (!parse_long(optarg, 50, 3600000, &o->interval_ms))
				goto bad;
			break;
		case 'c':
			if (!parse_long(optarg, 0, 1000000000, &o->count))
				goto bad;
			break;
		case 'q':
			if (!parse_long(optarg, 0, 2, &v))
				goto bad;
			o->qos = (int)v;
			break;
		case 'u': o->username = optarg; break;
		case 'P': o->password = optarg; break;
		case 'h': usage(stdout, argv[0]); exit(0);
		default: usage(stderr, argv[0]); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
		return -1;
	}
	/* HOST:PORT, the port after the last ':' ([v6]:port works; brackets are dropped) */
	const char *colon = strrchr(broker, ':');
	size_t hlen = colon ? (size_t)(colon - broker) : strlen(broker);

	if (hlen && broker[0] == '[' && broker[hlen - 1] == ']') {
		broker++;
		hlen -= 2;
	}
	if (!hlen || hlen >= sizeof(o->host) || (colon && !parse_long(colon + 1, 1, 65535, &v))) {
		fprintf(stderr, "%s: --broker wants HOST:PORT, got '%s'\n", argv[0], broker);
		return -1;
	}
	memcpy(o->host, broker, hlen);
	o->host[hlen] = '\0';
	if (colon)
		o->port = (int)v;
	if (!valid_id(o->id)) {
		fprintf(stderr, "%s: --id must be 1-64 characters from A-Z a-z 0-9 _ - . @ :\n", argv[0]);
		return -1;
	}
	if (!*o->prefix || strpbrk(o->prefix, "+#")) {
		fprintf(stderr, "%s: --prefix must be non-empty and without MQTT wildcards\n", argv[0]);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "%s: bad value '%s' for --%s (see --help)\n", argv[0], optarg,
		c == 'n' ? "interval-ms" : c == 'c' ? "count" : "qos");
	return -1;
}

/* ---- main loop ---- */

/* Sleeps ms unless a signal comes first. */
static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR && !stop_signal)
		;
}

/* Connects, or reconnects after a capped exponential backoff, until it works or a signal comes. */
static int dial(struct sim *s)
{
	while (!stop_signal) {
		int rc;

		if (s->dialled) {
			nap(s->backoff_ms);
			s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
			if (stop_signal)
				break;
			rc = mosquitto_reconnect(s->mosq);
		} else {
			/* stores host and port even when the connection itself fails */
			rc = mosquitto_connect(s->mosq, s->opt.host, s->opt.port, 30);
			s->dialled = rc != MOSQ_ERR_INVAL;
		}
		if (rc == MOSQ_ERR_SUCCESS) {
			s->socket_up = true;
			return 0;
		}
		log_error("connect_failed", "broker=%s:%d rc=%d err=\"%s\" errno=%d retry_ms=%ld", s->opt.host,
			  s->opt.port, rc, mosquitto_strerror(rc), errno, s->backoff_ms);
		if (rc == MOSQ_ERR_INVAL)
			return -1;	/* bad host/port: no point retrying */
	}
	return -1;
}

/* Runs libmosquitto for up to ms. Returns false when the connection is gone. */
static bool pump(struct sim *s, long ms)
{
	int rc = mosquitto_loop(s->mosq, (int)ms, 1);

	if (rc == MOSQ_ERR_SUCCESS || (rc == MOSQ_ERR_ERRNO && errno == EINTR))
		return true;
	if (s->socket_up)
		log_error("connection_lost", "rc=%d err=\"%s\"", rc, mosquitto_strerror(rc));
	s->socket_up = s->connected = false;
	return false;
}

static int run(struct sim *s)
{
	s->next_ms = now_ms();
	s->backoff_ms = BACKOFF_MIN_MS;
	while (!stop_signal && !(s->opt.count && s->readings >= s->opt.count)) {
		if (!s->socket_up && dial(s))
			break;
		int64_t now = now_ms();

		if (s->connected && (now >= s->next_ms || s->report_now)) {
			if (now >= s->next_ms)
				s->next_ms = (s->next_ms + s->interval_ms > now) ? s->next_ms + s->interval_ms : now + s->interval_ms;
			s->report_now = false;
			if (publish_reading(s))
				log_error("reading_failed", "seq=%ld", s->seq);
		}
		/* until the next reading; before the CONNACK, until something arrives */
		int64_t wait = s->connected ? s->next_ms - now_ms() : 1000;

		pump(s, wait < 0 ? 0 : wait > 1000 ? 1000 : (long)wait);
	}
	/* flush what is still unacknowledged, then leave cleanly */
	for (int64_t end = now_ms() + FLUSH_MS; s->socket_up && s->inflight > 0 && now_ms() < end;)
		pump(s, 50);
	if (s->inflight > 0)
		log_error("flush_incomplete", "unacknowledged=%d", s->inflight);
	if (s->socket_up) {
		int rc = mosquitto_disconnect(s->mosq);

		if (rc != MOSQ_ERR_SUCCESS)
			log_error("disconnect_failed", "rc=%d err=\"%s\"", rc, mosquitto_strerror(rc));
		for (int64_t end = now_ms() + 1000; s->socket_up && now_ms() < end;)
			if (!pump(s, 50))
				break;
	}
	log_info("stopped", "readings=%ld telemetry=%ld signal=%d", s->readings, s->seq, (int)stop_signal);
	return stop_signal || (s->opt.count && s->readings >= s->opt.count) ? 0 : 2;
}

int main(int argc, char **argv)
{
	static struct sim s;
	struct sigaction sa;
	char client_id[128];
	int rc, status = 2;

	if (setvbuf(stdout, NULL, _IOLBF, 0)) {
		perror("setvbuf");
		return 2;
	}
	if (parse_options(argc, argv, &s.opt))
		return 1;
	s.interval_ms = s.opt.interval_ms;
	s.temp = 21.0;
	s.humidity = 45.0;
	srandom((unsigned)(getpid() ^ wall_ms()));

	if (snprintf(s.telemetry_topic, sizeof(s.telemetry_topic), "%s/device/%s/telemetry", s.opt.prefix, s.opt.id) >=
		    (int)sizeof(s.telemetry_topic) ||
	    snprintf(s.cmd_topic, sizeof(s.cmd_topic), "%s/device/%s/cmd", s.opt.prefix, s.opt.id) >=
		    (int)sizeof(s.cmd_topic) ||
	    snprintf(client_id, sizeof(client_id), "mqedge-sim-%s-%ld", s.opt.id, (long)getpid()) >=
		    (int)sizeof(client_id)) {
		fprintf(stderr, "%s: --prefix too long\n", argv[0]);
		return 1;
	}

	/* no SA_RESTART: a signal interrupts poll()/nanosleep so the loop sees it at once */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	if (sigemptyset(&sa.sa_mask) || sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL)) {
		perror("sigaction");
		return 2;
	}
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL)) {
		perror("sigaction");
		return 2;
	}

	rc = mosquitto_lib_init();
	if (rc != MOSQ_ERR_SUCCESS) {
		log_error("mosquitto_init_failed", "rc=%d", rc);
		return 2;
	}
	s.mosq = mosquitto_new(client_id, true, &s);
	if (!s.mosq) {
		log_error("mosquitto_new_failed", "errno=%d", errno);
		goto out;
	}
	mosquitto_connect_callback_set(s.mosq, on_connect);
	mosquitto_disconnect_callback_set(s.mosq, on_disconnect);
	mosquitto_subscribe_callback_set(s.mosq, on_subscribe);
	mosquitto_publish_callback_set(s.mosq, on_publish);
	mosquitto_message_callback_set(s.mosq, on_message);
	if (s.opt.username && (rc = mosquitto_username_pw_set(s.mosq, s.opt.username, s.opt.password))) {
		log_error("credentials_failed", "rc=%d err=\"%s\"", rc, mosquitto_strerror(rc));
		goto out;
	}
	log_info("starting", "broker=%s:%d id=%s telemetry=%s cmd=%s interval_ms=%ld count=%ld qos=%d", s.opt.host,
		 s.opt.port, s.opt.id, s.telemetry_topic, s.cmd_topic, s.opt.interval_ms, s.opt.count, s.opt.qos);
	status = run(&s);
out:
	if (s.mosq)
		mosquitto_destroy(s.mosq);
	rc = mosquitto_lib_cleanup();
	if (rc != MOSQ_ERR_SUCCESS)
		log_error("mosquitto_cleanup_failed", "rc=%d", rc);
	return status;
}
