/*
 * test_jsontext.c - strict JSON validation, member spans, UTF-8, escaping, base64 and integer
 * parsing (edge/wire/jsontext.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/wire/jsontext.h"

/* A literal with its exact length, so embedded NULs count. */
#define T(s) s, sizeof(s) - 1

static int validate(const char *buf, size_t len, bool *is_object)
{
	const char *value = NULL;
	size_t vlen = 0;
	bool obj = false;
	int rc = jsontext_validate(buf, len, &obj, &value, &vlen, NULL, NULL);

	if (is_object)
		*is_object = obj;
	return rc;
}

static void test_valid_documents(void)
{
	static const struct {
		const char *s;
		size_t len;
		bool obj;
	} cases[] = {
		{ T("0"), false },
		{ T("-0"), false },
		{ T("1"), false },
		{ T("-1"), false },
		{ T("1e5"), false },
		{ T("1E5"), false },
		{ T("1e+5"), false },
		{ T("1e-5"), false },
		{ T("1E+05"), false },
		{ T("-0.0"), false },
		{ T("0.5"), false },
		{ T("0e0"), false },
		{ T("-0e-0"), false },
		{ T("123.456e-78"), false },
		{ T("12345678901234567890123456789"), false },
		{ T("true"), false },
		{ T("false"), false },
		{ T("null"), false },
		{ T("\"\""), false },
		{ T("\"abc\""), false },
		{ T("[]"), false },
		{ T("[ ]"), false },
		{ T("{}"), true },
		{ T("{ }"), true },
		{ T(" 1 "), false },
		{ T("\t\n\r 1\t\n\r "), false },
		{ T(" {} "), true },
		{ T("[1,2,3]"), false },
		{ T("[ 1 , \"a\" , null , true , false , [ ] , { } ]"), false },
		{ T("{\"a\":1}"), true },
		{ T("{ \"a\" : 1 , \"b\" : [ ] }"), true },
		{ T("{\"a\":1,\"a\":2}"), true },
		{ T("{\"\":0}"), true },
		{ T("{\"a\":{\"b\":{\"c\":[true,false,null]}}}"), true },
		{ T("[{\"a\":[{}]}]"), false },
		/* every escape */
		{ T("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), false },
		{ T("\"\\u0000\\u001f\\uABCD\\uabcd\\uFFFF\""), false },
		{ T("\"\\ud83d\\ude00\""), false },
		{ T("\"\\ud800\""), false },	/* the grammar allows lone surrogate escapes (RFC 8259 8.2) */
		{ T("{\"k\\n\\u0041\":\"v\"}"), true },
		/* raw UTF-8 inside strings */
		{ T("\"caf\xc3\xa9\""), false },
		{ T("\"\xc2\x80\xdf\xbf\""), false },
		{ T("\"\xe0\xa0\x80\xe2\x82\xac\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\""), false },
		{ T("\"\xf0\x90\x80\x80\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\""), false },
		{ T("\"\x7f\""), false },
		{ T("\"\xe2\x80\xa8\""), false },	/* U+2028 is fine in JSON */
		{ T("{\"\xc3\xa9\":\"\xe2\x82\xac\"}"), true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool obj = !cases[i].obj;
		int rc = validate(cases[i].s, cases[i].len, &obj);

		if (rc != 0 || obj != cases[i].obj)
			fprintf(stderr, "valid case %zu (%.*s): rc %d obj %d\n", i, (int)cases[i].len, cases[i].s,
				rc, obj);
		CHECK(rc == 0);
		CHECK(obj == cases[i].obj);
	}
}

static void test_invalid_documents(void)
{
	static const struct {
		const char *s;
		size_t len;
	} cases[] = {
		{ T("") },
		{ T(" ") },
		{ T("\t\n") },
		/* numbers */
		{ T("01") },
		{ T("-01") },
		{ T("00") },
		{ T("1.") },
		{ T("-1.") },
		{ T("1.e5") },
		{ T("-") },
		{ T("+1") },
		{ T(".5") },
		{ T("-.5") },
		{ T("1e") },
		{ T("1e+") },
		{ T("1e-") },
		{ T("1E") },
		{ T("--1") },
		{ T("- 1") },
		{ T("0x10") },
		{ T("1 2") },
		{ T("1.5.5") },
		{ T("1e5e5") },
		{ T("Infinity") },
		{ T("-Infinity") },
		{ T("NaN") },
		{ T("[01]") },
		{ T("[1.]") },
		{ T("{\"a\":01}") },
		/* literals */
		{ T("tru") },
		{ T("truex") },
		{ T("True") },
		{ T("nul") },
		{ T("nulll") },
		{ T("f") },
		{ T("undefined") },
		/* structure */
		{ T("[") },
		{ T("]") },
		{ T("[1,]") },
		{ T("[,1]") },
		{ T("[,]") },
		{ T("[1 2]") },
		{ T("[1]]") },
		{ T("[[1]") },
		{ T("{") },
		{ T("}") },
		{ T("{\"a\"}") },
		{ T("{\"a\":}") },
		{ T("{\"a\":1,}") },
		{ T("{,}") },
		{ T("{\"a\" 1}") },
		{ T("{\"a\"::1}") },
		{ T("{a:1}") },
		{ T("{'a':1}") },
		{ T("{1:1}") },
		{ T("{null:1}") },
		{ T("{\"a\":1 \"b\":2}") },
		{ T("{\"a\":1}}") },
		/* trailing garbage and non-JSON whitespace/comments */
		{ T("[1]x") },
		{ T("{}{}") },
		{ T("1 x") },
		{ T("\"a\"\"b\"") },
		{ T("\"\"\"") },
		{ T("1\0") },
		{ T("\0") },
		{ T("{}\0") },
		{ T("// c\n1") },
		{ T("/*c*/1") },
		{ T("1 // c") },
		{ T("\v1") },
		{ T("\f1") },
		{ T("\xc2\xa0" "1") },
		{ T("\xef\xbb\xbf" "1") },
		{ T("\xc3\xa9") },
		/* strings: escapes */
		{ T("\"abc") },
		{ T("\"") },
		{ T("\"\\\"") },
		{ T("\"\\") },
		{ T("\"\\x\"") },
		{ T("\"\\a\"") },
		{ T("\"\\'\"") },
		{ T("\"\\0\"") },
		{ T("\"\\U0041\"") },
		{ T("\"\\u12\"") },
		{ T("\"\\u123\"") },
		{ T("\"\\u12G4\"") },
		{ T("\"\\u 123\"") },
		{ T("\"\\u") },
		{ T("\"\\u0041") },
		/* strings: raw control characters */
		{ T("\"\x01\"") },
		{ T("\"\x1f\"") },
		{ T("\"\n\"") },
		{ T("\"\t\"") },
		{ T("\"\r\"") },
		{ T("\"a\0b\"") },
		{ T("{\"a\0\":1}") },
		/* strings: raw invalid UTF-8 */
		{ T("\"\x80\"") },
		{ T("\"\xbf\"") },
		{ T("\"\xc0\xaf\"") },
		{ T("\"\xc1\xbf\"") },
		{ T("\"\xe0\x80\xaf\"") },
		{ T("\"\xe0\x9f\xbf\"") },
		{ T("\"\xf0\x80\x80\xaf\"") },
		{ T("\"\xf0\x8f\xbf\xbf\"") },
		{ T("\"\xed\xa0\x80\"") },
		{ T("\"\xed\xbf\xbf\"") },
		{ T("\"\xed\xa0\xbd\xed\xb8\x80\"") },	/* CESU-8 surrogate pair */
		{ T("\"\xf4\x90\x80\x80\"") },
		{ T("\"\xf5\x80\x80\x80\"") },
		{ T("\"\xf7\xbf\xbf\xbf\"") },
		{ T("\"\xf8\x88\x80\x80\x80\"") },
		{ T("\"\xfc\x84\x80\x80\x80\x80\"") },
		{ T("\"\xfe\"") },
		{ T("\"\xff\"") },
		{ T("\"\xc3\"") },
		{ T("\"\xe2\x82\"") },
		{ T("\"\xf0\x9f\x98\"") },
		{ T("\"\xc3\xc3\"") },
		{ T("\"\xe2\x28\xa1\"") },
		{ T("\"\xc3") },
		{ T("{\"\xff\":1}") },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = validate(cases[i].s, cases[i].len, NULL);

		if (rc != -1)
			fprintf(stderr, "invalid case %zu (len %zu): rc %d\n", i, cases[i].len, rc);
		CHECK(rc == -1);
	}
}

/* "[" x n, inner, "]" x n (or objects {"a": ... }) */
static char *nested(int n, const char *inner, bool objects, size_t *len)
{
	size_t ilen = strlen(inner), open = objects ? 5 : 1;
	char *s = malloc((size_t)n * (open + 1) + ilen + 1), *p = s;

	if (!s)
		return NULL;
	for (int i = 0; i < n; i++) {
		memcpy(p, objects ? "{\"a\":" : "[", open);
		p += open;
	}
	memcpy(p, inner, ilen);
	p += ilen;
	for (int i = 0; i < n; i++)
		*p++ = objects ? '}' : ']';
	*len = (size_t)(p - s);
	*p = '\0';
	return s;
}

static int validate_nested(int n, const char *inner, bool objects)
{
	size_t len;
	char *s = nested(n, inner, objects, &len);
	int rc;

	if (!s)
		return -2;
	rc = validate(s, len, NULL);
	free(s);
	return rc;
}

/*
 * Depth counts values: the top-level value is depth 1 and a value inside a container is one
 * deeper, so JSONTEXT_MAX_DEPTH empty containers nest, and a scalar may sit inside at most
 * JSONTEXT_MAX_DEPTH - 1 containers.
 */
static void test_depth(void)
{
	const int max = JSONTEXT_MAX_DEPTH;

	CHECK(validate_nested(max, "", false) == 0);
	CHECK(validate_nested(max + 1, "", false) == -1);
	CHECK(validate_nested(max - 1, "1", false) == 0);
	CHECK(validate_nested(max, "1", false) == -1);
	CHECK(validate_nested(max - 1, "{}", false) == 0);
	CHECK(validate_nested(max, "{}", false) == -1);
	CHECK(validate_nested(max - 1, "1", true) == 0);
	CHECK(validate_nested(max, "1", true) == -1);
	CHECK(validate_nested(max - 1, "[]", true) == 0);
	CHECK(validate_nested(max, "[]", true) == -1);
	CHECK(validate_nested(max + 100, "1", true) == -1);

	/* a very deep unterminated document fails quickly without exhausting the stack */
	size_t n = 1000000;
	char *s = malloc(n);

	if (s) {
		memset(s, '[', n);
		CHECK(validate(s, n, NULL) == -1);
		memset(s, '{', n);
		CHECK(validate(s, n, NULL) == -1);
		free(s);
	}
}

struct member_rec {
	int calls;
	int stop_at;	/* return 7 on this call (1-based), 0 = never */
	char key[8][16];
	bool escaped[8];
	char value[8][64];
};

static int record(void *ctx, const char *key, size_t keylen, bool key_escaped, const char *value,
		  size_t valuelen)
{
	struct member_rec *r = ctx;
	int i = r->calls++;

	if (i < 8) {
		snprintf(r->key[i], sizeof(r->key[i]), "%.*s", (int)keylen, key);
		r->escaped[i] = key_escaped;
		snprintf(r->value[i], sizeof(r->value[i]), "%.*s", (int)valuelen, value);
	}
	return r->calls == r->stop_at ? 7 : 0;
}

static void test_members(void)
{
	const char *doc = " \n{ \"a\" : 1 , \"b\\n\" : \"x y\" ,\"c\":{\"d\":[1, 2]}, \"e\" : null,"
			  "\"f\":-1.5e3,\"\":[]} \t";
	struct member_rec r = { 0 };
	bool obj = false;
	const char *value = NULL;
	size_t vlen = 0;
	int rc = jsontext_validate(doc, strlen(doc), &obj, &value, &vlen, record, &r);

	CHECK(rc == 0);
	CHECK(obj);
	CHECK(value == doc + 2);
	CHECK(vlen == strlen(doc) - 4);
	CHECK(value && value[0] == '{' && value[vlen - 1] == '}');
	CHECK(r.calls == 6);
	CHECK_STR(r.key[0], "a");
	CHECK(!r.escaped[0]);
	CHECK_STR(r.value[0], "1");
	CHECK_STR(r.key[1], "b\\n");
	CHECK(r.escaped[1]);
	CHECK_STR(r.value[1], "\"x y\"");
	CHECK_STR(r.key[2], "c");
	CHECK_STR(r.value[2], "{\"d\":[1, 2]}");	/* nested members are not reported */
	CHECK_STR(r.key[3], "e");
	CHECK_STR(r.value[3], "null");
	CHECK_STR(r.key[4], "f");
	CHECK_STR(r.value[4], "-1.5e3");
	CHECK_STR(r.key[5], "");
	CHECK(!r.escaped[5]);
	CHECK_STR(r.value[5], "[]");

	/* a non-zero return stops the scan and is returned */
	memset(&r, 0, sizeof(r));
	r.stop_at = 2;
	rc = jsontext_validate(doc, strlen(doc), &obj, &value, &vlen, record, &r);
	CHECK(rc == 7);
	CHECK(r.calls == 2);

	/* top-level arrays and scalars report no members */
	memset(&r, 0, sizeof(r));
	rc = jsontext_validate(T("[{\"a\":1},{\"b\":2}]"), &obj, &value, &vlen, record, &r);
	CHECK(rc == 0);
	CHECK(!obj);
	CHECK(r.calls == 0);
	rc = jsontext_validate(T("  \"s\"  "), &obj, &value, &vlen, record, &r);
	CHECK(rc == 0);
	CHECK(!obj);
	CHECK(vlen == 3 && value && !memcmp(value, "\"s\"", 3));
	CHECK(r.calls == 0);

	/* the empty object */
	memset(&r, 0, sizeof(r));
	CHECK(jsontext_validate(T("{}"), &obj, &value, &vlen, record, &r) == 0);
	CHECK(obj && r.calls == 0 && vlen == 2);

	/* an invalid document is -1 even after members were seen */
	memset(&r, 0, sizeof(r));
	CHECK(jsontext_validate(T("{\"a\":1,\"b\":}"), &obj, &value, &vlen, record, &r) == -1);
	CHECK(jsontext_validate(T("{\"a\":1} x"), &obj, &value, &vlen, record, &r) == -1);
}

/* Reference decoder: true when buf is well-formed UTF-8 (RFC 3629), written independently. */
static bool ref_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], need, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			need = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			need = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000))
			return false;
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += need + 1;
	}
	return true;
}

