/* prom_merge: families described once, every sample labelled with its source, first-seen order. */
#include <stdlib.h>

#include "check.h"
#include "mqedge/wire/prom_merge.h"

static char *merge(const struct prom_source *src, size_t n)
{
	struct textbuf out = { 0 };

	prom_merge(&out, "worker", src, n);
	CHECK(!out.oom);
	return out.p ? out.p : calloc(1, 1);
}

static void test_two_workers(void)
{
	static const char a[] = "# HELP c_total Things.\n# TYPE c_total counter\nc_total 3\n"
				"# HELP g Open.\n# TYPE g gauge\ng{kind=\"user\"} 1\ng{kind=\"device\"} 0\n"
				"# HELP h Latency.\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
				"h_sum 0.5\nh_count 2\n";
	static const char b[] = "# HELP c_total Things.\n# TYPE c_total counter\nc_total 4\n"
				"# HELP g Open.\n# TYPE g gauge\ng{kind=\"user\"} 7\ng{kind=\"device\"} 2\n"
				"# HELP h Latency.\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 0\nh_bucket{le=\"+Inf\"} 1\n"
				"h_sum 1.5\nh_count 1\n";
	struct prom_source src[2] = { { a, sizeof(a) - 1, "0" }, { b, sizeof(b) - 1, "1" } };
	char *got = merge(src, 2);

	CHECK_STR(got, "# HELP c_total Things.\n# TYPE c_total counter\nc_total{worker=\"0\"} 3\nc_total{worker=\"1\"} 4\n"
		       "# HELP g Open.\n# TYPE g gauge\ng{worker=\"0\",kind=\"user\"} 1\ng{worker=\"0\",kind=\"device\"} 0\n"
		       "g{worker=\"1\",kind=\"user\"} 7\ng{worker=\"1\",kind=\"device\"} 2\n"
		       "# HELP h Latency.\n# TYPE h histogram\nh_bucket{worker=\"0\",le=\"0.1\"} 1\n"
		       "h_bucket{worker=\"0\",le=\"+Inf\"} 2\nh_sum{worker=\"0\"} 0.5\nh_count{worker=\"0\"} 2\n"
		       "h_bucket{worker=\"1\",le=\"0.1\"} 0\nh_bucket{worker=\"1\",le=\"+Inf\"} 1\nh_sum{worker=\"1\"} 1.5\n"
		       "h_count{worker=\"1\"} 1\n");
	free(got);
}

/* A family only a later source has (a worker whose store is open) comes after the first's; an
 * empty source (a worker not running) adds nothing; a text without a final newline, empty braces
 * and junk lines are handled. */
static void test_uneven(void)
{
	static const char a[] = "# HELP x X.\n# TYPE x gauge\nx 1";
	static const char b[] = "# HELP x X.\n# TYPE x gauge\nx{} 2\n# HELP only_b B.\n# TYPE only_b gauge\nonly_b 5\n"
				"not-a-sample\n\n";
	struct prom_source src[3] = { { a, sizeof(a) - 1, "0" }, { "", 0, "1" }, { b, sizeof(b) - 1, "2" } };
	char *got = merge(src, 3);

	CHECK_STR(got, "# HELP x X.\n# TYPE x gauge\nx{worker=\"0\"} 1\nx{worker=\"2\"} 2\n"
		       "# HELP only_b B.\n# TYPE only_b gauge\nonly_b{worker=\"2\"} 5\n");
	free(got);
}

int main(void)
{
	test_two_workers();
	test_uneven();
	return CHECK_DONE();
}
