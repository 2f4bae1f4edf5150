/*
 * mqtt_client.c - the only libmosquitto user: session state machine, backoff, subscriptions,
 * the bounded publish queue, and translation of MOSQ_ERR_* into our return codes.
 * Owns: the mosquitto handle, the wanted-subscription list, queued and in-flight publishes.
 * Must not: know about sessions, rooms or frames (it speaks topics and bytes through hooks).
 *
 * States: WIPING (first connection of the process, clean session, dropped at once; skipped with
 * keep_session) -> CONNECTING -> UP -> (connection lost) -> CONNECTING ... ; STOPPING -> STOPPED.
 * Failover is orthogonal to the states: which broker of the list the next connect goes to. A
 * broker that stays unreachable for failover_after_ms is left for the next one (failover.h); the
 * handle, its wanted subscriptions and what it has in flight stay, so libmosquitto publishes the
 * in-flight messages again on the new broker after its CONNACK.
 */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mqedge/base/clock.h"
#include "mqedge/base/list.h"
#include "mqedge/base/log.h"
#include "mqedge/bridge/bridge.h"
#include "failover.h"
#include "mqtt_loop.h"
#include "pubq.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define BACKOFF_STABLE_MS 30000	/* up this long: the next loss starts the backoff afresh */
#define MISC_INTERVAL_MS 1000
#define READ_BURST 256		/* packets read per readable event before yielding to the loop */

enum state { ST_WIPING, ST_CONNECTING, ST_UP, ST_STOPPING, ST_STOPPED };

struct bridge_sub {
	struct bridge_sub *prev, *next;
	void *user;
	int mid;		/* of the SUBSCRIBE in flight, or -1 */
	bool active;		/* SUBACKed in the current session */
	char topic[];
};

/* A topic dropped while the broker was away: the persistent session still has it. */
struct stale_topic {
	struct stale_topic *next;
	char topic[];
};

struct bridge {
	struct mosquitto *mosq;
	bool session_present;	/* the last CONNACK's flag: the broker kept our session */
	struct mqtt_loop *loop;
	enum state state;
	bool wiped;		/* the clean-session connection of this process is done */
	int backoff_ms;
	bool keep_backoff;	/* we dropped the connection: the next CONNACK does not reset the backoff */
	/* a broker that stays away must not write lines forever: repeats are held back */
	struct log_limit limit_connect, limit_lost, limit_libmosq;
	int64_t up_since_ms;	/* when the session last came up; 0 while down */
	int64_t down_since_ms;	/* since when the current broker is unreachable; 0 while up */
	int64_t failover_after_ms;
	struct endpoint {
		char *host;
		int port;
	} *brokers;
	size_t n_brokers, cur;
	bool moved;		/* the next CONNACK is the first on a broker we moved to */
	/* CONNACK handled, the offline queue not yet flushed: libmosquitto resends what was in flight
	 * after our CONNACK callback returns, and the queue (newer) must go after it */
	bool flush_pending;
	char *host;		/* brokers[cur].host */
	char *username, *password, *cafile, *client_id;
	char *status_topic, *online_payload, *offline_payload;
	int port, keepalive;
	bool keep_session, ack_after_batch, mqtt311;
	struct bridge_hooks hooks;
	void *ctx;

	struct bridge_sub *subs;
	struct stale_topic *stale;
	struct pubq pubq;	/* queued while away, and in flight until PUBACK */
	struct bridge_stats stats;
};

static void schedule_reconnect(struct bridge *b);
static void after_io(struct bridge *b);

