/*
 * history_sync.c - the window exchange between edges (history_sync.h).
 * Owns: the request and reply formats. Must not: know windows or frames (edge/history does).
 */
#include <stdio.h>
#include <string.h>

#include "mqedge/wire/history_sync.h"
#include "mqedge/wire/topics.h"

static int valid_nonce(const char *p, size_t len)
{
	if (len == 0 || len > HISTORY_SYNC_NONCE_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z')))
			return -1;
	return 0;
}

/* The space-terminated word at *pos; moves past the space (or to end). */
static int word(const char *p, size_t end, size_t *pos, const char **w, size_t *wlen, char stop)
{
	size_t i = *pos;

	while (i < end && p[i] != stop)
		i++;
	if (i == *pos || i == end)
		return -1;
	*w = p + *pos;
	*wlen = i - *pos;
	*pos = i + 1;
	return 0;
}

static int number(const char *w, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (w[i] < '0' || w[i] > '9' || v > (max - (uint64_t)(w[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(w[i] - '0');
	}
	*out = v;
	return 0;
}

int history_sync_request(char *buf, size_t cap, const char *edge, const char *nonce)
{
	int n = snprintf(buf, cap, "%s %s", edge, nonce);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int history_sync_parse_request(const char *p, size_t len, struct history_request *out)
{
	const char *sp = memchr(p, ' ', len);

	if (!sp)
		return -1;
	out->edge = p;
	out->edge_len = (size_t)(sp - p);
	out->nonce = sp + 1;
	out->nonce_len = len - out->edge_len - 1;
	return topics_validate_id(out->edge, out->edge_len) || valid_nonce(out->nonce, out->nonce_len) ? -1 : 0;
}

void history_sync_reply_header(struct textbuf *b, const char *room, const char *nonce, const char *epoch,
			       uint64_t last, uint32_t count, const char *from)
{
	textbuf_printf(b, "MQH1 %s %s %s %llu %u %s\n", room, nonce, epoch, (unsigned long long)last, count, from);
}

void history_sync_reply_record(struct textbuf *b, int64_t ms, const char *text, size_t len)
{
	textbuf_printf(b, "%lld %zu\n", (long long)ms, len);
	textbuf_append(b, text, len);
}

int history_sync_parse_reply(const char *p, size_t len, struct history_reply *out)
{
	const char *nl = memchr(p, '\n', len), *w;
	size_t end, pos = 5, wlen;
	uint64_t v;

	if (!nl || len < 5 || memcmp(p, "MQH1 ", 5))
		return -1;
	end = (size_t)(nl - p);
	if (word(p, end, &pos, &out->room, &out->room_len, ' ') || topics_validate_id(out->room, out->room_len) ||
	    word(p, end, &pos, &out->nonce, &out->nonce_len, ' ') || valid_nonce(out->nonce, out->nonce_len) ||
	    word(p, end, &pos, &out->epoch, &out->epoch_len, ' ') ||
	    word(p, end, &pos, &w, &wlen, ' ') || number(w, wlen, UINT64_MAX / 2, &out->last) ||
	    word(p, end, &pos, &w, &wlen, ' ') || number(w, wlen, UINT32_MAX, &v) || v > out->last)
		return -1;
	out->count = (uint32_t)v;
	out->from = p + pos;
	out->from_len = end - pos;
	if (topics_validate_id(out->from, out->from_len))
		return -1;
	out->body = end + 1;
	return 0;
}

int history_sync_next_record(const char *p, size_t len, size_t *pos, int64_t *ms, const char **text,
			     size_t *text_len)
{
	const char *nl, *w;
	size_t at = *pos, wlen, line_end;
	uint64_t v;

	if (at == len)
		return 0;
	nl = memchr(p + at, '\n', len - at);
	if (!nl)
		return -1;
	line_end = (size_t)(nl - p);
	if (word(p, line_end, &at, &w, &wlen, ' ') || number(w, wlen, INT64_MAX, &v))
		return -1;
	*ms = (int64_t)v;
	if (number(p + at, line_end - at, len, &v) || v > len - line_end - 1)
		return -1;
	*text = p + line_end + 1;
	*text_len = (size_t)v;
	*pos = line_end + 1 + (size_t)v;
	return 1;
}
