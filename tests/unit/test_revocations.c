/*
 * test_revocations.c - the user -> "refuse tokens issued before" map (server/revocations.c): set,
 * replace, a malformed payload ignored, lifted by an empty (cleared retained) payload.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "revocations.h"

#define T(s) s, sizeof(s) - 1

static void test_revocations(void)
{
	struct revocations r;

	revocations_init(&r);
	CHECK(!revocations_refuse(&r, "carol", -1));
	CHECK(revocations_apply(&r, "carol", T("{\"before\":100,\"ts\":1}")) == 0);
	CHECK(revocations_refuse(&r, "carol", 99));
	CHECK(revocations_refuse(&r, "carol", -1));	/* no iat: refused */
	CHECK(!revocations_refuse(&r, "carol", 100));
	CHECK(!revocations_refuse(&r, "dave", 1));
	CHECK(revocations_apply(&r, "carol", T("{\"before\":200,\"ts\":2}")) == 0 && revocations_refuse(&r, "carol", 150));
	CHECK(revocations_apply(&r, "carol", T("garbage")) == -EINVAL && revocations_refuse(&r, "carol", 150));
	CHECK(revocations_count(&r) == 1);
	CHECK(revocations_apply(&r, "carol", "", 0) == 0 && !revocations_refuse(&r, "carol", -1));
	CHECK(revocations_count(&r) == 0);
	revocations_fini(&r);
}

int main(void)
{
	test_revocations();
	return CHECK_DONE();
}