static const char *err_name(int rc)
{
	/* mosquitto_strerror says "Unknown error" for some codes: always log the number too */
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

/* ---- connection lifecycle ---- */

static void on_connect_cb(struct mosquitto *mosq, void *obj, int rc, int flags, const mosquitto_property *props);
static void on_disconnect_cb(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props);
static void on_message_cb(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
			  const mosquitto_property *props);
static void on_publish_cb(struct mosquitto *mosq, void *obj, int mid, int reason, const mosquitto_property *props);
static void on_subscribe_cb(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted,
			    const mosquitto_property *props);
static void on_log_cb(struct mosquitto *mosq, void *obj, int level, const char *str);

/* MQTT 5 ends a session when its connection ends unless CONNECT asks otherwise: ours never
 * expires, as an MQTT 3.1.1 persistent session does not. libmosquitto 2.0 has no asynchronous
 * connect that takes CONNECT properties, but connect_bind_v5 stores them before it checks its
 * arguments, and every later (asynchronous) connect of the handle sends the stored ones: given
 * port -1, it stores them and fails at once without touching the network. */
static int set_session_expiry(struct bridge *b)
{
	mosquitto_property *props = NULL;
	int rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, UINT32_MAX);

	if (rc == MOSQ_ERR_SUCCESS) {
		rc = mosquitto_connect_bind_v5(b->mosq, "-", -1, b->keepalive, NULL, props);
		rc = rc == MOSQ_ERR_INVAL ? MOSQ_ERR_SUCCESS : MOSQ_ERR_UNKNOWN;
	}
	mosquitto_property_free_all(&props);
	return rc;
}

/* Options and callbacks: applied after mosquitto_new and again after mosquitto_reinitialise,
 * which clears them. persistent: the session outlives the connection (not so for the wiping
 * connection, whose session must end with it, so the next CONNACK says no session was present). */
static int configure(struct bridge *b, bool persistent)
{
	int rc;

	/* the v5 callbacks serve MQTT 3.1.1 too (no properties, reason 0) */
	mosquitto_connect_v5_callback_set(b->mosq, on_connect_cb);
	mosquitto_disconnect_v5_callback_set(b->mosq, on_disconnect_cb);
	mosquitto_message_v5_callback_set(b->mosq, on_message_cb);
	mosquitto_publish_v5_callback_set(b->mosq, on_publish_cb);
	mosquitto_subscribe_v5_callback_set(b->mosq, on_subscribe_cb);
	mosquitto_log_callback_set(b->mosq, on_log_cb);
	rc = mosquitto_int_option(b->mosq, MOSQ_OPT_PROTOCOL_VERSION, b->mqtt311 ? MQTT_PROTOCOL_V311 : MQTT_PROTOCOL_V5);
	if (!rc && !b->mqtt311 && persistent)
		rc = set_session_expiry(b);
	if (!rc && b->username)
		rc = mosquitto_username_pw_set(b->mosq, b->username, b->password);
	if (!rc && b->cafile)
		rc = mosquitto_tls_set(b->mosq, b->cafile, NULL, NULL, NULL, NULL);
	if (!rc && b->status_topic)
		rc = mosquitto_will_set(b->mosq, b->status_topic, (int)strlen(b->offline_payload),
					b->offline_payload, 1, true);
	/* our own queue bounds what waits; let libmosquitto keep every QoS 1 message in flight */
	if (!rc)
		rc = mosquitto_int_option(b->mosq, MOSQ_OPT_SEND_MAXIMUM, 65535);
	/* "threaded" only stops libmosquitto writing from inside loop_read: PUBACKs then wait for
	 * our loop_write, which runs after on_batch_done. No thread is started. */
	if (!rc && b->ack_after_batch)
		rc = mosquitto_threaded_set(b->mosq, true);
	if (rc)
		log_error("mqtt_configure_failed", "session=%s rc=%d err=\"%s\"", b->client_id, rc, err_name(rc));
	return rc ? -1 : 0;
}

static void start_connect(struct bridge *b)
{
	int rc, fd;

	if (b->state == ST_STOPPING || b->state == ST_STOPPED)
		return;
	/* non-blocking TCP connect; only name resolution can block, use an address to avoid it */
	rc = mosquitto_connect_async(b->mosq, b->host, b->port, b->keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_limited(&b->limit_connect, LOG_WARN, "mqtt_connect_failed", "session=%s host=%s port=%d rc=%d err=\"%s\"", b->client_id, b->host, b->port, rc,
			 err_name(rc));
		schedule_reconnect(b);
		return;
	}
	fd = mosquitto_socket(b->mosq);
	if (fd < 0 || (fd = dup(fd)) < 0 || mqtt_loop_attach(b->loop, fd)) {
		log_error("mqtt_attach_failed", "session=%s errno=%d", b->client_id, errno);
		mosquitto_disconnect(b->mosq);
		schedule_reconnect(b);
		return;
	}
	after_io(b);
}

