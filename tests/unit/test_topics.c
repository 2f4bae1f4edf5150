/*
 * test_topics.c - ids, prefixes, the topic map both ways, and id patterns (edge/wire/topics.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "mqedge/wire/topics.h"

/* A literal with its exact length. */
#define T(s) s, sizeof(s) - 1

#define ID64 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
#define ID65 ID64 "x"

static void test_id_char(void)
{
	int n = 0;

	for (int c = 0; c < 256; c++)
		n += topics_id_char(c);
	CHECK(n == 26 + 26 + 10 + 5);
	for (const char *p = "azAZ09_-.@:"; *p; p++)
		CHECK(topics_id_char((unsigned char)*p));
	for (const char *p = "/+#$ *,\"\\\t\x7f"; *p; p++)
		CHECK(!topics_id_char((unsigned char)*p));
	CHECK(!topics_id_char(0));
	CHECK(!topics_id_char(0xC3));
	CHECK(!topics_id_char(-1));
}

static void test_validate_id(void)
{
	static const struct {
		const char *id;
		size_t len;	/* 0: strlen */
		int want;
	} cases[] = {
		{ "a", 0, 0 },
		{ "Z", 0, 0 },
		{ "0", 0, 0 },
		{ "_", 0, 0 },
		{ "-", 0, 0 },
		{ ".", 0, 0 },
		{ "@", 0, 0 },
		{ ":", 0, 0 },
		{ "user@example.com", 0, 0 },
		{ "team-a:chan_1.x", 0, 0 },
		{ ID64, 0, 0 },
		{ "", 0, -1 },
		{ ID65, 0, -1 },
		{ "a/b", 0, -1 },
		{ "a+b", 0, -1 },
		{ "+", 0, -1 },
		{ "#", 0, -1 },
		{ "a#", 0, -1 },
		{ "/", 0, -1 },
		{ "$SYS", 0, -1 },
		{ "a b", 0, -1 },
		{ " a", 0, -1 },
		{ "a\t", 0, -1 },
		{ "a*b", 0, -1 },
		{ "a,b", 0, -1 },
		{ "a\"b", 0, -1 },
		{ "a\\b", 0, -1 },
		{ "caf\xc3\xa9", 0, -1 },
		{ "\xe2\x82\xac", 0, -1 },
		{ "\x7f", 0, -1 },
		{ "a\0b", 3, -1 },
		{ "\0", 1, -1 },
		{ "ab\0", 3, -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].id);
		int got = topics_validate_id(cases[i].id, len);

		if (got != cases[i].want)
			fprintf(stderr, "validate_id case %zu (\"%s\"): got %d\n", i, cases[i].id, got);
		CHECK(got == cases[i].want);
	}
	/* the length is authoritative: a valid prefix of an invalid string is valid */
	CHECK(topics_validate_id("ab/cd", 2) == 0);
	CHECK(topics_validate_id(ID65, 64) == 0);
	CHECK(topics_validate_id(NULL, 3) == -1);
}

