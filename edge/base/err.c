/*
 * err.c - texts for the error codes the edge uses (err.h). Owns nothing else.
 */
#include <errno.h>
#include <string.h>

#include "mqedge/base/err.h"

const char *mqe_strerror(int rc)
{
	switch (rc) {
	case 0: return "ok";
	case -ENOMEM: return "out of memory";
	case -EINVAL: return "invalid argument";
	case -ENOBUFS: return "queue full";
	case -EEXIST: return "already exists";
	case -EIO: return "store failure";
	case -ENOSPC: return "store disk full";
	case -EBUSY: return "store busy";
	case -EBADMSG: return "store corrupt";
	case -ENOTCONN: return "broker unavailable";
	case -ENOENT: return "not found";
	default: return rc < 0 ? strerror(-rc) : "ok";
	}
}
