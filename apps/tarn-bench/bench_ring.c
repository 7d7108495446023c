/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_ring.c - ring family of tarn-bench: tarn_ring against DPDK's
 * rte_ring, same workload, same process, same CPUs, back to back.
 *
 * Rows (label, then JSON params):
 *   "<mode> bulk N, 1 lcore"   one thread pinned to the first bench CPU:
 *                              enqueue N (bulk) then dequeue N (bulk), loop.
 *   "<mode> bulk N, 2 lcores"  a producer pinned to the first bench CPU, a
 *                              consumer pinned to the second: bulk N each,
 *                              retrying while the ring is full / empty.
 *   "<mode> bulk N, 4 threads on K cores"  four threads allowed on both bench
 *                              CPUs (not pinned to one), each doing enqueue N
 *                              then dequeue N on one shared ring: more
 *                              threads than cores, so threads get preempted
 *                              in the middle of operations.
 * Modes: spsc (SP/SC flags), mpmc (default flags), rts (MP/MC relaxed tail
 * sync: TARN_RING_F_MP_RTS_ENQ|MC_RTS_DEQ vs RING_F_MP_RTS_ENQ|MC_RTS_DEQ).
 * Both sides use the calls that follow the ring's flags
 * (tarn_ring_enqueue_bulk / rte_ring_enqueue_bulk), a ring of 4096 slots,
 * and a bulk size known only at run time (as in DPDK's ring_perf_autotest).
 *
 * Unit: ops = elements moved, each element counted once when it has been
 * enqueued and then dequeued (so one enqueue N + dequeue N counts N). The
 * same convention and the same harness code serve both sides.
 *
 * Each repetition of a row gives each side ctx->seconds in three slices,
 * alternating tarn, DPDK, DPDK, tarn, ... (DPDK first in odd repetitions)
 * and keeps each side's best slice: on a shared
 * or noisy machine this compares the two at their best rather than whoever
 * had the bad luck of a neighbour's burst.
 *
 *   "cache line ping-pong, 2 lcores (round trips)"  tarn only: the floor of
 *                              the two-lcore rows (see pingpong_row()).
 *
 * Threads are plain pthreads pinned with pthread_setaffinity_np() on the
 * CPUs of the bench lcores, for both sides.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tarn/tarn_env.h>
#include <tarn/tarn_ring.h>

#include "bench.h"

/* meson defines TARN_BENCH_HAVE_DPDK when libdpdk was found */
#ifdef TARN_BENCH_HAVE_DPDK
#define BENCH_RING_DPDK 1
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#endif

#define RING_COUNT  4096u
#define MAX_BULK    32u
#define MAX_THREADS 4u
#define SLICES      3

enum ring_mode { MODE_SPSC, MODE_MPMC, MODE_RTS };
static const char *const mode_names[] = { "spsc", "mpmc", "rts" };

enum ring_impl { IMPL_TARN, IMPL_DPDK };

/* One measured run. */
struct run {
	enum ring_impl impl;
	const char *label; /* the row's (instruction-count dumps) */
	void *ring;
	unsigned bulk;
	int stop;       /* set by the main thread (relaxed atomics) */
	int start;      /* released by the main thread */
	unsigned ready; /* threads at the start line */
	struct {
		uint64_t moved; /* elements this thread moved (see unit) */
		double t0, t1;  /* its own start and stop times */
	} per[MAX_THREADS] TARN_CACHE_ALIGNED;
};

struct worker {
	struct run *run;
	unsigned idx;
	int kind; /* 0 single, 1 producer, 2 consumer, 3 enq+deq (threads > cores) */
	cpu_set_t cpus;
	int (*fn)(struct run *, unsigned, int);
};

static int stopped(const struct run *run)
{
	return __atomic_load_n(&run->stop, __ATOMIC_RELAXED);
}

static void wait_start(struct run *run)
{
	__atomic_fetch_add(&run->ready, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&run->start, __ATOMIC_ACQUIRE))
		sched_yield();
}