static void test_validate_prefix(void)
{
	char p128[129], p129[130];
	static const struct {
		const char *prefix;
		int want;
	} cases[] = {
		{ "mqedge/v1", 0 },
		{ "x", 0 },
		{ "a/b/c", 0 },
		{ "my-app.prod/v1", 0 },
		{ "", -1 },
		{ "/a", -1 },
		{ "a/", -1 },
		{ "/", -1 },
		{ "a//b", -1 },
		{ "a/+/b", -1 },
		{ "+", -1 },
		{ "a/#", -1 },
		{ "a#b", -1 },
		{ "$SYS/x", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = topics_validate_prefix(cases[i].prefix);

		if (got != cases[i].want)
			fprintf(stderr, "validate_prefix case %zu (\"%s\"): got %d\n", i, cases[i].prefix, got);
		CHECK(got == cases[i].want);
	}
	memset(p128, 'p', 128);
	p128[128] = '\0';
	memset(p129, 'p', 129);
	p129[129] = '\0';
	CHECK(topics_validate_prefix(p128) == 0);
	CHECK(topics_validate_prefix(p129) == -1);
	CHECK(topics_validate_prefix(NULL) == -1);
}

static void test_build(void)
{
	static const struct {
		enum topic_kind kind;
		const char *id, *want;
	} cases[] = {
		{ TOPIC_ROOM, "lobby", "mqedge/v1/room/lobby" },
		{ TOPIC_DIRECT, "alice", "mqedge/v1/user/alice/direct" },
		{ TOPIC_TELEMETRY, "dev-1", "mqedge/v1/device/dev-1/telemetry" },
		{ TOPIC_CMD, "dev-1", "mqedge/v1/device/dev-1/cmd" },
		{ TOPIC_STATUS, "edge-1", "mqedge/v1/edge/edge-1/status" },
	};
	char buf[TOPICS_TOPIC_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = topics_build(buf, sizeof(buf), "mqedge/v1", cases[i].kind, cases[i].id);

		CHECK(n == (int)strlen(cases[i].want));
		CHECK_STR(n >= 0 ? buf : NULL, cases[i].want);
	}
	/* invalid ids never make a topic */
	const char *bad[] = { "", "a/b", "+", "#", "a b", "caf\xc3\xa9", ID65 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (int k = TOPIC_ROOM; k <= TOPIC_SETTINGS; k++)
			CHECK(topics_build(buf, sizeof(buf), "mqedge/v1", (enum topic_kind)k, bad[i]) == -1);
	CHECK(topics_build(buf, sizeof(buf), "mqedge/v1", TOPIC_NONE, "a") == -1);
	CHECK(topics_build(buf, sizeof(buf), "mqedge/v1", (enum topic_kind)99, "a") == -1);

	/* "p/room/a" is 8 bytes: 9 fit with the NUL, 8 do not */
	CHECK(topics_build(buf, 9, "p", TOPIC_ROOM, "a") == 8);
	CHECK_STR(buf, "p/room/a");
	CHECK(topics_build(buf, 8, "p", TOPIC_ROOM, "a") == -1);
	CHECK(topics_build(buf, 1, "p", TOPIC_ROOM, "a") == -1);

	/* the largest topic fits TOPICS_TOPIC_MAX */
	char prefix[TOPICS_PREFIX_MAX + 1];

	memset(prefix, 'p', TOPICS_PREFIX_MAX);
	prefix[TOPICS_PREFIX_MAX] = '\0';
	CHECK(topics_build(buf, sizeof(buf), prefix, TOPIC_TELEMETRY, ID64) ==
	      TOPICS_PREFIX_MAX + (int)strlen("/device/") + 64 + (int)strlen("/telemetry"));
}

/* build then parse gives back the kind and the id, under several prefixes */
static void test_round_trip(void)
{
	const char *prefixes[] = { "mqedge/v1", "x", "a/b/c/d", "room", "device/v1" };
	const char *ids[] = { "a", "lobby", "user@example.com", "x:y.z_-1", ID64, "room", "direct", "cmd" };
	char buf[TOPICS_TOPIC_MAX];

	for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			for (int k = TOPIC_ROOM; k <= TOPIC_SETTINGS; k++) {
				const char *id = NULL;
				size_t idlen = 0;
				int n = topics_build(buf, sizeof(buf), prefixes[p], (enum topic_kind)k, ids[i]);
				enum topic_kind got;

				CHECK(n > 0);
				if (n <= 0)
					continue;
				got = topics_parse(prefixes[p], buf, (size_t)n, &id, &idlen);
				if (got != (enum topic_kind)k)
					fprintf(stderr, "round trip %s: got kind %d want %d\n", buf, got, k);
				CHECK(got == (enum topic_kind)k);
				CHECK(idlen == strlen(ids[i]));
				CHECK(id && id >= buf && id + idlen <= buf + n && !memcmp(id, ids[i], idlen));
			}
		}
	}
}

