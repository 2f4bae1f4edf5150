/*
 * fuzz.h - what every libFuzzer target in tests/fuzz shares: the entry points, an invariant check
 * that aborts (libFuzzer saves the input as a crash), span and JSON checks, and quiet logs.
 *
 * Targets check invariants, not just survival: a check that fails is a bug in the module under
 * test (or in the invariant, which then needs a sentence in the target saying why).
 */
#ifndef MQEDGE_FUZZ_H
#define MQEDGE_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/wire/jsontext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                               \
	do {                                                                                           \
		if (!(cond)) {                                                                         \
			fprintf(fuzz_report, "fuzz: invariant failed: %s (%s:%d)\n", #cond, __FILE__,  \
				__LINE__);                                                             \
			fflush(fuzz_report);                                                           \
			abort();                                                                       \
		}                                                                                      \
	} while (0)

/* Where invariant failures go: the real stderr, even while stdio's stderr is silenced. */
static FILE *fuzz_report;

/* The code under test logs to stdio's stderr (log.c, config.c): millions of lines in a run. Point
 * stdio's stderr at /dev/null (glibc's stderr is a plain variable); libFuzzer and the sanitizers
 * keep writing to file descriptor 2. MQEDGE_FUZZ_VERBOSE=1 keeps the logs. */
static inline void fuzz_quiet(void)
{
	FILE *null;

	fuzz_report = stderr;
	if (getenv("MQEDGE_FUZZ_VERBOSE"))
		return;
	null = fopen("/dev/null", "w");
	if (null)
		stderr = null;
}

/* True when [p, p + n) lies inside [base, base + size). */
static inline bool fuzz_inside(const void *p, size_t n, const void *base, size_t size)
{
	const char *s = p, *b = base;

	return s && s >= b && n <= size && (size_t)(s - b) <= size - n;
}

/* True when text[0..len) is exactly one valid JSON value (strict, jsontext.c). */
static inline bool fuzz_json(const char *text, size_t len)
{
	bool is_object;
	const char *v;
	size_t vlen;

	return jsontext_validate(text, len, &is_object, &v, &vlen, NULL, NULL) == 0;
}

/* True when text[0..len) is one valid JSON object. */
static inline bool fuzz_json_object(const char *text, size_t len)
{
	bool is_object = false;
	const char *v;
	size_t vlen;

	return jsontext_validate(text, len, &is_object, &v, &vlen, NULL, NULL) == 0 && is_object;
}

/* A NUL-terminated heap copy of data (the caller frees it). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
