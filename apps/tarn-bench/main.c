/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tarn-bench - micro-benchmarks of tarn, with DPDK side by side.
 *
 *   tarn-bench [--json] [--seconds S] [--repeat N] [--filter STR] [--socket N]
 *              [--no-dpdk] [--help] mempool|ring|mbuf|dpdk-ops|startup|all
 *
 * Starts tarn on the first two CPUs this process may run on (one when there
 * is only one), then, in the same process and on the same CPUs, DPDK's EAL
 * (when built with libdpdk and not --no-dpdk). Each row runs on tarn and on
 * DPDK back to back, --repeat times; the table gives both rates and their
 * ratio (medians over the repetitions, with the ratio's spread and a verdict),
 * and a summary gives the geometric mean of the ratios.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tarn/tarn.h>

#include "bench.h"
#include "json_priv.h"
#include "stats.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_HAVE_CALLGRIND 1
#endif

#ifdef TARN_BENCH_HAVE_DPDK
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#endif

/* ------------------------------------------------------------------------ */
/* Rows and summary                                                          */

#define MAX_ROWS 4096

struct seen_row {
	const char *family;
	char label[128];
	struct bench_spread ratio; /* n == 0: no DPDK figure */
	enum bench_verdict verdict;
	int cached; /* the row has a "cache" parameter > 0 */
};

static struct seen_row seen[MAX_ROWS];
static unsigned n_seen;
static unsigned n_json;
static unsigned repeat_used = 1; /* ctx->repeat, for the summary */

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_insns_start(void)
{
#ifdef BENCH_HAVE_CALLGRIND
	if (RUNNING_ON_VALGRIND)
		CALLGRIND_ZERO_STATS;
#endif
}

void bench_insns_dump(const char *side, const char *family, const char *label, uint64_t ops)
{
#ifdef BENCH_HAVE_CALLGRIND
	if (RUNNING_ON_VALGRIND) {
		char name[256];
		snprintf(name, sizeof(name), "tarn-bench insns %s|%s|%s|ops=%llu", side, family,
		         label, (unsigned long long)ops);
		CALLGRIND_DUMP_STATS_AT(name);
	}
#else
	(void)side;
	(void)family;
	(void)label;
	(void)ops;
#endif
}

static void bench_param_add(struct bench_row *row, const struct bench_param *p)
{
	if (row->n_params == BENCH_MAX_PARAMS) {
		fprintf(stderr, "tarn-bench: row '%s': more than %d parameters\n", row->label,
		        BENCH_MAX_PARAMS);
		abort();
	}
	row->params[row->n_params++] = *p;
}

void bench_param_uint(struct bench_row *row, const char *key, uint64_t v)
{
	bench_param_add(row, &(struct bench_param){ .key = key, .num = v });
}

void bench_param_str(struct bench_row *row, const char *key, const char *s)
{
	bench_param_add(row, &(struct bench_param){ .key = key, .str = s != NULL ? s : "" });
}

void bench_row_add_rep(struct bench_row *row, double tarn_ops_per_s, double dpdk_ops_per_s)
{
	if (row->n_reps == BENCH_MAX_REPEAT) {
		fprintf(stderr, "tarn-bench: row '%s': more than %d repetitions\n", row->label,
		        BENCH_MAX_REPEAT);
		abort();
	}
	row->tarn_rep[row->n_reps] = tarn_ops_per_s;
	row->dpdk_rep[row->n_reps] = dpdk_ops_per_s;
	row->n_reps++;
}

/* A row is "cached" when it has a numeric parameter "cache" above 0. */
static int row_cached(const struct bench_row *row)
{
	for (unsigned i = 0; i < row->n_params; i++)
		if (strcmp(row->params[i].key, "cache") == 0 && row->params[i].str == NULL)
			return row->params[i].num > 0;
	return 0;
}

/* The seed of a row's bootstrap: a hash of its family and label (FNV-1a), so
 * that the same figures give the same interval. */
static uint64_t row_seed(const struct bench_row *row)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = row->family; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	for (const char *p = row->label; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return h;
}

/* What the repetitions of a row say: medians of the two rates, the
 * per-repetition ratios' spread. */
struct row_summary {
	double tarn, dpdk;       /* median rates; dpdk <= 0: not measured */
	double tarn_ms, dpdk_ms; /* time_unit rows: median ms per operation */
	double ratios[BENCH_MAX_REPEAT];
	struct bench_spread ratio;
	enum bench_verdict verdict;
};

static void row_summarise(const struct bench_row *row, struct row_summary *rs)
{
	double d[BENCH_MAX_REPEAT];
	unsigned nd = 0;
	rs->tarn = bench_median(row->tarn_rep, row->n_reps);
	for (unsigned i = 0; i < row->n_reps; i++) {
		const int have = row->dpdk_rep[i] > 0;
		rs->ratios[i] = have ? row->tarn_rep[i] / row->dpdk_rep[i] : NAN;
		if (have)
			d[nd++] = row->dpdk_rep[i];
	}
	rs->dpdk = nd ? bench_median(d, nd) : 0;
	if (row->time_unit) {
		double t[BENCH_MAX_REPEAT];
		for (unsigned i = 0; i < row->n_reps; i++)
			t[i] = 1e3 / row->tarn_rep[i];
		rs->tarn_ms = bench_median(t, row->n_reps);
		nd = 0;
		for (unsigned i = 0; i < row->n_reps; i++)
			if (row->dpdk_rep[i] > 0)
				t[nd++] = 1e3 / row->dpdk_rep[i];
		rs->dpdk_ms = nd ? bench_median(t, nd) : NAN;
	}
	bench_spread(rs->ratios, row->n_reps, row_seed(row), &rs->ratio);
	rs->verdict = bench_verdict(&rs->ratio);
}

/* One row as a JSON object: family, label, the parameters, the median rates
 * and ratio, the ratio's spread and verdict, and every repetition. */
static void row_json(FILE *f, const struct bench_row *row, const struct row_summary *rs)
{
	struct tarn__json j;
	const int have_dpdk = rs->ratio.n > 0;
	tarn__json_init(&j, f, TARN__JSON_SPACED);
	tarn__json_object_open(&j, NULL);
	tarn__json_string(&j, "family", row->family);
	tarn__json_string(&j, "label", row->label);
	for (unsigned i = 0; i < row->n_params; i++) {
		const struct bench_param *p = &row->params[i];
		if (p->str != NULL)
			tarn__json_string(&j, p->key, p->str);
		else
			tarn__json_uint(&j, p->key, p->num);
	}
	tarn__json_uint(&j, "repeat", row->n_reps);
	const int dec = row->time_unit ? 3 : 0;
	tarn__json_double(&j, "tarn_ops_per_s", rs->tarn, dec);
	if (row->time_unit) {
		tarn__json_double(&j, "tarn_ms", rs->tarn_ms, 3);
		tarn__json_double(&j, "dpdk_ms", rs->dpdk_ms, 3); /* NaN: null */
	}
	if (have_dpdk) {
		tarn__json_double(&j, "dpdk_ops_per_s", rs->dpdk, dec);
		tarn__json_double(&j, "ratio", rs->ratio.median, 4);
		tarn__json_double(&j, "ratio_min", rs->ratio.min, 4);
		tarn__json_double(&j, "ratio_max", rs->ratio.max, 4);
		tarn__json_double(&j, "ratio_ci95_lo", rs->ratio.ci_lo, 4); /* NaN: null */
		tarn__json_double(&j, "ratio_ci95_hi", rs->ratio.ci_hi, 4);
		tarn__json_string(&j, "verdict", bench_verdict_name(rs->verdict));
	} else {
		tarn__json_null(&j, "dpdk_ops_per_s");
		tarn__json_null(&j, "ratio");
		tarn__json_null(&j, "ratio_min");
		tarn__json_null(&j, "ratio_max");
		tarn__json_null(&j, "ratio_ci95_lo");
		tarn__json_null(&j, "ratio_ci95_hi");
		tarn__json_null(&j, "verdict");
	}
	tarn__json_array_open(&j, "reps");
	for (unsigned i = 0; i < row->n_reps; i++) {
		tarn__json_object_open(&j, NULL);
		tarn__json_double(&j, "tarn_ops_per_s", row->tarn_rep[i], dec);
		if (row->time_unit) {
			tarn__json_double(&j, "tarn_ms", 1e3 / row->tarn_rep[i], 3);
			if (row->dpdk_rep[i] > 0)
				tarn__json_double(&j, "dpdk_ms", 1e3 / row->dpdk_rep[i], 3);
			else
				tarn__json_null(&j, "dpdk_ms");
		}
		if (row->dpdk_rep[i] > 0) {
			tarn__json_double(&j, "dpdk_ops_per_s", row->dpdk_rep[i], dec);
			tarn__json_double(&j, "ratio", rs->ratios[i], 4);
		} else {
			tarn__json_null(&j, "dpdk_ops_per_s");
			tarn__json_null(&j, "ratio");
		}
		tarn__json_close(&j);
	}
	tarn__json_close(&j);
	if (tarn__json_finish(&j) < 0)
		fprintf(stderr, "tarn-bench: row '%s': JSON writer misused\n", row->label);
}

void bench_table_header_unit(const struct bench_ctx *ctx, const char *family, const char *cols,
                             const char *unit)
{
	if (ctx->json)
		return;
	char t[32], d[32];
	snprintf(t, sizeof(t), "tarn %s", unit);
	snprintf(d, sizeof(d), "dpdk %s", unit);
	fprintf(ctx->out, "\n%s\n%-56s %12s %12s %8s", family, cols, t, ctx->dpdk ? d : "",
	        ctx->dpdk ? "ratio" : "");
	if (ctx->dpdk && ctx->repeat > 1)
		fprintf(ctx->out, "  %-11s  %-15s  %s", "min-max", "95% CI", "verdict");
	fprintf(ctx->out, "\n");
	fflush(ctx->out);
}

void bench_table_header(const struct bench_ctx *ctx, const char *family, const char *cols)
{
	bench_table_header_unit(ctx, family, cols, "Mops/s");
}

void bench_row_print(const struct bench_ctx *ctx, const struct bench_row *row)
{
	struct row_summary rs;
	row_summarise(row, &rs);
	const int have_dpdk = rs.ratio.n > 0;
	/* what the table shows: Mops/s, or ms per operation */
	const double tv = row->time_unit ? rs.tarn_ms : rs.tarn / 1e6;
	const double dv = row->time_unit ? rs.dpdk_ms : rs.dpdk / 1e6;
	if (ctx->json) {
		fprintf(ctx->out, "%s\n  ", n_json++ ? "," : "");
		row_json(ctx->out, row, &rs);
	} else if (have_dpdk && row->n_reps > 1) {
		char ci[32] = "";
		if (!isnan(rs.ratio.ci_lo))
			snprintf(ci, sizeof(ci), "[%.3f,%.3f]", rs.ratio.ci_lo, rs.ratio.ci_hi);
		fprintf(ctx->out, "%-56s %12.2f %12.2f %8.3f  %.3f-%.3f  %-15s  %s\n", row->label,
		        tv, dv, rs.ratio.median, rs.ratio.min, rs.ratio.max, ci,
		        bench_verdict_name(rs.verdict));
	} else if (have_dpdk) {
		fprintf(ctx->out, "%-56s %12.2f %12.2f %8.3f%s\n", row->label, tv, dv,
		        rs.ratio.median, rs.ratio.median < 1.0 ? "  <" : "");
	} else {
		fprintf(ctx->out, "%-56s %12.2f\n", row->label, tv);
	}
	fflush(ctx->out);
	if (n_seen < MAX_ROWS) {
		struct seen_row *s = &seen[n_seen++];
		s->family = row->family;
		snprintf(s->label, sizeof(s->label), "%s", row->label);
		s->ratio = rs.ratio;
		s->verdict = rs.verdict;
		s->cached = row_cached(row);
	}
}

static void print_seen(FILE *out, const struct seen_row *s)
{
	if (s->ratio.n > 1)
		fprintf(out, "  %s (median %.3f, %.3f-%.3f)\n", s->label, s->ratio.median,
		        s->ratio.min, s->ratio.max);
	else
		fprintf(out, "  %s (%.3f)\n", s->label, s->ratio.median);
}

/* Per family: geometric mean of the (median) ratios over all rows and over
 * the cached rows; the rows below 1.0 (every repetition below), and, with
 * repetitions, the rows whose median is below 1.0 but whose spread reaches
 * it. */
static void summary(const struct bench_ctx *ctx, FILE *out)
{
	const char *families[8];
	unsigned nf = 0;
	for (unsigned i = 0; i < n_seen; i++) {
		unsigned k = 0;
		while (k < nf && strcmp(families[k], seen[i].family) != 0)
			k++;
		if (k == nf && nf < 8)
			families[nf++] = seen[i].family;
	}
	if (!ctx->dpdk) {
		fprintf(out, "\nsummary: %u rows, tarn only (no DPDK figures to compare)\n",
		        n_seen);
		return;
	}
	for (unsigned f = 0; f < nf; f++) {
		double lsum = 0, lsum_c = 0;
		unsigned n = 0, n_c = 0, below = 0, undecided = 0;
		for (unsigned i = 0; i < n_seen; i++) {
			const struct seen_row *s = &seen[i];
			if (strcmp(s->family, families[f]) != 0 || s->ratio.n == 0)
				continue;
			lsum += log(s->ratio.median);
			n++;
			if (s->cached) {
				lsum_c += log(s->ratio.median);
				n_c++;
			}
			below += s->verdict == BENCH_BELOW;
			undecided += s->verdict == BENCH_UNDECIDED && s->ratio.median < 1.0;
		}
		if (n == 0) {
			fprintf(out, "\nsummary %s: no row with a DPDK figure\n", families[f]);
			continue;
		}
		fprintf(out, "\nsummary %s: geometric mean of %starn/dpdk over %u rows: %.3f",
		        families[f], repeat_used > 1 ? "the median " : "", n, exp(lsum / n));
		if (n_c)
			fprintf(out, "; over the %u cached rows: %.3f", n_c, exp(lsum_c / n_c));
		fprintf(out, "\n");
		if (repeat_used > 1)
			fprintf(out, "rows below 1.0 in all %u repetitions: ", repeat_used);
		else
			fprintf(out, "rows below 1.0 (one repetition: --repeat N tells a gap from "
			             "noise): ");
		if (below == 0) {
			fprintf(out, "none\n");
		} else {
			fprintf(out, "%u\n", below);
			for (unsigned i = 0; i < n_seen; i++)
				if (strcmp(seen[i].family, families[f]) == 0 &&
				    seen[i].verdict == BENCH_BELOW)
					print_seen(out, &seen[i]);
		}
		if (repeat_used > 1) {
			fprintf(out, "rows with a median below 1.0 whose spread reaches 1.0: ");
			if (undecided == 0) {
				fprintf(out, "none\n");
				continue;
			}
			fprintf(out, "%u\n", undecided);
			for (unsigned i = 0; i < n_seen; i++)
				if (strcmp(seen[i].family, families[f]) == 0 &&
				    seen[i].verdict == BENCH_UNDECIDED &&
				    seen[i].ratio.median < 1.0)
					print_seen(out, &seen[i]);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Options                                                                   */

_Static_assert(BENCH_MAX_REPEAT == 100, "usage() and --repeat's message say 100");

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: tarn-bench [--json] [--seconds S] [--repeat N] [--filter STR]\n"
	        "                  [--socket N] [--no-dpdk] [tarn options] [--help]\n"
	        "                  mempool|ring|mbuf|dpdk-ops|startup|all\n"
	        "\n"
	        "Runs each benchmark row on tarn and on DPDK (same process, same CPUs) back\n"
	        "to back and prints both rates in millions of operations per second and\n"
	        "their ratio tarn/dpdk, then the geometric mean of the ratios. With\n"
	        "--repeat N each row is measured N times (the two sides alternating within\n"
	        "each repetition): the rates and the ratio are medians, min-max is the\n"
	        "spread of the N ratios, 95%% CI a bootstrap interval of their median (from\n"
	        "3 repetitions), and the verdict says \"below\" only when every repetition\n"
	        "was below 1.0, \"above\" when every one was at or above, else\n"
	        "\"undecided\" (noise cannot be told from a gap).\n"
	        "\n"
	        "  mempool       DPDK's mempool_perf_autotest matrix: cache 0 and 512,\n"
	        "                1 and 2 lcores, get/put bulk 1, 4, 32, keep 32 and 128\n"
	        "  ring          ring enqueue/dequeue rows\n"
	        "  mbuf          packet buffer alloc/free rows\n"
	        "  dpdk-ops      rte_mempool on the DPDK plugin's \"tarn\" and \"tarn_stack\" ops\n"
	        "                against the same on \"ring_mp_mc\": cache 0 and 512, 1 and 2\n"
	        "                lcores, bulk 1, 4, 32 (needs DPDK)\n"
	        "  startup       start-up, each start a new process: tarn_init() and a\n"
	        "                pktmbuf pool of 65535 mbufs (cache 256) against\n"
	        "                rte_eal_init() and rte_pktmbuf_pool_create(); times in ms\n"
	        "                (init, pool create, both, exec to pool ready, teardown)\n"
	        "  all           all of them (startup first)\n"
	        "\n"
	        "  --json        print rows as a JSON list on stdout (summary on stderr)\n"
	        "  --seconds S   measuring time per row, side and repetition (default 1.0)\n"
	        "  --repeat N    measure every row N times, 1 to 100 (default 1)\n"
	        "  --filter STR  run only rows whose label contains STR\n"
	        "  --socket N    put the pools and rings on NUMA socket N (default: the\n"
	        "                socket of the lcore that creates them); with taskset this\n"
	        "                measures remote memory (scripts/numa-bench.sh)\n"
	        "  --no-dpdk     do not start DPDK: tarn figures only\n"
	        "  --help        this text\n"
	        "\n"
	        "lcores: the first two CPUs this process may run on (taskset to choose),\n"
	        "or --lcores with one or two CPUs (\"2,3\"); DPDK runs on the same ones.\n"
	        "Both sides use hugepages when at least 64 MiB of them are free, else\n"
	        "neither does (DPDK --no-huge; tarn transparent huge pages or 4 KiB);\n"
	        "--huge none (--no-huge) keeps both off hugepages, --huge require fails\n"
	        "without them. The file prefix is tarn-bench unless --file-prefix says.\n"
	        "TARN_BENCH_DPDK_HOISTED=1: DPDK's mempool rows look the lcore cache up\n"
	        "once per lcore, as mempool_perf_autotest does (default: on every call,\n"
	        "as rte_mempool_get_bulk() and tarn_mempool_get_bulk() do).\n\n");
	tarn_config_usage(out);
}

/* --lcores for the benchmark: one or two CPUs as a plain list ("2,3",
 * "4-5", "1"); lcore id = CPU, as DPDK's -l takes them. Returns the count,
 * or -1 (with a message) for anything else. */
static int parse_bench_lcores(const char *list, unsigned cpus[2])
{
	unsigned n = 0;
	const char *p = list;
	while (*p != '\0') {
		char *end;
		errno = 0;
		unsigned long a = strtoul(p, &end, 10), b;
		if (end == p || errno != 0 || a >= TARN_MAX_LCORES)
			goto bad;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtoul(p, &end, 10);
			if (end == p || errno != 0 || b < a || b >= TARN_MAX_LCORES)
				goto bad;
		}
		for (unsigned long c = a; c <= b; c++) {
			if (n == 2)
				goto bad;
			cpus[n++] = (unsigned)c;
		}
		if (*end != ',' && *end != '\0')
			goto bad;
		p = *end == ',' ? end + 1 : end;
	}
	if (n == 2 && cpus[0] == cpus[1])
		goto bad;
	if (n > 0)
		return (int)n;
bad:
	fprintf(stderr,
	        "tarn-bench: --lcores '%s': expected one or two CPUs (\"1\", \"2,3\", \"4-5\"); "
	        "both tarn and DPDK run on them, lcore id = CPU\n",
	        list);
	return -1;
}

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "tarn-bench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(tarn-bench --help for usage)\n");
	return 2;
}

