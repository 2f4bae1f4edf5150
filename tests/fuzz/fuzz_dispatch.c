/*
 * fuzz_dispatch.c - op dispatch with the process's state behind it and no socket
 * (edge/server/dispatch.c): dispatch_frame for the client frames of four connected sessions, on a
 * struct edge assembled as server.c assembles it (fan-out, presence rooms, history rooms, the inbox
 * with its SQLite store in a temporary directory, auth with an HS256 secret), with the in-memory
 * bridge (stub_bridge.c) as the broker - the way Mosquitto fuzzes handle__packet on a context
 * without a socket.
 *
 * Input: chunks separated by the byte 0xFF (never in a text frame: it is not UTF-8). A chunk whose
 * first byte is '0'-'3' is a frame from that session (0 alice, allowed every room and dev-*
 * devices, with an info object; 1 bob, allowed lobby, pres-* and hist-*; 2 the device dev-1;
 * 3 anonymous, allowed lobby and public-*; alice may also call rpc methods ask-*); a chunk starting with one of these letters is the
 * broker or the clock: B the broker's turn (every publish delivered to matching subscriptions and
 * acknowledged), A publishes abandoned, S subscriptions acknowledged, D the broker session down or
 * up again, M "topic\0payload" a message from elsewhere (live session), R the same retained (sent
 * because of a subscription), N the same on the inbox session, T a history and rpc tick N seconds on (next byte), Q a backend's answer (the rest of the chunk) to
 * the last rpc request the broker passed on, C the session named by the next byte closes and
 * reconnects. Any other chunk is a frame from alice. Each run starts from fresh sessions and
 * fresh fan-out, presence and history state, so a crash reproduces from its input alone.
 *
 * Invariants, after every chunk: every frame queued to a client is one well-formed WebSocket text
 * frame holding a JSON object with an "op" (fuzz_peers.h); a session's subscription count equals
 * its room and device memberships and stays within max-rooms; only documented close codes are
 * used; every publish on the live session is an envelope from the session's own identity on a
 * topic it may use, and rpc requests only for allowed methods; the out-queue gauge matches the
 * queues. At the end of a run every session
 * closes, the broker answers or abandons what it holds, and nothing leaks.
 */
#include <dirent.h>
#include <jwt.h>
#include <unistd.h>

#include "dispatch.h"
#include "fuzz.h"
#include "fuzz_peers.h"
#include "mqedge/base/log.h"
#include "mqedge/wire/envelope.h"
#include "stub_bridge.h"

#define SECRET "fuzz-dispatch-secret-0123456789"
#define N_SESSIONS 4
#define MAX_CHUNKS 256
#define REOPEN_EVERY 4096	/* a fresh inbox store now and then, so it stays small */

static const char *const claims[N_SESSIONS] = {
	"{\"sub\":\"alice\",\"rooms\":[\"*\"],\"devices\":[\"dev-*\"],\"cmd\":[\"dev-*\"],\"rpc\":[\"ask-*\"],\"info\":{\"name\":\"Alice\"}}",
	"{\"sub\":\"bob\",\"rooms\":[\"lobby\",\"pres-*\",\"hist-*\"],\"dm\":[\"alice\"]}",
	"{\"sub\":\"dev-1\",\"kind\":\"device\"}",
	NULL,
};

static struct {
	struct edge_config cfg;
	struct edge e;
	char dir[256];
	char *tokens[N_SESSIONS];
	struct identity idents[N_SESSIONS];	/* each token verified once; sessions take a reference */
	struct session s[N_SESSIONS];
	bool open[N_SESSIONS];
	unsigned long runs;
	int64_t tick_ms;
} g;

/* ---- the socket side ---- */

static void on_wake(struct peer *p)
{
	(void)p;
}

static void on_flush(struct peer *p)
{
	fuzz_peer_drain(&g.e.fanout, p);
}

static void on_close(struct peer *p, uint16_t code, const char *reason)
{
	struct session *s = session_of_peer(p);

	FUZZ_CHECK(code == 1008 || code == 4002 || code == 1011 || code == 4001);
	FUZZ_CHECK(reason && *reason);
	s->close_code = code;
	s->close_reason = reason;
}

static const struct peer_ops peer_ops = { on_wake, on_flush, on_close };

static void schedule(void *ctx, int64_t delay_ms)
{
	(void)ctx;
	FUZZ_CHECK(delay_ms >= 0);
}

/* ---- assembly, as server.c does it ---- */

static char *make_token(const char *json)
{
	jwt_t *jwt = NULL;
	char *tok = NULL;

	if (jwt_new(&jwt) || jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)SECRET, (int)strlen(SECRET)) ||
	    jwt_add_grants_json(jwt, json) || !(tok = jwt_encode_str(jwt)))
		abort();
	jwt_free(jwt);
	return tok;
}

