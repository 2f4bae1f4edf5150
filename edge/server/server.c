/*
 * server.c - process assembly: the lws context and its listeners, the protocol table, signals
 * (a signalfd adopted into the loop), the two bridges, fan-out and the inbox wired together, the
 * run loop and the graceful stop.
 * Owns: struct server (struct edge plus what only assembly needs). Must not: handle frames or
 * broker messages (dispatch.c, ws_session.c, fan-out, the inbox).
 */
#include <errno.h>
#include <stddef.h>
#include <ev.h>
#include <libwebsockets.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "board.h"
#include "dispatch.h"
#include "edge.h"
#include "http.h"
#include "listener.h"
#include "metrics.h"
#include "mqedge/base/clock.h"
#include "mqedge/base/log.h"
#include "mqedge/base/siphash.h"
#include "mqedge/bridge/bridge.h"
#include "mqedge/bridge/bridge_lws.h"
#include "mqedge/wire/api_body.h"
#include "mqedge/wire/topics.h"
#include "server.h"
#include "heartbeat.h"
#include "tls.h"
#include "ws_deflate.h"
#include "ws_session.h"

#define SIGNAL_PROTOCOL_NAME "mqedge-signal"
#define STOP_GRACE_US (5 * LWS_US_PER_SEC)
#define STOP_POLL_US (20 * LWS_US_PER_MS)
#define BAD_HISTORY_ROOMS "bad history-rooms: give PATTERN[=SIZE[/TTL]],... (SIZE >= 1, TTL in seconds)"
/* the jwt-secret examples/mqedge.conf ships with (the Debian package replaces it by a generated file) */
#define JWT_SECRET_PLACEHOLDER "change-me-to-a-long-random-string"

struct server;

/* A module's next deadline (see deadline_arm). */
struct deadline_timer {
	struct server *srv;
	int64_t (*fire)(struct edge *e, int64_t now_ms);	/* ms until the next one, or -1 */
	lws_usec_t due_us;	/* when it fires, if pending */
	ev_timer ev;		/* under libev */
	lws_sorted_usec_list_t sul;	/* under lws' poll loop */
};

struct server {
	struct edge edge;		/* first: the lws context's user pointer */
	struct edge_config *cfg;
	lws_sorted_usec_list_t sul_tick;
	lws_sorted_usec_list_t sul_heartbeat;	/* ws_session's heartbeat wheel, every tick */
	struct deadline_timer history_deadline;	/* history fetch deadlines */
	struct deadline_timer rpc_deadline;	/* rpc timeouts */
	uint64_t status_conns;		/* the connection count in the retained status */
	int64_t status_at_ms;		/* when it was last rewritten */
	uint64_t trimmed_at_opened;	/* connections_opened at the last malloc_trim */
	int64_t trimmed_at_us;
	struct ev_loop *ev_loop;	/* the foreign libev loop (event-loop = epoll), or NULL */
	int signal_fd;
	bool stopping, done;
	int64_t stop_deadline_us;
	lws_sorted_usec_list_t sul_stop;
};

static struct server *server_of(struct lws *wsi)
{
	return lws_container_of((struct edge *)lws_context_user(lws_get_context(wsi)), struct server, edge);
}

static void begin_shutdown(struct server *srv, const char *why);

/* ---- logging from lws ---- */

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_error("lws", "msg=\"%.*s\"", (int)n, line);
	else
		log_warn("lws", "msg=\"%.*s\"", (int)n, line);
}

/* ---- signals ---- */

static int callback_signal(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct server *srv = server_of(wsi);
	struct signalfd_siginfo si;

	(void)user;
	(void)in;
	(void)len;
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	while (read(srv->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			/* new certificate files for new connections; established ones keep their session */
			if (srv->cfg->tls_port &&
			    lws_tls_cert_updated(srv->edge.context, srv->cfg->cert, srv->cfg->key, NULL, 0, NULL, 0))
				log_error("tls_reload_failed", "cert=%s key=%s", srv->cfg->cert, srv->cfg->key);
			else
				log_info("tls_reloaded", "cert=%s", srv->cfg->tls_port ? srv->cfg->cert : "(no tls)");
			continue;
		}
		begin_shutdown(srv, si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
	}
	return 0;
}

static int setup_signals(struct server *srv)
{
	sigset_t set;
	lws_sock_file_fd_type desc;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	srv->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv->signal_fd < 0)
		return -1;
	/* lws closes what it adopts: give it a duplicate and keep reading our own descriptor */
	desc.filefd = dup(srv->signal_fd);
	if (desc.filefd < 0)
		return -1;
	if (!lws_adopt_descriptor_vhost(srv->edge.vh_ws ? srv->edge.vh_ws : srv->edge.vh_wss, LWS_ADOPT_RAW_FILE_DESC, desc,
					SIGNAL_PROTOCOL_NAME, NULL)) {
		close(desc.filefd);
		return -1;
	}
	return 0;
}

