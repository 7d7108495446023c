// SPDX-License-Identifier: BSD-3-Clause
// tarn-bench's statistics (apps/tarn-bench/stats.c): the median, spread,
// bootstrap interval and verdict that tell a real gap from noise.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

extern "C" {
#include "stats.h"
}

namespace
{

TEST(BenchStats, MedianOddEvenAndEmpty)
{
	const double odd[] = { 3.0, 1.0, 2.0 };
	EXPECT_DOUBLE_EQ(bench_median(odd, 3), 2.0);
	EXPECT_DOUBLE_EQ(odd[0], 3.0) << "the input is not sorted in place";
	const double even[] = { 4.0, 1.0, 3.0, 2.0 };
	EXPECT_DOUBLE_EQ(bench_median(even, 4), 2.5);
	EXPECT_TRUE(std::isnan(bench_median(odd, 0)));
}

TEST(BenchStats, SpreadOfOneValue)
{
	const double v[] = { 0.9 };
	struct bench_spread s;
	bench_spread(v, 1, 1, &s);
	EXPECT_EQ(s.n, 1u);
	EXPECT_DOUBLE_EQ(s.median, 0.9);
	EXPECT_DOUBLE_EQ(s.min, 0.9);
	EXPECT_DOUBLE_EQ(s.max, 0.9);
	EXPECT_TRUE(std::isnan(s.ci_lo)) << "no interval below BENCH_BOOTSTRAP_MIN values";
	EXPECT_TRUE(std::isnan(s.ci_hi));
	EXPECT_EQ(bench_verdict(&s), BENCH_BELOW);
}

TEST(BenchStats, NoValueNoVerdict)
{
	const double v[] = { NAN, NAN };
	struct bench_spread s;
	bench_spread(v, 2, 1, &s);
	EXPECT_EQ(s.n, 0u);
	EXPECT_TRUE(std::isnan(s.median));
	EXPECT_EQ(bench_verdict(&s), BENCH_NO_VERDICT);
	EXPECT_EQ(bench_verdict_name(BENCH_NO_VERDICT), nullptr);
}

TEST(BenchStats, NaNsLeftOut)
{
	const double v[] = { 1.2, NAN, 1.1, 1.3 };
	struct bench_spread s;
	bench_spread(v, 4, 7, &s);
	EXPECT_EQ(s.n, 3u);
	EXPECT_DOUBLE_EQ(s.median, 1.2);
	EXPECT_DOUBLE_EQ(s.min, 1.1);
	EXPECT_DOUBLE_EQ(s.max, 1.3);
}

TEST(BenchStats, VerdictBelowOnlyWhenTheWholeSpreadIsBelow)
{
	struct bench_spread s;
	const double below[] = { 0.91, 0.95, 0.99, 0.93, 0.97 };
	bench_spread(below, 5, 1, &s);
	EXPECT_EQ(bench_verdict(&s), BENCH_BELOW);
	EXPECT_STREQ(bench_verdict_name(bench_verdict(&s)), "below");

	// median below 1.0, one repetition at 1.0: not a gap
	const double touches[] = { 0.91, 0.95, 1.0, 0.93, 0.97 };
	bench_spread(touches, 5, 1, &s);
	EXPECT_LT(s.median, 1.0);
	EXPECT_EQ(bench_verdict(&s), BENCH_UNDECIDED);
	EXPECT_STREQ(bench_verdict_name(bench_verdict(&s)), "undecided");

	const double above[] = { 1.0, 1.2, 1.1 };
	bench_spread(above, 3, 1, &s);
	EXPECT_EQ(bench_verdict(&s), BENCH_ABOVE);
	EXPECT_STREQ(bench_verdict_name(bench_verdict(&s)), "above");
}

TEST(BenchStats, BootstrapIntervalInsideTheSpreadAndRepeatable)
{
	std::vector<double> v;
	for (int i = 0; i < 21; i++)
		v.push_back(1.0 + 0.01 * ((i * 5) % 21)); // 1.00 .. 1.20, shuffled
	struct bench_spread a, b, c;
	bench_spread(v.data(), (unsigned)v.size(), 42, &a);
	bench_spread(v.data(), (unsigned)v.size(), 42, &b);
	EXPECT_DOUBLE_EQ(a.median, 1.10);
	EXPECT_FALSE(std::isnan(a.ci_lo));
	EXPECT_LE(a.min, a.ci_lo);
	EXPECT_LE(a.ci_lo, a.median);
	EXPECT_LE(a.median, a.ci_hi);
	EXPECT_LE(a.ci_hi, a.max);
	// narrower than the whole spread with 21 values
	EXPECT_GT(a.ci_lo, a.min);
	EXPECT_LT(a.ci_hi, a.max);
	// the same seed, the same interval
	EXPECT_DOUBLE_EQ(a.ci_lo, b.ci_lo);
	EXPECT_DOUBLE_EQ(a.ci_hi, b.ci_hi);
	// another seed moves it a little at most
	bench_spread(v.data(), (unsigned)v.size(), 43, &c);
	EXPECT_NEAR(a.ci_lo, c.ci_lo, 0.03);
	EXPECT_NEAR(a.ci_hi, c.ci_hi, 0.03);
}

TEST(BenchStats, ConstantValuesGiveAPointInterval)
{
	const double v[] = { 1.5, 1.5, 1.5, 1.5 };
	struct bench_spread s;
	bench_spread(v, 4, 3, &s);
	EXPECT_DOUBLE_EQ(s.ci_lo, 1.5);
	EXPECT_DOUBLE_EQ(s.ci_hi, 1.5);
}

} // namespace
