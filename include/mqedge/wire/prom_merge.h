/*
 * prom_merge.h - several processes' Prometheus texts (format 0.0.4) as one: each family's HELP
 * and TYPE once, then every process's samples of it with a label naming the process.
 */
#ifndef MQEDGE_PROM_MERGE_H
#define MQEDGE_PROM_MERGE_H

#include <stddef.h>

#include "mqedge/base/textbuf.h"

struct prom_source {
	const char *text;	/* one process's /metrics text: "# HELP" starts each family */
	size_t len;
	const char *label_value;	/* e.g. "0": its samples get label_name="0" first */
};

/* Appends the merge of n sources to out, families in the order they first appear (the first
 * source's order, then families only later ones have). Lines that are neither comments nor
 * samples "name[{labels}] value" are dropped. out->oom tells whether it all fit. */
void prom_merge(struct textbuf *out, const char *label_name, const struct prom_source *src, size_t n);

#endif