/* ---- graceful stop ---- */

static void stop_check(lws_sorted_usec_list_t *sul)
{
	struct server *srv = lws_container_of(sul, struct server, sul_stop);
	bool sessions_gone = !srv->edge.fanout.peers;
	bool bridges_stopped = bridge_stopped(srv->edge.bridge) && bridge_stopped(srv->edge.inbox_bridge);

	if ((sessions_gone && bridges_stopped) || clock_now_us() > srv->stop_deadline_us) {
		log_info("shutdown_complete", "sessions_left=%d brokers_stopped=%d", !sessions_gone, bridges_stopped);
		srv->done = true;
		if (srv->ev_loop)
			ev_break(srv->ev_loop, EVBREAK_ALL);
		else
			lws_cancel_service(srv->edge.context);
		return;
	}
	if (sessions_gone) {
		/* sessions' last publishes are out: store what is open, then leave the broker */
		notify_on_batch_done(&srv->edge.notify);
		bridge_stop(srv->edge.inbox_bridge);
		bridge_stop(srv->edge.bridge);
	}
	lws_sul_schedule(srv->edge.context, 0, &srv->sul_stop, stop_check, STOP_POLL_US);
}

static void begin_shutdown(struct server *srv, const char *why)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	srv->edge.draining = true;
	srv->stop_deadline_us = clock_now_us() + STOP_GRACE_US;
	log_info("shutdown_begin", "reason=%s sessions=%llu", why,
		 (unsigned long long)(srv->edge.stats.sessions_user + srv->edge.stats.sessions_device));
	/* new connections are refused at accept (ws_session.c, FILTER_NETWORK_CONNECTION):
	 * lws_context_deprecate would close the listeners, but in lws 4.1.6 it writes through the
	 * listener it has just freed */
	if (srv->edge.board)
		listener_close_all();	/* the kernel gives new connections to the other workers */
	for (struct peer *p = srv->edge.fanout.peers; p; p = p->next)
		fanout_close(&srv->edge.fanout, p, 1001, "edge shutting down");
	lws_sul_schedule(srv->edge.context, 0, &srv->sul_stop, stop_check, 1);
}

/* ---- the retained status's connection count ---- */

/* Rewrites the retained status when the count changed, at most every status-interval: a wave of
 * connections costs one retained publish per interval, never one per connection. */
static void refresh_status(struct server *srv)
{
	struct edge *e = &srv->edge;
	uint64_t conns = e->stats.sessions_user + e->stats.sessions_device;
	int64_t now = clock_now_ms();
	char online[256];

	if (conns == srv->status_conns || now - srv->status_at_ms < srv->cfg->status_interval * 1000 || !e->bridge)
		return;
	api_body_status_conns(online, sizeof(online), srv->cfg->edge_id, "online", now, e->boot_ms, MQEDGE_VERSION,
			      (int64_t)conns);
	if (bridge_set_status(e->bridge, online))
		return;	/* out of memory: the next tick tries again */
	srv->status_conns = conns;
	srv->status_at_ms = now;
}

/* ---- periodic inbox work ---- */

/* --workers: this worker's readiness and metrics for the others' /readyz and /metrics. */
static void post_to_board(struct edge *e)
{
	struct textbuf text = { 0 };
	const char *why;

	if (!e->board)
		return;
	why = http_not_ready_reason(e);
	metrics_render(e, &text);
	if (!text.oom)
		board_post(e->board, (unsigned)e->cfg->worker_index, why ? why : "", text.p, text.len);
	textbuf_free(&text);
}

static void on_heartbeat_tick(lws_sorted_usec_list_t *sul)
{
	struct server *srv = lws_container_of(sul, struct server, sul_heartbeat);

	ws_session_heartbeats(&srv->edge);
	lws_sul_schedule(srv->edge.context, 0, &srv->sul_heartbeat, on_heartbeat_tick, WS_HEARTBEAT_TICK_MS * LWS_US_PER_MS);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
	struct server *srv = lws_container_of(sul, struct server, sul_tick);
	bool more = notify_tick(&srv->edge.notify);
	uint64_t opened = srv->edge.stats.connections_opened;

	/* after a wave of connection set-ups (TLS handshakes free a lot of short-lived memory), give
	 * the freed pages back to the kernel: at most every 10 s, about a millisecond each time */
	if (opened - srv->trimmed_at_opened >= 256 && clock_now_us() - srv->trimmed_at_us > 10 * LWS_US_PER_SEC) {
		malloc_trim(0);
		srv->trimmed_at_opened = opened;
		srv->trimmed_at_us = clock_now_us();
	}

	history_tick(&srv->edge.history, clock_now_ms());	/* ttl and grace */
	refresh_status(srv);
	post_to_board(&srv->edge);
	/* pruning runs in small slices; when it is behind, the next slice comes right away */
	lws_sul_schedule(srv->edge.context, 0, &srv->sul_tick, on_tick, more ? 10 * LWS_US_PER_MS : LWS_US_PER_SEC);
}

