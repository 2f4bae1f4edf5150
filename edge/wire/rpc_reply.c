/*
 * rpc_reply.c - validation of a backend's rpc answer (rpc_reply.h).
 * Owns: the answer's shape. Must not: know requests, correlation or clients (edge/rpc does).
 */
#include <stddef.h>
#include <string.h>

#include "mqedge/wire/rpc_reply.h"

struct reply_fields {
	struct json_span data, error;
	int others;		/* members besides data and error */
};

struct error_fields {
	struct json_span code, message;
	int others;
};

static int count_reply(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value, size_t len)
{
	struct reply_fields *f = ctx;
	struct json_span *slot = NULL;

	if (!key_escaped && keylen == 4 && !memcmp(key, "data", 4))
		slot = &f->data;
	else if (!key_escaped && keylen == 5 && !memcmp(key, "error", 5))
		slot = &f->error;
	if (!slot || slot->p) {
		f->others++;	/* an unknown or repeated member */
		return 0;
	}
	*slot = (struct json_span){ value, len };
	return 0;
}

static int count_error(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value, size_t len)
{
	struct error_fields *f = ctx;
	struct json_span *slot = NULL;

	if (!key_escaped && keylen == 4 && !memcmp(key, "code", 4))
		slot = &f->code;
	else if (!key_escaped && keylen == 7 && !memcmp(key, "message", 7))
		slot = &f->message;
	if (!slot || slot->p) {
		f->others++;
		return 0;
	}
	*slot = (struct json_span){ value, len };
	return 0;
}

bool rpc_reply_code_valid(const char *s, size_t len)
{
	if (len == 0 || len > RPC_REPLY_CODE_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

int rpc_reply_parse(const char *payload, size_t len, struct rpc_reply *out)
{
	struct reply_fields rf = { 0 };
	struct error_fields ef = { 0 };
	struct json_span code;
	const char *value;
	size_t value_len;
	bool is_object;

	memset(out, 0, sizeof(*out));
	if (jsontext_validate(payload, len, &is_object, &value, &value_len, count_reply, &rf) || !is_object ||
	    rf.others || !rf.data.p == !rf.error.p)
		return -1;
	if (rf.data.p) {
		out->data = rf.data;
		return 0;
	}
	/* the error object was validated with the payload: only its members are read here */
	if (jsontext_validate(rf.error.p, rf.error.len, &is_object, &value, &value_len, count_error, &ef) ||
	    !is_object || ef.others || !ef.code.p || !jsontext_plain_string(ef.code, &code) ||
	    !rpc_reply_code_valid(code.p, code.len))
		return -1;
	if (ef.message.p && (ef.message.p[0] != '"' || ef.message.len > RPC_REPLY_MESSAGE_MAX))
		return -1;
	out->is_error = true;
	out->code = code;
	out->message = ef.message.p ? ef.message : (struct json_span){ "\"\"", 2 };
	return 0;
}