/* ------------------------------------------------------------------------ */
/* DPDK                                                                      */

/* Free hugepage memory of the default size, in bytes (readable before
 * tarn_init()). */
static uint64_t free_hugepage_bytes(void)
{
	struct tarn_hugepage_info info[64];
	int k = tarn_hugepage_info_get(info, 64);
	uint64_t def = tarn_hugepage_default_size(), sum = 0;
	for (int i = 0; i < k && i < 64; i++)
		if (info[i].page_size == def)
			sum += info[i].free * info[i].page_size;
	return sum;
}

/* Both sides need a few MiB each; below this, neither uses hugepages. */
#define HUGE_NEEDED (64ull << 20)

#ifdef TARN_BENCH_HAVE_DPDK
int bench_eal_argv(char **argv, const char *lcores, const char *prefix, int huge,
                   const char *no_huge_mb)
{
	int argc = 0;
	argv[argc++] = "tarn-bench";
	argv[argc++] = "-l";
	argv[argc++] = (char *)lcores;
	argv[argc++] = "--no-pci";
	argv[argc++] = "--no-telemetry";
	argv[argc++] = "--file-prefix";
	argv[argc++] = (char *)prefix;
	argv[argc++] = "--log-level";
	argv[argc++] = "error";
	if (huge) {
		argv[argc++] = "--in-memory";
	} else {
		/* --no-huge implies legacy memory, which DPDK 22.11 refuses
		 * together with --in-memory: --no-shconf keeps the run free of
		 * shared files all the same. */
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = (char *)no_huge_mb;
		argv[argc++] = "--no-shconf";
	}
	argv[argc] = NULL;
	return argc;
}

