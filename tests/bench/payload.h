/*
 * payload.h — the benchmark payloads, shared by wsload (the publisher) and floor (its generator), so
 * every system of one scenario carries the same bytes.
 *
 * Owns: three payload kinds, each a JSON object that opens with "seq" and "t" (what the load tool
 * finds in every delivery):
 *   pad        {"seq":S,"t":T,"pad":"xxx…"} padded to a given size (the original benchmark payload);
 *   chat       a chat message: sender, text made of common words, mentions, flags;
 *   telemetry  a device reading: ids, firmware, battery, signal, then named sensor readings.
 * chat and telemetry are realistic JSON of 300–1,000 bytes, generated deterministically from (room,
 * seq): the same room and seq give the same bytes in every system and every run (only "t" differs),
 * so compression ratios are comparable side by side. Must not: allocate, or depend on anything but
 * its arguments.
 */
#ifndef MQEDGE_BENCH_PAYLOAD_H
#define MQEDGE_BENCH_PAYLOAD_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum payload_kind { PAYLOAD_PAD, PAYLOAD_CHAT, PAYLOAD_TELEMETRY };

#define PAYLOAD_MIN 300u	/* chat and telemetry lengths lie in [PAYLOAD_MIN, PAYLOAD_MAX] */
#define PAYLOAD_MAX 1000u

/* "pad", "chat" or "telemetry" → kind; -1 for anything else. */
static inline int payload_kind_parse(const char *s)
{
	return !strcmp(s, "pad") ? PAYLOAD_PAD : !strcmp(s, "chat") ? PAYLOAD_CHAT :
	       !strcmp(s, "telemetry") ? PAYLOAD_TELEMETRY : -1;
}

static inline const char *payload_kind_name(int k)
{
	return k == PAYLOAD_CHAT ? "chat" : k == PAYLOAD_TELEMETRY ? "telemetry" : "pad";
}

/* splitmix64: one well-mixed word per call */
static inline uint64_t payload__next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

struct payload__buf {
	char *p;
	size_t cap, len;
	int overflow;
};

static inline void payload__add(struct payload__buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void payload__add(struct payload__buf *b, const char *fmt, ...)
{
	if (b->overflow)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->overflow = 1;
		return;
	}
	b->len += (size_t)n;
}

static const char *const payload__first[] = {
	"Maria", "James", "Aiko", "Lukas", "Priya", "Omar", "Sofia", "Chen", "Fatima", "Noah",
	"Elena", "Kwame", "Ingrid", "Mateo", "Yuki", "Amara", "Pavel", "Chloe", "Ravi", "Leila"};
static const char *const payload__last[] = {
	"Lopez", "Smith", "Tanaka", "Weber", "Sharma", "Haddad", "Rossi", "Wang", "Okafor", "Brown",
	"Petrova", "Mensah", "Larsen", "Garcia", "Sato", "Diallo", "Novak", "Martin", "Iyer", "Karimi"};
static const char *const payload__words[] = {
	"the", "a", "to", "and", "of", "in", "is", "it", "for", "on", "that", "this", "we", "you",
	"I", "be", "with", "have", "at", "not", "are", "can", "will", "just", "so", "but", "if",
	"meeting", "deploy", "build", "today", "tomorrow", "release", "review", "please", "thanks",
	"looks", "good", "ready", "again", "after", "before", "lunch", "call", "team", "update",
	"issue", "fixed", "branch", "server", "client", "test", "tests", "failing", "green", "merge",
	"ship", "back", "minutes", "later", "now", "know", "think", "sure", "let", "me", "check",
	"sounds", "great", "agenda", "notes", "slides", "customer", "demo", "friday", "monday",
	"weekend", "coffee", "office", "remote", "link", "doc", "draft", "numbers", "latency",
	"dashboard", "alert", "on-call", "rollback", "config", "staging", "production", "ticket",
	"question", "answer", "idea", "plan", "budget", "design", "feedback", "yes", "no", "maybe"};
static const char *const payload__sensors[][2] = {
	{"temperature", "C"}, {"humidity", "%"}, {"pressure", "hPa"}, {"co2", "ppm"},
	{"voc", "ppb"}, {"pm2_5", "ug/m3"}, {"pm10", "ug/m3"}, {"noise", "dB"},
	{"light", "lx"}, {"voltage", "V"}, {"current", "A"}, {"power", "W"},
	{"flow", "l/min"}, {"vibration", "mm/s"}, {"rpm", "1/min"}, {"level", "%"}};
#define PAYLOAD__N(a) (sizeof(a) / sizeof((a)[0]))