/* utf8_stream over b[0..n) cut at every point: each split must agree with utf8_valid on the whole,
 * and a bad byte must be refused in the piece that holds it. Returns the disagreements. */
static long stream_mismatches(const unsigned char *b, size_t n)
{
	bool whole = utf8_valid(b, n);
	long bad = 0;

	for (size_t cut = 0; cut <= n; cut++) {
		struct utf8_stream u = { 0 };
		bool first_ok = utf8_stream_feed(&u, b, cut);
		bool ok = first_ok && utf8_stream_feed(&u, b + cut, n - cut) && utf8_stream_complete(&u);

		bad += ok != whole;
		/* fail fast: a prefix that cannot be completed is refused in its own piece */
		if (!first_ok)
			bad += whole;
	}
	return bad;
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len;
		bool want;
	} cases[] = {
		{ T(""), true },
		{ T("hello"), true },
		{ T("a\0b"), true },
		{ T("\x7f"), true },
		{ T("\xc2\x80"), true },		/* U+0080 */
		{ T("\xdf\xbf"), true },		/* U+07FF */
		{ T("\xe0\xa0\x80"), true },		/* U+0800 */
		{ T("\xed\x9f\xbf"), true },		/* U+D7FF */
		{ T("\xee\x80\x80"), true },		/* U+E000 */
		{ T("\xef\xbf\xbf"), true },		/* U+FFFF */
		{ T("\xf0\x90\x80\x80"), true },	/* U+10000 */
		{ T("\xf4\x8f\xbf\xbf"), true },	/* U+10FFFF */
		{ T("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), true },
		{ T("\x80"), false },
		{ T("\xbf"), false },
		{ T("a\x80" "b"), false },
		{ T("\xc0\x80"), false },		/* overlong NUL */
		{ T("\xc1\xbf"), false },
		{ T("\xe0\x80\x80"), false },
		{ T("\xe0\x9f\xbf"), false },		/* overlong U+07FF */
		{ T("\xf0\x80\x80\x80"), false },
		{ T("\xf0\x8f\xbf\xbf"), false },	/* overlong U+FFFF */
		{ T("\xed\xa0\x80"), false },		/* U+D800 */
		{ T("\xed\xaf\xbf"), false },		/* U+DBFF */
		{ T("\xed\xb0\x80"), false },		/* U+DC00 */
		{ T("\xed\xbf\xbf"), false },		/* U+DFFF */
		{ T("\xf4\x90\x80\x80"), false },	/* U+110000 */
		{ T("\xf5\x80\x80\x80"), false },
		{ T("\xf8\x88\x80\x80\x80"), false },
		{ T("\xfe"), false },
		{ T("\xff"), false },
		{ T("\xc3"), false },
		{ T("\xe2\x82"), false },
		{ T("\xf0\x9f\x98"), false },
		{ T("\xc3" "a"), false },
		{ T("\xe2\x28\xa1"), false },
		{ T("\xf0\x9f\x28\x80"), false },
		{ T("ok\xc3"), false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = utf8_valid((const unsigned char *)cases[i].s, cases[i].len);

		if (got != cases[i].want)
			fprintf(stderr, "utf8 case %zu: got %d\n", i, got);
		CHECK(got == cases[i].want);
		CHECK(ref_utf8((const unsigned char *)cases[i].s, cases[i].len) == cases[i].want);
	}

	/* exhaustive against the reference: every 1- and 2-byte buffer, every 3-byte buffer that starts
	 * with a 3-byte lead, and 4-byte buffers over interesting continuation bytes */
	static const unsigned char edge[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff };
	unsigned char b[4];
	long mismatches = 0;

	for (unsigned x = 0; x < 256; x++) {
		b[0] = (unsigned char)x;
		mismatches += utf8_valid(b, 1) != ref_utf8(b, 1);
		mismatches += stream_mismatches(b, 1);
		for (unsigned y = 0; y < 256; y++) {
			b[1] = (unsigned char)y;
			mismatches += utf8_valid(b, 2) != ref_utf8(b, 2);
			mismatches += stream_mismatches(b, 2);
		}
	}
	for (unsigned x = 0xE0; x < 0x100; x++)
		for (unsigned y = 0; y < 256; y++)
			for (unsigned z = 0; z < 256; z++) {
				b[0] = (unsigned char)x;
				b[1] = (unsigned char)y;
				b[2] = (unsigned char)z;
				mismatches += utf8_valid(b, 3) != ref_utf8(b, 3);
				mismatches += stream_mismatches(b, 3);
			}
	for (unsigned x = 0xF0; x < 0x100; x++)
		for (unsigned y = 0; y < 256; y++)
			for (size_t z = 0; z < sizeof(edge); z++)
				for (size_t w = 0; w < sizeof(edge); w++) {
					b[0] = (unsigned char)x;
					b[1] = (unsigned char)y;
					b[2] = edge[z];
					b[3] = edge[w];
					mismatches += utf8_valid(b, 4) != ref_utf8(b, 4);
					mismatches += stream_mismatches(b, 4);
				}
	CHECK(mismatches == 0);
}

/* Decodes a JSON string made by jsontext_escape (quotes included) back into bytes. */
static size_t unescape(const char *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 1; i + 1 < len; i++) {
		if (in[i] != '\\') {
			out[o++] = in[i];
			continue;
		}
		switch (in[++i]) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			char hex[5] = { in[i + 1], in[i + 2], in[i + 3], in[i + 4], 0 };

			out[o++] = (char)strtol(hex, NULL, 16);
			i += 4;
			break;
		}
		default: out[o++] = in[i];
		}
	}
	return o;
}

