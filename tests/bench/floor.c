/*
 * floor.c — the physical floor for the mqedge benchmarks.
 *
 * Owns: one epoll loop that accepts WebSocket clients, answers the upgrade (101), reads and
 * discards whatever they send, and, once --conns clients are upgraded, generates messages at
 * --rate for --duration: per message it builds ONE text frame shaped like an mqedge "msg" frame
 * (payload {"seq":S,"t":MONOTONIC_NS,"pad":"x..."}, or the chat or telemetry JSON of payload.h, the
 * same bytes wsload publishes) and does exactly one send() of it to each client.
 * It ends the round with {"op":"end","count":C}. Nothing else: no queues (the unsent tail of the
 * current frame is the only per-client state; the next message waits until every tail is flushed),
 * no parsing of client frames, no timers but the generator. Its CPU per delivery is the floor every
 * edge is compared against. Must not touch: anything but its own sockets.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "payload.h"

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
#define HBUF 2048
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum cstate { C_FREE, C_HTTP, C_UPGRADING, C_WS };
enum round { R_WAIT, R_DELAY, R_RUN, R_ENDING };

struct conn {
	uint8_t state;
	uint32_t live_idx;          /* index in g.live while C_WS */
	uint32_t hlen;              /* C_HTTP: bytes in hbuf */
	char *hbuf;                 /* request, then the 101 answer; freed once upgraded */
	const unsigned char *out;   /* unsent tail: into hbuf (101) or g.frame */
	uint32_t out_len;
	uint32_t events;
};

static struct {
	const char *bind;
	unsigned port, conns, size, start_delay_ms, rounds;
	int payload;                /* enum payload_kind */
	double rate, duration; /* rate 0 = max */
} o;

static struct {
	int ep, lfd;
	struct conn *c;             /* indexed by fd */
	unsigned maxfd;
	int *live;
	unsigned nlive, blocked;    /* blocked: clients with an unsent tail of g.frame */
	enum round round;
	unsigned rounds_done;
	int64_t t_start, t0, t_end;
	uint64_t seq, planned, deliveries, partial, closed_early;
	int64_t bcast_ns, bcast_max;  /* wall time of the broadcasts: total, longest */
	double cpu0;
	unsigned char *frame;       /* 10 bytes of header room, then the text */
	const unsigned char *msg;   /* the current frame: header + text, inside frame */
	size_t frame_len, frame_cap;
	char body[65536 + 128];     /* the current payload */
} g;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("floor: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static double cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		die("getrusage: %s", strerror(errno));
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void set_events(int fd, uint32_t ev)
{
	struct conn *c = &g.c[fd];
	if (c->events == ev)
		return;
	struct epoll_event e = {.events = ev, .data.fd = fd};
	if (epoll_ctl(g.ep, EPOLL_CTL_MOD, fd, &e) != 0)
		die("epoll_ctl: %s", strerror(errno));
	c->events = ev;
}

static void conn_close(int fd)
{
	struct conn *c = &g.c[fd];
	if (c->state == C_WS) {
		unsigned i = c->live_idx;
		g.live[i] = g.live[--g.nlive];
		g.c[g.live[i]].live_idx = i;
		if (g.round == R_RUN || g.round == R_DELAY)
			g.closed_early++;
	}
	if (c->out_len && c->state == C_WS)
		g.blocked--;
	free(c->hbuf);
	memset(c, 0, sizeof *c);
	if (close(fd) != 0 && errno != EINTR)
		die("close: %s", strerror(errno));
}

/* Sends out[0..n) once; keeps the unsent tail. false when the connection was closed. */
static bool conn_send(int fd, const unsigned char *out, size_t n)
{
	struct conn *c = &g.c[fd];
	ssize_t r = send(fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(fd);
			return false;
		}
		r = 0;
	}
	if ((size_t)r < n) {
		c->out = out + r;
		c->out_len = (uint32_t)(n - (size_t)r);
		set_events(fd, EPOLLIN | EPOLLOUT);
	}
	return true;
}

static void on_upgraded(int fd)
{
	struct conn *c = &g.c[fd];
	free(c->hbuf);
	c->hbuf = NULL;
	if (g.round != R_WAIT) { /* a round is under way: no late joiners */
		conn_close(fd);
		return;
	}
	c->state = C_WS;
	c->live_idx = g.nlive;
	g.live[g.nlive++] = fd;
	if (g.nlive == o.conns) {
		g.round = R_DELAY;
		g.t_start = clock_ns(CLOCK_MONOTONIC) + (int64_t)o.start_delay_ms * NS_PER_MS;
	}
}

