/*
 * log.h - one-line, level-filtered, key=value event logging shared by every module.
 *
 * Each call writes one line: "TS LEVEL event key=value ...". The level check happens before any
 * formatting, so a disabled debug line costs one comparison. libwebsockets and libmosquitto logs
 * are routed here by the modules that own those libraries.
 */
#ifndef MQEDGE_LOG_H
#define MQEDGE_LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern enum log_level log_threshold;

/* Parses "error", "warn", "info" or "debug"; returns 0 or -1 when the name is unknown. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

/* Writes one line to stderr: the event name, then printf-formatted key=value fields. */
void log_write(enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* In a worker process (--workers): every line ends with " worker=K" (K < 0: nothing). */
void log_set_worker(int worker);

/* Holds back repeats of one kind of line: at most one per window; the next line that passes says
 * how many were held back (" repeated=N"). One per call site and subject (say, per broker
 * session), zeroed at start. A condition that ends (the broker is back) calls log_limit_reset so
 * the next failure is logged at once. */
struct log_limit {
	int64_t next_ms;	/* monotonic; lines before it are held back */
	unsigned held_back;
};
#define LOG_LIMIT_WINDOW_MS 30000
void log_write_limited(struct log_limit *limit, enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* How many lines were held back since the last one written; resets the window. */
unsigned log_limit_reset(struct log_limit *limit);

#define log_limited(limit, level, event, ...) \
	do { if ((level) <= log_threshold) log_write_limited((limit), (level), (event), __VA_ARGS__); } while (0)

#define log_at(level, event, ...) \
	do { if ((level) <= log_threshold) log_write((level), (event), __VA_ARGS__); } while (0)
#define log_error(event, ...) log_at(LOG_ERROR, event, __VA_ARGS__)
#define log_warn(event, ...) log_at(LOG_WARN, event, __VA_ARGS__)
#define log_info(event, ...) log_at(LOG_INFO, event, __VA_ARGS__)
#define log_debug(event, ...) log_at(LOG_DEBUG, event, __VA_ARGS__)

#endif
