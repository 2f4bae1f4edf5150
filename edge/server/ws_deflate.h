/*
 * ws_deflate.h - private to edge/server: the permessage-deflate extension the edge registers with
 * libwebsockets (ws_deflate.c): lws 4.1.6's own, with the client's compressed bytes kept in the
 * connection's own buffer while lws' inflater still reads them.
 */
#ifndef MQEDGE_WS_DEFLATE_H
#define MQEDGE_WS_DEFLATE_H

#include <stddef.h>

struct lws_extension;

/* The vhost's extension table ({ permessage-deflate }, { NULL }), or NULL when this libwebsockets is
 * not a version the guard was written against (4.1.x): then the edge does not offer compression,
 * and why is in *why (static text). */
const struct lws_extension *ws_deflate_extensions(const char **why);

#endif
