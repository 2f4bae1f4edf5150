/*
 * test_notification.c - notifications as text (edge/wire/notification.c): notification_parse
 * (every error sentence, the 'to' rules for HTTP items and MQTT topics, id fields, the 1024
 * decoded-byte limit of object_id and title with \uXXXX escapes and surrogate pairs at the
 * boundary, the fields each kind needs, id and ts), the spans a valid one fills, the stored
 * canonical form (field order, the sender's exact text), content ids, recipients, mute lists
 * (parse, match, JSON), the settings and read-mark payloads edges exchange, and their round trips.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "mqedge/base/siphash.h"
#include "mqedge/wire/notification.h"

#define T(s) s, sizeof(s) - 1

/* notification_content_id("mqedge/v1/user/alice/notify", {"kind":"mailbox","actor":"bob"}) */
#define CONTENT_ID_GOLDEN "h9609b045c76d21c882d951b713d8fb1a"

#define ID64 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
#define ID100 ID64 "012345678901234567890123456789012345"

static const char E_JSON[] = "not JSON";
static const char E_OBJECT[] = "a notification is a JSON object";
static const char E_KIND[] = "'kind' must be announcement, remind or mailbox";
static const char E_TO_ARRAY[] = "'to' must be an array of user ids (A-Z a-z 0-9 _ - . @ :, 1-64)";
static const char E_TO_COUNT[] = "'to' must hold 1 to 1000 user ids";
static const char E_TO_REQUIRED[] = "'to' is required (only announcements go to everyone)";
static const char E_NO_TO[] = "announcements go to everyone: no 'to'";
static const char E_MQTT_NOT_ALL[] = "only announcements go to notify/all";
static const char E_MQTT_ANNOUNCE_USER[] = "announcements go to notify/all, not to a user";
static const char E_IDS[] = "'action', 'object_type' and 'actor' must be ids (A-Z a-z 0-9 _ - . @ :, 1-64)";
static const char E_OBJECT_ID[] = "'object_id' must be a string of at most 1024 bytes";
static const char E_TITLE[] = "'title' must be a string of at most 1024 bytes";
static const char E_REMIND[] = "a remind needs 'action', 'object_type' and 'object_id'";
static const char E_MAILBOX[] = "a mailbox message needs 'actor' (the sender)";
static const char E_ID[] = "'id' must be 1-100 id characters";
static const char E_TS[] = "'ts' must be milliseconds since the epoch";

#define REMIND "\"kind\":\"remind\",\"action\":\"liked\",\"object_type\":\"post\",\"object_id\":\"p1\""
#define MAILBOX "\"kind\":\"mailbox\",\"actor\":\"bob\""
#define ANNOUNCE "\"kind\":\"announcement\""

static bool span_is(struct json_span s, const char *want)
{
	if (!want)
		return s.p == NULL && s.len == 0;
	return s.p && s.len == strlen(want) && !memcmp(s.p, want, s.len);
}

static const char *sentence(const char *why)
{
	return why ? why : "(valid)";
}

/* ---- notification_parse: the table ---- */

