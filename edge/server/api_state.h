/*
 * api_state.h - private to edge/server: what the server API (api.h) keeps in struct edge: its
 * calls waiting for PUBACKs and its counters. Data only, apart from the
 * endpoint and status lists its counters are indexed by (api.c).
 */
#ifndef MQEDGE_API_STATE_H
#define MQEDGE_API_STATE_H

#include <stddef.h>
#include <stdint.h>

struct api_call;

/* Every HTTP API endpoint, the notification API included (for logs and metrics). */
enum api_endpoint { API_NOTIFICATIONS, API_PUBLISH, API_BROADCAST, API_DISCONNECT, API_INFO, API_N_ENDPOINTS };

/* The statuses the API answers with, as counted by /metrics; anything else counts as "other". */
#define API_N_STATUSES 10
extern const unsigned api_statuses[API_N_STATUSES];	/* the last is 0: other */
size_t api_status_index(unsigned status);

struct api_stats {
	uint64_t responses[API_N_ENDPOINTS][API_N_STATUSES];
	uint64_t disconnects_received, disconnect_closes, disconnects_malformed;
};

struct api {
	struct api_call *calls;		/* waiting for PUBACKs (their cookies are the bridge's) */
	struct api_stats stats;
};

#endif