/* ---- module deadlines: rpc timeouts, history fetches ----
 * Their own one-shot timers, so they never push the 1 s tick out. Under libev they are libev
 * timers: lws 4.1.6 re-arms its single libev timer with ev_timer_set on the active watcher, which
 * libev ignores, so an lws timer scheduled earlier than the one pending fires only when that one
 * is due (up to the next 1 s tick: a 300 ms rpc timeout answered after 600-1000 ms). lws' own
 * poll loop computes its wait from the earliest timer each pass: there a sul is exact. */

static void deadline_arm(struct deadline_timer *t, int64_t delay_ms);

static void deadline_fired(struct deadline_timer *t)
{
	int64_t next = t->fire(&t->srv->edge, clock_now_ms());

	t->due_us = 0;
	if (next >= 0)
		deadline_arm(t, next);
}

static void on_deadline_ev(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	deadline_fired(lws_container_of(w, struct deadline_timer, ev));
}

static void on_deadline_sul(lws_sorted_usec_list_t *sul)
{
	deadline_fired(lws_container_of(sul, struct deadline_timer, sul));
}

/* Fires within delay_ms (plus 1 ms: a deadline is due once its millisecond has passed), unless an
 * earlier firing is already pending. */
static void deadline_arm(struct deadline_timer *t, int64_t delay_ms)
{
	lws_usec_t now = lws_now_usecs(), at = now + (delay_ms + 1) * LWS_US_PER_MS;

	if (t->due_us > now && t->due_us <= at)
		return;
	t->due_us = at;
	if (t->srv->ev_loop) {
		ev_timer_stop(t->srv->ev_loop, &t->ev);
		ev_timer_set(&t->ev, (double)(delay_ms + 1) / 1000.0, 0.);
		ev_timer_start(t->srv->ev_loop, &t->ev);
	} else {
		lws_sul_schedule(t->srv->edge.context, 0, &t->sul, on_deadline_sul, (delay_ms + 1) * LWS_US_PER_MS);
	}
}

static void deadline_init(struct deadline_timer *t, struct server *srv, int64_t (*fire)(struct edge *, int64_t))
{
	t->srv = srv;
	t->fire = fire;
	ev_init(&t->ev, on_deadline_ev);
}

static void deadline_cancel(struct deadline_timer *t)
{
	if (t->srv->ev_loop)
		ev_timer_stop(t->srv->ev_loop, &t->ev);
	lws_sul_cancel(&t->sul);
	t->due_us = 0;
}

static int64_t rpc_fire(struct edge *e, int64_t now_ms)
{
	return rpc_tick(&e->rpc, now_ms);
}

static int64_t history_fire(struct edge *e, int64_t now_ms)
{
	return history_tick(&e->history, now_ms);
}

static void schedule_rpc(void *ctx, int64_t delay_ms)
{
	deadline_arm(&((struct server *)ctx)->rpc_deadline, delay_ms);
}

static void schedule_history(void *ctx, int64_t delay_ms)
{
	deadline_arm(&((struct server *)ctx)->history_deadline, delay_ms);
}

/* The live session leads the failover; the inbox session follows it to the same broker
 * (docs/ARCHITECTURE.md, "Broker failover"). */
static void on_live_failover(void *ctx, size_t from, size_t to)
{
	struct edge *e = ctx;

	(void)from;
	e->continuity.failover = true;
	if (e->inbox_bridge && bridge_move(e->inbox_bridge, to))
		log_error("inbox_failover_failed", "to=%zu", to);
}

static void on_inbox_state(void *ctx, bool up)
{
	struct edge *e = (struct edge *)((char *)ctx - offsetof(struct edge, notify));

	notify_on_state(ctx, up);
	if (up)
		dispatch_resync_check(e);
}

static struct bridge *create_inbox_bridge(struct server *srv, const struct bridge_options *live)
{
	static const struct bridge_hooks hooks = {
		notify_on_message, on_inbox_state, notify_on_published, notify_on_subscribed, notify_on_batch_done, NULL,
	};
	struct bridge_options bo = *live;
	char client_id[128];
	struct bridge *b;

