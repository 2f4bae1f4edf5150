/*
 * ws_session.c - the WebSocket side of one connection. One lws protocol, one callback switch.
 * Owns: the per-connection lws struct, handshake checks (path, Origin, token, per-user cap),
 * message reassembly and its size limit, the write path (batched raw writes of shared frames),
 * closes, the token-expiry timer; the wss vhost's SSL_CTX goes to tls.c. Must not: interpret ops
 * (dispatch.c), serve HTTP resources (http.c), or touch the broker.
 */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dispatch.h"
#include "http.h"
#include "mqedge/base/clock.h"
#include "mqedge/base/log.h"
#include "mqedge/wire/reassembly.h"
#include "heartbeat.h"
#include "tls.h"
#include "ws_session.h"

#define RX_BUFFER_SIZE 1024	/* lws allocates this per connection: keep idle sessions small */

_Static_assert(FRAME_HEADROOM >= LWS_PRE, "frames must leave LWS_PRE headroom");

struct edge_pss {
	struct session s;		/* what dispatch and fan-out see */
	struct lws *wsi;		/* NULL once closed */
	struct http_req *http;		/* an HTTP API request on this connection */
	lws_sorted_usec_list_t sul_expiry;
	lws_sorted_usec_list_t sul_linger;	/* after our close frame: how long we wait for the answer */
	struct hb_entry heartbeat;	/* in e->heartbeats: the next ping, or the ping's deadline */
	int64_t alive_ms;		/* the last message or PONG from the client (clock_mono_ms) */
	int64_t ping_sent_ms;		/* our last PING (clock_mono_ms); 0: none yet */
	bool ping_due;			/* a PING waits for WRITEABLE */
	struct reassembly rx;		/* a fragmented message being put together */
	bool close_issued;		/* lws is sending our close frame and waiting for the answer */
	/* for the session_closed log line */
	int64_t opened_ms;
	uint64_t frames_in, frames_out;
	char addr[NETADDR_TEXT_MAX + 1];	/* the client's (http_client_addr) */
	uint16_t closed_code;		/* ours (edge) or the client's (client); 0: neither sent one */
	const char *closed_by;		/* "edge", "client"; NULL: the connection just ended */
	const char *closed_reason;	/* static string, ours only */
};

static struct edge_pss *pss_of_peer(struct peer *p)
{
	return lws_container_of(session_of_peer(p), struct edge_pss, s);
}

static struct edge *edge_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* ---- fan-out's way to the socket ---- */

static void peer_wake(struct peer *p)
{
	struct edge_pss *pss = pss_of_peer(p);

	if (pss->wsi)
		lws_callback_on_writable(pss->wsi);
}

/* Writes what is queued: one frame straight from its shared buffer, or several copied into one
 * batch, in a single raw write (the frames already carry their WebSocket headers). */
static int write_queued(struct edge *e, struct edge_pss *pss)
{
	struct peer *p = &pss->s.peer;
	struct frame *f = outq_at(&p->outq, 0);
	const unsigned char *src;
	size_t total = frame_wire_len(f);
	uint32_t n = 1;
	int64_t now_us = clock_now_us();

	if (p->outq.count > 1 && total < EDGE_WRITE_BATCH) {
		unsigned char *dst = e->write_buf + LWS_PRE;

		memcpy(dst, frame_wire(f), total);
		while (n < p->outq.count) {
			struct frame *g = outq_at(&p->outq, n);
			size_t len = frame_wire_len(g);

			if (total + len > EDGE_WRITE_BATCH)
				break;
			memcpy(dst + total, frame_wire(g), len);
			total += len;
			n++;
		}
		src = dst;
	} else {
		src = frame_wire(f);
	}
	/* LWS_WRITE_RAW: the bytes are complete frames; lws keeps any unsent tail itself */
	if (lws_write(pss->wsi, (unsigned char *)src, total, LWS_WRITE_RAW) < (int)total)
		return -1;
	fanout_written(&e->fanout, p, n, total, now_us);
	pss->frames_out += n;
	if (p->outq.count || p->closing)	/* more to write, or the close frame after the rest */
		lws_callback_on_writable(pss->wsi);
	return 0;
}