static void schedule_reconnect(struct bridge *b)
{
	int delay = b->backoff_ms;

	/* full jitter on the upper half keeps many edges from reconnecting in lockstep */
	delay = delay / 2 + (int)((unsigned)rand() % (unsigned)(delay / 2 + 1));
	b->backoff_ms = b->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b->backoff_ms * 2;
	/* the move to the next broker happens on time, not at the next backoff step after it */
	delay = (int)failover_clamp_delay(delay, b->down_since_ms, clock_now_ms(), b->failover_after_ms, b->n_brokers);
	log_debug("mqtt_reconnect_scheduled", "session=%s delay_ms=%d", b->client_id, delay);
	mqtt_loop_timer(b->loop, MQTT_TIMER_RECONNECT, delay);
}

/* Hands one QoS 1 message to libmosquitto. 0: it is in flight (acknowledged later through
 * on_published with the cookie); -1: it was not taken (logged; the caller answers for it). */
static int send_publish(struct bridge *b, const char *topic, const void *payload, size_t len, bool retain,
			const mosquitto_property *props, void *cookie)
{
	int mid = 0, rc;

	rc = mosquitto_publish_v5(b->mosq, &mid, topic, (int)len, payload, 1, retain, props);
	/* libmosquitto gives a QoS 1 message its mid and queues it before the first write: a write
	 * that then fails (NO_CONN, ERRNO, CONN_LOST: the broker went away under us) leaves it
	 * queued, and it is resent after the reconnect. Only errors before that (invalid, too big,
	 * out of memory) mean not taken; NOMEM after the mid is taken for not queued. */
	if (rc == MOSQ_ERR_SUCCESS || (mid != 0 && rc != MOSQ_ERR_NOMEM)) {
		pubq_inflight_add(&b->pubq, mid, cookie);
		b->stats.publishes++;
		return 0;
	}
	log_error("mqtt_publish_failed", "session=%s topic=%s rc=%d err=\"%s\"", b->client_id, topic, rc, err_name(rc));
	return -1;
}

static void subscribe_one(struct bridge *b, struct bridge_sub *s)
{
	int rc = mosquitto_subscribe(b->mosq, &s->mid, s->topic, 1);

	if (rc != MOSQ_ERR_SUCCESS) {
		/* the connection is failing; the next CONNACK resubscribes */
		log_warn("mqtt_subscribe_failed", "session=%s topic=%s rc=%d err=\"%s\"", b->client_id, s->topic, rc, err_name(rc));
		s->mid = -1;
	}
}

static void on_connect_cb(struct mosquitto *mosq, void *obj, int rc, int flags, const mosquitto_property *props)
{
	struct bridge *b = obj;

	(void)mosq;
	(void)props;
	if (rc != 0) {
		/* a broker without MQTT 5 answers our CONNECT with 3.1.1's code 1 */
		log_limited(&b->limit_connect, LOG_ERROR, "mqtt_connack_refused", "session=%s rc=%d reason=\"%s\"%s", b->client_id, rc,
			    b->mqtt311 || rc < 0x80 ? mosquitto_connack_string(rc) : mosquitto_reason_string(rc),
			    !b->mqtt311 && rc == 1 ? " hint=\"the broker does not speak MQTT 5: mqtt-version = 3.1.1\"" : "");
		mosquitto_disconnect(b->mosq);
		return;	/* on_disconnect schedules the retry */
	}
	if (b->state == ST_WIPING) {
		/* the clean session has erased what an earlier run left; now become persistent */
		log_info("mqtt_session_reset", "session=%s", b->client_id);
		mosquitto_disconnect(b->mosq);
		return;
	}
	if (b->state != ST_CONNECTING)
		return;
	b->state = ST_UP;
	/* a broker we came back to may still hold our session from before, but we were elsewhere
	 * meanwhile: it is not a continuation */
	b->session_present = (flags & 1) && !b->moved;
	b->moved = false;
	b->down_since_ms = 0;
	if (!b->keep_backoff)
		b->backoff_ms = BACKOFF_MIN_MS;
	b->keep_backoff = false;
	b->up_since_ms = clock_now_ms();
	b->stats.connects++;
	/* connecting works again: say how much of that trouble was held back, and log the next at
	 * once. Lost connections keep their window: a session that flaps (a full disk drops it after
	 * every redelivery) must not log each round. */
	log_info("mqtt_connected", "session=%s host=%s port=%d session_present=%d subs=%zu queued=%zu held_back_lines=%u",
		 b->client_id, b->host, b->port, b->session_present, b->stats.subscriptions, b->pubq.count,
		 log_limit_reset(&b->limit_connect) + log_limit_reset(&b->limit_libmosq));
	while (b->stale) {
		struct stale_topic *st = b->stale;

		b->stale = st->next;
		mosquitto_unsubscribe(b->mosq, NULL, st->topic);
		free(st);
	}
	for (struct bridge_sub *s = b->subs; s; s = s->next)
		subscribe_one(b, s);
	if (b->status_topic)
		(void)send_publish(b, b->status_topic, b->online_payload, strlen(b->online_payload), true, NULL, NULL);	/* logged */
	/* the offline queue goes out once libmosquitto has resent what was in flight (on_readable,
	 * after this packet); publishes made until then join the queue, behind it */
	b->flush_pending = true;
	if (b->hooks.on_state)
		b->hooks.on_state(b->ctx, true);
}

