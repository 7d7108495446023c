/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_startup.c - start-up family of tarn-bench: what a program pays
 * before its first packet buffer, tarn against DPDK, each start in a fresh
 * process.
 *
 * Each repetition starts two children (tarn-bench itself, told by the
 * environment which side to play, see below), one after the other, the
 * order alternating between repetitions. The tarn child runs tarn_init()
 * then tarn_pktmbuf_pool_create() of STARTUP_MBUFS mbufs (cache
 * STARTUP_CACHE, the default data room), then frees the pool and runs
 * tarn_cleanup(). The DPDK child does the same with rte_eal_init() and
 * rte_pktmbuf_pool_create(), rte_mempool_free() and rte_eal_cleanup().
 * Both on the bench lcores, on hugepages when the parent found enough free
 * (else neither), without telemetry, with their own file prefix; the DPDK
 * child gets tarn-bench's own EAL options (--no-pci, --in-memory, ...).
 *
 * Rows (times in ms; ratio = DPDK's time / tarn's, so above 1.0 means tarn
 * is faster, as in every other family):
 *   init                 tarn_init() / rte_eal_init()
 *   pool create          the pktmbuf pool create call alone
 *   init + pool create   the two together (what a program waits for)
 *   exec to pool ready   from the parent's fork() to the pool being ready:
 *                        adds the exec and the dynamic loading of the
 *                        binary. Both children are tarn-bench, which links
 *                        DPDK, so the tarn child loads (and runs the
 *                        constructors of) DPDK's libraries too.
 *   teardown             pool free + tarn_cleanup() / rte_eal_cleanup()
 *   ..., CPU time        the process's CPU time (every thread, user and
 *                        system: CLOCK_PROCESS_CPUTIME_ID) over the pool
 *                        create, and over init + pool create. On a busy
 *                        machine the wall clock includes waiting for a CPU;
 *                        this does not. Work spread over several threads
 *                        makes it exceed the wall time.
 *
 * One untimed start of each side comes first (binary and libraries in the
 * page cache, like any second start of a program).
 *
 * The children: TARN_BENCH__STARTUP=tarn|dpdk names the side,
 * TARN_BENCH__FD the pipe to report on, TARN_BENCH__LCORES the CPUs,
 * TARN_BENCH__HUGE 1 or 0. A child writes one line "ok T_MAIN T_INIT0
 * T_INIT1 T_POOL T_END C_INIT0 C_INIT1 C_POOL" (CLOCK_MONOTONIC nanoseconds:
 * main() entered, init called, init returned, pool ready, teardown done;
 * then the process's CPU time at init called, init returned and pool ready)
 * or "err MESSAGE". These
 * variables are internal to tarn-bench.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tarn/tarn.h>

#include "bench.h"

#ifdef TARN_BENCH_HAVE_DPDK
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#endif

#define STARTUP_MBUFS 65535u
#define STARTUP_CACHE 256u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time of the whole process (every thread), ns. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What a child measures: wall clock (CLOCK_MONOTONIC) at main(), before
 * init, after init, after the pool create, after teardown; process CPU
 * time before init, after init, after the pool create. */
struct child_times {
	uint64_t t_main, t0, t1, t2, t3;
	uint64_t c0, c1, c2;
};

#define CHILD_FMT                                                                                  \
	"ok %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64      \
	" %" PRIu64 "\n"
#define CHILD_SCAN                                                                                 \
	"ok %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64      \
	" %" SCNu64

/* ------------------------------------------------------------------------ */
/* Children                                                                  */