static void peer_flush(struct peer *p)
{
	struct edge_pss *pss = pss_of_peer(p);

	if (!pss->wsi || p->closing || !p->outq.count || pss->close_issued)
		return;
	/* lws still holds the tail of an earlier write: let it drain first, the queue stays bounded */
	if (lws_partial_buffered(pss->wsi)) {
		lws_callback_on_writable(pss->wsi);
		return;
	}
	if (write_queued(edge_of(pss->wsi), pss))
		fanout_close(&edge_of(pss->wsi)->fanout, p, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "write failed");
}

static void peer_close(struct peer *p, uint16_t code, const char *reason)
{
	struct edge_pss *pss = pss_of_peer(p);

	if (!pss->wsi)
		return;
	pss->s.close_code = code;
	pss->s.close_reason = reason;
	/* the close frame goes out from our own WRITEABLE; a peer that never reads is cut off */
	lws_callback_on_writable(pss->wsi);
	lws_set_timeout(pss->wsi, PENDING_TIMEOUT_USER_REASON_BASE, 3);
}

const struct peer_ops ws_session_peer_ops = { peer_wake, peer_flush, peer_close };

/* ---- token expiry ---- */

static void on_expiry(lws_sorted_usec_list_t *sul)
{
	struct edge_pss *pss = lws_container_of(sul, struct edge_pss, sul_expiry);
	struct edge *e = edge_of(pss->wsi);

	e->stats.closed_expired++;
	log_info("session_token_expired", "sess=%s user=%s", pss->s.id, pss->s.ident.id);
	fanout_close(&e->fanout, &pss->s.peer, 4001, "token expired");
}

static void arm_expiry(struct edge_pss *pss)
{
	int64_t left_us;

	if (!pss->s.ident.exp) {
		lws_sul_cancel(&pss->sul_expiry);
		return;
	}
	left_us = pss->s.ident.exp * 1000000 - clock_now_us();
	lws_sul_schedule(lws_get_context(pss->wsi), 0, &pss->sul_expiry, on_expiry, left_us > 0 ? left_us : 1);
}

/* ---- heartbeats ---- */

/* the wheel tick a moment in ms falls due at (rounded up: never early) */
static int64_t hb_tick(int64_t ms)
{
	return (ms + WS_HEARTBEAT_TICK_MS - 1) / WS_HEARTBEAT_TICK_MS;
}

/* A connection silent for ping-interval gets a PING; one still silent ping-timeout later is dropped
 * (no close frame: it is not listening, PROTOCOL.md). A message or a non-empty PONG is a sign of
 * life (lws hands neither client PINGs nor empty PONGs up), and noting one is a store, not a timer
 * move: the wheel entry is only looked at when it comes due. Monotonic time: a wall clock stepped
 * back would stop the PINGs, stepped forward drop everyone. */
