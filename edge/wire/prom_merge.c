/*
 * prom_merge.c - several processes' Prometheus texts as one (the workers of one host answer
 * /metrics for all of them). Owns: nothing; pure text in, text out. Must not: know any metric.
 */
#include <string.h>

#include "mqedge/wire/prom_merge.h"

struct line {
	const char *p;
	size_t len;	/* without the newline */
};

static struct line line_at(const char *text, size_t len, size_t *pos)
{
	struct line l = { text + *pos, 0 };
	const char *nl = memchr(l.p, '\n', len - *pos);

	l.len = nl ? (size_t)(nl - l.p) : len - *pos;
	*pos += l.len + (nl ? 1 : 0);
	return l;
}

/* "# HELP name ..." -> name */
static int help_name(struct line l, const char **name, size_t *name_len)
{
	const char *sp;

	if (l.len < 8 || memcmp(l.p, "# HELP ", 7))
		return 0;
	*name = l.p + 7;
	sp = memchr(*name, ' ', l.len - 7);
	*name_len = sp ? (size_t)(sp - *name) : l.len - 7;
	return *name_len > 0;
}

/* The span of family `name` in text (from its HELP line to the next HELP or the end), or 0. */
static int family_span(const char *text, size_t len, const char *name, size_t name_len, size_t *start, size_t *end)
{
	size_t pos = 0, at;
	const char *n;
	size_t nl;

	while (pos < len) {
		at = pos;
		struct line l = line_at(text, len, &pos);

		if (!help_name(l, &n, &nl) || nl != name_len || memcmp(n, name, nl))
			continue;
		*start = at;
		while (pos < len) {
			size_t next = pos;
			struct line m = line_at(text, len, &pos);

			if (help_name(m, &n, &nl)) {
				pos = next;
				break;
			}
		}
		*end = pos;
		return 1;
	}
	return 0;
}

/* A sample line with the label inserted first: name{L="v",rest} value or name{L="v"} value. */
static void put_sample(struct textbuf *out, struct line l, const char *label_name, const char *value)
{
	size_t name_len = 0;

	while (name_len < l.len && l.p[name_len] != '{' && l.p[name_len] != ' ')
		name_len++;
	if (!name_len || name_len == l.len)
		return;	/* not a sample */
	textbuf_append(out, l.p, name_len);
	textbuf_printf(out, "{%s=\"%s\"", label_name, value);
	if (l.p[name_len] == '{') {
		if (name_len + 1 < l.len && l.p[name_len + 1] != '}')
			textbuf_append(out, ",", 1);
		textbuf_append(out, l.p + name_len + 1, l.len - name_len - 1);
	} else {
		textbuf_append(out, "}", 1);
		textbuf_append(out, l.p + name_len, l.len - name_len);
	}
	textbuf_append(out, "\n", 1);
}

/* Has an earlier source (before index i) a family of this name? Then it was merged already. */
static int merged_before(const struct prom_source *src, size_t i, const char *name, size_t name_len)
{
	size_t s, e;

	for (size_t j = 0; j < i; j++)
		if (family_span(src[j].text, src[j].len, name, name_len, &s, &e))
			return 1;
	return 0;
}

void prom_merge(struct textbuf *out, const char *label_name, const struct prom_source *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t pos = 0;

		while (pos < src[i].len) {
			struct line l = line_at(src[i].text, src[i].len, &pos);
			const char *name;
			size_t name_len;

			if (!help_name(l, &name, &name_len) || merged_before(src, i, name, name_len))
				continue;
			/* the family's comments from the first source that has it, samples from all */
			for (size_t j = i; j < n; j++) {
				size_t s, e, p;

				if (!family_span(src[j].text, src[j].len, name, name_len, &s, &e))
					continue;
				for (p = s; p < e;) {
					struct line m = line_at(src[j].text, e, &p);

					if (m.len && m.p[0] == '#') {
						if (j == i) {
							textbuf_append(out, m.p, m.len);
							textbuf_append(out, "\n", 1);
						}
					} else if (m.len) {
						put_sample(out, m, label_name, src[j].label_value);
					}
				}
			}
		}
	}
}
