/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.c - internal to tarn-bench: median, spread and bootstrap interval
 * of a row's repetitions (stats.h).
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STATS_MAX 1000

static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of a sorted array. */
static double sorted_median(const double *v, unsigned n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_median(const double *v, unsigned n)
{
	double tmp[STATS_MAX];
	if (n == 0 || n > STATS_MAX)
		return NAN;
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	return sorted_median(tmp, n);
}

/* xorshift64*: a small generator, good enough to pick resample indices. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

void bench_spread(const double *v, unsigned n, uint64_t seed, struct bench_spread *s)
{
	double medians[BENCH_BOOTSTRAP_RESAMPLES], vals[STATS_MAX], res[STATS_MAX];
	unsigned k = 0;

	for (unsigned i = 0; i < n && k < STATS_MAX; i++)
		if (!isnan(v[i]))
			vals[k++] = v[i];
	s->n = k;
	s->median = s->min = s->max = s->ci_lo = s->ci_hi = NAN;
	if (k == 0)
		return;
	qsort(vals, k, sizeof(*vals), cmp_double);
	s->min = vals[0];
	s->max = vals[k - 1];
	s->median = sorted_median(vals, k);
	if (k < BENCH_BOOTSTRAP_MIN)
		return;
	uint64_t state = seed ^ 0x9e3779b97f4a7c15ull;
	if (state == 0)
		state = 1;
	for (unsigned b = 0; b < BENCH_BOOTSTRAP_RESAMPLES; b++) {
		for (unsigned i = 0; i < k; i++)
			res[i] = vals[next_rand(&state) % k];
		qsort(res, k, sizeof(*res), cmp_double);
		medians[b] = sorted_median(res, k);
	}
	qsort(medians, BENCH_BOOTSTRAP_RESAMPLES, sizeof(*medians), cmp_double);
	/* percentiles 2.5 and 97.5 (nearest rank) */
	const unsigned lo = (unsigned)(0.025 * BENCH_BOOTSTRAP_RESAMPLES);
	const unsigned hi = (unsigned)ceil(0.975 * BENCH_BOOTSTRAP_RESAMPLES) - 1;
	s->ci_lo = medians[lo];
	s->ci_hi = medians[hi];
}

enum bench_verdict bench_verdict(const struct bench_spread *s)
{
	if (s->n == 0)
		return BENCH_NO_VERDICT;
	if (s->max < 1.0)
		return BENCH_BELOW;
	if (s->min >= 1.0)
		return BENCH_ABOVE;
	return BENCH_UNDECIDED;
}

const char *bench_verdict_name(enum bench_verdict v)
{
	switch (v) {
	case BENCH_BELOW:
		return "below";
	case BENCH_ABOVE:
		return "above";
	case BENCH_UNDECIDED:
		return "undecided";
	default:
		return NULL;
	}
}