static void test_parse_rejects(void)
{
	static const struct {
		const char *topic;
		size_t len;	/* 0: strlen */
	} cases[] = {
		{ "", 0 },
		{ "mqedge/v1", 0 },
		{ "mqedge/v1/", 0 },
		{ "mqedge/v2/room/a", 0 },
		{ "mqedge/v1room/a", 0 },
		{ "mqedge/v10/room/a", 0 },
		{ "other/room/a", 0 },
		{ "room/a", 0 },
		{ "/mqedge/v1/room/a", 0 },
		{ "mqedge/v1//room/a", 0 },
		{ "mqedge/v1/room", 0 },
		{ "mqedge/v1/room/", 0 },
		{ "mqedge/v1/room/a/", 0 },
		{ "mqedge/v1/room/a/b", 0 },
		{ "mqedge/v1/room/+", 0 },
		{ "mqedge/v1/room/#", 0 },
		{ "mqedge/v1/room/a+", 0 },
		{ "mqedge/v1/room/a b", 0 },
		{ "mqedge/v1/room/caf\xc3\xa9", 0 },
		{ "mqedge/v1/room/" ID65, 0 },
		{ "mqedge/v1/room/a\0b", 18 },
		{ "mqedge/v1/room/\0", 16 },
		{ "mqedge/v1/rooms/a", 0 },
		{ "mqedge/v1/ROOM/a", 0 },
		{ "mqedge/v1/user/a", 0 },
		{ "mqedge/v1/user/a/", 0 },
		{ "mqedge/v1/user//direct", 0 },
		{ "mqedge/v1/user/a/directx", 0 },
		{ "mqedge/v1/user/a/direct/", 0 },
		{ "mqedge/v1/user/a/direct/x", 0 },
		{ "mqedge/v1/user/a/b/direct", 0 },
		{ "mqedge/v1/user/+/direct", 0 },
		{ "mqedge/v1/user/a\0/direct", 24 },
		{ "mqedge/v1/device/a", 0 },
		{ "mqedge/v1/device/a/", 0 },
		{ "mqedge/v1/device/a/telemetr", 0 },
		{ "mqedge/v1/device/a/telemetryx", 0 },
		{ "mqedge/v1/device/a/cmd/", 0 },
		{ "mqedge/v1/device/a/status", 0 },
		{ "mqedge/v1/device/#", 0 },
		{ "mqedge/v1/device/+/cmd", 0 },
		{ "mqedge/v1/edge/e", 0 },
		{ "mqedge/v1/edge/e/statuses", 0 },
		{ "mqedge/v1/edge/e/status/x", 0 },
		{ "mqedge/v1/foo/a", 0 },
		{ "mqedge/v1/#", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *id = NULL;
		size_t idlen = 0, len = cases[i].len ? cases[i].len : strlen(cases[i].topic);
		enum topic_kind got = topics_parse("mqedge/v1", cases[i].topic, len, &id, &idlen);

		if (got != TOPIC_NONE)
			fprintf(stderr, "parse case %zu (\"%s\"): got kind %d\n", i, cases[i].topic, got);
		CHECK(got == TOPIC_NONE);
	}
}

/* parse honours the length it is given and never reads past it */
static void test_parse_length(void)
{
	const char *id = NULL;
	size_t idlen = 0;
	const char *t = "mqedge/v1/room/abc/extra";
	char *heap;

	CHECK(topics_parse("mqedge/v1", t, 16, &id, &idlen) == TOPIC_ROOM);
	CHECK(idlen == 1 && id == t + 15);
	CHECK(topics_parse("mqedge/v1", t, 18, &id, &idlen) == TOPIC_ROOM);
	CHECK(idlen == 3 && id && !memcmp(id, "abc", 3));
	CHECK(topics_parse("mqedge/v1", t, strlen(t), &id, &idlen) == TOPIC_NONE);
	/* exact-size heap copy without NUL: ASan catches any over-read */
	heap = malloc(27);
	if (heap) {
		memcpy(heap, "mqedge/v1/device/d/telemetry", 27);
		CHECK(topics_parse("mqedge/v1", heap, 27, &id, &idlen) == TOPIC_NONE);	/* "telemetr" */
		memcpy(heap, "mqedge/v1/user/u1/direct123", 27);
		CHECK(topics_parse("mqedge/v1", heap, 24, &id, &idlen) == TOPIC_DIRECT);
		CHECK(idlen == 2 && !memcmp(id, "u1", 2));
		free(heap);
	}
}

static void test_pattern(void)
{
	static const struct {
		const char *pattern, *id;
		bool want;
	} cases[] = {
		{ "lobby", "lobby", true },
		{ "lobby", "lobby2", false },
		{ "lobby", "lobb", false },
		{ "lobby", "Lobby", false },
		{ "team-*", "team-a", true },
		{ "team-*", "team-", true },
		{ "team-*", "team-abc-def", true },
		{ "team-*", "team", false },
		{ "team-*", "xteam-a", false },
		{ "team-*", "Team-a", false },
		{ "*", "a", true },
		{ "*", ID64, true },
		{ "*", "", true },
		{ "**", "x", true },
		{ "*-admin", "x-admin", true },
		{ "*-admin", "-admin", true },
		{ "*-admin", "x-admins", false },
		{ "a*b*c", "abc", true },
		{ "a*b*c", "aXbYc", true },
		{ "a*b*c", "abbbccc", true },
		{ "a*b*c", "aXbYcZ", false },
		{ "a*b*c", "acb", false },
		{ "a*b*c", "ab", false },
		{ "a*b*c", "bc", false },
		{ "*b*", "abc", true },
		{ "*b*", "ac", false },
		{ "*a", "bba", true },
		{ "*a", "ab", false },
		{ "a*", "a", true },
		{ "a*a", "a", false },
		{ "a*a", "aa", true },
		{ "*ab", "aab", true },
		{ "*aab", "aaab", true },
		{ "*a*a*a*a*b", "aaaab", true },
		{ "*a*a*a*a*b", "aaab", false },
		{ "", "", true },
		{ "", "a", false },
		{ "a", "", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = topics_pattern_match(cases[i].pattern, cases[i].id);

		if (got != cases[i].want)
			fprintf(stderr, "pattern case %zu (\"%s\" vs \"%s\"): got %d\n", i, cases[i].pattern,
				cases[i].id, got);
		CHECK(got == cases[i].want);
	}
}

/* A backtracking matcher takes exponential time here; the matcher must stay near-linear. */
static void test_pattern_pathological(void)
{
	enum { N = 20000 };
	char *as = malloc(N + 2);
	char id64[65];
	clock_t t0;
	double secs;
	int matches = 0;

	if (!as) {
		CHECK(as != NULL);
		return;
	}
	memset(as, 'a', N);
	as[N] = '\0';
	memset(id64, 'a', 64);
	id64[64] = '\0';
	t0 = clock();
	for (int i = 0; i < 100; i++) {
		matches += topics_pattern_match("*a*a*a*a*b", as);
		matches += topics_pattern_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", id64);
		matches += topics_pattern_match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*ab",
						id64);
	}
	as[N] = 'b';
	as[N + 1] = '\0';
	matches += 10 * topics_pattern_match("*a*a*a*a*b", as);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK(matches == 10);
	if (secs >= 2.0)
		fprintf(stderr, "pathological patterns took %.2f s\n", secs);
	CHECK(secs < 2.0);
	free(as);
}

/* The inbox kinds: per-user notify/read/settings topics, the announcement topic, and filters. */
static void test_inbox_kinds(void)
{
	static const struct {
		enum topic_kind kind;
		const char *topic, *filter;
	} cases[] = {
		{ TOPIC_NOTIFY, "mqedge/v1/user/alice/notify", "mqedge/v1/user/+/notify" },
		{ TOPIC_READ, "mqedge/v1/user/alice/read", "mqedge/v1/user/+/read" },
		{ TOPIC_SETTINGS, "mqedge/v1/user/alice/settings", "mqedge/v1/user/+/settings" },
		{ TOPIC_ROOM, "mqedge/v1/room/alice", "mqedge/v1/room/+" },
		{ TOPIC_DIRECT, "mqedge/v1/user/alice/direct", "mqedge/v1/user/+/direct" },
		{ TOPIC_TELEMETRY, "mqedge/v1/device/alice/telemetry", "mqedge/v1/device/+/telemetry" },
	};
	char buf[TOPICS_TOPIC_MAX];
	const char *id = NULL;
	size_t idlen = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = topics_build(buf, sizeof(buf), "mqedge/v1", cases[i].kind, "alice");

		CHECK_STR(n > 0 ? buf : NULL, cases[i].topic);
		CHECK(topics_parse("mqedge/v1", cases[i].topic, strlen(cases[i].topic), &id, &idlen) == cases[i].kind);
		CHECK(idlen == 5 && id && !memcmp(id, "alice", 5));
		n = topics_filter(buf, sizeof(buf), "mqedge/v1", cases[i].kind);
		CHECK(n == (int)strlen(cases[i].filter));
		CHECK_STR(n > 0 ? buf : NULL, cases[i].filter);
	}
	CHECK(topics_parse("mqedge/v1", T("mqedge/v1/notify/all"), &id, &idlen) == TOPIC_NOTIFY_ALL);
	CHECK(idlen == 0);
	CHECK(topics_parse("mqedge/v1", T("mqedge/v1/notify/all/x"), &id, &idlen) == TOPIC_NONE);
	CHECK(topics_parse("mqedge/v1", T("mqedge/v1/notify/allx"), &id, &idlen) == TOPIC_NONE);
	CHECK(topics_parse("mqedge/v1", T("mqedge/v1/notify"), &id, &idlen) == TOPIC_NONE);
	CHECK(topics_parse("mqedge/v1", T("mqedge/v1/user/alice/notify/x"), &id, &idlen) == TOPIC_NONE);
	CHECK(topics_parse("mqedge/v1", T("mqedge/v1/user/+/notify"), &id, &idlen) == TOPIC_NONE);
	CHECK(topics_filter(buf, sizeof(buf), "mqedge/v1", TOPIC_NOTIFY_ALL) == (int)strlen("mqedge/v1/notify/all"));
	CHECK_STR(buf, "mqedge/v1/notify/all");
	CHECK(topics_build(buf, sizeof(buf), "mqedge/v1", TOPIC_NOTIFY_ALL, "x") == -1);
	CHECK(topics_filter(buf, sizeof(buf), "mqedge/v1", TOPIC_NONE) == -1);
	CHECK(topics_filter(buf, 10, "mqedge/v1", TOPIC_NOTIFY) == -1);
}

