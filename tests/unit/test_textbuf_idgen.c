/*
 * test_textbuf_idgen.c - the small base modules (edge/base): textbuf (append, puts, printf, reserve, the
 * doubling growth from 256 bytes, NUL termination, sticky OOM, free and reuse), idgen (the edge id
 * length limit, message ids "{edge}.{boot36}.{seq36}" and session ids "{boot36}-{seq36}" exactly
 * for given boot times), mqe_strerror for every code err.h lists, and the intrusive DLIST_PUSH /
 * DLIST_UNLINK macros (head, middle, tail, only element, one node in two lists).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mqedge/base/err.h"
#include "mqedge/base/idgen.h"
#include "mqedge/base/list.h"
#include "mqedge/base/textbuf.h"

/* ---- textbuf ---- */

/* b holds exactly want (want_len bytes), NUL-terminated, with room for the NUL. */
static bool tb_holds(const struct textbuf *b, const char *want, size_t want_len)
{
	if (b->oom || !b->p || b->len != want_len || memcmp(b->p, want, want_len) || b->p[b->len] != '\0' ||
	    b->cap < b->len + 1) {
		fprintf(stderr, "textbuf: len %zu cap %zu oom %d, want len %zu\n", b->len, b->cap, b->oom, want_len);
		return false;
	}
	return true;
}

static void test_textbuf_append(void)
{
	struct textbuf b = { 0 };

	/* an empty append still allocates and terminates */
	textbuf_puts(&b, "");
	CHECK(tb_holds(&b, "", 0));
	CHECK(b.cap == 256);
	textbuf_puts(&b, "abc");
	CHECK(tb_holds(&b, "abc", 3));
	textbuf_append(&b, "defgh", 2);	/* only n bytes */
	CHECK(tb_holds(&b, "abcde", 5));
	textbuf_append(&b, "x\0y", 3);	/* bytes, NULs included */
	CHECK(tb_holds(&b, "abcdex\0y", 8));
	textbuf_append(&b, "ignored", 0);
	CHECK(tb_holds(&b, "abcdex\0y", 8));
	textbuf_free(&b);
	CHECK(b.p == NULL && b.len == 0 && b.cap == 0 && !b.oom);

	/* growth: 256 holds 255 bytes and the NUL; one more doubles */
	{
		char want[20000];

		memset(want, 'q', sizeof(want));
		textbuf_append(&b, want, 255);
		CHECK(tb_holds(&b, want, 255));
		CHECK(b.cap == 256);
		textbuf_append(&b, want, 1);
		CHECK(tb_holds(&b, want, 256));
		CHECK(b.cap == 512);
		textbuf_append(&b, want, 255);
		CHECK(tb_holds(&b, want, 511) && b.cap == 512);
		textbuf_append(&b, want, 1);
		CHECK(tb_holds(&b, want, 512) && b.cap == 1024);
		/* a big append doubles as often as needed at once */
		textbuf_append(&b, want, 10000);
		CHECK(tb_holds(&b, want, 10512));
		CHECK(b.cap == 16384);
		textbuf_free(&b);
		/* the first append larger than 256 */
		textbuf_append(&b, want, 256);
		CHECK(tb_holds(&b, want, 256) && b.cap == 512);
		textbuf_free(&b);
		/* many small appends keep every byte in order */
		for (int i = 0; i < 2000; i++) {
			char c = (char)('a' + i % 26);

			want[i] = c;
			textbuf_append(&b, &c, 1);
		}
		CHECK(tb_holds(&b, want, 2000));
		CHECK(b.cap == 2048);
		textbuf_free(&b);
	}
}

static void test_textbuf_printf(void)
{
	struct textbuf b = { 0 };
	char want[6000];

	textbuf_printf(&b, "%d-%s-%lld", 42, "x", (long long)INT64_MIN);
	CHECK(tb_holds(&b, "42-x--9223372036854775808", 25));
	textbuf_printf(&b, "%s", "");
	CHECK(tb_holds(&b, "42-x--9223372036854775808", 25));
	textbuf_printf(&b, "|%c|", 'z');
	CHECK(tb_holds(&b, "42-x--9223372036854775808|z|", 28));
	textbuf_free(&b);

	/* output longer than the buffer: grows, then writes it whole */
	textbuf_puts(&b, "<");
	textbuf_printf(&b, "%5000d>", 7);
	memset(want, ' ', sizeof(want));
	want[0] = '<';
	want[5000] = '7';
	want[5001] = '>';
	CHECK(tb_holds(&b, want, 5002));
	CHECK(b.cap == 8192);
	/* exactly at a boundary: 8191 bytes fit 8192 */
	textbuf_printf(&b, "%*s", 8191 - 5002, "");
	CHECK(b.len == 8191 && b.cap == 8192 && b.p[8191] == '\0');
	textbuf_printf(&b, "x");
	CHECK(b.len == 8192 && b.cap == 16384 && b.p[8191] == 'x' && b.p[8192] == '\0');
	textbuf_free(&b);
}

