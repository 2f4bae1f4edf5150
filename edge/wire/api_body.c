/*
 * api_body.c - HTTP response bodies and the status payload (api_body.h). Owns their field names.
 */
#include <stdio.h>
#include <string.h>

#include "mqedge/wire/api_body.h"
#include "mqedge/wire/jsontext.h"

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

int api_body_status(char *buf, size_t cap, const char *edge, const char *status, int64_t ts, const char *version)
{
	return snprintf(buf, cap, "{\"edge\":\"%s\",\"status\":\"%s\",\"ts\":%lld,\"version\":\"%s\"}", edge, status,
			(long long)ts, version);
}
