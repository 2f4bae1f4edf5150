/*
 * check.h - the unit tests' only framework: CHECK records a failure with file:line and keeps
 * going; CHECK_DONE prints "N passed, N failed" and returns the exit status.
 */
#ifndef MQEDGE_CHECK_H
#define MQEDGE_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond) \
	do { \
		if (cond) { \
			check_passed++; \
		} else { \
			check_failed++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

#define CHECK_STR(got, want) \
	do { \
		const char *g_ = (got), *w_ = (want); \
		if (g_ && w_ && !strcmp(g_, w_)) { \
			check_passed++; \
		} else { \
			check_failed++; \
			fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, g_ ? g_ : "(null)", \
				w_ ? w_ : "(null)"); \
		} \
	} while (0)

#define CHECK_DONE() \
	(printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