static void test_textbuf_reserve(void)
{
	struct textbuf b = { 0 };
	char *o;

	o = textbuf_reserve(&b, 10);
	CHECK(o != NULL && o == b.p);
	CHECK(b.len == 0 && b.cap >= 11);
	if (o) {
		memcpy(o, "0123456789", 10);
		b.len += 10;
		b.p[b.len] = '\0';	/* reserve leaves room for it; the writer puts it */
	}
	CHECK(tb_holds(&b, "0123456789", 10));
	/* the next reserve points after what is there, and keeps it */
	o = textbuf_reserve(&b, 1000);
	CHECK(o == b.p + 10);
	CHECK(b.cap >= 1011 && b.cap == 1024);
	CHECK(!memcmp(b.p, "0123456789", 10));
	if (o) {
		memset(o, 'r', 1000);	/* the whole reservation is writable (ASan checks) */
		o[1000] = '\0';		/* and the byte after it, for the NUL */
		b.len += 1000;
	}
	textbuf_puts(&b, "!");
	CHECK(b.len == 1011 && b.p[1010] == '!' && b.p[1011] == '\0' && b.p[1009] == 'r');
	/* a reservation that fits changes nothing */
	{
		char *p = b.p;
		size_t cap = b.cap;

		o = textbuf_reserve(&b, cap - b.len - 1);
		CHECK(o == b.p + b.len && b.p == p && b.cap == cap);
		o = textbuf_reserve(&b, cap - b.len);	/* no room for the NUL: grows */
		CHECK(o == b.p + b.len && b.cap == 2 * cap);
	}
	textbuf_free(&b);
}

static void test_textbuf_oom(void)
{
	struct textbuf b = { 0 };

	textbuf_puts(&b, "kept");
	b.oom = true;	/* as after a failed realloc: every later write is a no-op */
	textbuf_puts(&b, "lost");
	textbuf_append(&b, "lost", 4);
	textbuf_printf(&b, "%s", "lost");
	CHECK(textbuf_reserve(&b, 1) == NULL);
	CHECK(b.len == 4 && !strcmp(b.p, "kept"));
	CHECK(b.oom);
	/* free clears it, and the buffer works again */
	textbuf_free(&b);
	CHECK(!b.oom && b.p == NULL);
	textbuf_puts(&b, "ok");
	CHECK(tb_holds(&b, "ok", 2));
	textbuf_free(&b);
	textbuf_free(&b);	/* twice is harmless */
	CHECK(b.p == NULL);
}

/* ---- idgen ---- */

