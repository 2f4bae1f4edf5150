/*
 * jsontext.c - strict JSON validation, member spans, escaping and base64, without allocation.
 * Owns: the JSON grammar as text. Must not: allocate, or interpret what members mean.
 */
#include <errno.h>
#include <string.h>

#include "mqedge/wire/jsontext.h"

/* Length of the UTF-8 sequence at p (1..4) when valid, else 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return end - p >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && p[1] < 0xA0)		/* overlong */
			return 0;
		if (c == 0xED && p[1] >= 0xA0)		/* UTF-16 surrogates */
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && p[1] < 0x90)		/* overlong */
			return 0;
		if (c == 0xF4 && p[1] >= 0x90)		/* above U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

bool utf8_valid(const unsigned char *buf, size_t len)
{
	const unsigned char *p = buf, *end = buf + len;

	while (p < end) {
		size_t n;

		if (*p < 0x80) {	/* fast path for ASCII runs */
			p++;
			continue;
		}
		n = utf8_seq(p, end);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

bool utf8_stream_feed(struct utf8_stream *u, const unsigned char *buf, size_t len)
{
	for (const unsigned char *p = buf, *end = buf + len; p < end; p++) {
		unsigned c = *p;

		if (u->need) {
			if (c < u->lo || c > u->hi)
				return false;
			u->need--;
			u->lo = 0x80;
			u->hi = 0xBF;
			continue;
		}
		if (c < 0x80)
			continue;
		u->lo = 0x80;
		u->hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF) {
			u->need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			u->need = 2;
			if (c == 0xE0)
				u->lo = 0xA0;	/* overlong */
			else if (c == 0xED)
				u->hi = 0x9F;	/* UTF-16 surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			u->need = 3;
			if (c == 0xF0)
				u->lo = 0x90;	/* overlong */
			else if (c == 0xF4)
				u->hi = 0x8F;	/* above U+10FFFF */
		} else {
			return false;
		}
	}
	return true;
}

bool jsontext_plain_string(struct json_span v, struct json_span *out)
{
	if (v.len < 2 || v.p[0] != '"' || memchr(v.p + 1, '\\', v.len - 2))
		return false;
	out->p = v.p + 1;
	out->len = v.len - 2;
	return true;
}

struct scan {
	const char *p, *end;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Scans a string starting at the opening quote; leaves p after the closing quote. */
static int scan_string(struct scan *s, bool *escaped)
{
	const unsigned char *p = (const unsigned char *)s->p + 1, *end = (const unsigned char *)s->end;

	*escaped = false;
	while (p < end) {
		unsigned c = *p;

		if (c == '"') {
			s->p = (const char *)p + 1;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			*escaped = true;
			if (++p >= end)
				return -1;
			switch (*p) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p++;
				break;
			case 'u':
				if (end - p < 5)
					return -1;
				for (int i = 1; i <= 4; i++)
					if (hexval((char)p[i]) < 0)
						return -1;
				p += 5;
				break;
			default:
				return -1;
			}
			continue;
		}
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t n = utf8_seq(p, end);

		if (!n)
			return -1;
		p += n;
	}
	return -1;
}

static int scan_number(struct scan *s)
{
	const char *p = s->p, *end = s->end;

	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return -1;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return -1;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return -1;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return -1;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	s->p = p;
	return 0;
}

static int scan_literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return -1;
	s->p += n;
	return 0;
}

static int scan_value(struct scan *s, int depth, jsontext_member_fn on_member, void *ctx);

/* After a member or an element: 1 when ',' says another follows, 0 at the closing character,
 * -1 for anything else. */
static int after_item(struct scan *s, char close)
{
	skip_ws(s);
	if (s->p < s->end && (*s->p == ',' || *s->p == close))
		return *s->p++ == ',' ? 1 : 0;
	return -1;
}

