/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slice.c - one slice of a two-lcore measurement (bench.h): launch, release,
 * wait, sum. Shared by the mempool and dpdk-ops families.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tarn/tarn_env.h>

#ifdef TARN_BENCH_HAVE_DPDK
#include <rte_launch.h>
#endif

#include "bench.h"

static int launch(int eal, int (*fn)(void *), void *arg, unsigned lcore)
{
	if (!eal)
		return tarn_lcore_launch(lcore, fn, arg);
#ifdef TARN_BENCH_HAVE_DPDK
	return rte_eal_remote_launch(fn, arg, lcore);
#else
	return -ENOTSUP;
#endif
}

static void wait_lcore(int eal, unsigned lcore)
{
	if (!eal) {
		tarn_lcore_wait(lcore, NULL);
		return;
	}
#ifdef TARN_BENCH_HAVE_DPDK
	rte_eal_wait_lcore(lcore);
#endif
}

int bench_slice(const struct bench_ctx *ctx, int eal, unsigned lcores, int (*fn)(void *),
                void *const args[2], int *go, struct bench_lcore_result lc[2],
                struct bench_side_total *tot, const char *what)
{
	memset(lc, 0, 2 * sizeof(lc[0]));
	__atomic_store_n(go, 0, __ATOMIC_RELAXED);
	if (lcores == 2) {
		int rc = launch(eal, fn, args[1], ctx->lcores[1]);
		if (rc != 0) {
			fprintf(stderr, "tarn-bench: cannot launch on lcore %u: %d\n",
			        ctx->lcores[1], rc);
			return -EBUSY;
		}
	}
	__atomic_store_n(go, 1, __ATOMIC_RELEASE);
	fn(args[0]);
	if (lcores == 2)
		wait_lcore(eal, ctx->lcores[1]);
	for (unsigned i = 0; i < lcores; i++) {
		if (lc[i].rc < 0) {
			fprintf(stderr, "tarn-bench: a get failed on %s (pool too small?)\n", what);
			return -ENOBUFS;
		}
		tot->objs[i] += (double)lc[i].objs;
		tot->elapsed[i] += lc[i].elapsed;
	}
	return 0;
}

double bench_side_rate(const struct bench_side_total *tot, unsigned lcores)
{
	double rate = 0;
	for (unsigned i = 0; i < lcores; i++)
		rate += tot->objs[i] / tot->elapsed[i];
	return rate;
}
