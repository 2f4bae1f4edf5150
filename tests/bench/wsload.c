/*
 * wsload.c — the mqedge benchmark load tool.
 *
 * Owns: N hand-written WebSocket clients (plain sockets, OpenSSL for wss) on ONE epoll loop, an
 * optional MQTT 3.1.1/TCP publisher in the same loop, and the measurements: deliveries, loss,
 * duplicates, order, latency histogram, server CPU/RSS read from /proc, the tool's own CPU, and the
 * one-line JSON report on stdout (human summary on stderr).
 * Client modes: mqedge (docs/PROTOCOL.md frames), mosquitto (MQTT 3.1.1 over WebSocket) and floor
 * (tests/bench/floor.c). Must not touch: the servers it measures beyond their sockets and /proc; no
 * libwebsockets here, so the tool's cost per delivery is ours to see and keep small (one read()
 * drains many frames, frames are parsed in place, nothing is allocated per message).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <zlib.h>

#include "payload.h"

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
#define WBUF_CAP 2048u           /* per-client write buffer: upgrade request, sub, pongs, pings */
#define MAX_TARGETS 16
#define MAX_PIDS 8
#define PUB_ID UINT64_MAX        /* epoll data of the publisher socket */
#define PUB_WCAP (1u << 20)      /* publisher write buffer */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---------------------------------------------------------------------------------------------- */
/* Latency histogram: log-linear, 64 sub-buckets per power of two (about 1.6 % resolution), in ns. */

#define H_BUCKETS (128 + 57 * 64)

struct hist {
	uint64_t n, sum, max;
	uint64_t b[H_BUCKETS];
};

static unsigned hist_index(uint64_t v)
{
	if (v < 128)
		return (unsigned)v;
	unsigned m = 63u - (unsigned)__builtin_clzll(v); /* >= 7 */
	unsigned g = m - 6;                               /* >= 1 */
	return 128 + (g - 1) * 64 + (unsigned)((v >> g) - 64);
}

/* The middle of bucket i. */
static uint64_t hist_value(unsigned i)
{
	if (i < 128)
		return i;
	unsigned g = (i - 128) / 64 + 1;
	uint64_t lo = (uint64_t)((i - 128) % 64 + 64) << g;
	return lo + ((1ull << g) >> 1);
}

static inline void hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