static int scan_object(struct scan *s, int depth, jsontext_member_fn on_member, void *ctx)
{
	s->p++;	/* '{' */
	skip_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		const char *key, *value;
		bool escaped;
		int rc;

		skip_ws(s);
		if (s->p >= s->end || *s->p != '"')
			return -1;
		key = s->p + 1;
		if (scan_string(s, &escaped))
			return -1;
		size_t keylen = (size_t)(s->p - 1 - key);

		skip_ws(s);
		if (s->p >= s->end || *s->p != ':')
			return -1;
		s->p++;
		skip_ws(s);
		value = s->p;
		/* members of nested objects are not reported: only depth 1 has a callback */
		if (scan_value(s, depth + 1, NULL, NULL))
			return -1;
		if (on_member) {
			rc = on_member(ctx, key, keylen, escaped, value, (size_t)(s->p - value));
			if (rc)
				return rc;
		}
		rc = after_item(s, '}');
		if (rc <= 0)
			return rc;
	}
}

static int scan_array(struct scan *s, int depth)
{
	int rc;

	s->p++;	/* '[' */
	skip_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	for (;;) {
		skip_ws(s);
		if (scan_value(s, depth + 1, NULL, NULL))
			return -1;
		rc = after_item(s, ']');
		if (rc <= 0)
			return rc;
	}
}

static int scan_value(struct scan *s, int depth, jsontext_member_fn on_member, void *ctx)
{
	bool escaped;

	if (depth > JSONTEXT_MAX_DEPTH || s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
		return scan_object(s, depth, on_member, ctx);
	case '[':
		return scan_array(s, depth);
	case '"':
		return scan_string(s, &escaped);
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		return scan_number(s);
	}
}

int jsontext_validate(const char *buf, size_t len, bool *is_object, const char **value,
		      size_t *valuelen, jsontext_member_fn on_member, void *ctx)
{
	struct scan s = { buf, buf + len };
	const char *start;
	int rc;

	skip_ws(&s);
	start = s.p;
	*is_object = s.p < s.end && *s.p == '{';
	rc = scan_value(&s, 1, on_member, ctx);
	if (rc)
		return rc;
	*value = start;
	*valuelen = (size_t)(s.p - start);
	skip_ws(&s);
	return s.p == s.end ? 0 : -1;
}

int jsontext_array_items(const char *buf, size_t len, bool *is_array, jsontext_item_fn fn, void *ctx)
{
	struct scan s = { buf, buf + len };
	int rc;

	skip_ws(&s);
	*is_array = s.p < s.end && *s.p == '[';
	if (!*is_array) {
		bool obj;
		const char *v;
		size_t vlen;

		return jsontext_validate(buf, len, &obj, &v, &vlen, NULL, NULL);
	}
	s.p++;
	skip_ws(&s);
	if (s.p < s.end && *s.p == ']') {
		s.p++;
	} else {
		for (;;) {
			const char *item;

			skip_ws(&s);
			item = s.p;
			if (scan_value(&s, 2, NULL, NULL))
				return -1;
			if (fn && (rc = fn(ctx, item, (size_t)(s.p - item))))
				return rc;
			skip_ws(&s);
			if (s.p >= s.end)
				return -1;
			if (*s.p == ',') {
				s.p++;
				continue;
			}
			if (*s.p == ']') {
				s.p++;
				break;
			}
			return -1;
		}
	}
	skip_ws(&s);
	return s.p == s.end ? 0 : -1;
}

/* Bytes needed to write c inside a JSON string. */
static size_t escaped_char_len(unsigned char c)
{
	if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
		return 2;
	return c < 0x20 ? 6 : 1;
}

size_t jsontext_escaped_len(const char *s, size_t len)
{
	size_t n = 2;

	for (size_t i = 0; i < len; i++)
		n += escaped_char_len((unsigned char)s[i]);
	return n;
}

