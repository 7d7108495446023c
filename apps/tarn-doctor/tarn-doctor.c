/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tarn-doctor: the preflight to run when a tarn program does not start.
 *
 * Takes the same tarn options as the program (--socket-mem, --huge,
 * --huge-dir, --huge-size, --file-prefix, ...) and checks, for that request:
 * privileges, the memlock limit, transparent huge pages, free hugepages per
 * node against what --socket-mem needs, hugetlbfs mounts, stale hugepage
 * files of tarn's prefixes; then it tries tarn_init() with those options
 * (saying first how much memory that reserves and touches; not at all when
 * the request cannot fit in the memory the machine has).
 * A problem comes with the exact command that fixes it only when that
 * command can work on this machine: enough memory available on the node
 * for the hugepages it adds, a page size the CPU and kernel offer, a mount
 * point nothing is mounted on. Otherwise the doctor says what cannot be
 * done and what can (the largest --socket-mem that fits, the page sizes
 * offered).
 *
 * Exit status: 0 tarn can start as asked (perhaps with a fallback the output
 * names), 1 it cannot, 2 bad usage.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tarn/tarn_env.h>
#include <tarn/tarn_mem.h>

#include "doctor.h"

/* Problems found, printed at the end with their fixes. */
#define MAX_PROBLEMS 64
static struct problem {
	bool fatal; /* tarn cannot start as asked */
	char what[512];
	char fix[768];
} problems[MAX_PROBLEMS];
static unsigned n_problems;

void problem(bool fatal, const char *fix, const char *fmt, ...)
{
	if (n_problems == MAX_PROBLEMS)
		return;
	struct problem *p = &problems[n_problems++];
	p->fatal = fatal;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->what, sizeof(p->what), fmt, ap);
	va_end(ap);
	snprintf(p->fix, sizeof(p->fix), "%s", fix ? fix : "");
}

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
	        "usage: %s [--no-trial] [--pci ADDR]... [tarn options]\n\n"
	        "Check whether tarn can start with the given options and say how to fix\n"
	        "what is missing: hugepages per node against --socket-mem, hugetlbfs mounts,\n"
	        "the memlock limit, privileges, stale hugepage files. Then try tarn_init()\n"
	        "with the options (skip with --no-trial): it reserves and touches the\n"
	        "--socket-mem memory, and is not run when that cannot fit in memory.\n"
	        "A fix is printed only when it can work on this machine (memory available,\n"
	        "a page size the CPU and kernel offer, a free mount point); otherwise the\n"
	        "doctor says what cannot be done.\n\n"
	        "PCI devices (--pci ADDR, repeatable; default: those bound to vfio-pci or\n"
	        "uio): the IOMMU, the vfio and uio modules, the driver each is bound to, its\n"
	        "IOMMU group's viability, /dev/vfio permissions, a process holding it, the\n"
	        "memlock limit vfio needs; the trial opens each one.\n\n"
	        "Exit status: 0 tarn can start as asked, 1 it cannot, 2 bad usage.\n\n",
	        prog);
	tarn_config_usage(out);
}

