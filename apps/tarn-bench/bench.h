/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench.h - internal to tarn-bench: what main.c gives each benchmark family.
 *
 * main.c parses the common options, starts tarn (tarn_init with the bench
 * lcores) and, in the same process, DPDK's EAL (same CPUs, --no-pci,
 * --in-memory), then calls one family's entry point. A family runs each row
 * on tarn and on DPDK back to back and reports it with bench_row_print().
 */
#ifndef TARN_BENCH_H
#define TARN_BENCH_H

#include <stdint.h>
#include <stdio.h>

struct bench_ctx {
	double seconds;     /* measuring time per row, side and repetition (--seconds,
	                       default 1.0) */
	unsigned repeat;    /* --repeat N: repetitions of every row (default 1) */
	int json;           /* --json: rows as a JSON list on stdout, no table */
	unsigned lcores[2]; /* tarn lcore ids == DPDK lcore ids of the two bench CPUs */
	unsigned n_lcores;  /* 1 or 2 usable lcores (2 when the machine has them) */
	const char *filter; /* --filter SUBSTR: run only rows whose label contains it */
	int dpdk;           /* non-zero when DPDK's EAL is up (else DPDK columns are absent) */
	int socket;         /* --socket N: pools and rings on socket N; TARN_SOCKET_ANY (-1):
	                       the calling lcore's socket */
	FILE *out;          /* where tables go (stdout) */
};

#define BENCH_MAX_PARAMS 8

/* One parameter of a row: a string when `str` is not NULL, else a number. */
struct bench_param {
	const char *key; /* a string literal */
	const char *str; /* a string alive until bench_row_print() */
	uint64_t num;
};

/* Most repetitions of a row (--repeat). */
#define BENCH_MAX_REPEAT 100 /* tarn-bench --help says 100 */

/* One result row. `params` are the row's parameters (cache size, bulk, ...)
 * in the order JSON prints them, after "family" and "label"; `label` is the
 * table text for the same parameters. A family measures the row
 * ctx->repeat times, each time on both sides (alternating), and adds each
 * repetition with bench_row_add_rep(); a DPDK rate <= 0 means "not
 * measured". */
struct bench_row {
	const char *family; /* "mempool", "ring", ... */
	char label[128];
	struct bench_param params[BENCH_MAX_PARAMS];
	unsigned n_params;
	int time_unit; /* the rates are operations (starts) per second, shown as
	                  milliseconds per operation: table in ms, JSON with
	                  tarn_ms/dpdk_ms beside the rates */
	unsigned n_reps;
	double tarn_rep[BENCH_MAX_REPEAT]; /* ops/s of each repetition */
	double dpdk_rep[BENCH_MAX_REPEAT];
};

/* Add a parameter to `row` (at most BENCH_MAX_PARAMS: more are a bug, and
 * abort the benchmark with a message). */
void bench_param_uint(struct bench_row *row, const char *key, uint64_t v);
void bench_param_str(struct bench_row *row, const char *key, const char *s);

/* Add one repetition's rates to `row` (at most BENCH_MAX_REPEAT: more are a
 * bug, and abort the benchmark with a message). */
void bench_row_add_rep(struct bench_row *row, double tarn_ops_per_s, double dpdk_ops_per_s);

/* Print a row (table line, or JSON element): the medians over its
 * repetitions, the ratio's spread and verdict (stats.h); and remember it for
 * the summary (geometric mean of the median ratios, rows below 1.0). */
void bench_row_print(const struct bench_ctx *ctx, const struct bench_row *row);
/* Print a table header for a family (nothing in JSON mode): rates in Mops/s,
 * or with _unit, in `unit` ("ms" for time_unit rows). */
void bench_table_header(const struct bench_ctx *ctx, const char *family, const char *cols);
void bench_table_header_unit(const struct bench_ctx *ctx, const char *family, const char *cols,
                             const char *unit);
/* Monotonic seconds. */
double bench_now(void);

/*
 * Instruction counts under callgrind (valgrind --tool=callgrind): a
 * single-threaded measured loop calls bench_insns_start() right before it
 * and bench_insns_dump() right after, with its side ("tarn", "dpdk"), the
 * row's family and label, and the operations it did. Callgrind then writes
 * one dump per loop, named "tarn-bench insns SIDE|FAMILY|LABEL|ops=N",
 * holding only that loop's instructions; scripts/bench-insns.py sums them
 * per row and side. Outside valgrind both are a few no-op instructions.
 * Loops of several threads do not call them (callgrind runs one thread at
 * a time: their counts would include spinning).
 */
void bench_insns_start(void);
void bench_insns_dump(const char *side, const char *family, const char *label, uint64_t ops);

/*
 * Two-lcore slices (bench_mempool.c, bench_dpdk_ops.c). A worker runs on
 * each lcore of a slice: it waits for *go, measures, and writes its
 * bench_lcore_result. bench_slice() clears the results, launches
 * fn(args[1]) on ctx->lcores[1] when lcores is 2 (by tarn's lcore API, or
 * with `eal` by DPDK's EAL), releases both, runs fn(args[0]) on this thread,
 * waits for the other, and adds each lcore's objects and seconds to `tot`.
 * 0; -EBUSY when the lcore cannot be launched, -ENOBUFS when a worker's get
 * failed (`what`: the pool, named in the message), each with a message.
 */
struct bench_lcore_result {
	uint64_t objs;
	double elapsed;
	int rc; /* the worker's: < 0 when a get failed */
} __attribute__((aligned(64)));

/* A side's objects and seconds over its slices, per lcore. */
struct bench_side_total {
	double objs[2], elapsed[2];
};

int bench_slice(const struct bench_ctx *ctx, int eal, unsigned lcores, int (*fn)(void *),
                void *const args[2], int *go, struct bench_lcore_result lc[2],
                struct bench_side_total *tot, const char *what);
/* The sum over the lcores of each one's objects per second. */
double bench_side_rate(const struct bench_side_total *tot, unsigned lcores);

/* Families. Return 0 on success, a negative errno on failure. */
int bench_mempool(const struct bench_ctx *ctx);
int bench_ring(const struct bench_ctx *ctx);
int bench_mbuf(const struct bench_ctx *ctx);
/* Start-up (bench_startup.c): each start a child process; `huge`: both on
 * hugepages; `dpdk`: run DPDK's side too. Runs before the parent starts tarn
 * or DPDK. */
int bench_startup(const struct bench_ctx *ctx, int huge, int dpdk);
/* In a child started by bench_startup() (TARN_BENCH__STARTUP=`side` in its
 * environment): play `side`, report, and return the exit status.
 * `t_main`: CLOCK_MONOTONIC ns when main() was entered. */
int bench_startup_child(const char *side, uint64_t t_main);
#ifdef TARN_BENCH_HAVE_DPDK
/*
 * The EAL arguments of tarn-bench's DPDK side (main.c's EAL and each
 * start-up child's): `lcores` (-l), no PCI, no telemetry, `prefix`, errors
 * only; with `huge` in memory on hugepages, else `no_huge_mb` MiB of normal
 * pages without shared files. Fills argv (BENCH_EAL_ARGV slots, NULL last;
 * the strings must outlive the EAL) and returns argc.
 */
#define BENCH_EAL_ARGV 16
int bench_eal_argv(char **argv, const char *lcores, const char *prefix, int huge,
                   const char *no_huge_mb);
#endif

/* rte_mempool on the plugin's "tarn"/"tarn_stack" ops against "ring_mp_mc"
 * (bench_dpdk_ops.c); -ENOTSUP without DPDK. */
int bench_dpdk_ops(const struct bench_ctx *ctx);

#endif