static void child_report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_report(int fd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	const char *p = line;
	while (n > 0) {
		ssize_t w = write(fd, p, (size_t)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (int)w;
	}
}

static int child_tarn(int fd, const char *lcores, int huge, uint64_t t_main)
{
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	snprintf(cfg.lcores, sizeof(cfg.lcores), "%s", lcores);
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-bench-st-%d", (int)getpid());
	cfg.huge_policy = huge ? TARN_HUGE_REQUIRE : TARN_HUGE_NONE;
	cfg.no_telemetry = 1;
	struct child_times ct = { .t_main = t_main };
	ct.c0 = cpu_ns();
	ct.t0 = now_ns();
	int rc = tarn_init(&cfg);
	ct.t1 = now_ns();
	ct.c1 = cpu_ns();
	if (rc < 0) {
		child_report(fd, "err tarn_init: %s\n", tarn_strerror(rc));
		return 1;
	}
	struct tarn_mempool *mp =
	    tarn_pktmbuf_pool_create("startup", STARTUP_MBUFS, STARTUP_CACHE, 0,
	                             TARN_MBUF_DEFAULT_BUF_SIZE, TARN_SOCKET_ANY);
	ct.t2 = now_ns();
	ct.c2 = cpu_ns();
	if (mp == NULL) {
		child_report(fd, "err tarn_pktmbuf_pool_create: %s\n", tarn_strerror(tarn_errno));
		tarn_cleanup();
		return 1;
	}
	rc = tarn_mempool_free(mp, 0);
	tarn_cleanup();
	ct.t3 = now_ns();
	if (rc != 0) {
		child_report(fd, "err tarn_mempool_free: %s\n", tarn_strerror(rc));
		return 1;
	}
	child_report(fd, CHILD_FMT, ct.t_main, ct.t0, ct.t1, ct.t2, ct.t3, ct.c0, ct.c1, ct.c2);
	return 0;
}

#ifdef TARN_BENCH_HAVE_DPDK
static int child_dpdk(int fd, const char *lcores, int huge, uint64_t t_main)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "tarn-bench-st-dpdk-%d", (int)getpid());
	char *argv[BENCH_EAL_ARGV];
	int argc = bench_eal_argv(argv, lcores, prefix, huge, "512");
	struct child_times ct = { .t_main = t_main };
	ct.c0 = cpu_ns();
	ct.t0 = now_ns();
	int rc = rte_eal_init(argc, argv);
	ct.t1 = now_ns();
	ct.c1 = cpu_ns();
	if (rc < 0) {
		child_report(fd, "err rte_eal_init: %s\n", rte_strerror(rte_errno));
		/* the EAL may have made its runtime directory before failing
		 * (the path is set early: empty when it did not get that far) */
		const char *dir = rte_eal_get_runtime_dir();
		if (dir != NULL && strstr(dir, prefix) != NULL)
			rmdir(dir);
		return 1;
	}
	struct rte_mempool *mp =
	    rte_pktmbuf_pool_create("startup", STARTUP_MBUFS, STARTUP_CACHE, 0,
	                            RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	ct.t2 = now_ns();
	ct.c2 = cpu_ns();
	char rundir[4096];
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	if (mp == NULL) {
		child_report(fd, "err rte_pktmbuf_pool_create: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		rmdir(rundir);
		return 1;
	}
	rte_mempool_free(mp);
	rte_eal_cleanup();
	ct.t3 = now_ns();
	rmdir(rundir);
	child_report(fd, CHILD_FMT, ct.t_main, ct.t0, ct.t1, ct.t2, ct.t3, ct.c0, ct.c1, ct.c2);
	return 0;
}
#endif

int bench_startup_child(const char *side, uint64_t t_main)
{
	const char *fds = getenv("TARN_BENCH__FD"), *lcores = getenv("TARN_BENCH__LCORES"),
	           *huge = getenv("TARN_BENCH__HUGE");
	if (fds == NULL || lcores == NULL || huge == NULL) {
		fprintf(stderr, "tarn-bench: TARN_BENCH__STARTUP is internal to tarn-bench "
		                "(its start-up benchmark sets it): unset it\n");
		return 2;
	}
	int fd = atoi(fds);
	if (strcmp(side, "tarn") == 0)
		return child_tarn(fd, lcores, strcmp(huge, "1") == 0, t_main);
#ifdef TARN_BENCH_HAVE_DPDK
	if (strcmp(side, "dpdk") == 0)
		return child_dpdk(fd, lcores, strcmp(huge, "1") == 0, t_main);
#endif
	child_report(fd, "err unknown side '%s'\n", side);
	return 2;
}

/* ------------------------------------------------------------------------ */
/* Parent                                                                    */

enum { ROW_INIT, ROW_POOL, ROW_BOTH, ROW_EXEC, ROW_TEARDOWN, ROW_POOL_CPU, ROW_BOTH_CPU, N_ROWS };

/* Seconds of each row for one start. */
struct start_times {
	double s[N_ROWS];
};

/*
 * Start one child playing `side`; fill `t`. 0, or -1 with a message.
 */
static int start_child(const struct bench_ctx *ctx, const char *side, int huge,
                       struct start_times *t)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		perror("tarn-bench: pipe");
		return -1;
	}
	char lcores[32], fdstr[16];
	if (ctx->n_lcores == 2)
		snprintf(lcores, sizeof(lcores), "%u,%u", ctx->lcores[0], ctx->lcores[1]);
	else
		snprintf(lcores, sizeof(lcores), "%u", ctx->lcores[0]);
	snprintf(fdstr, sizeof(fdstr), "%d", pfd[1]);
	fflush(NULL);
	const uint64_t t_fork = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("tarn-bench: fork");
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		/* the write end survives the exec; the read end does not */
		int flags = fcntl(pfd[1], F_GETFD);
		if (flags < 0 || fcntl(pfd[1], F_SETFD, flags & ~FD_CLOEXEC) < 0)
			_exit(127);
		setenv("TARN_BENCH__STARTUP", side, 1);
		setenv("TARN_BENCH__FD", fdstr, 1);
		setenv("TARN_BENCH__LCORES", lcores, 1);
		setenv("TARN_BENCH__HUGE", huge ? "1" : "0", 1);
		char *argv[] = { "tarn-bench", NULL };
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pfd[1]);
	char buf[512];
	size_t len = 0;
	for (;;) {
		ssize_t r = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	struct child_times c;
	if (sscanf(buf, CHILD_SCAN, &c.t_main, &c.t0, &c.t1, &c.t2, &c.t3, &c.c0, &c.c1, &c.c2) !=
	        8 ||
	    !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char *nl = strchr(buf, '\n');
		if (nl != NULL)
			*nl = '\0';
		fprintf(stderr, "tarn-bench: start-up child (%s) failed (%s%d): %s\n", side,
		        WIFEXITED(st) ? "exit " : "signal ",
		        WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
		        len > 0 ? buf : "no report");
		return -1;
	}
	t->s[ROW_INIT] = (double)(c.t1 - c.t0) * 1e-9;
	t->s[ROW_POOL] = (double)(c.t2 - c.t1) * 1e-9;
	t->s[ROW_BOTH] = (double)(c.t2 - c.t0) * 1e-9;
	t->s[ROW_EXEC] = (double)(c.t2 - t_fork) * 1e-9;
	t->s[ROW_TEARDOWN] = (double)(c.t3 - c.t2) * 1e-9;
	t->s[ROW_POOL_CPU] = (double)(c.c2 - c.c1) * 1e-9;
	t->s[ROW_BOTH_CPU] = (double)(c.c2 - c.c0) * 1e-9;
	return 0;
}

