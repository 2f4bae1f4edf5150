/*
 * revocations.h - private to edge/server: users whose older tokens are refused (docs/PROTOCOL.md
 * section 8, "Server API", disconnect with refuse_tokens_before). Every edge keeps, in memory, the
 * retained revocations of {prefix}/user/+/revoke: user -> "tokens issued before S are refused".
 * The broker keeps them (retained, persisted), so an edge started later gets them all at its
 * subscription; until they are in (a barrier message on its own {prefix}/edge/{edge}/sync topic
 * came back after the subscription's SUBACK) the edge is not "loaded" and refuses user tokens at the
 * handshake (503) and in /readyz.
 *
 * Pure bookkeeping: no broker, no sockets; the caller subscribes, publishes the barrier and hands
 * the messages over.
 */
#ifndef MQEDGE_REVOCATIONS_H
#define MQEDGE_REVOCATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/base/strmap.h"

struct revocations {
	struct strmap users;		/* user -> int64_t * (seconds: tokens with iat below are refused) */
	bool loaded;			/* the retained revocations have arrived */
	uint64_t applied, lifted, malformed;	/* messages taken, lifts, payloads ignored */
	uint64_t refused;		/* tokens refused (handshake and refresh) */
};

void revocations_init(struct revocations *r);
void revocations_fini(struct revocations *r);

/* A message on {prefix}/user/{user}/revoke: {"before":S,..} sets the user's revocation, an empty
 * payload (a cleared retained message) lifts it. Returns 0, -EINVAL (malformed: ignored, counted)
 * or -ENOMEM. */
int revocations_apply(struct revocations *r, const char *user, const void *payload, size_t len);

/* True when a token of user issued at iat (seconds; < 0: the token has no iat) is refused. */
bool revocations_refuse(const struct revocations *r, const char *user, int64_t iat);

/* How many users have a revocation. */
size_t revocations_count(const struct revocations *r);

#endif
