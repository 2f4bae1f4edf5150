/*
 * http.c - /healthz, /readyz, /metrics and the HTTP plumbing of the API: POST /api/v1/notifications
 * (docs/PROTOCOL.md section 7) and the server API (section 8: publish, broadcast, disconnect, info).
 * Owns: API requests in progress (struct http_req), the method, key and size checks, and the
 * answers' HTTP side (logs, counts). Must not: read API bodies (the inbox and api.c do) or touch
 * WebSocket sessions.
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "board.h"
#include "http.h"
#include "mqedge/base/clock.h"
#include "mqedge/base/log.h"
#include "metrics.h"
#include "mqedge/bridge/bridge.h"
#include "mqedge/wire/api_body.h"
#include "mqedge/wire/prom_merge.h"

/* One HTTP API request in progress. */
struct http_req {
	struct lws *wsi;
	enum api_endpoint ep;
	char *body;
	size_t len, cap;
	bool answered;		/* the response is ready in out */
	unsigned status;
	char *out;
	size_t out_len;
	int64_t started_ms;	/* for the api_request log line */
};

void http_client_addr(const struct edge *e, struct lws *wsi, char *buf, size_t len)
{
	char peer[NETADDR_TEXT_MAX + 8], xff[512];
	int n = -1;

	if (!lws_get_peer_simple(wsi, peer, sizeof(peer)))
		snprintf(peer, sizeof(peer), "?");
	/* an IPv4 client of a dual-stack socket: show it as IPv4 */
	if (!strncmp(peer, "::ffff:", 7) && strchr(peer + 7, '.'))
		memmove(peer, peer + 7, strlen(peer + 7) + 1);
	if (e->cfg->trusted.count)
		n = lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR);
	netaddr_client(&e->cfg->trusted, peer, n > 0 ? xff : NULL, buf, len);
}

/* One info line per API call (never for probes and scrapes: they would drown it), and its count. */
static void log_api(struct edge *e, struct lws *wsi, enum api_endpoint ep, unsigned status, const char *error,
		    size_t body_bytes, int64_t started_ms)
{
	char addr[NETADDR_TEXT_MAX + 1];

	e->api.stats.responses[ep][api_status_index(status)]++;
	http_client_addr(e, wsi, addr, sizeof(addr));
	log_info("api_request", "path=%s status=%u error=%s body_bytes=%zu ms=%lld addr=%s", api_endpoint_path(ep), status,
		 error ? error : "-", body_bytes, started_ms ? (long long)(clock_now_ms() - started_ms) : 0LL, addr);
}

static int api_error(struct edge *e, struct lws *wsi, enum api_endpoint ep, unsigned status, const char *code,
		     const char *message, bool complete)
{
	log_api(e, wsi, ep, status, code, 0, 0);
	return http_json_error(wsi, status, code, message, complete);
}

/* Sends a complete HTTP response, with one extra header when extra_name ("name:") is not NULL.
 * Returns 0, or -1 to drop the connection. */
static int respond_with(struct lws *wsi, unsigned status, const char *ctype, const char *body, size_t len,
			bool complete, const char *extra_name, const char *extra_value)
{
	unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
	unsigned char *buf = malloc(LWS_PRE + len + 1);
	int rc = -1;

	if (!buf)
		return -1;
	memcpy(buf + LWS_PRE, body, len);
	if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (unsigned char *)"no-store", 8, &p, end) ||
	    (extra_name && lws_add_http_header_by_name(wsi, (const unsigned char *)extra_name,
						       (const unsigned char *)extra_value, (int)strlen(extra_value), &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		goto done;
	if (len && lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) != (int)len)
		goto done;
	rc = complete && lws_http_transaction_completed(wsi) ? -1 : 0;
done:
	free(buf);
	return rc;
}

static int respond(struct lws *wsi, unsigned status, const char *ctype, const char *body, size_t len, bool complete)
{
	return respond_with(wsi, status, ctype, body, len, complete, NULL, NULL);
}

