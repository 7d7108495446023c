/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * env_priv.h - internal: what the env component offers the rest of libtarn.
 * Never installed.
 */
#ifndef TARN_ENV_PRIV_H
#define TARN_ENV_PRIV_H

#include <errno.h>
#include <pthread.h>

#include "tarn_env.h"

/* Set tarn_errno and return NULL: `return tarn__err_null(EINVAL);` */
static inline void *tarn__err_null(int err)
{
	tarn_errno = err < 0 ? -err : err;
	return NULL;
}

/* Log shorthands; `comp` is the component tag. */
#define TARN__ERR(comp, ...)    tarn_log(TARN_LOG_ERR, comp, __VA_ARGS__)
#define TARN__WARN(comp, ...)   tarn_log(TARN_LOG_WARNING, comp, __VA_ARGS__)
#define TARN__NOTICE(comp, ...) tarn_log(TARN_LOG_NOTICE, comp, __VA_ARGS__)
#define TARN__INFO(comp, ...)   tarn_log(TARN_LOG_INFO, comp, __VA_ARGS__)
#define TARN__DEBUG(comp, ...)  tarn_log(TARN_LOG_DEBUG, comp, __VA_ARGS__)

/*
 * Fault injection, for tests only (meson -Dfault_injection=true defines
 * TARN_FAULT_INJECTION; release builds compile every point to 0).
 * TARN__FAULT(site, err) guards one system call or allocation:
 *     if (TARN__FAULT("mbind", EIO) || mbind(...) != 0) return -errno;
 * It is true, with errno = err, when the armed point is reached: the caller
 * then takes its failure path exactly as if the call had failed.
 *   tarn__fault_arm(n)      fail the nth point reached from now (0: none),
 *                           and start counting points from 0;
 *   tarn__fault_arm2(n, m)  fail the nth and the mth (a failure on the
 *                           path a first failure took: fallbacks);
 *   tarn__fault_points()    points reached since the last arm;
 *   tarn__fault_fired()     the first site that failed, or NULL;
 *   tarn__fault_fired_count() how many points failed since the last arm.
 */
#ifdef TARN_FAULT_INJECTION
int tarn__fault_check(const char *site, int err);
void tarn__fault_arm(uint64_t n);
void tarn__fault_arm2(uint64_t n, uint64_t m);
uint64_t tarn__fault_points(void);
const char *tarn__fault_fired(void);
unsigned tarn__fault_fired_count(void);
#define TARN__FAULT(site, err) __builtin_expect(tarn__fault_check(site, err), 0)
#else
#define TARN__FAULT(site, err) 0
#endif

/*
 * Call fn(arg, ctx) for each argument of the last successful
 * tarn_config_parse_args(): `app` 0 gives argv[0] and the tarn options, 1
 * the arguments left to the application (DPDK's /eal/params and
 * /eal/app_params). None before a parse. Thread-safe; fn runs under a lock
 * and must not parse arguments.
 */
void tarn__config_saved_args(int app, void (*fn)(const char *arg, void *ctx), void *ctx);

/* Monotonic time in nanoseconds (for init phase timings). */
uint64_t tarn__now_ns(void);

/*
 * Validate an object name (ring, memzone, pool): 1..TARN_NAME_SIZE-1 bytes.
 * Returns 0, -EINVAL (NULL or empty) or -ENAMETOOLONG.
 */
int tarn__name_check(const char *name);

/*
 * Called in a thread that stops using tarn: on tarn_thread_unregister() and
 * when an lcore thread exits. Components register at most a few hooks (the
 * mempool flushes the thread's caches). Registration is idempotent and
 * thread-safe; hooks are never removed.
 */
typedef void (*tarn__thread_hook_fn)(void);
void tarn__thread_exit_hook_add(tarn__thread_hook_fn fn);

/* Parse a size with an optional K/M/G suffix. Returns 0 or -EINVAL. */
int tarn__parse_size(const char *s, uint64_t *out);

#endif /* TARN_ENV_PRIV_H */
