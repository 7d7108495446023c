// SPDX-License-Identifier: BSD-3-Clause
// Shared by the fault suites: what the process holds, counted from /proc, to
// compare before and after a run that must give everything back.
#ifndef TARN_TEST_PROC_SNAPSHOT_H
#define TARN_TEST_PROC_SNAPSHOT_H

#include <dirent.h>

// Open file descriptors of this process.
inline unsigned count_fds()
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d == nullptr)
		return 0;
	while (struct dirent *e = readdir(d))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; // the DIR's own descriptor
}

#endif