/* After the CONNACK's packet: what was queued while the broker was away, in order, behind the
 * messages libmosquitto resent (a publisher's order holds across the outage). */
static void flush_queue(struct bridge *b)
{
	b->flush_pending = false;
	if (b->state != ST_UP)
		return;	/* lost again at once: the queue waits for the next CONNACK */
	for (struct pubq_item *q; (q = pubq_pop(&b->pubq)); free(q))
		if (send_publish(b, pubq_item_topic(q), pubq_item_payload(q), q->len, q->retain, NULL, q->cookie) &&
		    q->cookie && b->hooks.on_published)
			b->hooks.on_published(b->ctx, q->cookie, -1);	/* not inside its caller: safe */
}

static void on_disconnect_cb(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct bridge *b = obj;
	enum state was = b->state;

	(void)mosq;
	(void)props;
	mqtt_loop_detach(b->loop);
	if (was == ST_STOPPED)
		return;	/* libmosquitto reports a socket it already closed again; nothing to do */
	b->flush_pending = false;	/* what is still queued waits for the next CONNACK */
	for (struct bridge_sub *s = b->subs; s; s = s->next) {
		s->active = false;
		s->mid = -1;
	}
	if (was == ST_STOPPING) {
		b->state = ST_STOPPED;
		log_info("mqtt_disconnected", "session=%s reason=shutdown", b->client_id);
		return;
	}
	if (was == ST_WIPING) {
		if (rc == 0) {
			/* our own DISCONNECT after the wipe. Reinitialising the handle from inside its
			 * callback is unsafe, so the timer does it on the next loop pass. */
			b->wiped = true;
			mqtt_loop_timer(b->loop, MQTT_TIMER_RECONNECT, 0);
			return;
		}
	} else {
		b->state = ST_CONNECTING;
	}
	/* a session that stayed up a while was fine: this loss starts the backoff afresh (one that
	 * we dropped right after connecting keeps growing it) */
	if (b->up_since_ms && clock_now_ms() - b->up_since_ms >= BACKOFF_STABLE_MS) {
		b->backoff_ms = BACKOFF_MIN_MS;
		b->keep_backoff = false;
	}
	b->up_since_ms = 0;
	if (was == ST_UP || !b->down_since_ms)
		b->down_since_ms = clock_now_ms();
	b->stats.disconnects++;
	log_limited(&b->limit_lost, LOG_WARN, "mqtt_disconnected", "session=%s rc=%d err=\"%s\"", b->client_id, rc, err_name(rc));
	if (was == ST_UP && b->hooks.on_state)
		b->hooks.on_state(b->ctx, false);
	schedule_reconnect(b);
}

/* ---- traffic ---- */

static void on_message_cb(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
			  const mosquitto_property *props)
{
	struct bridge *b = obj;
	struct bridge_msg_props mp = { 0 };
	void *corr = NULL;
	uint16_t corr_len = 0;

	(void)mosq;
	b->stats.messages_in++;
	if (!b->hooks.on_message || msg->payloadlen < 0)
		return;
	/* only messages that carry properties pay for reading them (edges' own publishes do not) */
	if (props && mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false)) {
		mp.correlation = corr;
		mp.correlation_len = corr_len;
	}
	b->hooks.on_message(b->ctx, msg->topic, strlen(msg->topic), msg->payload, (size_t)msg->payloadlen,
			    msg->retain, corr ? &mp : NULL);
	free(corr);	/* libmosquitto's copy, made with its default allocator (malloc) */
}

