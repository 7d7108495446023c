/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hugeinfo.c - what the kernel says about hugepages (sysfs, /proc/meminfo,
 * /proc/mounts) and the stale-file cleaner. Usable before tarn_init().
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <mntent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "mem_priv.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

#define NODE_DIR        "/sys/devices/system/node"
#define GLOBAL_HUGE_DIR "/sys/kernel/mm/hugepages"

/* Read one unsigned number from a file. */
static int read_u64(const char *path, uint64_t *out)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	unsigned long long v;
	int n = fscanf(f, "%llu", &v);
	fclose(f);
	if (n != 1)
		return -EIO;
	*out = v;
	return 0;
}

uint64_t tarn__sysfs_nodes(void)
{
	uint64_t mask = 0;
	DIR *d = opendir(NODE_DIR);
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "node", 4) != 0 || !isdigit((unsigned char)e->d_name[4]))
			continue;
		long n = strtol(e->d_name + 4, NULL, 10);
		if (n >= 0 && n < 64)
			mask |= 1ull << n;
	}
	closedir(d);
	return mask;
}

int tarn__huge_sysfs_dir(int node, uint64_t page_size, char *buf, size_t size)
{
	struct stat st;
	int n = snprintf(buf, size, NODE_DIR "/node%d/hugepages/hugepages-%llukB", node,
	                 (unsigned long long)(page_size >> 10));
	if (n > 0 && (size_t)n < size && stat(buf, &st) == 0)
		return 0;
	/* No per-node directory (a kernel without NUMA): the global pool. */
	if (tarn__sysfs_nodes() != 0 && node != 0)
		return -ENOENT;
	n = snprintf(buf, size, GLOBAL_HUGE_DIR "/hugepages-%llukB",
	             (unsigned long long)(page_size >> 10));
	if (n > 0 && (size_t)n < size && stat(buf, &st) == 0)
		return 0;
	return -ENOENT;
}

static int64_t huge_count(int node, uint64_t page_size, const char *file)
{
	char dir[256], path[300];
	int rc = tarn__huge_sysfs_dir(node, page_size, dir, sizeof(dir));
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	uint64_t v = 0;
	rc = read_u64(path, &v);
	return rc < 0 ? rc : (int64_t)v;
}

int64_t tarn__huge_free(int node, uint64_t page_size)
{
	return huge_count(node, page_size, "free_hugepages");
}

int64_t tarn__huge_total(int node, uint64_t page_size)
{
	return huge_count(node, page_size, "nr_hugepages");
}

void tarn__huge_fix_cmd(int node, uint64_t page_size, uint64_t count, char *buf, size_t size)
{
	char dir[256];
	if (tarn__huge_sysfs_dir(node, page_size, dir, sizeof(dir)) < 0)
		snprintf(dir, sizeof(dir), NODE_DIR "/node%d/hugepages/hugepages-%llukB", node,
		         (unsigned long long)(page_size >> 10));
	snprintf(buf, size, "echo %llu > %s/nr_hugepages", (unsigned long long)count, dir);
}

/* Parse a size like "2M", "1G", "2048k" (hugetlbfs pagesize= option). */
static uint64_t parse_mount_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k':
	case 'K':
		return v << 10;
	case 'm':
	case 'M':
		return v << 20;
	case 'g':
	case 'G':
		return v << 30;
	default:
		return v;
	}
}

int tarn__hugetlbfs_mount(uint64_t page_size, char *buf, size_t size)
{
	FILE *f = setmntent("/proc/mounts", "re");
	if (f == NULL)
		return -errno;
	uint64_t def = tarn_hugepage_default_size();
	struct mntent m;
	char strings[4096];
	int rc = -ENOENT;
	while (getmntent_r(f, &m, strings, sizeof(strings)) != NULL) {
		if (strcmp(m.mnt_type, "hugetlbfs") != 0)
			continue;
		const char *ps = hasmntopt(&m, "pagesize");
		uint64_t sz = ps != NULL ? parse_mount_size(ps + strlen("pagesize=")) : def;
		if (sz != page_size)
			continue;
		if (strlen(m.mnt_dir) >= size) {
			rc = -ENAMETOOLONG;
			continue;
		}
		strcpy(buf, m.mnt_dir);
		rc = 0;
		break;
	}
	endmntent(f);
	return rc;
}

int64_t tarn__hugetlbfs_pagesize(const char *dir)
{
	struct statfs sf;
	if (statfs(dir, &sf) != 0)
		return -errno;
	if ((unsigned long)sf.f_type != (unsigned long)HUGETLBFS_MAGIC)
		return -EINVAL;
	return (int64_t)sf.f_bsize;
}

/* Is `name` `<prefix>.tarnseg.<pid>.<node>.<n>`? Returns the pid or -1. */
static long stale_name_pid(const char *name, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (strncmp(name, prefix, pl) != 0 || strncmp(name + pl, ".tarnseg.", 9) != 0)
		return -1;
	const char *p = name + pl + 9;
	long pid = -1;
	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		char *end;
		long v = strtol(p, &end, 10);
		if (i == 0)
			pid = v;
		if (*end != (i < 2 ? '.' : '\0'))
			return -1;
		p = end + 1;
	}
	return pid > 0 ? pid : -1;
}

