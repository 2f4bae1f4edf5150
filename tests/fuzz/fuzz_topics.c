/*
 * fuzz_topics.c - ids and the topic map (edge/wire/topics.c): topics_parse on any topic a broker
 * delivers, topics_validate_id / topics_validate_prefix, topics_build / topics_presence /
 * topics_filter, and topics_pattern_match (token claims like "team-*").
 *
 * Input: byte 0 chooses the prefix (one of a few, or, with its top bit set, the text up to the
 * first newline when that is a valid prefix); the rest is the topic. The same bytes, split at the
 * first NUL, are also a (pattern, id) pair.
 *
 * Invariants: a topic that parses yields an id inside the topic that is a valid id, and building
 * the topic of that kind and id gives back exactly the same bytes; an id accepted by
 * topics_validate_id builds a topic of every kind that topics_parse maps back to the same kind
 * and id, and never adds a level or a wildcard; filters contain exactly one '+' (none for
 * notify/all); the glob matcher agrees with a plain dynamic-programming matcher.
 */
#include "fuzz.h"
#include "mqedge/wire/topics.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static const enum topic_kind kinds[] = {
	TOPIC_ROOM, TOPIC_DIRECT, TOPIC_TELEMETRY, TOPIC_CMD, TOPIC_STATUS, TOPIC_NOTIFY, TOPIC_READ,
	TOPIC_SETTINGS, TOPIC_HISTORY_REQ, TOPIC_HISTORY_REP,
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static void check_parse(const char *prefix, const char *topic, size_t len)
{
	const char *id = NULL;
	size_t idlen = 0;
	enum topic_kind k = topics_parse(prefix, topic, len, &id, &idlen);
	char idbuf[TOPICS_ID_MAX + 1], built[TOPICS_TOPIC_MAX + 64];
	int n = -1;

	if (k == TOPIC_NONE)
		return;
	if (k == TOPIC_NOTIFY_ALL) {
		FUZZ_CHECK(idlen == 0);
		n = topics_filter(built, sizeof(built), prefix, TOPIC_NOTIFY_ALL);
	} else {
		FUZZ_CHECK(fuzz_inside(id, idlen, topic, len));
		FUZZ_CHECK(topics_validate_id(id, idlen) == 0);
		memcpy(idbuf, id, idlen);
		idbuf[idlen] = '\0';
		if (k == TOPIC_PRESENCE) {
			/* the edge id is the rest after the room and a '/' */
			char edge[TOPICS_ID_MAX + 1];
			size_t elen = len - (size_t)(id + idlen + 1 - topic);

			FUZZ_CHECK(id[idlen] == '/' && elen >= 1 && elen <= TOPICS_ID_MAX);
			memcpy(edge, id + idlen + 1, elen);
			edge[elen] = '\0';
			FUZZ_CHECK(topics_validate_id(edge, elen) == 0);
			n = topics_presence(built, sizeof(built), prefix, idbuf, edge);
		} else {
			n = topics_build(built, sizeof(built), prefix, k, idbuf);
		}
	}
	FUZZ_CHECK(n >= 0);
	FUZZ_CHECK((size_t)n == len && !memcmp(built, topic, len));
}

static void check_id(const char *prefix, const char *id, size_t len)
{
	char buf[TOPICS_TOPIC_MAX], idbuf[TOPICS_ID_MAX + 1];
	const char *pid;
	size_t plen, pre = strlen(prefix);
	int valid = topics_validate_id(id, len);

	if (len && len <= TOPICS_ID_MAX && !memchr(id, '\0', len)) {
		bool chars = true;

		for (size_t i = 0; i < len; i++)
			chars = chars && topics_id_char((unsigned char)id[i]);
		FUZZ_CHECK((valid == 0) == chars);
	} else {
		FUZZ_CHECK(valid == -1);
	}
	if (valid)
		return;
	memcpy(idbuf, id, len);
	idbuf[len] = '\0';
	for (size_t i = 0; i < N_KINDS; i++) {
		int n = topics_build(buf, sizeof(buf), prefix, kinds[i], idbuf);

		FUZZ_CHECK(n > 0);
		/* the id adds no level and no wildcard */
		FUZZ_CHECK(!strpbrk(buf + pre, "+#"));
		FUZZ_CHECK(topics_parse(prefix, buf, (size_t)n, &pid, &plen) == kinds[i]);
		FUZZ_CHECK(plen == len && !memcmp(pid, id, len));
	}
	int n = topics_presence(buf, sizeof(buf), prefix, idbuf, idbuf);

	FUZZ_CHECK(n > 0 && topics_parse(prefix, buf, (size_t)n, &pid, &plen) == TOPIC_PRESENCE);
	FUZZ_CHECK(plen == len && !memcmp(pid, id, len));
	n = topics_presence(buf, sizeof(buf), prefix, idbuf, NULL);
	FUZZ_CHECK(n > 0 && buf[n - 1] == '+' && topics_parse(prefix, buf, (size_t)n, &pid, &plen) == TOPIC_NONE);
}