/* A PUBACK's reason code as on_published's status. */
static int publish_status(int reason)
{
	if (reason == MQTT_RC_NO_MATCHING_SUBSCRIBERS)
		return BRIDGE_PUB_NO_SUBSCRIBERS;
	if (reason < 0x80)
		return 0;
	return reason == MQTT_RC_NOT_AUTHORIZED ? -EACCES : -EIO;
}

static void on_publish_cb(struct mosquitto *mosq, void *obj, int mid, int reason, const mosquitto_property *props)
{
	struct bridge *b = obj;
	void *cookie;

	(void)mosq;
	(void)props;
	if (!pubq_inflight_take(&b->pubq, mid, &cookie))
		return;
	if (reason >= 0x80)
		log_limited(&b->limit_libmosq, LOG_WARN, "mqtt_publish_refused", "session=%s mid=%d reason=%d err=\"%s\"",
			    b->client_id, mid, reason, mosquitto_reason_string(reason));
	if (cookie && b->hooks.on_published)
		b->hooks.on_published(b->ctx, cookie, publish_status(reason));
}

static void on_subscribe_cb(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted,
			    const mosquitto_property *props)
{
	struct bridge *b = obj;

	(void)mosq;
	(void)props;
	for (struct bridge_sub *s = b->subs; s; s = s->next) {
		if (s->mid != mid)
			continue;
		s->mid = -1;
		if (qos_count < 1 || granted[0] > 2) {	/* 0x80 and up: refused (MQTT 5 reason codes too) */
			log_error("mqtt_subscribe_refused", "session=%s topic=%s", b->client_id, s->topic);
			return;
		}
		s->active = true;
		if (b->hooks.on_subscribed)
			b->hooks.on_subscribed(b->ctx, s->user);
		return;
	}
}

static void on_log_cb(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	struct bridge *b = obj;

	(void)mosq;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		log_limited(&b->limit_libmosq, LOG_WARN, "libmosquitto", "session=%s msg=\"%s\"", b->client_id, str);
	else
		log_debug("libmosquitto", "session=%s msg=\"%s\"", b->client_id, str);
}

/* ---- loop adapter callbacks ---- */

static void after_io(struct bridge *b)
{
	if (b->mosq && mosquitto_want_write(b->mosq))
		mqtt_loop_want_write(b->loop);
}

static void on_readable(void *ctx)
{
	struct bridge *b = ctx;
	int rc, pending;

	if (mosquitto_socket(b->mosq) < 0) {
		mqtt_loop_detach(b->loop);	/* the descriptor we watch belongs to a closed connection */
		return;
	}
	for (int i = 0; i < READ_BURST; i++) {
		rc = mosquitto_loop_read(b->mosq, 1);
		if (b->flush_pending)
			flush_queue(b);
		if (rc != MOSQ_ERR_SUCCESS)
			break;	/* libmosquitto closed its socket and called on_disconnect */
		/* one packet per call; keep going while the kernel holds more bytes */
		if (mosquitto_socket(b->mosq) < 0 || ioctl(mosquitto_socket(b->mosq), FIONREAD, &pending) ||
		    pending <= 0)
			break;
	}
	if (b->hooks.on_batch_done)
		b->hooks.on_batch_done(b->ctx);
	after_io(b);
}

static void on_writable(void *ctx)
{
	struct bridge *b = ctx;

	if (mosquitto_socket(b->mosq) < 0) {
		mqtt_loop_detach(b->loop);
		return;
	}
	mosquitto_loop_write(b->mosq, 64);
	after_io(b);
}

/* From now on, connect to brokers[to]: a fresh unreachability window and backoff there. */
static void switch_broker(struct bridge *b, size_t to, const char *why)
{
	log_warn("mqtt_failover", "session=%s from=%s:%d to=%s:%d reason=%s down_ms=%lld", b->client_id, b->host, b->port,
		 b->brokers[to].host, b->brokers[to].port, why,
		 (long long)(b->down_since_ms ? clock_now_ms() - b->down_since_ms : 0));
	b->cur = to;
	b->host = b->brokers[to].host;
	b->port = b->brokers[to].port;
	b->moved = true;
	b->down_since_ms = clock_now_ms();
	b->backoff_ms = BACKOFF_MIN_MS;
	b->keep_backoff = false;
	b->stats.failovers++;
	/* the trouble on the old broker was said; the new one's is news */
	(void)log_limit_reset(&b->limit_connect);
	(void)log_limit_reset(&b->limit_lost);
}

