/*
 * ws_session.c - the WebSocket side of one connection, and the edge's small HTTP surface
 * (/healthz, /readyz, /metrics). One lws protocol, one callback switch.
 * Owns: the per-session lws struct, handshake checks (path, Origin, token, per-user cap),
 * message reassembly, the write path (batched raw writes of shared frames), closes and the
 * token-expiry timer. Must not: interpret ops (hub.c does) or touch the broker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mqedge/bridge.h"
#include "mqedge/frame.h"
#include "mqedge/log.h"
#include "server.h"

#define RX_BUFFER_SIZE 1024	/* lws allocates this per connection: keep idle sessions small */
#define RX_KEEP_BYTES 4096	/* reassembly buffers above this are freed after each message */

_Static_assert(FRAME_HEADROOM >= LWS_PRE, "frames must leave LWS_PRE headroom");

/* One HTTP API request in progress (allocated only for API calls). */
struct http_req {
	char *body;
	size_t len, cap;
	bool answered;		/* the response is ready in out */
	unsigned status;
	char *out;
	size_t out_len;
};

struct edge_pss {
	struct session s;		/* first: hub code sees only this */
	struct lws *wsi;
	struct http_req *http;
	lws_sorted_usec_list_t sul_expiry;
	char *rx;			/* reassembly of a fragmented message (malloc'd) */
	size_t rx_len, rx_cap;
	bool rx_binary;
	bool established;
	bool close_issued;		/* lws is sending our close frame and waiting for the answer */
};

static struct edge_pss *pss_of(struct session *s)
{
	return lws_container_of(s, struct edge_pss, s);
}

static struct server *server_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* ---- outgoing ---- */

void session_send(struct session *s, struct frame *f)
{
	struct edge_pss *pss = pss_of(s);
	struct edge *e = s->edge;
	int rc;

	if (s->closing || !pss->wsi)
		return;	/* nothing new after the close is decided */
	rc = outq_push(&s->outq, f, (size_t)e->cfg->outq_max_bytes);
	if (rc == OUTQ_OK) {
		e->stats.deliveries++;
		e->stats.outq_bytes += frame_wire_len(f);
		if (s->outq.count > 1)
			return;	/* a write is already on its way for a longer queue */
		if (e->in_burst) {
			s->dirty = true;	/* flushed by hub_on_batch_done when the burst ends */
			s->dirty_next = e->dirty;
			e->dirty = s;
		} else {
			lws_callback_on_writable(pss->wsi);
		}
		return;
	}
	if (rc == OUTQ_FULL) {
		e->stats.drop_slow_consumer++;
		e->stats.closed_slow++;
		log_info("session_slow_consumer", "sess=%s user=%s queued_bytes=%zu", s->id, s->ident.id,
			 s->outq.bytes);
		session_close(s, 4002, "slow consumer");
	} else {
		e->stats.drop_nomem++;
		session_close(s, 1011, "out of memory");
	}
}

void session_send_text(struct session *s, const char *text, size_t len)
{
	struct frame *f = frame_from_text(text, len);

	if (!f) {
		s->edge->stats.drop_nomem++;
		session_close(s, 1011, "out of memory");
		return;
	}
	session_send(s, f);
	frame_unref(f);
}

static void drop_queue(struct session *s)
{
	s->edge->stats.outq_bytes -= s->outq.bytes;
	outq_clear(&s->outq);
}

void session_close(struct session *s, uint16_t code, const char *reason)
{
	struct edge_pss *pss = pss_of(s);

	if (s->closing || !pss->wsi)
		return;
	s->closing = true;
	s->close_code = code;
	s->close_reason = reason;
	/* what is queued still goes out before the close frame (the client learns why), except for
	 * a slow consumer, whose queue is the problem */
	if (code == 4002)
		drop_queue(s);
	/* the close frame goes out from our own WRITEABLE; a peer that never reads is cut off */
	lws_callback_on_writable(pss->wsi);
	lws_set_timeout(pss->wsi, PENDING_TIMEOUT_USER_REASON_BASE, 3);
}

static void on_expiry(lws_sorted_usec_list_t *sul)
{
	struct edge_pss *pss = lws_container_of(sul, struct edge_pss, sul_expiry);

	pss->s.edge->stats.closed_expired++;
	log_info("session_token_expired", "sess=%s user=%s", pss->s.id, pss->s.ident.id);
	session_close(&pss->s, 4001, "token expired");
}

