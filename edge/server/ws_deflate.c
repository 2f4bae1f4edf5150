/*
 * ws_deflate.c - the permessage-deflate extension registered with libwebsockets: lws' own
 * (lws_extension_callback_pm_deflate) behind a guard that gives its inflater input that stays put.
 * Owns: the per-connection copy of a compressed message's bytes. Must not: inflate, frame or look
 * at messages (lws does; ws_session.c reassembles), or touch the send side (the edge frames and
 * compresses its own, fanout/deflate.c).
 *
 * Why (lws 4.1.6, lib/roles/ws/server-ws.c lws_ws_frame_rest_is_payload): lws hands a compressed
 * frame's bytes to zlib straight from the per-thread read buffer and inflates 1 KB at a time. When
 * a message inflates to more than that, zlib keeps pointing into the read buffer and lws comes back
 * for the rest on a later pass of the loop — after it may have read another connection's bytes
 * into the same buffer. The rest of the message is then inflated from a stranger's bytes: garbage
 * (1007), a wrong size (1009), or lws' own assert(priv->rx.avail_out) aborting the process — 30
 * clients sending 6 KB compressed messages at once were enough. Upstream drains before the next
 * read since 2023 (8d40798); Debian 12 ships 4.1.6. Copying the bytes first costs one memcpy of
 * what a client sends.
 */
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ws_deflate.h"

#define KEEP_BYTES 2048	/* a copy buffer larger than this is freed once lws is done with it */

/* lws 4.1.6's private struct lws_ext_pm_deflate_rx_ebufs (lib/roles/ws/private-lib-roles-ws.h),
 * what LWS_EXT_CB_PAYLOAD_RX's `in` points at */
struct pmd_rx_ebufs {
	struct lws_tokens eb_in;
	struct lws_tokens eb_out;
};

/* lws 4.1.6's enum pmd_return (lib/core-net/private-lib-core-net.h): the inflater kept input; the
 * frame is not for the inflater (plain, or a control frame) and it was not touched */
#define PMDR_HAS_PENDING 2
#define PMDR_NOTHING_WE_SHOULD_DO 5

/* The extension's per-connection state: ours around lws'. */
struct ws_deflate_conn {
	void *lws_priv;		/* lws' own, passed on to it */
	unsigned char *in;	/* malloc'd: the compressed bytes lws' inflater reads */
	size_t cap;
	bool pending;		/* lws' inflater has not consumed all of in yet */
};

/* Copies the bytes lws is about to hand its inflater into c->in and points lws there. Every
 * frame's, compressed or not: which message is compressed is lws' private knowledge (its RSV1 of the
 * first frame), and guessing from public calls can be fooled; lws reads only eb_in's length and the
 * eb_out it set before, so a copy of plain bytes changes nothing. Not while the inflater still
 * holds earlier input: lws ignores new input then, and the earlier bytes must stay where they are. */
static int guard_input(struct ws_deflate_conn *c, struct pmd_rx_ebufs *eb)
{
	size_t n;

	if (c->pending || !eb->eb_in.token || eb->eb_in.len <= 0)
		return 0;
	n = (size_t)eb->eb_in.len;
	if (n > c->cap) {
		unsigned char *bigger = realloc(c->in, n);

		if (!bigger)
			return -1;
		c->in = bigger;
		c->cap = n;
	}
	memcpy(c->in, eb->eb_in.token, n);
	eb->eb_in.token = c->in;
	return 0;
}

static int ws_deflate_callback(struct lws_context *context, const struct lws_extension *ext, struct lws *wsi,
			       enum lws_extension_callback_reasons reason, void *user, void *in, size_t len)
{
	struct ws_deflate_conn *c = user;
	int rc;

	switch (reason) {
	case LWS_EXT_CB_CONSTRUCT:
	case LWS_EXT_CB_CLIENT_CONSTRUCT: {
		/* user is the connection's slot: lws' state goes into ours, ours into the slot */
		void *lws_priv = NULL;

		c = calloc(1, sizeof(*c));
		if (!c)
			return -1;
		rc = lws_extension_callback_pm_deflate(context, ext, wsi, reason, &lws_priv, in, len);
		if (rc) {
			free(c);
			return rc;
		}
		c->lws_priv = lws_priv;
		*(void **)user = c;
		return 0;
	}
	case LWS_EXT_CB_DESTROY:
		if (!c)
			return 0;
		rc = lws_extension_callback_pm_deflate(context, ext, wsi, reason, c->lws_priv, in, len);
		free(c->in);
		free(c);
		return rc;
	case LWS_EXT_CB_PAYLOAD_RX:
		if (!c)
			return -1;
		if (in && guard_input(c, in))
			return -1;	/* out of memory: lws drops the connection */
		rc = lws_extension_callback_pm_deflate(context, ext, wsi, reason, c->lws_priv, in, len);
		if (rc < 0 || rc == PMDR_NOTHING_WE_SHOULD_DO)
			return rc;	/* the inflater's input is as it was */
		c->pending = rc == PMDR_HAS_PENDING;
		if (!c->pending && c->cap > KEEP_BYTES) {
			free(c->in);
			c->in = NULL;
			c->cap = 0;
		}
		return rc;
	default:
		return c ? lws_extension_callback_pm_deflate(context, ext, wsi, reason, c->lws_priv, in, len) : 0;
	}
}

/* client_offer is what lws would offer as a client; a server vhost never reads it */
static const struct lws_extension extensions[] = {
	{ "permessage-deflate", ws_deflate_callback, "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
	{ NULL, NULL, NULL },
};

const struct lws_extension *ws_deflate_extensions(const char **why)
{
	/* the two private layouts above are 4.1.x's */
	if (strncmp(lws_get_library_version(), "4.1.", 4)) {
		*why = "libwebsockets is not 4.1.x: the inflater guard (ws_deflate.c) does not know its internals";
		return NULL;
	}
	*why = NULL;
	return extensions;
}
