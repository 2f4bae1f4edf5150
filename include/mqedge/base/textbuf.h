/*
 * textbuf.h - a growable text buffer for output whose size is not known up front (an inbox page,
 * /metrics). Failure is sticky: after an allocation fails every append is a no-op and oom stays
 * set, so a writer checks once at the end.
 */
#ifndef MQEDGE_TEXTBUF_H
#define MQEDGE_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct textbuf {
	char *p;		/* malloc'd, NUL-terminated while !oom; the owner frees it with textbuf_free */
	size_t len, cap;
	bool oom;
};

void textbuf_append(struct textbuf *b, const char *s, size_t n);
void textbuf_puts(struct textbuf *b, const char *s);
void textbuf_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes room for n more bytes and returns where they go (the caller then adds n to len), or NULL. */
char *textbuf_reserve(struct textbuf *b, size_t n);
void textbuf_free(struct textbuf *b);

#endif