static const char *policy_name(enum tarn_huge_policy p)
{
	return p == TARN_HUGE_REQUIRE ? "require" : p == TARN_HUGE_NONE ? "none" : "prefer";
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	long v = -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* sysfs directory of a page size on a node (global pool when no node dir). */
static void huge_dir(int node, uint64_t page, char *buf, size_t size)
{
	struct stat st;
	snprintf(buf, size, "/sys/devices/system/node/node%d/hugepages/hugepages-%llukB", node,
	         (unsigned long long)(page >> 10));
	if (stat(buf, &st) == 0)
		return;
	if (node == 0 && stat("/sys/devices/system/node/node0", &st) != 0)
		snprintf(buf, size, "/sys/kernel/mm/hugepages/hugepages-%llukB",
		         (unsigned long long)(page >> 10));
}

static void print_size(uint64_t b, char *buf, size_t size)
{
	if (b >= (1ull << 30) && b % (1ull << 30) == 0)
		snprintf(buf, size, "%llu GiB", (unsigned long long)(b >> 30));
	else if (b >= (10ull << 30))
		snprintf(buf, size, "%.1f GiB", (double)b / (double)(1ull << 30));
	else if (b >= (1ull << 20))
		snprintf(buf, size, "%llu MiB", (unsigned long long)(b >> 20));
	else
		snprintf(buf, size, "%llu KiB", (unsigned long long)(b >> 10));
}

/* "<value> kB" of `key` in a meminfo file (/proc/meminfo, or a node's with
 * its "Node N " prefix), in bytes; -1 when missing. */
static int64_t meminfo_bytes(const char *path, const char *key)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	char line[256];
	int64_t v = -1;
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line;
		if (strncmp(p, "Node ", 5) == 0) { /* "Node 0 MemFree:" */
			p += 5;
			while (isdigit((unsigned char)*p))
				p++;
			while (*p == ' ')
				p++;
		}
		unsigned long long kb;
		if (strncmp(p, key, klen) == 0 && p[klen] == ':' &&
		    sscanf(p + klen + 1, "%llu", &kb) == 1) {
			v = (int64_t)(kb << 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/*
 * Memory the kernel can give node `node` for new hugepages or pages, the
 * estimate tarn's own reservation uses (lib/mem): MemAvailable on a machine
 * with one node; else the node's free memory plus its inactive page cache,
 * never more than MemAvailable. `total` gets the node's memory. 0 when
 * unknown.
 */
static uint64_t node_available(int node, uint64_t *total)
{
	char path[96];
	int64_t sys = meminfo_bytes("/proc/meminfo", "MemAvailable");
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", node);
	int64_t t = meminfo_bytes(path, "MemTotal");
	if (tarn_socket_count() <= 1 || t < 0) {
		t = meminfo_bytes("/proc/meminfo", "MemTotal");
		*total = t > 0 ? (uint64_t)t : 0;
		return sys > 0 ? (uint64_t)sys : 0;
	}
	int64_t free_b = meminfo_bytes(path, "MemFree");
	int64_t inact = meminfo_bytes(path, "Inactive(file)");
	*total = (uint64_t)t;
	uint64_t a = (uint64_t)(free_b > 0 ? free_b : 0) + (uint64_t)(inact > 0 ? inact : 0);
	if (sys >= 0 && a > (uint64_t)sys)
		a = (uint64_t)sys;
	return a;
}

/* Does the kernel offer hugepages of `page` bytes? */
static bool page_size_offered(uint64_t page)
{
	struct tarn_hugepage_info info[64];
	int n = tarn_hugepage_info_get(info, 64);
	for (int i = 0; i < n && i < 64; i++)
		if (info[i].page_size == page)
			return true;
	return false;
}

/* The hugepage sizes the kernel offers, as "2M, 1G" (for messages). */
static void offered_sizes(char *buf, size_t size)
{
	struct tarn_hugepage_info info[64];
	int n = tarn_hugepage_info_get(info, 64);
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && i < 64; i++) {
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= info[j].page_size == info[i].page_size;
		if (dup)
			continue;
		uint64_t p = info[i].page_size;
		int w = snprintf(buf + len, size - len, "%s%llu%s", len ? ", " : "",
		                 (unsigned long long)(p >= (1ull << 30) ? p >> 30 : p >> 20),
		                 p >= (1ull << 30) ? "G" : "M");
		if (w < 0 || (size_t)w >= size - len)
			break;
		len += (size_t)w;
	}
	if (len == 0)
		snprintf(buf, size, "none");
}

/* 1: the CPU has 1 GiB pages (x86 flag pdpe1gb), 0: it has not, -1: unknown
 * (not x86, or /proc/cpuinfo unreadable). */
static int cpu_has_1g_pages(void)
{
#if defined(__x86_64__) || defined(__i386__)
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (f == NULL)
		return -1;
	char line[4096];
	int r = -1;
	while (r < 0 && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "flags", 5) == 0)
			r = strstr(line, " pdpe1gb") != NULL;
	fclose(f);
	return r;
#else
	return -1;
#endif
}

/* Page size as the options write it: "2M", "1G". */
static void page_name(uint64_t page, char *buf, size_t size)
{
	if (page >= (1ull << 30) && page % (1ull << 30) == 0)
		snprintf(buf, size, "%lluG", (unsigned long long)(page >> 30));
	else if (page >= (1ull << 20))
		snprintf(buf, size, "%lluM", (unsigned long long)(page >> 20));
	else
		snprintf(buf, size, "%lluK", (unsigned long long)(page >> 10));
}

/* Is `dir` a mount point (of any file system)? */
static bool is_mount_point(const char *dir)
{
	FILE *f = setmntent("/proc/mounts", "re");
	bool found = false;
	if (f == NULL)
		return false;
	struct mntent m;
	char strings[4096];
	while (!found && getmntent_r(f, &m, strings, sizeof(strings)) != NULL)
		found = strcmp(m.mnt_dir, dir) == 0;
	endmntent(f);
	return found;
}

/* A directory to mount hugetlbfs of `page` bytes on that nothing is
 * mounted on yet: /dev/hugepages, else /dev/hugepages-<size>, else
 * /mnt/huge-<size>. */
static void free_mount_point(uint64_t page, char *buf, size_t size)
{
	char pn[16];
	page_name(page, pn, sizeof(pn));
	snprintf(buf, size, "/dev/hugepages");
	if (!is_mount_point(buf))
		return;
	snprintf(buf, size, "/dev/hugepages-%s", pn);
	if (!is_mount_point(buf))
		return;
	for (unsigned i = 0; i < 100; i++) {
		snprintf(buf, size, i ? "/mnt/huge-%s-%u" : "/mnt/huge-%s", pn, i);
		if (!is_mount_point(buf))
			return;
	}
}

/* Set when --socket-mem cannot fit in the memory a node has: the trial
 * would fail or wake the OOM killer, so it is not run. */
static bool memory_impossible;

bool doctor_cap(unsigned bit)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return false;
	char line[256];
	unsigned long long v = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	fclose(f);
	return (v >> bit) & 1;
}