/* Found by fuzz_topics: with a long prefix, a presence topic (two ids) did not fit
 * TOPICS_TOPIC_MAX, so presence_join/publish_local silently skipped a room whose id a client
 * chose long. Every topic of the longest prefix and the longest ids fits a TOPICS_TOPIC_MAX buffer. */
static void test_longest_topics(void)
{
	static const enum topic_kind kinds[] = {
		TOPIC_ROOM, TOPIC_DIRECT, TOPIC_TELEMETRY, TOPIC_CMD, TOPIC_STATUS, TOPIC_NOTIFY, TOPIC_READ,
		TOPIC_SETTINGS, TOPIC_HISTORY_REQ, TOPIC_HISTORY_REP,
	};
	char prefix[TOPICS_PREFIX_MAX + 1], buf[TOPICS_TOPIC_MAX];
	const char *id = NULL;
	size_t idlen = 0;
	int n;

	memset(prefix, 'p', TOPICS_PREFIX_MAX);
	prefix[TOPICS_PREFIX_MAX] = '\0';
	CHECK(topics_validate_prefix(prefix) == 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = topics_build(buf, sizeof(buf), prefix, kinds[i], ID64);
		CHECK(n > 0 && topics_parse(prefix, buf, (size_t)n, &id, &idlen) == kinds[i] && idlen == 64);
		CHECK(topics_filter(buf, sizeof(buf), prefix, kinds[i]) > 0);
	}
	n = topics_presence(buf, sizeof(buf), prefix, ID64, ID64);
	CHECK(n == TOPICS_PREFIX_MAX + 10 + 64 + 1 + 64);
	CHECK(n > 0 && topics_parse(prefix, buf, (size_t)n, &id, &idlen) == TOPIC_PRESENCE);
	CHECK(idlen == 64 && id && !memcmp(id, ID64, 64));
	CHECK(topics_presence(buf, sizeof(buf), prefix, ID64, NULL) > 0);
}

int main(void)
{
	test_id_char();
	test_validate_id();
	test_validate_prefix();
	test_build();
	test_round_trip();
	test_parse_rejects();
	test_parse_length();
	test_pattern();
	test_pattern_pathological();
	test_inbox_kinds();
	test_longest_topics();
	return CHECK_DONE();
}