static void test_idgen(void)
{
	static const struct {
		const char *edge;
		int64_t boot_ms;
		const char *boot36;
		const char *first[4];	/* the first message ids */
		const char *session0;
	} cases[] = {
		{ "e1", 1700000000000LL, "loyw3v28", { "e1.loyw3v28.0", "e1.loyw3v28.1", "e1.loyw3v28.2", "e1.loyw3v28.3" },
		  "loyw3v28-0" },
		{ "edge-a.b@c:d_9", 0, "0", { "edge-a.b@c:d_9.0.0", "edge-a.b@c:d_9.0.1", "edge-a.b@c:d_9.0.2",
					      "edge-a.b@c:d_9.0.3" }, "0-0" },
		{ "x", 35, "z", { "x.z.0", "x.z.1", "x.z.2", "x.z.3" }, "z-0" },
		{ "x", 36, "10", { "x.10.0", "x.10.1", "x.10.2", "x.10.3" }, "10-0" },
		{ "h", 1296, "100", { "h.100.0", "h.100.1", "h.100.2", "h.100.3" }, "100-0" },
		{ "big", INT64_MAX, "1y2p0ij32e8e7", { "big.1y2p0ij32e8e7.0", "big.1y2p0ij32e8e7.1", "big.1y2p0ij32e8e7.2",
						       "big.1y2p0ij32e8e7.3" }, "1y2p0ij32e8e7-0" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct idgen g;
		char id[IDGEN_ID_MAX + 1], sid[IDGEN_SESSION_MAX];

		CHECK(idgen_init(&g, cases[i].edge, cases[i].boot_ms) == 0);
		CHECK_STR(g.boot36, cases[i].boot36);
		for (int k = 0; k < 4; k++) {
			idgen_message(&g, id);
			CHECK_STR(id, cases[i].first[k]);
		}
		idgen_session(&g, sid);
		CHECK_STR(sid, cases[i].session0);
	}

	/* the sequences count in base 36, message and session ids separately */
	{
		static const struct {
			uint64_t seq;
			const char *want;
		} seqs[] = {
			{ 9, "9" }, { 10, "a" }, { 35, "z" }, { 36, "10" }, { 1295, "zz" }, { 1296, "100" },
			{ 1000000, "lfls" }, { UINT64_MAX, "3w5e11264sgsf" },
		};
		struct idgen g;
		char id[IDGEN_ID_MAX + 1], sid[IDGEN_SESSION_MAX], want[64];

		CHECK(idgen_init(&g, "e1", 1700000000000LL) == 0);
		for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
			g.next_msg = seqs[i].seq;
			g.next_session = seqs[i].seq;
			idgen_message(&g, id);
			snprintf(want, sizeof(want), "e1.loyw3v28.%s", seqs[i].want);
			CHECK_STR(id, want);
			idgen_session(&g, sid);
			snprintf(want, sizeof(want), "loyw3v28-%s", seqs[i].want);
			CHECK_STR(sid, want);
			CHECK(g.next_msg == seqs[i].seq + 1 && g.next_session == seqs[i].seq + 1);
		}
		/* message ids never touch the session sequence */
		g.next_msg = 0;
		g.next_session = 5;
		idgen_message(&g, id);
		idgen_message(&g, id);
		CHECK(g.next_session == 5);
		idgen_session(&g, sid);
		CHECK_STR(sid, "loyw3v28-5");
		CHECK_STR(id, "e1.loyw3v28.1");
	}
}

/* n 'e' characters, NUL-terminated, in buf (256 bytes). */
static const char *edge_of(char *buf, size_t n)
{
	memset(buf, 'e', n);
	buf[n] = '\0';
	return buf;
}

static void test_idgen_limits(void)
{
	char edge[256], id[IDGEN_ID_MAX + 1];
	struct idgen g;

	/* "{edge}.{boot36}." + 13 digits must fit 100: with boot36 "loyw3v28" the edge id may have 77
	 * characters (77 + 10 + 13 = 100) */
	CHECK(idgen_init(&g, edge_of(edge, 77), 1700000000000LL) == 0);
	CHECK(g.prefix_len == 87);
	g.next_msg = UINT64_MAX;	/* the longest sequence */
	idgen_message(&g, id);
	CHECK(strlen(id) == IDGEN_ID_MAX);
	CHECK(!strcmp(id + 77, ".loyw3v28.3w5e11264sgsf"));
	CHECK(idgen_init(&g, edge_of(edge, 78), 1700000000000LL) == -EINVAL);
	/* a shorter boot leaves room for a longer edge id: "{84}.0." */
	CHECK(idgen_init(&g, edge_of(edge, 84), 0) == 0);
	CHECK(g.prefix_len == 87);
	CHECK(idgen_init(&g, edge_of(edge, 85), 0) == -EINVAL);
	/* far too long (snprintf truncates the prefix; still refused) */
	CHECK(idgen_init(&g, edge_of(edge, 255), 0) == -EINVAL);
	CHECK(idgen_init(&g, edge_of(edge, 100), 0) == -EINVAL);
	CHECK(idgen_init(&g, "", 0) == 0);	/* the edge id's own rules are config's business */
	idgen_message(&g, id);
	CHECK_STR(id, ".0.0");
}

/* ---- err ---- */