static void open_store(void)
{
	struct notify_options no = { g.cfg.topic_prefix, g.dir, false, 50, 86400, 20, (size_t)g.cfg.outq_max_bytes, false };

	if (notify_init(&g.e.notify, &no, &g.e.fanout, &g.e.ids))
		abort();
}

static void remove_store(void)
{
	DIR *d = opendir(g.dir);
	struct dirent *de;
	char path[512];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", g.dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

static void cleanup(void)
{
	notify_fini(&g.e.notify);
	auth_destroy(g.e.auth);
	frame_pool_drain();
	for (int i = 0; i < N_SESSIONS; i++) {
		identity_release(&g.idents[i]);
		free(g.tokens[i]);
	}
	config_free(&g.cfg);
	remove_store();
	rmdir(g.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const opts[][2] = {
		{ "jwt-secret", SECRET }, { "anonymous-rooms", "lobby,public-*" }, { "allow-anonymous", "true" },
		{ "edge-id", "fuzz-edge" }, { "presence-rooms", "pres-*,lobby" }, { "history-rooms", "hist-*=20/60,lobby" },
		{ "max-rooms", "8" }, { "rate", "1000" }, { "burst", "100" }, { "rate-strikes", "3" },
		{ "outq-max-bytes", "65536" }, { "outq-hard-bytes", "262144" }, { "dedup-window", "1024" },
		{ "history-grace", "1" },
	};
	const char *tmp = getenv("TMPDIR");
	char err[256];

	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (config_defaults(&g.cfg))
		abort();
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (config_set(&g.cfg, opts[i][0], opts[i][1], err, sizeof(err)))
			abort();
	if (config_finish(&g.cfg, err, sizeof(err)))
		abort();
	log_threshold = LOG_ERROR;
	snprintf(g.dir, sizeof(g.dir), "%s/mqedge-fuzz-dispatch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g.dir))
		abort();
	g.e.cfg = &g.cfg;
	g.e.boot_ms = 1700000000000;
	if (idgen_init(&g.e.ids, g.cfg.edge_id, g.e.boot_ms) || !(g.e.auth = auth_create(&g.cfg, err, sizeof(err))))
		abort();
	for (int i = 0; i < N_SESSIONS; i++) {
		g.tokens[i] = claims[i] ? make_token(claims[i]) : NULL;
		if (g.tokens[i] && auth_verify(g.e.auth, g.tokens[i], clock_now_ms() / 1000, &g.idents[i]) != AUTH_OK)
			abort();
	}
	open_store();
	atexit(cleanup);
	return 0;
}

static void start_run(void)
{
	static const struct bridge_hooks live = {
		dispatch_on_message, dispatch_on_state, dispatch_on_published, dispatch_on_subscribed, dispatch_on_batch_done, NULL,
	};
	static const struct bridge_hooks inbox = {
		notify_on_message, notify_on_state, notify_on_published, notify_on_subscribed, notify_on_batch_done, NULL,
	};
	const struct edge_config *cfg = &g.cfg;
	struct fanout_options fo = {
		cfg->topic_prefix, (size_t)cfg->outq_max_bytes, (size_t)cfg->outq_hard_bytes, cfg->slow_timeout * 1000000,
		(uint32_t)cfg->dedup_window, &g.e.ids, 0,
	};
	struct presence_options po = {
		cfg->topic_prefix, cfg->edge_id, g.e.boot_ms, cfg->presence_rooms, (uint32_t)cfg->presence_max_members,
	};
	struct history_options ho = {
		cfg->topic_prefix, cfg->edge_id, cfg->history_rooms, (uint32_t)cfg->history_size, cfg->history_ttl * 1000,
		cfg->history_grace * 1000, cfg->history_fetch_timeout, 4u << 20, schedule, NULL,
	};
	struct rpc_options ro = {
		cfg->topic_prefix, cfg->edge_id, g.e.boot_ms, 1000, "ask-slow=5000", 4, schedule, NULL,
	};
	char filter[TOPICS_TOPIC_MAX], err[128];

	if (rpc_init(&g.e.rpc, &ro, &g.e.fanout, err, sizeof(err)) ||
	    history_init(&g.e.history, &ho, &g.e.fanout) || presence_init(&g.e.presence, &po, &g.e.fanout) ||
	    fanout_init(&g.e.fanout, &fo, &peer_ops, &dispatch_channel_hooks, &g.e))
		abort();
	g.e.bridge = bridge_create(NULL, &(struct bridge_options){ 0 }, &live, &g.e);
	g.e.inbox_bridge = bridge_create(NULL, &(struct bridge_options){ 0 }, &inbox, &g.e.notify);
	if (!g.e.bridge || !g.e.inbox_bridge)
		abort();
	presence_attach_bridge(&g.e.presence, g.e.bridge);
	history_attach_bridge(&g.e.history, g.e.bridge);
	if (rpc_start(&g.e.rpc, g.e.bridge))
		abort();
	if (topics_filter(filter, sizeof(filter), cfg->topic_prefix, TOPIC_STATUS) < 0 ||
	    !bridge_subscribe(g.e.bridge, filter, NULL))
		abort();
	notify_attach_bridge(&g.e.notify, g.e.inbox_bridge);
	for (const char *const *t = notify_topics(&g.e.notify); *t; t++)
		bridge_subscribe(g.e.inbox_bridge, *t, NULL);
	stub_bridge_suback(g.e.bridge);
	stub_bridge_suback(g.e.inbox_bridge);
	memset(&g.e.stats, 0, sizeof(g.e.stats));
	g.tick_ms = clock_now_ms();
}

static void open_session(int i)
{
	struct session *s = &g.s[i];

	memset(s, 0, sizeof(*s));
	if (g.idents[i].perms) {	/* what the handshake verified (anonymous: none) */
		s->ident = g.idents[i];
		s->ident.perms->refs++;
	}
	FUZZ_CHECK(dispatch_session_open(&g.e, s) == 0);
	g.open[i] = true;
	fuzz_peer_drain(&g.e.fanout, &s->peer);
}

static void close_session(int i)
{
	if (!g.open[i])
		return;
	fuzz_peer_drain(&g.e.fanout, &g.s[i].peer);
	dispatch_session_closed(&g.e, &g.s[i]);
	FUZZ_CHECK(g.s[i].acks == NULL && g.s[i].ident.perms == NULL);
	g.open[i] = false;
}

static void end_run(void)
{
	for (int i = 0; i < N_SESSIONS; i++)
		close_session(i);
	/* nobody is connected: every room is released once its grace has passed */
	history_tick(&g.e.history, clock_now_ms() + 86400000LL);
	FUZZ_CHECK(rpc_tick(&g.e.rpc, clock_now_ms() + 86400000LL) == -1);	/* every call answered */
	stub_bridge_abandon(g.e.bridge);
	stub_bridge_abandon(g.e.inbox_bridge);
	FUZZ_CHECK(g.e.stats.sessions_user == 0 && g.e.stats.sessions_device == 0);
	FUZZ_CHECK(g.e.fanout.peers == NULL && g.e.fanout.stats.outq_bytes == 0);
	{
		struct bridge *b = g.e.bridge;

		g.e.bridge = NULL;	/* as server.c: channels emptied from now on leave their subs alone */
		bridge_destroy(b);
	}
	bridge_destroy(g.e.inbox_bridge);
	g.e.inbox_bridge = NULL;
	notify_attach_bridge(&g.e.notify, NULL);
	presence_fini(&g.e.presence);
	history_fini(&g.e.history);
	rpc_fini(&g.e.rpc);
	fanout_fini(&g.e.fanout);
}

/* ---- invariants ---- */

static void check_publishes(void)
{
	const char *topic, *idp;
	const void *payload;
	size_t len, idlen;

	for (size_t i = 0; stub_bridge_published(g.e.bridge, i, &topic, &payload, &len); i++) {
		enum topic_kind k = topics_parse(g.cfg.topic_prefix, topic, strlen(topic), &idp, &idlen);
		struct envelope env;

		FUZZ_CHECK(k != TOPIC_NONE);
		/* only alice may ask, and only ask-* methods */
		FUZZ_CHECK(k != TOPIC_RPC || (idlen >= 4 && !memcmp(idp, "ask-", 4)));
		if (k != TOPIC_ROOM && k != TOPIC_DIRECT && k != TOPIC_CMD && k != TOPIC_TELEMETRY)
			continue;	/* presence lists, history requests and replies: their own formats */
		FUZZ_CHECK(envelope_parse(payload, len, &env) == PAYLOAD_ENVELOPE);
		FUZZ_CHECK(env.from && env.ts >= 0);
		/* a client publishes as itself, and only where its token allows */
		if (env.from_len == 5 && !memcmp(env.from, "alice", 5)) {
			FUZZ_CHECK(k != TOPIC_TELEMETRY);
			FUZZ_CHECK(k != TOPIC_CMD || (idlen >= 4 && !memcmp(idp, "dev-", 4)));	/* "dev-*" */
		} else if (env.from_len == 3 && !memcmp(env.from, "bob", 3)) {
			FUZZ_CHECK(k == TOPIC_ROOM || (k == TOPIC_DIRECT && idlen == 5 && !memcmp(idp, "alice", 5)));
			FUZZ_CHECK(k != TOPIC_ROOM || (idlen == 5 && !memcmp(idp, "lobby", 5)) ||
				   (idlen >= 5 && (!memcmp(idp, "pres-", 5) || !memcmp(idp, "hist-", 5))));
		} else if (env.from_len == 5 && !memcmp(env.from, "dev-1", 5)) {
			FUZZ_CHECK(k == TOPIC_TELEMETRY && idlen == 5 && !memcmp(idp, "dev-1", 5));
		} else {
			/* the anonymous session: its rooms (lobby, public-*), or a direct message */
			FUZZ_CHECK(env.from_len > 5 && !memcmp(env.from, "anon-", 5));
			FUZZ_CHECK(k == TOPIC_DIRECT || (idlen == 5 && !memcmp(idp, "lobby", 5)) ||
				   (idlen >= 7 && !memcmp(idp, "public-", 7)));
		}
	}
}

static void check_state(void)
{
	uint64_t queued = 0;

	for (int i = 0; i < N_SESSIONS; i++) {
		struct session *s = &g.s[i];
		uint32_t subs = 0;

		if (!g.open[i])
			continue;
		for (struct member *m = s->peer.ml.head; m; m = m->s_next)
			if (m->channel->kind == TOPIC_ROOM || m->channel->kind == TOPIC_TELEMETRY)
				subs++;
		FUZZ_CHECK(subs == s->n_subs && s->n_subs <= (uint32_t)g.cfg.max_rooms);
		queued += s->peer.outq.bytes;
	}
	FUZZ_CHECK(g.e.fanout.stats.outq_bytes == queued);
	check_publishes();
}

/* ---- one run ---- */

static void chunk(const uint8_t *c, size_t n)
{
	const char *text = (const char *)c + 1;
	size_t len = n - 1;
	int who = 0;

	switch (c[0]) {
	case '0': case '1': case '2': case '3':
		who = c[0] - '0';
		break;
	case 'B':
		stub_bridge_deliver(g.e.bridge, true);
		stub_bridge_deliver(g.e.inbox_bridge, true);
		return;
	case 'A':
		stub_bridge_abandon(g.e.bridge);
		return;
	case 'S':
		stub_bridge_suback(g.e.bridge);
		stub_bridge_suback(g.e.inbox_bridge);
		return;
	case 'D':
		stub_bridge_set_up(g.e.bridge, !bridge_is_up(g.e.bridge));
		if (bridge_is_up(g.e.bridge))
			stub_bridge_suback(g.e.bridge);
		return;
	case 'M':
	case 'R':
	case 'N': {
		const char *nul = memchr(text, '\0', len);
		char *topic;

		if (!nul)
			return;
		topic = fuzz_strndup((const uint8_t *)text, (size_t)(nul - text));
		stub_bridge_inject(c[0] == 'N' ? g.e.inbox_bridge : g.e.bridge, topic, nul + 1,
				   len - (size_t)(nul - text) - 1, c[0] == 'R');
		free(topic);
		return;
	}
	case 'T':
		g.tick_ms += len ? (int64_t)c[1] * 1000 : 1000;
		history_tick(&g.e.history, g.tick_ms);
		rpc_tick(&g.e.rpc, g.tick_ms);
		return;
	case 'Q':	/* a backend answers the last rpc request passed on */
		stub_bridge_answer(g.e.bridge, g.e.rpc.reply_topic, text, len);
		return;
	case 'C':
		who = len ? c[1] % N_SESSIONS : 0;
		close_session(who);
		open_session(who);
		return;
	default:
		text = (const char *)c;
		len = n;
		break;
	}
	if (!g.open[who])
		open_session(who);
	dispatch_frame(&g.e, &g.s[who], text, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	int chunks = 0;

	if (++g.runs % REOPEN_EVERY == 0) {
		notify_fini(&g.e.notify);
		remove_store();
		open_store();
	}
	start_run();
	for (int i = 0; i < N_SESSIONS; i++)
		open_session(i);
	while (p < end && chunks++ < MAX_CHUNKS) {
		const uint8_t *sep = memchr(p, 0xFF, (size_t)(end - p));
		size_t n = sep ? (size_t)(sep - p) : (size_t)(end - p);

		if (n)
			chunk(p, n);
		p += n + (sep ? 1 : 0);
		/* a session whose close was decided is gone: its socket closes, it reconnects */
		for (int i = 0; i < N_SESSIONS; i++) {
			if (g.open[i] && g.s[i].close_code) {
				close_session(i);
				open_session(i);
			}
		}
		for (int i = 0; i < N_SESSIONS; i++)
			if (g.open[i])
				fuzz_peer_drain(&g.e.fanout, &g.s[i].peer);
		check_state();
	}
	end_run();
	return 0;
}
