/*
 * revocations.c - the user -> "refuse tokens issued before" map (revocations.h).
 * Owns: the map and its values. Must not: talk to the broker or look at sockets; the revocation
 * payload's format is wire/server_api.c's.
 */
#include <errno.h>
#include <stdlib.h>

#include "mqedge/wire/server_api.h"
#include "revocations.h"

void revocations_init(struct revocations *r)
{
	*r = (struct revocations){ 0 };
}

static void free_value(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	free(value);
}

void revocations_fini(struct revocations *r)
{
	strmap_each(&r->users, free_value, NULL);
	strmap_free(&r->users);
}

int revocations_apply(struct revocations *r, const char *user, const void *payload, size_t len)
{
	struct strmap_entry *e;
	int64_t before;

	if (!len) {
		free(strmap_del(&r->users, user));
		r->lifted++;
		return 0;
	}
	if (server_api_revoke_msg_parse(payload, len, &before)) {
		r->malformed++;
		return -EINVAL;
	}
	if (!before) {	/* never published by an edge (0 lifts by clearing), but means the same */
		free(strmap_del(&r->users, user));
		r->lifted++;
		return 0;
	}
	e = strmap_put(&r->users, user);
	if (!e)
		return -ENOMEM;
	if (!e->value && !(e->value = malloc(sizeof(int64_t)))) {
		strmap_del(&r->users, user);
		return -ENOMEM;
	}
	*(int64_t *)e->value = before;
	r->applied++;
	return 0;
}

bool revocations_refuse(const struct revocations *r, const char *user, int64_t iat)
{
	const int64_t *before = strmap_get(&r->users, user);

	/* a token without iat cannot show it is newer */
	return before && (iat < 0 || iat < *before);
}

size_t revocations_count(const struct revocations *r)
{
	return r->users.count;
}
