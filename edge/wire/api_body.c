/*
 * api_body.c - HTTP response bodies and the status payload (api_body.h). Owns their field names.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mqedge/wire/api_body.h"
#include "mqedge/wire/jsontext.h"
#include "mqedge/wire/topics.h"

int api_body_error(char *buf, const char *code, const char *message)
{
	size_t mlen = strlen(message);
	int n = snprintf(buf, API_BODY_ERROR_MAX, "{\"error\":\"%s\",\"message\":", code);

	if (n < 0 || n + 4 > API_BODY_ERROR_MAX)
		return snprintf(buf, API_BODY_ERROR_MAX, "{\"error\":\"internal\",\"message\":\"\"}");
	if (mlen > 200)
		mlen = 200;
	/* cut until the escaped text fits, never inside a UTF-8 sequence */
	for (;;) {
		while (mlen && ((unsigned char)message[mlen] & 0xC0) == 0x80)
			mlen--;
		if ((size_t)n + jsontext_escaped_len(message, mlen) + 2 <= API_BODY_ERROR_MAX)
			break;
		mlen--;
	}
	n += (int)jsontext_escape(buf + n, message, mlen);
	buf[n++] = '}';
	buf[n] = '\0';
	return n;
}

void api_body_ids(struct textbuf *b, const char *const *ids, size_t n)
{
	textbuf_puts(b, "{\"ids\":[");
	for (size_t i = 0; i < n; i++)
		textbuf_printf(b, "%s\"%s\"", i ? "," : "", ids[i]);
	textbuf_puts(b, "]}");
}

int api_body_status(char *buf, size_t cap, const char *edge, const char *status, int64_t ts, int64_t boot,
		    const char *version)
{
	return api_body_status_conns(buf, cap, edge, status, ts, boot, version, -1);
}

int api_body_status_conns(char *buf, size_t cap, const char *edge, const char *status, int64_t ts, int64_t boot,
			  const char *version, int64_t connections)
{
	if (connections < 0)
		return snprintf(buf, cap, "{\"edge\":\"%s\",\"status\":\"%s\",\"ts\":%lld,\"boot\":%lld,\"version\":\"%s\"}",
				edge, status, (long long)ts, (long long)boot, version);
	return snprintf(buf, cap,
			"{\"edge\":\"%s\",\"status\":\"%s\",\"ts\":%lld,\"boot\":%lld,\"version\":\"%s\",\"connections\":%lld}",
			edge, status, (long long)ts, (long long)boot, version, (long long)connections);
}

struct status_fields {
	struct json_span edge, status, ts, boot, version, connections;
};

#define FIELD(name) { #name, offsetof(struct status_fields, name) }
static const struct jsontext_field status_table[] = {
	FIELD(edge), FIELD(status), FIELD(ts), FIELD(boot), FIELD(version), FIELD(connections),
};
#undef FIELD

int api_body_status_read(const char *text, size_t len, struct api_status *out)
{
	struct status_fields f;
	struct jsontext_fields collect = { status_table, sizeof(status_table) / sizeof(status_table[0]), &f };
	struct json_span id, status, version;
	bool is_object;
	const char *value;
	size_t vlen;

	memset(&f, 0, sizeof(f));
	if (jsontext_validate(text, len, &is_object, &value, &vlen, jsontext_collect_fields, &collect) || !is_object ||
	    !jsontext_plain_string(f.edge, &id) || topics_validate_id(id.p, id.len) ||
	    !jsontext_plain_string(f.status, &status))
		return -EINVAL;
	out->ts = -1;
	if (f.ts.p && jsontext_parse_uint(f.ts.p, f.ts.len, &out->ts))
		return -EINVAL;
	if (f.boot.p ? jsontext_parse_uint(f.boot.p, f.boot.len, &out->boot) : (out->boot = out->ts) < 0)
		return -EINVAL;
	/* connections arrived later: a status without it (or with something else there) still counts */
	if (!f.connections.p || jsontext_parse_uint(f.connections.p, f.connections.len, &out->connections))
		out->connections = -1;
	out->version[0] = '\0';
	if (jsontext_plain_string(f.version, &version) && version.len <= API_STATUS_VERSION_MAX) {
		memcpy(out->version, version.p, version.len);
		out->version[version.len] = '\0';
	}
	memcpy(out->edge, id.p, id.len);
	out->edge[id.len] = '\0';
	out->online = status.len == 6 && !memcmp(status.p, "online", 6);
	return 0;
}

int api_body_status_parse(const char *text, size_t len, char *edge, bool *online, int64_t *boot)
{
	struct api_status st;

	if (api_body_status_read(text, len, &st))
		return -EINVAL;
	memcpy(edge, st.edge, strlen(st.edge) + 1);
	*online = st.online;
	*boot = st.boot;
	return 0;
}
