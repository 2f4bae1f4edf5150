/*
 * err.h - the one error convention: a function that can fail returns 0 (or a non-negative count
 * or flag, as its comment says) on success and a negative errno code on failure. Library codes
 * (MOSQ_ERR_*, SQLITE_*) are translated at the module that owns the library, which also logs the
 * library's own number. The codes in use and what they mean here:
 *   -ENOMEM   out of memory              -EINVAL   bad argument or input
 *   -ENOBUFS  a bounded queue is full    -EEXIST   already there (a duplicate)
 *   -EIO      the store failed           -ENOSPC   the store's disk is full
 *   -EBUSY    the store is locked        -EBADMSG  the store is corrupt
 *   -ENOTCONN the broker is away         -ENOENT   no such thing
 */
#ifndef MQEDGE_ERR_H
#define MQEDGE_ERR_H

/* A short text for rc (0 or a negative errno code), for logs. Never NULL. */
const char *mqe_strerror(int rc);

#endif
