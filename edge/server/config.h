/*
 * config.h - every tunable of an edge, in one struct, filled from defaults, then a config file,
 * then command-line flags (later wins). The table in config.c drives parsing, validation and
 * --help, so an option exists in exactly one place.
 */
#ifndef MQEDGE_CONFIG_H
#define MQEDGE_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "mqedge/base/netaddr.h"

#define MQEDGE_VERSION "0.1.0"
#define WORKERS_MAX 64
#define CONFIG_BROKERS_MAX 16

struct edge_config {
	/* listeners */
	char *bind;
	long port;
	long tls_port;
	char *cert;
	char *key;
	bool tls_session_tickets;
	char *tls_ticket_key;	/* the secret ticket keys derive from; config_finish makes a random one if unset */
	long tls_ticket_rotate;	/* seconds */
	char *origins;		/* comma-separated allowlist; empty = any origin */
	char *trusted_proxies;	/* reverse proxies whose X-Forwarded-For is believed */
	struct netaddr_list trusted;	/* derived from trusted_proxies by config_finish */
	char *web_root;		/* directory served at /demo/, or NULL */
	bool permessage_deflate;
	long deflate_min_bytes;	/* 0: frames out uncompressed even when deflate is negotiated */
	/* broker */
	char *broker;		/* HOST:PORT[,HOST:PORT...] as given */
	char *broker_host;	/* derived from broker: its first entry */
	long broker_port;	/* derived from broker: its first entry */
	struct config_broker {
		char *host;
		long port;
	} brokers[CONFIG_BROKERS_MAX];	/* derived from broker: every entry, in order */
	size_t n_brokers;
	long broker_failover_after;	/* seconds a broker may stay unreachable before the next one */
	char *broker_username;
	char *broker_password;
	char *broker_cafile;
	long broker_keepalive;
	char *mqtt_version;	/* "5" or "3.1.1" */
	long offline_queue;
	long offline_queue_bytes;
	/* identity and topics */
	char *topic_prefix;
	char *edge_id;
	char *data_dir;
	/* offline inbox */
	char *inbox_scope;	/* "all" or "served" */
	long inbox_max_per_user;
	long inbox_max_age;	/* seconds */
	long inbox_backlog;
	char *api_key;		/* HTTP API key(s), comma-separated; NULL disables the API */
	long api_max_body;
	long status_interval;	/* seconds between rewrites of the retained status while connections change */
	/* auth */
	char *jwt_secret;
	char *jwt_public_key;
	char *jwt_alg;
	char *jwt_audience;
	char *jwt_issuer;
	bool allow_anonymous;
	char *anonymous_rooms;
	/* per-connection limits */
	long max_frame;
	long max_rooms;
	long max_conns_per_user;
	long rate;
	long burst;
	long rate_strikes;
	long outq_max_bytes;
	long outq_hard_bytes;
	long slow_timeout;	/* seconds */
	long ping_interval;
	long ping_timeout;
	char *presence_rooms;
	long presence_max_members;
	long handshake_timeout;
	char *history_rooms;
	long history_size, history_ttl, history_grace, history_fetch_timeout;
	long rpc_timeout;	/* ms */
	char *rpc_timeouts;	/* METHOD-PATTERN=MS,... */
	long rpc_max_inflight;
	long dedup_window;
	/* process */
	char *log_level;
	char *event_loop;	/* "poll" (lws' own) or "epoll" (libev, lws' evlib plugin) */
	bool check_only;	/* --check-config: validate, print the verdict, start nothing (a flag only) */
	char *workers;		/* "0", N or "auto" as given */
	long n_workers;		/* derived: 0 = one process; N = a supervisor and N workers */
	int worker_index;	/* set in a worker process by the supervisor: 0..N-1; -1 otherwise */
};

/* Fills cfg from defaults, the file named by --config (if any), MQEDGE_* variables, then argv.
 * Returns 0 on success (cfg->check_only set for --check-config),
 * 1 when --help or --version was handled (caller exits 0), -1 on error (message already printed).
 * Strings in cfg are heap copies owned by cfg; release with config_free(). */
int config_load(struct edge_config *cfg, int argc, char **argv);

/* Loads a config file into cfg (used by config_load; exposed for tests). Returns 0 or -1. */
int config_load_file(struct edge_config *cfg, const char *path);

/* Sets one option by its name, e.g. ("port", "8080"). Returns 0 or -1 with a message in err. */
int config_set(struct edge_config *cfg, const char *name, const char *value, char *err, size_t errlen);

/* Fills cfg with defaults only. Returns 0 or -1 on allocation failure. */
int config_defaults(struct edge_config *cfg);

/* Cross-field checks and derived fields (broker host/port, edge id, jwt alg). Returns 0 or -1. */
int config_finish(struct edge_config *cfg, char *err, size_t errlen);

void config_print_help(FILE *out, const char *prog);
void config_free(struct edge_config *cfg);

#endif
