/*
 * rpc_reply.h - a backend's answer to an rpc request, as it arrives on the edge's response topic
 * (docs/PROTOCOL.md section 11): {"data":ANY} or {"error":{"code":C,"message":TEXT}}. Pure text:
 * validates and points into the payload, no allocation.
 */
#ifndef MQEDGE_RPC_REPLY_H
#define MQEDGE_RPC_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "mqedge/wire/jsontext.h"

#define RPC_REPLY_CODE_MAX 32
#define RPC_REPLY_MESSAGE_MAX 512	/* bytes of the message's JSON text, quotes included */

struct rpc_reply {
	bool is_error;
	struct json_span data;		/* the answer's JSON text (is_error false) */
	struct json_span code;		/* [a-z0-9_], 1-32 bytes, no quotes (is_error true) */
	struct json_span message;	/* a JSON string, quotes included; "" when absent */
};

/* Reads payload[0..len). Returns 0, or -1 when it is not exactly one of the two shapes (other
 * members, both, neither, a bad code or an overlong message). */
int rpc_reply_parse(const char *payload, size_t len, struct rpc_reply *out);

/* True when s[0..len) is a valid error code: 1-32 of a-z 0-9 _ starting with a letter. */
bool rpc_reply_code_valid(const char *s, size_t len);

#endif