/* A complete request sits in hbuf: answer 101 (or 400 and close). */
static void on_request(int fd)
{
	struct conn *c = &g.c[fd];
	const char *key = NULL;
	size_t klen = 0;
	for (size_t i = 0; i + 20 < c->hlen; i++) {
		if (c->hbuf[i] == '\n' && strncasecmp(c->hbuf + i + 1, "sec-websocket-key:", 18) == 0) {
			key = c->hbuf + i + 19;
			while (*key == ' ' || *key == '\t')
				key++;
			while (key[klen] && key[klen] != '\r' && key[klen] != '\n' && key[klen] != ' ')
				klen++;
			break;
		}
	}
	char cat[128], acc[32];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!key || klen == 0 || klen > 64) {
		static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		if (send(fd, bad, sizeof bad - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			fprintf(stderr, "floor: send 400: %s\n", strerror(errno));
		conn_close(fd);
		return;
	}
	int n = snprintf(cat, sizeof cat, "%.*s%s", (int)klen, key, WS_GUID);
	if (!EVP_Digest(cat, (size_t)n, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		die("EVP_Digest(sha1) failed");
	EVP_EncodeBlock((unsigned char *)acc, md, 20);
	n = snprintf(c->hbuf, HBUF,
		     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
	c->state = C_UPGRADING;
	if (!conn_send(fd, (const unsigned char *)c->hbuf, (size_t)n))
		return;
	if (c->out_len == 0)
		on_upgraded(fd);
}

static void on_readable(int fd)
{
	static char scratch[65536];
	struct conn *c = &g.c[fd];
	if (c->state == C_HTTP) {
		ssize_t r = read(fd, c->hbuf + c->hlen, HBUF - 1 - c->hlen);
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				conn_close(fd);
			return;
		}
		if (r == 0 || c->hlen + (uint32_t)r >= HBUF - 1) { /* closed, or request too long */
			conn_close(fd);
			return;
		}
		c->hlen += (uint32_t)r;
		c->hbuf[c->hlen] = '\0';
		if (strstr(c->hbuf, "\r\n\r\n"))
			on_request(fd);
		return;
	}
	ssize_t r = read(fd, scratch, sizeof scratch); /* client frames are ignored */
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		conn_close(fd);
}

static void on_writable(int fd)
{
	struct conn *c = &g.c[fd];
	if (c->out_len == 0) {
		set_events(fd, EPOLLIN);
		return;
	}
	ssize_t r = send(fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(fd);
		return;
	}
	c->out += r;
	c->out_len -= (uint32_t)r;
	if (c->out_len)
		return;
	set_events(fd, EPOLLIN);
	if (c->state == C_UPGRADING)
		on_upgraded(fd);
	else
		g.blocked--;
}

static void on_accept(void)
{
	for (;;) {
		int fd = accept4(g.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			die("accept4: %s", strerror(errno));
		}
		if ((unsigned)fd >= g.maxfd)
			die("fd %d beyond the open-files limit", fd);
		struct conn *c = &g.c[fd];
		c->hbuf = malloc(HBUF);
		if (!c->hbuf)
			die("out of memory");
		c->state = C_HTTP;
		c->events = EPOLLIN;
		struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
		if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &e) != 0)
			die("epoll_ctl: %s", strerror(errno));
	}
}

/* Builds the text frame for one JSON text in g.frame. */
static void build_frame(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void build_frame(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf((char *)g.frame + 10, g.frame_cap - 10, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= g.frame_cap - 10)
		die("frame too large");
	size_t len = (size_t)n, hl = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
	unsigned char *h = g.frame + 10 - hl; /* the header goes right before the text */
	h[0] = 0x81;
	if (hl == 2) {
		h[1] = (unsigned char)len;
	} else if (hl == 4) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	g.msg = h;
	g.frame_len = hl + len;
}

/* One send() of g.frame to each client. */
static void broadcast(void)
{
	for (unsigned i = g.nlive; i-- > 0;) { /* downwards: a close swaps the last into i */
		int fd = g.live[i];
		if (!conn_send(fd, g.msg, g.frame_len))
			continue;
		g.deliveries++;
		if (g.c[fd].out_len) {
			g.partial++;
			g.blocked++;
		}
	}
}

static void finish_round(int64_t now)
{
	double cpu = cpu_s() - g.cpu0, secs = (double)(now - g.t0) / 1e9;
	fprintf(stderr, "floor: %u clients, %" PRIu64 " msgs, %" PRIu64 " deliveries in %.2f s = %.0f/s, "
			"cpu %.3f s = %.3f us/delivery, %" PRIu64 " partial sends, %" PRIu64 " closed early, "
			"one broadcast %.2f ms on average, %.2f ms at most\n",
		g.nlive, g.seq, g.deliveries, secs, (double)g.deliveries / secs, cpu,
		g.deliveries ? cpu * 1e6 / (double)g.deliveries : 0.0, g.partial, g.closed_early,
		g.seq ? (double)g.bcast_ns / 1e6 / (double)g.seq : 0.0, (double)g.bcast_max / 1e6);
	printf("{\"tool\":\"floor\",\"conns\":%u,\"msgs\":%" PRIu64 ",\"deliveries\":%" PRIu64
	       ",\"seconds\":%.4f,\"deliveries_per_s\":%.1f,\"cpu_s\":%.4f,\"us_per_delivery\":%.4f"
	       ",\"partial_sends\":%" PRIu64 ",\"closed_early\":%" PRIu64 ",\"size\":%u,\"payload\":\"%s\""
	       ",\"bcast_ms_avg\":%.3f,\"bcast_ms_max\":%.3f}\n",
	       g.nlive, g.seq, g.deliveries, secs, (double)g.deliveries / secs, cpu,
	       g.deliveries ? cpu * 1e6 / (double)g.deliveries : 0.0, g.partial, g.closed_early, o.size,
	       payload_kind_name(o.payload), g.seq ? (double)g.bcast_ns / 1e6 / (double)g.seq : 0.0, (double)g.bcast_max / 1e6);
	if (fflush(stdout) != 0)
		die("stdout: %s", strerror(errno));
}

/* Runs the generator; returns the ns to wait before it wants to run again. */
static int64_t gen_tick(void)
{
	int64_t now = clock_ns(CLOCK_MONOTONIC);
	if (g.round == R_DELAY) {
		if (now < g.t_start)
			return g.t_start - now;
		g.round = R_RUN;
		g.t0 = now;
		g.t_end = now + (int64_t)(o.duration * 1e9);
		g.seq = g.deliveries = g.partial = 0;
		g.bcast_ns = g.bcast_max = 0;
		g.planned = o.rate > 0 ? (uint64_t)(o.rate * o.duration + 0.999999) : 0;
		g.cpu0 = cpu_s();
	}
	if (g.round != R_RUN)
		return INT64_MAX;
	for (unsigned batch = 0; batch < 256; batch++) {
		if (g.blocked) /* some client still has the previous frame's tail: EPOLLOUT resumes us */
			return INT64_MAX;
		bool done = o.rate > 0 ? g.seq >= g.planned : now >= g.t_end;
		if (done || g.nlive == 0) {
			finish_round(now);
			build_frame("{\"op\":\"end\",\"count\":%" PRIu64 "}", g.seq);
			broadcast();
			g.round = R_ENDING;
			return INT64_MAX;
		}
		if (o.rate > 0) {
			int64_t due = g.t0 + (int64_t)((double)g.seq * 1e9 / o.rate);
			if (due > now)
				return due - now;
		}
		int64_t ms = clock_ns(CLOCK_REALTIME) / NS_PER_MS;
		size_t plen = payload_write(g.body, sizeof g.body, o.payload, 0, g.seq, now, o.size);
		if (plen == 0)
			die("payload does not fit");
		int64_t b0 = now;
		build_frame("{\"op\":\"msg\",\"id\":\"floor.1.%" PRIx64 "\",\"room\":\"bench\",\"ts\":%" PRId64
			    ",\"data\":%.*s}", g.seq, ms, (int)plen, g.body);
		broadcast();
		g.seq++;
		now = clock_ns(CLOCK_MONOTONIC);
		g.bcast_ns += now - b0;
		if (now - b0 > g.bcast_max)
			g.bcast_max = now - b0;
	}
	return 0;
}

static double parse_num(const char *name, const char *v, double lo, double hi)
{
	char *e;
	errno = 0;
	double x = strtod(v, &e);
	if (errno || e == v || *e || !(x >= lo && x <= hi))
		die("--%s: expected a number in [%g, %g], got '%s'", name, lo, hi, v);
	return x;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{"bind", 1, 0, 'b'}, {"port", 1, 0, 'p'}, {"conns", 1, 0, 'n'}, {"rate", 1, 0, 'r'},
		{"duration", 1, 0, 'd'}, {"size", 1, 0, 's'}, {"start-delay-ms", 1, 0, 'D'},
		{"rounds", 1, 0, 'R'}, {"payload", 1, 0, 'P'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	o.bind = "127.0.0.1";
	o.port = 9100;
	o.conns = 100;
	o.rate = 10;
	o.duration = 5;
	o.size = 64;
	o.start_delay_ms = 1000;
	o.rounds = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "b:p:n:r:d:s:D:R:P:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'b': o.bind = optarg; break;
		case 'p': o.port = (unsigned)parse_num("port", optarg, 1, 65535); break;
		case 'n': o.conns = (unsigned)parse_num("conns", optarg, 1, 1e6); break;
		case 'r': o.rate = !strcmp(optarg, "max") ? 0 : parse_num("rate", optarg, 1e-3, 1e8); break;
		case 'd': o.duration = parse_num("duration", optarg, 0, 86400); break;
		case 's': o.size = (unsigned)parse_num("size", optarg, 0, 65536); break;
		case 'P':
			o.payload = payload_kind_parse(optarg);
			if (o.payload < 0)
				die("--payload: pad, chat or telemetry");
			break;
		case 'D': o.start_delay_ms = (unsigned)parse_num("start-delay-ms", optarg, 0, 3.6e6); break;
		case 'R': o.rounds = (unsigned)parse_num("rounds", optarg, 0, 1e6); break;
		case 'h':
			puts("usage: floor [--bind 127.0.0.1] [--port 9100] [--conns N] [--rate R|max]\n"
			     "             [--duration S] [--size B] [--payload pad|chat|telemetry]\n"
			     "             [--start-delay-ms MS] [--rounds K (0 = forever)]");
			exit(0);
		default:
			exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal: %s", strerror(errno));
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("setrlimit: %s", strerror(errno));
	g.maxfd = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576 ? 1048576 : (unsigned)rl.rlim_cur;
	if (g.maxfd < o.conns + 16)
		die("open-files limit %u is too low for %u connections", g.maxfd, o.conns);
	g.c = calloc(g.maxfd, sizeof *g.c);
	g.live = calloc(g.maxfd, sizeof *g.live);
	g.frame_cap = (size_t)(o.size > PAYLOAD_MAX ? o.size : PAYLOAD_MAX) + 512;
	g.frame = malloc(g.frame_cap);
	if (!g.c || !g.live || !g.frame)
		die("out of memory");

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
	if (inet_pton(AF_INET, o.bind, &sa.sin_addr) != 1)
		die("--bind: not an IPv4 address: %s", o.bind);
	g.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (g.lfd < 0 || setsockopt(g.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(g.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(g.lfd, 4096) != 0)
		die("listen on %s:%u: %s", o.bind, o.port, strerror(errno));
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0)
		die("epoll_create1: %s", strerror(errno));
	struct epoll_event le = {.events = EPOLLIN, .data.fd = g.lfd};
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, g.lfd, &le) != 0)
		die("epoll_ctl: %s", strerror(errno));
	fprintf(stderr, "floor: listening on %s:%u, waiting for %u clients\n", o.bind, o.port, o.conns);

	static struct epoll_event evs[1024];
	for (;;) {
		int64_t wait = gen_tick();
		if (g.round == R_ENDING && g.nlive == 0) { /* every client went away: round over */
			g.round = R_WAIT;
			if (o.rounds && ++g.rounds_done >= o.rounds)
				break;
		}
		int ms = wait == INT64_MAX ? 1000 : wait <= 0 ? 0 :
			 wait >= 1000 * NS_PER_MS ? 1000 : (int)((wait + NS_PER_MS - 1) / NS_PER_MS);
		int n = epoll_wait(g.ep, evs, 1024, ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == g.lfd) {
				on_accept();
				continue;
			}
			if (g.c[fd].state == C_FREE)
				continue; /* closed earlier in this batch */
			if (evs[i].events & EPOLLOUT)
				on_writable(fd);
			if (g.c[fd].state != C_FREE && evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(fd);
		}
	}
	if (close(g.lfd) != 0 || close(g.ep) != 0)
		die("close: %s", strerror(errno));
	return 0;
}
