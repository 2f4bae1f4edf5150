/*
 * rpc.h - request/response between clients and backends over the broker (docs/PROTOCOL.md
 * section 11): a client's rpc op becomes an MQTT 5 request to {prefix}/rpc/{method} with this
 * edge's response topic and a correlation id; the backend's answer (or the broker's "no
 * subscriber", or the method's timeout) becomes the client's ok or error.
 *
 * Reaches connections only through fan-out and the broker only through the bridge. Permissions
 * are the caller's business (dispatch checks the token's rpc patterns first).
 */
#ifndef MQEDGE_RPC_H
#define MQEDGE_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/strmap.h"
#include "mqedge/bridge/bridge.h"
#include "mqedge/fanout/fanout.h"
#include "mqedge/wire/client_frame.h"

/* The largest answer passed on to a client; a larger one is bad_reply. */
#define RPC_REPLY_MAX_BYTES (1024 * 1024)
#define RPC_TIMEOUT_MAX_MS (10 * 60 * 1000)

struct rpc_call;

struct rpc_options {
	const char *topic_prefix;
	const char *edge_id;
	int64_t boot_ms;		/* this run's start: part of every correlation id */
	int64_t timeout_ms;		/* default */
	const char *timeouts;		/* PATTERN=MS,... first match wins; "" none */
	uint32_t max_inflight;		/* per caller */
	/* Asks the owner to call rpc_tick within delay_ms (the next deadline). */
	void (*schedule)(void *ctx, int64_t delay_ms);
	void *schedule_ctx;
};

/* Who asks: embedded in the caller's session, which keeps it alive while its peer is. */
struct rpc_caller {
	struct peer *peer;
	const char *user, *kind, *session;	/* the caller's, for the request's user properties */
	struct rpc_call *calls;			/* in flight */
	uint32_t inflight;
};

struct rpc_stats {
	uint64_t requests;
	uint64_t ok, backend_error, bad_reply, timeout, no_backend, unavailable, too_many, internal;
	uint64_t late;			/* answers for no request in flight: late, repeated or unknown */
	uint64_t inflight;		/* gauge */
};

struct rpc_timeout_pattern {
	const char *pattern;		/* a part of timeouts_text */
	int64_t ms;
};

struct rpc {
	struct rpc_options opt;
	struct fanout *fo;
	struct bridge *bridge;		/* NULL until rpc_start */
	struct bridge_sub *reply_sub;
	char reply_topic[TOPICS_TOPIC_MAX];
	char *timeouts_text;		/* the timeouts option, split in place */
	struct rpc_timeout_pattern *pats;
	size_t n_pats;
	struct strmap calls;		/* correlation id -> struct rpc_call */
	struct rpc_call *first, *last;	/* unanswered calls by deadline, earliest first */
	uint64_t seq;
	struct rpc_stats stats;
};

/* Reads the options (copied; timeouts is parsed). Returns 0, or -EINVAL with a message in err. */
int rpc_init(struct rpc *r, const struct rpc_options *opt, struct fanout *fo, char *err, size_t errlen);
/* Subscribes this edge's response topic on b (the live bridge) and starts taking requests. */
int rpc_start(struct rpc *r, struct bridge *b);
/* Every call still open is answered unavailable; then frees everything. */
void rpc_fini(struct rpc *r);

/* The timeout of method (the first matching pattern's, else the default). */
int64_t rpc_timeout_of(const struct rpc *r, const char *method);

/* op is an rpc op the caller may make: publishes the request, answers the client later (ok or
 * error, always exactly once, through fan-out); refusals are answered at once. */
void rpc_call(struct rpc *r, struct rpc_caller *c, const struct client_op *op, int64_t now_ms);
/* The caller is going away: its open calls are kept (their answers are dropped, not counted late). */
void rpc_caller_gone(struct rpc *r, struct rpc_caller *c);

/* From the live bridge: a message on this edge's response topic. */
void rpc_on_reply(struct rpc *r, const void *payload, size_t len, const struct bridge_msg_props *props);
/* Deadlines passed by now_ms are answered timeout. Returns ms until the next deadline, or -1. */
int64_t rpc_tick(struct rpc *r, int64_t now_ms);

#endif
