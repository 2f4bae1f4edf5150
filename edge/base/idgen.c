/*
 * idgen.c - message and session ids. Owns the sequences; must not read the clock (the boot time
 * is given), so ids are reproducible in tests.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mqedge/base/idgen.h"

/* v in base 36 into out (outlen bytes with the NUL). Returns the length, or -1 if it does not fit. */
static int base36(char *out, size_t outlen, uint64_t v)
{
	char tmp[16];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
		v /= 36;
	} while (v && n < (int)sizeof(tmp));
	if ((size_t)n >= outlen)
		return -1;
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

int idgen_init(struct idgen *g, const char *edge_id, int64_t boot_ms)
{
	int n;

	memset(g, 0, sizeof(*g));
	base36(g->boot36, sizeof(g->boot36), (uint64_t)boot_ms);
	n = snprintf(g->prefix, sizeof(g->prefix), "%s.%s.", edge_id, g->boot36);
	/* 13 base-36 digits hold any 64-bit sequence */
	if (n < 0 || n + 13 > IDGEN_ID_MAX)
		return -EINVAL;
	g->prefix_len = (size_t)n;
	return 0;
}

void idgen_message(struct idgen *g, char out[IDGEN_ID_MAX + 1])
{
	memcpy(out, g->prefix, g->prefix_len);
	base36(out + g->prefix_len, IDGEN_ID_MAX + 1 - g->prefix_len, g->next_msg++);
}

void idgen_session(struct idgen *g, char out[IDGEN_SESSION_MAX])
{
	int n = snprintf(out, IDGEN_SESSION_MAX, "%s-", g->boot36);

	base36(out + n, IDGEN_SESSION_MAX - (size_t)n, g->next_session++);
}