	snprintf(client_id, sizeof(client_id), "%s-inbox", live->client_id);
	bo.client_id = client_id;
	bo.status_topic = NULL;	/* the live session carries the edge's status */
	bo.keep_session = true;	/* what arrived while this edge was down is waiting for it */
	bo.failover_after_ms = 0;	/* moves with the live session (on_live_failover) */
	bo.ack_after_batch = true;	/* PUBACK only what is committed */
	b = bridge_create(srv->edge.bridge_loop, &bo, &hooks, &srv->edge.notify);
	if (!b)
		return NULL;
	notify_attach_bridge(&srv->edge.notify, b);
	/* without a store nothing could be stored: subscribe to nothing, acknowledge nothing, and
	 * leave the notifications to the broker and the other edges (HTTP ingress still publishes) */
	if (!srv->edge.notify.inbox)
		return b;
	for (const char *const *t = notify_topics(&srv->edge.notify); *t; t++)
		if (!**t || !bridge_subscribe(b, *t, NULL))
			log_error("inbox_subscribe_failed", "topic=%s", *t);
	notify_follow_served(&srv->edge.notify);
	return b;
}

/* ---- assembly ---- */

static struct lws_http_mount web_mount;

static struct lws_vhost *create_vhost(struct server *srv, struct lws_protocols *protocols,
				      const lws_retry_bo_t *retry, bool tls)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	if (srv->cfg->web_root) {
		memset(&web_mount, 0, sizeof(web_mount));
		web_mount.mountpoint = "/demo";
		web_mount.mountpoint_len = 5;
		web_mount.origin = srv->cfg->web_root;
		web_mount.origin_protocol = LWSMPRO_FILE;
		web_mount.def = "index.html";
		info.mounts = &web_mount;
	}
	/* lws negotiates and inflates what clients send (behind ws_deflate.c's guard); what the edge
	 * sends it compresses itself, once per message (fanout/deflate.c), for the sessions that
	 * negotiated it (ws_session.c) */
	if (srv->cfg->permessage_deflate) {
		const char *why;

		info.extensions = ws_deflate_extensions(&why);
		if (!info.extensions)
			log_warn("permessage_deflate_off", "reason=\"%s\" lws=%s", why, lws_get_library_version());
	}
	info.vhost_name = tls ? "wss" : "ws";
	/* a worker listens itself (listener.c) and hands lws what it accepts */
	info.port = srv->edge.board ? CONTEXT_PORT_NO_LISTEN_SERVER : (int)(tls ? srv->cfg->tls_port : srv->cfg->port);
	info.iface = srv->cfg->bind;
	info.protocols = protocols;
	info.retry_and_idle_policy = retry;
	info.keepalive_timeout = 5;
	/* a connection that has not finished its request (silent, or slowloris) is cut here */
	info.timeout_secs_ah_idle = (unsigned int)srv->cfg->handshake_timeout;
	if (tls) {
		/* lws 4.1.6 turns TLS on per vhost only when this option is in the vhost's own info */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = srv->cfg->cert;
		info.ssl_private_key_filepath = srv->cfg->key;
		info.alpn = "http/1.1";	/* WebSockets over HTTP/1.1 only */
	}
	return lws_create_vhost(srv->edge.context, &info);
}

