/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpdk_env.c - tarn inside a DPDK process, for the mempool plugin.
 *
 * tarn is started lazily, when the first pool on the tarn ops allocates its
 * store (from rte_mempool_populate_*(), after rte_eal_init()), so that the
 * EAL has chosen its lcores, its file prefix and its memory first:
 *
 * - memory: tarn holds only the stores (rings of pointers, stack nodes);
 *   the objects stay in DPDK's memory. tarn runs without hugepages
 *   (TARN_HUGE_NONE: transparent huge pages, else 4 KiB pages), so it never
 *   competes with the EAL for hugepages. TARN_HUGE in the environment
 *   overrides this.
 * - lcores: tarn's main lcore takes the DPDK lcore id of the thread that
 *   starts it (the main lcore's id for a non-EAL thread) and the CPU that
 *   thread runs on; tarn neither pins it (the EAL already did) nor starts
 *   threads of its own. DPDK's other threads need no tarn lcore id: tarn
 *   rings and pools work from any thread.
 * - files: tarn's file prefix is the EAL's followed by ".tarn" (e.g.
 *   "rte.tarn"), so two DPDK processes with different --file-prefix never
 *   share tarn files. TARN_FILE_PREFIX overrides it.
 * - telemetry: tarn's socket runs (TARN_NO_TELEMETRY=1 turns it off), at
 *   <run>/dpdk/<EAL prefix>.tarn/dpdk_telemetry.v2, so that tarn-top and
 *   tarn's commands see the process; its thread runs on the EAL's control
 *   CPUs (those of no EAL lcore), as DPDK's own telemetry thread does.
 *   DPDK's socket answers /tarn/socket with its path (tarn-top -f <EAL
 *   prefix> follows it).
 * - log: tarn's level follows the DPDK level of pmd.mempool.tarn
 *   (TARN_LOG_LEVEL overrides it) and tarn's lines go to DPDK's log.
 *
 * When the application started tarn itself (tarn_initialized() at the first
 * alloc), the plugin uses that and never stops it. Otherwise the plugin owns
 * tarn and stops it (tarn_cleanup()) when the last pool on its ops is freed;
 * at exit, a tarn whose pools were never freed is left to the process exit
 * (its memory is process-private: nothing stays behind), because DPDK
 * threads may still be using those pools.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_telemetry.h>

#include "tarn_dpdk_priv.h"

RTE_LOG_REGISTER(tarn__dpdk_logtype, pmd.mempool.tarn, NOTICE);

static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned live_pools; /* pools on the tarn ops with a store; under env_lock */
static int owner;           /* the plugin called tarn_init(); under env_lock */
static int forwarding;      /* atomic: tarn's log handler is forward_log() */

/* tarn levels are syslog's; DPDK's are syslog's + 1. */
static uint32_t rte_level(enum tarn_log_level level)
{
	return (uint32_t)level + 1;
}

/* tarn's log handler while the plugin owns tarn: every tarn line goes to
 * DPDK's log under pmd.mempool.tarn. */
static void forward_log(enum tarn_log_level level, const char *comp, const char *msg, void *arg)
{
	(void)arg;
	rte_log(rte_level(level), (uint32_t)tarn__dpdk_logtype, "tarn: %s: %s\n", comp, msg);
}

void tarn__dpdk_log(enum tarn_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* acquire: pairs with the release stores of `forwarding` */
	if (__atomic_load_n(&forwarding, __ATOMIC_ACQUIRE)) {
		tarn_log(level, "dpdk", "%s", msg); /* reaches DPDK's log through forward_log() */
		return;
	}
	rte_log(rte_level(level), (uint32_t)tarn__dpdk_logtype, "tarn: dpdk: %s\n", msg);
	tarn_log(level, "dpdk", "%s", msg);
}

static void forwarding_set(int on)
{
	tarn_log_set_handler(on ? forward_log : NULL, NULL);
	__atomic_store_n(&forwarding, on, __ATOMIC_RELEASE);
}

/* tarn's file prefix: the EAL's (the last part of its runtime directory)
 * with ".tarn" appended; characters tarn does not accept become '_', and
 * "map_" (which the EAL deletes in hugetlbfs) becomes "map-". */
