/*
 * metrics.h - private to edge/server: /metrics in the Prometheus text format (0.0.4).
 */
#ifndef MQEDGE_METRICS_H
#define MQEDGE_METRICS_H

#include "edge.h"
#include "mqedge/base/textbuf.h"

/* Appends every metric of e to out (out->oom tells whether it all fit in memory). */
void metrics_render(const struct edge *e, struct textbuf *out);

#endif