static void check_privileges(void)
{
	bool ipc_lock = doctor_cap(DOCTOR_CAP_IPC_LOCK);
	bool sys_admin = doctor_cap(DOCTOR_CAP_SYS_ADMIN);
	printf("privileges: %s (euid %d); CAP_IPC_LOCK %s; CAP_SYS_ADMIN %s\n",
	       geteuid() == 0 ? "root" : "not root", (int)geteuid(), ipc_lock ? "yes" : "no",
	       sys_admin ? "yes" : "no");
	if (!sys_admin)
		printf(
		    "  IOVAs will be virtual addresses (physical ones need CAP_SYS_ADMIN to read "
		    "/proc/self/pagemap)\n");
}

static void check_memlock(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return;
	char soft[32], hard[32];
	if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(soft, sizeof(soft), "unlimited");
	else
		print_size(rl.rlim_cur, soft, sizeof(soft));
	if (rl.rlim_max == RLIM_INFINITY)
		snprintf(hard, sizeof(hard), "unlimited");
	else
		print_size(rl.rlim_max, hard, sizeof(hard));
	printf("memlock limit: %s (soft), %s (hard)\n", soft, hard);
	bool ipc_lock = doctor_cap(DOCTOR_CAP_IPC_LOCK);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (64ull << 20) && !ipc_lock)
		problem(false,
		        "ulimit -l unlimited   (in the shell that starts the program; or add\n"
		        "      '<user> - memlock unlimited' to /etc/security/limits.conf)",
		        "memlock limit %s: hugepages are not affected, but drivers that pin "
		        "normal memory (af_xdp UMEM, VFIO) may fail",
		        soft);
}

