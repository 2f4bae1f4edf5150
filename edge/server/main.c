/*
 * main.c - entry point: configuration, log level, then the server.
 */
#include <stdio.h>

#include "server.h"
#include "mqedge/base/log.h"

int main(int argc, char **argv)
{
	struct edge_config cfg;
	int rc = config_load(&cfg, argc, argv);

	if (rc) {
		config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	if (log_level_parse(cfg.log_level, &log_threshold)) {
		fprintf(stderr, "mqedge: log-level: '%s' is not error, warn, info or debug\n", cfg.log_level);
		config_free(&cfg);
		return 2;
	}
	rc = server_run(&cfg);
	config_free(&cfg);
	return rc;
}