void session_arm_expiry(struct session *s)
{
	struct edge_pss *pss = pss_of(s);
	int64_t left_us;

	if (!s->ident.exp) {
		lws_sul_cancel(&pss->sul_expiry);
		return;
	}
	left_us = s->ident.exp * 1000000 - hub_now_us();
	lws_sul_schedule(lws_get_context(pss->wsi), 0, &pss->sul_expiry, on_expiry,
			 left_us > 0 ? left_us : 1);
}

/* Writes what is queued: one frame straight from its shared buffer, or several copied into one
 * batch, in a single raw write (the frames already carry their WebSocket headers). */
static int write_queued(struct server *srv, struct edge_pss *pss)
{
	struct session *s = &pss->s;
	struct edge *e = s->edge;
	struct frame *f = outq_at(&s->outq, 0);
	const unsigned char *src;
	size_t total = frame_wire_len(f);
	uint32_t n = 1;
	int64_t now_us = hub_now_us();

	if (s->outq.count > 1 && total < SERVER_WRITE_BATCH) {
		unsigned char *dst = srv->write_buf + LWS_PRE;

		memcpy(dst, frame_wire(f), total);
		while (n < s->outq.count) {
			struct frame *g = outq_at(&s->outq, n);
			size_t len = frame_wire_len(g);

			if (total + len > SERVER_WRITE_BATCH)
				break;
			memcpy(dst + total, frame_wire(g), len);
			total += len;
			n++;
		}
		src = dst;
	} else {
		src = frame_wire(f);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct frame *g = outq_at(&s->outq, i);

		if (g->born_us)
			hub_note_latency(e, g->born_us, now_us);
	}
	/* LWS_WRITE_RAW: the bytes are complete frames; lws keeps any unsent tail itself */
	if (lws_write(pss->wsi, (unsigned char *)src, total, LWS_WRITE_RAW) < (int)total)
		return -1;
	e->stats.frames_out += n;
	e->stats.bytes_out += total;
	e->stats.writes++;
	e->stats.outq_bytes -= total;
	outq_pop(&s->outq, n);
	if (s->outq.count || s->closing)	/* more to write, or the close frame after the rest */
		lws_callback_on_writable(pss->wsi);
	return 0;
}

void session_flush(struct session *s)
{
	struct edge_pss *pss = pss_of(s);

	if (!pss->wsi || s->closing || !s->outq.count || pss->close_issued)
		return;
	/* lws still holds the tail of an earlier write: let it drain first, the queue stays bounded */
	if (lws_partial_buffered(pss->wsi)) {
		lws_callback_on_writable(pss->wsi);
		return;
	}
	if (write_queued(server_of(pss->wsi), pss))
		session_close(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "write failed");	/* the socket is gone */
}

/* ---- incoming ---- */

/* Closes from inside this connection's own callback: the close frame goes out and lws waits for
 * the peer's answer, so frames still arriving (a flood, the rest of an oversize message) must be
 * ignored from now on, or a second -1 would cut the connection before the close is read. */
static int close_now(struct edge_pss *pss, enum lws_close_status code, const char *reason)
{
	pss->s.closing = true;
	pss->close_issued = true;
	lws_close_reason(pss->wsi, code, (unsigned char *)reason, strlen(reason));
	return -1;
}

