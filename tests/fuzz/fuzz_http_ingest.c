/*
 * fuzz_http_ingest.c - POST /api/v1/notifications as the inbox subsystem takes it:
 * notify_http_submit (edge/inbox/http_ingest.c) on a real struct notify with its SQLite store (in a
 * temporary directory), a fan-out with three connected users, and the in-memory bridge
 * (stub_bridge.c) standing in for the broker.
 *
 * Input: byte 0 chooses what the broker does afterwards (bit 0: the publishes are abandoned, as
 * when the connection drops; bit 1: each published copy comes back to this edge's inbox session,
 * as it does from a real broker); the rest is the request body.
 *
 * Invariants: the answer comes exactly once, and only after every publish was acknowledged or
 * abandoned; a refused request (400) published nothing (taken whole or not at all); a 201 lists one
 * valid id per item; every answer body is a JSON object of the documented shape; every copy
 * published is a notification that every other edge accepts (notification_parse of the payload on
 * its topic); every frame pushed to a client is valid JSON (fuzz_peers.h).
 */
#include <dirent.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzz_peers.h"
#include "mqedge/base/idgen.h"
#include "mqedge/inbox/notify.h"
#include "mqedge/wire/notification.h"
#include "stub_bridge.h"

#define PREFIX "mqedge/v1"
#define REOPEN_EVERY 2048	/* a fresh store now and then, so it stays small */

struct user {
	struct peer peer;
	char name[16];
};

static struct {
	char dir[256];
	struct idgen ids;
	struct fanout fo;
	struct notify n;
	struct bridge *bridge;
	struct user users[3];
	unsigned long runs;
} g;

static void on_wake(struct peer *p)
{
	(void)p;
}

static void on_flush(struct peer *p)
{
	fuzz_peer_drain(&g.fo, p);
}

static void on_close(struct peer *p, uint16_t code, const char *reason)
{
	(void)code;
	(void)reason;
	p->closing = true;
}

static const struct peer_ops ops = { on_wake, on_flush, on_close };

static int on_first(void *ctx, struct channel *ch)
{
	(void)ctx;
	(void)ch;
	return 0;
}

static void on_empty(void *ctx, struct channel *ch)
{
	(void)ctx;
	(void)ch;
}

static const struct channels_hooks ch_hooks = { on_first, on_empty };

static void open_store(void)
{
	struct notify_options no = { PREFIX, g.dir, false, 50, 86400, 20, 1u << 20, false };

	if (notify_init(&g.n, &no, &g.fo, &g.ids))
		abort();
	notify_attach_bridge(&g.n, g.bridge);
}

