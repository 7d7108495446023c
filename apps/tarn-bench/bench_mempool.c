/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_mempool.c - the matrix of DPDK's mempool_perf_autotest, on tarn and
 * on rte_mempool side by side.
 *
 * Rows: cache 0 and 512 (TARN_MEMPOOL_CACHE_MAX == RTE_MEMPOOL_CACHE_MAX_SIZE),
 * 1 and 2 lcores, get bulk x put bulk in {1, 4, 32}, keep 32 and 128.
 * Each lcore repeats the autotest's loop: take `keep` objects by bulks of
 * `get`, give them back by bulks of `put`, N_PER_LOOP objects per round,
 * until the row's time is up. The rate counts, as the autotest does, one
 * operation per object got and put back: objects per second, summed over the
 * lcores.
 *
 * Each side runs ~seconds per repetition, in slices that alternate with the
 * other side's (see run_row()), so a change in the machine's background load
 * hits both alike.
 *
 * Both sides use a pool of (lcores x (MAX_KEEP + cache max)) - 1 objects
 * (lcores counted as at least 2: DPDK wants n >= 1.5 x cache size) of
 * 2048 bytes, created once per cache size with an object constructor, like
 * the autotest. DPDK's pool has the default ops ("ring_mp_mc") and the same
 * cache size. tarn runs on tarn lcores (tarn_lcore_launch + the main lcore),
 * DPDK on EAL lcores (rte_eal_remote_launch + the main lcore), same CPUs.
 *
 * The calls are the ordinary per-thread-cache ones on both sides:
 * tarn_mempool_get_bulk()/tarn_mempool_put_bulk() and
 * rte_mempool_get_bulk()/rte_mempool_put_bulk() (which find the lcore's
 * default cache on every call, as tarn finds the thread's cache). The
 * autotest itself looks the DPDK cache up once per lcore and calls
 * rte_mempool_generic_get()/put(): with TARN_BENCH_DPDK_HOISTED=1 in the
 * environment, the DPDK side runs that way (rows labelled "hoisted").
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tarn/tarn.h>

#include "bench.h"

#ifdef TARN_BENCH_HAVE_DPDK
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#endif

#define N_PER_LOOP 65536
#define MAX_KEEP   128
#define ELT_SIZE   2048
#define CACHE_BIG  512

/* What one side of a row runs. */
struct mp_run {
	int dpdk;          /* 0: tarn, 1: DPDK default cache, 2: DPDK hoisted cache */
	const char *label; /* the row's (instruction-count dumps) */
	unsigned lcores;   /* lcores of the row */
	void *pool;        /* struct tarn_mempool * or struct rte_mempool * */
	unsigned keep, get, put;
	double seconds;
	int go; /* atomic: workers start when it is 1 */
	struct bench_lcore_result lc[2];
};

struct mp_lcore_arg {
	struct mp_run *run;
	unsigned idx;
};

/* One round of the autotest's loop on tarn. */
static __attribute__((noinline)) int tarn_round(struct tarn_mempool *mp, unsigned keep,
                                                unsigned get, unsigned put)
{
	void *table[MAX_KEEP] __attribute__((aligned(64)));
	for (unsigned i = 0; i < N_PER_LOOP / keep; i++) {
		for (unsigned idx = 0; idx < keep; idx += get)
			if (tarn_unlikely(tarn_mempool_get_bulk(mp, &table[idx], get) < 0))
				return -ENOBUFS;
		for (unsigned idx = 0; idx < keep; idx += put)
			tarn_mempool_put_bulk(mp, &table[idx], put);
	}
	return 0;
}

#ifdef TARN_BENCH_HAVE_DPDK
/* The same on DPDK, with the per-call default cache lookup. */
static __attribute__((noinline)) int dpdk_round(struct rte_mempool *mp, unsigned keep, unsigned get,
                                                unsigned put)
{
	void *table[MAX_KEEP] __attribute__((aligned(64)));
	for (unsigned i = 0; i < N_PER_LOOP / keep; i++) {
		for (unsigned idx = 0; idx < keep; idx += get)
			if (unlikely(rte_mempool_get_bulk(mp, &table[idx], get) < 0))
				return -ENOBUFS;
		for (unsigned idx = 0; idx < keep; idx += put)
			rte_mempool_put_bulk(mp, &table[idx], put);
	}
	return 0;
}

/* The same on DPDK as the autotest writes it: cache looked up once. */
static __attribute__((noinline)) int dpdk_round_hoisted(struct rte_mempool *mp,
                                                        struct rte_mempool_cache *cache,
                                                        unsigned keep, unsigned get, unsigned put)
{
	void *table[MAX_KEEP] __attribute__((aligned(64)));
	for (unsigned i = 0; i < N_PER_LOOP / keep; i++) {
		for (unsigned idx = 0; idx < keep; idx += get)
			if (unlikely(rte_mempool_generic_get(mp, &table[idx], get, cache) < 0))
				return -ENOBUFS;
		for (unsigned idx = 0; idx < keep; idx += put)
			rte_mempool_generic_put(mp, &table[idx], put, cache);
	}
	return 0;
}

static void dpdk_obj_init(struct rte_mempool *mp, void *arg, void *obj, unsigned i)
{
	(void)arg;
	memset(obj, 0, mp->elt_size);
	*(uint32_t *)obj = i;
}
#endif

static void tarn_obj_init(struct tarn_mempool *mp, void *arg, void *obj, unsigned i)
{
	(void)arg;
	memset(obj, 0, tarn_mempool_elt_size(mp));
	*(uint32_t *)obj = i;
}

/* Body of every lcore of a side. */
static int mp_lcore(void *p)
{
	struct mp_lcore_arg *a = p;
	struct mp_run *run = a->run;
	uint64_t objs = 0;
	int rc = 0;
#ifdef TARN_BENCH_HAVE_DPDK
	struct rte_mempool_cache *cache = NULL;
	if (run->dpdk == 2)
		cache = rte_mempool_default_cache(run->pool, rte_lcore_id());
#endif
	while (!__atomic_load_n(&run->go, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
	const double t0 = bench_now();
	double t;
	if (run->lcores == 1)
		bench_insns_start();
	do {
		if (run->dpdk == 0)
			rc = tarn_round(run->pool, run->keep, run->get, run->put);
#ifdef TARN_BENCH_HAVE_DPDK
		else if (run->dpdk == 1)
			rc = dpdk_round(run->pool, run->keep, run->get, run->put);
		else
			rc = dpdk_round_hoisted(run->pool, cache, run->keep, run->get, run->put);
#endif
		if (rc < 0)
			break;
		objs += N_PER_LOOP;
		t = bench_now();
	} while (t - t0 < run->seconds);
	if (run->lcores == 1)
		bench_insns_dump(run->dpdk ? "dpdk" : "tarn", "mempool", run->label, objs);
	run->lc[a->idx] = (struct bench_lcore_result){ objs, bench_now() - t0, rc };
	return rc;
}

/* Run one slice of one side on `lcores` lcores; 0 or a negative errno. */
static int run_slice(const struct bench_ctx *ctx, struct mp_run *run, unsigned lcores,
                     struct bench_side_total *tot)
{
	struct mp_lcore_arg args[2] = { { run, 0 }, { run, 1 } };
	void *const argp[2] = { &args[0], &args[1] };
	return bench_slice(ctx, run->dpdk != 0, lcores, mp_lcore, argp, &run->go, run->lc, tot,
	                   run->dpdk ? "DPDK" : "tarn");
}

/*
 * Measure a row ctx->repeat times. In each repetition each side runs
 * ctx->seconds in SLICES slices alternating with the other side's (tarn,
 * DPDK, tarn, DPDK, ... in even repetitions, DPDK first in odd ones) so that
 * both see the same background load of the machine; a side's rate in a
 * repetition is its objects over its time.
 */
#define SLICES 4

static int run_row(const struct bench_ctx *ctx, struct mp_run *tarn_run, struct mp_run *dpdk_run,
                   unsigned lcores, struct bench_row *row)
{
	tarn_run->seconds = ctx->seconds / SLICES;
	if (dpdk_run != NULL)
		dpdk_run->seconds = ctx->seconds / SLICES;
	for (unsigned r = 0; r < ctx->repeat; r++) {
		struct bench_side_total tt, dt;
		memset(&tt, 0, sizeof(tt));
		memset(&dt, 0, sizeof(dt));
		for (unsigned s = 0; s < SLICES; s++) {
			if (dpdk_run != NULL && r % 2 == 1 &&
			    run_slice(ctx, dpdk_run, lcores, &dt) < 0)
				return -1;
			if (run_slice(ctx, tarn_run, lcores, &tt) < 0)
				return -1;
			if (dpdk_run != NULL && r % 2 == 0 &&
			    run_slice(ctx, dpdk_run, lcores, &dt) < 0)
				return -1;
		}
		bench_row_add_rep(row, bench_side_rate(&tt, lcores),
		                  dpdk_run != NULL ? bench_side_rate(&dt, lcores) : 0);
	}
	return 0;
}

int bench_mempool(const struct bench_ctx *ctx)
{
	static const unsigned caches[] = { 0, CACHE_BIG };
	static const unsigned bulks[] = { 1, 4, 32 };
	static const unsigned keeps[] = { 32, 128 };
	/* The autotest's MEMPOOL_SIZE, counting at least two lcores: DPDK refuses
	 * a cache of 512 in a pool of fewer than 768 objects (1.5 x 512). */
	const unsigned pool_size =
	    (ctx->n_lcores < 2 ? 2 : ctx->n_lcores) * (MAX_KEEP + CACHE_BIG) - 1;
	const char *h = getenv("TARN_BENCH_DPDK_HOISTED");
	const int hoisted = ctx->dpdk && h != NULL && strcmp(h, "0") != 0 && h[0] != '\0';
	int rc = 0;

	bench_table_header(ctx, "mempool (DPDK mempool_perf_autotest matrix, objects/s)",
	                   "cache lcores get put keep");
	for (unsigned ci = 0; ci < 2; ci++) {
		const unsigned cache = caches[ci];
		char name[32];
		snprintf(name, sizeof(name), "bench_mp_c%u", cache);
		struct tarn_mempool *tmp = tarn_mempool_create(name, pool_size, ELT_SIZE, cache, 0,
		                                               tarn_obj_init, NULL, ctx->socket, 0);
		if (tmp == NULL) {
			fprintf(stderr, "tarn-bench: cannot create the tarn pool: %s\n",
			        tarn_strerror(tarn_errno));
			return -(int)tarn_errno;
		}
		void *dmp = NULL;
#ifdef TARN_BENCH_HAVE_DPDK
		if (ctx->dpdk) {
			dmp = rte_mempool_create(name, pool_size, ELT_SIZE, cache, 0, NULL, NULL,
			                         dpdk_obj_init, NULL,
			                         ctx->socket < 0 ? SOCKET_ID_ANY : ctx->socket, 0);
			if (dmp == NULL) {
				fprintf(stderr, "tarn-bench: cannot create the DPDK pool: %s\n",
				        rte_strerror(rte_errno));
				tarn_mempool_free(tmp, TARN_MEMPOOL_FREE_FORCE);
				return -ENOMEM;
			}
		}
#endif
		for (unsigned lcores = 1; lcores <= ctx->n_lcores; lcores++) {
			for (unsigned gi = 0; gi < 3; gi++) {
				for (unsigned pi = 0; pi < 3; pi++) {
					for (unsigned ki = 0; ki < 2; ki++) {
						struct bench_row row;
						memset(&row, 0, sizeof(row));
						row.family = "mempool";
						snprintf(row.label, sizeof(row.label),
						         "cache=%-3u lcores=%u get=%-2u put=%-2u "
						         "keep=%u%s",
						         cache, lcores, bulks[gi], bulks[pi],
						         keeps[ki], hoisted ? " hoisted" : "");
						if (ctx->filter != NULL &&
						    strstr(row.label, ctx->filter) == NULL)
							continue;
						bench_param_uint(&row, "cache", cache);
						bench_param_uint(&row, "lcores", lcores);
						bench_param_uint(&row, "get_bulk", bulks[gi]);
						bench_param_uint(&row, "put_bulk", bulks[pi]);
						bench_param_uint(&row, "keep", keeps[ki]);
						bench_param_uint(&row, "pool_size", pool_size);
						bench_param_str(&row, "dpdk_cache_lookup",
						                hoisted ? "hoisted" : "per-call");
						struct mp_run trun = {
							.dpdk = 0,
							.label = row.label,
							.lcores = lcores,
							.pool = tmp,
							.keep = keeps[ki],
							.get = bulks[gi],
							.put = bulks[pi],
						};
						struct mp_run drun = trun;
						drun.dpdk = hoisted ? 2 : 1;
						drun.pool = dmp;
						if (run_row(ctx, &trun, dmp != NULL ? &drun : NULL,
						            lcores, &row) < 0) {
							rc = -ENOBUFS;
							goto out;
						}
						bench_row_print(ctx, &row);
					}
				}
			}
		}
		if (tarn_mempool_check(tmp) != 0)
			fprintf(stderr, "tarn-bench: tarn_mempool_check failed after the rows\n");
	out:
		tarn_mempool_free(tmp, TARN_MEMPOOL_FREE_FORCE);
#ifdef TARN_BENCH_HAVE_DPDK
		if (dmp != NULL)
			rte_mempool_free(dmp);
#endif
		if (rc < 0)
			return rc;
	}
	return 0;
}