size_t jsontext_escape(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;

	*o++ = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"': *o++ = '\\'; *o++ = '"'; break;
		case '\\': *o++ = '\\'; *o++ = '\\'; break;
		case '\b': *o++ = '\\'; *o++ = 'b'; break;
		case '\f': *o++ = '\\'; *o++ = 'f'; break;
		case '\n': *o++ = '\\'; *o++ = 'n'; break;
		case '\r': *o++ = '\\'; *o++ = 'r'; break;
		case '\t': *o++ = '\\'; *o++ = 't'; break;
		default:
			if (c < 0x20) {
				memcpy(o, "\\u00", 4);
				o[4] = hex[c >> 4];
				o[5] = hex[c & 15];
				o += 6;
			} else {
				*o++ = (char)c;
			}
		}
	}
	*o++ = '"';
	return (size_t)(o - out);
}

size_t base64_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

size_t base64_encode(char *out, const unsigned char *in, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = out;
	size_t i;

	for (i = 0; i + 3 <= len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = tab[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = '=';
	}
	return (size_t)(o - out);
}

int jsontext_parse_uint(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int jsontext_collect_fields(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value,
			    size_t len)
{
	const struct jsontext_fields *f = ctx;

	if (key_escaped)
		return 0;
	for (size_t i = 0; i < f->n; i++) {
		if (strlen(f->table[i].name) == keylen && !memcmp(f->table[i].name, key, keylen)) {
			struct json_span *slot = (struct json_span *)((char *)f->base + f->table[i].offset);

			slot->p = value;
			slot->len = len;
			break;
		}
	}
	return 0;
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

int jsontext_string_decode(struct json_span v, char *out, size_t cap)
{
	const char *p, *end;
	size_t n = 0;

	if (v.len < 2 || v.p[0] != '"' || v.p[v.len - 1] != '"' || !cap)
		return -EINVAL;
	p = v.p + 1;
	end = v.p + v.len - 1;
	while (p < end) {
		unsigned char enc[4];
		size_t elen = 1;
		uint32_t cp, lo;

		if (*p != '\\') {
			enc[0] = (unsigned char)*p++;
		} else {
			if (end - p < 2)
				return -EINVAL;
			switch (p[1]) {
			case '"': enc[0] = '"'; break;
			case '\\': enc[0] = '\\'; break;
			case '/': enc[0] = '/'; break;
			case 'b': enc[0] = '\b'; break;
			case 'f': enc[0] = '\f'; break;
			case 'n': enc[0] = '\n'; break;
			case 'r': enc[0] = '\r'; break;
			case 't': enc[0] = '\t'; break;
			case 'u':
				if (end - p < 6 || hex4(p + 2, &cp))
					return -EINVAL;
				p += 4;
				/* a high surrogate must be followed by an escaped low one */
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					if (end - p < 8 || p[2] != '\\' || p[3] != 'u' || hex4(p + 4, &lo) || lo < 0xDC00 || lo > 0xDFFF)
						return -EINVAL;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
					return -EINVAL;
				}
				if (cp < 0x80) {
					enc[0] = (unsigned char)cp;
				} else if (cp < 0x800) {
					enc[0] = (unsigned char)(0xC0 | cp >> 6);
					enc[1] = (unsigned char)(0x80 | (cp & 0x3F));
					elen = 2;
				} else if (cp < 0x10000) {
					enc[0] = (unsigned char)(0xE0 | cp >> 12);
					enc[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
					enc[2] = (unsigned char)(0x80 | (cp & 0x3F));
					elen = 3;
				} else {
					enc[0] = (unsigned char)(0xF0 | cp >> 18);
					enc[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
					enc[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
					enc[3] = (unsigned char)(0x80 | (cp & 0x3F));
					elen = 4;
				}
				break;
			default:
				return -EINVAL;
			}
			p += 2;
		}
		if (n + elen >= cap)
			return -ENOBUFS;
		memcpy(out + n, enc, elen);
		n += elen;
	}
	out[n] = '\0';
	return (int)n;
}
