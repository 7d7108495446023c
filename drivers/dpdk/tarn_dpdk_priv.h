/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tarn_dpdk_priv.h - internal to the DPDK mempool plugin
 * (librte_mempool_tarn.so): tarn's life inside a DPDK process and the
 * plugin's logging. Never installed.
 *
 * dpdk_env.c starts tarn lazily, at the first alloc of a pool on the tarn
 * ops (or leaves it alone when the application started it), counts the live
 * pools, and stops tarn when the last one is freed (or at exit).
 * mempool_tarn.c implements and registers the ops.
 */
#ifndef TARN_DPDK_PRIV_H
#define TARN_DPDK_PRIV_H

#include <tarn/tarn.h>

/* Plugin-internal symbols: never exported from the shared object (it is
 * built with -fvisibility=hidden; this keeps them hidden when the sources are
 * compiled into a program too). */
#define TARN__DPDK_INTERNAL __attribute__((visibility("hidden")))

/* DPDK logtype of the plugin: "pmd.mempool.tarn" (--log-level=pmd.mempool.tarn:debug). */
extern TARN__DPDK_INTERNAL int tarn__dpdk_logtype;

/*
 * Log a line through DPDK's log (logtype pmd.mempool.tarn, DPDK level =
 * tarn level + 1) and tarn's. While the plugin owns tarn, tarn's own lines
 * are forwarded to DPDK's log too, so each line appears once either way.
 */
TARN__DPDK_INTERNAL void tarn__dpdk_log(enum tarn_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A pool on the tarn ops is being created: make sure tarn runs (start it if
 * nobody did) and count the pool. `pool` names the DPDK pool for the log.
 * Returns 0 or a negative errno (tarn_init()'s, or -ENOTSUP in a DPDK
 * secondary process), logged. Thread-safe.
 */
TARN__DPDK_INTERNAL int tarn__dpdk_env_acquire(const char *pool);

/*
 * A pool on the tarn ops was freed: when it was the last one and the plugin
 * started tarn, stop it (tarn_cleanup()). Thread-safe.
 */
TARN__DPDK_INTERNAL void tarn__dpdk_env_release(void);

#endif
