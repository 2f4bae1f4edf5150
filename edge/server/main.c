/*
 * main.c - entry point: configuration, log level, then the server — one process, or with --workers
 * a supervisor and its workers — (or, with --check-config, only the verdict on the configuration). Exit status: 0 after a clean stop, --help, --version or a good
 * --check-config; 2 for a configuration the edge refuses; 1 when start-up or the run failed.
 */
#include <stdio.h>

#include "server.h"
#include "supervisor.h"
#include "mqedge/base/log.h"

int main(int argc, char **argv)
{
	struct edge_config cfg;
	char err[512];
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
	if (cfg.check_only) {
		rc = server_check_config(&cfg, err, sizeof(err));
		if (rc)
			fprintf(stderr, "mqedge: %s\n", err);
		else
			printf("config ok\n");
		config_free(&cfg);
		return rc ? 2 : 0;
	}
	rc = cfg.n_workers ? supervisor_run(&cfg) : server_run(&cfg, NULL);
	config_free(&cfg);
	return rc;
}