static void derive_prefix(char *out, size_t len)
{
	static const char suffix[] = ".tarn";
	const char *dir = rte_eal_get_runtime_dir();
	const char *base = dir != NULL ? strrchr(dir, '/') : NULL;
	base = base != NULL ? base + 1 : (dir != NULL ? dir : "");
	if (base[0] == '\0')
		base = "rte";
	size_t n = 0;
	for (const char *p = base; *p != '\0' && n + sizeof(suffix) < len; p++)
		out[n++] =
		    (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.') ? *p : '_';
	memcpy(out + n, suffix, sizeof(suffix)); /* fits: n + sizeof(suffix) <= len */
	for (char *m = strstr(out, "map_"); m != NULL; m = strstr(m, "map_"))
		m[3] = '-';
}

/* tarn's main lcore: the calling thread's DPDK lcore id (the main lcore's
 * for a non-EAL thread) on the first CPU the thread may run on. */
static void follow_dpdk_lcore(struct tarn_config *cfg, unsigned *id_out, int *cpu_out)
{
	unsigned id = rte_lcore_id();
	if (id == LCORE_ID_ANY)
		id = rte_get_main_lcore();
	int cpu = -1;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set)) {
				cpu = c;
				break;
			}
	if (id < TARN_MAX_LCORES && cpu >= 0)
		snprintf(cfg->lcores, sizeof(cfg->lcores), "%u@%d", id, cpu);
	else
		cfg->lcores[0] = '\0'; /* tarn's default: the first allowed CPU */
	cfg->no_pin_main = 1;
	*id_out = id;
	*cpu_out = cpu;
}

static const char *huge_name(enum tarn_huge_policy p)
{
	return p == TARN_HUGE_NONE      ? "no hugepages"
	       : p == TARN_HUGE_REQUIRE ? "hugepages only"
	                                : "hugepages preferred";
}

static void *ctrl_probe(void *arg)
{
	cpu_set_t *set = arg;
	if (pthread_getaffinity_np(pthread_self(), sizeof(*set), set) != 0)
		CPU_ZERO(set);
	return NULL;
}

/* The EAL's control CPUs: the affinity of a DPDK control thread. */
static int dpdk_ctrl_cpus(cpu_set_t *set)
{
	pthread_t t;
	CPU_ZERO(set);
	if (rte_ctrl_thread_create(&t, "tarn-probe", NULL, ctrl_probe, set) != 0)
		return -1;
	pthread_join(t, NULL);
	return CPU_COUNT(set) > 0 ? 0 : -1;
}

/* Start tarn for the plugin. Call with env_lock held. */
static int start_tarn(const char *pool)
{
	struct tarn_config cfg;
	if (tarn_config_init(&cfg) < 0) { /* applies TARN_* environment variables */
		tarn__dpdk_log(TARN_LOG_ERR,
		               "pool %s: cannot start tarn: a TARN_* environment variable is "
		               "malformed (the line above names it)",
		               pool);
		return -EINVAL;
	}
	if (getenv("TARN_LOG_LEVEL") == NULL) {
		int l = rte_log_get_level((uint32_t)tarn__dpdk_logtype) - 1;
		cfg.log_level = l < TARN_LOG_ERR     ? TARN_LOG_ERR
		                : l > TARN_LOG_DEBUG ? TARN_LOG_DEBUG
		                                     : l;
	}
	if (getenv("TARN_HUGE") == NULL)
		cfg.huge_policy = TARN_HUGE_NONE;
	if (getenv("TARN_FILE_PREFIX") == NULL)
		derive_prefix(cfg.file_prefix, sizeof(cfg.file_prefix));
	if (getenv("TARN_LCORES") != NULL)
		tarn__dpdk_log(TARN_LOG_NOTICE,
		               "TARN_LCORES is ignored inside DPDK: tarn follows the EAL's lcores");
	unsigned id;
	int cpu;
	follow_dpdk_lcore(&cfg, &id, &cpu);

	forwarding_set(1);
	/* tarn's telemetry thread takes the CPUs of the calling thread minus
	 * those of tarn's lcores: give this thread the EAL's control CPUs (and
	 * its own, which tarn checks its main lcore against) while tarn
	 * starts, so that the thread runs where DPDK's control threads do. */
	cpu_set_t self_set, ctrl_set;
	int moved = 0;
	if (!cfg.no_telemetry &&
	    pthread_getaffinity_np(pthread_self(), sizeof(self_set), &self_set) == 0 &&
	    dpdk_ctrl_cpus(&ctrl_set) == 0) {
		if (cpu >= 0)
			CPU_SET(cpu, &ctrl_set);
		moved = pthread_setaffinity_np(pthread_self(), sizeof(ctrl_set), &ctrl_set) == 0;
	}
	int rc = tarn_init(&cfg);
	if (moved)
		pthread_setaffinity_np(pthread_self(), sizeof(self_set), &self_set);
	if (rc < 0) {
		tarn__dpdk_log(TARN_LOG_ERR,
		               "pool %s: cannot start tarn (lcores '%s', file prefix %s, %s): %s",
		               pool, cfg.lcores, cfg.file_prefix, huge_name(cfg.huge_policy),
		               tarn_strerror(rc));
		forwarding_set(0);
		return rc;
	}
	owner = 1;
	char path[256] = "off";
	if (tarn_telemetry_path(path, sizeof(path)) < 0 && !cfg.no_telemetry)
		snprintf(path, sizeof(path), "not running (see above)");
	tarn__dpdk_log(TARN_LOG_INFO,
	               "tarn %s started for pool %s: main lcore %u (DPDK lcore %u) on CPU %d, not "
	               "pinned by tarn; file prefix %s; %s; telemetry %s",
	               tarn_version(), pool, tarn_lcore_main(), id, cpu, cfg.file_prefix,
	               huge_name(cfg.huge_policy), path);
	return 0;
}

