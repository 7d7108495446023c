/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_dpdk_ops.c - DPDK's own mempool (its per-lcore cache, its get/put
 * code) over tarn's store against the same over DPDK's default store.
 *
 * Two families:
 *   dpdk-ops        rte_mempool on the "tarn" ops (a tarn ring) against
 *                   rte_mempool on "ring_mp_mc"
 *   dpdk-ops-stack  the same with "tarn_stack" (tarn's lock-free stack)
 * The "tarn" column is the pool on tarn's ops, the "dpdk" column the one on
 * ring_mp_mc, the ratio tarn-ops / ring_mp_mc. Only the store differs: both
 * pools are created the same way (rte_mempool_create_empty, set_ops_byname,
 * populate_default, an object constructor), with the same size and cache.
 *
 * Rows: cache 0 and 512, 1 and 2 lcores (2 when the bench has two), get and
 * put bulk 1, 4 and 32. Each lcore repeats mempool_perf_autotest's loop:
 * take KEEP objects by bulks with rte_mempool_get_bulk(), give them back by
 * bulks with rte_mempool_put_bulk(); the rate counts one operation per
 * object got and put back, summed over the lcores. With cache 512 most
 * calls stay in DPDK's lcore cache and the store is touched by refills and
 * flushes; with cache 0 every call goes to the store. Both run on EAL
 * lcores (rte_eal_remote_launch + the main lcore), in alternating slices.
 *
 * The ops come from the plugin's sources compiled into tarn-bench
 * (drivers/dpdk), the code librte_mempool_tarn.so runs when loaded with -d.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tarn/tarn.h>

#include "bench.h"

#ifdef TARN_BENCH_HAVE_DPDK
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

#define N_PER_LOOP 65536
#define KEEP       128
#define ELT_SIZE   2048
#define CACHE_BIG  512
#define SLICES     4

struct ops_run {
	struct rte_mempool *mp;
	unsigned bulk;
	double seconds;
	int go; /* atomic: lcores start when it is 1 */
	struct bench_lcore_result lc[2];
};

struct ops_arg {
	struct ops_run *run;
	unsigned idx;
};

static __attribute__((noinline)) int ops_round(struct rte_mempool *mp, unsigned bulk)
{
	void *table[KEEP] __attribute__((aligned(64)));
	for (unsigned i = 0; i < N_PER_LOOP / KEEP; i++) {
		for (unsigned k = 0; k < KEEP; k += bulk)
			if (unlikely(rte_mempool_get_bulk(mp, &table[k], bulk) < 0))
				return -ENOBUFS;
		for (unsigned k = 0; k < KEEP; k += bulk)
			rte_mempool_put_bulk(mp, &table[k], bulk);
	}
	return 0;
}

static int ops_lcore(void *p)
{
	struct ops_arg *a = p;
	struct ops_run *run = a->run;
	uint64_t objs = 0;
	int rc = 0;
	while (!__atomic_load_n(&run->go, __ATOMIC_ACQUIRE))
		rte_pause();
	const double t0 = bench_now();
	do {
		rc = ops_round(run->mp, run->bulk);
		if (rc < 0)
			break;
		objs += N_PER_LOOP;
	} while (bench_now() - t0 < run->seconds);
	run->lc[a->idx] = (struct bench_lcore_result){ objs, bench_now() - t0, rc };
	return rc;
}

static int ops_slice(const struct bench_ctx *ctx, struct ops_run *run, unsigned lcores,
                     struct bench_side_total *tot)
{
	struct ops_arg args[2] = { { run, 0 }, { run, 1 } };
	void *const argp[2] = { &args[0], &args[1] };
	return bench_slice(ctx, 1, lcores, ops_lcore, argp, &run->go, run->lc, tot, run->mp->name);
}

static void obj_init(struct rte_mempool *mp, void *arg, void *obj, unsigned i)
{
	(void)arg;
	memset(obj, 0, mp->elt_size);
	*(uint32_t *)obj = i;
}

/* A pool on `ops`, created the same way whatever the ops. */
static struct rte_mempool *ops_pool(const char *name, unsigned n, unsigned cache, const char *ops)
{
	struct rte_mempool *mp =
	    rte_mempool_create_empty(name, n, ELT_SIZE, cache, 0, SOCKET_ID_ANY, 0);
	int rc = mp == NULL ? -rte_errno : rte_mempool_set_ops_byname(mp, ops, NULL);
	if (rc == 0)
		rc = rte_mempool_populate_default(mp);
	if (rc < 0 || (unsigned)rc != n) {
		fprintf(stderr, "tarn-bench: cannot create a pool of %u on ops %s: %s\n", n, ops,
		        rc < 0 ? rte_strerror(-rc) : "not fully populated");
		rte_mempool_free(mp);
		return NULL;
	}
	rte_mempool_obj_iter(mp, obj_init, NULL);
	return mp;
}

static int ops_family(const struct bench_ctx *ctx, const char *family, const char *ops)
{
	static const unsigned caches[] = { 0, CACHE_BIG };
	static const unsigned bulks[] = { 1, 4, 32 };
	/* As bench_mempool.c: DPDK wants n >= 1.5 x cache. */
	const unsigned n = (ctx->n_lcores < 2 ? 2 : ctx->n_lcores) * (KEEP + CACHE_BIG) - 1;
	char title[160];
	snprintf(title, sizeof(title),
	         "%s (rte_mempool get/put bulk, keep %u, objects/s): tarn = ops \"%s\", "
	         "dpdk = ops \"ring_mp_mc\"",
	         family, KEEP, ops);
	bench_table_header(ctx, title, "ops cache lcores bulk");
	for (unsigned ci = 0; ci < 2; ci++) {
		const unsigned cache = caches[ci];
		char name_t[32], name_d[32];
		snprintf(name_t, sizeof(name_t), "bench_%s_c%u", ops, cache);
		snprintf(name_d, sizeof(name_d), "bench_ringmpmc_c%u", cache);
		struct rte_mempool *mt = ops_pool(name_t, n, cache, ops);
		struct rte_mempool *md =
		    mt != NULL ? ops_pool(name_d, n, cache, "ring_mp_mc") : NULL;
		if (md == NULL) {
			rte_mempool_free(mt);
			return -ENOMEM;
		}
		int rc = 0;
		for (unsigned lcores = 1; lcores <= ctx->n_lcores && rc == 0; lcores++) {
			for (unsigned bi = 0; bi < 3 && rc == 0; bi++) {
				struct bench_row row;
				memset(&row, 0, sizeof(row));
				row.family = family;
				snprintf(row.label, sizeof(row.label),
				         "ops=%s cache=%-3u lcores=%u bulk=%u", ops, cache, lcores,
				         bulks[bi]);
				if (ctx->filter != NULL && strstr(row.label, ctx->filter) == NULL)
					continue;
				bench_param_str(&row, "ops", ops);
				bench_param_str(&row, "vs_ops", "ring_mp_mc");
				bench_param_uint(&row, "cache", cache);
				bench_param_uint(&row, "lcores", lcores);
				bench_param_uint(&row, "get_bulk", bulks[bi]);
				bench_param_uint(&row, "put_bulk", bulks[bi]);
				bench_param_uint(&row, "keep", KEEP);
				bench_param_uint(&row, "pool_size", n);
				struct ops_run rt = { .mp = mt, .bulk = bulks[bi] };
				struct ops_run rd = { .mp = md, .bulk = bulks[bi] };
				rt.seconds = rd.seconds = ctx->seconds / SLICES;
				for (unsigned r = 0; r < ctx->repeat && rc == 0; r++) {
					/* the first side alternates between repetitions */
					struct ops_run *first = r % 2 ? &rd : &rt;
					struct ops_run *second = r % 2 ? &rt : &rd;
					struct bench_side_total tt, td;
					memset(&tt, 0, sizeof(tt));
					memset(&td, 0, sizeof(td));
					for (unsigned s = 0; s < SLICES && rc == 0; s++) {
						rc = ops_slice(ctx, first, lcores,
						               r % 2 ? &td : &tt);
						if (rc == 0)
							rc = ops_slice(ctx, second, lcores,
							               r % 2 ? &tt : &td);
					}
					if (rc == 0)
						bench_row_add_rep(&row,
						                  bench_side_rate(&tt, lcores),
						                  bench_side_rate(&td, lcores));
				}
				if (rc != 0)
					break;
				bench_row_print(ctx, &row);
			}
		}
		/* Quiescent: everything is back (caches included). */
		if (rc == 0 &&
		    (rte_mempool_avail_count(mt) != n || rte_mempool_avail_count(md) != n)) {
			fprintf(stderr,
			        "tarn-bench: objects missing after the %s rows: %u and %u of %u\n",
			        ops, rte_mempool_avail_count(mt), rte_mempool_avail_count(md), n);
			rc = -EIO;
		}
		rte_mempool_free(mt);
		rte_mempool_free(md);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int bench_dpdk_ops(const struct bench_ctx *ctx)
{
	if (!ctx->dpdk) {
		fprintf(stderr, "tarn-bench: dpdk-ops needs DPDK's EAL (it did not start, or "
		                "--no-dpdk was given)\n");
		return -ENOTSUP;
	}
	int rc = ops_family(ctx, "dpdk-ops", "tarn");
	if (rc == 0)
		rc = ops_family(ctx, "dpdk-ops-stack", "tarn_stack");
	return rc;
}

#else /* !TARN_BENCH_HAVE_DPDK */

int bench_dpdk_ops(const struct bench_ctx *ctx)
{
	(void)ctx;
	fprintf(stderr, "tarn-bench: dpdk-ops needs DPDK: this tarn-bench was built without "
	                "libdpdk (install libdpdk-dev and rebuild)\n");
	return -ENOTSUP;
}

#endif
