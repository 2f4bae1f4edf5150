/*
 * fuzz_presence_list.c - one edge's members of a presence room, as every other edge reads it from
 * the retained {prefix}/presence/{room}/{edge} (edge/wire/presence_list.c).
 *
 * Invariants: an accepted list has a valid edge id and non-negative numbers; its "list" span lies
 * inside the payload and is an array; every entry presence_list_each reports has a valid user,
 * 1 <= conns <= UINT32_MAX and an info object inside the payload of at most PRESENCE_INFO_MAX
 * bytes; a list written back with presence_list_begin/user/end reads back the same.
 */
#include "fuzz.h"
#include "mqedge/base/textbuf.h"
#include "mqedge/wire/presence_list.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

#define MAX_ENTRIES 4096

struct entry {
	char user[TOPICS_ID_MAX + 1];
	uint32_t conns;
	char *info;	/* NUL-terminated copy, or NULL */
};

struct entries {
	const char *base;
	size_t size;	/* 0: do not check spans (a rebuilt list) */
	struct entry e[MAX_ENTRIES];
	size_t n;
	bool overflow;
};

static int on_user(void *ctx, const char *user, uint32_t conns, const char *info, size_t info_len)
{
	struct entries *es = ctx;

	FUZZ_CHECK(topics_validate_id(user, strlen(user)) == 0);
	FUZZ_CHECK(conns >= 1);
	if (info) {
		FUZZ_CHECK(info_len >= 2 && info_len <= PRESENCE_INFO_MAX && info[0] == '{');
		FUZZ_CHECK(fuzz_json_object(info, info_len));
		if (es->size)
			FUZZ_CHECK(fuzz_inside(info, info_len, es->base, es->size));
	} else {
		FUZZ_CHECK(info_len == 0);
	}
	if (es->n == MAX_ENTRIES) {
		es->overflow = true;
		return 0;
	}
	struct entry *e = &es->e[es->n++];

	strcpy(e->user, user);
	e->conns = conns;
	e->info = info ? fuzz_strndup((const uint8_t *)info, info_len) : NULL;
	return 0;
}

static void free_entries(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++)
		free(es->e[i].info);
	es->n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct entries first, second;
	const char *text = (const char *)data;
	struct presence_list l, back;
	struct textbuf b = { 0 };
	int rc;

	if (presence_list_parse(text, size, &l))
		return 0;
	FUZZ_CHECK(topics_validate_id(l.edge, strlen(l.edge)) == 0);
	FUZZ_CHECK(l.boot >= 0 && l.users >= 0 && l.conns >= 0);
	if (l.list.p) {
		FUZZ_CHECK(fuzz_inside(l.list.p, l.list.len, text, size) && l.list.p[0] == '[');
		FUZZ_CHECK(fuzz_json(l.list.p, l.list.len));
	}
	first.base = text;
	first.size = size;
	rc = presence_list_each(&l, on_user, &first);
	FUZZ_CHECK(rc == 0 || rc < 0);
	if (rc == 0 && !first.overflow && l.users <= UINT32_MAX && l.conns <= UINT32_MAX) {
		/* what this edge would publish for the same members reads back the same */
		presence_list_begin(&b, l.edge, l.boot, (uint32_t)l.users, (uint32_t)l.conns, l.list.p != NULL);
		for (size_t i = 0; i < first.n; i++)
			presence_list_user(&b, i == 0, first.e[i].user, first.e[i].conns, first.e[i].info);
		presence_list_end(&b, l.list.p != NULL);
		FUZZ_CHECK(!b.oom);
		FUZZ_CHECK(presence_list_parse(b.p, b.len, &back) == 0);
		FUZZ_CHECK(!strcmp(back.edge, l.edge) && back.boot == l.boot && back.users == l.users &&
			   back.conns == l.conns && !back.list.p == !l.list.p);
		second.base = b.p;
		second.size = 0;
		FUZZ_CHECK(presence_list_each(&back, on_user, &second) == 0);
		FUZZ_CHECK(second.n == first.n);
		for (size_t i = 0; i < first.n; i++) {
			FUZZ_CHECK(!strcmp(first.e[i].user, second.e[i].user) && first.e[i].conns == second.e[i].conns);
			FUZZ_CHECK(!first.e[i].info == !second.e[i].info);
			FUZZ_CHECK(!first.e[i].info || !strcmp(first.e[i].info, second.e[i].info));
		}
		free_entries(&second);
		second.overflow = false;
		textbuf_free(&b);
	}
	free_entries(&first);
	first.overflow = false;
	return 0;
}