/*
 * The loops, written once and instantiated per implementation so each calls
 * its ring inline. ENQ/DEQ(r, objs, n) return n or 0 (bulk).
 */
#define DEFINE_LOOPS(PFX, RTYPE, ENQ, DEQ)                                                         \
	static int PFX##_loop(struct run *run, unsigned idx, int kind)                             \
	{                                                                                          \
		RTYPE *r = (RTYPE *)run->ring;                                                     \
		const unsigned n = run->bulk;                                                      \
		void *objs[MAX_BULK];                                                              \
		uint64_t moved = 0;                                                                \
		for (unsigned i = 0; i < MAX_BULK; i++)                                            \
			objs[i] = (void *)(uintptr_t)(0x1000 + i);                                 \
		wait_start(run);                                                                   \
		run->per[idx].t0 = bench_now();                                                    \
		switch (kind) {                                                                    \
		case 0: /* one thread: enqueue then dequeue */                                     \
			bench_insns_start();                                                       \
			while (!stopped(run)) {                                                    \
				if (ENQ(r, objs, n) != n)                                          \
					return -EIO;                                               \
				if (DEQ(r, objs, n) != n)                                          \
					return -EIO;                                               \
				moved += n;                                                        \
			}                                                                          \
			bench_insns_dump(#PFX, "ring", run->label, moved);                         \
			break;                                                                     \
		case 1: /* producer: moved counted by the consumer */                              \
			while (!stopped(run))                                                      \
				ENQ(r, objs, n);                                                   \
			break;                                                                     \
		case 2: /* consumer */                                                             \
			while (!stopped(run))                                                      \
				moved += DEQ(r, objs, n);                                          \
			break;                                                                     \
		default: /* threads > cores: each enqueues and dequeues */                         \
			while (!stopped(run)) {                                                    \
				ENQ(r, objs, n);                                                   \
				moved += DEQ(r, objs, n);                                          \
			}                                                                          \
			break;                                                                     \
		}                                                                                  \
		run->per[idx].t1 = bench_now();                                                    \
		run->per[idx].moved = moved;                                                       \
		return 0;                                                                          \
	}

#define TARN_ENQ(r, o, n) tarn_ring_enqueue_bulk(r, o, n, NULL)
#define TARN_DEQ(r, o, n) tarn_ring_dequeue_bulk(r, o, n, NULL)
DEFINE_LOOPS(tarn, struct tarn_ring, TARN_ENQ, TARN_DEQ)

#ifdef BENCH_RING_DPDK
#define DPDK_ENQ(r, o, n) rte_ring_enqueue_bulk(r, o, n, NULL)
#define DPDK_DEQ(r, o, n) rte_ring_dequeue_bulk(r, o, n, NULL)
DEFINE_LOOPS(dpdk, struct rte_ring, DPDK_ENQ, DPDK_DEQ)
#endif

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_setaffinity_np(pthread_self(), sizeof(w->cpus), &w->cpus);
	return (void *)(intptr_t)w->fn(w->run, w->idx, w->kind);
}

static void *ring_make(const struct bench_ctx *ctx, enum ring_impl impl, enum ring_mode mode)
{
	if (impl == IMPL_TARN) {
		static const unsigned flags[] = {
			TARN_RING_F_SP_ENQ | TARN_RING_F_SC_DEQ,
			0,
			TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ,
		};
		struct tarn_ring *r =
		    tarn_ring_create("bench-ring", RING_COUNT, ctx->socket, flags[mode]);
		if (r == NULL)
			fprintf(stderr, "ring bench: tarn_ring_create: %s\n",
			        tarn_strerror(tarn_errno));
		return r;
	}
#ifdef BENCH_RING_DPDK
	static const unsigned dflags[] = {
		RING_F_SP_ENQ | RING_F_SC_DEQ,
		0,
		RING_F_MP_RTS_ENQ | RING_F_MC_RTS_DEQ,
	};
	struct rte_ring *r = rte_ring_create(
	    "bench-ring", RING_COUNT, ctx->socket < 0 ? SOCKET_ID_ANY : ctx->socket, dflags[mode]);
	if (r == NULL)
		fprintf(stderr, "ring bench: rte_ring_create: %s\n", rte_strerror(rte_errno));
	return r;
#else
	return NULL;
#endif
}