int http_json_error(struct lws *wsi, unsigned status, const char *code, const char *message, bool complete)
{
	char body[API_BODY_ERROR_MAX];

	return respond(wsi, status, "application/json", body, (size_t)api_body_error(body, code, message), complete);
}

int http_upgrade_required(struct lws *wsi)
{
	char body[API_BODY_ERROR_MAX];
	int n = api_body_error(body, "bad_version", "this server speaks WebSocket version 13 (RFC 6455)");

	return respond_with(wsi, 426, "application/json", body, (size_t)n, false, "sec-websocket-version:", "13");
}

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

static bool api_authorized(const struct edge *e, struct lws *wsi)
{
	char buf[512];

	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_AUTHORIZATION) > 7 && !strncasecmp(buf, "Bearer ", 7))
		return key_matches(e->cfg->api_key, buf + 7);
	if (lws_hdr_custom_copy(wsi, buf, sizeof(buf), "x-api-key:", 10) > 0)
		return key_matches(e->cfg->api_key, buf);
	return false;
}

/* GET /api/v1/info, answered at once. */
static int on_info(struct edge *e, struct lws *wsi)
{
	struct textbuf text = { 0 };
	int rc;

	edge_list_info(&e->edge_list, clock_now_ms(), &text);
	if (text.oom) {
		rc = api_error(e, wsi, API_INFO, 500, "internal", "out of memory", true);
	} else {
		log_api(e, wsi, API_INFO, 200, NULL, 0, 0);
		rc = respond(wsi, 200, "application/json", text.p, text.len, true);
	}
	textbuf_free(&text);
	return rc;
}

