/*
 * checkpoint.h - private to edge/inbox: the one helper thread of the process. WAL checkpoints
 * (the only fsyncs in WAL mode with synchronous=NORMAL) run on its own connection, once a
 * second, so the event loop never waits for the disk.
 */
#ifndef MQEDGE_INBOX_CHECKPOINT_H
#define MQEDGE_INBOX_CHECKPOINT_H

#include <stdint.h>

struct checkpointer;

/* Opens its own connection to the database at path and starts the thread. NULL on failure. */
struct checkpointer *checkpointer_start(const char *path);
/* Stops the thread, closes its connection, frees cp (NULL is fine). */
void checkpointer_stop(struct checkpointer *cp);
/* Checkpoints run so far and the slowest (us). */
void checkpointer_stats(const struct checkpointer *cp, uint64_t *runs, uint64_t *slowest_us);

#endif