static void check_filters(const char *prefix)
{
	char buf[TOPICS_TOPIC_MAX];

	for (size_t i = 0; i < N_KINDS; i++) {
		int n = topics_filter(buf, sizeof(buf), prefix, kinds[i]);
		const char *plus;

		FUZZ_CHECK(n > 0);
		plus = strchr(buf, '+');
		FUZZ_CHECK(plus && !strchr(plus + 1, '+') && !strchr(buf, '#'));
	}
	FUZZ_CHECK(topics_filter(buf, sizeof(buf), prefix, TOPIC_NOTIFY_ALL) > 0 && !strchr(buf, '+'));
}

/* The reference matcher: '*' matches any run, everything else itself; O(n*m). */
static bool glob_dp(const char *pat, size_t pn, const char *s, size_t sn)
{
	bool row[TOPICS_ID_MAX * 2 + 2], next[TOPICS_ID_MAX * 2 + 2];

	/* row[j]: pat[0..i) matches s[0..j) */
	row[0] = true;
	for (size_t j = 1; j <= sn; j++)
		row[j] = false;
	for (size_t i = 1; i <= pn; i++) {
		next[0] = row[0] && pat[i - 1] == '*';
		for (size_t j = 1; j <= sn; j++)
			next[j] = pat[i - 1] == '*' ? (row[j] || next[j - 1]) : (row[j - 1] && pat[i - 1] == s[j - 1]);
		memcpy(row, next, (sn + 1) * sizeof(bool));
	}
	return row[sn];
}

static void check_pattern(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	char pat[TOPICS_ID_MAX * 2 + 1], id[TOPICS_ID_MAX * 2 + 1];
	size_t pn, sn;

	if (!nul)
		return;
	pn = (size_t)(nul - data);
	sn = size - pn - 1;
	if (pn > TOPICS_ID_MAX * 2 || sn > TOPICS_ID_MAX * 2)
		return;
	memcpy(pat, data, pn);
	pat[pn] = '\0';
	memcpy(id, nul + 1, sn);
	id[sn] = '\0';
	sn = strlen(id);	/* the matcher works on C strings */
	FUZZ_CHECK(topics_pattern_match(pat, id) == glob_dp(pat, pn, id, sn));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefixes[] = { "mqedge/v1", "a", "acme/prod/mqedge", "x.y" };
	char prefix[TOPICS_PREFIX_MAX + 1];
	const char *topic;
	size_t len;

	if (size < 1)
		return 0;
	check_pattern(data, size);
	strcpy(prefix, prefixes[data[0] & 3]);
	topic = (const char *)data + 1;
	len = size - 1;
	if (data[0] & 0x80) {
		const char *nl = memchr(topic, '\n', len);
		size_t pl = nl ? (size_t)(nl - topic) : 0;

		if (nl && pl <= TOPICS_PREFIX_MAX) {
			memcpy(prefix, topic, pl);
			prefix[pl] = '\0';
			if (strlen(prefix) != pl || topics_validate_prefix(prefix))
				return 0;
			len -= pl + 1;
			topic = nl + 1;
		}
	}
	FUZZ_CHECK(topics_validate_prefix(prefix) == 0);
	check_filters(prefix);
	check_parse(prefix, topic, len);
	check_id(prefix, topic, len);
	return 0;
}