static void ring_unmake(enum ring_impl impl, void *r)
{
	if (impl == IMPL_TARN)
		tarn_ring_free(r);
#ifdef BENCH_RING_DPDK
	else
		rte_ring_free(r);
#endif
}

static int cpu_of(const struct bench_ctx *ctx, unsigned i)
{
	int cpu = tarn_lcore_cpu(ctx->lcores[i]);

	/* the main lcore may be unpinned (--no-pin-main): lcore id == CPU */
	return cpu >= 0 ? cpu : (int)ctx->lcores[i];
}

static void sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * One slice: create the ring, start the threads, let them run `secs`, stop
 * them. Returns elements moved per second (>= 0), or a negative errno.
 * `shape`: 0 single thread, 1 producer + consumer, 2 threads > cores.
 */
static double run_slice(const struct bench_ctx *ctx, enum ring_impl impl, enum ring_mode mode,
                        unsigned bulk, int shape, double secs, const char *label)
{
	struct run run;
	struct worker w[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	unsigned nthreads = shape == 0 ? 1 : shape == 1 ? 2 : MAX_THREADS;
	double rate = 0;
	int rc = 0;

	memset(&run, 0, sizeof(run));
	run.impl = impl;
	run.label = label;
	run.bulk = bulk;
	run.ring = ring_make(ctx, impl, mode);
	if (run.ring == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].run = &run;
		w[i].idx = i;
		w[i].kind = shape == 0 ? 0 : shape == 1 ? (int)(1 + i) : 3;
#ifdef BENCH_RING_DPDK
		w[i].fn = impl == IMPL_TARN ? tarn_loop : dpdk_loop;
#else
		w[i].fn = tarn_loop;
#endif
		CPU_ZERO(&w[i].cpus);
		if (shape == 2) {
			for (unsigned k = 0; k < ctx->n_lcores; k++)
				CPU_SET(cpu_of(ctx, k), &w[i].cpus);
		} else {
			CPU_SET(cpu_of(ctx, i), &w[i].cpus);
		}
	}
	unsigned started = 0;
	for (; started < nthreads; started++)
		if (pthread_create(&tid[started], NULL, worker_main, &w[started]) != 0) {
			rc = -EAGAIN;
			break;
		}
	while (rc == 0 && __atomic_load_n(&run.ready, __ATOMIC_ACQUIRE) < nthreads)
		sched_yield();
	__atomic_store_n(&run.start, 1, __ATOMIC_RELEASE);
	if (rc == 0)
		sleep_s(secs);
	__atomic_store_n(&run.stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < started; i++) {
		void *ret;

		pthread_join(tid[i], &ret);
		if (rc == 0 && (intptr_t)ret != 0)
			rc = (int)(intptr_t)ret;
	}
	if (rc == 0) {
		uint64_t moved = 0;
		double t0 = run.per[0].t0, t1 = run.per[0].t1;

		for (unsigned i = 0; i < nthreads; i++) {
			moved += run.per[i].moved;
			t0 = run.per[i].t0 < t0 ? run.per[i].t0 : t0;
			t1 = run.per[i].t1 > t1 ? run.per[i].t1 : t1;
		}
		rate = t1 > t0 ? (double)moved / (t1 - t0) : 0;
	}
	ring_unmake(impl, run.ring);
	return rc < 0 ? rc : rate;
}