int bench_startup(const struct bench_ctx *ctx, int huge, int dpdk)
{
	static const char *const labels[N_ROWS] = {
		"init (tarn_init / rte_eal_init)",
		"pktmbuf pool create, 65535 mbufs, cache 256",
		"init + pool create",
		"exec to pool ready (same binary, DPDK libs in both)",
		"teardown (pool free + cleanup)",
		"pool create, CPU time (all threads)",
		"init + pool create, CPU time (all threads)",
	};
	static const char *const keys[N_ROWS] = {
		"init",     "pool_create",     "init_pool",     "exec_to_ready",
		"teardown", "pool_create_cpu", "init_pool_cpu",
	};
	struct bench_row rows[N_ROWS];
	int want[N_ROWS], any = 0;
	memset(rows, 0, sizeof(rows));
	for (unsigned i = 0; i < N_ROWS; i++) {
		struct bench_row *row = &rows[i];
		row->family = "startup";
		row->time_unit = 1;
		snprintf(row->label, sizeof(row->label), "%s", labels[i]);
		bench_param_str(row, "phase", keys[i]);
		bench_param_uint(row, "mbufs", STARTUP_MBUFS);
		bench_param_uint(row, "pool_cache", STARTUP_CACHE);
		bench_param_uint(row, "data_room", TARN_MBUF_DEFAULT_BUF_SIZE);
		bench_param_uint(row, "lcores", ctx->n_lcores);
		bench_param_str(row, "memory", huge ? "hugepages" : "no hugepages");
		want[i] = ctx->filter == NULL || strstr(row->label, ctx->filter) != NULL;
		any |= want[i];
	}
	if (!any)
		return 0;
	bench_table_header_unit(ctx, "startup (each start a new process; times per start)", "phase",
	                        "ms");
	/* untimed first starts: binary and libraries in the page cache */
	struct start_times tt, dt;
	if (start_child(ctx, "tarn", huge, &tt) < 0)
		return -EIO;
	if (dpdk && start_child(ctx, "dpdk", huge, &dt) < 0)
		return -EIO;
	for (unsigned r = 0; r < ctx->repeat; r++) {
		const int dpdk_first = r % 2 == 1;
		if (dpdk && dpdk_first && start_child(ctx, "dpdk", huge, &dt) < 0)
			return -EIO;
		if (start_child(ctx, "tarn", huge, &tt) < 0)
			return -EIO;
		if (dpdk && !dpdk_first && start_child(ctx, "dpdk", huge, &dt) < 0)
			return -EIO;
		for (unsigned i = 0; i < N_ROWS; i++)
			bench_row_add_rep(&rows[i], 1.0 / tt.s[i], dpdk ? 1.0 / dt.s[i] : 0);
	}
	for (unsigned i = 0; i < N_ROWS; i++)
		if (want[i])
			bench_row_print(ctx, &rows[i]);
	return 0;
}