static int on_receive(struct server *srv, struct edge_pss *pss, const char *in, size_t len)
{
	struct lws *wsi = pss->wsi;
	struct session *s = &pss->s;
	bool first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);
	size_t total;

	if (s->closing)
		return 0;
	if (first) {
		pss->rx_len = 0;
		pss->rx_binary = lws_frame_is_binary(wsi);
	}
	/* what we hold + this piece + the rest of the current frame, before buffering any of it */
	total = pss->rx_len + len + lws_remaining_packet_payload(wsi);
	if (total > (size_t)srv->cfg->max_frame) {
		/* close from WRITEABLE, not from here: lws 4.1.6 sometimes kills the connection
		 * without the close frame when RECEIVE returns -1 while the peer is still sending */
		srv->edge.stats.closed_oversize++;
		session_close(s, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
		return 0;
	}
	if (pss->rx_binary) {
		pss->rx_len += len;	/* counted for the size limit, never stored */
		if (final)
			hub_send_error(s, "", "binary_unsupported", "binary frames are not supported; send JSON text");
		return 0;
	}
	if (first && final) {
		hub_handle_frame(&srv->edge, s, in, len);	/* the common case: no copy */
		return 0;
	}
	if (pss->rx_len + len > pss->rx_cap) {
		size_t cap = pss->rx_cap ? pss->rx_cap : 1024;
		char *nrx;

		while (cap < pss->rx_len + len)
			cap *= 2;
		nrx = realloc(pss->rx, cap);
		if (!nrx) {
			session_close(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
			return 0;
		}
		pss->rx = nrx;
		pss->rx_cap = cap;
	}
	memcpy(pss->rx + pss->rx_len, in, len);
	pss->rx_len += len;
	if (!final)
		return 0;
	hub_handle_frame(&srv->edge, s, pss->rx, pss->rx_len);
	pss->rx_len = 0;
	if (pss->rx_cap > RX_KEEP_BYTES) {
		free(pss->rx);
		pss->rx = NULL;
		pss->rx_cap = 0;
	}
	return 0;
}

/* ---- HTTP ---- */

/* Sends a complete HTTP response. complete: finish the transaction here (not when lws does it,
 * as after HTTP_CONFIRM_UPGRADE). Returns 0, or -1 to drop the connection. */
static int http_respond(struct lws *wsi, unsigned status, const char *ctype, const char *body,
			size_t len, bool complete)
{
	unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
	unsigned char *buf = malloc(LWS_PRE + len + 1);
	int rc = -1;

	if (!buf)
		return -1;
	memcpy(buf + LWS_PRE, body, len);
	if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		goto done;
	if (len && lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) != (int)len)
		goto done;
	rc = complete && lws_http_transaction_completed(wsi) ? -1 : 0;
done:
	free(buf);
	return rc;
}

static int http_json_error(struct lws *wsi, unsigned status, const char *code, const char *message,
			   bool complete)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}", code, message);

	return http_respond(wsi, status, "application/json", body, (size_t)n, complete);
}

#define API_PATH "/api/v1/notifications"

static bool key_matches(const char *keys, const char *given)
{
	size_t glen = strlen(given);

	for (const char *p = keys; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		unsigned char diff = len != glen;

		/* same time whatever the mismatch position */
		for (size_t i = 0; i < len; i++)
			diff |= (unsigned char)(p[i] ^ (i < glen ? given[i] : 0));
		if (!diff && len)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static bool api_authorized(struct server *srv, struct lws *wsi)
{
	char buf[512];

	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_AUTHORIZATION) > 7 && !strncasecmp(buf, "Bearer ", 7))
		return key_matches(srv->cfg->api_key, buf + 7);
	if (lws_hdr_custom_copy(wsi, buf, sizeof(buf), "x-api-key:", 10) > 0)
		return key_matches(srv->cfg->api_key, buf);
	return false;
}

