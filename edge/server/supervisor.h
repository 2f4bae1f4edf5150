/*
 * supervisor.h - private to edge/server: --workers N, the parent of N worker processes.
 */
#ifndef MQEDGE_SUPERVISOR_H
#define MQEDGE_SUPERVISOR_H

#include "config.h"

/* Forks cfg->n_workers workers (each runs server_run as edge "{edge-id}-w{k}"), restarts the ones
 * that die, forwards SIGTERM/SIGINT (stop) and SIGHUP (reload certificates), and returns the exit
 * code once every worker has stopped: 0 after a clean stop, 1 when a worker failed its first
 * start or the supervisor itself could not start. */
int supervisor_run(struct edge_config *cfg);

#endif