static int dpdk_start(const struct bench_ctx *ctx, int huge)
{
	static char a_l[64], a_prefix[64];
	char *argv[BENCH_EAL_ARGV];
	if (ctx->n_lcores == 2)
		snprintf(a_l, sizeof(a_l), "%u,%u", ctx->lcores[0], ctx->lcores[1]);
	else
		snprintf(a_l, sizeof(a_l), "%u", ctx->lcores[0]);
	snprintf(a_prefix, sizeof(a_prefix), "tarn-bench-dpdk-%d", (int)getpid());
	int argc = bench_eal_argv(argv, a_l, a_prefix, huge, "256");
	int rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "tarn-bench: DPDK's EAL did not start (%s): tarn figures only\n",
		        rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}
#endif

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	const double t_main = bench_now();
	/* A child of the start-up benchmark (bench_startup.c) plays its part
	 * and nothing else. */
	const char *startup_side = getenv("TARN_BENCH__STARTUP");
	if (startup_side != NULL)
		return bench_startup_child(startup_side, (uint64_t)(t_main * 1e9));

	struct bench_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.seconds = 1.0;
	ctx.repeat = 1;
	ctx.out = stdout;
	int no_dpdk = 0;
	ctx.socket = TARN_SOCKET_ANY;

	/* The tarn options first (they leave the rest of argv in order). */
	struct tarn_config cfg;
	const int env_rc = tarn_config_init(&cfg); /* < 0: a bad TARN_* variable, logged */
	if (getenv("TARN_FILE_PREFIX") == NULL)
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-bench");
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
	if (env_rc < 0)
		return bad_usage("%s", "bad TARN_* environment variable (see the log line above)");
	if (tarn_config_parse_args(&cfg, &argc, argv) < 0)
		return bad_usage("%s", "bad tarn option (the line above says which)");

	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "seconds", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "filter", required_argument, NULL, 'f' },
		{ "no-dpdk", no_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			ctx.json = 1;
			break;
		case 's': {
			char *end;
			errno = 0;
			double s = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(s > 0) || s > 3600)
				return bad_usage("--seconds '%s': expected a number of seconds "
				                 "above 0 (at most 3600)",
				                 optarg);
			ctx.seconds = s;
			break;
		}
		case 'r': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || v < 1 ||
			    v > BENCH_MAX_REPEAT)
				return bad_usage("--repeat '%s': expected a number of repetitions "
				                 "from 1 to 100",
				                 optarg);
			ctx.repeat = (unsigned)v;
			repeat_used = ctx.repeat;
			break;
		}
		case 'f':
			ctx.filter = optarg;
			break;
		case 'n':
			no_dpdk = 1;
			break;
		case 'S': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || v < 0 ||
			    v >= TARN_MAX_SOCKETS)
				return bad_usage(
				    "--socket '%s': expected a socket number (0, 1, ...)", optarg);
			ctx.socket = (int)v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return bad_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return bad_usage("%s",
		                 "which benchmark? mempool, ring, mbuf, dpdk-ops, startup or all");
	const char *family = argv[optind];
	if (strcmp(family, "mempool") != 0 && strcmp(family, "ring") != 0 &&
	    strcmp(family, "mbuf") != 0 && strcmp(family, "dpdk-ops") != 0 &&
	    strcmp(family, "startup") != 0 && strcmp(family, "all") != 0)
		return bad_usage("unknown benchmark '%s' (expected mempool, ring, mbuf, dpdk-ops, "
		                 "startup or all)",
		                 family);
	if (optind + 1 < argc)
		return bad_usage("unexpected argument '%s'", argv[optind + 1]);

	if (cfg.lcores[0] != '\0') {
		/* --lcores (or TARN_LCORES): one or two CPUs */
		int n = parse_bench_lcores(cfg.lcores, ctx.lcores);
		if (n < 0)
			return 2;
		ctx.n_lcores = (unsigned)n;
	} else {
		/* The first two CPUs we may run on. */
		cpu_set_t set;
		if (sched_getaffinity(0, sizeof(set), &set) != 0) {
			perror("tarn-bench: sched_getaffinity");
			return 1;
		}
		for (int cpu = 0; cpu < CPU_SETSIZE && cpu < TARN_MAX_LCORES && ctx.n_lcores < 2;
		     cpu++)
			if (CPU_ISSET(cpu, &set))
				ctx.lcores[ctx.n_lcores++] = (unsigned)cpu;
		if (ctx.n_lcores == 0) {
			fprintf(stderr, "tarn-bench: no usable CPU below %d\n", TARN_MAX_LCORES);
			return 1;
		}
	}

	/* Both sides on hugepages, or (when too few are free, or --huge none)
	 * neither: DPDK with --no-huge, tarn with its normal-page tiers (THP,
	 * 4 KiB). */
	const uint64_t huge_free = free_hugepage_bytes();
	const int huge = cfg.huge_policy != TARN_HUGE_NONE && huge_free >= HUGE_NEEDED;
	if (!huge && cfg.huge_policy == TARN_HUGE_REQUIRE) {
		fprintf(
		    stderr, "tarn-bench: --huge require: %llu MiB of free hugepages, %llu needed\n",
		    (unsigned long long)(huge_free >> 20), (unsigned long long)(HUGE_NEEDED >> 20));
		return 1;
	}
	if (!huge && cfg.huge_policy == TARN_HUGE_NONE) {
		fprintf(stderr, "tarn-bench: note: --huge none: DPDK runs with --no-huge -m 256 "
		                "and tarn without hugepages\n");
	} else if (!huge) {
		cfg.huge_policy = TARN_HUGE_NONE;
		fprintf(stderr,
		        "tarn-bench: note: %llu MiB of free hugepages (%llu needed): DPDK runs "
		        "with --no-huge -m 256 and tarn without hugepages (transparent huge "
		        "pages where the kernel allows, else 4 KiB); reserve hugepages for "
		        "figures on hugepages\n",
		        (unsigned long long)(huge_free >> 20),
		        (unsigned long long)(HUGE_NEEDED >> 20));
	}
	int dpdk_built = 0;
