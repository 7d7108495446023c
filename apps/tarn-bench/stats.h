/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.h - internal to tarn-bench: what N repetitions of a row say.
 *
 * A row measured N times gives N ratios tarn/DPDK, each from one repetition
 * in which the two sides alternated. bench_spread() summarises them: the
 * median, the smallest and largest, and a bootstrap interval of the median;
 * bench_verdict() tells a real gap from noise: "below" only when every
 * repetition was below 1.0, "above" only when every one was at or above it.
 * Pure functions of their inputs (the bootstrap's generator is seeded by
 * the caller), so tests can pin them.
 */
#ifndef TARN_BENCH_STATS_H
#define TARN_BENCH_STATS_H

#include <stdint.h>

/* Resamples of the bootstrap interval. */
#define BENCH_BOOTSTRAP_RESAMPLES 2000
/* Fewest values for which a bootstrap interval is given. */
#define BENCH_BOOTSTRAP_MIN 3

struct bench_spread {
	unsigned n;    /* values summarised */
	double median; /* of the values (the mean of the middle two for even n) */
	double min, max;
	/* 95% percentile-bootstrap interval of the median (2.5th and 97.5th
	 * percentiles of the medians of BENCH_BOOTSTRAP_RESAMPLES resamples
	 * with replacement); NAN when n < BENCH_BOOTSTRAP_MIN. */
	double ci_lo, ci_hi;
};

enum bench_verdict {
	BENCH_NO_VERDICT = 0, /* no values */
	BENCH_BELOW,          /* max < 1.0: every repetition below */
	BENCH_ABOVE,          /* min >= 1.0: every repetition at or above */
	BENCH_UNDECIDED,      /* the spread holds 1.0: not told apart from parity */
};

/* The median of v[0 .. n) (n > 0); v is not changed. NAN for n == 0. */
double bench_median(const double *v, unsigned n);

/*
 * Summarise v[0 .. n) (n <= 1000; NaNs are left out). `seed` seeds the
 * bootstrap's generator (the same seed, the same interval). A spread of
 * no value has n == 0 and every figure NAN.
 */
void bench_spread(const double *v, unsigned n, uint64_t seed, struct bench_spread *s);

/* The verdict on a ratio's spread, and its name ("below", "above",
 * "undecided"; NULL for BENCH_NO_VERDICT). */
enum bench_verdict bench_verdict(const struct bench_spread *s);
const char *bench_verdict_name(enum bench_verdict v);

#endif