static void remove_store(void)
{
	DIR *d = opendir(g.dir);
	struct dirent *de;
	char path[512];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", g.dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

static void cleanup(void)
{
	for (int i = 0; i < 3; i++)
		fanout_peer_remove(&g.fo, &g.users[i].peer);
	notify_fini(&g.n);
	bridge_destroy(g.bridge);
	fanout_fini(&g.fo);
	frame_pool_drain();
	remove_store();
	rmdir(g.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct bridge_hooks hooks = {
		notify_on_message, notify_on_state, notify_on_published, notify_on_subscribed, notify_on_batch_done, NULL,
	};
	struct fanout_options fo = { PREFIX, 1u << 20, 8u << 20, 5000000, 1024, &g.ids, 0 };
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	fuzz_quiet();
	snprintf(g.dir, sizeof(g.dir), "%s/mqedge-fuzz-http-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g.dir) || idgen_init(&g.ids, "fuzz-edge", 1700000000000) ||
	    fanout_init(&g.fo, &fo, &ops, &ch_hooks, NULL))
		abort();
	g.bridge = bridge_create(NULL, &(struct bridge_options){ 0 }, &hooks, &g.n);
	if (!g.bridge)
		abort();
	open_store();
	for (const char *const *t = notify_topics(&g.n); *t; t++)
		bridge_subscribe(g.bridge, *t, NULL);
	stub_bridge_suback(g.bridge);
	for (int i = 0; i < 3; i++) {
		struct user *u = &g.users[i];

		snprintf(u->name, sizeof(u->name), "%s", (const char *[]){ "alice", "bob", "carol" }[i]);
		u->peer.id = u->name;
		u->peer.name = u->name;
		u->peer.announcements = true;
		fanout_peer_add(&g.fo, &u->peer);
		if (fanout_join(&g.fo, &u->peer, TOPIC_DIRECT, u->name, NULL) != 0)
			abort();
	}
	atexit(cleanup);
	return 0;
}

struct answer {
	int calls;
	size_t pending_then;
	unsigned status;
	char body[16384];	/* 100 ids of up to 100 characters */
	size_t len;
};

static void on_done(void *ctx, unsigned status, const char *json, size_t len)
{
	struct answer *a = ctx;

	a->calls++;
	a->pending_then = stub_bridge_pending(g.bridge);
	a->status = status;
	FUZZ_CHECK(len < sizeof(a->body));
	memcpy(a->body, json, len);
	a->len = len;
}

static int count_item(void *ctx, const char *value, size_t len)
{
	size_t *n = ctx;

	(void)value;
	(void)len;
	(*n)++;
	return 0;
}

static int check_id(void *ctx, const char *value, size_t len)
{
	struct json_span s;

	(void)ctx;
	FUZZ_CHECK(jsontext_plain_string((struct json_span){ value, len }, &s));
	FUZZ_CHECK(envelope_validate_id(s.p, s.len) == 0);
	return 0;
}

/* Every copy on the broker is a notification another edge takes, on a notify topic. */
static void check_published(void)
{
	const char *topic, *idp;
	const void *payload;
	size_t len, idlen;
	struct notification f;

	for (size_t i = 0; stub_bridge_published(g.bridge, i, &topic, &payload, &len); i++) {
		enum topic_kind k = topics_parse(PREFIX, topic, strlen(topic), &idp, &idlen);
		const char *why;

		FUZZ_CHECK(k == TOPIC_NOTIFY || k == TOPIC_NOTIFY_ALL);
		why = notification_parse(payload, len, &f, false, k == TOPIC_NOTIFY_ALL);
		if (why)
			fprintf(fuzz_report, "fuzz: published copy refused (%s): %.*s\n", why, (int)len,
				(const char *)payload);
		FUZZ_CHECK(why == NULL);
		FUZZ_CHECK(f.id.p && f.ts.p && !f.to.p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct answer a = { 0 };
	struct bridge_stats before, after;
	const char *body;
	size_t len, items = 0;
	bool is_array = false;

	if (size < 1)
		return 0;
	if (++g.runs % REOPEN_EVERY == 0) {
		notify_fini(&g.n);
		remove_store();
		open_store();
	}
	body = (const char *)data + 1;
	len = size - 1;
	bridge_get_stats(g.bridge, &before);
	notify_http_submit(&g.n, body, len, on_done, &a);
	bridge_get_stats(g.bridge, &after);
	/* the answer waits for the broker whenever something was published */
	FUZZ_CHECK(a.calls == (stub_bridge_pending(g.bridge) ? 0 : 1));
	check_published();
	if (data[0] & 1)
		stub_bridge_abandon(g.bridge);
	else
		stub_bridge_deliver(g.bridge, data[0] & 2);
	FUZZ_CHECK(a.calls == 1);
	FUZZ_CHECK(a.pending_then == 0);
	FUZZ_CHECK(fuzz_json_object(a.body, a.len));
	switch (a.status) {
	case 201:
		FUZZ_CHECK(!memcmp(a.body, "{\"ids\":[", 8));
		if (jsontext_array_items(body, len, &is_array, count_item, &items) == 0 && !is_array)
			items = 1;
		FUZZ_CHECK(items >= 1 && items <= 100);
		{
			size_t ids = 0;
			bool arr;

			FUZZ_CHECK(jsontext_array_items(a.body + 7, a.len - 8, &arr, count_item, &ids) == 0 && arr);
			FUZZ_CHECK(ids == items);
			FUZZ_CHECK(jsontext_array_items(a.body + 7, a.len - 8, &arr, check_id, NULL) == 0);
		}
		FUZZ_CHECK(after.publishes > before.publishes);
		break;
	case 400:
		FUZZ_CHECK(!memcmp(a.body, "{\"error\":\"bad_", 14));
		FUZZ_CHECK(after.publishes == before.publishes);	/* whole or not at all */
		break;
	case 503:
		/* abandoned by the broker, or more copies than the bridge's queue takes */
		FUZZ_CHECK((data[0] & 1) || after.publish_refused > before.publish_refused);
		FUZZ_CHECK(!memcmp(a.body, "{\"error\":\"unavailable\"", 22));
		break;
	default:
		FUZZ_CHECK(!"an HTTP status notify_http_submit does not document");
	}
	for (int i = 0; i < 3; i++)
		fuzz_peer_drain(&g.fo, &g.users[i].peer);
	return 0;
}