static inline size_t payload__chat(struct payload__buf *b, uint64_t *s, size_t target)
{
	uint64_t r = payload__next(s);
	unsigned uid = (unsigned)(r % 5000);
	const char *first = payload__first[(r >> 16) % PAYLOAD__N(payload__first)];
	const char *last = payload__last[(r >> 24) % PAYLOAD__N(payload__last)];
	payload__add(b, ",\"type\":\"chat\",\"from\":{\"id\":\"u%04u\",\"name\":\"%s %s\","
		     "\"avatar\":\"https://cdn.example.com/avatars/u%04u.png\"},\"text\":\"",
		     uid, first, last, uid);
	/* the tail after the text is 60-110 bytes */
	size_t words = 0;
	while (!b->overflow && (words < 4 || b->len + 120 < target)) {
		uint64_t w = payload__next(s);
		const char *word = payload__words[w % PAYLOAD__N(payload__words)];
		payload__add(b, "%s%s%s", words ? " " : "", word, (w >> 32) % 11 == 0 ? "," : "");
		words++;
	}
	uint64_t m = payload__next(s);
	payload__add(b, ".\",\"lang\":\"en\",\"mentions\":[");
	for (unsigned i = 0; i < (unsigned)(m % 3); i++)
		payload__add(b, "%s\"u%04u\"", i ? "," : "", (unsigned)((m >> (8 + 12 * i)) % 5000));
	payload__add(b, "],\"reply_to\":%s%" PRIu64 "%s,\"edited\":%s,\"attachments\":%u}",
		     (m >> 40) % 4 == 0 ? "\"m-" : "", (m >> 40) % 4 == 0 ? (m >> 44) % 100000 : 0,
		     (m >> 40) % 4 == 0 ? "\"" : "", (m >> 50) % 9 == 0 ? "true" : "false",
		     (unsigned)((m >> 56) % 2));
	return b->len;
}

static inline size_t payload__telemetry(struct payload__buf *b, uint64_t *s, uint64_t seq, size_t target)
{
	uint64_t r = payload__next(s);
	unsigned dev = (unsigned)(r % 10000);
	payload__add(b, ",\"type\":\"telemetry\",\"device\":\"sensor-%04u\",\"site\":\"plant-%u\","
		     "\"fw\":\"2.%u.%u\",\"uptime_s\":%" PRIu64 ",\"battery\":%u,\"rssi\":%d,"
		     "\"status\":\"%s\",\"readings\":[",
		     dev, (unsigned)((r >> 16) % 12), (unsigned)((r >> 20) % 9), (unsigned)((r >> 24) % 20),
		     86400 + seq * 5 + (r >> 28) % 1000, 20 + (unsigned)((r >> 40) % 81),
		     -40 - (int)((r >> 48) % 60), (r >> 56) % 17 == 0 ? "degraded" : "ok");
	unsigned i = 0;
	/* one reading is at most ~70 bytes, the close 3 */
	while (!b->overflow && b->len + 75 < target) {
		uint64_t v = payload__next(s);
		unsigned k = (i + (unsigned)(r >> 8)) % (unsigned)PAYLOAD__N(payload__sensors);
		const char *const *sen = payload__sensors[k];
		/* a value near the sensor's usual level, as real readings drift */
		unsigned whole = 10 + k * 37 % 900 + (unsigned)(v % 7);
		unsigned frac = (unsigned)((v >> 20) % 100);
		payload__add(b, "%s{\"name\":\"%s\",\"value\":%u.%02u,\"unit\":\"%s\",\"ok\":%s}",
			     i ? "," : "", sen[0], whole, frac, sen[1], (v >> 40) % 29 == 0 ? "false" : "true");
		i++;
	}
	payload__add(b, "]}");
	return b->len;
}

/*
 * Writes the payload of message `seq` of room `room` (t: the send time, CLOCK_MONOTONIC ns) into
 * out[0..cap); `size` is the length of a pad payload (ignored by chat and telemetry). Returns its
 * length, or 0 when it does not fit (cap >= PAYLOAD_MAX + 1 always fits chat and telemetry).
 */
static inline size_t payload_write(char *out, size_t cap, int kind, unsigned room, uint64_t seq,
				   int64_t t, size_t size)
{
	struct payload__buf b = {out, cap, 0, 0};
	payload__add(&b, "{\"seq\":%" PRIu64 ",\"t\":%" PRId64, seq, t);
	if (kind == PAYLOAD_PAD) {
		payload__add(&b, ",\"pad\":\"");
		size_t pad = size > b.len + 2 ? size - b.len - 2 : 0;
		if (b.overflow || pad + 3 > cap - b.len)
			return 0;
		memset(out + b.len, 'x', pad);
		b.len += pad;
		payload__add(&b, "\"}");
		return b.overflow ? 0 : b.len;
	}
	uint64_t s = ((uint64_t)room << 40) ^ seq ^ (kind == PAYLOAD_CHAT ? 0x5eedc4a7ULL : 0x7e1e3e7aULL);
	/* the generators end 0-120 bytes short of their target: aim inside the bounds */
	size_t target = PAYLOAD_MIN + 90 + (size_t)(payload__next(&s) % (PAYLOAD_MAX - PAYLOAD_MIN - 104));
	if (kind == PAYLOAD_CHAT)
		payload__chat(&b, &s, target);
	else
		payload__telemetry(&b, &s, seq, target);
	return b.overflow ? 0 : b.len;
}

#endif
