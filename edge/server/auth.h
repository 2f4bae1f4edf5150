/*
 * auth.h - token -> identity and permissions (docs/PROTOCOL.md section 1).
 *
 * Tokens are JWTs verified by libjwt with an algorithm pinned by configuration. The claims become
 * an identity (user or device id, expiry) and a permission set of id patterns, stored in one
 * reference-counted block so anonymous sessions can share one.
 */
#ifndef MQEDGE_AUTH_H
#define MQEDGE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqedge/wire/topics.h"

struct edge_config;

enum perm { PERM_ROOMS, PERM_PUB, PERM_DEVICES, PERM_CMD, PERM_DM, PERM_RPC, PERM_COUNT };

/* Pattern lists, one allocation: lists[k] has counts[k] patterns. */
struct perms {
	uint32_t refs;
	uint32_t counts[PERM_COUNT];
	const char **lists[PERM_COUNT];
	const char *info;	/* the token's public "info" object as compact JSON, or NULL */
	size_t info_len;
};

/* The largest "info" claim accepted (compact JSON bytes), shown to a room's members by presence. */
#define AUTH_INFO_MAX 512

enum auth_result {
	AUTH_OK = 0,
	AUTH_MISSING,		/* token_missing */
	AUTH_INVALID,		/* token_invalid */
	AUTH_EXPIRED,		/* token_expired */
	AUTH_NOMEM,
};

enum identity_kind { IDENTITY_USER = 0, IDENTITY_DEVICE = 1 };

struct identity {
	char id[TOPICS_ID_MAX + 1];
	enum identity_kind kind;
	bool anonymous;		/* no token: no direct channel, perms from anonymous-rooms */
	int64_t exp;		/* seconds since the epoch; 0 = never */
	int64_t iat;		/* issued at, seconds; -1 when the token has no iat (revocations.h) */
	struct perms *perms;	/* one reference owned by the identity */
};

struct auth;

/* Reads keys per cfg. NULL with a message in err on failure. */
struct auth *auth_create(const struct edge_config *cfg, char *err, size_t errlen);
void auth_destroy(struct auth *a);

/* Verifies token at time now_s and fills out (out->perms is a new reference). */
enum auth_result auth_verify(struct auth *a, const char *token, int64_t now_s, struct identity *out);

/* The identity for an anonymous session named "anon-<session_id>" (shares one perms block). */
int auth_anonymous(struct auth *a, const char *session_id, struct identity *out);

/* Drops the identity's perms reference. */
void identity_release(struct identity *id);

/* True when the identity's list k has a pattern matching id. */
bool perms_allow(const struct perms *p, enum perm k, const char *id);

/* "token_missing" etc., the codes of docs/PROTOCOL.md. */
const char *auth_result_code(enum auth_result r);

/* Drops a reference to p (NULL is fine). */
void perms_unref(struct perms *p);

#endif
