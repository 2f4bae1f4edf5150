/*
 * server.h - private to edge/server: the process, assembled and run (server.c).
 */
#ifndef MQEDGE_SERVER_H
#define MQEDGE_SERVER_H

#include "config.h"

/* Runs the edge until it is stopped by a signal. Returns the exit code. */
int server_run(struct edge_config *cfg);

#endif
