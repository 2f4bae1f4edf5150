/*
 * presence_list.h - one edge's members of one room, as edges exchange it: retained on
 * {prefix}/presence/{room}/{edge} (docs/PROTOCOL.md, presence):
 *   {"edge":E,"boot":B,"users":U,"conns":C,"list":[[USER,CONNS],[USER,CONNS,INFO],...]}
 * boot is the edge's start time (as in its retained status), so a list left behind by an earlier
 * run is recognised; "list" is left out for rooms over presence-max-members (counts only). An
 * empty retained message clears the topic: the edge has nobody in the room. Pure text.
 */
#ifndef MQEDGE_PRESENCE_LIST_H
#define MQEDGE_PRESENCE_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/textbuf.h"
#include "mqedge/wire/jsontext.h"
#include "mqedge/wire/topics.h"

#define PRESENCE_INFO_MAX 512	/* bytes of a user's public info (the token's "info" object) */

struct presence_list {
	char edge[TOPICS_ID_MAX + 1];
	int64_t boot;
	int64_t users, conns;
	struct json_span list;	/* the "list" array's text; p NULL for counts only */
};

/* Starts a list; then presence_list_user per user (list only), then presence_list_end. */
void presence_list_begin(struct textbuf *b, const char *edge, int64_t boot, uint32_t users, uint32_t conns, bool list);
void presence_list_user(struct textbuf *b, bool first, const char *user, uint32_t conns, const char *info);
void presence_list_end(struct textbuf *b, bool list);

/* Reads a list. Returns 0, or -EINVAL when it is not one. */
int presence_list_parse(const char *text, size_t len, struct presence_list *out);
/* Calls fn for each [user, conns, info?] of l->list (user NUL-terminated and valid; info NULL
 * when absent). Returns 0, -EINVAL at the first malformed entry, or fn's non-zero value. */
typedef int (*presence_user_fn)(void *ctx, const char *user, uint32_t conns, const char *info, size_t info_len);
int presence_list_each(const struct presence_list *l, presence_user_fn fn, void *ctx);

#endif