static void on_timer(void *ctx, enum mqtt_timer which)
{
	struct bridge *b = ctx;

	if (which == MQTT_TIMER_RECONNECT) {
		if (b->state == ST_WIPING && b->wiped) {
			/* same handle, persistent session from now on */
			if (mosquitto_reinitialise(b->mosq, b->client_id, false, b) || configure(b, true)) {
				log_error("mqtt_reinitialise_failed", "session=%s", b->client_id);
				schedule_reconnect(b);
				return;
			}
			b->state = ST_CONNECTING;
		}
		if ((b->state == ST_WIPING || b->state == ST_CONNECTING) &&
		    failover_due(b->down_since_ms, clock_now_ms(), b->failover_after_ms, b->n_brokers)) {
			size_t from = b->cur;

			switch_broker(b, failover_next(b->cur, b->n_brokers), "unreachable");
			if (b->hooks.on_failover)
				b->hooks.on_failover(b->ctx, from, b->cur);
		}
		if (b->state == ST_WIPING || b->state == ST_CONNECTING)
			start_connect(b);
		return;
	}
	/* keepalive PINGREQs and the keepalive timeout */
	if (mosquitto_socket(b->mosq) >= 0)
		mosquitto_loop_misc(b->mosq);
	after_io(b);
	mqtt_loop_timer(b->loop, MQTT_TIMER_MISC, MISC_INTERVAL_MS);
}

/* ---- public interface ---- */

static char *dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

struct bridge *bridge_create(struct bridge_loop *loop, const struct bridge_options *opt,
			     const struct bridge_hooks *hooks, void *ctx)
{
	static const struct mqtt_loop_ops ops = { on_readable, on_writable, on_timer };
	struct bridge *b = calloc(1, sizeof(*b));
	bool failed = false;

	if (!b)
		return NULL;
	b->hooks = *hooks;
	b->ctx = ctx;
	b->failover_after_ms = opt->failover_after_ms;
	if (!opt->n_brokers || !(b->brokers = calloc(opt->n_brokers, sizeof(*b->brokers))))
		goto fail;
	for (size_t i = 0; i < opt->n_brokers; i++) {
		b->brokers[i].host = dup_or_null(opt->brokers[i].host, &failed);
		b->brokers[i].port = opt->brokers[i].port;
		b->n_brokers++;
		if (!b->brokers[i].host)
			failed = true;
	}
	b->host = b->brokers[0].host;
	b->port = b->brokers[0].port;
	b->down_since_ms = clock_now_ms();	/* unreachable until the first CONNACK */
	b->keepalive = opt->keepalive;
	b->backoff_ms = BACKOFF_MIN_MS;
	b->keep_session = opt->keep_session;
	b->ack_after_batch = opt->ack_after_batch;
	b->mqtt311 = opt->mqtt311;
	b->username = dup_or_null(opt->username, &failed);
	b->password = dup_or_null(opt->password, &failed);
	b->cafile = dup_or_null(opt->cafile, &failed);
	b->client_id = dup_or_null(opt->client_id, &failed);
	b->status_topic = dup_or_null(opt->status_topic, &failed);
	b->online_payload = dup_or_null(opt->online_payload ? opt->online_payload : "online", &failed);
	b->offline_payload = dup_or_null(opt->offline_payload ? opt->offline_payload : "offline", &failed);
	if (pubq_init(&b->pubq, opt->max_pending, opt->max_pending_bytes))
		failed = true;
	if (failed || !b->host || !b->client_id)
		goto fail;
	if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
		goto fail;
	b->mosq = mosquitto_new(b->client_id, !b->keep_session, b);
	if (!b->mosq || configure(b, b->keep_session))
		goto fail;
	b->loop = mqtt_loop_create(loop, &ops, b);
	if (!b->loop)
		goto fail;
	b->state = b->keep_session ? ST_CONNECTING : ST_WIPING;
	mqtt_loop_timer(b->loop, MQTT_TIMER_MISC, MISC_INTERVAL_MS);
	start_connect(b);
	return b;
fail:
	log_error("mqtt_create_failed", "session=%s", opt->client_id ? opt->client_id : "");
	bridge_destroy(b);
	return NULL;
}

