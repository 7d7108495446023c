/* SPDX-License-Identifier: BSD-3-Clause */
/* errors.c - tarn_errno and tarn_strerror. */
#include <string.h>

#include "env_priv.h"

static __thread int tarn__errno_tls;

int *tarn_errno_location(void)
{
	return &tarn__errno_tls;
}

const char *tarn_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "Success";
	case EALREADY:
		return "tarn is already initialised (call tarn_cleanup() first)";
	case ENOBUFS:
		return "Not enough objects available in the pool";
	case ENOSPC:
		return "No free slot (too many lcores, threads or objects)";
	case EBUSY:
		return "Resource busy (objects still in use, or an lcore still running)";
	default:
		/* strerror() of glibc returns static strings for known codes and a
		 * thread-local buffer for unknown ones: safe from any thread. */
		return strerror(err);
	}
}