static void check_thp(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	char line[128] = "unavailable";
	if (f != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			snprintf(line, sizeof(line), "unreadable");
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	printf("transparent huge pages: %s\n", line);
}

/* hugetlbfs mounts; returns whether one serves `page` and is writable. */
static bool check_mounts(const struct tarn_config *cfg, uint64_t page, char *mount_out, size_t size)
{
	printf("hugetlbfs mounts:\n");
	FILE *f = setmntent("/proc/mounts", "re");
	bool found = false;
	unsigned n = 0;
	/* What is mounted on --huge-dir: nothing (0), hugetlbfs of page size
	 * dir_page (1), another file system (2). */
	int dir_mount = 0;
	uint64_t dir_page = 0;
	if (f != NULL) {
		struct mntent m;
		char strings[4096];
		while (getmntent_r(f, &m, strings, sizeof(strings)) != NULL) {
			bool on_dir =
			    cfg->huge_dir[0] != '\0' && strcmp(m.mnt_dir, cfg->huge_dir) == 0;
			if (strcmp(m.mnt_type, "hugetlbfs") != 0) {
				if (on_dir)
					dir_mount = 2;
				continue;
			}
			n++;
			const char *ps = hasmntopt(&m, "pagesize");
			uint64_t sz = tarn_hugepage_default_size();
			if (ps != NULL) {
				char *end;
				unsigned long long v = strtoull(ps + 9, &end, 10);
				sz = *end == 'G'   ? v << 30
				     : *end == 'M' ? v << 20
				     : *end == 'K' ? v << 10
				                   : v;
			}
			if (on_dir) {
				dir_mount = 1;
				dir_page = sz;
			}
			bool w = access(m.mnt_dir, W_OK | X_OK) == 0;
			printf("  %s: %llu kB pages, %s\n", m.mnt_dir,
			       (unsigned long long)(sz >> 10),
			       w ? "writable" : "not writable by this user");
			if (sz == page && w && !found) {
				found = true;
				snprintf(mount_out, size, "%s", m.mnt_dir);
			}
		}
		endmntent(f);
	}
	if (n == 0)
		printf("  (none)\n");
	/* No mount can serve a page size the kernel does not offer
	 * (check_hugepages() says so). */
	if (page == 0 || !page_size_offered(page))
		return false;
	char pn[16];
	page_name(page, pn, sizeof(pn));
	if (cfg->huge_dir[0] != '\0') {
		if (access(cfg->huge_dir, W_OK | X_OK) != 0) {
			char fix[600];
			snprintf(fix, sizeof(fix),
			         "mkdir -p %s && mount -t hugetlbfs -o pagesize=%s none %s",
			         cfg->huge_dir, pn, cfg->huge_dir);
			problem(true, fix, "--huge-dir %s is missing or not writable",
			        cfg->huge_dir);
		} else if (dir_mount == 2 || (dir_mount == 1 && dir_page != page)) {
			char other[64];
			free_mount_point(page, other, sizeof(other));
			char fix[700];
			snprintf(fix, sizeof(fix),
			         "mkdir -p %s && mount -t hugetlbfs -o pagesize=%s none %s   and "
			         "--huge-dir %s",
			         other, pn, other, other);
			problem(true, fix,
			        "--huge-dir %s is a mount of another page size or file system, not "
			        "of %s hugepages (mounting over it would hide what is there)",
			        cfg->huge_dir, pn);
		}
		return true;
	}
	if (!found && cfg->huge_policy != TARN_HUGE_NONE) {
		char dir[64], fix[512];
		free_mount_point(page, dir, sizeof(dir));
		snprintf(fix, sizeof(fix),
		         "mkdir -p %s && mount -t hugetlbfs -o pagesize=%s none %s%s", dir, pn, dir,
		         page == tarn_hugepage_default_size() ? "   (or: scripts/hugepages.sh)"
		                                              : "");
		problem(
		    false, fix,
		    "no writable hugetlbfs mount for %llu kB pages: tarn uses memfd or anonymous "
		    "hugepages instead (works; no files to inspect)",
		    (unsigned long long)(page >> 10));
	}
	return found;
}

/* --socket-mem in normal pages (no hugepages): each socket's share must fit
 * in what its node has available. */
static void check_normal_memory(const struct tarn_config *cfg)
{
	unsigned sockets = tarn_socket_count();
	for (unsigned s = 0; s < sockets && s < TARN_MAX_SOCKETS; s++) {
		uint64_t want = cfg->socket_mem_mb[s] << 20, total;
		uint64_t avail = node_available((int)s, &total);
		if (want == 0 || avail == 0 || want <= avail)
			continue;
		char w[32], a[32], t[32];
		print_size(want, w, sizeof(w));
		print_size(avail, a, sizeof(a));
		print_size(total, t, sizeof(t));
		memory_impossible = true;
		problem(true, NULL,
		        "--socket-mem asks for %s on socket %u, in normal pages: node %u has %s of "
		        "memory available (%s in all), so it cannot be reserved. Ask for at most "
		        "about %llu MiB there, or free memory first",
		        w, s, s, a, t, (unsigned long long)(avail >> 20));
	}
}

/* Per-node hugepages against --socket-mem. Returns the number of short nodes. */
static unsigned check_hugepages(const struct tarn_config *cfg, uint64_t page)
{
	struct tarn_hugepage_info info[64];
	int n = tarn_hugepage_info_get(info, 64);
	printf("hugepage sizes:");
	if (n <= 0)
		printf(" none (the kernel has no hugepage support)");
	for (int i = 0; i < n && i < 64; i++) {
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= info[j].page_size == info[i].page_size;
		if (!dup)
			printf(" %llu kB%s", (unsigned long long)(info[i].page_size >> 10),
			       info[i].page_size == tarn_hugepage_default_size() ? " (default)"
			                                                         : "");
	}
	printf("\n");
	if (cfg->huge_policy == TARN_HUGE_NONE) {
		printf("hugepages: not used (--huge none)\n");
		check_normal_memory(cfg);
		return 0;
	}
	if (page == 0) {
		problem(
		    cfg->huge_policy == TARN_HUGE_REQUIRE, NULL, "the kernel offers no hugepages%s",
		    cfg->huge_policy == TARN_HUGE_REQUIRE ? " but --huge require asks for them"
		                                          : ": tarn falls back to normal pages");
		check_normal_memory(cfg);
		return 1;
	}
	char pn[16];
	page_name(page, pn, sizeof(pn));
	if (!page_size_offered(page)) {
		/* tarn_init() refuses a --huge-size the kernel does not offer: no
		 * mount and no nr_hugepages can change that at run time. */
		char sizes[64], why[256], fix[256];
		offered_sizes(sizes, sizeof(sizes));
		int cpu1g = page == (1ull << 30) ? cpu_has_1g_pages() : -1;
		if (cpu1g == 0) {
			snprintf(why, sizeof(why),
			         "this CPU has no 1 GiB pages (no pdpe1gb flag in /proc/cpuinfo)");
			snprintf(fix, sizeof(fix), "--huge-size with a size offered here (%s)",
			         sizes);
		} else if (cpu1g == 1) {
			snprintf(why, sizeof(why),
			         "the CPU has them (pdpe1gb) but the kernel offers none");
			snprintf(fix, sizeof(fix),
			         "--huge-size with a size offered here (%s); or boot with "
			         "'hugepagesz=1G hugepages=N' on the kernel command line",
			         sizes);
		} else {
			snprintf(why, sizeof(why), "the kernel offers no such hugepages");
			snprintf(fix, sizeof(fix), "--huge-size with a size offered here (%s)",
			         sizes);
		}
		problem(true, fix,
		        "--huge-size %s: %s, so tarn_init() refuses the option (Invalid argument); "
		        "hugepage sizes here: %s",
		        pn, why, sizes);
		return 1;
	}
	unsigned sockets = tarn_socket_count();
	unsigned short_nodes = 0;
	printf("hugepages of %llu kB per node:\n", (unsigned long long)(page >> 10));
	for (unsigned s = 0; s < TARN_MAX_SOCKETS; s++) {
		uint64_t need = (cfg->socket_mem_mb[s] << 20) / page +
		                ((cfg->socket_mem_mb[s] << 20) % page != 0);
		if (s >= sockets) {
			if (cfg->socket_mem_mb[s] != 0)
				problem(
				    true, "give --socket-mem one value per existing socket",
				    "--socket-mem asks for %llu MiB on socket %u, but this machine "
				    "has %u socket%s",
				    (unsigned long long)cfg->socket_mem_mb[s], s, sockets,
				    sockets == 1 ? "" : "s");
			continue;
		}
		char dir[256], path[300];
		huge_dir((int)s, page, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/free_hugepages", dir);
		long fr = read_long(path);
		snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
		long total = read_long(path);
		if (fr < 0)
			fr = 0;
		if (total < 0)
			total = 0;
		bool shortfall = (uint64_t)fr < need;
		printf("  node %u: %ld free of %ld; --socket-mem needs %llu%s\n", s, fr, total,
		       (unsigned long long)need, shortfall ? "  <-- short" : "");
		if (!shortfall)
			continue;
		short_nodes++;
		/* The missing pages come from the node's memory: a fix is given
		 * only when the node has that much available. */
		uint64_t add = need - (uint64_t)fr, mem_total;
		uint64_t avail = node_available((int)s, &mem_total);
		char a[32], t[32], b[32], w[32];
		print_size(avail, a, sizeof(a));
		print_size(mem_total, t, sizeof(t));
		print_size(add * page, b, sizeof(b));
		print_size(cfg->socket_mem_mb[s] << 20, w, sizeof(w));
		if (avail != 0 && add * page > avail) {
			memory_impossible = true;
			problem(
			    true, NULL,
			    "--socket-mem asks for %s on socket %u: node %u has %ld free %s "
			    "hugepages and %s of memory available (%s in all), %s short, so it "
			    "cannot be reserved, in hugepages or not. Ask for at most about %llu "
			    "MiB there, or free memory first",
			    w, s, s, fr, pn, a, t, b,
			    (unsigned long long)(((uint64_t)fr * page + avail) >> 20));
			continue;
		}
		char fix[700];
		snprintf(
		    fix, sizeof(fix),
		    "echo %llu > %s/nr_hugepages   (takes %s of the %s available on node %u%s)",
		    (unsigned long long)((uint64_t)total + add), dir, b, a, s,
		    page >= (1ull << 30)
		        ? "; 1 GiB pages are seldom free after boot: if nr_hugepages stays "
		          "lower, boot with 'hugepagesz=1G hugepages=N'"
		        : "");
		bool fatal = cfg->huge_policy == TARN_HUGE_REQUIRE;
		problem(fatal, fix,
		        "node %u has %ld free %llu kB hugepages, --socket-mem needs %llu%s", s, fr,
		        (unsigned long long)(page >> 10), (unsigned long long)need,
		        fatal ? " (--huge require: tarn_init fails)"
		              : " (tarn falls back to normal pages, not hugepages)");
	}
	return short_nodes;
}

/* Stale hugepage files: `<prefix>.tarnseg.*` with no lock holder. */
static void check_stale(const struct tarn_config *cfg)
{
	printf("hugepage files of tarn:\n");
	unsigned found = 0;
	FILE *f = setmntent("/proc/mounts", "re");
	if (f == NULL)
		return;
	struct mntent m;
	char strings[4096];
	while (getmntent_r(f, &m, strings, sizeof(strings)) != NULL) {
		if (strcmp(m.mnt_type, "hugetlbfs") != 0)
			continue;
		DIR *d = opendir(m.mnt_dir);
		if (d == NULL)
			continue;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			const char *tag = strstr(e->d_name, ".tarnseg.");
			if (tag == NULL || tag == e->d_name)
				continue;
			char path[4352];
			snprintf(path, sizeof(path), "%s/%s", m.mnt_dir, e->d_name);
			/* a FIFO (or device) of that name would block open(): only
			 * regular files, opened non-blocking */
			struct stat lst;
			if (lstat(path, &lst) != 0)
				continue;
			if (!S_ISREG(lst.st_mode)) {
				printf("  %s: not a regular file (mode %06o): not tarn's, left "
				       "alone\n",
				       path, (unsigned)lst.st_mode);
				continue;
			}
			int fd =
			    open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
			bool in_use = true;
			if (fd >= 0) {
				/* Take the lock only to test it; release at once. */
				if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
					in_use = false;
					flock(fd, LOCK_UN);
				}
				close(fd);
			}
			struct stat st;
			uint64_t sz = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
			char s[32];
			print_size(sz, s, sizeof(s));
			int plen = (int)(tag - e->d_name);
			printf("  %s: %s, prefix '%.*s', %s\n", path, s, plen, e->d_name,
			       in_use ? "in use (locked by a running process)" : "STALE");
			found++;
			if (!in_use) {
				char fix[4500];
				snprintf(fix, sizeof(fix),
				         "rm -f %s   (or start any tarn program with --file-prefix "
				         "%.*s: "
				         "it removes its prefix's stale files)",
				         path, plen, e->d_name);
				problem(
				    false, fix,
				    "stale hugepage file %s holds %s of hugepages (its process is "
				    "gone)",
				    path, s);
			}
		}
		closedir(d);
	}
	endmntent(f);
	if (found == 0)
		printf("  (none)\n");
	(void)cfg;
}

