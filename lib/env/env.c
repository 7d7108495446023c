/* SPDX-License-Identifier: BSD-3-Clause */
/* env.c - tarn_init / tarn_cleanup and small shared helpers. */
#include <ctype.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lcore_priv.h"
/* tarn__ethdev_cleanup(): ports are closed before pools and rings go. */
#include "ethdev_driver_priv.h"

static int initialized;
static struct tarn_config active_cfg;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t tarn__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int tarn__name_check(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return -EINVAL;
	if (strnlen(name, TARN_NAME_SIZE) >= TARN_NAME_SIZE)
		return -ENAMETOOLONG;
	return 0;
}

int tarn__parse_size(const char *s, uint64_t *out)
{
	if (s == NULL || out == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0') {
		end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end != '\0')
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

const char *tarn_version(void)
{
	return "0.1.0";
}

int tarn_initialized(void)
{
	return __atomic_load_n(&initialized, __ATOMIC_ACQUIRE);
}

const struct tarn_config *tarn_config_get(void)
{
	return tarn_initialized() ? &active_cfg : NULL;
}

/* The default lcore list: the first CPU this process may run on. */
static int default_lcores(struct tarn__lcore_list *list)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -errno;
	for (int c = 0; c < CPU_SETSIZE && c < TARN_MAX_LCORES; c++) {
		if (CPU_ISSET(c, &set)) {
			memset(list, 0, sizeof(*list));
			list->n = 1;
			list->id[0] = (uint32_t)c;
			list->cpu[0] = c;
			return 0;
		}
	}
	return -EINVAL;
}

int tarn_init(const struct tarn_config *cfg)
{
	struct tarn_config c;
	if (cfg == NULL) {
		tarn_config_init(&c);
		cfg = &c;
	}
	pthread_mutex_lock(&init_lock);
	if (initialized) {
		pthread_mutex_unlock(&init_lock);
		TARN__ERR("env", "tarn_init: already initialised (call tarn_cleanup() first)");
		return -EALREADY;
	}
	uint64_t t0 = tarn__now_ns();
	int rc = tarn_log_set_level(cfg->log_level);
	if (rc < 0) {
		TARN__ERR("env", "tarn_init: invalid log level %d", cfg->log_level);
		goto out;
	}
	/* Re-validate what a caller may have filled in by hand. */
	if (memchr(cfg->file_prefix, '\0', TARN_PREFIX_SIZE) == NULL ||
	    (rc = tarn__file_prefix_check(cfg->file_prefix)) < 0) {
		TARN__ERR("env", "tarn_init: invalid file_prefix");
		rc = -EINVAL;
		goto out;
	}
	if (cfg->huge_policy != TARN_HUGE_PREFER && cfg->huge_policy != TARN_HUGE_REQUIRE &&
	    cfg->huge_policy != TARN_HUGE_NONE) {
		TARN__ERR("env", "tarn_init: invalid huge_policy %d", (int)cfg->huge_policy);
		rc = -EINVAL;
		goto out;
	}
	for (unsigned s = tarn_socket_count(); s < TARN_MAX_SOCKETS; s++) {
		if (cfg->socket_mem_mb[s] != 0) {
			TARN__ERR("env",
			          "--socket-mem asks for %llu MiB on socket %u, but this "
			          "machine has %u socket%s",
			          (unsigned long long)cfg->socket_mem_mb[s], s, tarn_socket_count(),
			          tarn_socket_count() == 1 ? "" : "s");
			rc = -EINVAL;
			goto out;
		}
	}

	struct tarn__lcore_list list;
	if (cfg->lcores[0] == '\0')
		rc = default_lcores(&list);
	else if (memchr(cfg->lcores, '\0', sizeof(cfg->lcores)) == NULL)
		rc = -EINVAL;
	else
		rc = tarn__lcores_parse(cfg->lcores, &list);
	if (rc < 0)
		goto out;

	active_cfg = *cfg;
	uint64_t t1 = tarn__now_ns();
	rc = tarn__lcores_start(&list, !cfg->no_pin_main);
	if (rc < 0)
		goto out;
	uint64_t t2 = tarn__now_ns();
	/* Memory is reserved after the lcores start, so that population runs on
	 * the right nodes and "any socket" means the main lcore's socket. */
	__atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
	rc = tarn__mem_init(cfg);
	if (rc < 0) {
		__atomic_store_n(&initialized, 0, __ATOMIC_RELEASE);
		tarn__lcores_stop();
		goto out;
	}
	uint64_t t3 = tarn__now_ns();
	tarn__telemetry_init(cfg);
	uint64_t t4 = tarn__now_ns();
	TARN__DEBUG("env",
	            "init phases: options %.3f ms, lcores %.3f ms, memory %.3f ms, telemetry "
	            "%.3f ms",
	            (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6);
	TARN__INFO("env", "initialised: %u lcore%s, main lcore %u, %u socket%s", tarn_lcore_count(),
	           tarn_lcore_count() == 1 ? "" : "s", tarn_lcore_main(), tarn_socket_count(),
	           tarn_socket_count() == 1 ? "" : "s");
out:
	pthread_mutex_unlock(&init_lock);
	return rc;
}

int tarn_init_args(int *argc, char **argv)
{
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	int consumed = tarn_config_parse_args(&cfg, argc, argv);
	if (consumed < 0)
		return consumed;
	int rc = tarn_init(&cfg);
	return rc < 0 ? rc : consumed;
}

int tarn_cleanup(void)
{
	pthread_mutex_lock(&init_lock);
	if (!initialized) {
		pthread_mutex_unlock(&init_lock);
		return -EINVAL;
	}
	/* Telemetry first (its callbacks read everything below). Workers
	 * next, so their exit hooks flush their caches into pools
	 * that still exist; then the structures, top down: ports (which hold
	 * mbufs, rings and pools), pools, rings, memory. */
	tarn__telemetry_cleanup();
	tarn__lcores_stop();
	tarn__ethdev_cleanup();
	tarn__mempool_cleanup();
	tarn__ring_cleanup();
	tarn__mem_cleanup();
	__atomic_store_n(&initialized, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&init_lock);
	return 0;
}
