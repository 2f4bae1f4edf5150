/*
 * idgen.h - ids this edge makes: message ids "{edge}.{boot}.{seq}" (unique across edges, because
 * edge ids differ, and across restarts, because the boot time differs) and session ids
 * "{boot}-{seq}". Sequences are base 36.
 */
#ifndef MQEDGE_IDGEN_H
#define MQEDGE_IDGEN_H

#include <stddef.h>
#include <stdint.h>

#define IDGEN_ID_MAX 100	/* the longest message id (envelope ids are 1-100 characters) */
#define IDGEN_SESSION_MAX 24

struct idgen {
	char prefix[IDGEN_ID_MAX + 1];	/* "{edge}.{boot36}." */
	size_t prefix_len;
	char boot36[16];
	uint64_t next_msg, next_session;
};

/* Starts a generator for edge_id at boot_ms. Returns 0, or -EINVAL when edge_id leaves no room
 * for a sequence within IDGEN_ID_MAX. */
int idgen_init(struct idgen *g, const char *edge_id, int64_t boot_ms);
/* The next message id, NUL-terminated, into out. */
void idgen_message(struct idgen *g, char out[IDGEN_ID_MAX + 1]);
/* The next session id, NUL-terminated, into out. */
void idgen_session(struct idgen *g, char out[IDGEN_SESSION_MAX]);

#endif