struct bridge_sub *bridge_subscribe(struct bridge *b, const char *topic, void *user)
{
	size_t len = strlen(topic);
	struct bridge_sub *s = calloc(1, sizeof(*s) + len + 1);

	if (!s)
		return NULL;
	memcpy(s->topic, topic, len + 1);
	s->user = user;
	s->mid = -1;
	/* it may have been dropped while the broker was away: it is wanted again */
	for (struct stale_topic **pp = &b->stale; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->topic, topic)) {
			struct stale_topic *st = *pp;

			*pp = st->next;
			free(st);
			break;
		}
	}
	DLIST_PUSH(b->subs, s, prev, next);
	b->stats.subscriptions++;
	if (b->state == ST_UP) {
		subscribe_one(b, s);
		after_io(b);
	}
	return s;
}

bool bridge_sub_active(const struct bridge_sub *sub)
{
	return sub->active;
}

void bridge_unsubscribe(struct bridge *b, struct bridge_sub *s)
{
	DLIST_UNLINK(b->subs, s, prev, next);
	b->stats.subscriptions--;
	if (b->state == ST_UP) {
		int rc = mosquitto_unsubscribe(b->mosq, NULL, s->topic);

		if (rc != MOSQ_ERR_SUCCESS)
			log_warn("mqtt_unsubscribe_failed", "session=%s topic=%s rc=%d", b->client_id, s->topic, rc);
		after_io(b);
	} else if (b->state == ST_CONNECTING) {
		/* the persistent session still holds it: drop it after reconnecting */
		size_t len = strlen(s->topic);
		struct stale_topic *st = malloc(sizeof(*st) + len + 1);

		if (st) {
			memcpy(st->topic, s->topic, len + 1);
			st->next = b->stale;
			b->stale = st;
		} else {
			log_warn("mqtt_stale_topic_lost", "session=%s topic=%s", b->client_id, s->topic);
		}
	}
	free(s);
}

int bridge_set_status(struct bridge *b, const char *online_payload)
{
	char *p;

	if (!b->status_topic)
		return -EINVAL;
	p = strdup(online_payload);
	if (!p)
		return -ENOMEM;
	free(b->online_payload);
	b->online_payload = p;
	if (b->state == ST_UP) {
		(void)send_publish(b, b->status_topic, p, strlen(p), true, NULL, NULL);	/* logged */
		after_io(b);
	}
	return 0;
}

int bridge_publish(struct bridge *b, const char *topic, const void *payload, size_t len,
		   bool retain, void *cookie)
{
	if (len > 256u * 1024 * 1024 || b->state == ST_STOPPING || b->state == ST_STOPPED)
		return -EINVAL;
	if (pubq_full(&b->pubq, len)) {
		b->stats.publish_refused++;
		return -ENOBUFS;
	}
	if (b->state != ST_UP || b->flush_pending)
		return pubq_push(&b->pubq, topic, payload, len, retain, cookie);
	/* never the cookie's hook from here: the caller still holds the cookie and answers itself */
	if (send_publish(b, topic, payload, len, retain, NULL, cookie))
		return -EIO;
	after_io(b);
	return 0;
}

void bridge_drop_connection(struct bridge *b)
{
	int fd = mosquitto_socket(b->mosq);

	if (fd < 0)
		return;
	log_limited(&b->limit_lost, LOG_WARN, "mqtt_drop_connection", "session=%s", b->client_id);
	/* the same failure will likely meet the redelivery: retry slower each time */
	b->keep_backoff = true;
	/* shutdown, not close: libmosquitto still owns the descriptor. Its next read or write fails,
	 * it reports the disconnect, and the reconnect discards the queued packets. */
	shutdown(fd, SHUT_RDWR);
	mqtt_loop_want_write(b->loop);
}