static void check_escape_round_trip(const char *s, size_t len)
{
	size_t need = jsontext_escaped_len(s, len);
	char *out = malloc(need + 1), *back = malloc(len + 1);
	bool obj = true;

	if (!out || !back) {
		CHECK(0);
		free(out);
		free(back);
		return;
	}
	size_t n = jsontext_escape(out, s, len);

	CHECK(n == need);
	CHECK(validate(out, n, &obj) == 0);
	CHECK(!obj && out[0] == '"' && out[n - 1] == '"');
	CHECK(unescape(out, n, back) == len && !memcmp(back, s, len));
	free(out);
	free(back);
}

static void test_escape(void)
{
	char buf[128];
	size_t n;

	n = jsontext_escape(buf, T("a\"b\\c/\n\r\t\b\f\x01\x1f\x7f"));
	buf[n] = '\0';
	CHECK_STR(buf, "\"a\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"");
	CHECK(n == jsontext_escaped_len(T("a\"b\\c/\n\r\t\b\f\x01\x1f\x7f")));
	n = jsontext_escape(buf, "", 0);
	CHECK(n == 2 && !memcmp(buf, "\"\"", 2));
	CHECK(jsontext_escaped_len("", 0) == 2);
	n = jsontext_escape(buf, T("\0"));
	buf[n] = '\0';
	CHECK_STR(buf, "\"\\u0000\"");
	n = jsontext_escape(buf, T("caf\xc3\xa9 \xf0\x9f\x98\x80"));
	buf[n] = '\0';
	CHECK_STR(buf, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");

	/* every ASCII byte alone, then all of them together, then mixed UTF-8 */
	char all[128];

	for (int c = 0; c < 128; c++) {
		char one = (char)c;

		all[c] = one;
		check_escape_round_trip(&one, 1);
	}
	check_escape_round_trip(all, sizeof(all));
	check_escape_round_trip(T("line1\nline2\t\"quoted\" \\ caf\xc3\xa9 \xe2\x82\xac \xf4\x8f\xbf\xbf"));
}

static void test_base64(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		/* RFC 4648 section 10 */
		{ T(""), "" },
		{ T("f"), "Zg==" },
		{ T("fo"), "Zm8=" },
		{ T("foo"), "Zm9v" },
		{ T("foob"), "Zm9vYg==" },
		{ T("fooba"), "Zm9vYmE=" },
		{ T("foobar"), "Zm9vYmFy" },
		/* the top of the alphabet and NUL bytes */
		{ T("\xff\xfe\xfd"), "//79" },
		{ T("\xfb\xff"), "+/8=" },
		{ T("\xfb\xef\xbe"), "++++" },
		{ T("\0"), "AA==" },
		{ T("\0\0\0"), "AAAA" },
		{ T("\x80\x81\x82\x83"), "gIGCgw==" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = base64_encode(out, (const unsigned char *)cases[i].in, cases[i].len);

		out[n] = '\0';
		CHECK(n == strlen(cases[i].want));
		CHECK(base64_len(cases[i].len) == strlen(cases[i].want));
		CHECK_STR(out, cases[i].want);
	}
	for (size_t len = 0; len < 20; len++)
		CHECK(base64_len(len) == (len + 2) / 3 * 4);
}

static void test_parse_uint(void)
{
	static const struct {
		const char *s;
		size_t len;
		int rc;
		int64_t want;
	} cases[] = {
		{ T("0"), 0, 0 },
		{ T("1"), 0, 1 },
		{ T("123"), 0, 123 },
		{ T("1700000000000"), 0, 1700000000000LL },
		{ T("1234567890123456789"), 0, 1234567890123456789LL },
		{ T("9223372036854775807"), 0, INT64_MAX },
		{ T("9223372036854775808"), -1, 0 },
		{ T("9999999999999999999"), -1, 0 },
		{ T("18446744073709551616"), -1, 0 },
		{ T("99999999999999999999"), -1, 0 },
		{ T(""), -1, 0 },
		{ T("01"), -1, 0 },
		{ T("00"), -1, 0 },
		{ T("0000000000000000001"), -1, 0 },
		{ T("-1"), -1, 0 },
		{ T("-0"), -1, 0 },
		{ T("+1"), -1, 0 },
		{ T("1.0"), -1, 0 },
		{ T("1e3"), -1, 0 },
		{ T(" 1"), -1, 0 },
		{ T("1 "), -1, 0 },
		{ T("\"1\""), -1, 0 },
		{ T("null"), -1, 0 },
		{ T("1\0"), -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = -42;
		int rc = jsontext_parse_uint(cases[i].s, cases[i].len, &v);

		if (rc != cases[i].rc)
			fprintf(stderr, "parse_uint case %zu (%s): rc %d\n", i, cases[i].s, rc);
		CHECK(rc == cases[i].rc);
		CHECK(v == (rc == 0 ? cases[i].want : -42));	/* untouched on error */
	}
	/* the length is authoritative */
	int64_t v = 0;

	CHECK(jsontext_parse_uint("123abc", 3, &v) == 0 && v == 123);
	CHECK(jsontext_parse_uint("92233720368547758070", 19, &v) == 0 && v == INT64_MAX);
}

int main(void)
{
	test_valid_documents();
	test_invalid_documents();
	test_depth();
	test_members();
	test_utf8();
	test_escape();
	test_base64();
	test_parse_uint();
	return CHECK_DONE();
}