/* Starts an API request: checks method, key and size; the body follows in HTTP_BODY. */
static int on_api(struct server *srv, struct edge_pss *pss, struct lws *wsi)
{
	char clen[32];
	long len = -1;

	if (!srv->cfg->api_key)
		return http_json_error(wsi, 404, "not_found", "the HTTP API is disabled (no api-key)", true);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
		return http_json_error(wsi, 405, "method_not_allowed", "POST a notification", true);
	if (!api_authorized(srv, wsi)) {
		srv->edge.stats.auth_failures++;
		return http_json_error(wsi, 401, "unauthorized", "a valid API key is required", true);
	}
	if (lws_hdr_copy(wsi, clen, sizeof(clen), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
		len = strtol(clen, NULL, 10);
	if (len > srv->cfg->api_max_body)
		return http_json_error(wsi, 413, "too_large", "the body is larger than api-max-body", true);
	pss->http = calloc(1, sizeof(*pss->http));
	if (!pss->http)
		return http_json_error(wsi, 500, "internal", "out of memory", true);
	return 0;
}

static int on_api_body(struct server *srv, struct edge_pss *pss, struct lws *wsi, const char *in, size_t len)
{
	struct http_req *r = pss->http;

	if (!r)
		return -1;
	if (!len)
		return 0;
	if (r->len + len > (size_t)srv->cfg->api_max_body) {
		http_json_error(wsi, 413, "too_large", "the body is larger than api-max-body", false);
		return -1;
	}
	if (r->len + len > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		char *nb;

		while (cap < r->len + len)
			cap *= 2;
		nb = realloc(r->body, cap);
		if (!nb)
			return -1;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, in, len);
	r->len += len;
	return 0;
}

/* notify.c's answer, now or after the broker acknowledged: write it when writable. */
static void api_done(void *ctx, unsigned status, const char *json, size_t len)
{
	struct edge_pss *pss = ctx;
	struct http_req *r = pss->http;

	r->out = malloc(len ? len : 1);
	if (r->out)
		memcpy(r->out, json, len);
	r->out_len = r->out ? len : 0;
	r->status = r->out ? status : 500;
	r->answered = true;
	lws_callback_on_writable(pss->wsi);
}

static void http_req_free(struct edge_pss *pss)
{
	if (!pss->http)
		return;
	free(pss->http->body);
	free(pss->http->out);
	free(pss->http);
	pss->http = NULL;
}

static int on_http(struct server *srv, struct lws *wsi, const char *path)
{
	if (!strcmp(path, API_PATH))
		return on_api(srv, lws_wsi_user(wsi), wsi);
	if (!strcmp(path, "/healthz"))
		return http_respond(wsi, 200, "application/json", "{\"status\":\"ok\"}", 15, true);
	if (!strcmp(path, "/readyz")) {
		const char *why = srv->edge.draining ? "draining" : !bridge_is_up(srv->bridge) ? "broker_down" :
				  !srv->notify.inbox ? "store_unavailable" :
				  !bridge_is_up(srv->inbox_bridge) ? "inbox_broker_down" : NULL;

		if (!why)
			return http_respond(wsi, 200, "application/json", "{\"status\":\"ready\"}", 18, true);
		return http_json_error(wsi, 503, why, "not ready", true);
	}
	if (!strcmp(path, "/metrics")) {
		size_t len;
		char *text = metrics_render(srv, &len);
		int rc;

		if (!text)
			return http_json_error(wsi, 500, "internal", "out of memory", true);
		rc = http_respond(wsi, 200, "text/plain; version=0.0.4", text, len, true);
		free(text);
		return rc;
	}
	return http_json_error(wsi, 404, "not_found", "no such resource", true);
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

static void stash_clear(struct server *srv)
{
	identity_release(&srv->stash.ident);
	srv->stash.wsi = NULL;
}

/* Decides the upgrade. Returns 0 to allow (identity stashed), 1 after answering with an error. */
static int confirm_upgrade(struct server *srv, struct lws *wsi)
{
	char path[64], origin[256], tokbuf[8300];
	const char *token;
	struct identity ident;
	enum auth_result r;

	stash_clear(srv);
	if (srv->edge.draining)
		return http_json_error(wsi, 503, "draining", "this edge is shutting down", false) ? -1 : 1;
	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0 || strcmp(path, "/ws")) {
		srv->edge.stats.handshake_rejects++;
		return http_json_error(wsi, 404, "not_found", "WebSocket endpoint is /ws", false) ? -1 : 1;
	}
	if (*srv->cfg->origins && lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) > 0 &&
	    !origin_allowed(srv->cfg->origins, origin)) {
		srv->edge.stats.handshake_rejects++;
		log_info("handshake_rejected", "reason=origin origin=%s", origin);
		return http_json_error(wsi, 403, "origin_forbidden", "origin not allowed", false) ? -1 : 1;
	}
	token = find_token(wsi, tokbuf, sizeof(tokbuf));
	if (!token && srv->cfg->allow_anonymous) {
		memset(&ident, 0, sizeof(ident));	/* completed by hub_session_open */
	} else {
		r = auth_verify(srv->edge.auth, token, hub_now_ms() / 1000, &ident);
		if (r != AUTH_OK) {
			srv->edge.stats.auth_failures++;
			srv->edge.stats.handshake_rejects++;
			log_info("handshake_rejected", "reason=%s", auth_result_code(r));
			return http_json_error(wsi, r == AUTH_NOMEM ? 500 : 401, auth_result_code(r),
					       r == AUTH_MISSING ? "a token is required" :
					       r == AUTH_EXPIRED ? "the token has expired" : "the token is not valid",
					       false) ? -1 : 1;
		}
		if (hub_user_connections(&srv->edge, &ident) >= (uint32_t)srv->cfg->max_conns_per_user) {
			identity_release(&ident);
			srv->edge.stats.handshake_rejects++;
			log_info("handshake_rejected", "reason=too_many_connections user=%s", ident.id);
			return http_json_error(wsi, 429, "too_many_connections",
					       "connection limit for this user reached", false) ? -1 : 1;
		}
	}
	srv->stash.wsi = wsi;
	srv->stash.ident = ident;
	return 0;
}

/* ---- the callback ---- */

static int callback_edge(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct server *srv = server_of(wsi);
	struct edge_pss *pss = user;

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		/* called once per TLS vhost with its SSL_CTX: server.c tunes it */
		return server_tune_tls(user);

	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return srv->edge.draining ? -1 : 0;	/* draining: refuse at accept */

	case LWS_CALLBACK_HTTP:
		return on_http(srv, wsi, in ? (const char *)in : "");

	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		/* a /demo/ file went out: finish the transaction so keep-alive serves the next one */
		return lws_http_transaction_completed(wsi) ? -1 : 0;

	case LWS_CALLBACK_HTTP_BODY:
		return on_api_body(srv, pss, wsi, in, len);

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (!pss->http)
			return -1;
		pss->wsi = wsi;
		notify_http_submit(&srv->notify, pss->http->body ? pss->http->body : "", pss->http->len, api_done, pss);
		return 0;

	case LWS_CALLBACK_HTTP_WRITEABLE: {
		int rc;

		if (!pss || !pss->http || !pss->http->answered)
			return 0;
		rc = http_respond(wsi, pss->http->status, "application/json", pss->http->out, pss->http->out_len, true);
		http_req_free(pss);
		pss->wsi = NULL;
		return rc;
	}

	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss && pss->http) {
			notify_http_cancel(&srv->notify, pss);
			http_req_free(pss);
		}
		return 0;

	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (strcmp((const char *)in, "websocket"))
			return http_json_error(wsi, 400, "bad_upgrade", "only websocket upgrades", false) ? -1 : 1;
		return confirm_upgrade(srv, wsi);

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* the stash is ours only if CONFIRM_UPGRADE just ran for this very wsi */
		if (srv->stash.wsi != wsi)
			return -1;
		memset(pss, 0, sizeof(*pss));
		pss->s.ident = srv->stash.ident;
		memset(&srv->stash, 0, sizeof(srv->stash));
		return 0;

	case LWS_CALLBACK_ESTABLISHED:
		pss->wsi = wsi;
		if (hub_session_open(&srv->edge, &pss->s)) {
			identity_release(&pss->s.ident);
			return close_now(pss, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "cannot serve session");
		}
		pss->established = true;
		session_arm_expiry(&pss->s);
		return 0;

	case LWS_CALLBACK_RECEIVE:
		return on_receive(srv, pss, in, len);

	case LWS_CALLBACK_SERVER_WRITEABLE:
		/* after our close, lws owns the connection: a second -1 here would cut it before the
		 * peer's answer (and before it read our close frame) */
		if (pss->close_issued)
			return 0;
		if (pss->s.outq.count)
			return write_queued(srv, pss);
		if (pss->s.closing)
			return close_now(pss, (enum lws_close_status)pss->s.close_code, pss->s.close_reason);
		return 0;

	case LWS_CALLBACK_CLOSED:
		if (!pss)
			return 0;
		lws_sul_cancel(&pss->sul_expiry);
		if (pss->established) {
			drop_queue(&pss->s);
			hub_session_closed(&srv->edge, &pss->s);
		} else {
			identity_release(&pss->s.ident);
		}
		free(pss->rx);
		pss->rx = NULL;
		pss->wsi = NULL;
		return 0;

	default:
		return 0;
	}
}

const struct lws_protocols ws_session_protocol = {
	WS_SESSION_PROTOCOL_NAME,
	callback_edge,
	sizeof(struct edge_pss),
	RX_BUFFER_SIZE,
	0,
	NULL,
	SERVER_WRITE_BATCH + LWS_PRE,
};