int bridge_publish_request(struct bridge *b, const char *topic, const void *payload, size_t len,
			   const struct bridge_request *req, void *cookie)
{
	mosquitto_property *props = NULL;
	int rc = MOSQ_ERR_SUCCESS;

	if (b->mqtt311)
		return -EPROTONOSUPPORT;
	if (b->state != ST_UP)
		return -ENOTCONN;
	if (len > 256u * 1024 * 1024 || req->correlation_len > UINT16_MAX)
		return -EINVAL;
	rc = mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, req->response_topic);
	if (!rc)
		rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, req->correlation,
						   (uint16_t)req->correlation_len);
	if (!rc && req->content_type)
		rc = mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, req->content_type);
	if (!rc && req->expiry_s)
		rc = mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, req->expiry_s);
	for (size_t i = 0; !rc && i < req->n_user_props; i++)
		rc = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, req->user_props[i].name,
							req->user_props[i].value);
	if (rc) {
		mosquitto_property_free_all(&props);
		return rc == MOSQ_ERR_NOMEM ? -ENOMEM : -EINVAL;
	}
	rc = send_publish(b, topic, payload, len, false, props, cookie);
	mosquitto_property_free_all(&props);
	if (rc)
		return -EIO;
	after_io(b);
	return 0;
}

bool bridge_session_present(const struct bridge *b)
{
	return b->session_present;
}

bool bridge_is_up(const struct bridge *b)
{
	return b->state == ST_UP;
}

size_t bridge_broker(const struct bridge *b, const char **host, int *port)
{
	if (host)
		*host = b->host;
	if (port)
		*port = b->port;
	return b->cur;
}

int bridge_move(struct bridge *b, size_t index)
{
	int fd;

	if (index >= b->n_brokers || b->state == ST_STOPPING || b->state == ST_STOPPED)
		return -EINVAL;
	if (index == b->cur)
		return 0;
	switch_broker(b, index, "moved");
	fd = mosquitto_socket(b->mosq);
	if (fd >= 0) {
		/* as bridge_drop_connection: libmosquitto notices, reports the disconnect, and the
		 * reconnect (to the new broker) follows with the fresh backoff */
		shutdown(fd, SHUT_RDWR);
		mqtt_loop_want_write(b->loop);
	} else {
		mqtt_loop_timer(b->loop, MQTT_TIMER_RECONNECT, 0);
	}
	return 0;
}

void bridge_get_stats(const struct bridge *b, struct bridge_stats *out)
{
	*out = b->stats;
	out->pending = pubq_pending(&b->pubq);
}

static void abandon_one(void *ctx, void *cookie)
{
	struct bridge *b = ctx;

	if (b->hooks.on_published)
		b->hooks.on_published(b->ctx, cookie, -1);
}

/* Everything owed is abandoned: each cookie's publish is reported failed. */
static void abandon_all(struct bridge *b)
{
	pubq_abandon(&b->pubq, abandon_one, b);
}

void bridge_stop(struct bridge *b)
{
	enum state was = b->state;

	if (was == ST_STOPPING || was == ST_STOPPED)
		return;
	mqtt_loop_timer(b->loop, MQTT_TIMER_RECONNECT, -1);
	if (was == ST_UP && b->status_topic)
		mosquitto_publish(b->mosq, NULL, b->status_topic, (int)strlen(b->offline_payload),
				  b->offline_payload, 1, true);
	b->state = ST_STOPPING;
	abandon_all(b);
	if (was == ST_UP && mosquitto_disconnect(b->mosq) == MOSQ_ERR_SUCCESS) {
		after_io(b);	/* DISCONNECT goes out when writable; on_disconnect marks STOPPED */
		return;
	}
	mqtt_loop_detach(b->loop);
	b->state = ST_STOPPED;
}

bool bridge_stopped(const struct bridge *b)
{
	return b->state == ST_STOPPED;
}

void bridge_destroy(struct bridge *b)
{
	if (!b)
		return;
	abandon_all(b);
	while (b->subs) {
		struct bridge_sub *s = b->subs;

		b->subs = s->next;
		free(s);
	}
	while (b->stale) {
		struct stale_topic *st = b->stale;

		b->stale = st->next;
		free(st);
	}
	mqtt_loop_destroy(b->loop);
	if (b->mosq)
		mosquitto_destroy(b->mosq);
	mosquitto_lib_cleanup();
	pubq_fini(&b->pubq);
	for (size_t i = 0; i < b->n_brokers; i++)
		free(b->brokers[i].host);
	free(b->brokers);
	free(b->username);
	free(b->password);
	free(b->cafile);
	free(b->client_id);
	free(b->status_topic);
	free(b->online_payload);
	free(b->offline_payload);
	free(b);
}