int tarn__dpdk_env_acquire(const char *pool)
{
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		tarn__dpdk_log(TARN_LOG_ERR,
		               "pool %s: the tarn ops keep their store in process-private memory: "
		               "a DPDK secondary process cannot create or share such a pool",
		               pool);
		return -ENOTSUP;
	}
	pthread_mutex_lock(&env_lock);
	int rc = 0;
	if (!tarn_initialized()) {
		if (owner) {
			/* Someone called tarn_cleanup() under our pools. */
			tarn__dpdk_log(TARN_LOG_WARNING,
			               "tarn was stopped while %u pool(s) on the tarn ops existed; "
			               "starting it again",
			               live_pools);
			owner = 0;
			forwarding_set(0);
		}
		rc = start_tarn(pool);
	}
	if (rc == 0)
		live_pools++;
	pthread_mutex_unlock(&env_lock);
	return rc;
}

void tarn__dpdk_env_release(void)
{
	pthread_mutex_lock(&env_lock);
	if (live_pools > 0)
		live_pools--;
	if (live_pools == 0 && owner) {
		if (tarn_initialized()) {
			tarn__dpdk_log(TARN_LOG_INFO,
			               "the last pool on the tarn ops was freed: stopping tarn");
			tarn_cleanup();
		}
		owner = 0;
		forwarding_set(0);
	}
	pthread_mutex_unlock(&env_lock);
}

/* DPDK telemetry /tarn/socket: where this process's tarn telemetry socket
 * is, so that a client that found the DPDK process (tarn-top -f rte,
 * dpdk-telemetry.py) finds tarn's commands. null while tarn does not run
 * or runs without its socket. */
static int tarn_socket_cmd(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	char path[256];
	pthread_mutex_lock(&env_lock);
	int rc = tarn_initialized() ? tarn_telemetry_path(path, sizeof(path)) : -ENOENT;
	const struct tarn_config *cfg = rc >= 0 ? tarn_config_get() : NULL;
	if (rc >= 0) {
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_string(d, "path", path);
		rte_tel_data_add_dict_string(d, "file_prefix", cfg != NULL ? cfg->file_prefix : "");
		char version[64];
		snprintf(version, sizeof(version), "tarn %s", tarn_version());
		rte_tel_data_add_dict_string(d, "version", version);
		rte_tel_data_add_dict_int(d, "pid", (int)getpid());
	}
	pthread_mutex_unlock(&env_lock);
	return rc >= 0 ? 0 : -1;
}

RTE_INIT(dpdk_env_register)
{
	/* DPDK takes help texts of at most 127 characters. */
	int rc = rte_telemetry_register_cmd(
	    "/tarn/socket", tarn_socket_cmd,
	    "Returns the path of this process's tarn telemetry socket (tarn's /tarn/ commands). "
	    "No parameters");
	if (rc < 0)
		tarn__dpdk_log(TARN_LOG_WARNING,
		               "cannot register /tarn/socket with DPDK telemetry: %s",
		               strerror(-rc));
}

/* At exit (or dlclose): tarn is stopped already unless pools on the tarn
 * ops were never freed; then DPDK threads may still use them, and tarn's
 * process-private memory goes with the process. */
__attribute__((destructor)) static void dpdk_env_fini(void)
{
	pthread_mutex_lock(&env_lock);
	if (owner) {
		/* DPDK's log may be closed by now: say it through tarn's own. */
		forwarding_set(0);
		if (live_pools == 0 && tarn_initialized())
			tarn_cleanup();
		else
			tarn_log(TARN_LOG_INFO, "dpdk",
			         "exit with %u pool(s) on the tarn ops not freed: tarn is left to "
			         "the process exit",
			         live_pools);
		owner = 0;
	}
	pthread_mutex_unlock(&env_lock);
}