static void test_strerror(void)
{
	static const struct {
		int rc;
		const char *want;
	} cases[] = {
		{ 0, "ok" },
		{ -ENOMEM, "out of memory" },
		{ -EINVAL, "invalid argument" },
		{ -ENOBUFS, "queue full" },
		{ -EEXIST, "already exists" },
		{ -EIO, "store failure" },
		{ -ENOSPC, "store disk full" },
		{ -EBUSY, "store busy" },
		{ -EBADMSG, "store corrupt" },
		{ -ENOTCONN, "broker unavailable" },
		{ -ENOENT, "not found" },
		{ 1, "ok" },	/* a count or flag is a success */
		{ 12345, "ok" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(mqe_strerror(cases[i].rc), cases[i].want);
	/* the texts are distinct */
	for (size_t i = 1; i < 11; i++)
		for (size_t k = i + 1; k < 11; k++)
			CHECK(strcmp(mqe_strerror(cases[i].rc), mqe_strerror(cases[k].rc)) != 0);
	/* any other errno code: the C library's text, never NULL */
	CHECK_STR(mqe_strerror(-EPERM), strerror(EPERM));
	CHECK_STR(mqe_strerror(-EAGAIN), strerror(EAGAIN));
	CHECK(mqe_strerror(-4095) != NULL && mqe_strerror(-4095)[0] != '\0');
}

/* ---- list.h ---- */

struct node {
	int v;
	struct node *prev, *next;	/* list A */
	struct node *b_prev, *b_next;	/* list B: the same node in a second list */
};

/* The list at head holds exactly want[0..n) in order, with consistent back links. */
static bool list_is(const struct node *head, const int *want, int n)
{
	const struct node *prev = NULL;
	int i = 0;

	for (const struct node *x = head; x; prev = x, x = x->next, i++)
		if (i >= n || x->v != want[i] || x->prev != prev)
			return false;
	return i == n;
}

static bool list_b_is(const struct node *head, const int *want, int n)
{
	const struct node *prev = NULL;
	int i = 0;

	for (const struct node *x = head; x; prev = x, x = x->b_next, i++)
		if (i >= n || x->v != want[i] || x->b_prev != prev)
			return false;
	return i == n;
}

static void test_dlist(void)
{
	struct node n[5];
	struct node *head = NULL, *head_b = NULL;

	for (int i = 0; i < 5; i++) {
		memset(&n[i], 0xab, sizeof(n[i]));	/* PUSH must set both links itself */
		n[i].v = i;
	}
	CHECK(list_is(head, NULL, 0));
	DLIST_PUSH(head, &n[0], prev, next);
	CHECK(list_is(head, (int[]){ 0 }, 1));
	CHECK(n[0].prev == NULL && n[0].next == NULL);
	for (int i = 1; i < 5; i++)
		DLIST_PUSH(head, &n[i], prev, next);
	CHECK(head == &n[4]);
	CHECK(list_is(head, (int[]){ 4, 3, 2, 1, 0 }, 5));

	/* the middle */
	DLIST_UNLINK(head, &n[2], prev, next);
	CHECK(list_is(head, (int[]){ 4, 3, 1, 0 }, 4));
	CHECK(n[2].prev == NULL && n[2].next == NULL);
	/* the head */
	DLIST_UNLINK(head, &n[4], prev, next);
	CHECK(head == &n[3]);
	CHECK(list_is(head, (int[]){ 3, 1, 0 }, 3));
	CHECK(n[4].prev == NULL && n[4].next == NULL);
	/* the tail */
	DLIST_UNLINK(head, &n[0], prev, next);
	CHECK(list_is(head, (int[]){ 3, 1 }, 2));
	CHECK(n[0].prev == NULL && n[0].next == NULL);
	CHECK(n[1].next == NULL);
	/* pushed back after being unlinked */
	DLIST_PUSH(head, &n[2], prev, next);
	CHECK(list_is(head, (int[]){ 2, 3, 1 }, 3));
	DLIST_UNLINK(head, &n[3], prev, next);
	DLIST_UNLINK(head, &n[1], prev, next);
	CHECK(list_is(head, (int[]){ 2 }, 1));
	/* the only element */
	DLIST_UNLINK(head, &n[2], prev, next);
	CHECK(head == NULL);
	CHECK(n[2].prev == NULL && n[2].next == NULL);

	/* one node in two lists through two pairs of link fields */
	for (int i = 0; i < 5; i++)
		DLIST_PUSH(head, &n[i], prev, next);
	for (int i = 4; i >= 0; i -= 2)
		DLIST_PUSH(head_b, &n[i], b_prev, b_next);
	CHECK(list_is(head, (int[]){ 4, 3, 2, 1, 0 }, 5));
	CHECK(list_b_is(head_b, (int[]){ 0, 2, 4 }, 3));
	DLIST_UNLINK(head_b, &n[2], b_prev, b_next);
	CHECK(list_b_is(head_b, (int[]){ 0, 4 }, 2));
	CHECK(list_is(head, (int[]){ 4, 3, 2, 1, 0 }, 5));	/* list A untouched */
	DLIST_UNLINK(head, &n[0], prev, next);
	CHECK(list_b_is(head_b, (int[]){ 0, 4 }, 2));
	CHECK(list_is(head, (int[]){ 4, 3, 2, 1 }, 4));
}

int main(void)
{
	test_textbuf_append();
	test_textbuf_printf();
	test_textbuf_reserve();
	test_textbuf_oom();
	test_idgen();
	test_idgen_limits();
	test_strerror();
	test_dlist();
	return CHECK_DONE();
}