static int bench_ring_row(const struct bench_ctx *ctx, enum ring_mode mode, unsigned bulk,
                          int shape)
{
	struct bench_row row;
	const unsigned ncores = ctx->n_lcores;

	memset(&row, 0, sizeof(row));
	row.family = "ring";
	if (shape == 2) {
		snprintf(row.label, sizeof(row.label), "%s bulk %u, %u threads on %u cores",
		         mode_names[mode], bulk, MAX_THREADS, ncores);
		bench_param_str(&row, "mode", mode_names[mode]);
		bench_param_uint(&row, "bulk", bulk);
		bench_param_uint(&row, "lcores", ncores);
		bench_param_uint(&row, "threads", MAX_THREADS);
	} else {
		const unsigned lc = shape == 0 ? 1 : 2;

		snprintf(row.label, sizeof(row.label), "%s bulk %u, %u lcore%s", mode_names[mode],
		         bulk, lc, lc > 1 ? "s" : "");
		bench_param_str(&row, "mode", mode_names[mode]);
		bench_param_uint(&row, "bulk", bulk);
		bench_param_uint(&row, "lcores", lc);
	}
	if (ctx->filter != NULL && strstr(row.label, ctx->filter) == NULL)
		return 0;

	const double slice = ctx->seconds / SLICES;
	/* warm up both (page faults, caches, frequency) */
	if (run_slice(ctx, IMPL_TARN, mode, bulk, shape, 0.02, "warm-up") < 0)
		return -EIO;
#ifdef BENCH_RING_DPDK
	if (ctx->dpdk && run_slice(ctx, IMPL_DPDK, mode, bulk, shape, 0.02, "warm-up") < 0)
		return -EIO;
#endif
	for (unsigned rep = 0; rep < ctx->repeat; rep++) {
		double best_t = 0, best_d = 0;
		for (int s = 0; s < SLICES; s++) {
			for (int k = 0; k < 2; k++) {
				/* alternate which side goes first in a slice */
				const enum ring_impl impl =
				    ((s + k + (int)rep) % 2) ? IMPL_DPDK : IMPL_TARN;
				double r;

				if (impl == IMPL_DPDK) {
#ifdef BENCH_RING_DPDK
					if (!ctx->dpdk)
						continue;
					r = run_slice(ctx, IMPL_DPDK, mode, bulk, shape, slice,
					              row.label);
					if (r < 0)
						return (int)r;
					best_d = r > best_d ? r : best_d;
#endif
					continue;
				}
				r = run_slice(ctx, IMPL_TARN, mode, bulk, shape, slice, row.label);
				if (r < 0)
					return (int)r;
				best_t = r > best_t ? r : best_t;
			}
		}
		bench_row_add_rep(&row, best_t, best_d > 0 ? best_d : -1);
	}
	bench_row_print(ctx, &row);
	return 0;
}

/*
 * The floor of every two-lcore row: one cache line bouncing between the two
 * CPUs. The first thread writes an odd number and waits for the next even
 * one, the second waits for the odd one and writes the next even: every
 * round trip moves the line twice (one store each way, each waiting for
 * the line to come back). Nothing else is touched, so no two-lcore
 * operation that needs the other CPU's latest write can go faster than one
 * transfer. Rate: round trips per second (tarn only: there is no library in
 * it).
 */
struct pingpong {
	uint64_t line TARN_CACHE_ALIGNED; /* the bouncing line */
	int stop TARN_CACHE_ALIGNED;
	int ready;
	uint64_t trips;
	double t0, t1;
	cpu_set_t cpus[2];
};

static void *pingpong_b(void *arg)
{
	struct pingpong *pp = arg;
	pthread_setaffinity_np(pthread_self(), sizeof(pp->cpus[1]), &pp->cpus[1]);
	__atomic_store_n(&pp->ready, 1, __ATOMIC_RELEASE);
	for (uint64_t v = 1;; v += 2) {
		uint64_t x;
		/* acquire: pairs with A's release of v */
		while ((x = __atomic_load_n(&pp->line, __ATOMIC_ACQUIRE)) != v) {
			if (x == UINT64_MAX)
				return NULL;
			__builtin_ia32_pause();
		}
		/* release: pairs with A's acquire of v + 1 */
		__atomic_store_n(&pp->line, v + 1, __ATOMIC_RELEASE);
	}
}