#ifdef TARN_BENCH_HAVE_DPDK
	dpdk_built = 1;
#endif
	char lc[32];
	if (ctx.n_lcores == 2)
		snprintf(lc, sizeof(lc), "%u,%u", ctx.lcores[0], ctx.lcores[1]);
	else
		snprintf(lc, sizeof(lc), "%u", ctx.lcores[0]);
	if (ctx.json)
		fprintf(ctx.out, "[");

	/* Start-up first, before this process starts tarn or DPDK: its
	 * children then have the machine's memory to themselves. */
	int rc = 0;
	if (strcmp(family, "startup") == 0 || strcmp(family, "all") == 0) {
		ctx.dpdk = dpdk_built && !no_dpdk;
		if (!ctx.json)
			fprintf(ctx.out,
			        "tarn-bench %s: start-up on lcores %s, %u repetition%s, %s, %s\n",
			        tarn_version(), lc, ctx.repeat, ctx.repeat > 1 ? "s" : "",
			        ctx.dpdk ? "DPDK side by side" : "tarn only",
			        huge ? "hugepages" : "no hugepages");
		else if (!dpdk_built && !no_dpdk)
			fprintf(stderr, "tarn-bench: built without DPDK: tarn figures only\n");
		rc = bench_startup(&ctx, huge, ctx.dpdk);
		if (strcmp(family, "startup") == 0) {
			if (ctx.json)
				fprintf(ctx.out, "\n]\n");
			summary(&ctx, ctx.json ? stderr : ctx.out);
			if (rc < 0)
				fprintf(stderr, "tarn-bench: startup benchmark failed: %s\n",
				        tarn_strerror(rc));
			return rc < 0 ? 1 : 0;
		}
		ctx.dpdk = 0;
		if (rc < 0) {
			fprintf(stderr, "tarn-bench: startup benchmark failed: %s\n",
			        tarn_strerror(rc));
			if (ctx.json)
				fprintf(ctx.out, "\n]\n");
			return 1;
		}
		if (!ctx.json)
			fprintf(ctx.out, "\n");
	}

	snprintf(cfg.lcores, sizeof(cfg.lcores), "%s", lc);
	rc = tarn_init(&cfg);
	if (rc < 0) {
		fprintf(stderr, "tarn-bench: tarn_init failed: %s\n", tarn_strerror(rc));
		return 1;
	}
	if (ctx.socket >= 0 && (unsigned)ctx.socket >= tarn_socket_count()) {
		fprintf(stderr, "tarn-bench: --socket %d: this machine has %u socket(s) (0-%u)\n",
		        ctx.socket, tarn_socket_count(), tarn_socket_count() - 1);
		tarn_cleanup();
		return 2;
	}

