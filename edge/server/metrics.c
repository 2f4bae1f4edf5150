/*
 * metrics.c - /metrics in the Prometheus text exposition format (version 0.0.4).
 * Owns: metric names and help texts. Must not: change any state it reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/bridge/bridge.h"
#include "mqedge/fanout/channels.h"
#include "api.h"
#include "metrics.h"

static void metric(struct textbuf *o, const char *name, const char *type, const char *help, uint64_t v)
{
	textbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, (unsigned long long)v);
}

void metrics_render(const struct edge *e, struct textbuf *o)
{
	static const char *const le[16] = {
		"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
		"0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf",
	};
	const struct edge_stats *st = &e->stats;
	const struct fanout_stats *fs = &e->fanout.stats;
	struct bridge_stats bs;
	uint64_t cum = 0;

	bridge_get_stats(e->bridge, &bs);
	textbuf_printf(o, "# HELP mqedge_connections Open WebSocket sessions by kind.\n# TYPE mqedge_connections gauge\n");
	textbuf_printf(o, "mqedge_connections{kind=\"user\"} %llu\n", (unsigned long long)st->sessions_user);
	textbuf_printf(o, "mqedge_connections{kind=\"device\"} %llu\n", (unsigned long long)st->sessions_device);
	metric(o, "mqedge_connections_opened_total", "counter", "WebSocket sessions opened.", st->connections_opened);
	metric(o, "mqedge_frames_in_total", "counter", "Client frames received.", st->frames_in);
	metric(o, "mqedge_frames_out_total", "counter", "Frames written to clients.", fs->frames_out);
	metric(o, "mqedge_bytes_out_total", "counter", "Bytes written to clients.", fs->bytes_out);
	{
		const struct deflater *dz = &e->fanout.deflate;

		textbuf_printf(o, "# HELP mqedge_deflate_messages_total Messages offered to the shared compressor, by outcome "
				  "(once per message, for every member with permessage-deflate).\n"
				  "# TYPE mqedge_deflate_messages_total counter\n"
				  "mqedge_deflate_messages_total{outcome=\"compressed\"} %llu\n"
				  "mqedge_deflate_messages_total{outcome=\"not_worth\"} %llu\n",
			       (unsigned long long)dz->made, (unsigned long long)dz->not_worth);
		metric(o, "mqedge_deflate_bytes_in_total", "counter", "Payload bytes of the messages compressed.",
		       dz->bytes_in);
		metric(o, "mqedge_deflate_bytes_out_total", "counter", "Their compressed payload bytes.", dz->bytes_out);
	}
	metric(o, "mqedge_writes_total", "counter", "Socket writes (one write may carry several frames).", fs->writes);
	metric(o, "mqedge_deliveries_total", "counter", "Frames queued for a client.", fs->deliveries);
	metric(o, "mqedge_broker_messages_total", "counter", "Broker messages fanned out to local members.",
	       fs->messages_in);
	textbuf_printf(o, "# HELP mqedge_drops_total Messages or deliveries dropped, by reason.\n# TYPE mqedge_drops_total counter\n");
	textbuf_printf(o, "mqedge_drops_total{reason=\"slow_consumer\"} %llu\n", (unsigned long long)fs->drop_slow_consumer);
	textbuf_printf(o, "mqedge_drops_total{reason=\"nomem\"} %llu\n", (unsigned long long)fs->drop_nomem);
	textbuf_printf(o, "mqedge_drops_total{reason=\"no_channel\"} %llu\n", (unsigned long long)fs->drop_no_channel);
	textbuf_printf(o, "mqedge_drops_total{reason=\"duplicate\"} %llu\n", (unsigned long long)fs->drop_duplicate);
	textbuf_printf(o, "mqedge_drops_total{reason=\"bad_topic\"} %llu\n", (unsigned long long)fs->drop_bad_topic);
	textbuf_printf(o, "# HELP mqedge_closes_total Sessions closed by the edge, by reason.\n# TYPE mqedge_closes_total counter\n");
	textbuf_printf(o, "mqedge_closes_total{reason=\"flood\"} %llu\n", (unsigned long long)st->closed_flood);
	textbuf_printf(o, "mqedge_closes_total{reason=\"oversize\"} %llu\n", (unsigned long long)st->closed_oversize);
	textbuf_printf(o, "mqedge_closes_total{reason=\"bad_utf8\"} %llu\n", (unsigned long long)st->closed_bad_utf8);
	textbuf_printf(o, "mqedge_closes_total{reason=\"slow_consumer\"} %llu\n", (unsigned long long)fs->closed_slow);
	textbuf_printf(o, "mqedge_closes_total{reason=\"token_expired\"} %llu\n", (unsigned long long)st->closed_expired);
	metric(o, "mqedge_outq_bytes", "gauge", "Bytes queued for clients, not yet written.", fs->outq_bytes);
	metric(o, "mqedge_auth_failures_total", "counter", "Rejected tokens (handshake and refresh).", st->auth_failures);
	metric(o, "mqedge_handshake_rejects_total", "counter", "Upgrades answered with an HTTP error.",
	       st->handshake_rejects);
	textbuf_printf(o, "# HELP mqedge_wss_sessions_total wss sessions opened, by TLS handshake: a resumed session "
			  "(a ticket) or a full handshake.\n# TYPE mqedge_wss_sessions_total counter\n"
			  "mqedge_wss_sessions_total{handshake=\"full\"} %llu\nmqedge_wss_sessions_total{handshake=\"resumed\"} %llu\n",
		       (unsigned long long)st->wss_full, (unsigned long long)st->wss_resumed);
	if (e->tickets.enabled) {
		const struct tls_ticket_stats *ts = &e->tickets.stats;

		textbuf_printf(o, "# HELP mqedge_tls_tickets_total TLS session tickets, by what happened: issued; "
				  "offered under the current or the previous period's key (OpenSSL then checks MAC and age); refused "
				  "(unknown or expired key: full handshake); error (no ticket, or a full handshake).\n# TYPE mqedge_tls_tickets_total counter\n");
		textbuf_printf(o, "mqedge_tls_tickets_total{result=\"issued\"} %llu\n", (unsigned long long)ts->issued);
		textbuf_printf(o, "mqedge_tls_tickets_total{result=\"current_key\"} %llu\n", (unsigned long long)ts->current_key);
		textbuf_printf(o, "mqedge_tls_tickets_total{result=\"previous_key\"} %llu\n", (unsigned long long)ts->previous_key);
		textbuf_printf(o, "mqedge_tls_tickets_total{result=\"refused\"} %llu\n", (unsigned long long)ts->refused);
		textbuf_printf(o, "mqedge_tls_tickets_total{result=\"error\"} %llu\n", (unsigned long long)ts->errors);
	}
	metric(o, "mqedge_rate_limited_total", "counter", "Frames answered rate_limited.", st->rate_limited);
	metric(o, "mqedge_errors_sent_total", "counter", "Error frames sent.", fs->errors_sent);
	metric(o, "mqedge_channels", "gauge", "Local channels (rooms, user and device topics) with members.",
	       channels_count(e->fanout.channels));
	metric(o, "mqedge_broker_up", "gauge", "1 while the broker session is up.", bridge_is_up(e->bridge));
	metric(o, "mqedge_broker_connects_total", "counter", "Broker sessions established.", bs.connects);
	metric(o, "mqedge_broker_reconnects_total", "counter", "Broker connections lost.", bs.disconnects);
	metric(o, "mqedge_broker_failovers_total", "counter",
	       "Moves to the next broker of the list after the current one stayed unreachable.", bs.failovers);
	{
		const char *host;
		int port;
		size_t idx = bridge_broker(e->bridge, &host, &port);

		textbuf_printf(o, "# HELP mqedge_broker_info The broker the live session is on (or connecting to), with "
				  "its index in the broker list.\n# TYPE mqedge_broker_info gauge\nmqedge_broker_info{broker=\"");
		for (const char *c = host; *c; c++)	/* label value escaping: backslash, quote, newline */
			textbuf_printf(o, *c == '\\' || *c == '"' ? "\\%c" : *c == '\n' ? "\\n" : "%c", *c);
		textbuf_printf(o, ":%d\",index=\"%zu\"} 1\n", port, idx);
	}
	metric(o, "mqedge_resyncs_total", "counter",
	       "Broker sessions back without their session (failover, or a broker that lost it): sessions told with resync.",
	       e->continuity.resyncs);
	metric(o, "mqedge_broker_publishes_total", "counter", "Messages published to the broker.", bs.publishes);
	metric(o, "mqedge_broker_publish_refused_total", "counter", "Publishes refused: outgoing queue full.",
	       bs.publish_refused);
	metric(o, "mqedge_broker_pending", "gauge", "Publishes queued or awaiting PUBACK.", bs.pending);
	metric(o, "mqedge_broker_subscriptions", "gauge", "Topics subscribed on the broker.", bs.subscriptions);
	{
		const struct notify_stats *ns = &e->notify.stats;
		struct inbox_stats is;
		struct bridge_stats ibs;

		memset(&is, 0, sizeof(is));
		if (e->notify.inbox)
			inbox_get_stats(e->notify.inbox, &is);
		bridge_get_stats(e->inbox_bridge, &ibs);
		metric(o, "mqedge_store_up", "gauge", "1 while the inbox store is open.", e->notify.inbox != NULL);
		metric(o, "mqedge_inbox_rows", "gauge", "Notifications stored (refreshed when pruning).", is.rows);
		metric(o, "mqedge_inbox_stored_total", "counter", "Notifications stored.", is.stored);
		metric(o, "mqedge_inbox_duplicates_total", "counter", "Notifications received again and ignored.", is.duplicates);
		metric(o, "mqedge_inbox_pruned_total", "counter", "Notifications pruned (age or per-user cap).", is.pruned);
		metric(o, "mqedge_inbox_commits_total", "counter", "Store transactions committed.", is.commits);
		textbuf_printf(o, "# HELP mqedge_inbox_commit_seconds_max Slowest store commit so far.\n"
			 "# TYPE mqedge_inbox_commit_seconds_max gauge\nmqedge_inbox_commit_seconds_max %.6f\n",
		     (double)is.commit_us_max / 1e6);
		metric(o, "mqedge_store_errors_total", "counter", "Store (SQLite) errors, opening included.",
		       is.errors + ns->store_open_failures);
		metric(o, "mqedge_inbox_checkpoints_total", "counter", "WAL checkpoints (on the checkpoint thread).",
		       is.checkpoints);
		metric(o, "mqedge_inbox_commit_failures_total", "counter", "Batches not stored (not acknowledged).",
		       ns->commit_failures);
		metric(o, "mqedge_inbox_write_failing", "gauge", "1 from a failed store commit (disk full, I/O error) until one succeeds.",
		       e->notify.inbox && inbox_write_failing(e->notify.inbox));
		metric(o, "mqedge_notifications_received_total", "counter", "Notifications received over MQTT.", ns->received);
		metric(o, "mqedge_notifications_rejected_total", "counter", "Notifications rejected as malformed.", ns->rejected);
		metric(o, "mqedge_notifications_pushed_total", "counter", "Notification frames pushed to sessions.", ns->pushed);
		metric(o, "mqedge_notifications_muted_total", "counter", "Notifications stored muted (not pushed).", ns->muted);
		metric(o, "mqedge_api_requests_total", "counter", "HTTP API requests.", ns->http_requests);
		metric(o, "mqedge_api_errors_total", "counter", "HTTP API requests answered with an error.", ns->http_errors);
		metric(o, "mqedge_inbox_broker_up", "gauge", "1 while the inbox's broker session is up.",
		       bridge_is_up(e->inbox_bridge));
		metric(o, "mqedge_inbox_broker_reconnects_total", "counter", "Inbox broker connections lost.", ibs.disconnects);
	}
	{
		const struct history_stats *hs = &e->history.stats;

		metric(o, "mqedge_history_rooms", "gauge", "History rooms this edge keeps a window of.", hs->rooms);
		textbuf_printf(o, "# HELP mqedge_history_resumes_total Resumes answered, by outcome.\n"
			 "# TYPE mqedge_history_resumes_total counter\n");
		textbuf_printf(o, "mqedge_history_resumes_total{recovered=\"true\"} %llu\n",
			       (unsigned long long)hs->resumes_recovered);
		textbuf_printf(o, "mqedge_history_resumes_total{recovered=\"false\"} %llu\n",
			       (unsigned long long)hs->resumes_failed);
		metric(o, "mqedge_history_replayed_total", "counter", "Messages replayed to resuming clients.", hs->replayed);
		metric(o, "mqedge_history_fetches_total", "counter", "Windows asked of other edges.", hs->fetches);
		metric(o, "mqedge_history_fetches_adopted_total", "counter", "Windows taken over from another edge.",
		       hs->fetches_adopted);
		metric(o, "mqedge_history_fetches_timed_out_total", "counter", "Fetches nobody answered (a new epoch).",
		       hs->fetches_timed_out);
		metric(o, "mqedge_history_epochs_total", "counter", "Epochs started here.", hs->epochs_started);
		metric(o, "mqedge_history_replies_total", "counter", "Windows sent to other edges.", hs->replies_sent);
	}
	{
		const struct rpc_stats *rs = &e->rpc.stats;
		static const char *const results[] = {
			"ok", "backend_error", "bad_reply", "timeout", "no_backend", "unavailable", "too_many_requests", "internal",
		};
		const uint64_t counts[] = {
			rs->ok, rs->backend_error, rs->bad_reply, rs->timeout, rs->no_backend, rs->unavailable, rs->too_many,
			rs->internal,
		};

		metric(o, "mqedge_rpc_requests_total", "counter", "rpc requests allowed by the token (forbidden ones are not counted).",
		       rs->requests);
		textbuf_printf(o, "# HELP mqedge_rpc_results_total rpc requests answered, by result.\n"
			 "# TYPE mqedge_rpc_results_total counter\n");
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
			textbuf_printf(o, "mqedge_rpc_results_total{result=\"%s\"} %llu\n", results[i], (unsigned long long)counts[i]);
		metric(o, "mqedge_rpc_inflight", "gauge", "rpc requests waiting for an answer.", rs->inflight);
		metric(o, "mqedge_rpc_late_total", "counter",
		       "Answers for no request in flight (after its timeout, repeated, or unknown), dropped.", rs->late);
	}
	{
		const struct api_stats *as = &e->api.stats;

		textbuf_printf(o, "# HELP mqedge_http_api_responses_total HTTP API answers, by endpoint and status "
			 "(status \"other\": none of those listed).\n# TYPE mqedge_http_api_responses_total counter\n");
		for (int ep = 0; ep < API_N_ENDPOINTS; ep++) {
			for (size_t i = 0; i < API_N_STATUSES; i++) {
				char status[16];

				if (api_statuses[i])
					snprintf(status, sizeof(status), "%u", api_statuses[i]);
				else
					snprintf(status, sizeof(status), "other");
				textbuf_printf(o, "mqedge_http_api_responses_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
					       api_endpoint_name((enum api_endpoint)ep), status,
					       (unsigned long long)as->responses[ep][i]);
			}
		}
		metric(o, "mqedge_disconnects_received_total", "counter",
		       "Disconnects of a user received from the broker (the server API's, from any edge).",
		       as->disconnects_received);
		metric(o, "mqedge_disconnect_closes_total", "counter", "Connections closed here by a disconnect.",
		       as->disconnect_closes);
		metric(o, "mqedge_revocations", "gauge", "Users whose tokens issued before a time are refused.",
		       revocations_count(&e->revocations));
		metric(o, "mqedge_revocations_loaded", "gauge",
		       "1 once the retained revocations arrived from the broker (user tokens wait for it).",
		       e->revocations.loaded);
		metric(o, "mqedge_tokens_revoked_total", "counter", "Tokens refused as revoked (handshake and refresh).",
		       e->revocations.refused);
	}
	textbuf_printf(o, "# HELP mqedge_fanout_latency_seconds Broker arrival to frame written, per delivery.\n"
		 "# TYPE mqedge_fanout_latency_seconds histogram\n");
	for (int i = 0; i < 16; i++) {
		cum += fs->latency_buckets[i];
		textbuf_printf(o, "mqedge_fanout_latency_seconds_bucket{le=\"%s\"} %llu\n", le[i], (unsigned long long)cum);
	}
	textbuf_printf(o, "mqedge_fanout_latency_seconds_sum %.6f\n", (double)fs->latency_sum_us / 1e6);
	textbuf_printf(o, "mqedge_fanout_latency_seconds_count %llu\n", (unsigned long long)fs->latency_count);
}
