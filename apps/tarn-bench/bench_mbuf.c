/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_mbuf.c - mbuf family of tarn-bench: tarn's packet buffers against
 * DPDK's rte_mbuf, same workload, same process, same thread, back to back.
 *
 * Rows (label, then JSON params), all on one lcore: the calling thread, which
 * is tarn's main lcore and DPDK's main lcore, so both pools have a per-lcore
 * cache for it:
 *   "alloc_bulk+free_bulk N, cache C"  tarn_pktmbuf_alloc_bulk(N) then
 *            tarn_pktmbuf_free_bulk(N), against rte_pktmbuf_alloc_bulk /
 *            rte_pktmbuf_free_bulk; N = 1, 8, 32; C = 256, 512.
 *   "alloc+free 1, cache C"  tarn_pktmbuf_alloc / tarn_pktmbuf_free against
 *            rte_pktmbuf_alloc / rte_pktmbuf_free.
 *   "alloc_bulk+append64+free_bulk 32, cache C"  as the first row, plus an
 *            append of 64 bytes to each mbuf and a 64-bit store into them:
 *            the mbuf and its first data line are touched, as in a real
 *            packet generator.
 *
 * Both pools: n = 8191 mbufs (2^13 - 1, DPDK's favourite), no private area,
 * data room TARN_MBUF_DEFAULT_BUF_SIZE = RTE_MBUF_DEFAULT_BUF_SIZE (2048 +
 * 128 headroom), created on the caller's socket.
 *
 * Unit: ops = mbufs allocated and freed (one alloc + one free = 1).
 *
 * Each repetition of a row gives each side ctx->seconds in three slices,
 * alternating tarn, DPDK, DPDK, tarn, tarn, DPDK (DPDK first in odd
 * repetitions), and keeps each side's best slice (as the ring family does),
 * after a short warm-up of both.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tarn/tarn_env.h>
#include <tarn/tarn_mbuf.h>
#include <tarn/tarn_mempool.h>

#include "bench.h"

#ifdef TARN_BENCH_HAVE_DPDK
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#endif

#define MBUF_N    8191u
#define MAX_BURST 32u
#define SLICES    3
/* Iterations between two looks at the clock. */
#define CHUNK 1024u

enum mbuf_op { OP_BULK, OP_SINGLE, OP_BULK_TOUCH };
static const char *const op_names[] = { "alloc_bulk+free_bulk", "alloc+free",
	                                "alloc_bulk+append64+free_bulk" };

/*
 * The loops, written once per implementation so each calls its library
 * inline. Each runs until `secs` have passed and returns mbufs per second,
 * or a negative errno if an allocation failed (it never should: the pool is
 * far larger than a burst).
 */
#define DEFINE_LOOPS(PFX, POOL, MBUF, ALLOC_BULK, FREE_BULK, ALLOC, FREE, APPEND)                  \
	static double PFX##_loop(POOL *mp, enum mbuf_op op, unsigned burst, double secs,           \
	                         const char *label)                                                \
	{                                                                                          \
		MBUF *ms[MAX_BURST];                                                               \
		uint64_t done = 0;                                                                 \
		const double t0 = bench_now();                                                     \
		double t1 = t0;                                                                    \
		bench_insns_start();                                                               \
		do {                                                                               \
			switch (op) {                                                              \
			case OP_BULK:                                                              \
				for (unsigned i = 0; i < CHUNK; i++) {                             \
					if (ALLOC_BULK(mp, ms, burst) != 0)                        \
						return -ENOBUFS;                                   \
					FREE_BULK(ms, burst);                                      \
				}                                                                  \
				break;                                                             \
			case OP_SINGLE:                                                            \
				for (unsigned i = 0; i < CHUNK; i++) {                             \
					MBUF *m = ALLOC(mp);                                       \
					if (m == NULL)                                             \
						return -ENOBUFS;                                   \
					FREE(m);                                                   \
				}                                                                  \
				break;                                                             \
			case OP_BULK_TOUCH:                                                        \
				for (unsigned i = 0; i < CHUNK; i++) {                             \
					if (ALLOC_BULK(mp, ms, burst) != 0)                        \
						return -ENOBUFS;                                   \
					for (unsigned k = 0; k < burst; k++) {                     \
						char *p = APPEND(ms[k], 64);                       \
						if (p == NULL)                                     \
							return -ENOSPC;                            \
						uint64_t v = done + k;                             \
						memcpy(p, &v, sizeof(v));                          \
					}                                                          \
					FREE_BULK(ms, burst);                                      \
				}                                                                  \
				break;                                                             \
			}                                                                          \
			done += (uint64_t)CHUNK * burst;                                           \
			t1 = bench_now();                                                          \
		} while (t1 - t0 < secs);                                                          \
		bench_insns_dump(#PFX, "mbuf", label, done);                                       \
		return (double)done / (t1 - t0);                                                   \
	}

DEFINE_LOOPS(tarn, struct tarn_mempool, struct tarn_mbuf, tarn_pktmbuf_alloc_bulk,
             tarn_pktmbuf_free_bulk, tarn_pktmbuf_alloc, tarn_pktmbuf_free, tarn_pktmbuf_append)

#ifdef TARN_BENCH_HAVE_DPDK
DEFINE_LOOPS(dpdk, struct rte_mempool, struct rte_mbuf, rte_pktmbuf_alloc_bulk,
             rte_pktmbuf_free_bulk, rte_pktmbuf_alloc, rte_pktmbuf_free, rte_pktmbuf_append)
#endif

/* One row: both pools made once, warm-up, then alternating slices. */
static int mbuf_row(const struct bench_ctx *ctx, enum mbuf_op op, unsigned burst, unsigned cache)
{
	struct bench_row row;
	int rc = 0;

	memset(&row, 0, sizeof(row));
	row.family = "mbuf";
	snprintf(row.label, sizeof(row.label), "%s %u, cache %u, 1 lcore", op_names[op], burst,
	         cache);
	bench_param_str(&row, "op", op_names[op]);
	bench_param_uint(&row, "burst", burst);
	bench_param_uint(&row, "cache", cache);
	bench_param_uint(&row, "lcores", 1);
	bench_param_uint(&row, "n", MBUF_N);
	bench_param_uint(&row, "data_room", TARN_MBUF_DEFAULT_BUF_SIZE);
	if (ctx->filter != NULL && strstr(row.label, ctx->filter) == NULL)
		return 0;

	struct tarn_mempool *tp = tarn_pktmbuf_pool_create("bench-mbuf", MBUF_N, cache, 0,
	                                                   TARN_MBUF_DEFAULT_BUF_SIZE, ctx->socket);
	if (tp == NULL) {
		fprintf(stderr, "mbuf bench: tarn_pktmbuf_pool_create: %s\n",
		        tarn_strerror(tarn_errno));
		return -tarn_errno;
	}
#ifdef TARN_BENCH_HAVE_DPDK
	struct rte_mempool *dp = NULL;

	if (ctx->dpdk) {
		dp = rte_pktmbuf_pool_create("bench-mbuf", MBUF_N, cache, 0,
		                             RTE_MBUF_DEFAULT_BUF_SIZE,
		                             ctx->socket < 0 ? (int)rte_socket_id() : ctx->socket);
		if (dp == NULL) {
			fprintf(stderr, "mbuf bench: rte_pktmbuf_pool_create: %s\n",
			        rte_strerror(rte_errno));
			tarn_mempool_free(tp, TARN_MEMPOOL_FREE_FORCE);
			return -ENOMEM;
		}
	}
#endif
	const double slice = ctx->seconds / SLICES;
	double r;

	/* warm up both: caches filled, pages and lines touched, clock up */
	r = tarn_loop(tp, op, burst, 0.02, "warm-up");
	if (r < 0)
		rc = (int)r;
#ifdef TARN_BENCH_HAVE_DPDK
	if (rc == 0 && dp != NULL && (r = dpdk_loop(dp, op, burst, 0.02, "warm-up")) < 0)
		rc = (int)r;
#endif
	for (unsigned rep = 0; rc == 0 && rep < ctx->repeat; rep++) {
		double best_t = 0, best_d = 0;
		for (int s = 0; rc == 0 && s < SLICES; s++) {
			for (int k = 0; rc == 0 && k < 2; k++) {
				/* alternate which side goes first in a slice */
				if (((s + k + (int)rep) % 2) == 0) {
					r = tarn_loop(tp, op, burst, slice, row.label);
					if (r < 0)
						rc = (int)r;
					else if (r > best_t)
						best_t = r;
					continue;
				}
#ifdef TARN_BENCH_HAVE_DPDK
				if (dp == NULL)
					continue;
				r = dpdk_loop(dp, op, burst, slice, row.label);
				if (r < 0)
					rc = (int)r;
				else if (r > best_d)
					best_d = r;
#endif
			}
		}
		if (rc == 0)
			bench_row_add_rep(&row, best_t, best_d > 0 ? best_d : -1);
	}
	if (rc == 0)
		bench_row_print(ctx, &row);
	else
		fprintf(stderr, "mbuf bench: %s: %s\n", row.label, tarn_strerror(rc));
	if (tarn_mempool_free(tp, 0) != 0) {
		fprintf(stderr, "mbuf bench: %s: mbufs left in use\n", row.label);
		tarn_mempool_free(tp, TARN_MEMPOOL_FREE_FORCE);
		rc = rc ? rc : -EIO;
	}
#ifdef TARN_BENCH_HAVE_DPDK
	rte_mempool_free(dp);
#endif
	return rc;
}

int bench_mbuf(const struct bench_ctx *ctx)
{
	static const unsigned bursts[] = { 1, 8, 32 };
	static const unsigned caches[] = { 256, 512 };
	int rc;

	bench_table_header(ctx, "mbuf",
	                   "mbufs allocated and freed per second (alloc + free = 1), 1 lcore");
	for (unsigned c = 0; c < TARN_ARRAY_SIZE(caches); c++) {
		for (unsigned b = 0; b < TARN_ARRAY_SIZE(bursts); b++) {
			rc = mbuf_row(ctx, OP_BULK, bursts[b], caches[c]);
			if (rc < 0)
				return rc;
		}
		rc = mbuf_row(ctx, OP_SINGLE, 1, caches[c]);
		if (rc < 0)
			return rc;
		rc = mbuf_row(ctx, OP_BULK_TOUCH, MAX_BURST, caches[c]);
		if (rc < 0)
			return rc;
	}
	return 0;
}
