/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * init.c - tarn_init() and tarn_cleanup(): the process-wide start and stop,
 * above every component. It calls down, in order, each component's own
 * init and cleanup (declared in that component's private header); no
 * component calls up, and env, the bottom layer, knows none of them.
 *
 *   init:    env (configuration, lcore list) -> IOVA mode (pci, when auto)
 *            -> lcores -> mem -> telemetry
 *   cleanup: telemetry -> lcores -> ethdev -> pci -> mempool -> ring -> mem
 */
#include <pthread.h>

#include "env_priv.h"
#include "ethdev_driver_priv.h"
#include "lcore_priv.h"
#include "mem_priv.h"
#include "mempool_priv.h"
#include "pci_priv.h"
#include "ring_priv.h"
#include "telemetry_priv.h"

/* Serialises tarn_init() and tarn_cleanup(). */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

/* The IOVA mode memory is set up with: auto becomes VA when a PCI device
 * is bound to vfio-pci (its container maps every segment at its VA); else
 * it stays auto (physical addresses for hugepages where they can be read). */
static int resolve_iova_mode(struct tarn_config *cfg)
{
	if (cfg->iova_mode == TARN_IOVA_AUTO) {
		char why[256];
		if (tarn_pci_iova_auto(why, sizeof(why)) == TARN_IOVA_VA)
			cfg->iova_mode = TARN_IOVA_VA;
		TARN__INFO("env", "IOVA mode auto: %s", why);
	} else if (cfg->iova_mode != TARN_IOVA_VA && cfg->iova_mode != TARN_IOVA_PA) {
		TARN__ERR("env", "tarn_init: invalid iova_mode %d", (int)cfg->iova_mode);
		return -EINVAL;
	}
	return 0;
}

/* Start the lcores, then memory (reserved after the lcores start, so that
 * population runs on the right nodes and "any socket" means the main
 * lcore's socket), then telemetry. Lock held; `t[0]` set by the caller. */
static int init_locked(const struct tarn_config *cfg, uint64_t t[5])
{
	struct tarn__lcore_list list;
	int rc = tarn__env_configure(cfg, &list);
	if (rc < 0)
		return rc;
	struct tarn_config eff = *cfg;
	rc = resolve_iova_mode(&eff);
	if (rc < 0)
		return rc;
	cfg = &eff;
	t[1] = tarn__now_ns();
	rc = tarn__lcores_start(&list, !cfg->no_pin_main);
	if (rc < 0)
		return rc;
	t[2] = tarn__now_ns();
	tarn__env_set_initialized(1);
	rc = tarn__mem_init(cfg);
	if (rc < 0) {
		tarn__env_set_initialized(0);
		tarn__lcores_stop();
		return rc;
	}
	t[3] = tarn__now_ns();
	tarn__telemetry_init(cfg);
	t[4] = tarn__now_ns();
	return 0;
}

int tarn_init(const struct tarn_config *cfg)
{
	struct tarn_config c;
	uint64_t t[5];

	if (cfg == NULL) {
		int rc = tarn_config_init(&c);
		if (rc < 0)
			return rc; /* a malformed TARN_* variable, logged */
		cfg = &c;
	}
	pthread_mutex_lock(&init_lock);
	if (tarn_initialized()) {
		pthread_mutex_unlock(&init_lock);
		TARN__ERR("env", "tarn_init: already initialised (call tarn_cleanup() first)");
		return -EALREADY;
	}
	t[0] = tarn__now_ns();
	int rc = init_locked(cfg, t);
	if (rc == 0) {
		TARN__DEBUG("env",
		            "init phases: options %.3f ms, lcores %.3f ms, memory %.3f ms, "
		            "telemetry %.3f ms",
		            (t[1] - t[0]) / 1e6, (t[2] - t[1]) / 1e6, (t[3] - t[2]) / 1e6,
		            (t[4] - t[3]) / 1e6);
		TARN__INFO("env", "initialised: %u lcore%s, main lcore %u, %u socket%s",
		           tarn_lcore_count(), tarn_lcore_count() == 1 ? "" : "s",
		           tarn_lcore_main(), tarn_socket_count(),
		           tarn_socket_count() == 1 ? "" : "s");
	}
	pthread_mutex_unlock(&init_lock);
	return rc;
}

int tarn_init_args(int *argc, char **argv)
{
	struct tarn_config cfg;
	int rc = tarn_config_init(&cfg);
	if (rc < 0)
		return rc; /* a malformed TARN_* variable, logged */
	int consumed = tarn_config_parse_args(&cfg, argc, argv);
	if (consumed < 0)
		return consumed;
	rc = tarn_init(&cfg);
	return rc < 0 ? rc : consumed;
}

int tarn_cleanup(void)
{
	pthread_mutex_lock(&init_lock);
	if (!tarn_initialized()) {
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
	tarn__pci_cleanup(); /* devices stop DMA before their memory goes */
	tarn__mempool_cleanup();
	tarn__ring_cleanup();
	tarn__mem_cleanup();
	tarn__env_set_initialized(0);
	pthread_mutex_unlock(&init_lock);
	return 0;
}