static void on_heartbeat(struct hb_entry *h, void *ctx)
{
	struct edge *e = ctx;
	struct edge_pss *pss = lws_container_of(h, struct edge_pss, heartbeat);
	int64_t now_ms = clock_mono_ms(), interval_ms = e->cfg->ping_interval * 1000, timeout_ms = e->cfg->ping_timeout * 1000;

	if (!pss->wsi || pss->close_issued)
		return;
	if (pss->ping_sent_ms && pss->alive_ms < pss->ping_sent_ms) {	/* our PING is unanswered */
		if (now_ms >= pss->ping_sent_ms + timeout_ms) {
			log_info("session_ping_timeout", "sess=%s user=%s silent_ms=%lld", pss->s.id, pss->s.ident.id,
				 (long long)(now_ms - pss->alive_ms));
			lws_set_timeout(pss->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
			return;
		}
		hb_schedule(&e->heartbeats, h, hb_tick(pss->ping_sent_ms + timeout_ms));
		return;
	}
	if (now_ms >= pss->alive_ms + interval_ms) {
		pss->ping_due = true;
		pss->ping_sent_ms = now_ms;
		lws_callback_on_writable(pss->wsi);
		/* back at the deadline, or after one interval if that comes first: a prompt PONG
		 * keeps the PINGs an interval apart (proxies time out idle connections) */
		hb_schedule(&e->heartbeats, h, hb_tick(now_ms + (timeout_ms < interval_ms ? timeout_ms : interval_ms)));
		return;
	}
	hb_schedule(&e->heartbeats, h, hb_tick(pss->alive_ms + interval_ms));
}

void ws_session_heartbeats(struct edge *e)
{
	hb_sweep(&e->heartbeats, clock_mono_ms() / WS_HEARTBEAT_TICK_MS, on_heartbeat, e);
}

/* ---- incoming ---- */

/* Closes from inside this connection's own callback: the close frame goes out and lws waits for
 * the peer's answer, so frames still arriving (a flood, the rest of an oversize message) must be
 * ignored from now on, or a second -1 would cut the connection before the close is read. */
#define CLOSE_ANSWER_WAIT_US (1 * LWS_US_PER_SEC)

/* The peer did not answer our close frame in time: end the TCP connection. lws 4.1.6 waits 5 s,
 * and with permessage-deflate it misses the answer that comes behind the rest of an oversize
 * message, so the session lingered those 5 s. */
static void on_linger(lws_sorted_usec_list_t *sul)
{
	struct edge_pss *pss = lws_container_of(sul, struct edge_pss, sul_linger);

	if (pss->wsi)	/* NULL once CLOSED ran (which also cancels this timer) */
		lws_set_timeout(pss->wsi, PENDING_TIMEOUT_CLOSE_ACK, LWS_TO_KILL_ASYNC);
}

static int close_now(struct edge_pss *pss, enum lws_close_status code, const char *reason)
{
	pss->closed_code = (uint16_t)code;
	pss->closed_by = "edge";
	pss->closed_reason = reason;
	pss->s.peer.closing = true;
	pss->close_issued = true;
	lws_close_reason(pss->wsi, code, (unsigned char *)reason, strlen(reason));
	lws_sul_schedule(lws_get_context(pss->wsi), 0, &pss->sul_linger, on_linger, CLOSE_ANSWER_WAIT_US);
	return -1;
}

/* One complete message: dispatch it, and follow a refreshed token's new expiry. */
static void on_message(struct edge *e, struct edge_pss *pss, const char *text, size_t len)
{
	int64_t exp = pss->s.ident.exp;

	pss->frames_in++;
	dispatch_frame(e, &pss->s, text, len);
	if (pss->s.ident.exp != exp)
		arm_expiry(pss);
}

/* The rest of a refused message is garbage: stop reading it. With permessage-deflate this also
 * matters to everyone else: under the libev loop, lws 4.1.6 keeps force-servicing a closing
 * connection that still has inflated data to drain, and every other connection's compressed
 * message waited behind it until it was gone (a bomb held the others up for the 1 s linger). Not
 * reading also means the client's answering close is not read: the linger ends the connection. */
static void stop_reading(struct lws *wsi)
{
	lws_rx_flow_control(wsi, 0);
}

static int on_receive(struct edge *e, struct edge_pss *pss, const char *in, size_t len)
{
	struct lws *wsi = pss->wsi;
	struct session *s = &pss->s;
	struct reassembly_piece piece = {
		.data = in, .len = len,
		.first = lws_is_first_fragment(wsi), .final = lws_is_final_fragment(wsi),
		.binary = lws_frame_is_binary(wsi), .compressed = (lws_get_reserved_bits(wsi) & 0x40) != 0,
		.frame_remaining = lws_remaining_packet_payload(wsi),
	};
	const char *msg = NULL;
	size_t msg_len = 0, held = pss->rx.len;

	pss->alive_ms = clock_mono_ms();
	if (s->peer.closing)
		return 0;
	switch (reassembly_feed(&pss->rx, &piece, (size_t)e->cfg->max_frame, &msg, &msg_len)) {
	case REASSEMBLY_MORE:
		break;
	case REASSEMBLY_TEXT:
		on_message(e, pss, msg, msg_len);
		reassembly_done(&pss->rx);
		break;
	case REASSEMBLY_BINARY:
		fanout_send_error(&e->fanout, &s->peer, "", "binary_unsupported", "binary frames are not supported; send JSON text");
		break;
	case REASSEMBLY_TOO_BIG:
		/* close from WRITEABLE, not from here: lws 4.1.6 sometimes kills the connection
		 * without the close frame when RECEIVE returns -1 while the peer is still sending */
		e->stats.closed_oversize++;
		log_info("session_oversize", "sess=%s held=%zu piece=%zu frame_left=%zu first=%d final=%d compressed=%d limit=%ld",
			 s->id, held, len, piece.frame_remaining, piece.first, piece.final, pss->rx.compressed || piece.compressed,
			 e->cfg->max_frame);
		fanout_close(&e->fanout, &s->peer, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
		stop_reading(wsi);
		break;
	case REASSEMBLY_BAD_UTF8:
		e->stats.closed_bad_utf8++;
		fanout_close(&e->fanout, &s->peer, LWS_CLOSE_STATUS_INVALID_PAYLOAD, "invalid UTF-8");
		stop_reading(wsi);
		break;
	case REASSEMBLY_NOMEM:
		fanout_close(&e->fanout, &s->peer, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
		break;
	}
	return 0;
}

/* ---- handshake ---- */

/* Finds the token: ?token=, then Authorization: Bearer, then the mqedge_token cookie. */
static const char *find_token(struct lws *wsi, char *buf, size_t buflen)
{
	const char *q = lws_get_urlarg_by_name(wsi, "token=", buf, (int)buflen);
	char *c;

	if (q && *q)
		return q;
	if (lws_hdr_copy(wsi, buf, (int)buflen, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
	    !strncasecmp(buf, "Bearer ", 7))
		return buf + 7;
	if (lws_hdr_copy(wsi, buf, (int)buflen, WSI_TOKEN_HTTP_COOKIE) > 0) {
		for (c = buf; c && *c; c = strchr(c, ';')) {
			while (*c == ';' || *c == ' ')
				c++;
			if (!strncmp(c, "mqedge_token=", 13)) {
				char *v = c + 13, *semi = strchr(v, ';');

				if (semi)
					*semi = '\0';
				return *v ? v : NULL;
			}
		}
	}
	return NULL;
}

static bool origin_allowed(const char *allow, const char *origin)
{
	size_t olen = strlen(origin);

	for (const char *p = allow; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (len == olen && !memcmp(p, origin, len))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static void stash_clear(struct edge *e)
{
	identity_release(&e->stash.ident);
	e->stash.wsi = NULL;
}

/* Makes header text safe inside a quoted log value: quotes, backslashes and anything not
 * printable ASCII become '?', so a client cannot end the value or forge another key. In place. */
static const char *printable(char *s)
{
	for (char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			*p = '?';
	return s;
}

/* An HTTP error before the upgrade: 1 (answered), or -1 when even that failed. */
static int refuse(struct lws *wsi, unsigned status, const char *code, const char *message)
{
	return http_json_error(wsi, status, code, message, false) ? -1 : 1;
}

/* Decides the upgrade. Returns 0 to allow (identity stashed), 1 after answering with an error. */
/* Will lws accept permessage-deflate on this connection, so that the edge may send it compressed
 * messages? lws 4.1.6 accepts the extension whenever it is offered, and answers only the offer's
 * parameters without a value: an offer that limits the server's window (server_max_window_bits)
 * is accepted without the limit, so such a client gets plain frames, always valid. */
static bool deflate_offered(struct lws *wsi)
{
	char ext[256];

	if (lws_hdr_copy(wsi, ext, sizeof(ext), WSI_TOKEN_EXTENSIONS) <= 0)
		return false;
	return strstr(ext, "permessage-deflate") && !strstr(ext, "server_max_window_bits");
}

static int confirm_upgrade(struct edge *e, struct lws *wsi)
{
	char path[64], origin[256], tokbuf[8300], addr[NETADDR_TEXT_MAX + 1];
	const char *token;
	struct identity ident;
	enum auth_result r;

	stash_clear(e);
	http_client_addr(e, wsi, addr, sizeof(addr));
	if (e->draining)
		return refuse(wsi, 503, "draining", "this edge is shutting down");
	/* lws would upgrade any version; RFC 6455 4.2.2 answers others with 426 and the one we speak */
	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_VERSION) <= 0 || strcmp(path, "13")) {
		e->stats.handshake_rejects++;
		log_info("handshake_rejected", "reason=version addr=%s", addr);
		return http_upgrade_required(wsi) ? -1 : 1;
	}
	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0 || strcmp(path, "/ws")) {
		e->stats.handshake_rejects++;
		return refuse(wsi, 404, "not_found", "WebSocket endpoint is /ws");
	}
	if (*e->cfg->origins && lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) > 0 &&
	    !origin_allowed(e->cfg->origins, origin)) {
		e->stats.handshake_rejects++;
		log_info("handshake_rejected", "reason=origin origin=\"%s\" addr=%s", printable(origin), addr);
		return refuse(wsi, 403, "origin_forbidden", "origin not allowed");
	}
	token = find_token(wsi, tokbuf, sizeof(tokbuf));
	if (!token && e->cfg->allow_anonymous) {
		memset(&ident, 0, sizeof(ident));	/* completed by dispatch_session_open */
	} else {
		r = auth_verify(e->auth, token, clock_now_ms() / 1000, &ident);
		if (r != AUTH_OK) {
			e->stats.auth_failures++;
			e->stats.handshake_rejects++;
			log_info("handshake_rejected", "reason=%s addr=%s", auth_result_code(r), addr);
			return refuse(wsi, r == AUTH_NOMEM ? 500 : 401, auth_result_code(r),
				      r == AUTH_MISSING ? "a token is required" :
				      r == AUTH_EXPIRED ? "the token has expired" : "the token is not valid");
		}
		/* a user token is checked against the revocations, which must be in first (after a
		 * start, until the retained ones have arrived from the broker) */
		if (ident.kind == IDENTITY_USER && !e->revocations.loaded) {
			e->stats.handshake_rejects++;
			log_info("handshake_rejected", "reason=revocations_loading user=%s addr=%s", ident.id, addr);
			identity_release(&ident);
			return refuse(wsi, 503, "revocations_loading",
				      "this edge has not received the token revocations from the broker yet; retry");
		}
		if (dispatch_token_revoked(e, &ident)) {
			e->stats.auth_failures++;
			e->stats.handshake_rejects++;
			log_info("handshake_rejected", "reason=token_revoked user=%s addr=%s", ident.id, addr);
			identity_release(&ident);
			return refuse(wsi, 401, "token_revoked", "tokens of this user issued before its revocation are refused");
		}
		if (dispatch_user_connections(e, &ident) >= (uint32_t)e->cfg->max_conns_per_user) {
			e->stats.handshake_rejects++;
			log_info("handshake_rejected", "reason=too_many_connections user=%s addr=%s", ident.id, addr);
			identity_release(&ident);
			return refuse(wsi, 429, "too_many_connections", "connection limit for this user reached");
		}
	}
	e->stash.wsi = wsi;
	e->stash.ident = ident;
	return 0;
}

/* ---- the callback ---- */

static int callback_edge(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct edge *e = edge_of(wsi);
	struct edge_pss *pss = user;

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		/* called once per TLS vhost with its SSL_CTX */
		if (tls_ctx_setup(user, &e->tickets)) {
			log_error("tls_setup_failed", "what=session_tickets");
			return 1;
		}
		return 0;

	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return e->draining ? -1 : 0;	/* draining: refuse at accept */

	case LWS_CALLBACK_HTTP:
		return http_on_request(e, wsi, &pss->http, in ? (const char *)in : "");

	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		/* a /demo/ file went out: finish the transaction so keep-alive serves the next one */
		return lws_http_transaction_completed(wsi) ? -1 : 0;

	case LWS_CALLBACK_HTTP_BODY:
		return http_on_body(e, wsi, pss->http, in, len);

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return http_on_body_done(e, pss->http);

	case LWS_CALLBACK_HTTP_WRITEABLE:
		return pss ? http_on_writeable(e, wsi, &pss->http) : 0;

	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss)
			http_on_closed(e, &pss->http);
		return 0;

	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (strcmp((const char *)in, "websocket"))
			return refuse(wsi, 400, "bad_upgrade", "only websocket upgrades");
		return confirm_upgrade(e, wsi);

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* the stash is ours only if CONFIRM_UPGRADE just ran for this very wsi */
		if (e->stash.wsi != wsi)
			return -1;
		memset(pss, 0, sizeof(*pss));
		pss->s.ident = e->stash.ident;
		memset(&e->stash, 0, sizeof(e->stash));
		http_client_addr(e, wsi, pss->addr, sizeof(pss->addr));	/* the headers are still here */
		pss->s.peer.deflate = e->cfg->permessage_deflate && e->cfg->deflate_min_bytes && deflate_offered(wsi);
		return 0;

	case LWS_CALLBACK_ESTABLISHED:
		pss->wsi = wsi;
		pss->opened_ms = clock_now_ms();
		pss->alive_ms = clock_mono_ms();
		hb_schedule(&e->heartbeats, &pss->heartbeat, hb_tick(pss->alive_ms + e->cfg->ping_interval * 1000));
		if (lws_is_ssl(wsi)) {
			if (tls_session_resumed(lws_get_ssl(wsi)))
				e->stats.wss_resumed++;
			else
				e->stats.wss_full++;
		}
		/* lws 4.1.6 applies an agreed server_no_context_takeover to its inflater of the
		 * client's messages (the sides swapped): a client keeping its context, as it may, was
		 * cut off at its second similar message. The inflater keeps its context; lws' own
		 * deflater, the only other reader of the flag, never runs (the edge frames its own). */
		if (lws_set_extension_option(wsi, "permessage-deflate", "server_no_context_takeover", "0") < 0)
			pss->s.peer.deflate = false;	/* not active after all: plain frames */
		if (dispatch_session_open(e, &pss->s))
			return close_now(pss, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "cannot serve session");
		log_info("session_open", "sess=%s user=%s kind=%s addr=%s", pss->s.id, pss->s.ident.id,
			 pss->s.ident.anonymous ? "anonymous" : pss->s.ident.kind == IDENTITY_USER ? "user" : "device", pss->addr);
		arm_expiry(pss);
		return 0;

	case LWS_CALLBACK_RECEIVE:
		return on_receive(e, pss, in, len);

	case LWS_CALLBACK_RECEIVE_PONG:
		pss->alive_ms = clock_mono_ms();
		return 0;

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (!pss->closed_by) {
			pss->closed_by = "client";
			pss->closed_code = len >= 2 ? (uint16_t)(((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1]) :
						      LWS_CLOSE_STATUS_NO_STATUS;
		}
		/* lws answers a reserved code with 1002 but echoes a 1-byte body (RFC 6455 5.5.1: a
		 * protocol error), any reason bytes (8.1: UTF-8, so 1007), and RSV1 on a close when
		 * permessage-deflate is on (RFC 7692 6.1: only data frames may carry it) */
		if (len == 1 || (lws_get_reserved_bits(wsi) & 0x40)) {
			log_info("session_bad_close", "sess=%s len=%zu rsv=%d", pss->s.id, len, lws_get_reserved_bits(wsi));
			return close_now(pss, LWS_CLOSE_STATUS_PROTOCOL_ERR, "bad close frame");
		}
		if (len > 2 && !utf8_valid((const unsigned char *)in + 2, len - 2)) {
			log_info("session_bad_close", "sess=%s reason=not_utf8", pss->s.id);
			return close_now(pss, LWS_CLOSE_STATUS_INVALID_PAYLOAD, "close reason not UTF-8");
		}
		return 0;

	case LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL:
		/* every close passes here. When it is not ours, lws has failed the connection on a
		 * framing error (reserved opcode or bits, a bad continuation, an oversize control frame)
		 * or is answering the client's close: its close frame goes out next, so nothing may
		 * follow it (RFC 6455 5.5.1) -- what is still queued is dropped -- and lws would wait 5 s
		 * for the answer: hold that to our 1 s. CLOSED, which always follows, cancels the timer. */
		if (pss && pss->wsi && !pss->close_issued) {
			pss->s.peer.closing = true;
			pss->close_issued = true;
			/* the code lws is about to send (none when the connection just ended) */
			if (!pss->closed_by && lws_get_close_length(wsi) >= 2) {
				const unsigned char *c = lws_get_close_payload(wsi);

				pss->closed_by = "edge";
				pss->closed_code = (uint16_t)(c[0] << 8 | c[1]);
				pss->closed_reason = "framing error";
			}
			lws_sul_schedule(lws_get_context(wsi), 0, &pss->sul_linger, on_linger, CLOSE_ANSWER_WAIT_US);
		}
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		/* after our close, lws owns the connection: a second -1 here would cut it before the
		 * peer's answer (and before it read our close frame) */
		if (pss->close_issued)
			return 0;
		if (pss->ping_due) {
			/* a payload, because lws 4.1.6 skips RECEIVE_PONG for an empty PONG */
			unsigned char ping[LWS_PRE + 2] = { [LWS_PRE] = 'h', [LWS_PRE + 1] = 'b' };

			pss->ping_due = false;
			if (lws_write(wsi, ping + LWS_PRE, 2, LWS_WRITE_PING) < 0)
				return -1;
			if (pss->s.peer.outq.count || pss->s.peer.closing)
				lws_callback_on_writable(wsi);	/* one write per WRITEABLE */
			return 0;
		}
		if (pss->s.peer.outq.count)
			return write_queued(e, pss);
		if (pss->s.peer.closing)
			return close_now(pss, (enum lws_close_status)pss->s.close_code, pss->s.close_reason);
		return 0;

	case LWS_CALLBACK_CLOSED:
		if (!pss)
			return 0;
		lws_sul_cancel(&pss->sul_expiry);
		lws_sul_cancel(&pss->sul_linger);
		hb_cancel(&e->heartbeats, &pss->heartbeat);
		log_info("session_closed", "sess=%s user=%s addr=%s by=%s code=%u reason=\"%s\" duration_ms=%lld frames_in=%llu frames_out=%llu",
			 pss->s.id, pss->s.ident.id, pss->addr, pss->closed_by ? pss->closed_by : "network", pss->closed_code,
			 pss->closed_reason ? pss->closed_reason : "", (long long)(clock_now_ms() - pss->opened_ms),
			 (unsigned long long)pss->frames_in, (unsigned long long)pss->frames_out);
		dispatch_session_closed(e, &pss->s);
		reassembly_free(&pss->rx);
		pss->wsi = NULL;
		return 0;

	default:
		return 0;
	}
}

static const struct lws_protocols protocol = {
	WS_SESSION_PROTOCOL_NAME,
	callback_edge,
	sizeof(struct edge_pss),
	RX_BUFFER_SIZE,
	0,
	NULL,
	EDGE_WRITE_BATCH + LWS_PRE,
};

const struct lws_protocols *ws_session_protocol(void)
{
	return &protocol;
}
