/*
 * fuzz_notification.c - notifications as bytes (edge/wire/notification.c): what backends publish
 * on {prefix}/user/{id}/notify and notify/all, the items of POST /api/v1/notifications, and what
 * edges exchange: mute lists, settings and read marks.
 *
 * Input: byte 0 chooses the parser (low 3 bits): 0-3 notification_parse with with_to = bit 0 and
 * broadcast = bit 1; 4 mute_list_parse; 5 notification_settings_parse; 6 read_ids_parse;
 * 7 notification_read_parse. The rest is the payload.
 *
 * Invariants: an accepted notification's spans lie inside the payload; its ids are valid; its
 * canonical stored form (notification_canonical) is a JSON object that parses again as a
 * notification of the same kind with the same fields; an HTTP item's recipients are 1-1000 valid
 * ids; mute lists, settings and read marks written back (mute_list_json, notification_settings_json,
 * notification_read_json) parse to the same entries; content ids have their documented shape.
 */
#include <errno.h>

#include "fuzz.h"
#include "mqedge/base/textbuf.h"
#include "mqedge/wire/notification.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static bool same_span(struct json_span a, struct json_span b)
{
	return (!a.p && !b.p) || (a.p && b.p && a.len == b.len && !memcmp(a.p, b.p, a.len));
}

static void count_recipient(void *ctx, const char *user)
{
	size_t *n = ctx;

	FUZZ_CHECK(topics_validate_id(user, strlen(user)) == 0);
	(*n)++;
}

static void check_span(struct json_span s, const char *text, size_t len)
{
	if (s.p) {
		FUZZ_CHECK(fuzz_inside(s.p, s.len, text, len));
		FUZZ_CHECK(fuzz_json(s.p, s.len));
	}
}

static void check_notification(const char *text, size_t len, bool with_to, bool broadcast)
{
	struct notification n, back;
	struct textbuf b = { 0 };
	char id[ENVELOPE_ID_MAX + 1], cid[NOTIFICATION_CONTENT_ID_MAX];
	const char *why = notification_parse(text, len, &n, with_to, broadcast);
	int64_t ts;

	notification_content_id("mqedge/v1/notify/all", 20, text, len, cid);
	FUZZ_CHECK(strlen(cid) == 33 && cid[0] == 'h' && strspn(cid + 1, "0123456789abcdef") == 32);
	if (why) {
		FUZZ_CHECK(*why);
		return;
	}
	FUZZ_CHECK(fuzz_json_object(text, len));
	FUZZ_CHECK((unsigned)n.k < NOTIFY_KINDS);
	check_span(n.kind, text, len);
	check_span(n.action, text, len);
	check_span(n.object_type, text, len);
	check_span(n.object_id, text, len);
	check_span(n.actor, text, len);
	check_span(n.title, text, len);
	check_span(n.data, text, len);
	check_span(n.id, text, len);
	check_span(n.ts, text, len);
	check_span(n.to, text, len);
	FUZZ_CHECK(n.action.p ? topics_validate_id(n.action_str, strlen(n.action_str)) == 0 : !n.action_str[0]);
	if (with_to) {
		size_t count = 0;

		notification_each_recipient(&n, count_recipient, &count);
		FUZZ_CHECK(n.to.p ? count >= 1 && count <= NOTIFICATION_MAX_RECIPIENTS : count == 0);
		FUZZ_CHECK(!n.to.p == (n.k == NOTIFY_ANNOUNCEMENT));
	} else {
		FUZZ_CHECK(broadcast == (n.k == NOTIFY_ANNOUNCEMENT));
	}
	if (n.id.p) {
		notification_given_id(&n, id);
		FUZZ_CHECK(envelope_validate_id(id, strlen(id)) == 0);
	} else {
		strcpy(id, "e1.17.1");
	}
	ts = notification_ts(&n, 42);
	FUZZ_CHECK(ts >= 0);
	/* the stored form parses again (as an MQTT payload), with the same fields */
	notification_canonical(&b, &n, id, ts);
	FUZZ_CHECK(!b.oom);
	FUZZ_CHECK(fuzz_json_object(b.p, b.len));
	why = notification_parse(b.p, b.len, &back, false, n.k == NOTIFY_ANNOUNCEMENT);
	if (why)
		fprintf(fuzz_report, "canonical form refused: %s: %.*s\n", why, (int)b.len, b.p);
	FUZZ_CHECK(why == NULL);
	FUZZ_CHECK(back.k == n.k && !strcmp(back.action_str, n.action_str));
	FUZZ_CHECK(same_span(back.kind, n.kind) && same_span(back.action, n.action) &&
		   same_span(back.object_type, n.object_type) && same_span(back.object_id, n.object_id) &&
		   same_span(back.actor, n.actor) && same_span(back.title, n.title) && same_span(back.data, n.data));
	FUZZ_CHECK(back.id.p && back.ts.p && !back.to.p);
	notification_given_id(&back, id);
	FUZZ_CHECK(notification_ts(&back, -1) == ts);
	textbuf_free(&b);
}

