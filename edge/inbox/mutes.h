/*
 * mutes.h - private to edge/inbox: every user's mute list in memory, kept in step with the
 * settings the store holds (loaded at start, updated with every settings change, local or from
 * another edge), so a mute check is one hash lookup: no SQLite read, no JSON parse. An
 * announcement checks every local session; that must stay cheap.
 */
#ifndef MQEDGE_INBOX_MUTES_H
#define MQEDGE_INBOX_MUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/wire/notification.h"

struct mutes;

/* NULL on OOM. */
struct mutes *mutes_create(void);
void mutes_destroy(struct mutes *m);

/* Replaces user's list if ts is not older than the one held (the newest settings win, as in the
 * store). An empty list keeps only the ts. Returns 0, 1 when ignored as older, -EINVAL for a user
 * id longer than TOPICS_ID_MAX, or -ENOMEM. */
int mutes_set(struct mutes *m, const char *user, const struct mute_entry *e, size_t n, int64_t ts);
/* user's entries (NULL with *n 0 when none). Valid until the next mutes_set for that user. */
const struct mute_entry *mutes_get(const struct mutes *m, const char *user, size_t *n);
/* True when user muted (kind, action); action NULL or "" for none. */
bool mutes_match(const struct mutes *m, const char *user, enum notification_kind kind, const char *action);
/* Calls fn for every user with a non-empty list. */
void mutes_each(const struct mutes *m, void (*fn)(void *ctx, const char *user, const struct mute_entry *e, size_t n),
		void *ctx);

#endif