/* Fan-out and the inbox, wired to the edge's config; no sockets yet. */
static int init_subsystems(struct server *srv, char *err, size_t errlen)
{
	const struct edge_config *cfg = srv->cfg;
	int rc;
	struct fanout_options fo = {
		cfg->topic_prefix, (size_t)cfg->outq_max_bytes, (size_t)cfg->outq_hard_bytes, cfg->slow_timeout * 1000000,
		(uint32_t)cfg->dedup_window, &srv->edge.ids, cfg->permessage_deflate ? (size_t)cfg->deflate_min_bytes : 0,
	};
	struct notify_options no = {
		cfg->topic_prefix, cfg->data_dir, !strcmp(cfg->inbox_scope, "served"), cfg->inbox_max_per_user,
		cfg->inbox_max_age, cfg->inbox_backlog, (size_t)cfg->outq_max_bytes, cfg->worker_index >= 0,
	};

	if (siphash_seed_random()) {
		snprintf(err, errlen, "getrandom failed");
		return -EIO;
	}
	srv->edge.boot_ms = clock_now_ms();
	hb_init(&srv->edge.heartbeats, clock_mono_ms() / WS_HEARTBEAT_TICK_MS);
	if (idgen_init(&srv->edge.ids, cfg->edge_id, srv->edge.boot_ms)) {
		snprintf(err, errlen, "edge id too long for message ids");
		return -EINVAL;
	}
	srv->edge.auth = auth_create(cfg, err, errlen);
	if (!srv->edge.auth)
		return -EINVAL;
	if (cfg->tls_port && tls_tickets_init(&srv->edge.tickets, cfg->tls_session_tickets, cfg->tls_ticket_key,
					      cfg->tls_ticket_rotate)) {
		snprintf(err, errlen, "tls session tickets: no key from tls-ticket-key");
		return -EINVAL;
	}
	/* RFC 7518 3.2: an HS256 key shorter than the hash (32 bytes) can be guessed offline from
	 * any token; the example config's placeholder is public. Said, not refused: tests and demos. */
	if (cfg->jwt_secret && (strlen(cfg->jwt_secret) < 32 || !strcmp(cfg->jwt_secret, JWT_SECRET_PLACEHOLDER)))
		log_warn("jwt_secret_weak", "reason=\"%s\" hint=\"set jwt-secret-file to 32+ random bytes, e.g. "
			 "head -c 32 /dev/urandom | base64\"", strlen(cfg->jwt_secret) < 32 ? "shorter than 32 bytes" :
			 "the example config's placeholder");
	struct presence_options po = {
		cfg->topic_prefix, cfg->edge_id, srv->edge.boot_ms, cfg->presence_rooms, (uint32_t)cfg->presence_max_members,
	};

	struct rpc_options ro = {
		cfg->topic_prefix, cfg->edge_id, srv->edge.boot_ms, cfg->rpc_timeout, cfg->rpc_timeouts,
		(uint32_t)cfg->rpc_max_inflight, schedule_rpc, srv,
	};

	struct history_options ho = {
		cfg->topic_prefix, cfg->edge_id, cfg->history_rooms, (uint32_t)cfg->history_size, cfg->history_ttl * 1000,
		cfg->history_grace * 1000, cfg->history_fetch_timeout, 4u << 20, schedule_history, srv,
	};

	api_init(&srv->edge.api);
	edge_list_init(&srv->edge.edge_list);
	revocations_init(&srv->edge.revocations);
	rc = rpc_init(&srv->edge.rpc, &ro, &srv->edge.fanout, err, errlen);
	if (rc)
		return rc;
	rc = history_init(&srv->edge.history, &ho, &srv->edge.fanout);
	if (rc) {
		snprintf(err, errlen, rc == -ENOMEM ? "out of memory" : BAD_HISTORY_ROOMS);
		return rc;
	}
	if (presence_init(&srv->edge.presence, &po, &srv->edge.fanout) ||
	    fanout_init(&srv->edge.fanout, &fo, &ws_session_peer_ops, &dispatch_channel_hooks, &srv->edge) ||
	    notify_init(&srv->edge.notify, &no, &srv->edge.fanout, &srv->edge.ids) ||
	    !(srv->edge.write_buf = malloc(LWS_PRE + EDGE_WRITE_BATCH))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Why a listener could not be made, in words: lws logs only "ERROR on binding fd N to port P
 * (-1 98)" and its errno is gone by now, so bind the address again ourselves, as lws does
 * (SO_REUSEADDR), and keep what bind() says. Fills why with "ADDR:PORT: reason". */
/* Can a listener be bound to bind_addr:port? 0, or -1 with why ("ADDR:PORT: reason"). Asked
 * before lws creates the vhost, which does not fail for an address this host does not have (it
 * waits for such an interface to appear, silently), and again after a failure lws reports without
 * its errno. */
static int probe_listen(const char *bind_addr, long port, char *why, size_t whylen)
{
	struct addrinfo hints, *ai = NULL;
	char service[16], shown[96];
	const char *reason = NULL;
	int one = 1, fd = -1, rc;

	snprintf(shown, sizeof(shown), strchr(bind_addr, ':') ? "[%.64s]:%ld" : "%.64s:%ld", bind_addr, port);
	snprintf(service, sizeof(service), "%ld", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	rc = getaddrinfo(bind_addr, service, &hints, &ai);
	if (rc) {
		snprintf(why, whylen, "%s: not an IP address (%s)", shown, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		reason = strerror(errno);
	else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) || bind(fd, ai->ai_addr, ai->ai_addrlen))
		reason = strerror(errno);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	if (!reason)
		return 0;
	snprintf(why, whylen, "%s: %s", shown, reason);
	return -1;
}

static void listen_failure(const char *bind_addr, long port, char *why, size_t whylen)
{
	char shown[96];

	if (probe_listen(bind_addr, port, why, whylen) == 0) {
		snprintf(shown, sizeof(shown), strchr(bind_addr, ':') ? "[%.64s]:%ld" : "%.64s:%ld", bind_addr, port);
		snprintf(why, whylen, "%s: listener refused by libwebsockets (see the error above)", shown);
	}
}

/* A file the edge will read at start: readable now, by this user. */
static int check_readable(const char *what, const char *path, bool dir, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st))
		goto fail;
	if (dir ? !S_ISDIR(st.st_mode) : S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is %sa directory", what, path, dir ? "not " : "");
		return -1;
	}
	if (access(path, R_OK | (dir ? X_OK : 0)))
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: cannot read %s: %s", what, path, strerror(errno));
	return -1;
}

/* The data dir exists and is writable, or its parent is (start-up creates it, not -p). */
static int check_data_dir(const char *path, char *err, size_t errlen)
{
	char parent[4096];
	const char *slash;
	struct stat st;

	if (!stat(path, &st)) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "data-dir: %s is not a directory", path);
			return -1;
		}
		if (access(path, W_OK | X_OK)) {
			snprintf(err, errlen, "data-dir: cannot write %s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "data-dir: %s: %s", path, strerror(errno));
		return -1;
	}
	slash = strrchr(path, '/');
	snprintf(parent, sizeof(parent), "%.*s", slash ? (slash == path ? 1 : (int)(slash - path)) : 1, slash ? path : ".");
	if (access(parent, W_OK | X_OK)) {
		snprintf(err, errlen, "data-dir: %s does not exist and cannot be created in %s: %s", path, parent,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int server_check_config(const struct edge_config *cfg, char *err, size_t errlen)
{
	struct history_options ho = { cfg->topic_prefix, cfg->edge_id, cfg->history_rooms, 1, 0, 0, 0, 0, NULL, NULL };
	struct rpc_options ro = { cfg->topic_prefix, cfg->edge_id, 0, cfg->rpc_timeout, cfg->rpc_timeouts,
				  (uint32_t)cfg->rpc_max_inflight, NULL, NULL };
	struct rpc rpc;
	struct history history;
	struct idgen ids;
	struct auth *auth;
	int rc;

	if (idgen_init(&ids, cfg->edge_id, clock_now_ms())) {
		snprintf(err, errlen, "edge id too long for message ids");
		return -1;
	}
	auth = auth_create(cfg, err, errlen);	/* the public key file, the anonymous room patterns */
	if (!auth)
		return -1;
	auth_destroy(auth);
	rc = rpc_init(&rpc, &ro, NULL, err, errlen);
	rpc_fini(&rpc);
	if (rc)
		return -1;
	rc = history_init(&history, &ho, NULL);
	history_fini(&history);
	if (rc) {
		snprintf(err, errlen, rc == -ENOMEM ? "out of memory" : BAD_HISTORY_ROOMS);
		return -1;
	}
	if (cfg->tls_port && (check_readable("cert", cfg->cert, false, err, errlen) ||
			      check_readable("key", cfg->key, false, err, errlen)))
		return -1;
	if (cfg->web_root && check_readable("web-root", cfg->web_root, true, err, errlen))
		return -1;
	if (cfg->broker_cafile && check_readable("broker-cafile", cfg->broker_cafile, false, err, errlen))
		return -1;
	return check_data_dir(cfg->data_dir, err, errlen);
}

int server_run(struct edge_config *cfg, struct board *board)
{
	static struct server srv;
	struct edge *e = &srv.edge;
	struct lws_protocols protocols[5];
	struct lws_protocols signal_protocol = { SIGNAL_PROTOCOL_NAME, callback_signal, 0, 0, 0, NULL, 0 };
	struct lws_context_creation_info info;
	void *foreign_loops[1];
	lws_retry_bo_t retry;
	struct bridge_options bo;
	static const struct bridge_hooks hooks = { dispatch_on_message, dispatch_on_state, dispatch_on_published,
						    dispatch_on_subscribed, dispatch_on_batch_done, on_live_failover };
	struct bridge_endpoint brokers[CONFIG_BROKERS_MAX];
	char err[256], status_topic[TOPICS_TOPIC_MAX], client_id[128], online[256], offline[256];
	int rc = 1;

	memset(&srv, 0, sizeof(srv));
	srv.cfg = cfg;
	e->cfg = cfg;
	srv.signal_fd = -1;
	e->board = board;
	deadline_init(&srv.history_deadline, &srv, history_fire);
	deadline_init(&srv.rpc_deadline, &srv, rpc_fire);
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
	if (init_subsystems(&srv, err, sizeof(err))) {
		log_error("startup_failed", "reason=\"%s\"", err);
		goto out;
	}

	protocols[0] = *ws_session_protocol();
	protocols[1] = *bridge_lws_protocol();
	protocols[2] = signal_protocol;
	protocols[3] = *listener_lws_protocol();
	memset(&protocols[4], 0, sizeof(protocols[4]));

	/* no lws validity timers: PINGs and hang-ups are ws_session.c's heartbeat wheel (lws 4.1.6
	 * re-arms a timer in one sorted list per PONG: O(connections) each) */
	memset(&retry, 0, sizeof(retry));

	memset(&info, 0, sizeof(info));
	/* no LWS_SERVER_OPTION_VALIDATE_UTF8: lws 4.1.6 runs it over pong payloads too and keeps its
	 * state across frames; text is checked in wire/reassembly.c, close reasons in ws_session.c */
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | (cfg->tls_port ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
	info.user = e;
	info.max_http_header_data = 8192 + 1024;	/* tokens travel in the URL or a header */
	info.timeout_secs = (unsigned int)cfg->handshake_timeout;	/* accept -> upgrade, TLS included */
	info.pt_serv_buf_size = 32 * 1024;
	/* epoll through libev: the cost of a loop pass does not grow with idle connections (lws' own
	 * poll() loop walks every descriptor on every pass, i.e. for every broker message) */
	if (!strcmp(cfg->event_loop, "epoll")) {
		srv.ev_loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
		if (!srv.ev_loop) {
			log_error("startup_failed", "reason=\"libev epoll loop\"");
			goto out;
		}
		foreign_loops[0] = srv.ev_loop;
		info.foreign_loops = foreign_loops;
		info.options |= LWS_SERVER_OPTION_LIBEV;
	}
	/* a worker's SO_REUSEPORT bind says itself whether the port is free (listener_open) */
	if (!board && cfg->port && probe_listen(cfg->bind, cfg->port, err, sizeof(err))) {
		log_error("startup_failed", "reason=\"cannot listen on %s\" bind=%s port=%ld", err, cfg->bind, cfg->port);
		goto out;
	}
	if (!board && cfg->tls_port && probe_listen(cfg->bind, cfg->tls_port, err, sizeof(err))) {
		log_error("startup_failed", "reason=\"cannot listen (TLS) on %s\" bind=%s port=%ld", err, cfg->bind,
			  cfg->tls_port);
		goto out;
	}
	e->context = lws_create_context(&info);
	if (!e->context) {
		log_error("startup_failed", "reason=\"lws context\"");
		goto out;
	}
	if (cfg->port && !(e->vh_ws = create_vhost(&srv, protocols, &retry, false))) {
		listen_failure(cfg->bind, cfg->port, err, sizeof(err));
		log_error("startup_failed", "reason=\"cannot listen on %s\" bind=%s port=%ld", err, cfg->bind, cfg->port);
		goto out;
	}
	if (cfg->tls_port && !(e->vh_wss = create_vhost(&srv, protocols, &retry, true))) {
		listen_failure(cfg->bind, cfg->tls_port, err, sizeof(err));
		log_error("startup_failed", "reason=\"cannot listen (TLS) on %s\" bind=%s port=%ld", err, cfg->bind,
			  cfg->tls_port);
		goto out;
	}
	if (board && ((cfg->port && listener_open(e->vh_ws, cfg->bind, cfg->port, &e->draining, err, sizeof(err))) ||
		      (cfg->tls_port && listener_open(e->vh_wss, cfg->bind, cfg->tls_port, &e->draining, err, sizeof(err))))) {
		log_error("startup_failed", "reason=\"cannot listen on %s\"", err);
		goto out;
	}
	if (setup_signals(&srv)) {
		log_error("startup_failed", "reason=\"signals\" errno=%d", errno);
		goto out;
	}

	if (topics_build(status_topic, sizeof(status_topic), cfg->topic_prefix, TOPIC_STATUS, cfg->edge_id) < 0)
		goto out;
	snprintf(client_id, sizeof(client_id), "mqedge-%s", cfg->edge_id);
	api_body_status_conns(online, sizeof(online), cfg->edge_id, "online", clock_now_ms(), e->boot_ms, MQEDGE_VERSION, 0);
	srv.status_at_ms = clock_now_ms();
	api_body_status(offline, sizeof(offline), cfg->edge_id, "offline", clock_now_ms(), e->boot_ms, MQEDGE_VERSION);
	memset(&bo, 0, sizeof(bo));
	for (size_t i = 0; i < cfg->n_brokers; i++)
		brokers[i] = (struct bridge_endpoint){ cfg->brokers[i].host, (int)cfg->brokers[i].port };
	bo.brokers = brokers;
	bo.n_brokers = cfg->n_brokers;
	bo.failover_after_ms = cfg->broker_failover_after * 1000;
	bo.username = cfg->broker_username;
	bo.password = cfg->broker_password;
	bo.cafile = cfg->broker_cafile;
	bo.client_id = client_id;
	bo.keepalive = (int)cfg->broker_keepalive;
	bo.status_topic = status_topic;
	bo.online_payload = online;
	bo.offline_payload = offline;
	bo.max_pending = (size_t)cfg->offline_queue;
	bo.max_pending_bytes = (size_t)cfg->offline_queue_bytes;
	bo.mqtt311 = !strcmp(cfg->mqtt_version, "3.1.1");
	e->bridge_loop = bridge_loop_lws(e->context, e->vh_ws ? e->vh_ws : e->vh_wss);
	if (!e->bridge_loop)
		goto out;
	e->bridge = bridge_create(e->bridge_loop, &bo, &hooks, e);
	if (!e->bridge)
		goto out;
	presence_attach_bridge(&e->presence, e->bridge);
	history_attach_bridge(&e->history, e->bridge);
	if (rpc_start(&e->rpc, e->bridge))
		goto out;
	/* presence, history and GET /api/v1/info follow the edges' retained status (one subscription) */
	if (e->presence.n_patterns || e->history.n_pats || cfg->api_key) {
		char filter[TOPICS_TOPIC_MAX];

		if (topics_filter(filter, sizeof(filter), cfg->topic_prefix, TOPIC_STATUS) < 0 ||
		    !bridge_subscribe(e->bridge, filter, NULL))
			goto out;
	}
	/* every edge honours the server API's disconnects and revocations, whichever edge took the
	 * call: on the live session (persistent, QoS 1), whose order across topics keeps a revocation
	 * ahead of its disconnect. The revocations are retained; the sync topic is this edge's barrier
	 * (dispatch.c): user tokens wait for it */
	{
		char filter[TOPICS_TOPIC_MAX];

		if (topics_build(filter, sizeof(filter), cfg->topic_prefix, TOPIC_EDGE_SYNC, cfg->edge_id) < 0 ||
		    !(e->sync_sub = bridge_subscribe(e->bridge, filter, &e->revocations)) ||
		    topics_filter(filter, sizeof(filter), cfg->topic_prefix, TOPIC_REVOKE) < 0 ||
		    !(e->revoke_sub = bridge_subscribe(e->bridge, filter, &e->revocations)) ||
		    topics_filter(filter, sizeof(filter), cfg->topic_prefix, TOPIC_DISCONNECT) < 0 ||
		    !bridge_subscribe(e->bridge, filter, NULL))
			goto out;
	}
	e->inbox_bridge = create_inbox_bridge(&srv, &bo);
	if (!e->inbox_bridge)
		goto out;
	lws_sul_schedule(e->context, 0, &srv.sul_tick, on_tick, LWS_US_PER_SEC);
	lws_sul_schedule(e->context, 0, &srv.sul_heartbeat, on_heartbeat_tick, WS_HEARTBEAT_TICK_MS * LWS_US_PER_MS);
	post_to_board(e);	/* the supervisor now knows this worker started */

	log_info("started", "version=%s edge=%s ws=%s://%s:%ld/ws%s%s broker=%s:%ld brokers=%zu prefix=%s", MQEDGE_VERSION,
		 cfg->edge_id, cfg->port ? "ws" : "wss", cfg->bind, cfg->port ? cfg->port : cfg->tls_port,
		 cfg->port && cfg->tls_port ? " wss_port=" : "", cfg->port && cfg->tls_port ? "yes" : "",
		 cfg->broker_host, cfg->broker_port, cfg->n_brokers, cfg->topic_prefix);
	if (srv.ev_loop) {
		ev_run(srv.ev_loop, 0);		/* until stop_check breaks it */
	} else {
		while (!srv.done)
			if (lws_service(e->context, 0) < 0)
				break;
	}
	rc = srv.done ? 0 : 1;
out:
	/* the bridges live on the context's loop: let go of them first, then close what is left */
	{
		struct bridge *b = e->bridge;

		e->bridge = NULL;	/* channels emptied from now on leave their subscriptions alone */
		e->revoke_sub = e->sync_sub = NULL;	/* freed with the bridge */
		bridge_destroy(b);
	}
	bridge_destroy(e->inbox_bridge);
	e->inbox_bridge = NULL;
	if (e->context) {
		lws_sul_cancel(&srv.sul_tick);
		lws_sul_cancel(&srv.sul_heartbeat);
		deadline_cancel(&srv.history_deadline);
		deadline_cancel(&srv.rpc_deadline);
	}
	if (e->context)
		lws_context_destroy(e->context);	/* closes sessions: dispatch_session_closed for each */
	bridge_loop_free(e->bridge_loop);
	identity_release(&e->stash.ident);
	notify_fini(&e->notify);
	presence_fini(&e->presence);
	history_fini(&e->history);	/* releases the rooms it held: before fan-out goes */
	rpc_fini(&e->rpc);		/* after the bridge gave back its cookies and the sessions closed */
	api_fini(&e->api);		/* the same */
	edge_list_fini(&e->edge_list);
	revocations_fini(&e->revocations);
	fanout_fini(&e->fanout);
	auth_destroy(e->auth);
	frame_pool_drain();
	free(e->write_buf);
	if (srv.signal_fd >= 0)
		close(srv.signal_fd);
	if (srv.ev_loop)
		ev_loop_destroy(srv.ev_loop);
	return rc;
}
