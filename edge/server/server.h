/*
 * server.h - private to edge/server: the process, assembled and run (server.c).
 */
#ifndef MQEDGE_SERVER_H
#define MQEDGE_SERVER_H

#include "config.h"

/* What start-up would refuse, found without starting: the auth keys, room patterns, the files the
 * edge reads and the data dir's permissions. No sockets, no broker, nothing written. Returns 0, or
 * -1 with the reason in err. */
int server_check_config(const struct edge_config *cfg, char *err, size_t errlen);

struct board;

/* Runs the edge until it is stopped by a signal. Returns the exit code. board: NULL for a single
 * process (lws listens); a worker under the supervisor (cfg->worker_index >= 0) opens its own
 * SO_REUSEPORT listeners and posts its readiness and metrics on the board every second. */
int server_run(struct edge_config *cfg, struct board *board);

#endif
