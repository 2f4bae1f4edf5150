/*
 * fuzz_jsontext.c - edge/wire/jsontext.c: strict JSON validation with member spans, array items,
 * UTF-8, string escaping, base64 and integers. Every broker payload and client frame goes through
 * these first.
 *
 * Invariants: validation and the array walk agree; every member key, member value and array item
 * lies inside the input, and each value or item is itself one valid JSON value (the spans are cut
 * exactly); valid JSON is valid UTF-8; escaping valid UTF-8 yields a JSON string of exactly
 * jsontext_escaped_len bytes that decodes back to the input; base64 decodes back to the input;
 * jsontext_parse_uint agrees with a plain reading of the digits.
 */
#include <ctype.h>
#include <errno.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

struct walk {
	const char *base;
	size_t size;
	size_t count;
};

static int on_member(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value, size_t len)
{
	struct walk *w = ctx;

	FUZZ_CHECK(fuzz_inside(key, keylen, w->base, w->size));
	FUZZ_CHECK(key > w->base && key[-1] == '"' && key[keylen] == '"');
	FUZZ_CHECK(key_escaped == (memchr(key, '\\', keylen) != NULL));
	FUZZ_CHECK(fuzz_inside(value, len, w->base, w->size));
	FUZZ_CHECK(fuzz_json(value, len));
	FUZZ_CHECK(value < w->base + w->size && value + len <= w->base + w->size);
	w->count++;
	return 0;
}

static int on_item(void *ctx, const char *value, size_t len)
{
	struct walk *w = ctx;

	FUZZ_CHECK(fuzz_inside(value, len, w->base, w->size));
	FUZZ_CHECK(len > 0 && fuzz_json(value, len));
	w->count++;
	return 0;
}

/* Decodes the JSON string s[0..len) (with quotes, valid) into out; returns the bytes written.
 * Only what jsontext_escape writes is handled: simple escapes and \u00XX. */
static size_t decode_escaped(const char *s, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 1; i + 1 < len; i++) {
		if (s[i] != '\\') {
			out[n++] = s[i];
			continue;
		}
		switch (s[++i]) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			char hex[5] = { s[i + 1], s[i + 2], s[i + 3], s[i + 4], 0 };
			long v = strtol(hex, NULL, 16);

			FUZZ_CHECK(s[i + 1] == '0' && s[i + 2] == '0' && v < 0x20);
			out[n++] = (char)v;
			i += 4;
			break;
		}
		default:
			FUZZ_CHECK(!"an escape jsontext_escape never writes");
		}
	}
	return n;
}

static int b64val(char c)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;

	return p ? (int)(p - tab) : -1;
}

static void check_base64(const uint8_t *data, size_t size)
{
	size_t n = base64_len(size), w;
	char *enc = malloc(n + 1);
	uint8_t *dec = malloc(size + 3);
	size_t d = 0;

	FUZZ_CHECK(enc && dec);
	w = base64_encode(enc, data, size);
	FUZZ_CHECK(w == n && n % 4 == 0);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];

		for (int k = 0; k < 4; k++) {
			v[k] = enc[i + k] == '=' ? 0 : b64val(enc[i + k]);
			FUZZ_CHECK(v[k] >= 0);
			/* padding only at the very end */
			FUZZ_CHECK(enc[i + k] != '=' || (i + 4 == n && k >= 2));
		}
		dec[d++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (enc[i + 2] != '=')
			dec[d++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
		if (enc[i + 3] != '=')
			dec[d++] = (uint8_t)(v[2] << 6 | v[3]);
	}
	FUZZ_CHECK(d == size && (size == 0 || !memcmp(dec, data, size)));
	free(enc);
	free(dec);
}

static void check_escape(const char *s, size_t size)
{
	size_t n = jsontext_escaped_len(s, size), w, d;
	char *out = malloc(n), *back = malloc(size + 1);
	struct json_span plain;

	FUZZ_CHECK(out && back);
	w = jsontext_escape(out, s, size);
	FUZZ_CHECK(w == n && n >= 2 && out[0] == '"' && out[n - 1] == '"');
	FUZZ_CHECK(fuzz_json(out, n));
	d = decode_escaped(out, n, back);
	FUZZ_CHECK(d == size && (size == 0 || !memcmp(back, s, size)));
	/* needing no escape is the same as being a plain string */
	FUZZ_CHECK(jsontext_plain_string((struct json_span){ out, n }, &plain) == (n == size + 2));
	free(out);
	free(back);
}

static void check_uint(const char *s, size_t size)
{
	char buf[32];
	int64_t v = -1;
	int rc = jsontext_parse_uint(s, size, &v);
	bool digits = size > 0 && size <= 19;

	for (size_t i = 0; digits && i < size; i++)
		digits = s[i] >= '0' && s[i] <= '9';
	if (!digits || (size > 1 && s[0] == '0')) {
		FUZZ_CHECK(rc == -1);
		return;
	}
	memcpy(buf, s, size);
	buf[size] = '\0';
	errno = 0;
	unsigned long long ref = strtoull(buf, NULL, 10);

	if (errno || ref > (unsigned long long)INT64_MAX) {
		FUZZ_CHECK(rc == -1);
	} else {
		FUZZ_CHECK(rc == 0 && (unsigned long long)v == ref);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct walk members = { text, size, 0 }, items = { text, size, 0 };
	bool is_object = false, is_array = false, utf8;
	const char *value = NULL;
	size_t vlen = 0;
	int valid, arr;

	valid = jsontext_validate(text, size, &is_object, &value, &vlen, on_member, &members);
	FUZZ_CHECK(valid == 0 || valid == -1);
	utf8 = utf8_valid(data, size);
	if (valid == 0) {
		FUZZ_CHECK(utf8);
		FUZZ_CHECK(fuzz_inside(value, vlen, text, size) && vlen > 0);
		FUZZ_CHECK(is_object == (value[0] == '{'));
		FUZZ_CHECK(fuzz_json(value, vlen));
		/* only whitespace around the value */
		for (const char *p = text; p < value; p++)
			FUZZ_CHECK(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r');
		for (const char *p = value + vlen; p < text + size; p++)
			FUZZ_CHECK(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r');
		if (!is_object)
			FUZZ_CHECK(members.count == 0);
	} else {
		FUZZ_CHECK(!fuzz_json(text, size));
	}
	arr = jsontext_array_items(text, size, &is_array, on_item, &items);
	FUZZ_CHECK(arr == valid);
	if (valid == 0) {
		FUZZ_CHECK(is_array == (value[0] == '['));
		if (!is_array)
			FUZZ_CHECK(items.count == 0);
	}
	if (utf8)
		check_escape(text, size);
	check_base64(data, size);
	check_uint(text, size < 24 ? size : 24);
	return 0;
}