/* Starts an API request: checks method, key and size; the body follows (info answers now). */
static int on_api(struct edge *e, struct lws *wsi, struct http_req **req, enum api_endpoint ep)
{
	bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	char clen[32];
	long len = -1;

	if (!e->cfg->api_key)
		return api_error(e, wsi, ep, 404, "not_found", "the HTTP API is disabled (no api-key)", true);
	if (ep == API_INFO ? !get : lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
		return api_error(e, wsi, ep, 405, "method_not_allowed",
				 ep == API_INFO ? "GET the edges' information" :
				 ep == API_NOTIFICATIONS ? "POST a notification" : "POST a JSON body", true);
	if (!api_authorized(e, wsi)) {
		e->stats.auth_failures++;
		return api_error(e, wsi, ep, 401, "unauthorized", "a valid API key is required", true);
	}
	if (ep == API_INFO)
		return on_info(e, wsi);
	if (lws_hdr_copy(wsi, clen, sizeof(clen), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
		len = strtol(clen, NULL, 10);
	if (len > e->cfg->api_max_body)
		return api_error(e, wsi, ep, 413, "too_large", "the body is larger than api-max-body", true);
	*req = calloc(1, sizeof(**req));
	if (!*req)
		return api_error(e, wsi, ep, 500, "internal", "out of memory", true);
	(*req)->wsi = wsi;
	(*req)->ep = ep;
	(*req)->started_ms = clock_now_ms();
	return 0;
}

const char *http_not_ready_reason(const struct edge *e)
{
	if (e->draining)
		return "draining";
	if (!bridge_is_up(e->bridge))
		return "broker_down";
	if (!e->revocations.loaded)
		return "revocations_loading";
	if (!e->notify.inbox)
		return "store_unavailable";
	if (inbox_write_failing(e->notify.inbox))
		return "store_write_failing";
	if (!bridge_is_up(e->inbox_bridge))
		return "inbox_broker_down";
	return NULL;
}

static int readyz(struct edge *e, struct lws *wsi)
{
	static const char ready[] = "{\"status\":\"ready\"}";
	const char *why = http_not_ready_reason(e);

	if (!why)
		return respond(wsi, 200, "application/json", ready, sizeof(ready) - 1, true);
	return http_json_error(wsi, 503, why, "not ready", true);
}

/* --workers: ready when this worker and every other running worker is (the kernel hands new
 * connections to any of them); a worker being restarted takes none and is left out. */
static int workers_readyz(struct edge *e, struct lws *wsi)
{
	unsigned n = board_workers(e->board), running = 0;
	int64_t now = clock_now_ms();
	char body[128], message[96], none[1];
	const char *why = http_not_ready_reason(e);
	int len;

	if (why) {
		snprintf(message, sizeof(message), "worker %d: not ready", e->cfg->worker_index);
		return http_json_error(wsi, 503, why, message, true);
	}
	for (unsigned k = 0; k < n; k++) {
		struct board_view v;

		board_read(e->board, k, &v, none, 0);
		if (!v.pid)
			continue;
		running++;
		if ((int)k == e->cfg->worker_index)
			continue;
		why = v.not_ready[0] ? v.not_ready : !v.posted_ms ? "worker_starting"
			: now - v.posted_ms > BOARD_STALE_MS ? "worker_stalled" : NULL;
		if (why) {
			snprintf(message, sizeof(message), "worker %u: not ready", k);
			return http_json_error(wsi, 503, why, message, true);
		}
	}
	len = snprintf(body, sizeof(body), "{\"status\":\"ready\",\"workers\":%u}", running);
	return respond(wsi, 200, "application/json", body, (size_t)len, true);
}

/* --workers: every worker's metrics (this one's fresh, the others' from their last post, at most
 * a second old), each sample labelled worker="k", plus whether each runs and its restarts. */
static void workers_metrics(struct edge *e, struct textbuf *out)
{
	unsigned n = board_workers(e->board);
	struct prom_source *src = calloc(n, sizeof(*src));
	struct textbuf *texts = calloc(n, sizeof(*texts));
	char (*labels)[12] = calloc(n, sizeof(*labels));
	struct textbuf own = { 0 };

	if (!src || !texts || !labels) {
		out->oom = true;
		goto done;
	}
	const char *why = http_not_ready_reason(e);

	metrics_render(e, &own);
	if (!own.oom)
		board_post(e->board, (unsigned)e->cfg->worker_index, why ? why : "", own.p, own.len);
	for (unsigned k = 0; k < n; k++) {
		struct board_view v;
		char *buf = textbuf_reserve(&texts[k], BOARD_METRICS_MAX);

		if (!buf)
			break;
		board_read(e->board, k, &v, buf, BOARD_METRICS_MAX);
		texts[k].len = v.metrics_len;
		textbuf_printf(&texts[k],
			       "# HELP mqedge_worker_up Whether the worker runs (--workers).\n# TYPE mqedge_worker_up gauge\n"
			       "mqedge_worker_up %d\n"
			       "# HELP mqedge_worker_restarts_total Times the supervisor started the worker again.\n"
			       "# TYPE mqedge_worker_restarts_total counter\nmqedge_worker_restarts_total %llu\n",
			       v.pid ? 1 : 0, (unsigned long long)v.restarts);
		if (texts[k].oom) {
			out->oom = true;
			goto done;
		}
		snprintf(labels[k], sizeof(labels[k]), "%u", k);
		src[k] = (struct prom_source){ texts[k].p, texts[k].len, labels[k] };
	}
	prom_merge(out, "worker", src, n);
done:
	for (unsigned k = 0; texts && k < n; k++)
		textbuf_free(&texts[k]);
	textbuf_free(&own);
	free(texts);
	free(src);
	free(labels);
}

int http_on_request(struct edge *e, struct lws *wsi, struct http_req **req, const char *path)
{
	static const char healthy[] = "{\"status\":\"ok\"}";
	int ep = api_endpoint_of(path);

	if (ep >= 0)
		return on_api(e, wsi, req, (enum api_endpoint)ep);
	if (!strcmp(path, "/")) {
		/* a person who opens the edge's address in a browser: the demo if it is served, else
		 * what is here */
		static const char index[] = "mqedge " MQEDGE_VERSION "\n\n"
					    "/ws        WebSocket endpoint (token in ?token=, Authorization or a cookie)\n"
					    "/healthz   liveness\n/readyz    readiness\n/metrics   Prometheus metrics\n"
					    "/api/v1/notifications   the notification API (with api-key)\n"
					    "/api/v1/publish, /api/v1/broadcast, /api/v1/disconnect, /api/v1/info   the server API (with api-key)\n";

		if (e->cfg->web_root)
			return respond_with(wsi, 302, "text/plain", "", 0, true, "location:", "/demo/");
		return respond(wsi, 200, "text/plain; charset=utf-8", index, sizeof(index) - 1, true);
	}
	if (!strcmp(path, "/healthz"))
		return respond(wsi, 200, "application/json", healthy, sizeof(healthy) - 1, true);
	if (!strcmp(path, "/readyz"))
		return e->board ? workers_readyz(e, wsi) : readyz(e, wsi);
	if (!strcmp(path, "/metrics")) {
		struct textbuf text = { 0 };
		int rc;

		if (e->board)
			workers_metrics(e, &text);
		else
			metrics_render(e, &text);
		if (text.oom)
			rc = http_json_error(wsi, 500, "internal", "out of memory", true);
		else
			rc = respond(wsi, 200, "text/plain; version=0.0.4", text.p, text.len, true);
		textbuf_free(&text);
		return rc;
	}
	return http_json_error(wsi, 404, "not_found", "no such resource", true);
}

int http_on_body(struct edge *e, struct lws *wsi, struct http_req *r, const char *in, size_t len)
{
	if (!r)
		return -1;
	if (!len)
		return 0;
	if (r->len + len > (size_t)e->cfg->api_max_body) {
		api_error(e, wsi, r->ep, 413, "too_large", "the body is larger than api-max-body", false);
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

/* The answer (the inbox's or api.c's), now or after the broker acknowledged: write it when writable. */
static void api_done(void *ctx, unsigned status, const char *json, size_t len)
{
	struct http_req *r = ctx;

	r->out = malloc(len ? len : 1);
	if (r->out)
		memcpy(r->out, json, len);
	r->out_len = r->out ? len : 0;
	r->status = r->out ? status : 500;
	r->answered = true;
	lws_callback_on_writable(r->wsi);
}

int http_on_body_done(struct edge *e, struct http_req *r)
{
	if (!r)
		return -1;
	if (r->ep == API_NOTIFICATIONS)
		notify_http_submit(&e->notify, r->body ? r->body : "", r->len, api_done, r);
	else
		api_submit(e, r->ep, r->body ? r->body : "", r->len, api_done, r);
	return 0;
}

static void req_free(struct http_req **req)
{
	if (!*req)
		return;
	free((*req)->body);
	free((*req)->out);
	free(*req);
	*req = NULL;
}

/* The code of an error body (api_body_error writes it first, never escaped), or NULL. */
static const char *error_code_of(const struct http_req *r, char *buf, size_t buflen)
{
	static const char head[] = "{\"error\":\"";
	const size_t hl = sizeof(head) - 1;
	const char *end;

	if (r->status < 300 || !r->out || r->out_len <= hl || memcmp(r->out, head, hl))
		return NULL;
	end = memchr(r->out + hl, '"', r->out_len - hl);
	if (!end || (size_t)(end - r->out) - hl >= buflen)
		return NULL;
	memcpy(buf, r->out + hl, (size_t)(end - r->out) - hl);
	buf[(size_t)(end - r->out) - hl] = '\0';
	return buf;
}

int http_on_writeable(struct edge *e, struct lws *wsi, struct http_req **req)
{
	struct http_req *r = *req;
	char code[32];
	int rc;

	if (!r || !r->answered)
		return 0;
	/* detach it first: completing the transaction lets lws reset a keep-alive connection for the
	 * next request, which frees the per-connection memory *req lives in */
	*req = NULL;
	log_api(e, wsi, r->ep, r->status, error_code_of(r, code, sizeof(code)), r->len, r->started_ms);
	rc = respond(wsi, r->status, "application/json", r->out, r->out_len, true);
	req_free(&r);
	return rc;
}

void http_on_closed(struct edge *e, struct http_req **req)
{
	if (!*req)
		return;
	if ((*req)->ep == API_NOTIFICATIONS)
		notify_http_cancel(&e->notify, *req);
	else
		api_cancel(e, *req);
	req_free(req);
}