int tarn__huge_clean_stale(const char *dir, const char *prefix)
{
	if (dir == NULL || prefix == NULL || dir[0] == '\0')
		return -EINVAL;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		int rc = -errno;
		close(dfd);
		return rc;
	}
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		long pid = stale_name_pid(e->d_name, prefix);
		if (pid < 0)
			continue;
		/* Only regular files: a FIFO (or a device) of a matching name in a
		 * shared mount would block open() or do worse. Checked before the
		 * open, and again on the descriptor (opened non-blocking) in case
		 * the name was replaced in between. */
		struct stat pre;
		if (fstatat(dfd, e->d_name, &pre, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (!S_ISREG(pre.st_mode)) {
			TARN__WARN(MEM_LOG, "%s/%s is not a regular file (mode %06o): left alone",
			           dir, e->d_name, (unsigned)pre.st_mode);
			continue;
		}
		int fd = openat(dfd, e->d_name,
		                O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			continue;
		struct stat now;
		if (fstat(fd, &now) != 0 || !S_ISREG(now.st_mode) || now.st_ino != pre.st_ino) {
			close(fd);
			continue;
		}
		/*
		 * A live user holds LOCK_SH from right after creating the file
		 * until it removes it. A free lock means the owner is gone -
		 * except in the instant between another process's open() and
		 * flock(): files of a live pid younger than 5 s are spared, and
		 * their lock is not even tried (our LOCK_EX would make that
		 * creator's flock() wait, see hugefile_lock_new() in backend.c).
		 */
		struct stat st;
		const bool young = fstat(fd, &st) == 0 && time(NULL) - st.st_mtime < 5;
		const bool alive =
		    pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
		if (!(alive && young) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
		    unlinkat(dfd, e->d_name, 0) == 0) {
			removed++;
			TARN__INFO(MEM_LOG, "removed stale hugepage file %s/%s", dir, e->d_name);
		}
		close(fd);
	}
	closedir(d);
	return removed;
}

uint64_t tarn_hugepage_default_size(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (f == NULL)
		return 0;
	char line[256];
	uint64_t sz = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long kb;
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1) {
			sz = (uint64_t)kb << 10;
			break;
		}
	}
	fclose(f);
	return sz;
}

/* Collect the page sizes sysfs lists under `dir` (hugepages-NkB). */
static unsigned list_sizes(const char *dir, uint64_t *sizes, unsigned max)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < max) {
		unsigned long long kb;
		char tail[8];
		if (sscanf(e->d_name, "hugepages-%llu%7s", &kb, tail) == 2 &&
		    strcmp(tail, "kB") == 0)
			sizes[n++] = (uint64_t)kb << 10;
	}
	closedir(d);
	/* ascending */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && sizes[j - 1] > sizes[j]; j--) {
			uint64_t t = sizes[j];
			sizes[j] = sizes[j - 1];
			sizes[j - 1] = t;
		}
	return n;
}

int tarn_hugepage_info_get(struct tarn_hugepage_info *info, unsigned max)
{
	if (info == NULL && max > 0)
		return -EINVAL;
	uint64_t sizes[16];
	unsigned ns = list_sizes(GLOBAL_HUGE_DIR, sizes, 16);
	uint64_t nodes = tarn__sysfs_nodes();
	bool per_node = false;
	if (nodes != 0) {
		char d[128];
		int lowest = __builtin_ctzll(nodes);
		snprintf(d, sizeof(d), NODE_DIR "/node%d/hugepages", lowest);
		per_node = access(d, F_OK) == 0;
	}
	if (!per_node)
		nodes = 1;
	int count = 0;
	for (int node = 0; node < 64; node++) {
		if (!(nodes & (1ull << node)))
			continue;
		for (unsigned i = 0; i < ns; i++) {
			int64_t total = tarn__huge_total(node, sizes[i]);
			int64_t free = tarn__huge_free(node, sizes[i]);
			if (total < 0 || free < 0)
				continue;
			if ((unsigned)count < max) {
				info[count].page_size = sizes[i];
				info[count].node = node;
				info[count].total = (uint64_t)total;
				info[count].free = (uint64_t)free;
			}
			count++;
		}
	}
	return count;
}

/* Read "<key>: N kB" from a meminfo file (node files prefix "Node N "). */
static uint64_t meminfo_kb(const char *path, const char *key)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	char line[256];
	uint64_t v = 0;
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line;
		if (strncmp(p, "Node ", 5) == 0) {
			p += 5;
			while (isdigit((unsigned char)*p))
				p++;
			while (*p == ' ')
				p++;
		}
		if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
			v = strtoull(p + kl + 1, NULL, 10) << 10;
			break;
		}
	}
	fclose(f);
	return v;
}

uint64_t tarn__node_mem_avail(int node)
{
	uint64_t sys = meminfo_kb("/proc/meminfo", "MemAvailable");
	uint64_t nodes = tarn__sysfs_nodes();
	if (nodes == 0 || (nodes & (nodes - 1)) == 0)
		return sys;
	char path[128];
	snprintf(path, sizeof(path), NODE_DIR "/node%d/meminfo", node);
	/* Free plus page cache that reclaim can give back on that node. */
	uint64_t v = meminfo_kb(path, "MemFree") + meminfo_kb(path, "Inactive(file)");
	return v < sys ? v : sys;
}

bool tarn__thp_usable(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	if (f == NULL)
		return false;
	char line[128] = "";
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	return strstr(line, "[always]") != NULL || strstr(line, "[madvise]") != NULL;
}