/* Log lines of the trial init, kept for the report. */
static char trial_log[8192];
static size_t trial_len;

static void trial_log_fn(enum tarn_log_level level, const char *comp, const char *msg, void *arg)
{
	(void)arg;
	const char *lv = level <= TARN_LOG_ERR       ? "error: "
	                 : level == TARN_LOG_WARNING ? "warning: "
	                                             : "";
	int w = snprintf(trial_log + trial_len, sizeof(trial_log) - trial_len, "    %s: %s%s\n",
	                 comp, lv, msg);
	if (w > 0 && (size_t)w < sizeof(trial_log) - trial_len)
		trial_len += (size_t)w;
}

static int trial_init(struct tarn_config *cfg)
{
	/* Show what tarn chose: info level, captured. */
	if (cfg->log_level < TARN_LOG_INFO)
		cfg->log_level = TARN_LOG_INFO;
	tarn_log_set_handler(trial_log_fn, NULL);
	int rc = tarn_init(cfg);
	tarn_log_set_handler(NULL, NULL);
	printf("trial tarn_init(): %s\n", rc == 0 ? "OK" : tarn_strerror(rc));
	fputs(trial_log, stdout);
	if (rc == 0) {
		printf("  memory it got:\n");
		fflush(stdout);
		tarn_mem_dump(stdout);
		doctor_trial_devices();
		tarn_cleanup();
	}
	return rc;
}

