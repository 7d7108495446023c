/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tarn-doctor: the preflight to run when a tarn program does not start.
 *
 * Takes the same tarn options as the program (--socket-mem, --huge,
 * --huge-dir, --huge-size, --file-prefix, ...) and checks, for that request:
 * privileges, the memlock limit, transparent huge pages, free hugepages per
 * node against what --socket-mem needs, hugetlbfs mounts, stale hugepage
 * files of tarn's prefixes; then it tries tarn_init() with those options.
 * Every problem comes with the exact command that fixes it.
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

#define CAP_IPC_LOCK_BIT  14
#define CAP_SYS_ADMIN_BIT 21

/* Problems found, printed at the end with their fixes. */
#define MAX_PROBLEMS 64
static struct problem {
	bool fatal; /* tarn cannot start as asked */
	char what[512];
	char fix[768];
} problems[MAX_PROBLEMS];
static unsigned n_problems;

__attribute__((format(printf, 3, 4))) static void problem(bool fatal, const char *fix,
                                                          const char *fmt, ...)
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
	        "usage: %s [--no-trial] [tarn options]\n\n"
	        "Check whether tarn can start with the given options and say how to fix\n"
	        "what is missing: hugepages per node against --socket-mem, hugetlbfs mounts,\n"
	        "the memlock limit, privileges, stale hugepage files. Then try tarn_init()\n"
	        "with the options (skip with --no-trial).\n\n"
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
	else if (b >= (1ull << 20))
		snprintf(buf, size, "%llu MiB", (unsigned long long)(b >> 20));
	else
		snprintf(buf, size, "%llu KiB", (unsigned long long)(b >> 10));
}

/* CapEff from /proc/self/status. */
static uint64_t cap_eff(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return 0;
	char line[256];
	unsigned long long v = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void check_privileges(void)
{
	uint64_t caps = cap_eff();
	bool ipc_lock = caps & (1ull << CAP_IPC_LOCK_BIT);
	bool sys_admin = caps & (1ull << CAP_SYS_ADMIN_BIT);
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
	bool ipc_lock = cap_eff() & (1ull << CAP_IPC_LOCK_BIT);
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
	if (f != NULL) {
		struct mntent m;
		char strings[4096];
		while (getmntent_r(f, &m, strings, sizeof(strings)) != NULL) {
			if (strcmp(m.mnt_type, "hugetlbfs") != 0)
				continue;
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
	if (cfg->huge_dir[0] != '\0') {
		if (access(cfg->huge_dir, W_OK | X_OK) != 0) {
			char fix[600];
			snprintf(fix, sizeof(fix),
			         "mkdir -p %s && mount -t hugetlbfs -o pagesize=%lluM none %s",
			         cfg->huge_dir, (unsigned long long)(page >> 20), cfg->huge_dir);
			problem(true, fix, "--huge-dir %s is missing or not writable",
			        cfg->huge_dir);
		}
		return true;
	}
	if (!found && page != 0 && cfg->huge_policy != TARN_HUGE_NONE) {
		char fix[256];
		snprintf(fix, sizeof(fix),
		         "mkdir -p /dev/hugepages && mount -t hugetlbfs -o pagesize=%lluM none "
		         "/dev/hugepages   (or: scripts/hugepages.sh)",
		         (unsigned long long)(page >> 20));
		problem(
		    false, fix,
		    "no writable hugetlbfs mount for %llu kB pages: tarn uses memfd or anonymous "
		    "hugepages instead (works; no files to inspect)",
		    (unsigned long long)(page >> 10));
	}
	return found;
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
		return 0;
	}
	if (page == 0) {
		problem(
		    cfg->huge_policy == TARN_HUGE_REQUIRE, NULL, "the kernel offers no hugepages%s",
		    cfg->huge_policy == TARN_HUGE_REQUIRE ? " but --huge require asks for them"
		                                          : ": tarn falls back to normal pages");
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
		char fix[400];
		snprintf(fix, sizeof(fix), "echo %llu > %s/nr_hugepages",
		         (unsigned long long)((uint64_t)total + need - (uint64_t)fr), dir);
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
			int fd = open(path, O_RDONLY | O_CLOEXEC);
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
		tarn_cleanup();
	}
	return rc;
}

int main(int argc, char **argv)
{
	bool trial = true;
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
		}
	}
	struct tarn_config cfg;
	tarn_config_init(&cfg);
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

	int trial_rc = 0;
	if (trial) {
		printf("\n");
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