static void test_parse_table(void)
{
	static const struct {
		const char *text;
		size_t len;
		bool with_to, broadcast;
		const char *want;	/* NULL: valid */
	} cases[] = {
		/* not JSON */
		{ T(""), false, false, E_JSON },
		{ T("   "), false, false, E_JSON },
		{ T("not json"), false, false, E_JSON },
		{ T("{"), false, false, E_JSON },
		{ T("{" MAILBOX ",}"), false, false, E_JSON },
		{ T("{" MAILBOX "} x"), false, false, E_JSON },
		{ T("{" MAILBOX "}{}"), false, false, E_JSON },
		{ T("{\"kind\":\"mailbox\",\"actor\":\"b\xff\"}"), false, false, E_JSON },
		{ T("{" MAILBOX "}\0"), false, false, E_JSON },
		/* not an object */
		{ T("[1]"), false, false, E_OBJECT },
		{ T("\"mailbox\""), false, false, E_OBJECT },
		{ T("42"), false, false, E_OBJECT },
		{ T("null"), false, false, E_OBJECT },
		{ T("[{" MAILBOX "}]"), true, false, E_OBJECT },
		/* kind */
		{ T("{}"), false, false, E_KIND },
		{ T("{\"actor\":\"bob\"}"), false, false, E_KIND },
		{ T("{\"kind\":\"Mailbox\",\"actor\":\"bob\"}"), false, false, E_KIND },
		{ T("{\"kind\":\"mail\",\"actor\":\"bob\"}"), false, false, E_KIND },
		{ T("{\"kind\":\"mailboxes\",\"actor\":\"bob\"}"), false, false, E_KIND },
		{ T("{\"kind\":\"\",\"actor\":\"bob\"}"), false, false, E_KIND },
		{ T("{\"kind\":5}"), false, false, E_KIND },
		{ T("{\"kind\":null}"), false, false, E_KIND },
		{ T("{\"kind\":[\"mailbox\"]}"), false, false, E_KIND },
		{ T("{\"kind\":\"mailbo\\u0078\",\"actor\":\"bob\"}"), false, false, E_KIND },	/* escapes: no */
		{ T("{\"k\\u0069nd\":\"mailbox\",\"actor\":\"bob\"}"), false, false, E_KIND },	/* escaped key */
		/* 'to' with an HTTP item: present = addressed, absent = announcement */
		{ T("{" MAILBOX ",\"to\":[\"alice\"]}"), true, false, NULL },
		{ T("{" MAILBOX ",\"to\":[\"alice\",\"a.b@c:d\",\"" ID64 "\"]}"), true, false, NULL },
		{ T("{" MAILBOX ",\"to\":[\"alice\"]}"), true, true, NULL },	/* broadcast is decided by 'to' */
		{ T("{" ANNOUNCE "}"), true, false, NULL },
		{ T("{" ANNOUNCE "}"), true, true, NULL },
		{ T("{" MAILBOX ",\"to\":\"alice\"}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":null}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":{\"a\":1}}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":[1]}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":[\"alice\",null]}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":[\"al ice\"]}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":[\"a/b\"]}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":[\"\"]}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":[\"" ID64 "x\"]}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":[\"al\\u0069ce\"]}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":[[\"alice\"]]}"), true, false, E_TO_ARRAY },
		{ T("{" MAILBOX ",\"to\":[]}"), true, false, E_TO_COUNT },
		{ T("{" MAILBOX "}"), true, false, E_TO_REQUIRED },
		{ T("{" REMIND "}"), true, true, E_TO_REQUIRED },
		{ T("{" ANNOUNCE ",\"to\":[\"alice\"]}"), true, false, E_NO_TO },
		{ T("{" ANNOUNCE ",\"to\":[]}"), true, false, E_TO_COUNT },	/* count before kind */
		/* an MQTT payload: the topic decides, 'to' is not read at all */
		{ T("{" MAILBOX "}"), false, false, NULL },
		{ T("{" MAILBOX ",\"to\":\"whatever\"}"), false, false, NULL },
		{ T("{" MAILBOX ",\"to\":[]}"), false, false, NULL },
		{ T("{" MAILBOX "}"), false, true, E_MQTT_NOT_ALL },
		{ T("{" REMIND "}"), false, true, E_MQTT_NOT_ALL },
		{ T("{" ANNOUNCE "}"), false, true, NULL },
		{ T("{" ANNOUNCE "}"), false, false, E_MQTT_ANNOUNCE_USER },
		{ T("{" ANNOUNCE ",\"to\":[\"alice\"]}"), false, true, NULL },
		/* action, object_type, actor: ids */
		{ T("{" ANNOUNCE ",\"action\":\"a b\"}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"action\":\"\"}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"action\":5}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"action\":null}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"action\":\"" ID64 "x\"}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"action\":\"" ID64 "\"}"), false, true, NULL },
		{ T("{" ANNOUNCE ",\"action\":\"lik\\u0065d\"}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"object_type\":\"a/b\"}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"object_type\":[]}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"object_type\":\"" ID64 "x\"}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"actor\":\"#\"}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"actor\":\"caf\xc3\xa9\"}"), false, true, E_IDS },
		{ T("{" ANNOUNCE ",\"actor\":{}}"), false, true, E_IDS },
		{ T("{\"kind\":\"mailbox\",\"actor\":\"b o b\"}"), false, false, E_IDS },
		/* object_id and title: strings (other types are refused) */
		{ T("{" ANNOUNCE ",\"object_id\":5}"), false, true, E_OBJECT_ID },
		{ T("{" ANNOUNCE ",\"object_id\":null}"), false, true, E_OBJECT_ID },
		{ T("{" ANNOUNCE ",\"object_id\":[\"x\"]}"), false, true, E_OBJECT_ID },
		{ T("{" ANNOUNCE ",\"object_id\":\"\"}"), false, true, NULL },
		{ T("{" ANNOUNCE ",\"object_id\":\"any text / + # \\u0000 \\\" caf\xc3\xa9\"}"), false, true, NULL },
		{ T("{" ANNOUNCE ",\"title\":true}"), false, true, E_TITLE },
		{ T("{" ANNOUNCE ",\"title\":{\"t\":1}}"), false, true, E_TITLE },
		{ T("{" ANNOUNCE ",\"title\":\"\"}"), false, true, NULL },
		/* what each kind needs */
		{ T("{\"kind\":\"remind\",\"object_type\":\"post\",\"object_id\":\"p1\"}"), false, false, E_REMIND },
		{ T("{\"kind\":\"remind\",\"action\":\"liked\",\"object_id\":\"p1\"}"), false, false, E_REMIND },
		{ T("{\"kind\":\"remind\",\"action\":\"liked\",\"object_type\":\"post\"}"), false, false, E_REMIND },
		{ T("{\"kind\":\"remind\"}"), false, false, E_REMIND },
		{ T("{" REMIND "}"), false, false, NULL },
		{ T("{\"kind\":\"mailbox\"}"), false, false, E_MAILBOX },
		{ T("{\"kind\":\"mailbox\",\"action\":\"x\",\"title\":\"t\"}"), false, false, E_MAILBOX },
		{ T("{" ANNOUNCE "}"), false, true, NULL },
		/* id */
		{ T("{" MAILBOX ",\"id\":\"n1\"}"), false, false, NULL },
		{ T("{" MAILBOX ",\"id\":\"" ID100 "\"}"), false, false, NULL },
		{ T("{" MAILBOX ",\"id\":\"" ID100 "x\"}"), false, false, E_ID },
		{ T("{" MAILBOX ",\"id\":\"\"}"), false, false, E_ID },
		{ T("{" MAILBOX ",\"id\":\"a b\"}"), false, false, E_ID },
		{ T("{" MAILBOX ",\"id\":\"a/b\"}"), false, false, E_ID },
		{ T("{" MAILBOX ",\"id\":\"n\\u0031\"}"), false, false, E_ID },
		{ T("{" MAILBOX ",\"id\":5}"), false, false, E_ID },
		{ T("{" MAILBOX ",\"id\":null}"), false, false, E_ID },
		/* ts */
		{ T("{" MAILBOX ",\"ts\":0}"), false, false, NULL },
		{ T("{" MAILBOX ",\"ts\":1700000000000}"), false, false, NULL },
		{ T("{" MAILBOX ",\"ts\":9223372036854775807}"), false, false, NULL },
		{ T("{" MAILBOX ",\"ts\":9223372036854775808}"), false, false, E_TS },
		{ T("{" MAILBOX ",\"ts\":-1}"), false, false, E_TS },
		{ T("{" MAILBOX ",\"ts\":1.5}"), false, false, E_TS },
		{ T("{" MAILBOX ",\"ts\":1e3}"), false, false, E_TS },
		{ T("{" MAILBOX ",\"ts\":\"5\"}"), false, false, E_TS },
		{ T("{" MAILBOX ",\"ts\":null}"), false, false, E_TS },
		/* the order of the checks: the first rule broken is the one reported */
		{ T("{\"kind\":\"remind\",\"action\":\"a b\",\"title\":5}"), false, false, E_IDS },
		{ T("{\"kind\":\"remind\",\"title\":5,\"id\":\"\",\"ts\":-1}"), false, false, E_TITLE },
		{ T("{\"kind\":\"remind\",\"object_id\":5,\"title\":5}"), false, false, E_OBJECT_ID },
		{ T("{\"kind\":\"remind\",\"id\":\"\",\"ts\":-1}"), false, false, E_REMIND },
		{ T("{\"kind\":\"mailbox\",\"id\":\"\",\"ts\":-1}"), false, false, E_MAILBOX },
		{ T("{" MAILBOX ",\"id\":\"\",\"ts\":-1}"), false, false, E_ID },
		{ T("{\"kind\":\"nope\",\"to\":5}"), true, false, E_KIND },
		/* unknown and nested fields are ignored */
		{ T("{" MAILBOX ",\"extra\":{\"kind\":5,\"ts\":-1},\"x\":[1,2]}"), false, false, NULL },
		{ T(" \n{ \"kind\" : \"mailbox\" , \"actor\" : \"bob\" } \t"), false, false, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct notification n;
		const char *why = notification_parse(cases[i].text, cases[i].len, &n, cases[i].with_to, cases[i].broadcast);
		bool ok = cases[i].want ? why && !strcmp(why, cases[i].want) : why == NULL;

		if (!ok)
			fprintf(stderr, "parse case %zu (%.*s, with_to %d, broadcast %d): got %s, want %s\n", i,
				(int)cases[i].len, cases[i].text, cases[i].with_to, cases[i].broadcast, sentence(why),
				sentence(cases[i].want));
		CHECK(ok);
	}
}

/* ---- the 'to' count and the 1024 decoded-byte limit, built ---- */

/* {"kind":"mailbox","actor":"bob","to":["u0",...,"u{n-1}"]} (malloc'd). */
static char *with_recipients(int n, size_t *len)
{
	struct textbuf b = { 0 };

	textbuf_puts(&b, "{" MAILBOX ",\"to\":[");
	for (int i = 0; i < n; i++)
		textbuf_printf(&b, "%s\"u%d\"", i ? "," : "", i);
	textbuf_puts(&b, "]}");
	*len = b.len;
	return b.p;
}

static void test_recipient_count(void)
{
	static const struct {
		int n;
		const char *want;
	} cases[] = { { 1, NULL }, { 2, NULL }, { 999, NULL }, { 1000, NULL }, { 1001, E_TO_COUNT }, { 5000, E_TO_COUNT } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = 0;
		char *text = with_recipients(cases[i].n, &len);
		struct notification n;
		const char *why;

		CHECK(text != NULL);
		if (!text)
			continue;
		why = notification_parse(text, len, &n, true, false);
		if (cases[i].want)
			CHECK(why && !strcmp(why, cases[i].want));
		else
			CHECK(why == NULL);
		free(text);
	}
}

/* A field whose string is head, then unit count times, then tail. */
struct text_case {
	const char *head, *unit;
	int count;
	const char *tail;
	bool ok;	/* decoded length <= 1024 */
};

static char *build_field(const char *field, const struct text_case *c, size_t *len)
{
	struct textbuf b = { 0 };

	textbuf_printf(&b, "{" ANNOUNCE ",\"%s\":\"%s", field, c->head);
	for (int i = 0; i < c->count; i++)
		textbuf_puts(&b, c->unit);
	textbuf_printf(&b, "%s\"}", c->tail);
	*len = b.len;
	return b.p;
}

static void test_text_limit(void)
{
	static const struct text_case cases[] = {
		/* plain ASCII */
		{ "", "a", 1024, "", true },
		{ "", "a", 1025, "", false },
		{ "", "a", 0, "", true },
		/* raw UTF-8 counts its bytes: e-acute is 2, the euro sign 3, an emoji 4 */
		{ "", "\xc3\xa9", 512, "", true },
		{ "a", "\xc3\xa9", 512, "", false },
		{ "", "\xe2\x82\xac", 341, "a", true },		/* 1023 + 1 */
		{ "", "\xe2\x82\xac", 341, "ab", false },
		{ "", "\xf0\x9f\x98\x80", 256, "", true },
		{ "a", "\xf0\x9f\x98\x80", 256, "", false },
		/* short escapes decode to 1 byte */
		{ "", "a", 1023, "\\n", true },
		{ "", "a", 1024, "\\n", false },
		{ "", "\\\"", 1024, "", true },
		{ "", "\\\\", 1025, "", false },
		{ "", "\\/", 1024, "", true },
		/* \u00XX below 0x80 is 1 byte; 1024 of them is the longest text (6146 with quotes) */
		{ "", "\\u0041", 1024, "", true },
		{ "", "\\u0041", 1025, "", false },
		{ "", "\\u0000", 1024, "", true },
		{ "", "a", 1023, "\\u007f", true },
		{ "", "a", 1024, "\\u007f", false },
		/* \u0080..\u07ff: 2 bytes */
		{ "", "a", 1022, "\\u00e9", true },
		{ "", "a", 1023, "\\u00e9", false },
		{ "", "a", 1022, "\\u07FF", true },
		{ "", "a", 1023, "\\u07ff", false },
		{ "", "\\u00e9", 512, "", true },
		{ "", "\\u00E9", 513, "", false },
		/* \u0800..\uffff: 3 bytes */
		{ "", "a", 1021, "\\u0800", true },
		{ "", "a", 1022, "\\u0800", false },
		{ "", "a", 1021, "\\u20ac", true },
		{ "", "a", 1022, "\\u20AC", false },
		{ "", "a", 1021, "\\uffff", true },
		/* a surrogate pair is one 4-byte character */
		{ "", "a", 1020, "\\ud83d\\ude00", true },
		{ "", "a", 1021, "\\ud83d\\ude00", false },
		{ "", "\\uD83D\\uDE00", 256, "", true },
		{ "", "\\ud83d\\ude00", 256, "a", false },
		{ "", "\\udbff\\udfff", 256, "", true },
		/* the pair exactly across the limit: 1022 + 4 */
		{ "", "a", 1022, "\\ud83d\\ude00", false },
		/* a lone surrogate is counted as 3 bytes (what a lenient decoder writes: U+FFFD) */
		{ "", "a", 1021, "\\udc00", true },
		{ "", "a", 1022, "\\udc00", false },
		/* mixes */
		{ "\\u00e9\xc3\xa9\\n", "a", 1019, "", true },		/* 2 + 2 + 1 + 1019 */
		{ "\\u00e9\xc3\xa9\\n", "a", 1020, "", false },
	};
	static const char *const fields[] = { "title", "object_id" };

	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			size_t len = 0;
			char *text = build_field(fields[f], &cases[i], &len);
			struct notification n;
			const char *why;
			const char *want = cases[i].ok ? NULL : f == 0 ? E_TITLE : E_OBJECT_ID;

			CHECK(text != NULL);
			if (!text)
				continue;
			why = notification_parse(text, len, &n, false, true);
			if (want ? !why || strcmp(why, want) : why != NULL)
				fprintf(stderr, "%s case %zu (%s + %d x %s + %s): got %s, want %s\n", fields[f], i,
					cases[i].head, cases[i].count, cases[i].unit, cases[i].tail, sentence(why),
					sentence(want));
			CHECK(want ? why && !strcmp(why, want) : why == NULL);
			if (!why) {
				struct json_span s = f == 0 ? n.title : n.object_id;

				/* the span is the whole JSON string, quotes included */
				CHECK(s.p && s.len >= 2 && s.p[0] == '"' && s.p[s.len - 1] == '"');
				CHECK(s.p + s.len == text + len - 1);
			}
			free(text);
		}
	}
}

/*
 * decoded_len() takes a high surrogate followed by ANY \u escape for a pair (4 bytes), so a high
 * surrogate followed by, say, \u20ac (3 bytes on its own; the lone surrogate another 3 as
 * U+FFFD) counts 4 instead of 6: up to 50% more than 1024 decoded bytes get through
 * (256 x "\ud83d\u20ac" counts 1024, decodes to 1536). Low impact: the stored text stays within
 * 6 * 1024 + 2 bytes either way.
 * correct: CHECK(why && !strcmp(why, E_TITLE)) for 1020 x "a" + "\ud83d\u20ac" (1026 bytes)
 */
static void test_unpaired_surrogate_count(void)
{
	static const struct text_case c = { "", "a", 1020, "\\ud83d\\u20ac", false };
	size_t len = 0;
	char *text = build_field("title", &c, &len);
	struct notification n;
	const char *why;

	CHECK(text != NULL);
	if (!text)
		return;
	why = notification_parse(text, len, &n, false, true);
	/* a high surrogate and a non-surrogate escape are 3 + 3 bytes: 1026 is over the limit */
	CHECK(why != NULL && !strcmp(why, "'title' must be a string of at most 1024 bytes"));
	free(text);
}

/*
 * decoded_len() (edge/wire/notification.c) reads each \uXXXX with sscanf, and glibc's sscanf
 * first looks for the NUL that ends its input string: it reads past the span it was given, up to
 * the next NUL byte in memory. The HTTP ingress passes item spans of a body buffer that is not
 * NUL-terminated (edge/server/http.c http_on_body), so this is an out-of-bounds read (and a scan
 * of the rest of the body per escape: quadratic). A string ending exactly at a PROT_NONE page
 * shows it: a correct parser never touches the guard page.
 */
static sigjmp_buf guard_jmp;

static void on_guard_fault(int sig)
{
	(void)sig;
	siglongjmp(guard_jmp, 1);
}

static void test_no_read_past_span(void)
{
	static const char text[] = "{\"kind\":\"announcement\",\"title\":\"caf\\u00e9\"}";
	long page = sysconf(_SC_PAGESIZE);
	struct sigaction sa, old_segv, old_bus;
	char *map;
	volatile int faulted = 0;
	const char *volatile why = "(not run)";

	map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(map != MAP_FAILED);
	if (map == MAP_FAILED)
		return;
	CHECK(mprotect(map + page, (size_t)page, PROT_NONE) == 0);
	/* the text ends at the guard page: no NUL after it, and nothing readable either */
	char *start = map + page - (sizeof(text) - 1);

	memset(map, 'x', (size_t)page);
	memcpy(start, text, sizeof(text) - 1);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_guard_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (sigsetjmp(guard_jmp, 1) == 0) {
		struct notification n;

		why = notification_parse(start, sizeof(text) - 1, &n, false, true);
	} else {
		faulted = 1;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	/* the parser reads only text[0..len) */
	CHECK(!faulted && why == NULL);

	/* the same text NUL-terminated right after the span parses fine */
	memset(map, 'x', (size_t)page);
	start = map + page - sizeof(text);
	memcpy(start, text, sizeof(text));
	{
		struct notification n;

		CHECK(notification_parse(start, sizeof(text) - 1, &n, false, true) == NULL);
	}
	munmap(map, (size_t)page * 2);
}

/* ---- valid notifications: spans, canonical form, ids, recipients ---- */

static void test_spans_and_canonical(void)
{
	/* every field, out of order, with spacing, escapes, unknown fields and big numbers */
	static const char text[] =
		"{ \"data\" : {\"n\":9007199254740993,\"f\":1.0e+2,\"s\":\"\\u00e9\\n\"},\"title\":\"Hi \\\"you\\\" \\ud83d\\ude00\","
		"\"extra\":1,\"actor\":\"bob\",\"object_id\":\"p/1 \\u2603\",\"object_type\":\"post\","
		"\"action\":\"commented\",\"kind\":\"remind\",\"ts\":1700000000123,\"id\":\"given-1\","
		"\"to\":[\"alice\",\"carol\"] }";
	struct notification n;
	struct textbuf b = { 0 };
	char id[ENVELOPE_ID_MAX + 1];

	CHECK(notification_parse(T(text), &n, true, false) == NULL);
	CHECK(n.k == NOTIFY_REMIND);
	CHECK(span_is(n.kind, "\"remind\""));
	CHECK(span_is(n.action, "\"commented\""));
	CHECK_STR(n.action_str, "commented");
	CHECK(span_is(n.object_type, "\"post\""));
	CHECK(span_is(n.object_id, "\"p/1 \\u2603\""));
	CHECK(span_is(n.actor, "\"bob\""));
	CHECK(span_is(n.title, "\"Hi \\\"you\\\" \\ud83d\\ude00\""));
	CHECK(span_is(n.data, "{\"n\":9007199254740993,\"f\":1.0e+2,\"s\":\"\\u00e9\\n\"}"));
	CHECK(span_is(n.id, "\"given-1\""));
	CHECK(span_is(n.ts, "1700000000123"));
	CHECK(span_is(n.to, "[\"alice\",\"carol\"]"));
	/* spans point into the text */
	CHECK(n.data.p > text && n.data.p + n.data.len < text + sizeof(text));

	notification_given_id(&n, id);
	CHECK_STR(id, "given-1");
	CHECK(notification_ts(&n, 5) == 1700000000123LL);

	notification_canonical(&b, &n, "n-42", 1700000000999LL);
	CHECK(!b.oom);
	CHECK_STR(b.p, "{\"id\":\"n-42\",\"ts\":1700000000999,\"kind\":\"remind\",\"action\":\"commented\","
		       "\"object_type\":\"post\",\"object_id\":\"p/1 \\u2603\",\"actor\":\"bob\","
		       "\"title\":\"Hi \\\"you\\\" \\ud83d\\ude00\","
		       "\"data\":{\"n\":9007199254740993,\"f\":1.0e+2,\"s\":\"\\u00e9\\n\"}}");
	{
		bool obj = false;
		const char *v;
		size_t vlen;

		CHECK(b.p && jsontext_validate(b.p, b.len, &obj, &v, &vlen, NULL, NULL) == 0 && obj);
	}
	textbuf_free(&b);

	/* the minimum: kind only; absent spans are NULL, action_str "" */
	CHECK(notification_parse(T("{\"kind\":\"announcement\"}"), &n, false, true) == NULL);
	CHECK(n.k == NOTIFY_ANNOUNCEMENT);
	CHECK(span_is(n.action, NULL) && span_is(n.object_type, NULL) && span_is(n.object_id, NULL));
	CHECK(span_is(n.actor, NULL) && span_is(n.title, NULL) && span_is(n.data, NULL));
	CHECK(span_is(n.id, NULL) && span_is(n.ts, NULL) && span_is(n.to, NULL));
	CHECK_STR(n.action_str, "");
	CHECK(notification_ts(&n, 777) == 777);
	notification_canonical(&b, &n, "h0", 0);
	CHECK_STR(b.p, "{\"id\":\"h0\",\"ts\":0,\"kind\":\"announcement\"}");
	textbuf_free(&b);

	/* a mailbox with data of every JSON type, whitespace inside values kept */
	CHECK(notification_parse(T("{\"kind\":\"mailbox\",\"data\":[ 1 , \"x\" ,null,true,{ }],\"actor\":\"a@b\"}"), &n,
				 false, false) == NULL);
	CHECK(n.k == NOTIFY_MAILBOX);
	CHECK_STR(n.action_str, "");
	notification_canonical(&b, &n, "m", 9223372036854775807LL);
	CHECK_STR(b.p, "{\"id\":\"m\",\"ts\":9223372036854775807,\"kind\":\"mailbox\",\"actor\":\"a@b\","
		       "\"data\":[ 1 , \"x\" ,null,true,{ }]}");
	textbuf_free(&b);
	/* data that is a bare big number, and a remind's action up to 64 characters */
	CHECK(notification_parse(T("{\"kind\":\"remind\",\"action\":\"" ID64 "\",\"object_type\":\"t\","
				   "\"object_id\":\"o\",\"data\":18446744073709551617}"), &n, false, false) == NULL);
	CHECK_STR(n.action_str, ID64);
	notification_canonical(&b, &n, "x", 1);
	CHECK_STR(b.p, "{\"id\":\"x\",\"ts\":1,\"kind\":\"remind\",\"action\":\"" ID64 "\",\"object_type\":\"t\","
		       "\"object_id\":\"o\",\"data\":18446744073709551617}");
	textbuf_free(&b);
	/* ts 0 given is kept (not "absent") */
	CHECK(notification_parse(T("{\"kind\":\"announcement\",\"ts\":0}"), &n, false, true) == NULL);
	CHECK(notification_ts(&n, 777) == 0);

	CHECK_STR(notification_kind_name(NOTIFY_ANNOUNCEMENT), "announcement");
	CHECK_STR(notification_kind_name(NOTIFY_REMIND), "remind");
	CHECK_STR(notification_kind_name(NOTIFY_MAILBOX), "mailbox");
	CHECK_STR(notification_kind_name(NOTIFY_KINDS), "");
}

static void test_content_id(void)
{
	static const char topic_a[] = "mqedge/v1/user/alice/notify", topic_b[] = "mqedge/v1/user/bob/notify";
	static const char payload[] = "{\"kind\":\"mailbox\",\"actor\":\"bob\"}";
	char a1[NOTIFICATION_CONTENT_ID_MAX], a2[NOTIFICATION_CONTENT_ID_MAX], b1[NOTIFICATION_CONTENT_ID_MAX];
	char c1[NOTIFICATION_CONTENT_ID_MAX], d1[NOTIFICATION_CONTENT_ID_MAX], d2[NOTIFICATION_CONTENT_ID_MAX];

	notification_content_id(T(topic_a), T(payload), a1);
	notification_content_id(T(topic_a), T(payload), a2);
	CHECK_STR(a1, a2);
	/* h + 32 lower-case hex digits: a valid message id */
	CHECK(strlen(a1) == 33 && a1[0] == 'h');
	CHECK(strspn(a1 + 1, "0123456789abcdef") == 32);
	CHECK(envelope_validate_id(a1, strlen(a1)) == 0);
	/* the same on every edge: it does not depend on the process's random key */
	siphash_seed_random();
	notification_content_id(T(topic_a), T(payload), a2);
	CHECK_STR(a1, a2);
	/* and stable across versions (a changed derivation would duplicate stored notifications) */
	CHECK_STR(a1, CONTENT_ID_GOLDEN);
	/* another topic, another payload, one byte more: another id */
	notification_content_id(T(topic_b), T(payload), b1);
	CHECK(strcmp(a1, b1) != 0);
	notification_content_id(T(topic_a), payload, sizeof(payload) - 2, c1);
	CHECK(strcmp(a1, c1) != 0);
	notification_content_id(T(topic_a), payload, sizeof(payload), c1);	/* with the NUL */
	CHECK(strcmp(a1, c1) != 0);
	/* where topic ends and payload begins matters */
	notification_content_id(T("ab"), T("c"), d1);
	notification_content_id(T("a"), T("bc"), d2);
	CHECK(strcmp(d1, d2) != 0);
	notification_content_id("", 0, "", 0, d1);
	CHECK(strlen(d1) == 33 && d1[0] == 'h');
}

struct recips {
	int n;
	char user[8][TOPICS_ID_MAX + 1];
};

static void add_recipient(void *ctx, const char *user)
{
	struct recips *r = ctx;

	if (r->n < 8)
		snprintf(r->user[r->n], sizeof(r->user[0]), "%s", user);
	r->n++;
}

static void test_recipients(void)
{
	struct notification n;
	struct recips r = { 0 };

	CHECK(notification_parse(T("{\"kind\":\"mailbox\",\"actor\":\"x\",\"to\":[ \"alice\" ,\"b.o@b:1\",\"" ID64 "\",\"alice\"]}"),
				 &n, true, false) == NULL);
	notification_each_recipient(&n, add_recipient, &r);
	CHECK(r.n == 4);
	CHECK_STR(r.user[0], "alice");
	CHECK_STR(r.user[1], "b.o@b:1");
	CHECK_STR(r.user[2], ID64);
	CHECK_STR(r.user[3], "alice");	/* as given: duplicates are the caller's business */

	memset(&r, 0, sizeof(r));
	CHECK(notification_parse(T("{\"kind\":\"announcement\"}"), &n, true, false) == NULL);
	notification_each_recipient(&n, add_recipient, &r);
	CHECK(r.n == 0);
}

/* ---- mute lists ---- */

static void test_mute_parse(void)
{
	static const struct {
		const char *text;
		size_t len;
		int rc;
		size_t count;
		const char *json;	/* mute_list_json of the result */
	} cases[] = {
		{ T("[]"), 0, 0, "[]" },
		{ T(" [ ] "), 0, 0, "[]" },
		{ T("[\"announcement\",\"remind\",\"mailbox\"]"), 0, 3, "[\"announcement\",\"remind\",\"mailbox\"]" },
		{ T("[\"remind:liked\", \"announcement:sale\" ,\"mailbox:x.y@z\"]"), 0, 3,
		  "[\"remind:liked\",\"announcement:sale\",\"mailbox:x.y@z\"]" },
		{ T("[\"remind:a:b\"]"), 0, 1, "[\"remind:a:b\"]" },	/* ':' is an id character */
		{ T("[\"remind:" ID64 "\"]"), 0, 1, "[\"remind:" ID64 "\"]" },
		{ T("[\"remind\",\"remind\"]"), 0, 2, "[\"remind\",\"remind\"]" },
		{ T("[\"remind:" ID64 "x\"]"), -EINVAL, 0, NULL },
		{ T("[\"remind:\"]"), -EINVAL, 0, NULL },
		{ T("[\"announcement:\"]"), -EINVAL, 0, NULL },
		{ T("[\":liked\"]"), -EINVAL, 0, NULL },
		{ T("[\"remind:li ked\"]"), -EINVAL, 0, NULL },
		{ T("[\"remind:a/b\"]"), -EINVAL, 0, NULL },
		{ T("[\"bogus\"]"), -EINVAL, 0, NULL },
		{ T("[\"bogus:liked\"]"), -EINVAL, 0, NULL },
		{ T("[\"Remind\"]"), -EINVAL, 0, NULL },
		{ T("[\"reminder\"]"), -EINVAL, 0, NULL },
		{ T("[\"\"]"), -EINVAL, 0, NULL },
		{ T("[\"remind\",\"nope\"]"), -EINVAL, 0, NULL },
		{ T("[\"remin\\u0064\"]"), -EINVAL, 0, NULL },
		{ T("[5]"), -EINVAL, 0, NULL },
		{ T("[null]"), -EINVAL, 0, NULL },
		{ T("[[\"remind\"]]"), -EINVAL, 0, NULL },
		{ T("\"remind\""), -EINVAL, 0, NULL },
		{ T("{\"mute\":[\"remind\"]}"), -EINVAL, 0, NULL },
		{ T("null"), -EINVAL, 0, NULL },
		{ T(""), -EINVAL, 0, NULL },
		{ T("[\"remind\""), -EINVAL, 0, NULL },
		{ T("[\"remind\"] x"), -EINVAL, 0, NULL },
		{ T("[\"remind\",]"), -EINVAL, 0, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mute_list l;
		int rc = mute_list_parse(cases[i].text, cases[i].len, &l);

		if (rc != cases[i].rc)
			fprintf(stderr, "mute case %zu (%.*s): rc %d, want %d\n", i, (int)cases[i].len, cases[i].text, rc,
				cases[i].rc);
		CHECK(rc == cases[i].rc);
		if (rc || cases[i].rc)
			continue;
		CHECK(l.count == cases[i].count);
		struct textbuf b = { 0 };

		mute_list_json(&b, l.e, l.count);
		CHECK_STR(b.p, cases[i].json);
		textbuf_free(&b);
	}
	/* the kinds and actions of a parsed list */
	{
		struct mute_list l;

		CHECK(mute_list_parse(T("[\"remind:liked\",\"announcement\",\"mailbox:x\"]"), &l) == 0);
		CHECK(l.count == 3);
		CHECK(l.e[0].kind == NOTIFY_REMIND);
		CHECK_STR(l.e[0].action, "liked");
		CHECK(l.e[1].kind == NOTIFY_ANNOUNCEMENT);
		CHECK_STR(l.e[1].action, "");
		CHECK(l.e[2].kind == NOTIFY_MAILBOX);
		CHECK_STR(l.e[2].action, "x");
	}
	/* 100 entries are fine, 101 are not */
	for (int n = 99; n <= 102; n++) {
		struct textbuf b = { 0 };
		struct mute_list l;
		int rc;

		textbuf_puts(&b, "[");
		for (int i = 0; i < n; i++)
			textbuf_printf(&b, "%s\"remind:a%d\"", i ? "," : "", i);
		textbuf_puts(&b, "]");
		rc = mute_list_parse(b.p, b.len, &l);
		CHECK(rc == (n <= MUTE_MAX ? 0 : -EINVAL));
		if (n <= MUTE_MAX) {
			CHECK(l.count == (size_t)n);
			CHECK_STR(l.e[n - 1].action, n == 99 ? "a98" : "a99");
		}
		textbuf_free(&b);
	}
	CHECK(MUTE_MAX == 100);
}

static void test_mute_match(void)
{
	struct mute_entry list[] = {
		{ NOTIFY_REMIND, "liked" },
		{ NOTIFY_ANNOUNCEMENT, "" },
		{ NOTIFY_MAILBOX, "spam" },
	};
	struct mute_entry whole_remind[] = { { NOTIFY_REMIND, "" } };
	static const struct {
		int list;	/* 0: list, 1: whole_remind, 2: none */
		enum notification_kind kind;
		const char *action;
		bool muted;
	} cases[] = {
		{ 0, NOTIFY_REMIND, "liked", true },
		{ 0, NOTIFY_REMIND, "commented", false },
		{ 0, NOTIFY_REMIND, "like", false },
		{ 0, NOTIFY_REMIND, "likedx", false },
		{ 0, NOTIFY_REMIND, "LIKED", false },
		{ 0, NOTIFY_REMIND, NULL, false },	/* kind:action mutes only that action */
		{ 0, NOTIFY_REMIND, "", false },
		{ 0, NOTIFY_ANNOUNCEMENT, NULL, true },	/* a whole kind mutes every action */
		{ 0, NOTIFY_ANNOUNCEMENT, "", true },
		{ 0, NOTIFY_ANNOUNCEMENT, "sale", true },
		{ 0, NOTIFY_MAILBOX, "spam", true },
		{ 0, NOTIFY_MAILBOX, NULL, false },
		{ 0, NOTIFY_MAILBOX, "liked", false },	/* the action belongs to another kind's entry */
		{ 1, NOTIFY_REMIND, "liked", true },
		{ 1, NOTIFY_REMIND, NULL, true },
		{ 1, NOTIFY_REMIND, "", true },
		{ 1, NOTIFY_MAILBOX, NULL, false },
		{ 1, NOTIFY_ANNOUNCEMENT, "x", false },
		{ 2, NOTIFY_REMIND, NULL, false },
		{ 2, NOTIFY_ANNOUNCEMENT, "", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mute_entry *e = cases[i].list == 0 ? list : cases[i].list == 1 ? whole_remind : NULL;
		size_t n = cases[i].list == 0 ? 3 : cases[i].list == 1 ? 1 : 0;
		bool got = mute_entries_match(e, n, cases[i].kind, cases[i].action);

		if (got != cases[i].muted)
			fprintf(stderr, "match case %zu: got %d\n", i, got);
		CHECK(got == cases[i].muted);
	}
	/* only the first n entries count */
	CHECK(!mute_entries_match(list, 1, NOTIFY_ANNOUNCEMENT, NULL));
	CHECK(mute_entries_match(list, 2, NOTIFY_ANNOUNCEMENT, NULL));
}

static void test_mute_json_and_settings(void)
{
	struct mute_entry e[] = {
		{ NOTIFY_ANNOUNCEMENT, "" },
		{ NOTIFY_REMIND, "liked" },
		{ NOTIFY_MAILBOX, "" },
		{ NOTIFY_REMIND, ID64 },
	};
	struct textbuf b = { 0 };
	struct mute_list l;
	int64_t ts = -5;

	mute_list_json(&b, e, 4);
	CHECK_STR(b.p, "[\"announcement\",\"remind:liked\",\"mailbox\",\"remind:" ID64 "\"]");
	textbuf_free(&b);
	mute_list_json(&b, e, 0);
	CHECK_STR(b.p, "[]");
	textbuf_free(&b);

	notification_settings_json(&b, e, 2, 1700000000000LL);
	CHECK_STR(b.p, "{\"mute\":[\"announcement\",\"remind:liked\"],\"ts\":1700000000000}");
	/* round trip */
	CHECK(notification_settings_parse(b.p, b.len, &l, &ts) == 0);
	CHECK(ts == 1700000000000LL);
	CHECK(l.count == 2);
	CHECK(l.e[0].kind == NOTIFY_ANNOUNCEMENT && l.e[0].action[0] == '\0');
	CHECK(l.e[1].kind == NOTIFY_REMIND && !strcmp(l.e[1].action, "liked"));
	textbuf_free(&b);

	/* every entry, and the JSON of the parsed list is the same text */
	notification_settings_json(&b, e, 4, 0);
	CHECK(notification_settings_parse(b.p, b.len, &l, &ts) == 0);
	CHECK(ts == 0 && l.count == 4);
	{
		struct textbuf b2 = { 0 };

		notification_settings_json(&b2, l.e, l.count, ts);
		CHECK_STR(b2.p, b.p);
		textbuf_free(&b2);
	}
	textbuf_free(&b);
	notification_settings_json(&b, e, 0, 42);
	CHECK_STR(b.p, "{\"mute\":[],\"ts\":42}");
	CHECK(notification_settings_parse(b.p, b.len, &l, &ts) == 0);
	CHECK(ts == 42 && l.count == 0);
	textbuf_free(&b);

	/* what settings_parse refuses */
	static const struct {
		const char *text;
		size_t len;
		int rc;
	} cases[] = {
		{ T("{\"mute\":[\"remind\"],\"ts\":5}"), 0 },
		{ T("{\"ts\":5,\"mute\":[\"remind\"],\"other\":{}}"), 0 },
		{ T("{\"mute\":[\"remind\"]}"), -EINVAL },
		{ T("{\"ts\":5}"), -EINVAL },
		{ T("{\"mute\":[\"remind\"],\"ts\":-1}"), -EINVAL },
		{ T("{\"mute\":[\"remind\"],\"ts\":\"5\"}"), -EINVAL },
		{ T("{\"mute\":[\"remind\"],\"ts\":1.5}"), -EINVAL },
		{ T("{\"mute\":[\"nope\"],\"ts\":5}"), -EINVAL },
		{ T("{\"mute\":\"remind\",\"ts\":5}"), -EINVAL },
		{ T("{\"mute\":null,\"ts\":5}"), -EINVAL },
		{ T("[\"remind\"]"), -EINVAL },
		{ T("{\"mute\":[],\"ts\":5"), -EINVAL },
		{ T(""), -EINVAL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = notification_settings_parse(cases[i].text, cases[i].len, &l, &ts);

		if (rc != cases[i].rc)
			fprintf(stderr, "settings case %zu (%s): rc %d\n", i, cases[i].text, rc);
		CHECK(rc == cases[i].rc);
	}
}

/* ---- read marks ---- */

static void test_read_ids(void)
{
	static const struct {
		const char *text;
		size_t len;
		int rc;
		size_t count;
	} cases[] = {
		{ T("[\"a\"]"), 0, 1 },
		{ T("[ \"n1\" , \"h0123456789abcdef0123456789abcdef\",\"e1.k2.3z\" ]"), 0, 3 },
		{ T("[\"" ID100 "\"]"), 0, 1 },
		{ T("[\"a\",\"a\"]"), 0, 2 },
		{ T("[]"), -EINVAL, 0 },
		{ T("[\"" ID100 "x\"]"), -EINVAL, 0 },
		{ T("[\"\"]"), -EINVAL, 0 },
		{ T("[\"a b\"]"), -EINVAL, 0 },
		{ T("[\"a\",\"b/c\"]"), -EINVAL, 0 },
		{ T("[\"\\u0061\"]"), -EINVAL, 0 },
		{ T("[1]"), -EINVAL, 0 },
		{ T("[null]"), -EINVAL, 0 },
		{ T("[[\"a\"]]"), -EINVAL, 0 },
		{ T("\"a\""), -EINVAL, 0 },
		{ T("{\"ids\":[\"a\"]}"), -EINVAL, 0 },
		{ T("[\"a\""), -EINVAL, 0 },
		{ T(""), -EINVAL, 0 },
	};
	struct read_ids *r = malloc(sizeof(*r));

	CHECK(r != NULL);
	if (!r)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = read_ids_parse(cases[i].text, cases[i].len, r);

		if (rc != cases[i].rc)
			fprintf(stderr, "read_ids case %zu (%.*s): rc %d\n", i, (int)cases[i].len, cases[i].text, rc);
		CHECK(rc == cases[i].rc);
		if (!rc && !cases[i].rc) {
			CHECK(r->count == cases[i].count);
			for (size_t k = 0; k < r->count; k++)
				CHECK(r->ptrs[k] == r->ids[k]);
		}
	}
	CHECK(read_ids_parse(T("[ \"n1\" , \"e1.k2.3z\" ]"), r) == 0);
	CHECK_STR(r->ids[0], "n1");
	CHECK_STR(r->ids[1], "e1.k2.3z");
	CHECK(read_ids_parse(T("[\"" ID100 "\"]"), r) == 0);
	CHECK_STR(r->ptrs[0], ID100);

	/* 1..256 ids */
	for (int n = 255; n <= 258; n++) {
		struct textbuf b = { 0 };
		int rc;

		textbuf_puts(&b, "[");
		for (int i = 0; i < n; i++)
			textbuf_printf(&b, "%s\"id-%d\"", i ? "," : "", i);
		textbuf_puts(&b, "]");
		rc = read_ids_parse(b.p, b.len, r);
		CHECK(rc == (n <= READ_MAX_IDS ? 0 : -EINVAL));
		if (!rc) {
			char last[16];

			snprintf(last, sizeof(last), "id-%d", n - 1);
			CHECK(r->count == (size_t)n);
			CHECK_STR(r->ptrs[n - 1], last);
		}
		textbuf_free(&b);
	}
	CHECK(READ_MAX_IDS == 256);
	free(r);
}

static void test_read_marks(void)
{
	struct read_ids *ids = calloc(1, sizeof(*ids)), *out = calloc(1, sizeof(*out));
	struct textbuf b = { 0 };
	bool all = true;
	int64_t ts = -1;

	CHECK(ids && out);
	if (!ids || !out) {
		free(ids);
		free(out);
		return;
	}
	CHECK(read_ids_parse(T("[\"n1\",\"h00ff\",\"" ID100 "\"]"), ids) == 0);
	notification_read_json(&b, ids, 1700000000001LL);
	CHECK_STR(b.p, "{\"ids\":[\"n1\",\"h00ff\",\"" ID100 "\"],\"ts\":1700000000001}");
	CHECK(notification_read_parse(b.p, b.len, &all, out, &ts) == 0);
	CHECK(!all && ts == 1700000000001LL);
	CHECK(out->count == 3);
	CHECK_STR(out->ids[0], "n1");
	CHECK_STR(out->ids[1], "h00ff");
	CHECK_STR(out->ids[2], ID100);
	textbuf_free(&b);

	/* one id */
	CHECK(read_ids_parse(T("[\"x\"]"), ids) == 0);
	notification_read_json(&b, ids, 0);
	CHECK_STR(b.p, "{\"ids\":[\"x\"],\"ts\":0}");
	CHECK(notification_read_parse(b.p, b.len, &all, out, &ts) == 0);
	CHECK(!all && ts == 0 && out->count == 1 && !strcmp(out->ids[0], "x"));
	textbuf_free(&b);

	/* all */
	notification_read_json(&b, NULL, 1700000000002LL);
	CHECK_STR(b.p, "{\"all\":true,\"ts\":1700000000002}");
	out->count = 99;
	CHECK(notification_read_parse(b.p, b.len, &all, out, &ts) == 0);
	CHECK(all && ts == 1700000000002LL);
	textbuf_free(&b);

	static const struct {
		const char *text;
		size_t len;
		int rc;
		bool all;
		int64_t ts;
		size_t count;
	} cases[] = {
		{ T("{\"all\":true,\"ts\":5}"), 0, true, 5, 0 },
		{ T("{\"ts\":5,\"all\":true,\"ids\":[\"a\"]}"), 0, true, 5, 0 },	/* all wins */
		{ T("{\"all\":false,\"ids\":[\"a\"],\"ts\":5}"), 0, false, 5, 1 },
		{ T("{\"ids\":[\"a\",\"b\"],\"ts\":5}"), 0, false, 5, 2 },
		/* ids without a usable ts are still read marks (ts 0) */
		{ T("{\"ids\":[\"a\"]}"), 0, false, 0, 1 },
		{ T("{\"ids\":[\"a\"],\"ts\":-3}"), 0, false, 0, 1 },
		{ T("{\"ids\":[\"a\"],\"ts\":\"x\"}"), 0, false, 0, 1 },
		/* "all" needs a ts */
		{ T("{\"all\":true}"), -EINVAL, false, 0, 0 },
		{ T("{\"all\":true,\"ts\":-1}"), -EINVAL, false, 0, 0 },
		{ T("{\"all\":\"true\",\"ts\":1}"), -EINVAL, false, 1, 0 },
		{ T("{\"all\":1,\"ts\":1}"), -EINVAL, false, 1, 0 },
		{ T("{\"ids\":[],\"ts\":1}"), -EINVAL, false, 1, 0 },
		{ T("{\"ids\":[\"a b\"],\"ts\":1}"), -EINVAL, false, 1, 0 },
		{ T("{\"ids\":\"a\",\"ts\":1}"), -EINVAL, false, 1, 0 },
		{ T("{\"ts\":1}"), -EINVAL, false, 1, 0 },
		{ T("{}"), -EINVAL, false, 0, 0 },
		{ T("[\"a\"]"), -EINVAL, false, 0, 0 },
		{ T("{\"ids\":[\"a\"],\"ts\":1"), -EINVAL, false, 0, 0 },
		{ T(""), -EINVAL, false, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = notification_read_parse(cases[i].text, cases[i].len, &all, out, &ts);
		bool ok = rc == cases[i].rc && all == cases[i].all && (rc || ts == cases[i].ts) &&
			  (rc || all || out->count == cases[i].count);

		if (!ok)
			fprintf(stderr, "read case %zu (%s): rc %d all %d ts %lld count %zu\n", i, cases[i].text, rc, all,
				(long long)ts, out->count);
		CHECK(ok);
	}
	free(ids);
	free(out);
}

int main(void)
{
	test_parse_table();
	test_recipient_count();
	test_text_limit();
	test_unpaired_surrogate_count();
	test_no_read_past_span();
	test_spans_and_canonical();
	test_content_id();
	test_recipients();
	test_mute_parse();
	test_mute_match();
	test_mute_json_and_settings();
	test_read_ids();
	test_read_marks();
	return CHECK_DONE();
}
