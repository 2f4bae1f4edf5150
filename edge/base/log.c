/*
 * log.c - the process's one log sink (stderr, line buffered).
 * Owns: level threshold and line formatting. Must not: allocate, or log on behalf of a library
 * directly (library hooks live with the module that owns the library).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mqedge/base/log.h"

enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static char line_suffix[32];	/* " worker=K" in a worker process (--workers), else empty */

void log_set_worker(int worker)
{
	if (worker >= 0)
		snprintf(line_suffix, sizeof(line_suffix), " worker=%d", worker);
	else
		line_suffix[0] = '\0';
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

__attribute__((format(printf, 4, 0)))
static void write_line(enum log_level level, const char *event, unsigned repeated, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s ",
			      now.tv_nsec / 1000000, log_level_name(level), event);
	if (n < sizeof(line)) {
		int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);

		if (m > 0)
			n += (size_t)m;
	}
	if (line_suffix[0] && n < sizeof(line)) {
		int m = snprintf(line + n, sizeof(line) - n, "%s", line_suffix);

		if (m > 0)
			n += (size_t)m;
	}
	if (repeated && n < sizeof(line)) {
		int m = snprintf(line + n, sizeof(line) - n, " repeated=%u", repeated);

		if (m > 0)
			n += (size_t)m;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;	/* truncated: keep one line */
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

void log_write(enum log_level level, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_line(level, event, 0, fmt, ap);
	va_end(ap);
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_write_limited(struct log_limit *limit, enum log_level level, const char *event, const char *fmt, ...)
{
	int64_t now = monotonic_ms();
	unsigned repeated;
	va_list ap;

	if (limit->next_ms && now < limit->next_ms) {
		limit->held_back++;
		return;
	}
	repeated = limit->held_back;
	limit->held_back = 0;
	limit->next_ms = now + LOG_LIMIT_WINDOW_MS;
	va_start(ap, fmt);
	write_line(level, event, repeated, fmt, ap);
	va_end(ap);
}

unsigned log_limit_reset(struct log_limit *limit)
{
	unsigned held = limit->held_back;

	limit->held_back = 0;
	limit->next_ms = 0;
	return held;
}
