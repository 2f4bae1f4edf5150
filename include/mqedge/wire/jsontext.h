/*
 * jsontext.h - zero-allocation JSON text tools for the fan-out path.
 *
 * Payloads from the broker are checked and spliced into outgoing frames as text, never parsed
 * into trees: strict RFC 8259 validation (including UTF-8 inside strings, since a browser drops a
 * connection on one bad text frame), member spans of a top-level object, string escaping and
 * base64 for payloads that are not JSON.
 */
#ifndef MQEDGE_JSONTEXT_H
#define MQEDGE_JSONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting limit, counted in values: a scalar inside 63 arrays is at depth 64 and accepted. */
#define JSONTEXT_MAX_DEPTH 64

/* A piece of JSON text (a value's exact span). */
struct json_span {
	const char *p;
	size_t len;
};

/* True when v is a JSON string without escapes; out gets the text between the quotes. Ids are
 * read this way: an escaped id (say with \u0000 in it) is never taken for another one. */
bool jsontext_plain_string(struct json_span v, struct json_span *out);

/* True when buf[0..len) is well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF). */
bool utf8_valid(const unsigned char *buf, size_t len);

/* The same check over text that arrives in pieces (a character may be cut between two): feed each
 * piece; false as soon as a byte cannot continue valid UTF-8. The text is complete and valid when
 * every piece was accepted and utf8_stream_complete is true. Start from a zeroed struct. */
struct utf8_stream {
	unsigned char need;	/* continuation bytes still expected */
	unsigned char lo, hi;	/* the range allowed for the next one */
};
bool utf8_stream_feed(struct utf8_stream *u, const unsigned char *buf, size_t len);
static inline bool utf8_stream_complete(const struct utf8_stream *u)
{
	return u->need == 0;
}

/* Called for each member of a top-level object: key text (without quotes, escapes not decoded)
 * and the value's exact span. Return non-zero to stop the scan (jsontext_validate returns it). */
typedef int (*jsontext_member_fn)(void *ctx, const char *key, size_t keylen, bool key_escaped,
				  const char *value, size_t valuelen);

/* Validates that buf[0..len) is exactly one JSON value (surrounding whitespace allowed).
 * *is_object tells whether it is an object; on_member (may be NULL) sees its top-level members.
 * value and valuelen get the value without surrounding whitespace.
 * Returns 0 when valid, -1 when not, or the non-zero value on_member returned. */
int jsontext_validate(const char *buf, size_t len, bool *is_object, const char **value,
		      size_t *valuelen, jsontext_member_fn on_member, void *ctx);

/* Member spans by name: a table of names and where each one's span goes (an offset into the
 * caller's struct of json_spans). Pass jsontext_collect_fields as on_member with a struct
 * jsontext_fields as ctx; members with escaped keys or names not in the table are skipped. */
struct jsontext_field {
	const char *name;
	size_t offset;		/* offsetof(the caller's struct, its json_span member) */
};
struct jsontext_fields {
	const struct jsontext_field *table;
	size_t n;
	void *base;		/* the caller's struct */
};
int jsontext_collect_fields(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value,
			    size_t len);

/* Validates buf[0..len) like jsontext_validate; when it is a top-level array, calls fn with each
 * element's exact span (fn returning non-zero stops and is returned). Returns 0, -1 when not valid
 * JSON, or fn's value. *is_array tells whether the value was an array. */
typedef int (*jsontext_item_fn)(void *ctx, const char *value, size_t len);
int jsontext_array_items(const char *buf, size_t len, bool *is_array, jsontext_item_fn fn, void *ctx);

/* Length of s[0..len) written as a JSON string including the quotes. s must be valid UTF-8. */
size_t jsontext_escaped_len(const char *s, size_t len);
/* Writes s as a quoted JSON string into out (room for jsontext_escaped_len bytes); returns bytes. */
size_t jsontext_escape(char *out, const char *s, size_t len);

/* Length of the standard (padded) base64 encoding of len bytes. */
size_t base64_len(size_t len);
/* Writes base64 of in[0..len) into out (room for base64_len bytes); returns bytes written. */
size_t base64_encode(char *out, const unsigned char *in, size_t len);

/* Decodes the JSON string token v (already validated, quotes included) into out (cap bytes, NUL
 * added): escapes resolved, \uXXXX pairs joined. Returns the decoded length, -EINVAL when v is not
 * a string or holds a lone surrogate or U+0000 (text that must stay one C string), -ENOBUFS when it
 * does not fit. */
int jsontext_string_decode(struct json_span v, char *out, size_t cap);

/* Parses a JSON integer token (no fraction or exponent) in [0, INT64_MAX]. Returns 0 or -1. */
int jsontext_parse_uint(const char *s, size_t len, int64_t *out);

#endif
