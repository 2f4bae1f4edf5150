/*
 * presence_list.c - the per-edge presence list format (presence_list.h). Owns its field names.
 * Must not: decide who is present (edge/presence does).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "mqedge/wire/presence_list.h"

void presence_list_begin(struct textbuf *b, const char *edge, int64_t boot, uint32_t users, uint32_t conns, bool list)
{
	textbuf_printf(b, "{\"edge\":\"%s\",\"boot\":%lld,\"users\":%u,\"conns\":%u%s", edge, (long long)boot, users, conns,
		       list ? ",\"list\":[" : "");
}

void presence_list_user(struct textbuf *b, bool first, const char *user, uint32_t conns, const char *info)
{
	textbuf_printf(b, "%s[\"%s\",%u%s%s]", first ? "" : ",", user, conns, info ? "," : "", info ? info : "");
}

void presence_list_end(struct textbuf *b, bool list)
{
	textbuf_puts(b, list ? "]}" : "}");
}

struct fields {
	struct json_span edge, boot, users, conns, list;
};

#define FIELD(name) { #name, offsetof(struct fields, name) }
static const struct jsontext_field field_table[] = { FIELD(edge), FIELD(boot), FIELD(users), FIELD(conns), FIELD(list) };
#undef FIELD

int presence_list_parse(const char *text, size_t len, struct presence_list *out)
{
	struct fields f;
	struct jsontext_fields collect = { field_table, sizeof(field_table) / sizeof(field_table[0]), &f };
	struct json_span edge;
	bool is_object;
	const char *value;
	size_t vlen;

	memset(&f, 0, sizeof(f));
	memset(out, 0, sizeof(*out));
	if (jsontext_validate(text, len, &is_object, &value, &vlen, jsontext_collect_fields, &collect) || !is_object)
		return -EINVAL;
	if (!jsontext_plain_string(f.edge, &edge) || topics_validate_id(edge.p, edge.len) || !f.boot.p ||
	    jsontext_parse_uint(f.boot.p, f.boot.len, &out->boot) || !f.users.p ||
	    jsontext_parse_uint(f.users.p, f.users.len, &out->users) || !f.conns.p ||
	    jsontext_parse_uint(f.conns.p, f.conns.len, &out->conns) || (f.list.p && f.list.p[0] != '['))
		return -EINVAL;
	memcpy(out->edge, edge.p, edge.len);
	out->edge[edge.len] = '\0';
	out->list = f.list;
	return 0;
}

struct each_ctx {
	presence_user_fn fn;
	void *ctx;
};

struct entry {
	struct json_span v[3];
	int n;
};

static int collect_entry(void *ctx, const char *value, size_t len)
{
	struct entry *e = ctx;

	if (e->n == 3)
		return 1;
	e->v[e->n++] = (struct json_span){ value, len };
	return 0;
}

static int each_entry(void *ctx, const char *value, size_t len)
{
	struct each_ctx *c = ctx;
	struct entry e = { { { 0 } }, 0 };
	struct json_span user;
	char id[TOPICS_ID_MAX + 1];
	int64_t conns;
	bool is_array;

	if (jsontext_array_items(value, len, &is_array, collect_entry, &e) || !is_array || e.n < 2 ||
	    !jsontext_plain_string(e.v[0], &user) || topics_validate_id(user.p, user.len) ||
	    jsontext_parse_uint(e.v[1].p, e.v[1].len, &conns) || conns < 1 || conns > UINT32_MAX ||
	    (e.n == 3 && (e.v[2].p[0] != '{' || e.v[2].len > PRESENCE_INFO_MAX)))
		return -EINVAL;
	memcpy(id, user.p, user.len);
	id[user.len] = '\0';
	return c->fn(c->ctx, id, (uint32_t)conns, e.n == 3 ? e.v[2].p : NULL, e.n == 3 ? e.v[2].len : 0);
}

int presence_list_each(const struct presence_list *l, presence_user_fn fn, void *ctx)
{
	struct each_ctx c = { fn, ctx };
	bool is_array;
	int rc;

	if (!l->list.p)
		return 0;
	rc = jsontext_array_items(l->list.p, l->list.len, &is_array, each_entry, &c);
	return rc == -1 ? -EINVAL : rc;
}