int main(int argc, char **argv)
{
	bool trial = true;
	const char *pci[DOCTOR_MAX_PCI];
	unsigned n_pci = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout, argv[0]);
			return 0;
		}
		if (strcmp(argv[i], "--no-trial") == 0) {
			trial = false;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
			continue;
		}
		/* --pci ADDR or --pci=ADDR: a device to check (devices.c). */
		if (strcmp(argv[i], "--pci") == 0 || strncmp(argv[i], "--pci=", 6) == 0) {
			int take = argv[i][5] == '=' ? 1 : 2;
			const char *a =
			    take == 1 ? argv[i] + 6 : (i + 1 < argc ? argv[i + 1] : NULL);
			if (a == NULL || a[0] == '\0') {
				fprintf(stderr, "%s: --pci needs a device address (DDDD:BB:DD.F)\n",
				        argv[0]);
				return 2;
			}
			if (n_pci == DOCTOR_MAX_PCI) {
				fprintf(stderr, "%s: at most %d --pci devices\n", argv[0],
				        DOCTOR_MAX_PCI);
				return 2;
			}
			pci[n_pci++] = a;
			memmove(&argv[i], &argv[i + take],
			        (size_t)(argc - i - take + 1) * sizeof(*argv));
			argc -= take;
			i--;
		}
	}
	struct tarn_config cfg;
	if (tarn_config_init(&cfg) < 0) {
		fprintf(stderr, "%s: bad TARN_* environment variable (see above)\n", argv[0]);
		return 2;
	}
	if (tarn_config_parse_args(&cfg, &argc, argv) < 0) {
		fprintf(stderr, "%s: bad tarn option (see --help)\n", argv[0]);
		return 2;
	}
	if (argc > 1) {
		fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", argv[0], argv[1]);
		return 2;
	}
	uint64_t page = cfg.huge_page_size ? cfg.huge_page_size : tarn_hugepage_default_size();
	printf("tarn-doctor %s: checking --socket-mem", tarn_version());
	unsigned last = 0;
	for (unsigned s = 0; s < TARN_MAX_SOCKETS; s++)
		if (cfg.socket_mem_mb[s] != 0)
			last = s + 1;
	if (last == 0)
		printf(" (none)");
	for (unsigned s = 0; s < last; s++)
		printf("%s%llu", s ? "," : " ", (unsigned long long)cfg.socket_mem_mb[s]);
	printf(" --huge %s, %llu kB hugepages, --file-prefix %s%s%s\n\n",
	       policy_name(cfg.huge_policy), (unsigned long long)(page >> 10), cfg.file_prefix,
	       cfg.huge_dir[0] ? ", --huge-dir " : "", cfg.huge_dir);

	check_privileges();
	check_memlock();
	check_thp();
	unsigned short_nodes = check_hugepages(&cfg, page);
	char mount[TARN_PATH_SIZE] = "";
	if (cfg.huge_policy != TARN_HUGE_NONE)
		check_mounts(&cfg, page, mount, sizeof(mount));
	check_stale(&cfg);
	printf("\n");
	doctor_check_devices(&cfg, pci, n_pci);

	int trial_rc = 0;
	uint64_t reserve = 0;
	for (unsigned s = 0; s < TARN_MAX_SOCKETS; s++)
		reserve += cfg.socket_mem_mb[s] << 20;
	if (trial && memory_impossible) {
		printf("\ntrial tarn_init(): not run: --socket-mem asks for more memory than the "
		       "machine has available (it would fail, or wake the OOM killer)\n");
		trial = false;
	}
	if (trial) {
		printf("\n");
		if (reserve > 0) {
			char r[32];
			print_size(reserve, r, sizeof(r));
			/* Say it first: a large reservation takes seconds. */
			printf(
			    "trial: tarn_init() now reserves and touches %s (--socket-mem), then "
			    "frees it (--no-trial skips this)\n",
			    r);
			fflush(stdout);
		}
		trial_rc = trial_init(&cfg);
		bool explained = false;
		for (unsigned i = 0; i < n_problems; i++)
			explained |= problems[i].fatal;
		if (trial_rc != 0 && !explained)
			problem(true, "see the trial's log lines above", "tarn_init() failed: %s",
			        tarn_strerror(trial_rc));
	}

	bool fatal = false;
	printf("\n");
	if (n_problems == 0) {
		printf("no problems found.\n");
	} else {
		printf("problems and fixes:\n");
		for (unsigned i = 0; i < n_problems; i++) {
			printf("  [%s] %s\n", problems[i].fatal ? "error" : "warning",
			       problems[i].what);
			if (problems[i].fix[0] != '\0')
				printf("      fix: %s\n", problems[i].fix);
			fatal |= problems[i].fatal;
		}
	}
	fatal |= trial_rc != 0;
	printf("\nverdict: tarn %s as asked%s\n", fatal ? "CANNOT start" : "can start",
	       !fatal && short_nodes > 0 ? " (on normal pages where hugepages are short)" : "");
	return fatal ? 1 : 0;
}
