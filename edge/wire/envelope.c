/*
 * envelope.c - the MQTT payload format: classify a payload, read an envelope's fields in place,
 * and write an envelope. Owns: the envelope's field rules. Must not: allocate, or know topics.
 */
#include <stdio.h>
#include <string.h>

#include "mqedge/wire/envelope.h"
#include "mqedge/wire/jsontext.h"
#include "mqedge/wire/topics.h"

struct fields {
	bool has_v, v_ok, bad;
	const char *id, *from, *ts, *data, *enc;
	size_t id_len, from_len, ts_len, data_len, enc_len;
};

static bool key_is(const char *key, size_t keylen, const char *want)
{
	return keylen == strlen(want) && !memcmp(key, want, keylen);
}

/* A JSON string value without escapes: points inside the quotes. */
static bool plain_string(const char *value, size_t len, const char **s, size_t *slen)
{
	struct json_span out;

	if (!jsontext_plain_string((struct json_span){ value, len }, &out))
		return false;
	*s = out.p;
	*slen = out.len;
	return true;
}

static int on_member(void *ctx, const char *key, size_t keylen, bool key_escaped,
		     const char *value, size_t len)
{
	struct fields *f = ctx;

	if (key_escaped)
		return 0;	/* our keys are plain; an escaped key is someone else's field */
	if (key_is(key, keylen, "v")) {
		f->has_v = true;
		f->v_ok = len == 1 && value[0] == '1';
	} else if (key_is(key, keylen, "id")) {
		if (!plain_string(value, len, &f->id, &f->id_len))
			f->bad = true;
	} else if (key_is(key, keylen, "from")) {
		if (len == 4 && !memcmp(value, "null", 4))
			f->from = NULL;
		else if (!plain_string(value, len, &f->from, &f->from_len))
			f->bad = true;
	} else if (key_is(key, keylen, "ts")) {
		f->ts = value;
		f->ts_len = len;
	} else if (key_is(key, keylen, "data")) {
		f->data = value;
		f->data_len = len;
	} else if (key_is(key, keylen, "enc")) {
		if (!plain_string(value, len, &f->enc, &f->enc_len))
			f->bad = true;
	}
	return 0;
}

int envelope_validate_id(const char *id, size_t len)
{
	if (len == 0 || len > ENVELOPE_ID_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!topics_id_char((unsigned char)id[i]))
			return -1;
	return 0;
}

/* True when the members make a valid envelope; fills env's fields. */
static bool envelope_fields_ok(const struct fields *f, bool is_object, struct envelope *env)
{
	if (!is_object || !f->has_v || !f->v_ok || f->bad || !f->id || !f->data ||
	    envelope_validate_id(f->id, f->id_len) || (f->from && topics_validate_id(f->from, f->from_len)))
		return false;
	if (f->ts && jsontext_parse_uint(f->ts, f->ts_len, &env->ts))
		return false;
	if (f->enc) {
		if (f->data[0] != '"')
			return false;
		if (f->enc_len == 4 && !memcmp(f->enc, "text", 4))
			env->enc = ENC_TEXT;
		else if (f->enc_len == 6 && !memcmp(f->enc, "base64", 6))
			env->enc = ENC_BASE64;
		else
			return false;
	}
	env->id = f->id;
	env->id_len = f->id_len;
	env->from = f->from;
	env->from_len = f->from ? f->from_len : 0;
	env->data = f->data;
	env->data_len = f->data_len;
	return true;
}

enum payload_kind envelope_parse(const void *payload, size_t len, struct envelope *env)
{
	struct fields f;
	bool is_object;
	const char *value;
	size_t value_len;

	memset(env, 0, sizeof(*env));
	memset(&f, 0, sizeof(f));
	env->ts = -1;
	if (jsontext_validate(payload, len, &is_object, &value, &value_len, on_member, &f) == 0) {
		/* an envelope is exactly what PROTOCOL.md section 5 says; any other JSON is data */
		if (envelope_fields_ok(&f, is_object, env))
			return PAYLOAD_ENVELOPE;
		memset(env, 0, sizeof(*env));
		env->ts = -1;
		env->data = value;
		env->data_len = value_len;
		return PAYLOAD_JSON;
	}
	env->data = payload;
	env->data_len = len;
	if (utf8_valid(payload, len)) {
		env->enc = ENC_TEXT;
		return PAYLOAD_TEXT;
	}
	env->enc = ENC_BASE64;
	return PAYLOAD_BINARY;
}

size_t envelope_build_size(size_t id_len, size_t from_len, size_t data_len)
{
	/* {"v":1,"id":"","ts":,"from":"","data":} is 39 bytes; ts has at most 19 digits */
	return 39 + 19 + id_len + from_len + data_len + 1;
}

int envelope_build(char *buf, size_t buflen, const char *id, int64_t ts, const char *from,
		   const char *data, size_t data_len)
{
	int n;

	if (from)
		n = snprintf(buf, buflen, "{\"v\":1,\"id\":\"%s\",\"ts\":%lld,\"from\":\"%s\",\"data\":",
			     id, (long long)ts, from);
	else
		n = snprintf(buf, buflen, "{\"v\":1,\"id\":\"%s\",\"ts\":%lld,\"data\":", id, (long long)ts);
	if (n < 0 || (size_t)n + data_len + 1 >= buflen)
		return -1;
	memcpy(buf + n, data, data_len);
	buf[n + data_len] = '}';
	buf[n + data_len + 1] = '\0';
	return n + (int)data_len + 1;
}