static void hist_merge(struct hist *dst, const struct hist *src)
{
	for (unsigned i = 0; i < H_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->n += src->n;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* Value (ns) at quantile q in [0,1]; the exact max for q >= 1. */
static uint64_t hist_pct(const struct hist *h, double q)
{
	if (h->n == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	uint64_t rank = (uint64_t)(q * (double)h->n);
	if (rank >= h->n)
		rank = h->n - 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < H_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > rank) {
			uint64_t v = hist_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* ---------------------------------------------------------------------------------------------- */
/* Options                                                                                        */

enum mode { MODE_MQEDGE, MODE_MOSQUITTO, MODE_FLOOR };
static const char *const mode_names[] = {"mqedge", "mosquitto", "floor"};

struct target {
	char host[256];
	char port[16];
	struct sockaddr_storage addr;
	socklen_t alen;
};

static struct opts {
	enum mode mode;
	bool tls;
	struct target targets[MAX_TARGETS];
	unsigned ntargets;
	struct target broker;
	const char *path;
	const char *token;
	const char *subprotocol;
	const char *prefix;
	const char *label;
	unsigned conns, rooms, size, window, concurrency, min_conns, max_frame, keepalive;
	double rate;              /* messages/s over all rooms; 0 = max */
	double duration, hold, conn_timeout, drain;
	unsigned settle_ms, loss_timeout_ms;
	bool window_set, connect_only, no_sub;
	bool deflate;             /* offer permessage-deflate as Chrome does */
	bool tls_resume;          /* keep each client's TLS session (ticket) and offer it again */
	bool reconnect;           /* connect-only: after the hold, drop everything and set up again */
	int payload;              /* enum payload_kind */
	pid_t pids[MAX_PIDS];
	unsigned npids;
} o;

/* ---------------------------------------------------------------------------------------------- */
/* State                                                                                          */

enum cstate { CS_NEW, CS_TCP, CS_TLS, CS_HTTP, CS_HELLO, CS_SUB, CS_READY, CS_FAILED, CS_CLOSED };
enum fail_kind { F_CONNECT, F_TLS, F_HTTP, F_PROTO, F_TIMEOUT, F_CLOSED, F_NKIND };
static const char *const fail_names[F_NKIND] = {"connect", "tls", "http", "protocol", "timeout",
						"closed"};

struct client {
	int fd;
	uint8_t state;
	uint8_t in_msg;       /* inside a fragmented data message */
	uint8_t ended;        /* floor mode: the end frame arrived */
	uint8_t tls_rd_out;   /* TLS: SSL_read asked for writability */
	uint8_t deflate;      /* permessage-deflate negotiated */
	uint8_t z_reset;      /* ... with server_no_context_takeover: each message inflates alone */
	uint8_t in_comp;      /* the message being received is compressed (RSV1 on its first frame) */
	uint16_t target;
	uint32_t room;
	uint32_t events;      /* current epoll mask */
	uint32_t len;         /* bytes in buf */
	uint32_t mlen;        /* buf[0..mlen): message (mqedge) or MQTT stream bytes being assembled */
	uint32_t wlen;        /* bytes waiting in the write buffer */
	SSL *ssl;
	SSL_SESSION *sess;    /* --tls-resume: the newest session (ticket) the server gave us */
	z_stream *zs;         /* context takeover: this client's inflate stream, made at its first
			       * compressed message (otherwise the shared g.zshared serves) */
	unsigned char *buf;   /* g.cap read bytes followed by WBUF_CAP write bytes */
	int64_t t_begin, t_last_tx;
	uint64_t next_seq;    /* highest seq seen + 1 */
	uint64_t seen;        /* bit i: seq next_seq-1-i was received */
	uint64_t unique, dups, ooo;
};

struct room {
	uint32_t members;     /* subscribers of this room that are ready */
	uint16_t topic_len;
	uint64_t pub;         /* messages published to the room (the next seq) */
	uint64_t low;         /* oldest seq not yet received by every member (window mode) */
	int64_t low_since;
	uint32_t *ring;       /* receipt counts for seqs [low, pub), indexed seq & ring_mask */
	char name[24];
	char topic[96];
};

struct tstat {
	uint64_t conns, received;
	struct hist lat;
};

struct pstat {
	bool ok;
	double user, sys;
	long rss_kb;
};

enum pstate { P_OFF, P_TCP, P_CONNACK, P_READY, P_FAILED };

static struct {
	int ep;
	struct client *cl;
	struct room *rooms;
	struct tstat *ts;         /* per target */
	SSL_CTX *ssl_ctx;
	uint32_t cap;             /* read buffer bytes per client */
	uint32_t ring_mask;
	uint64_t rng;
	uint64_t key_seed;
	unsigned launched, inflight, ready, failed, disconnects, ended;
	unsigned fails[F_NKIND];
	char first_error[320];
	uint64_t received, dups, ooo, expected, error_frames, reads;
	uint64_t floor_count;
	int64_t first_rx, last_rx, t_last_ready;
	struct hist conn_lat;
	/* publisher */
	int pfd;
	enum pstate pst;
	uint32_t pevents;
	unsigned char prbuf[256];
	uint32_t prlen;
	unsigned char *pwbuf;
	uint32_t pwlen;
	int64_t p_last_tx;
	bool pub_active, pub_stalled;
	int64_t t0, t_end, t_pub_done;
	uint64_t pub_g, planned, published, window_stalls, pub_blocked, loss_giveups;
	uint64_t payload_bytes;
	char body[65536 + 128];   /* the payload being published */
	/* permessage-deflate */
	z_stream zshared;         /* inflates the messages of every no-context-takeover client */
	bool zshared_ok;
	unsigned char *zout;      /* one inflated message (max-frame bytes), shared by all clients */
	unsigned deflate_clients; /* set-ups where the server accepted permessage-deflate */
	char deflate_answer[160]; /* the first such answer */
	uint64_t comp_msgs, comp_bytes; /* compressed messages received, their compressed bytes */
	/* bytes received: from the sockets (TLS records included), WebSocket frames (headers and
	 * payloads as sent), messages (after inflation) */
	uint64_t rx_stream, rx_ws, rx_msg, tls_rx_closed;
	unsigned tls_resumed;     /* handshakes that resumed a session */
	/* --reconnect: the first wave's set-up, before the reconnect wave took over these fields */
	struct {
		bool done;
		unsigned ready, failed, resumed;
		double setup_s, server_cpu_s;
		uint64_t p50_ns, p99_ns;
	} wave1;
} g;

static uint64_t rng_next(void)
{
	uint64_t x = g.rng; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	g.rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("wsload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void note_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note_error(const char *fmt, ...)
{
	if (g.first_error[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g.first_error, sizeof g.first_error, fmt, ap);
	va_end(ap);
}

static void tls_error_string(char *out, size_t n)
{
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, out, n);
	else
		snprintf(out, n, "%s", errno ? strerror(errno) : "unexpected EOF");
	ERR_clear_error();
}

/* ---------------------------------------------------------------------------------------------- */
/* /proc sampling of the servers under test                                                      */

static bool read_file(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t r = fread(buf, 1, n - 1, f);
	bool ok = !ferror(f);
	buf[r] = '\0';
	if (fclose(f) != 0)
		ok = false;
	return ok && r > 0;
}

static struct pstat pstat_read(pid_t pid)
{
	struct pstat s = {0};
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!read_file(path, buf, sizeof buf))
		return s;
	char *p = strrchr(buf, ')'); /* comm may contain spaces and parentheses */
	if (!p)
		return s;
	unsigned long ut, st;
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return s;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	s.user = (double)ut / (double)hz;
	s.sys = (double)st / (double)hz;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!read_file(path, buf, sizeof buf))
		return s;
	const char *r = strstr(buf, "\nVmRSS:");
	if (!r || sscanf(r + 7, "%ld", &s.rss_kb) != 1)
		return s;
	s.ok = true;
	return s;
}

static void pstat_all(struct pstat *out)
{
	for (unsigned i = 0; i < o.npids; i++)
		out[i] = pstat_read(o.pids[i]);
}

/* The tool's own CPU seconds; *sys gets the kernel part. */
static double tool_cpu(double *sys)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return NAN;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + *sys;
}

static long tool_rss_kb(void)
{
	char buf[4096];
	long kb = 0;
	if (!read_file("/proc/self/status", buf, sizeof buf))
		return 0;
	const char *r = strstr(buf, "\nVmRSS:");
	if (r && sscanf(r + 7, "%ld", &kb) == 1)
		return kb;
	return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Client I/O                                                                                     */

#define IO_AGAIN (-1)
#define IO_ERR (-2)

static unsigned char *wbuf(struct client *c) { return c->buf + g.cap; }

static void client_close(struct client *c, enum fail_kind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void client_release(struct client *c)
{
	if (c->zs) {
		inflateEnd(c->zs);
		free(c->zs);
		c->zs = NULL;
	}
	if (c->ssl) {
		g.tls_rx_closed += BIO_number_read(SSL_get_rbio(c->ssl));
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		if (close(c->fd) != 0 && errno != EINTR)
			note_error("close: %s", strerror(errno));
		c->fd = -1;
	}
	free(c->buf);
	c->buf = NULL;
}

/* Ends client c: a set-up failure before it was ready, a disconnect after. */
static void client_close(struct client *c, enum fail_kind k, const char *fmt, ...)
{
	if (c->state == CS_FAILED || c->state == CS_CLOSED)
		return;
	char msg[240];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	note_error("client %u to %s:%s (%s): %s", (unsigned)(c - g.cl), o.targets[c->target].host,
		   o.targets[c->target].port, fail_names[k], msg);
	if (c->state == CS_READY) {
		g.disconnects++;
		g.rooms[c->room].members--;
		c->state = CS_CLOSED;
	} else {
		g.inflight--;
		g.failed++;
		g.fails[k]++;
		c->state = CS_FAILED;
	}
	client_release(c);
}

static int set_events(struct client *c, uint32_t ev)
{
	if (c->events == ev)
		return 0;
	struct epoll_event e = {.events = ev, .data.u64 = (uint64_t)(c - g.cl)};
	if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &e) != 0) {
		client_close(c, F_CONNECT, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	c->events = ev;
	return 0;
}

static ssize_t io_read(struct client *c, void *p, size_t n)
{
	if (c->ssl) {
		ERR_clear_error();
		int r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (r > 0)
			return r;
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return IO_AGAIN;
		if (e == SSL_ERROR_WANT_WRITE) {
			c->tls_rd_out = 1;
			return set_events(c, EPOLLIN | EPOLLOUT) < 0 ? IO_ERR : IO_AGAIN;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		return IO_ERR;
	}
	ssize_t r = read(c->fd, p, n);
	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return IO_AGAIN;
	return IO_ERR;
}

static ssize_t io_write(struct client *c, const void *p, size_t n)
{
	if (c->ssl) {
		ERR_clear_error();
		int r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (r > 0)
			return r;
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
			return IO_AGAIN;
		return IO_ERR;
	}
	ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return IO_AGAIN;
	return IO_ERR;
}

static void io_fail(struct client *c, const char *what)
{
	char err[200];
	if (c->ssl)
		tls_error_string(err, sizeof err);
	else
		snprintf(err, sizeof err, "%s", strerror(errno));
	client_close(c, c->state == CS_TLS ? F_TLS : F_CLOSED, "%s: %s", what, err);
}

/* Writes what is queued; arms EPOLLOUT while something remains. -1 when c was closed. */
static int client_flush(struct client *c)
{
	while (c->wlen > 0) {
		ssize_t n = io_write(c, wbuf(c), c->wlen);
		if (n == IO_AGAIN)
			return set_events(c, EPOLLIN | EPOLLOUT);
		if (n < 0) {
			io_fail(c, "write");
			return -1;
		}
		memmove(wbuf(c), wbuf(c) + n, c->wlen - (size_t)n);
		c->wlen -= (uint32_t)n;
	}
	return c->tls_rd_out ? 0 : set_events(c, EPOLLIN);
}

static int client_queue(struct client *c, const void *p, size_t n)
{
	if (n > WBUF_CAP - c->wlen) {
		client_close(c, F_PROTO, "write buffer full (%u bytes pending)", c->wlen);
		return -1;
	}
	memcpy(wbuf(c) + c->wlen, p, n);
	c->wlen += (uint32_t)n;
	return 0;
}

/* Queues one masked client frame (RFC 6455 5.3) and flushes. -1 when c was closed. */
static int client_send_frame(struct client *c, unsigned opcode, const void *payload, size_t n,
			     int64_t now)
{
	size_t hl = n < 126 ? 2 : n <= 0xffff ? 4 : 10;
	if (hl + 4 + n > WBUF_CAP - c->wlen) {
		client_close(c, F_PROTO, "write buffer full (%u bytes pending)", c->wlen);
		return -1;
	}
	unsigned char *w = wbuf(c) + c->wlen;
	w[0] = (unsigned char)(0x80 | opcode);
	if (hl == 2) {
		w[1] = (unsigned char)(0x80 | n);
	} else if (hl == 4) {
		w[1] = 0x80 | 126;
		w[2] = (unsigned char)(n >> 8);
		w[3] = (unsigned char)n;
	} else {
		w[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			w[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	}
	uint32_t m = (uint32_t)rng_next();
	unsigned char *mk = w + hl;
	memcpy(mk, &m, 4);
	const unsigned char *p = payload;
	for (size_t i = 0; i < n; i++)
		mk[4 + i] = p[i] ^ mk[i & 3];
	c->wlen += (uint32_t)(hl + 4 + n);
	c->t_last_tx = now;
	return client_flush(c);
}

/* ---------------------------------------------------------------------------------------------- */
/* Deliveries                                                                                     */

/* Finds `key` (e.g. "\"seq\":") at or after *pos and parses the number after it. */
static bool find_num(const unsigned char *p, size_t n, size_t *pos, const char *key, size_t klen,
		     uint64_t *out)
{
	if (*pos >= n)
		return false;
	const unsigned char *k = memmem(p + *pos, n - *pos, key, klen);
	if (!k)
		return false;
	size_t i = (size_t)(k - p) + klen;
	while (i < n && p[i] == ' ')
		i++;
	uint64_t v = 0;
	size_t d = i;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		v = v * 10 + (uint64_t)(p[i++] - '0');
	if (i == d)
		return false;
	if (i < n && (p[i] == '.' || p[i] == 'e' || p[i] == 'E')) { /* re-serialised as a double */
		char tmp[48];
		size_t e = d;
		while (e < n && e - d < sizeof tmp - 1 && strchr("0123456789.eE+-", p[e]))
			e++;
		memcpy(tmp, p + d, e - d);
		tmp[e - d] = '\0';
		double dv = strtod(tmp, NULL);
		if (!(dv >= 0) || dv > 1.8e19)
			return false;
		v = (uint64_t)dv;
		i = e;
	}
	*pos = i;
	*out = v;
	return true;
}

static void room_ack(struct room *r, uint64_t seq, int64_t now)
{
	if (seq < r->low || seq >= r->pub)
		return;
	r->ring[seq & g.ring_mask]++;
	while (r->low < r->pub && r->ring[r->low & g.ring_mask] >= r->members) {
		r->ring[r->low & g.ring_mask] = 0;
		r->low++;
		r->low_since = now;
	}
}

static void on_delivery(struct client *c, const unsigned char *p, size_t n, int64_t now)
{
	size_t pos = 0;
	uint64_t seq, t;
	if (!find_num(p, n, &pos, "\"seq\":", 6, &seq) || !find_num(p, n, &pos, "\"t\":", 4, &t)) {
		g.error_frames++;
		return;
	}
	g.received++;
	if (!g.first_rx)
		g.first_rx = now;
	g.last_rx = now;
	struct tstat *ts = &g.ts[c->target];
	ts->received++;
	hist_add(&ts->lat, (int64_t)t < now ? (uint64_t)(now - (int64_t)t) : 0);
	bool fresh = true;
	if (seq >= c->next_seq) {
		uint64_t shift = seq - c->next_seq + 1;
		c->seen = shift >= 64 ? 1 : (c->seen << shift) | 1;
		c->next_seq = seq + 1;
	} else {
		uint64_t d = c->next_seq - 1 - seq;
		if (d < 64 && (c->seen >> d) & 1) {
			fresh = false;
			c->dups++;
			g.dups++;
		} else {
			if (d < 64)
				c->seen |= 1ull << d;
			c->ooo++;
			g.ooo++;
		}
	}
	if (fresh) {
		c->unique++;
		if (g.rooms[c->room].ring)
			room_ack(&g.rooms[c->room], seq, now);
	}
}

static void client_ready(struct client *c, int64_t now)
{
	c->state = CS_READY;
	g.inflight--;
	g.ready++;
	g.rooms[c->room].members++;
	g.ts[c->target].conns++;
	g.t_last_ready = now;
	hist_add(&g.conn_lat, (uint64_t)(now - c->t_begin));
}

/* ---------------------------------------------------------------------------------------------- */
/* mqedge / floor: JSON text messages                                                             */

static int send_sub(struct client *c, int64_t now)
{
	char f[160];
	int n = snprintf(f, sizeof f, "{\"op\":\"sub\",\"room\":\"%s\",\"ref\":1}",
			 g.rooms[c->room].name);
	c->state = CS_SUB;
	return client_send_frame(c, 1, f, (size_t)n, now);
}

/* One complete text message. -1 when c was closed. */
static int on_text(struct client *c, const unsigned char *p, size_t n, int64_t now)
{
	const unsigned char *k = memmem(p, n, "\"op\":\"", 6); /* first member in practice */
	if (!k) {
		g.error_frames++;
		return 0;
	}
	const unsigned char *v = k + 6;
	size_t left = n - (size_t)(v - p);
#define OP_IS(s) (left > sizeof(s) - 1 && memcmp(v, s "\"", sizeof(s)) == 0)
	if (OP_IS("msg")) {
		on_delivery(c, p, n, now);
	} else if (OP_IS("welcome")) {
		if (c->state == CS_HELLO) {
			if (o.no_sub)
				client_ready(c, now);
			else
				return send_sub(c, now);
		}
	} else if (OP_IS("ok")) {
		if (c->state == CS_SUB)
			client_ready(c, now);
	} else if (OP_IS("end")) {
		size_t pos = 0;
		uint64_t cnt = 0;
		if (!c->ended && find_num(v, left, &pos, "\"count\":", 8, &cnt)) {
			c->ended = 1;
			g.ended++;
			if (cnt > g.floor_count)
				g.floor_count = cnt;
		}
	} else if (OP_IS("error")) {
		if (c->state != CS_READY) {
			client_close(c, F_PROTO, "error frame: %.*s", (int)(n > 200 ? 200 : n),
				     (const char *)p);
			return -1;
		}
		g.error_frames++;
	}
#undef OP_IS
	return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* mosquitto: MQTT 3.1.1 over WebSocket binary frames                                            */

static size_t mqtt_str(unsigned char *w, const char *s)
{
	size_t n = strlen(s);
	w[0] = (unsigned char)(n >> 8);
	w[1] = (unsigned char)n;
	memcpy(w + 2, s, n);
	return n + 2;
}

static size_t mqtt_varint(unsigned char *w, size_t v)
{
	size_t i = 0;
	do {
		unsigned char d = v & 0x7f;
		v >>= 7;
		w[i++] = (unsigned char)(v ? d | 0x80 : d);
	} while (v);
	return i;
}

/* CONNECT with a clean session; the body is at most 10 + 2 + strlen(id) bytes. */
static size_t mqtt_connect(unsigned char *w, const char *id, unsigned keepalive)
{
	unsigned char body[128];
	size_t b = mqtt_str(body, "MQTT");
	body[b++] = 4;    /* 3.1.1 */
	body[b++] = 0x02; /* clean session */
	body[b++] = (unsigned char)(keepalive >> 8);
	body[b++] = (unsigned char)keepalive;
	b += mqtt_str(body + b, id);
	w[0] = 0x10;
	size_t h = 1 + mqtt_varint(w + 1, b);
	memcpy(w + h, body, b);
	return h + b;
}

static int send_mqtt_connect(struct client *c, int64_t now)
{
	char id[48];
	unsigned char pkt[160];
	snprintf(id, sizeof id, "wsl%d-%u", (int)getpid(), (unsigned)(c - g.cl));
	size_t n = mqtt_connect(pkt, id, o.keepalive);
	c->state = CS_HELLO;
	return client_send_frame(c, 2, pkt, n, now);
}

static int send_mqtt_subscribe(struct client *c, int64_t now)
{
	const struct room *r = &g.rooms[c->room];
	unsigned char pkt[160];
	size_t body = 2 + 2 + r->topic_len + 1;
	pkt[0] = 0x82;
	size_t h = 1 + mqtt_varint(pkt + 1, body);
	pkt[h] = 0;
	pkt[h + 1] = 1; /* packet id */
	size_t b = h + 2 + mqtt_str(pkt + h + 2, r->topic);
	pkt[b++] = 0; /* QoS 0 */
	c->state = CS_SUB;
	return client_send_frame(c, 2, pkt, b, now);
}

/* Parses complete MQTT packets from p[0..n). Returns bytes consumed, -1 when c was closed. */
static long mqtt_parse(struct client *c, const unsigned char *p, size_t n, int64_t now)
{
	size_t off = 0;
	while (n - off >= 2) {
		const unsigned char *q = p + off;
		size_t avail = n - off, i = 1;
		uint32_t rl = 0;
		unsigned shift = 0;
		for (;;) {
			if (i >= avail)
				return (long)off;
			unsigned char d = q[i++];
			rl |= (uint32_t)(d & 0x7f) << shift;
			if (!(d & 0x80))
				break;
			shift += 7;
			if (shift > 21) {
				client_close(c, F_PROTO, "bad MQTT remaining length");
				return -1;
			}
		}
		size_t total = i + rl;
		if (total > o.max_frame) {
			client_close(c, F_PROTO, "MQTT packet of %zu bytes > max-frame", total);
			return -1;
		}
		if (total > avail)
			return (long)off;
		const unsigned char *body = q + i;
		switch (q[0] >> 4) {
		case 3: { /* PUBLISH */
			unsigned qos = (q[0] >> 1) & 3;
			size_t hdr = rl >= 2 ? 2 + ((size_t)body[0] << 8 | body[1]) + (qos ? 2 : 0) : SIZE_MAX;
			if (hdr > rl) {
				client_close(c, F_PROTO, "malformed PUBLISH");
				return -1;
			}
			on_delivery(c, body + hdr, rl - hdr, now);
			break;
		}
		case 2: /* CONNACK */
			if (c->state == CS_HELLO) {
				if (rl < 2 || body[1] != 0) {
					client_close(c, F_PROTO, "CONNACK refused, code %d", rl >= 2 ? body[1] : -1);
					return -1;
				}
				if (o.no_sub)
					client_ready(c, now);
				else if (send_mqtt_subscribe(c, now) < 0)
					return -1;
			}
			break;
		case 9: /* SUBACK */
			if (c->state == CS_SUB) {
				if (rl < 3 || body[rl - 1] == 0x80) {
					client_close(c, F_PROTO, "SUBACK refused");
					return -1;
				}
				client_ready(c, now);
			}
			break;
		default: /* PINGRESP and anything else: nothing to do */
			break;
		}
		off += total;
	}
	return (long)off;
}

/* ---------------------------------------------------------------------------------------------- */
/* permessage-deflate (RFC 7692), receiving side                                                  */

/*
 * Inflates one compressed message p[0..n) into g.zout. With context takeover the client keeps its
 * own raw-inflate stream across messages (its window holds the server's earlier messages); with
 * server_no_context_takeover every message inflates alone, so one shared stream, reset per message,
 * serves every such client. Returns the message's length, -1 when c was closed (bad data, or more
 * than max-frame bytes once inflated).
 */
static long inflate_message(struct client *c, const unsigned char *p, size_t n)
{
	static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff}; /* RFC 7692 7.2.2 */
	z_stream *zs;
	if (c->z_reset) {
		if (!g.zshared_ok) {
			if (inflateInit2(&g.zshared, -15) != Z_OK)
				die("inflateInit2 failed");
			g.zshared_ok = true;
		} else if (inflateReset(&g.zshared) != Z_OK) {
			die("inflateReset failed");
		}
		zs = &g.zshared;
	} else {
		if (!c->zs) {
			c->zs = calloc(1, sizeof *c->zs);
			if (!c->zs || inflateInit2(c->zs, -15) != Z_OK) {
				free(c->zs);
				c->zs = NULL;
				client_close(c, F_PROTO, "inflateInit2 failed (out of memory?)");
				return -1;
			}
		}
		zs = c->zs;
	}
	g.comp_msgs++;
	g.comp_bytes += n;
	zs->next_out = g.zout;
	zs->avail_out = o.max_frame + 1; /* one more than allowed: "too large" is seen */
	for (int part = 0; part < 2; part++) {
		zs->next_in = (unsigned char *)(part ? tail : p);
		zs->avail_in = part ? (uInt)sizeof tail : (uInt)n;
		while (zs->avail_in > 0 && zs->avail_out > 0) {
			int r = inflate(zs, Z_SYNC_FLUSH);
			if (r == Z_STREAM_END) { /* a final block (BFINAL): the next message starts anew */
				if (inflateReset(zs) != Z_OK)
					die("inflateReset failed");
				zs->avail_in = 0;
				part = 1;
				break;
			}
			if (r != Z_OK && r != Z_BUF_ERROR) {
				client_close(c, F_PROTO, "inflate: %s (%d)", zs->msg ? zs->msg : "bad data", r);
				return -1;
			}
			if (r == Z_BUF_ERROR) /* no progress possible */
				break;
		}
	}
	size_t out = (size_t)(zs->next_out - g.zout);
	if (out > o.max_frame || zs->avail_in > 0) {
		client_close(c, F_PROTO, "inflated message > max-frame %u", o.max_frame);
		return -1;
	}
	g.rx_msg += out;
	return (long)out;
}

/* ---------------------------------------------------------------------------------------------- */
/* WebSocket framing (client side)                                                                */

/*
 * Parses the frames in buf[mlen..len) in place. Data payloads are handled where they lie when they
 * form whole messages (the common case), otherwise appended to buf[0..mlen) (fragmented text, MQTT
 * packets split across frames or reads); the unparsed tail is moved down behind them. Everything is
 * bounded by max-frame and g.cap. Returns -1 when c was closed.
 */
static int ws_parse(struct client *c, int64_t now)
{
	unsigned char *b = c->buf;
	uint32_t pos = c->mlen;
	while (c->len - pos >= 2) {
		uint32_t avail = c->len - pos;
		unsigned b0 = b[pos], b1 = b[pos + 1];
		unsigned op = b0 & 0x0f;
		bool fin = b0 & 0x80;
		bool rsv1 = b0 & 0x40;
		/* RSV1 marks the first frame of a compressed message (RFC 7692 6), nothing else */
		if ((b0 & 0x30) || (rsv1 && (!c->deflate || (op != 1 && op != 2)))) {
			client_close(c, F_PROTO, "RSV bits set (0x%02x, opcode %u)", b0 & 0x70, op);
			return -1;
		}
		if (b1 & 0x80) {
			client_close(c, F_PROTO, "masked server frame");
			return -1;
		}
		uint64_t plen = b1 & 0x7f;
		uint32_t hl = 2;
		if (plen == 126) {
			if (avail < 4)
				break;
			plen = (uint64_t)b[pos + 2] << 8 | b[pos + 3];
			hl = 4;
		} else if (plen == 127) {
			if (avail < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | b[pos + 2 + i];
			hl = 10;
		}
		if (plen > o.max_frame) {
			client_close(c, F_PROTO, "frame of %" PRIu64 " bytes > max-frame %u", plen,
				     o.max_frame);
			return -1;
		}
		if (avail < hl + plen) {
			if (c->mlen + hl + plen > g.cap) {
				client_close(c, F_PROTO, "frame does not fit the read buffer");
				return -1;
			}
			break;
		}
		unsigned char *p = b + pos + hl;
		size_t n = (size_t)plen;
		pos += hl + (uint32_t)plen;
		g.rx_ws += hl + plen;
		if (op >= 8) {
			if (!fin || n > 125) {
				client_close(c, F_PROTO, "bad control frame");
				return -1;
			}
			if (op == 0x9) {
				if (client_send_frame(c, 0xA, p, n, now) < 0)
					return -1;
			} else if (op == 0x8) {
				unsigned code = n >= 2 ? (unsigned)p[0] << 8 | p[1] : 1005;
				client_close(c, F_CLOSED, "server closed with %u %.*s", code,
					     n > 2 ? (int)n - 2 : 0, (const char *)p + 2);
				return -1;
			} else if (op != 0xA) {
				client_close(c, F_PROTO, "unknown control opcode %u", op);
				return -1;
			}
			continue;
		}
		if (op == 0) {
			if (!c->in_msg) {
				client_close(c, F_PROTO, "continuation frame outside a message");
				return -1;
			}
		} else if (op == 1 || op == 2) {
			if (c->in_msg) {
				client_close(c, F_PROTO, "data frame inside a fragmented message");
				return -1;
			}
		} else {
			client_close(c, F_PROTO, "reserved opcode %u", op);
			return -1;
		}
		if (op != 0)
			c->in_comp = rsv1;
		c->in_msg = !fin;
		if (c->in_comp) {
			if (o.mode == MODE_MOSQUITTO) { /* Mosquitto never compresses */
				client_close(c, F_PROTO, "compressed MQTT over WebSocket is not supported");
				return -1;
			}
			long m;
			if (fin && c->mlen == 0) {
				m = inflate_message(c, p, n);
			} else { /* gather the compressed fragments, inflate at the last */
				if (c->mlen + n > o.max_frame) {
					client_close(c, F_PROTO, "fragmented message > max-frame");
					return -1;
				}
				memmove(b + c->mlen, p, n);
				c->mlen += (uint32_t)n;
				if (!fin)
					continue;
				m = inflate_message(c, b, c->mlen);
				c->mlen = 0;
			}
			if (m < 0 || on_text(c, g.zout, (size_t)m, now) < 0)
				return -1;
			continue;
		}
		if (o.mode == MODE_MOSQUITTO) {
			long used;
			g.rx_msg += n;
			if (c->mlen == 0) {
				used = mqtt_parse(c, p, n, now);
				if (used < 0)
					return -1;
				memmove(b, p + used, n - (size_t)used);
				c->mlen = (uint32_t)(n - (size_t)used);
			} else {
				memmove(b + c->mlen, p, n);
				c->mlen += (uint32_t)n;
				used = mqtt_parse(c, b, c->mlen, now);
				if (used < 0)
					return -1;
				memmove(b, b + used, c->mlen - (size_t)used);
				c->mlen -= (uint32_t)used;
			}
		} else if (fin && c->mlen == 0) {
			g.rx_msg += n;
			if (on_text(c, p, n, now) < 0)
				return -1;
		} else {
			if (c->mlen + n > o.max_frame) {
				client_close(c, F_PROTO, "fragmented message > max-frame");
				return -1;
			}
			memmove(b + c->mlen, p, n);
			c->mlen += (uint32_t)n;
			if (fin) {
				uint32_t m = c->mlen;
				c->mlen = 0;
				g.rx_msg += m;
				if (on_text(c, b, m, now) < 0)
					return -1;
			}
		}
	}
	memmove(b + c->mlen, b + pos, c->len - pos);
	c->len = c->mlen + (c->len - pos);
	return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Connection set-up                                                                              */

static void ws_key(unsigned idx, char key[25])
{
	unsigned char raw[16];
	uint64_t a = g.key_seed ^ ((uint64_t)idx * 0x9E3779B97F4A7C15ULL), b = idx;
	memcpy(raw, &a, 8);
	memcpy(raw + 8, &b, 8);
	EVP_EncodeBlock((unsigned char *)key, raw, 16);
}

static bool ws_accept(const char *key, char out[29])
{
	char cat[64];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = snprintf(cat, sizeof cat, "%s%s", key, WS_GUID);
	if (!EVP_Digest(cat, (size_t)n, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return false;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return true;
}

static int build_request(char *out, size_t cap, const struct target *t, const char *key)
{
	char host[300];
	bool v6 = strchr(t->host, ':') != NULL;
	snprintf(host, sizeof host, "%s%s%s:%s", v6 ? "[" : "", t->host, v6 ? "]" : "", t->port);
	return snprintf(out, cap,
			"GET %s%s%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s%s"
			"User-Agent: wsload\r\n\r\n",
			o.path, o.token ? (strchr(o.path, '?') ? "&token=" : "?token=") : "",
			o.token ? o.token : "", host, key, o.subprotocol ? "Sec-WebSocket-Protocol: " : "",
			o.subprotocol ? o.subprotocol : "", o.subprotocol ? "\r\n" : "",
			/* exactly what Chrome offers */
			o.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "");
}

static int start_http(struct client *c, int64_t now)
{
	char key[25], req[WBUF_CAP];
	ws_key((unsigned)(c - g.cl), key);
	int n = build_request(req, sizeof req, &o.targets[c->target], key);
	if (n < 0 || (size_t)n >= sizeof req) {
		client_close(c, F_PROTO, "upgrade request too long");
		return -1;
	}
	c->state = CS_HTTP;
	c->t_last_tx = now;
	if (client_queue(c, req, (size_t)n) < 0)
		return -1;
	return client_flush(c);
}

/* --tls-resume: OpenSSL hands over each session (TLS 1.3: each ticket) it gets; keep a copy of the
 * newest. A copy: OpenSSL marks the connection's own session not resumable when the connection is
 * freed without a close_notify, as ours are (a browser keeps its ticket however the connection ended).
 * Returns 0: OpenSSL keeps its reference. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct client *c = SSL_get_app_data(ssl);
	SSL_SESSION *copy = c ? SSL_SESSION_dup(sess) : NULL;
	if (!copy)
		return 0; /* out of memory: this client will do a full handshake */
	if (c->sess)
		SSL_SESSION_free(c->sess);
	c->sess = copy;
	return 0;
}

static int tls_step(struct client *c, int64_t now)
{
	ERR_clear_error();
	int r = SSL_connect(c->ssl);
	if (r == 1) {
		if (SSL_session_reused(c->ssl))
			g.tls_resumed++;
		return start_http(c, now);
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return set_events(c, EPOLLIN);
	if (e == SSL_ERROR_WANT_WRITE)
		return set_events(c, EPOLLIN | EPOLLOUT);
	io_fail(c, "TLS handshake");
	return -1;
}

static int tcp_connected(struct client *c, int64_t now)
{
	int err = 0;
	socklen_t l = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
		err = errno;
	if (err) {
		client_close(c, F_CONNECT, "connect: %s", strerror(err));
		return -1;
	}
	if (!o.tls)
		return start_http(c, now);
	c->ssl = SSL_new(g.ssl_ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set_app_data(c->ssl, c) != 1 ||
	    (c->sess && SSL_set_session(c->ssl, c->sess) != 1)) {
		client_close(c, F_TLS, "SSL_new/SSL_set_fd/SSL_set_session failed");
		return -1;
	}
	struct in6_addr tmp;
	const char *h = o.targets[c->target].host;
	if (inet_pton(AF_INET, h, &tmp) != 1 && inet_pton(AF_INET6, h, &tmp) != 1 &&
	    SSL_set_tlsext_host_name(c->ssl, h) != 1) {
		client_close(c, F_TLS, "SNI failed");
		return -1;
	}
	c->state = CS_TLS;
	return tls_step(c, now);
}

/* Case-insensitive search of a header line "\r\nname:" in h[0..n); returns the value start. */
static const char *find_header(const char *h, size_t n, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i + 2 + nl < n; i++) {
		if (h[i] != '\r' || h[i + 1] != '\n' || strncasecmp(h + i + 2, name, nl) != 0)
			continue;
		size_t v = i + 2 + nl;
		while (v < n && (h[v] == ' ' || h[v] == '\t'))
			v++;
		size_t e = v;
		while (e < n && h[e] != '\r')
			e++;
		*vlen = e - v;
		return h + v;
	}
	return NULL;
}

/*
 * The server's Sec-WebSocket-Extensions answer v[0..n): permessage-deflate with its parameters
 * (RFC 7692 7.1), and only if we offered it. 0 when accepted, -1 when c was closed.
 */
static int accept_extensions(struct client *c, const char *v, size_t n)
{
	char a[160];
	if (!o.deflate || n == 0 || n >= sizeof a || memchr(v, ',', n)) {
		client_close(c, F_HTTP, "extensions not offered or more than one: %.*s",
			     (int)(n > 120 ? 120 : n), v);
		return -1;
	}
	memcpy(a, v, n);
	a[n] = '\0';
	bool first = true, ok = true, no_ctx = false;
	char *save = NULL;
	for (char *t = strtok_r(a, ";", &save); t && ok; t = strtok_r(NULL, ";", &save), first = false) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t tl = strlen(t);
		while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
			t[--tl] = '\0';
		char *eq = strchr(t, '=');
		unsigned bits = 15;
		if (eq) {
			*eq = '\0';
			char *e;
			unsigned long x = strtoul(eq + 1 + (eq[1] == '"'), &e, 10);
			bits = (unsigned)x;
			ok = e != eq + 1 && x >= 8 && x <= 15;
		}
		if (first)
			ok = !strcmp(t, "permessage-deflate") && !eq;
		else if (!strcmp(t, "server_no_context_takeover")) {
			ok = ok && !eq;
			no_ctx = true;
		} else if (!strcmp(t, "client_no_context_takeover"))
			ok = ok && !eq; /* we never compress: nothing to do */
		else if (!strcmp(t, "server_max_window_bits"))
			ok = ok && eq; /* a smaller window inflates with ours (15) */
		else if (!strcmp(t, "client_max_window_bits"))
			ok = ok && (!eq || bits <= 15);
		else
			ok = false;
	}
	if (!ok) {
		client_close(c, F_HTTP, "bad permessage-deflate answer: %.*s", (int)n, v);
		return -1;
	}
	c->deflate = 1;
	c->z_reset = no_ctx;
	if (!g.deflate_clients++)
		snprintf(g.deflate_answer, sizeof g.deflate_answer, "%.*s", (int)n, v);
	return 0;
}

/* The upgrade answer in buf[0..len). 1 when upgraded, 0 when more bytes are needed, -1 closed. */
static int http_response(struct client *c, int64_t now)
{
	const char *h = (const char *)c->buf;
	const char *end = memmem(h, c->len, "\r\n\r\n", 4);
	if (!end) {
		if (c->len >= g.cap) {
			client_close(c, F_HTTP, "upgrade answer too long");
			return -1;
		}
		return 0;
	}
	size_t hlen = (size_t)(end - h) + 4;
	int status = 0;
	if (c->len < 12 || sscanf(h, "HTTP/1.%*d %d", &status) != 1 || status != 101) {
		size_t body = c->len - hlen;
		client_close(c, F_HTTP, "HTTP %d: %.*s", status, (int)(body > 160 ? 160 : body), end + 4);
		return -1;
	}
	char key[25], want[29];
	size_t vlen = 0;
	const char *acc = find_header(h, hlen, "sec-websocket-accept:", &vlen);
	ws_key((unsigned)(c - g.cl), key);
	if (!acc || !ws_accept(key, want) || vlen != 28 || memcmp(acc, want, 28) != 0) {
		client_close(c, F_HTTP, "bad or missing Sec-WebSocket-Accept");
		return -1;
	}
	const char *ext = find_header(h, hlen, "sec-websocket-extensions:", &vlen);
	if (ext && accept_extensions(c, ext, vlen) < 0)
		return -1;
	memmove(c->buf, c->buf + hlen, c->len - hlen);
	c->len -= (uint32_t)hlen;
	c->mlen = 0;
	if (o.mode == MODE_MQEDGE) {
		c->state = CS_HELLO;
	} else if (o.mode == MODE_MOSQUITTO) {
		if (send_mqtt_connect(c, now) < 0)
			return -1;
	} else {
		client_ready(c, now);
	}
	return 1;
}

static void client_read(struct client *c)
{
	for (int iter = 0;; iter++) {
		uint32_t space = g.cap - c->len;
		if (space == 0) {
			client_close(c, F_PROTO, "read buffer full");
			return;
		}
		ssize_t n = io_read(c, c->buf + c->len, space);
		if (n == IO_AGAIN)
			return;
		if (n == 0) {
			client_close(c, F_CLOSED, "connection closed by server");
			return;
		}
		if (n < 0) {
			io_fail(c, "read");
			return;
		}
		c->len += (uint32_t)n;
		g.reads++;
		g.rx_stream += (uint64_t)n;
		int64_t now = mono_ns();
		if (c->state == CS_HTTP) {
			int r = http_response(c, now);
			if (r < 0)
				return;
			if (r == 0)
				continue;
		}
		if (ws_parse(c, now) < 0)
			return;
		/* Plain sockets: level-triggered epoll reports the rest. TLS: drain what OpenSSL holds. */
		if (iter >= 8 && (!c->ssl || SSL_pending(c->ssl) == 0))
			return;
		if (!c->ssl && (uint32_t)n < space)
			return;
	}
}

static void client_event(struct client *c, uint32_t ev)
{
	int64_t now = mono_ns();
	switch (c->state) {
	case CS_TCP:
		tcp_connected(c, now);
		return;
	case CS_TLS:
		tls_step(c, now);
		return;
	case CS_FAILED:
	case CS_CLOSED:
	case CS_NEW:
		return;
	default:
		break;
	}
	if (ev & EPOLLOUT) {
		if (c->tls_rd_out) {
			c->tls_rd_out = 0;
			ev |= EPOLLIN;
		}
		if (client_flush(c) < 0)
			return;
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(c);
}

static void client_start(unsigned i, int64_t now)
{
	struct client *c = &g.cl[i];
	c->fd = -1;
	c->room = i % o.rooms;
	c->target = (uint16_t)((i / o.rooms) % o.ntargets);
	c->t_begin = now;
	c->state = CS_TCP;
	g.inflight++;
	c->buf = malloc((size_t)g.cap + WBUF_CAP);
	if (!c->buf) {
		client_close(c, F_CONNECT, "out of memory");
		return;
	}
	const struct target *t = &o.targets[c->target];
	c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		client_close(c, F_CONNECT, "socket: %s", strerror(errno));
		return;
	}
	int one = 1;
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
		client_close(c, F_CONNECT, "TCP_NODELAY: %s", strerror(errno));
		return;
	}
	struct epoll_event e = {.events = EPOLLOUT, .data.u64 = i};
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &e) != 0) {
		client_close(c, F_CONNECT, "epoll_ctl: %s", strerror(errno));
		return;
	}
	c->events = EPOLLOUT;
	if (connect(c->fd, (const struct sockaddr *)&t->addr, t->alen) != 0 && errno != EINPROGRESS)
		client_close(c, F_CONNECT, "connect: %s", strerror(errno));
	/* connected or in progress: EPOLLOUT reports the outcome */
}

/* ---------------------------------------------------------------------------------------------- */
/* Publisher: MQTT 3.1.1 over TCP to the broker, QoS 0, in the same loop                          */

static void pub_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void pub_fail(const char *fmt, ...)
{
	char msg[240];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	note_error("publisher to %s:%s: %s", o.broker.host, o.broker.port, msg);
	if (g.pfd >= 0 && close(g.pfd) != 0 && errno != EINTR)
		note_error("close: %s", strerror(errno));
	g.pfd = -1;
	g.pst = P_FAILED;
	g.pub_active = false;
}

static void pub_set_events(uint32_t ev)
{
	if (g.pevents == ev || g.pfd < 0)
		return;
	struct epoll_event e = {.events = ev, .data.u64 = PUB_ID};
	if (epoll_ctl(g.ep, EPOLL_CTL_MOD, g.pfd, &e) != 0) {
		pub_fail("epoll_ctl: %s", strerror(errno));
		return;
	}
	g.pevents = ev;
}

static void pub_flush(void)
{
	while (g.pwlen > 0 && g.pfd >= 0) {
		ssize_t n = send(g.pfd, g.pwbuf, g.pwlen, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				pub_set_events(EPOLLIN | EPOLLOUT);
				return;
			}
			pub_fail("send: %s", strerror(errno));
			return;
		}
		memmove(g.pwbuf, g.pwbuf + n, g.pwlen - (size_t)n);
		g.pwlen -= (uint32_t)n;
		g.p_last_tx = mono_ns();
	}
	pub_set_events(EPOLLIN);
}

static void pub_start(void)
{
	g.pwbuf = malloc(PUB_WCAP);
	if (!g.pwbuf)
		die("out of memory");
	g.pfd = socket(o.broker.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g.pfd < 0) {
		pub_fail("socket: %s", strerror(errno));
		return;
	}
	int one = 1;
	if (setsockopt(g.pfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
		pub_fail("TCP_NODELAY: %s", strerror(errno));
		return;
	}
	struct epoll_event e = {.events = EPOLLOUT, .data.u64 = PUB_ID};
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, g.pfd, &e) != 0) {
		pub_fail("epoll_ctl: %s", strerror(errno));
		return;
	}
	g.pevents = EPOLLOUT;
	g.pst = P_TCP;
	if (connect(g.pfd, (const struct sockaddr *)&o.broker.addr, o.broker.alen) != 0 &&
	    errno != EINPROGRESS)
		pub_fail("connect: %s", strerror(errno));
}

static void pub_event(uint32_t ev)
{
	if (g.pst == P_TCP) {
		int err = 0;
		socklen_t l = sizeof err;
		if (getsockopt(g.pfd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
			err = errno;
		if (err) {
			pub_fail("connect: %s", strerror(err));
			return;
		}
		char id[48];
		snprintf(id, sizeof id, "wsload-pub-%d", (int)getpid());
		g.pwlen = (uint32_t)mqtt_connect(g.pwbuf, id, 60);
		g.pst = P_CONNACK;
		pub_flush();
		return;
	}
	if (g.pst == P_FAILED)
		return;
	if (ev & EPOLLOUT)
		pub_flush();
	if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) || g.pfd < 0)
		return;
	ssize_t n = read(g.pfd, g.prbuf + g.prlen, sizeof g.prbuf - g.prlen);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			pub_fail("read: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		pub_fail("broker closed the connection");
		return;
	}
	g.prlen += (uint32_t)n;
	/* The broker only sends us CONNACK and PINGRESP (2-byte bodies at most). */
	while (g.prlen >= 2) {
		unsigned type = g.prbuf[0] >> 4;
		uint32_t rl = g.prbuf[1];
		if (rl & 0x80 || 2 + rl > sizeof g.prbuf) {
			pub_fail("unexpected packet type %u from broker", type);
			return;
		}
		if (g.prlen < 2 + rl)
			break;
		if (type == 2) {
			if (rl < 2 || g.prbuf[3] != 0) {
				pub_fail("CONNACK refused, code %d", rl >= 2 ? g.prbuf[3] : -1);
				return;
			}
			g.pst = P_READY;
		}
		memmove(g.prbuf, g.prbuf + 2 + rl, g.prlen - 2 - rl);
		g.prlen -= 2 + rl;
	}
}

/* Appends one PUBLISH to room r; false when the write buffer has no room for it. */
static bool pub_publish(struct room *r, int64_t now)
{
	size_t plen = payload_write(g.body, sizeof g.body, o.payload, (unsigned)(r - g.rooms), r->pub,
				    now, o.size);
	if (plen == 0)
		die("payload does not fit (--size %u)", o.size);
	size_t rl = 2 + r->topic_len + plen;
	if (1 + 4 + rl > PUB_WCAP - g.pwlen)
		return false;
	unsigned char *w = g.pwbuf + g.pwlen;
	w[0] = 0x30;
	size_t i = 1 + mqtt_varint(w + 1, rl);
	w[i++] = (unsigned char)(r->topic_len >> 8);
	w[i++] = (unsigned char)r->topic_len;
	memcpy(w + i, r->topic, r->topic_len);
	i += r->topic_len;
	memcpy(w + i, g.body, plen);
	i += plen;
	g.pwlen += (uint32_t)i;
	if (r->ring && r->pub == r->low)
		r->low_since = now;
	r->pub++;
	g.published++;
	g.expected += r->members;
	g.payload_bytes += plen;
	return true;
}

/* Publishes what is due; returns the ns to wait before it should run again. */
static int64_t pub_tick(int64_t now)
{
	if (!g.pub_active)
		return INT64_MAX;
	bool rate_mode = o.rate > 0;
	bool over = rate_mode ? g.pub_g >= g.planned || now >= g.t_end + NS_PER_S : now >= g.t_end;
	if (over) {
		g.pub_active = false;
		g.t_pub_done = now;
		return INT64_MAX;
	}
	uint64_t due = UINT64_MAX;
	if (rate_mode) {
		due = (uint64_t)((double)(now - g.t0) * o.rate / 1e9) + 1;
		if (due > g.planned)
			due = g.planned;
	}
	unsigned batch = 0;
	bool stalled = false;
	while (g.pub_g < due && batch < 4096) {
		struct room *r = &g.rooms[g.pub_g % o.rooms];
		if (r->ring && r->pub - r->low >= o.window) {
			if (now - r->low_since > (int64_t)o.loss_timeout_ms * NS_PER_MS) {
				r->ring[r->low & g.ring_mask] = 0; /* give up on it: lost somewhere */
				r->low++;
				r->low_since = now;
				g.loss_giveups++;
				continue;
			}
			stalled = true;
			break;
		}
		if (!pub_publish(r, now)) {
			g.pub_blocked++;
			stalled = true;
			break;
		}
		g.pub_g++;
		batch++;
	}
	if (stalled && !g.pub_stalled)
		g.window_stalls++;
	g.pub_stalled = stalled;
	if (batch)
		pub_flush();
	if (stalled)
		return NS_PER_MS; /* deliveries wake us; the timeout only checks loss and the end */
	if (!rate_mode)
		return batch >= 4096 ? 0 : NS_PER_MS;
	if (g.pub_g >= g.planned)
		return 0;
	int64_t next = g.t0 + (int64_t)((double)g.pub_g * 1e9 / o.rate);
	return next > now ? next - now : 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* The loop                                                                                       */

static int64_t next_house;

static void housekeeping(int64_t now)
{
	if (now < next_house)
		return;
	next_house = now + 250 * NS_PER_MS;
	int64_t tmo = (int64_t)(o.conn_timeout * 1e9);
	int64_t ka = (int64_t)o.keepalive * NS_PER_S / 2;
	for (unsigned i = 0; i < g.launched; i++) {
		struct client *c = &g.cl[i];
		if (c->state >= CS_TCP && c->state < CS_READY && now - c->t_begin > tmo) {
			client_close(c, F_TIMEOUT, "no %s after %.1f s",
				     c->state == CS_TCP ? "TCP connect" : c->state == CS_TLS ? "TLS handshake" :
				     c->state == CS_HTTP ? "101 answer" : c->state == CS_HELLO ?
				     (o.mode == MODE_MOSQUITTO ? "CONNACK" : "welcome") :
				     (o.mode == MODE_MOSQUITTO ? "SUBACK" : "sub ok"), o.conn_timeout);
		} else if (o.mode == MODE_MOSQUITTO && ka > 0 && c->state >= CS_HELLO &&
			   c->state <= CS_READY && now - c->t_last_tx > ka) {
			static const unsigned char pingreq[2] = {0xC0, 0x00};
			client_send_frame(c, 2, pingreq, 2, now);
		}
	}
	if (g.pst == P_READY && g.pwlen == 0 && now - g.p_last_tx > 30 * NS_PER_S) {
		g.pwbuf[0] = 0xC0;
		g.pwbuf[1] = 0x00;
		g.pwlen = 2;
		pub_flush();
	}
}

static void loop_once(int64_t wait_ns)
{
	static struct epoll_event evs[1024];
	int ms = wait_ns <= 0 ? 0 : wait_ns >= 1000 * NS_PER_MS ? 1000 : (int)((wait_ns + NS_PER_MS - 1) / NS_PER_MS);
	int n = epoll_wait(g.ep, evs, 1024, ms);
	if (n < 0) {
		if (errno == EINTR)
			return;
		die("epoll_wait: %s", strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == PUB_ID)
			pub_event(evs[i].events);
		else
			client_event(&g.cl[evs[i].data.u64], evs[i].events);
	}
}

enum phase { PH_PUBCONN, PH_SETUP, PH_IDLE, PH_LOAD, PH_DRAIN, PH_FLOOR };

static bool phase_done(enum phase ph)
{
	switch (ph) {
	case PH_PUBCONN:
		return g.pst == P_READY || g.pst == P_FAILED;
	case PH_SETUP:
		return g.launched == o.conns && g.inflight == 0;
	case PH_IDLE:
		return false;
	case PH_LOAD:
		return !g.pub_active;
	case PH_DRAIN:
		return g.received - g.dups >= g.expected;
	case PH_FLOOR:
		return g.ready > 0 && g.ended >= g.ready - g.disconnects;
	}
	return true;
}

/* Runs the loop until the phase is done or the deadline passes. */
static void run(enum phase ph, int64_t deadline)
{
	for (;;) {
		int64_t now = mono_ns();
		if (ph == PH_SETUP)
			while (g.launched < o.conns && g.inflight < o.concurrency)
				client_start(g.launched++, now);
		int64_t wait = pub_tick(now);
		if (phase_done(ph) || now >= deadline)
			return;
		int64_t quiet = ph == PH_DRAIN ? (g.last_rx > g.t_pub_done ? g.last_rx : g.t_pub_done) :
				ph == PH_FLOOR ? g.last_rx : 0;
		if (quiet && now - quiet > (int64_t)(o.drain * 1e9))
			return; /* nothing arrived for --drain seconds */
		housekeeping(now);
		if (deadline - now < wait)
			wait = deadline - now;
		if (next_house - now < wait)
			wait = next_house - now;
		loop_once(wait);
	}
}

/* ---------------------------------------------------------------------------------------------- */
/* Options parsing                                                                                */

static bool parse_hostport(const char *s, struct target *t, const char *defport)
{
	const char *colon = strrchr(s, ':');
	const char *hs = s, *he;
	if (s[0] == '[') {
		hs = s + 1;
		he = strchr(s, ']');
		if (!he)
			return false;
		colon = he[1] == ':' ? he + 1 : NULL;
	} else {
		he = colon ? colon : s + strlen(s);
	}
	size_t hl = (size_t)(he - hs);
	const char *port = colon ? colon + 1 : defport;
	if (hl == 0 || hl >= sizeof t->host || !port || !*port || strlen(port) >= sizeof t->port)
		return false;
	memcpy(t->host, hs, hl);
	t->host[hl] = '\0';
	snprintf(t->port, sizeof t->port, "%s", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	int r = getaddrinfo(t->host, t->port, &hints, &res);
	if (r != 0)
		die("cannot resolve %s: %s", s, gai_strerror(r));
	memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
	t->alen = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

static unsigned parse_uint(const char *name, const char *v, unsigned lo, unsigned hi)
{
	char *e;
	errno = 0;
	unsigned long x = strtoul(v, &e, 10);
	if (errno || e == v || *e || x < lo || x > hi)
		die("--%s: expected an integer in [%u, %u], got '%s'", name, lo, hi, v);
	return (unsigned)x;
}

static double parse_double(const char *name, const char *v, double lo, double hi)
{
	char *e;
	errno = 0;
	double x = strtod(v, &e);
	if (errno || e == v || *e || !(x >= lo && x <= hi))
		die("--%s: expected a number in [%g, %g], got '%s'", name, lo, hi, v);
	return x;
}

static void usage(FILE *f)
{
	fputs("usage: wsload [options]\n"
	      "  --mode mqedge|mosquitto|floor   client protocol (default mqedge)\n"
	      "  --host H --port P               one target (default 127.0.0.1:8080)\n"
	      "  --targets H:P[,H:P...]          several targets; subscribers of a room alternate\n"
	      "  --path P                        upgrade path (default /ws; /mqtt in mosquitto mode)\n"
	      "  --tls                           wss (certificates are not verified)\n"
	      "  --token T                       appended as ?token=T (mqedge mode)\n"
	      "  --subprotocol S                 offered subprotocol (default: mqtt in mosquitto mode, none otherwise)\n"
	      "  --broker H:P                    MQTT/TCP broker for the publisher (default 127.0.0.1:1883)\n"
	      "  --prefix P                      mqedge topic prefix (default mqedge/v1)\n"
	      "  -n, --conns N                   WebSocket clients (default 100)\n"
	      "  --rooms K                       rooms/topics, clients spread round-robin (default 1)\n"
	      "  --rate R|max                    messages/s over all rooms (default 10)\n"
	      "  --duration S                    publishing time in seconds (default 5)\n"
	      "  --size B                        payload bytes of --payload pad (default 64)\n"
	      "  --payload pad|chat|telemetry    payload: padding, or realistic JSON of 300-1000 bytes (default pad)\n"
	      "  --deflate                       offer permessage-deflate as Chrome does; inflate what comes compressed\n"
	      "  --window W                      max messages in flight per room (default at max rate: 8192/N in [2,16]; off otherwise)\n"
	      "  --loss-timeout-ms MS            window: give up on a message after MS (default 1000)\n"
	      "  --drain S                       after publishing, stop when nothing arrived for S s (default 5)\n"
	      "  --connect-only                  only set up connections, then --hold\n"
	      "  --reconnect                     (connect-only) after the hold, close every connection and set all up again;\n"
	      "                                  the set-up figures are then the reconnect wave's, first_wave the first's\n"
	      "  --tls-resume                    keep each client's TLS session (ticket) and offer it when it connects again\n"
	      "  --hold S                        keep the connections idle S seconds (default 0)\n"
	      "  --no-sub                        do not subscribe (ready at welcome/CONNACK)\n"
	      "  --concurrency C                 connection set-ups in flight (default 500)\n"
	      "  --connect-timeout S             per connection set-up timeout (default 15)\n"
	      "  --min-conns M                   run the load even if only M connected (default N)\n"
	      "  --settle-ms MS                  pause after set-up before sampling RSS / publishing (default 500)\n"
	      "  --server-pid PID                server process to sample (repeatable, up to 8)\n"
	      "  --max-frame B                   largest frame/MQTT packet accepted (default max(4096, size+1024))\n"
	      "  --keepalive S                   MQTT keepalive of the subscribers (default 60; 0 = none)\n"
	      "  --label S                       free text copied into the JSON\n",
	      f);
}

static void parse_args(int argc, char **argv)
{
	enum { O_MODE = 256, O_HOST, O_PORT, O_TARGETS, O_PATH, O_TLS, O_TOKEN, O_SUBPROTO, O_BROKER,
	       O_PREFIX, O_ROOMS, O_RATE, O_DURATION, O_SIZE, O_WINDOW, O_LOSS, O_DRAIN, O_CONNONLY,
	       O_HOLD, O_NOSUB, O_CONC, O_CTMO, O_MINC, O_SETTLE, O_PID, O_MAXFRAME, O_KEEPALIVE,
	       O_LABEL, O_PAYLOAD, O_DEFLATE, O_RESUME, O_RECONNECT, O_HELP };
	static const struct option lo[] = {
		{"mode", 1, 0, O_MODE}, {"host", 1, 0, O_HOST}, {"port", 1, 0, O_PORT},
		{"targets", 1, 0, O_TARGETS}, {"path", 1, 0, O_PATH}, {"tls", 0, 0, O_TLS},
		{"token", 1, 0, O_TOKEN}, {"subprotocol", 1, 0, O_SUBPROTO}, {"broker", 1, 0, O_BROKER},
		{"prefix", 1, 0, O_PREFIX}, {"conns", 1, 0, 'n'}, {"rooms", 1, 0, O_ROOMS},
		{"rate", 1, 0, O_RATE}, {"duration", 1, 0, O_DURATION}, {"size", 1, 0, O_SIZE},
		{"window", 1, 0, O_WINDOW}, {"loss-timeout-ms", 1, 0, O_LOSS}, {"drain", 1, 0, O_DRAIN},
		{"connect-only", 0, 0, O_CONNONLY}, {"hold", 1, 0, O_HOLD}, {"no-sub", 0, 0, O_NOSUB},
		{"concurrency", 1, 0, O_CONC}, {"connect-timeout", 1, 0, O_CTMO},
		{"min-conns", 1, 0, O_MINC}, {"settle-ms", 1, 0, O_SETTLE},
		{"server-pid", 1, 0, O_PID}, {"max-frame", 1, 0, O_MAXFRAME},
		{"keepalive", 1, 0, O_KEEPALIVE}, {"label", 1, 0, O_LABEL}, {"payload", 1, 0, O_PAYLOAD},
		{"deflate", 0, 0, O_DEFLATE}, {"tls-resume", 0, 0, O_RESUME},
		{"reconnect", 0, 0, O_RECONNECT}, {"help", 0, 0, O_HELP},
		{0, 0, 0, 0}};
	const char *host = "127.0.0.1", *port = "8080", *targets = NULL, *broker = "127.0.0.1:1883";
	bool subproto_set = false, min_set = false, maxf_set = false;
	o.mode = MODE_MQEDGE;
	o.prefix = "mqedge/v1";
	o.conns = 100;
	o.rooms = 1;
	o.rate = 10;
	o.duration = 5;
	o.size = 64;
	o.loss_timeout_ms = 1000;
	o.drain = 5;
	o.concurrency = 500;
	o.conn_timeout = 15;
	o.settle_ms = 500;
	o.keepalive = 60;
	int ch;
	while ((ch = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		switch (ch) {
		case O_MODE:
			if (!strcmp(optarg, "mqedge"))
				o.mode = MODE_MQEDGE;
			else if (!strcmp(optarg, "mosquitto"))
				o.mode = MODE_MOSQUITTO;
			else if (!strcmp(optarg, "floor"))
				o.mode = MODE_FLOOR;
			else
				die("--mode: mqedge, mosquitto or floor");
			break;
		case O_HOST: host = optarg; break;
		case O_PORT: port = optarg; break;
		case O_TARGETS: targets = optarg; break;
		case O_PATH: o.path = optarg; break;
		case O_TLS: o.tls = true; break;
		case O_TOKEN: o.token = optarg; break;
		case O_SUBPROTO: o.subprotocol = *optarg ? optarg : NULL; subproto_set = true; break;
		case O_BROKER: broker = optarg; break;
		case O_PREFIX: o.prefix = optarg; break;
		case 'n': o.conns = parse_uint("conns", optarg, 1, 1000000); break;
		case O_ROOMS: o.rooms = parse_uint("rooms", optarg, 1, 1000000); break;
		case O_RATE:
			o.rate = !strcmp(optarg, "max") ? 0 : parse_double("rate", optarg, 1e-3, 1e8);
			break;
		case O_DURATION: o.duration = parse_double("duration", optarg, 0, 86400); break;
		case O_SIZE: o.size = parse_uint("size", optarg, 0, 65536); break;
		case O_PAYLOAD:
			o.payload = payload_kind_parse(optarg);
			if (o.payload < 0)
				die("--payload: pad, chat or telemetry");
			break;
		case O_DEFLATE: o.deflate = true; break;
		case O_RESUME: o.tls_resume = true; break;
		case O_RECONNECT: o.reconnect = true; break;
		case O_WINDOW: o.window = parse_uint("window", optarg, 1, 1u << 20); o.window_set = true; break;
		case O_LOSS: o.loss_timeout_ms = parse_uint("loss-timeout-ms", optarg, 1, 3600000); break;
		case O_DRAIN: o.drain = parse_double("drain", optarg, 0, 3600); break;
		case O_CONNONLY: o.connect_only = true; break;
		case O_HOLD: o.hold = parse_double("hold", optarg, 0, 86400); break;
		case O_NOSUB: o.no_sub = true; break;
		case O_CONC: o.concurrency = parse_uint("concurrency", optarg, 1, 1000000); break;
		case O_CTMO: o.conn_timeout = parse_double("connect-timeout", optarg, 0.001, 3600); break;
		case O_MINC: o.min_conns = parse_uint("min-conns", optarg, 0, 1000000); min_set = true; break;
		case O_SETTLE: o.settle_ms = parse_uint("settle-ms", optarg, 0, 3600000); break;
		case O_PID:
			if (o.npids == MAX_PIDS)
				die("--server-pid: at most %d", MAX_PIDS);
			o.pids[o.npids++] = (pid_t)parse_uint("server-pid", optarg, 1, INT32_MAX);
			break;
		case O_MAXFRAME: o.max_frame = parse_uint("max-frame", optarg, 256, 1u << 26); maxf_set = true; break;
		case O_KEEPALIVE: o.keepalive = parse_uint("keepalive", optarg, 0, 65535); break;
		case O_LABEL: o.label = optarg; break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (!o.path)
		o.path = o.mode == MODE_MOSQUITTO ? "/mqtt" : "/ws";
	if (!subproto_set)
		o.subprotocol = o.mode == MODE_MOSQUITTO ? "mqtt" : NULL;
	if (!min_set || o.min_conns > o.conns)
		o.min_conns = o.conns;
	if (!maxf_set) {
		unsigned big = o.payload == PAYLOAD_PAD ? o.size : PAYLOAD_MAX;
		o.max_frame = big + 1024 > 4096 ? big + 1024 : 4096;
	}
	if (!o.window_set) { /* about 8k deliveries in flight: enough to keep a server busy */
		unsigned w = 8192 / o.conns;
		o.window = w < 2 ? 2 : w > 16 ? 16 : w;
	}
	if (o.reconnect && !o.connect_only)
		die("--reconnect needs --connect-only");
	if (o.tls_resume && !o.tls)
		die("--tls-resume needs --tls");
	if (o.mode == MODE_FLOOR && o.rooms != 1)
		die("--rooms: the floor has one room");
	if (o.rate > 0 && o.rate * o.duration > 1e12)
		die("--rate x --duration too large");
	if (targets) {
		char *dup = strdup(targets), *save = NULL;
		if (!dup)
			die("out of memory");
		for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (o.ntargets == MAX_TARGETS)
				die("--targets: at most %d", MAX_TARGETS);
			if (!parse_hostport(t, &o.targets[o.ntargets++], NULL))
				die("--targets: bad host:port '%s'", t);
		}
		free(dup);
	} else {
		char hp[300];
		snprintf(hp, sizeof hp, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
		if (!parse_hostport(hp, &o.targets[o.ntargets++], NULL))
			die("bad --host/--port");
	}
	if (o.ntargets == 0)
		die("--targets: empty");
	if (!parse_hostport(broker, &o.broker, "1883"))
		die("--broker: bad host:port '%s'", broker);
	char key[25], req[WBUF_CAP];
	memset(key, 'A', 24);
	key[24] = '\0';
	for (unsigned i = 0; i < o.ntargets; i++) {
		int n = build_request(req, sizeof req, &o.targets[i], key);
		if (n < 0 || (size_t)n >= WBUF_CAP - 256)
			die("the upgrade request would be too long (token?)");
	}
}

/* ---------------------------------------------------------------------------------------------- */
/* Report                                                                                         */

static void jnum(FILE *f, const char *k, double v, int prec)
{
	if (isfinite(v))
		fprintf(f, ",\"%s\":%.*f", k, prec, v);
	else
		fprintf(f, ",\"%s\":null", k);
}

static void jstr(FILE *f, const char *k, const char *s)
{
	fprintf(f, ",\"%s\":", k);
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void jhist(FILE *f, const char *k, const struct hist *h, double div)
{
	fprintf(f, ",\"%s\":{\"n\":%" PRIu64, k, h->n);
	if (h->n == 0) {
		fputs(",\"p50\":null,\"p90\":null,\"p99\":null,\"p999\":null,\"max\":null,\"mean\":null}", f);
		return;
	}
	jnum(f, "p50", (double)hist_pct(h, 0.50) / div, 3);
	jnum(f, "p90", (double)hist_pct(h, 0.90) / div, 3);
	jnum(f, "p99", (double)hist_pct(h, 0.99) / div, 3);
	jnum(f, "p999", (double)hist_pct(h, 0.999) / div, 3);
	jnum(f, "max", (double)h->max / div, 3);
	jnum(f, "mean", h->n ? (double)h->sum / (double)h->n / div : NAN, 3);
	fputc('}', f);
}

static double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

/* Bytes received so far: see g.rx_*. */
struct rx_count {
	uint64_t wire, ws, msg, comp_msgs;
};

static struct rx_count rx_now(void)
{
	struct rx_count r = {g.rx_stream, g.rx_ws, g.rx_msg, g.comp_msgs};
	if (o.tls) { /* the TLS records as they came off the sockets */
		r.wire = g.tls_rx_closed;
		for (unsigned i = 0; i < g.launched; i++)
			if (g.cl[i].ssl)
				r.wire += BIO_number_read(SSL_get_rbio(g.cl[i].ssl));
	}
	return r;
}

struct measures {
	struct pstat before[MAX_PIDS], connected[MAX_PIDS], load0[MAX_PIDS], end[MAX_PIDS];
	double tool0, tool_load0, tool_end, sys0, sys_load0, sys_end;
	int64_t t_setup0, t_setup1, t_load0, t_load1;
	long tool_rss;
	bool ran_load;
	struct rx_count rx_load0, rx_end;
};

static double cpu_of(const struct pstat *a, const struct pstat *b)
{
	return a->ok && b->ok ? (b->user + b->sys) - (a->user + a->sys) : NAN;
}

static void report(const struct measures *m, int exit_code)
{
	FILE *f = stdout;
	struct hist lat = {0};
	for (unsigned i = 0; i < o.ntargets; i++)
		hist_merge(&lat, &g.ts[i].lat);
	uint64_t unique = g.received - g.dups;
	uint64_t lost = g.expected > unique ? g.expected - unique : 0;
	unsigned subs_lossy = 0;
	uint64_t worst_missing = 0;
	if (o.mode == MODE_FLOOR)
		g.published = g.floor_count;
	for (unsigned i = 0; i < g.launched; i++) {
		const struct client *c = &g.cl[i];
		if (c->state != CS_READY && c->state != CS_CLOSED)
			continue;
		uint64_t want = o.mode == MODE_FLOOR ? g.floor_count : g.rooms[c->room].pub;
		uint64_t miss = want > c->unique ? want - c->unique : 0;
		if (miss) {
			subs_lossy++;
			if (miss > worst_missing)
				worst_missing = miss;
		}
	}
	if (o.mode == MODE_FLOOR)
		g.expected = g.floor_count * (uint64_t)(g.ready - g.disconnects);
	lost = g.expected > unique ? g.expected - unique : 0;
	double setup_s = (double)(m->t_setup1 - m->t_setup0) / 1e9;
	double win_s = m->ran_load && g.last_rx > 0 && g.first_rx > 0 ?
		(double)(g.last_rx - (o.mode == MODE_FLOOR ? g.first_rx : g.t0)) / 1e9 : NAN;
	double load_s = m->ran_load ? (double)(m->t_load1 - m->t_load0) / 1e9 : NAN;
	double srv_cpu = 0, srv_cpu_setup = 0, rss_before = 0, rss_conn = 0, rss_end = 0;
	bool srv_ok = o.npids > 0;
	for (unsigned i = 0; i < o.npids; i++) {
		srv_cpu += cpu_of(&m->load0[i], &m->end[i]);
		srv_cpu_setup += cpu_of(&m->before[i], &m->connected[i]);
		rss_before += (double)m->before[i].rss_kb;
		rss_conn += (double)m->connected[i].rss_kb;
		rss_end += (double)m->end[i].rss_kb;
		srv_ok = srv_ok && m->before[i].ok && m->connected[i].ok && m->end[i].ok;
	}
	if (!srv_ok)
		srv_cpu = srv_cpu_setup = rss_before = rss_conn = rss_end = NAN;
	if (!m->ran_load)
		srv_cpu = NAN;
	unsigned live = g.ready;
	double dps = ratio((double)g.received, win_s);

	fprintf(f, "{\"tool\":\"wsload\"");
	jstr(f, "mode", mode_names[o.mode]);
	jstr(f, "label", o.label);
	fprintf(f, ",\"tls\":%s,\"targets\":[", o.tls ? "true" : "false");
	for (unsigned i = 0; i < o.ntargets; i++)
		fprintf(f, "%s\"%s:%s\"", i ? "," : "", o.targets[i].host, o.targets[i].port);
	fprintf(f, "],\"conns\":%u,\"rooms\":%u", o.conns, o.rooms);
	if (o.rate > 0)
		jnum(f, "rate", o.rate, 3);
	else
		fputs(",\"rate\":\"max\"", f);
	jnum(f, "duration_s", o.duration, 3);
	fprintf(f, ",\"size\":%u,\"window\":%u,\"connect_only\":%s,\"no_sub\":%s", o.size,
		(o.rate == 0 || o.window_set) && o.mode != MODE_FLOOR ? o.window : 0,
		o.connect_only ? "true" : "false", o.no_sub ? "true" : "false");
	fprintf(f, ",\"ok\":%s,\"exit\":%d", exit_code == 0 ? "true" : "false", exit_code);
	jstr(f, "first_error", g.first_error[0] ? g.first_error : NULL);
	/* set-up */
	fprintf(f, ",\"connected\":%u,\"failed\":%u,\"errors\":{", g.ready, g.failed);
	for (int k = 0; k < F_NKIND; k++)
		fprintf(f, "%s\"%s\":%u", k ? "," : "", fail_names[k], g.fails[k]);
	fputc('}', f);
	jnum(f, "setup_s", setup_s, 4);
	jnum(f, "conns_per_s", ratio(g.ready, setup_s), 1);
	jhist(f, "conn_ms", &g.conn_lat, 1e6);
	fprintf(f, ",\"tls_resume\":%s,\"tls_resumed\":%u,\"reconnect\":%s", o.tls_resume ? "true" : "false",
		g.tls_resumed, o.reconnect ? "true" : "false");
	if (g.wave1.done) {
		fprintf(f, ",\"first_wave\":{\"connected\":%u,\"failed\":%u,\"tls_resumed\":%u", g.wave1.ready,
			g.wave1.failed, g.wave1.resumed);
		jnum(f, "setup_s", g.wave1.setup_s, 4);
		jnum(f, "conns_per_s", ratio(g.wave1.ready, g.wave1.setup_s), 1);
		jnum(f, "server_us_per_conn_setup", ratio(g.wave1.server_cpu_s * 1e6, g.wave1.ready), 3);
		jnum(f, "conn_ms_p50", (double)g.wave1.p50_ns / 1e6, 3);
		jnum(f, "conn_ms_p99", (double)g.wave1.p99_ns / 1e6, 3);
		fputc('}', f);
	} else {
		fputs(",\"first_wave\":null", f);
	}
	/* delivery */
	fprintf(f, ",\"published\":%" PRIu64 ",\"planned\":%" PRIu64 ",\"expected\":%" PRIu64
		   ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"dups\":%" PRIu64 ",\"ooo\":%" PRIu64
		   ",\"subs_with_loss\":%u,\"worst_sub_missing\":%" PRIu64 ",\"disconnects\":%u"
		   ",\"error_frames\":%" PRIu64 ",\"window_stalls\":%" PRIu64 ",\"pub_blocked\":%" PRIu64
		   ",\"loss_giveups\":%" PRIu64,
		g.published, o.mode == MODE_FLOOR ? g.floor_count : g.planned, g.expected, g.received,
		lost, g.dups, g.ooo, subs_lossy, worst_missing, g.disconnects, g.error_frames,
		g.window_stalls, g.pub_blocked, g.loss_giveups);
	jnum(f, "payload_avg", o.mode == MODE_FLOOR ? NAN : ratio((double)g.payload_bytes, (double)g.published), 1);
	/* bytes over the load: from the sockets, as WebSocket frames, as messages */
	jstr(f, "payload", payload_kind_name(o.payload));
	fprintf(f, ",\"deflate_offered\":%s,\"deflate_negotiated\":%u", o.deflate ? "true" : "false",
		g.deflate_clients);
	jstr(f, "deflate_answer", g.deflate_answer[0] ? g.deflate_answer : NULL);
	double rx_wire = NAN, rx_ws = NAN, rx_msg = NAN, comp = NAN;
	if (m->ran_load) {
		rx_wire = (double)(m->rx_end.wire - m->rx_load0.wire);
		rx_ws = (double)(m->rx_end.ws - m->rx_load0.ws);
		rx_msg = (double)(m->rx_end.msg - m->rx_load0.msg);
		comp = (double)(m->rx_end.comp_msgs - m->rx_load0.comp_msgs);
	}
	jnum(f, "compressed_msgs", comp, 0);
	jnum(f, "rx_wire_bytes", rx_wire, 0);
	jnum(f, "rx_ws_bytes", rx_ws, 0);
	jnum(f, "rx_msg_bytes", rx_msg, 0);
	jnum(f, "wire_bytes_per_delivery", ratio(rx_wire, (double)g.received), 1);
	jnum(f, "ws_bytes_per_delivery", ratio(rx_ws, (double)g.received), 1);
	jnum(f, "msg_bytes_per_delivery", ratio(rx_msg, (double)g.received), 1);
	jnum(f, "load_s", load_s, 4);
	jnum(f, "window_s", win_s, 4);
	double pub_s = o.mode == MODE_FLOOR ? win_s : g.t_pub_done > g.t0 ? (double)(g.t_pub_done - g.t0) / 1e9 : NAN;
	jnum(f, "pub_s", pub_s, 4);
	jnum(f, "pub_per_s", ratio((double)g.published, pub_s), 1);
	jnum(f, "deliveries_per_s", dps, 1);
	jhist(f, "lat_us", &lat, 1e3);
	/* server */
	jnum(f, "server_cpu_s", srv_cpu, 3);
	jnum(f, "server_cpu_setup_s", srv_cpu_setup, 3);
	jnum(f, "deliveries_per_server_cpu_s", ratio((double)g.received, srv_cpu), 1);
	jnum(f, "server_us_per_delivery", ratio(srv_cpu * 1e6, (double)g.received), 3);
	jnum(f, "server_us_per_conn_setup", ratio(srv_cpu_setup * 1e6, live), 3);
	jnum(f, "server_rss_kb_before", rss_before, 0);
	jnum(f, "server_rss_kb_connected", rss_conn, 0);
	jnum(f, "server_rss_kb_end", rss_end, 0);
	jnum(f, "kb_per_conn", ratio(rss_conn - rss_before, live), 3);
	fputs(",\"servers\":[", f);
	for (unsigned i = 0; i < o.npids; i++) {
		fprintf(f, "%s{\"pid\":%d", i ? "," : "", (int)o.pids[i]);
		jnum(f, "cpu_s", m->ran_load ? cpu_of(&m->load0[i], &m->end[i]) : NAN, 3);
		jnum(f, "user_s", m->ran_load && m->end[i].ok && m->load0[i].ok ?
				m->end[i].user - m->load0[i].user : NAN, 3);
		jnum(f, "sys_s", m->ran_load && m->end[i].ok && m->load0[i].ok ?
				m->end[i].sys - m->load0[i].sys : NAN, 3);
		jnum(f, "cpu_setup_s", cpu_of(&m->before[i], &m->connected[i]), 3);
		fprintf(f, ",\"rss_kb_before\":%ld,\"rss_kb_connected\":%ld,\"rss_kb_end\":%ld",
			m->before[i].rss_kb, m->connected[i].rss_kb, m->end[i].rss_kb);
		jnum(f, "kb_per_conn", ratio((double)(m->connected[i].rss_kb - m->before[i].rss_kb), live), 3);
		fputc('}', f);
	}
	fputs("],\"per_target\":[", f);
	for (unsigned i = 0; i < o.ntargets; i++) {
		const struct tstat *t = &g.ts[i];
		fprintf(f, "%s{\"target\":\"%s:%s\",\"conns\":%" PRIu64 ",\"received\":%" PRIu64,
			i ? "," : "", o.targets[i].host, o.targets[i].port, t->conns, t->received);
		jnum(f, "p50_us", t->lat.n ? (double)hist_pct(&t->lat, 0.5) / 1e3 : NAN, 3);
		jnum(f, "p99_us", t->lat.n ? (double)hist_pct(&t->lat, 0.99) / 1e3 : NAN, 3);
		fputc('}', f);
	}
	fputc(']', f);
	/* tool */
	jnum(f, "tool_cpu_s", m->ran_load ? m->tool_end - m->tool_load0 : NAN, 3);
	jnum(f, "tool_sys_s", m->ran_load ? m->sys_end - m->sys_load0 : NAN, 3);
	jnum(f, "tool_cpu_total_s", m->tool_end - m->tool0, 3);
	jnum(f, "tool_us_per_delivery", m->ran_load ?
		ratio((m->tool_end - m->tool_load0) * 1e6, (double)g.received) : NAN, 3);
	fprintf(f, ",\"tool_reads\":%" PRIu64 ",\"tool_rss_kb\":%ld}\n", g.reads, m->tool_rss);
	if (fflush(f) != 0)
		exit(2);

	/* human summary */
	fprintf(stderr, "wsload %s%s: %u/%u connected (%u failed) in %.2f s = %.0f conn/s, set-up p50 %.1f ms p99 %.1f ms\n",
		mode_names[o.mode], o.tls ? "+tls" : "", g.ready, o.conns, g.failed, setup_s,
		ratio(g.ready, setup_s), (double)hist_pct(&g.conn_lat, 0.5) / 1e6,
		(double)hist_pct(&g.conn_lat, 0.99) / 1e6);
	if (g.wave1.done)
		fprintf(stderr, "  (the reconnect wave; the first: %u connected in %.2f s, %u resumed; this one: %u resumed)\n",
			g.wave1.ready, g.wave1.setup_s, g.wave1.resumed, g.tls_resumed);
	if (o.npids)
		fprintf(stderr, "  server rss %.0f -> %.0f KB: %.2f KB/conn; set-up cpu %.2f s\n", rss_before,
			rss_conn, ratio(rss_conn - rss_before, live), srv_cpu_setup);
	if (m->ran_load) {
		fprintf(stderr, "  published %" PRIu64 " msgs to %u rooms, %" PRIu64 "/%" PRIu64
				" delivered (lost %" PRIu64 ", dup %" PRIu64 ", ooo %" PRIu64 ", disc %u) = %.0f deliveries/s over %.2f s\n",
			g.published, o.rooms, g.received, g.expected, lost, g.dups, g.ooo, g.disconnects, dps, win_s);
		fprintf(stderr, "  received per delivery: %.1f bytes from the socket, %.1f in WebSocket frames, "
				"%.1f of message (%.0f compressed messages; deflate %s)\n",
			ratio(rx_wire, (double)g.received), ratio(rx_ws, (double)g.received),
			ratio(rx_msg, (double)g.received), comp,
			!o.deflate ? "not offered" : g.deflate_clients ? g.deflate_answer : "declined");
		fprintf(stderr, "  latency us: p50 %.0f p90 %.0f p99 %.0f max %.0f\n",
			(double)hist_pct(&lat, 0.5) / 1e3, (double)hist_pct(&lat, 0.9) / 1e3,
			(double)hist_pct(&lat, 0.99) / 1e3, (double)lat.max / 1e3);
		if (o.npids)
			fprintf(stderr, "  server cpu %.2f s = %.2f us/delivery (%.0f deliveries/cpu-s)\n", srv_cpu,
				ratio(srv_cpu * 1e6, (double)g.received), ratio((double)g.received, srv_cpu));
		fprintf(stderr, "  tool cpu %.2f s (sys %.2f) = %.2f us/delivery, %.1f deliveries/read\n",
			m->tool_end - m->tool_load0, m->sys_end - m->sys_load0,
			ratio((m->tool_end - m->tool_load0) * 1e6, (double)g.received),
			ratio((double)g.received, (double)g.reads));
	}
	if (g.first_error[0])
		fprintf(stderr, "  first error: %s\n", g.first_error);
}

/*
 * --reconnect: notes the first wave's set-up, closes every connection (as a server restart would:
 * all at once), lets the server settle, then sets them all up again. The set-up figures (and the
 * samples "before" and "connected") become the reconnect wave's. With --tls-resume each client
 * offers the session it was given.
 */
static void reconnect_wave(struct measures *m)
{
	g.wave1.done = true;
	g.wave1.ready = g.ready;
	g.wave1.failed = g.failed;
	g.wave1.resumed = g.tls_resumed;
	g.wave1.setup_s = (double)(m->t_setup1 - m->t_setup0) / 1e9;
	g.wave1.server_cpu_s = o.npids ? 0 : NAN;
	for (unsigned i = 0; i < o.npids; i++)
		g.wave1.server_cpu_s += cpu_of(&m->before[i], &m->connected[i]);
	g.wave1.p50_ns = hist_pct(&g.conn_lat, 0.5);
	g.wave1.p99_ns = hist_pct(&g.conn_lat, 0.99);
	for (unsigned i = 0; i < g.launched; i++) {
		struct client *c = &g.cl[i];
		client_release(c);
		SSL_SESSION *sess = c->sess;
		memset(c, 0, sizeof *c);
		c->fd = -1;
		c->sess = sess;
	}
	for (unsigned i = 0; i < o.rooms; i++)
		g.rooms[i].members = 0;
	for (unsigned i = 0; i < o.ntargets; i++)
		g.ts[i].conns = 0;
	g.launched = g.inflight = g.ready = g.failed = g.tls_resumed = g.deflate_clients = 0;
	memset(g.fails, 0, sizeof g.fails);
	memset(&g.conn_lat, 0, sizeof g.conn_lat);
	g.t_last_ready = 0;
	run(PH_IDLE, mono_ns() + (int64_t)o.settle_ms * NS_PER_MS); /* the server sees them go */
	pstat_all(m->before);
	m->t_setup0 = mono_ns();
	run(PH_SETUP, INT64_MAX);
	m->t_setup1 = g.t_last_ready ? g.t_last_ready : mono_ns();
	run(PH_IDLE, mono_ns() + (int64_t)o.settle_ms * NS_PER_MS);
	pstat_all(m->connected);
}

/* ---------------------------------------------------------------------------------------------- */

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("setrlimit: %s", strerror(errno));
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)o.conns + 64)
		die("open-files limit %llu is too low for %u connections",
		    (unsigned long long)rl.rlim_cur, o.conns);
}

static void setup_rooms(void)
{
	g.rooms = calloc(o.rooms, sizeof *g.rooms);
	if (!g.rooms)
		die("out of memory");
	bool windowed = o.mode != MODE_FLOOR && !o.connect_only && (o.rate == 0 || o.window_set);
	uint32_t ring = 1;
	while (ring < o.window)
		ring <<= 1;
	g.ring_mask = ring - 1;
	for (unsigned i = 0; i < o.rooms; i++) {
		struct room *r = &g.rooms[i];
		if (o.rooms == 1)
			snprintf(r->name, sizeof r->name, "bench");
		else
			snprintf(r->name, sizeof r->name, "bench-%u", i);
		int n = o.mode == MODE_MQEDGE ?
			snprintf(r->topic, sizeof r->topic, "%s/room/%s", o.prefix, r->name) :
			snprintf(r->topic, sizeof r->topic, "bench/%s", r->name);
		if (n < 0 || (size_t)n >= sizeof r->topic)
			die("--prefix too long");
		r->topic_len = (uint16_t)n;
		if (windowed) {
			r->ring = calloc(ring, sizeof *r->ring);
			if (!r->ring)
				die("out of memory");
		}
	}
}

int main(int argc, char **argv)
{
	struct measures m = {0};
	parse_args(argc, argv);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal: %s", strerror(errno));
	raise_nofile();
	if (getrandom(&g.rng, sizeof g.rng, 0) != (ssize_t)sizeof g.rng)
		die("getrandom: %s", strerror(errno));
	g.rng |= 1;
	g.key_seed = rng_next();
	g.pfd = -1;
	g.cap = 2 * o.max_frame + 64 > 16384 ? 2 * o.max_frame + 64 : 16384;
	if (o.deflate && !(g.zout = malloc((size_t)o.max_frame + 1)))
		die("out of memory");
	g.cl = calloc(o.conns, sizeof *g.cl);
	g.ts = calloc(o.ntargets, sizeof *g.ts);
	if (!g.cl || !g.ts)
		die("out of memory");
	for (unsigned i = 0; i < o.conns; i++)
		g.cl[i].fd = -1;
	setup_rooms();
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0)
		die("epoll_create1: %s", strerror(errno));
	if (o.tls) {
		g.ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (!g.ssl_ctx)
			die("SSL_CTX_new failed");
		SSL_CTX_set_verify(g.ssl_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(g.ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		if (o.tls_resume) { /* sessions reach on_new_session, no cache of OpenSSL's own */
			SSL_CTX_set_session_cache_mode(g.ssl_ctx, SSL_SESS_CACHE_CLIENT |
							      SSL_SESS_CACHE_NO_INTERNAL_STORE);
			SSL_CTX_sess_set_new_cb(g.ssl_ctx, on_new_session);
		} else {
			SSL_CTX_set_session_cache_mode(g.ssl_ctx, SSL_SESS_CACHE_OFF);
		}
	}
	m.tool0 = tool_cpu(&m.sys0);
	pstat_all(m.before);
	int exit_code = 0;
	bool need_pub = o.mode != MODE_FLOOR && !o.connect_only;

	if (need_pub) { /* first, so a missing broker fails fast */
		pub_start();
		run(PH_PUBCONN, mono_ns() + 10 * NS_PER_S);
		if (g.pst != P_READY) {
			note_error("publisher: no CONNACK from %s:%s", o.broker.host, o.broker.port);
			exit_code = 2;
		}
	}
	m.t_setup0 = mono_ns();
	if (exit_code == 0) {
		run(PH_SETUP, INT64_MAX); /* every set-up ends: ready, failed or timed out */
		m.t_setup1 = g.t_last_ready ? g.t_last_ready : mono_ns();
		if (g.ready < o.min_conns || g.ready == 0)
			exit_code = 2;
	} else {
		m.t_setup1 = m.t_setup0;
	}
	if (exit_code == 0) {
		run(PH_IDLE, mono_ns() + (int64_t)o.settle_ms * NS_PER_MS);
		pstat_all(m.connected);
		if (o.connect_only) {
			run(PH_IDLE, mono_ns() + (int64_t)(o.hold * 1e9));
			if (o.reconnect)
				reconnect_wave(&m);
		} else {
			m.ran_load = true;
			pstat_all(m.load0);
			m.rx_load0 = rx_now();
			m.tool_load0 = tool_cpu(&m.sys_load0);
			m.t_load0 = mono_ns();
			if (o.mode == MODE_FLOOR) {
				run(PH_FLOOR, m.t_load0 + (int64_t)((o.duration + o.drain + 30) * 1e9));
			} else {
				g.t0 = m.t_load0;
				g.t_end = g.t0 + (int64_t)(o.duration * 1e9);
				g.planned = o.rate > 0 ? (uint64_t)ceil(o.rate * o.duration) : 0;
				g.pub_active = true;
				run(PH_LOAD, INT64_MAX);
				/* ends when everything arrived or nothing did for --drain s; in any case
				 * after four times the publishing time plus --drain */
				int64_t now = mono_ns();
				run(PH_DRAIN, now + 4 * (now - g.t0) + (int64_t)(o.drain * 1e9));
				if (g.pst == P_FAILED)
					exit_code = 2;
			}
			m.t_load1 = mono_ns();
		}
	} else {
		pstat_all(m.connected);
	}
	pstat_all(m.end);
	m.rx_end = rx_now();
	m.tool_end = tool_cpu(&m.sys_end);
	m.tool_rss = tool_rss_kb();
	if (g.ready > 0 && g.ready < o.conns && exit_code == 0)
		fprintf(stderr, "wsload: only %u of %u connected (--min-conns %u)\n", g.ready, o.conns,
			o.min_conns);
	if (o.reconnect && exit_code == 0 && (g.ready < o.min_conns || g.ready == 0))
		exit_code = 2;
	report(&m, exit_code);
	for (unsigned i = 0; i < o.conns; i++) {
		client_release(&g.cl[i]);
		if (g.cl[i].sess)
			SSL_SESSION_free(g.cl[i].sess);
	}
	if (g.pfd >= 0 && close(g.pfd) != 0)
		fprintf(stderr, "wsload: close: %s\n", strerror(errno));
	if (close(g.ep) != 0)
		fprintf(stderr, "wsload: close: %s\n", strerror(errno));
	if (g.ssl_ctx)
		SSL_CTX_free(g.ssl_ctx);
	if (g.zshared_ok)
		inflateEnd(&g.zshared);
	free(g.zout);
	return exit_code;
}
