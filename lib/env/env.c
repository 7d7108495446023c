/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * env.c - env's part of tarn_init() (the configuration checked, the lcore
 * list chosen), the "initialised" state, and small shared helpers. The
 * process-wide tarn_init()/tarn_cleanup() that call every component are in
 * lib/tarn/init.c, above the components.
 */
#include <ctype.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lcore_priv.h"

/* Set by lib/tarn/init.c under its init lock (tarn__env_set_initialized()),
 * read anywhere (tarn_initialized()). */
static int initialized;
/* The configuration of the running tarn_init(); written under the init lock
 * before `initialized` is set. */
static struct tarn_config active_cfg;

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

/* The configuration's values that tarn_config_parse_args() checks, checked
 * again: a caller may have filled the structure by hand. */
static int config_check(const struct tarn_config *cfg)
{
	int rc = tarn_log_set_level(cfg->log_level);
	if (rc < 0) {
		TARN__ERR("env", "tarn_init: invalid log level %d", cfg->log_level);
		return rc;
	}
	if (memchr(cfg->file_prefix, '\0', TARN_PREFIX_SIZE) == NULL ||
	    tarn__file_prefix_check(cfg->file_prefix) < 0) {
		TARN__ERR("env", "tarn_init: invalid file_prefix");
		return -EINVAL;
	}
	if (cfg->huge_policy != TARN_HUGE_PREFER && cfg->huge_policy != TARN_HUGE_REQUIRE &&
	    cfg->huge_policy != TARN_HUGE_NONE) {
		TARN__ERR("env", "tarn_init: invalid huge_policy %d", (int)cfg->huge_policy);
		return -EINVAL;
	}
	for (unsigned s = tarn_socket_count(); s < TARN_MAX_SOCKETS; s++) {
		if (cfg->socket_mem_mb[s] != 0) {
			TARN__ERR("env",
			          "--socket-mem asks for %llu MiB on socket %u, but this "
			          "machine has %u socket%s",
			          (unsigned long long)cfg->socket_mem_mb[s], s, tarn_socket_count(),
			          tarn_socket_count() == 1 ? "" : "s");
			return -EINVAL;
		}
	}
	return 0;
}

int tarn__env_configure(const struct tarn_config *cfg, struct tarn__lcore_list *list)
{
	int rc = config_check(cfg);
	if (rc < 0)
		return rc;
	if (cfg->lcores[0] == '\0')
		rc = default_lcores(list);
	else if (memchr(cfg->lcores, '\0', sizeof(cfg->lcores)) == NULL)
		rc = -EINVAL;
	else
		rc = tarn__lcores_parse(cfg->lcores, list);
	if (rc < 0)
		return rc;
	active_cfg = *cfg;
	return 0;
}

void tarn__env_set_initialized(int on)
{
	/* release: pairs with the acquire load in tarn_initialized() */
	__atomic_store_n(&initialized, on != 0, __ATOMIC_RELEASE);
}