static void check_mutes(const struct mute_list *l)
{
	FUZZ_CHECK(l->count <= MUTE_MAX);
	for (size_t i = 0; i < l->count; i++) {
		FUZZ_CHECK((unsigned)l->e[i].kind < NOTIFY_KINDS);
		FUZZ_CHECK(!l->e[i].action[0] || topics_validate_id(l->e[i].action, strlen(l->e[i].action)) == 0);
		FUZZ_CHECK(mute_entries_match(l->e, l->count, l->e[i].kind, l->e[i].action[0] ? l->e[i].action : NULL) ||
			   l->e[i].action[0]);
	}
}

static bool same_mutes(const struct mute_list *a, const struct mute_list *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (a->e[i].kind != b->e[i].kind || strcmp(a->e[i].action, b->e[i].action))
			return false;
	return true;
}

static void check_ids(const struct read_ids *r)
{
	FUZZ_CHECK(r->count >= 1 && r->count <= READ_MAX_IDS);
	for (size_t i = 0; i < r->count; i++) {
		FUZZ_CHECK(r->ptrs[i] == r->ids[i]);
		FUZZ_CHECK(envelope_validate_id(r->ids[i], strlen(r->ids[i])) == 0);
	}
}

static bool same_ids(const struct read_ids *a, const struct read_ids *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (strcmp(a->ids[i], b->ids[i]))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mute_list mutes, mutes2;
	static struct read_ids ids, ids2;
	struct textbuf b = { 0 };
	const char *text = (const char *)data + 1;
	size_t len;
	int64_t ts, ts2;
	bool all, all2;

	if (size < 1)
		return 0;
	len = size - 1;
	switch (data[0] & 7) {
	case 0: case 1: case 2: case 3:
		check_notification(text, len, data[0] & 1, data[0] & 2);
		break;
	case 4:
		if (mute_list_parse(text, len, &mutes))
			break;
		check_mutes(&mutes);
		mute_list_json(&b, mutes.e, mutes.count);
		FUZZ_CHECK(!b.oom && !mute_list_parse(b.p, b.len, &mutes2) && same_mutes(&mutes, &mutes2));
		break;
	case 5:
		if (notification_settings_parse(text, len, &mutes, &ts))
			break;
		check_mutes(&mutes);
		FUZZ_CHECK(ts >= 0);
		notification_settings_json(&b, mutes.e, mutes.count, ts);
		FUZZ_CHECK(!b.oom && !notification_settings_parse(b.p, b.len, &mutes2, &ts2));
		FUZZ_CHECK(ts2 == ts && same_mutes(&mutes, &mutes2));
		break;
	case 6:
		if (read_ids_parse(text, len, &ids))
			break;
		check_ids(&ids);
		notification_read_json(&b, &ids, 7);
		FUZZ_CHECK(!b.oom && !notification_read_parse(b.p, b.len, &all2, &ids2, &ts2));
		FUZZ_CHECK(!all2 && ts2 == 7 && same_ids(&ids, &ids2));
		break;
	case 7:
		if (notification_read_parse(text, len, &all, &ids, &ts))
			break;
		FUZZ_CHECK(ts >= 0);
		if (!all)
			check_ids(&ids);
		notification_read_json(&b, all ? NULL : &ids, ts);
		FUZZ_CHECK(!b.oom && !notification_read_parse(b.p, b.len, &all2, &ids2, &ts2));
		FUZZ_CHECK(all2 == all && ts2 == ts && (all || same_ids(&ids, &ids2)));
		break;
	}
	textbuf_free(&b);
	return 0;
}