#ifdef TARN_BENCH_HAVE_DPDK
	if (!no_dpdk)
		ctx.dpdk = dpdk_start(&ctx, huge) == 0;
#else
	if (!no_dpdk)
		fprintf(stderr, "tarn-bench: built without DPDK: tarn figures only\n");
#endif
	if (!ctx.json) {
		char where[96];
		if (ctx.socket >= 0)
			snprintf(where, sizeof(where), "lcore socket %d, pools on socket %d",
			         tarn_lcore_socket(ctx.lcores[0]), ctx.socket);
		else
			snprintf(where, sizeof(where), "lcore socket %d, pools local",
			         tarn_lcore_socket(ctx.lcores[0]));
		fprintf(ctx.out,
		        "tarn-bench %s: lcores %s (%s), %.2f s per row and side, %u repetition%s, "
		        "%s, %s\n",
		        tarn_version(), lc, where, ctx.seconds, ctx.repeat,
		        ctx.repeat > 1 ? "s" : "", ctx.dpdk ? "DPDK side by side" : "tarn only",
		        huge ? "hugepages" : "no hugepages");
	}

	if (strcmp(family, "mempool") == 0 || strcmp(family, "all") == 0)
		rc = bench_mempool(&ctx);
	if (rc == 0 && (strcmp(family, "ring") == 0 || strcmp(family, "all") == 0))
		rc = bench_ring(&ctx);
	if (rc == 0 && (strcmp(family, "mbuf") == 0 || strcmp(family, "all") == 0))
		rc = bench_mbuf(&ctx);
	/* "all" runs dpdk-ops only when DPDK is up; asked by name, it fails without. */
	if (rc == 0 &&
	    (strcmp(family, "dpdk-ops") == 0 || (strcmp(family, "all") == 0 && ctx.dpdk)))
		rc = bench_dpdk_ops(&ctx);

	if (ctx.json)
		fprintf(ctx.out, "\n]\n");
	summary(&ctx, ctx.json ? stderr : ctx.out);
	struct tarn_mem_socket_stats ms;
	if (tarn_mem_socket_stats(tarn_thread_socket(), &ms) == 0 && ms.backend != NULL)
		fprintf(ctx.json ? stderr : ctx.out, "memory: tarn %s pages of %llu KiB; DPDK %s\n",
		        ms.backend, (unsigned long long)(ms.page_size >> 10),
		        !ctx.dpdk ? "not started"
		        : huge    ? "hugepages (--in-memory)"
		                  : "--no-huge");
	if (rc < 0)
		fprintf(stderr, "tarn-bench: %s benchmark failed: %s\n", family, tarn_strerror(rc));

#ifdef TARN_BENCH_HAVE_DPDK
	if (ctx.dpdk) {
		/* The EAL leaves its runtime directory (empty with --in-memory or
		 * --no-shconf): remove it, so that runs leave nothing. */
		char rundir[4096];
		snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		rmdir(rundir);
	}
#endif
	tarn_cleanup();
	return rc < 0 ? 1 : 0;
}