static int pingpong_row(const struct bench_ctx *ctx)
{
	struct bench_row row;
	memset(&row, 0, sizeof(row));
	row.family = "ring";
	snprintf(row.label, sizeof(row.label), "cache line ping-pong, 2 lcores (round trips)");
	bench_param_str(&row, "mode", "pingpong");
	bench_param_uint(&row, "lcores", 2);
	if (ctx->filter != NULL && strstr(row.label, ctx->filter) == NULL)
		return 0;
	for (unsigned rep = 0; rep < ctx->repeat; rep++) {
		struct pingpong *pp = aligned_alloc(TARN_CACHE_LINE, sizeof(*pp));
		if (pp == NULL)
			return -ENOMEM;
		memset(pp, 0, sizeof(*pp));
		for (unsigned i = 0; i < 2; i++) {
			CPU_ZERO(&pp->cpus[i]);
			CPU_SET(cpu_of(ctx, i), &pp->cpus[i]);
		}
		pthread_t b;
		if (pthread_create(&b, NULL, pingpong_b, pp) != 0) {
			free(pp);
			return -EAGAIN;
		}
		cpu_set_t old;
		pthread_getaffinity_np(pthread_self(), sizeof(old), &old);
		pthread_setaffinity_np(pthread_self(), sizeof(pp->cpus[0]), &pp->cpus[0]);
		while (!__atomic_load_n(&pp->ready, __ATOMIC_ACQUIRE))
			sched_yield();
		const double t0 = bench_now();
		uint64_t v = 1;
		double t;
		do {
			for (unsigned k = 0; k < 4096; k++, v += 2) {
				/* release: pairs with B's acquire of v */
				__atomic_store_n(&pp->line, v, __ATOMIC_RELEASE);
				/* acquire: pairs with B's release of v + 1 */
				while (__atomic_load_n(&pp->line, __ATOMIC_ACQUIRE) != v + 1)
					__builtin_ia32_pause();
			}
			t = bench_now();
		} while (t - t0 < ctx->seconds);
		__atomic_store_n(&pp->line, UINT64_MAX, __ATOMIC_RELEASE);
		pthread_join(b, NULL);
		pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
		bench_row_add_rep(&row, (double)(v / 2) / (t - t0), 0);
		free(pp);
	}
	bench_row_print(ctx, &row);
	return 0;
}

int bench_ring(const struct bench_ctx *ctx)
{
	static const unsigned bulks[] = { 1, 8, 32 };
	static const enum ring_mode modes[] = { MODE_SPSC, MODE_MPMC, MODE_RTS };
	int rc;

	bench_table_header(ctx, "ring",
	                   "elements moved per second (enqueue + dequeue = 1), ring of 4096");
	for (int shape = 0; shape <= 1; shape++) {
		if (shape == 1 && ctx->n_lcores < 2)
			continue;
		for (unsigned m = 0; m < TARN_ARRAY_SIZE(modes); m++)
			for (unsigned b = 0; b < TARN_ARRAY_SIZE(bulks); b++) {
				rc = bench_ring_row(ctx, modes[m], bulks[b], shape);
				if (rc < 0)
					return rc;
			}
	}
	/* more threads than cores: the multi-thread modes only */
	for (unsigned m = 1; m < TARN_ARRAY_SIZE(modes); m++)
		for (unsigned b = 1; b < TARN_ARRAY_SIZE(bulks); b++) {
			rc = bench_ring_row(ctx, modes[m], bulks[b], 2);
			if (rc < 0)
				return rc;
		}
	if (ctx->n_lcores == 2)
		return pingpong_row(ctx);
	return 0;
}
