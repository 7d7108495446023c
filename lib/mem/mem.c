/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mem.c - tarn__mem_init()/tarn__mem_cleanup(), statistics and dump.
 *
 * Init phases (each timed in the debug log):
 *   probe    choose the hugepage size and mount, probe every backend the
 *            policy allows, best first;
 *   stale    remove hugetlbfs files of this prefix left by dead processes;
 *   reserve  --socket-mem: count free hugepages per node (one log line for
 *            every shortage), then reserve, bind and populate each socket's
 *            segment in its own thread, all nodes in parallel.
 */
#include <mntent.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem_priv.h"

struct tarn__mem_state tarn__mem = { .forced_tier = -1 };

static const char *const policy_names[] = {
	[TARN_HUGE_PREFER] = "prefer",
	[TARN_HUGE_REQUIRE] = "require",
	[TARN_HUGE_NONE] = "none",
};

int tarn__mem_force_backend(const char *name)
{
	if (name == NULL) {
		tarn__mem.forced_tier = -1;
		return 0;
	}
	for (int t = 0; t < TARN__TIER_COUNT; t++) {
		if (strcmp(tarn__mem_backends[t]->name, name) == 0) {
			tarn__mem.forced_tier = t;
			return 0;
		}
	}
	return -EINVAL;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* Choose the hugepage size and the hugetlbfs mount. */
static int choose_huge(const struct tarn_config *cfg, struct tarn__mem_ctx *ctx)
{
	ctx->huge_page_size = 0;
	ctx->huge_dir[0] = '\0';
	if (cfg->huge_policy == TARN_HUGE_NONE)
		return 0;
	uint64_t size = cfg->huge_page_size;
	if (cfg->huge_dir[0] != '\0') {
		int64_t ps = tarn__hugetlbfs_pagesize(cfg->huge_dir);
		if (ps < 0) {
			TARN__ERR(MEM_LOG, "--huge-dir %s: %s", cfg->huge_dir,
			          ps == -EINVAL ? "not a hugetlbfs mount" : strerror((int)-ps));
			return -EINVAL;
		}
		if (size != 0 && (uint64_t)ps != size) {
			TARN__ERR(
			    MEM_LOG, "--huge-dir %s has %lld kB pages, --huge-size asks %llu kB",
			    cfg->huge_dir, (long long)ps >> 10, (unsigned long long)size >> 10);
			return -EINVAL;
		}
		size = (uint64_t)ps;
		snprintf(ctx->huge_dir, sizeof(ctx->huge_dir), "%s", cfg->huge_dir);
	}
	if (size == 0)
		size = tarn_hugepage_default_size();
	char dir[256];
	if (size == 0 || tarn__huge_sysfs_dir(0, size, dir, sizeof(dir)) < 0) {
		if (cfg->huge_page_size != 0) {
			TARN__ERR(MEM_LOG,
			          "--huge-size %llu kB: the kernel offers no such hugepages",
			          (unsigned long long)cfg->huge_page_size >> 10);
			return -EINVAL;
		}
		TARN__DEBUG(MEM_LOG, "the kernel offers no hugepages");
		return 0;
	}
	ctx->huge_page_size = size;
	if (ctx->huge_dir[0] == '\0' &&
	    tarn__hugetlbfs_mount(size, ctx->huge_dir, sizeof(ctx->huge_dir)) < 0)
		ctx->huge_dir[0] = '\0';
	return 0;
}

/* Probe the tiers the policy allows; fill tarn__mem.tiers. */
static void probe_tiers(enum tarn_huge_policy policy)
{
	int first = policy == TARN_HUGE_NONE ? TARN__TIER_THP : TARN__TIER_HUGETLBFS;
	int last = policy == TARN_HUGE_REQUIRE ? TARN__TIER_ANON_HUGE : TARN__TIER_4K;
	unsigned n = 0;
	char list[256] = "";
	size_t used = 0;
	for (int t = first; t <= last; t++) {
		const struct tarn__mem_backend *be = tarn__mem_backends[t];
		char why[TARN__MEM_WHY_SIZE] = "";
		int rc = be->probe(&tarn__mem.ctx, why, sizeof(why));
		if (rc < 0) {
			TARN__DEBUG(MEM_LOG, "backend %s unusable: %s", be->name, why);
			continue;
		}
		tarn__mem.tiers[n++] = t;
		int w =
		    snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", be->name);
		if (w > 0 && (size_t)w < sizeof(list) - used)
			used += (size_t)w;
	}
	tarn__mem.tiers[n] = -1;
	if (tarn__mem.forced_tier >= 0)
		TARN__INFO(MEM_LOG, "backend forced to %s",
		           tarn__mem_backends[tarn__mem.forced_tier]->name);
	TARN__INFO(MEM_LOG, "policy %s, %llu kB hugepages%s%s; backends, best first: %s",
	           policy_names[policy], (unsigned long long)(tarn__mem.ctx.huge_page_size >> 10),
	           tarn__mem.ctx.huge_dir[0] ? ", hugetlbfs at " : "", tarn__mem.ctx.huge_dir,
	           n ? list : "(none)");
}

/* Remove stale files of our prefix in every hugetlbfs mount. */
static void clean_stale(const struct tarn_config *cfg)
{
	if (cfg->huge_dir[0] != '\0')
		tarn__huge_clean_stale(cfg->huge_dir, cfg->file_prefix);
	FILE *f = setmntent("/proc/mounts", "re");
	if (f == NULL)
		return;
	struct mntent m;
	char strings[4096];
	while (getmntent_r(f, &m, strings, sizeof(strings)) != NULL) {
		if (strcmp(m.mnt_type, "hugetlbfs") != 0 || strcmp(m.mnt_dir, cfg->huge_dir) == 0)
			continue;
		tarn__huge_clean_stale(m.mnt_dir, cfg->file_prefix);
	}
	endmntent(f);
}

/* One socket's --socket-mem reservation, run in its own thread. */
struct socket_job {
	struct tarn__seg_req req;
	struct tarn__mem_seg *seg;
	int rc;
	pthread_t thread;
	bool started;
};

static void *socket_job_run(void *arg)
{
	struct socket_job *j = arg;
	/* A thread of our own runs where its memory goes, so zeroing is
	 * node-local (best effort); the caller's thread keeps its affinity. */
	if (j->started && tarn__mem.ctx.numa)
		numa_run_on_node(j->req.socket);
	j->seg = tarn__mem_seg_create(&j->req, &j->rc);
	return NULL;
}

/*
 * Count hugepages for every socket with --socket-mem; return the number of
 * sockets short and write one line describing all of them.
 */
static unsigned precheck(const struct tarn_config *cfg, bool short_out[], char *line, size_t size)
{
	uint64_t page = tarn__mem.ctx.huge_page_size;
	unsigned n_short = 0;
	size_t used = 0;
	line[0] = '\0';
	bool any_huge = false;
	for (const int *t = tarn__mem.tiers; *t >= 0; t++)
		if (tarn__mem_backends[*t]->huge &&
		    (tarn__mem.forced_tier < 0 || tarn__mem.forced_tier == *t))
			any_huge = true;
	for (unsigned s = 0; s < tarn__mem.n_sockets; s++) {
		short_out[s] = false;
		if (cfg->socket_mem_mb[s] == 0 || !any_huge || page == 0)
			continue;
		uint64_t need = TARN_ALIGN_CEIL(cfg->socket_mem_mb[s] << 20, page) / page;
		int64_t fr = tarn__huge_free((int)s, page);
		if (fr >= 0 && (uint64_t)fr >= need)
			continue;
		short_out[s] = true;
		n_short++;
		int64_t total = tarn__huge_total((int)s, page);
		uint64_t have = fr < 0 ? 0 : (uint64_t)fr;
		char cmd[256];
		tarn__huge_fix_cmd((int)s, page, (uint64_t)(total < 0 ? 0 : total) + need - have,
		                   cmd, sizeof(cmd));
		int w =
		    snprintf(line + used, size - used,
		             "%s%llu hugepages of %llu kB needed on node %u, %llu free (fix: %s)",
		             used ? "; " : "", (unsigned long long)need,
		             (unsigned long long)(page >> 10), s, (unsigned long long)have, cmd);
		if (w > 0 && (size_t)w < size - used)
			used += (size_t)w;
	}
	return n_short;
}

/*
 * At exit, remove the names of our hugetlbfs files even when the program
 * did not call tarn_cleanup() (the memory itself goes with the process).
 * Only a crash leaves files, and the next tarn_init() of the prefix removes
 * them.
 */
static void mem_atexit(void)
{
	if (tarn__mem_ready() && getpid() == tarn__mem.pid)
		tarn__mem_seg_unlink_files();
}

static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

static void atexit_register(void)
{
	atexit(mem_atexit);
}

/* The policy the memory tiers are probed under: with physical IOVAs,
 * hugepages only (normal pages may move). -EINVAL (logged) when the
 * configuration asks for both. */
static int tier_policy_of(const struct tarn_config *cfg, enum tarn_huge_policy *policy)
{
	*policy = cfg->huge_policy;
	if (cfg->iova_mode != TARN_IOVA_PA)
		return 0;
	if (cfg->huge_policy == TARN_HUGE_NONE) {
		TARN__ERR(MEM_LOG, "--iova-mode pa needs hugepages (normal pages may move, "
		                   "so their physical address does not hold): drop "
		                   "--no-huge / --huge none, or use --iova-mode va");
		return -EINVAL;
	}
	if (cfg->huge_policy == TARN_HUGE_PREFER)
		TARN__INFO(MEM_LOG, "--iova-mode pa: hugepages only (no fallback to "
		                    "normal pages, whose physical addresses may change)");
	*policy = TARN_HUGE_REQUIRE;
	return 0;
}

/* Reserve and populate --socket-mem's segments: one thread per node (with
 * one node, this thread does the work). The jobs' results stay in `jobs`. */
static void socket_mem_run(const struct tarn_config *cfg, const bool *shortage,
                           struct socket_job *jobs)
{
	memset(jobs, 0, sizeof(*jobs) * TARN_MAX_SOCKETS);
	unsigned n_jobs = 0;
	for (unsigned s = 0; s < tarn__mem.n_sockets; s++) {
		struct socket_job *j = &jobs[s];
		if (cfg->socket_mem_mb[s] == 0)
			continue;
		j->req.socket = (int)s;
		j->req.min_len = cfg->socket_mem_mb[s] << 20;
		j->req.align = 0;
		j->req.initial = true;
		j->req.quiet = true;
		j->req.no_huge = shortage[s];
		n_jobs++;
	}
	for (unsigned s = 0; s < tarn__mem.n_sockets && n_jobs > 1; s++) {
		if (jobs[s].req.min_len == 0)
			continue;
		/* `started` is set before the thread reads it: pthread_create()
		 * orders the store before the thread's start. */
		jobs[s].started = true;
		if (pthread_create(&jobs[s].thread, NULL, socket_job_run, &jobs[s]) != 0)
			jobs[s].started = false;
	}
	for (unsigned s = 0; s < tarn__mem.n_sockets; s++) {
		if (jobs[s].req.min_len == 0)
			continue;
		if (jobs[s].started)
			pthread_join(jobs[s].thread, NULL);
		else
			socket_job_run(&jobs[s]);
	}
}

/* Log each job's segment (or why it has none); the first error, or 0. */
static int socket_mem_report(const bool *shortage, const struct socket_job *jobs)
{
	int rc = 0;
	for (unsigned s = 0; s < tarn__mem.n_sockets; s++) {
		const struct socket_job *j = &jobs[s];
		if (j->req.min_len == 0)
			continue;
		if (j->seg == NULL) {
			TARN__ERR(MEM_LOG, "--socket-mem: %s", j->req.why);
			if (rc == 0)
				rc = j->rc < 0 ? j->rc : -ENOMEM;
			continue;
		}
		if (j->req.fell_back && !shortage[s] &&
		    __atomic_exchange_n(&tarn__mem.fallback_logged, 1, __ATOMIC_RELAXED) == 0)
			TARN__WARN(MEM_LOG, "socket %u: hugepages unusable (%s): using %s pages", s,
			           j->req.why[0] ? j->req.why : "see --log-level debug",
			           j->seg->be->name);
		TARN__INFO(MEM_LOG,
		           "socket %u: %llu MiB from %s (%llu kB pages, %llu pages) reserved and "
		           "populated in %.3f ms",
		           s, (unsigned long long)(j->seg->len >> 20), j->seg->be->name,
		           (unsigned long long)(j->seg->page_size >> 10),
		           (unsigned long long)(j->seg->len / j->seg->page_size), ms(j->req.ns));
	}
	return rc;
}

/* --socket-mem: reserve what it asks for on each socket and give it to the
 * heaps, with normal pages where hugepages are short (unless `policy`
 * requires them). 0, or a negative errno (logged; nothing reserved). */
static int socket_mem_reserve(const struct tarn_config *cfg, enum tarn_huge_policy policy,
                              struct socket_job *jobs)
{
	bool shortage[TARN_MAX_SOCKETS];
	char line[1000];
	unsigned n_short = precheck(cfg, shortage, line, sizeof(line));
	if (n_short != 0) {
		if (policy == TARN_HUGE_REQUIRE) {
			TARN__ERR(MEM_LOG, "--socket-mem: not enough hugepages: %s", line);
			return -ENOMEM;
		}
		tarn__mem.fallback_logged = 1;
		TARN__WARN(MEM_LOG,
		           "--socket-mem: not enough hugepages, using normal pages instead: %s",
		           line);
	}
	socket_mem_run(cfg, shortage, jobs);
	int rc = socket_mem_report(shortage, jobs);
	if (rc < 0) {
		tarn__mem_seg_destroy_all();
		return rc;
	}
	for (unsigned s = 0; s < tarn__mem.n_sockets; s++)
		if (jobs[s].seg != NULL)
			tarn__heap_add_seg(jobs[s].seg);
	return 0;
}

/* The debug line with the time of each phase of init (and per socket). */
static void log_phases(const uint64_t t[4], const struct socket_job *jobs)
{
	char per[256] = "";
	size_t used = 0;
	for (unsigned s = 0; s < tarn__mem.n_sockets; s++) {
		if (jobs[s].seg == NULL)
			continue;
		int w = snprintf(per + used, sizeof(per) - used, "%ssocket %u %.3f ms",
		                 used ? ", " : " (", s, ms(jobs[s].req.ns));
		if (w > 0 && (size_t)w < sizeof(per) - used)
			used += (size_t)w;
	}
	if (used > 0 && used + 1 < sizeof(per))
		strcat(per, ")");
	TARN__DEBUG(MEM_LOG,
	            "init phases: probe %.3f ms, stale files %.3f ms, reserve+populate %.3f ms%s",
	            ms(t[1] - t[0]), ms(t[2] - t[1]), ms(t[3] - t[2]), per);
}

int tarn__mem_init(const struct tarn_config *cfg)
{
	if (cfg == NULL)
		return -EINVAL;
	if (tarn__mem_ready())
		return -EALREADY;
	uint64_t t[4];
	t[0] = tarn__now_ns();
	int forced = tarn__mem.forced_tier;
	memset(&tarn__mem, 0, sizeof(tarn__mem));
	tarn__mem.forced_tier = forced;
	tarn__mem.policy = cfg->huge_policy;
	tarn__mem.pid = getpid();
	pthread_once(&atexit_once, atexit_register);
	tarn__mem.n_sockets = tarn_socket_count();
	if (tarn__mem.n_sockets > TARN_MAX_SOCKETS)
		tarn__mem.n_sockets = TARN_MAX_SOCKETS;
	snprintf(tarn__mem.ctx.prefix, sizeof(tarn__mem.ctx.prefix), "%s", cfg->file_prefix);
	tarn__mem.ctx.numa = numa_available() >= 0;
	int rc = choose_huge(cfg, &tarn__mem.ctx);
	if (rc < 0)
		return rc;
	enum tarn_huge_policy tier_policy;
	rc = tier_policy_of(cfg, &tier_policy);
	if (rc < 0)
		return rc;
	rc = tarn__iova_init(cfg->iova_mode);
	if (rc < 0)
		return rc;
	tarn__mem.ctx.va_hint = cfg->iova_mode == TARN_IOVA_VA ? TARN__VA_HINT_BASE : 0;
	probe_tiers(tier_policy);
	if (tarn__mem.tiers[0] < 0) {
		TARN__ERR(MEM_LOG,
		          "no memory backend usable under --huge %s (run with "
		          "--log-level debug to see why)",
		          policy_names[cfg->huge_policy]);
		return -ENOMEM;
	}
	t[1] = tarn__now_ns();
	clean_stale(cfg);
	t[2] = tarn__now_ns();
	rc = tarn__heap_init();
	if (rc < 0)
		return rc;
	struct socket_job jobs[TARN_MAX_SOCKETS];
	rc = socket_mem_reserve(cfg, tier_policy, jobs);
	if (rc < 0) {
		tarn__heap_fini();
		return rc;
	}
	t[3] = tarn__now_ns();
	log_phases(t, jobs);
	/* Release: everything above is visible to a thread that sees ready
	 * (pairs with the acquire in tarn__mem_ready()). */
	__atomic_store_n(&tarn__mem.ready, 1, __ATOMIC_RELEASE);
	return 0;
}

void tarn__mem_cleanup(void)
{
	if (!tarn__mem_ready())
		return;
	/* No other thread uses tarn now (tarn_cleanup()'s contract). */
	__atomic_store_n(&tarn__mem.ready, 0, __ATOMIC_RELEASE);
	/* A forked child unmaps its copy; the files are its parent's. */
	if (getpid() != tarn__mem.pid)
		tarn__mem_seg_forget_files();
	tarn__memzone_fini();
	tarn__mem_seg_destroy_all();
	tarn__heap_fini();
}

/* ---- statistics --------------------------------------------------------- */

/* The backend the next segment of `socket` would come from. */
static const struct tarn__mem_backend *next_backend(void)
{
	for (const int *t = tarn__mem.tiers; *t >= 0; t++)
		if (tarn__mem.forced_tier < 0 || tarn__mem.forced_tier == *t)
			return tarn__mem_backends[*t];
	return NULL;
}

int tarn_mem_socket_stats(int socket, struct tarn_mem_socket_stats *stats)
{
	if (stats == NULL || !tarn__mem_ready())
		return -EINVAL;
	int s = tarn_socket_resolve(socket);
	if (s < 0 || (unsigned)s >= tarn__mem.n_sockets)
		return -EINVAL;
	struct tarn__heap_stats hs;
	tarn__heap_stats(s, &hs);
	memset(stats, 0, sizeof(*stats));
	stats->socket = s;
	stats->pages = hs.pages;
	stats->reserved = hs.reserved;
	stats->used = hs.used;
	stats->segments = hs.segments;
	if (hs.backend != NULL) {
		stats->backend = hs.backend;
		stats->page_size = hs.page_size;
	} else {
		const struct tarn__mem_backend *be = next_backend();
		stats->backend = be != NULL ? be->name : "none";
		stats->page_size = be == NULL ? 0
		                   : be->huge ? tarn__mem.ctx.huge_page_size
		                              : TARN__PAGE_4K;
	}
	return 0;
}

static void human(uint64_t b, char *buf, size_t size)
{
	if (b >= (1ull << 30))
		snprintf(buf, size, "%.1f GiB", (double)b / (1ull << 30));
	else if (b >= (1ull << 20))
		snprintf(buf, size, "%.1f MiB", (double)b / (1ull << 20));
	else if (b >= 1024)
		snprintf(buf, size, "%.1f KiB", (double)b / 1024);
	else
		snprintf(buf, size, "%llu B", (unsigned long long)b);
}

static void dump_mz(const struct tarn_memzone *mz, void *arg)
{
	FILE *out = arg;
	char sz[32];
	human(mz->len, sz, sizeof(sz));
	fprintf(out, "  %-31s socket %d, %s (%zu bytes) at %p, iova 0x%llx, %llu kB pages\n",
	        mz->name, mz->socket, sz, mz->len, mz->addr, (unsigned long long)mz->iova,
	        (unsigned long long)(mz->page_size >> 10));
}

void tarn_mem_dump(FILE *out)
{
	if (out == NULL)
		return;
	if (!tarn__mem_ready()) {
		fprintf(out, "memory: tarn is not initialised\n");
		return;
	}
	fprintf(out, "memory: policy %s, hugepages %llu kB%s%s, IOVA %s\n",
	        policy_names[tarn__mem.policy],
	        (unsigned long long)(tarn__mem.ctx.huge_page_size >> 10),
	        tarn__mem.ctx.huge_dir[0] ? ", hugetlbfs " : "", tarn__mem.ctx.huge_dir,
	        tarn_mem_iova_is_pa() ? "physical for hugepage memory" : "virtual");
	for (unsigned s = 0; s < tarn__mem.n_sockets; s++) {
		struct tarn_mem_socket_stats st;
		if (tarn_mem_socket_stats((int)s, &st) < 0)
			continue;
		char r[32], u[32];
		human(st.reserved, r, sizeof(r));
		human(st.used, u, sizeof(u));
		fprintf(out,
		        "  socket %u: backend %s, %llu kB pages, %llu pages, %s reserved, %s used, "
		        "%u segment%s\n",
		        s, st.backend, (unsigned long long)(st.page_size >> 10),
		        (unsigned long long)st.pages, r, u, st.segments,
		        st.segments == 1 ? "" : "s");
	}
	fprintf(out, "memzones: %u\n", tarn__memzone_count());
	tarn_memzone_walk(dump_mz, out);
}
