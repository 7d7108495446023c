#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""tarn-bench --repeat: the JSON rows carry every repetition, and the row's
median, spread and verdict are those of its repetitions; bad --repeat values
are refused with status 2 and a message.

    check-bench-json.py TARN_BENCH

Runs two short rows (0.01 s per side and repetition) with DPDK side by side
when the build has it, and once with --no-dpdk. No timing is checked: only
the structure and the arithmetic of what is printed.
"""
import json
import os
import statistics
import subprocess
import sys

bench = sys.argv[1]
prefix = ["--file-prefix", "tarn-bench-test-%d" % os.getpid()]
failed = []


def check(cond, what):
    if not cond:
        failed.append(what)
        print("FAIL:", what)


def run(args):
    return subprocess.run([bench] + prefix + args, capture_output=True, text=True, timeout=300)


# bad --repeat values
for bad in ["0", "-1", "101", "x", "2.5", ""]:
    r = run(["--repeat", bad, "ring"])
    check(r.returncode == 2, "--repeat '%s': exit %d, expected 2" % (bad, r.returncode))
    check("--repeat" in r.stderr, "--repeat '%s': the message names the option: %r" % (bad, r.stderr))

for extra in [[], ["--no-dpdk"]]:
    r = run(extra + ["--json", "--repeat", "3", "--seconds", "0.01", "--filter",
                     "spsc bulk 32, 1 lcore", "ring"])
    check(r.returncode == 0, "%s run: exit %d: %s" % (extra, r.returncode, r.stderr))
    if r.returncode != 0:
        continue
    rows = json.loads(r.stdout)
    check(len(rows) == 1, "one row, got %d" % len(rows))
    for row in rows:
        reps = row["reps"]
        check(row["repeat"] == 3 and len(reps) == 3, "3 repetitions: %r" % row)
        check(row["tarn_ops_per_s"] == round(statistics.median(x["tarn_ops_per_s"] for x in reps)),
              "tarn_ops_per_s is the median of the repetitions: %r" % row)
        have_dpdk = reps[0]["dpdk_ops_per_s"] is not None
        if extra == ["--no-dpdk"]:
            check(not have_dpdk, "--no-dpdk: no DPDK figure")
        if not have_dpdk:
            for k in ["dpdk_ops_per_s", "ratio", "ratio_min", "ratio_max", "ratio_ci95_lo",
                      "ratio_ci95_hi", "verdict"]:
                check(row[k] is None, "%s is null without DPDK" % k)
            continue
        ratios = [x["ratio"] for x in reps]
        for x in reps:
            check(abs(x["ratio"] - x["tarn_ops_per_s"] / x["dpdk_ops_per_s"]) < 1e-3,
                  "a repetition's ratio is its tarn/dpdk: %r" % x)
        check(abs(row["ratio"] - statistics.median(ratios)) < 1e-3, "ratio is the median: %r" % row)
        check(abs(row["ratio_min"] - min(ratios)) < 1e-3, "ratio_min: %r" % row)
        check(abs(row["ratio_max"] - max(ratios)) < 1e-3, "ratio_max: %r" % row)
        lo, hi = row["ratio_ci95_lo"], row["ratio_ci95_hi"]
        check(lo is not None and row["ratio_min"] - 1e-4 <= lo <= row["ratio"] + 1e-4 <= hi + 2e-4
              and hi <= row["ratio_max"] + 1e-4, "the interval lies in the spread: %r" % row)
        want = "below" if max(ratios) < 1 else "above" if min(ratios) >= 1 else "undecided"
        # ratios are rounded to 4 places in JSON: only a clear case is checked
        if abs(max(ratios) - 1) > 1e-3 and abs(min(ratios) - 1) > 1e-3:
            check(row["verdict"] == want, "verdict %s, expected %s" % (row["verdict"], want))

# startup: one start of each side per repetition, times in ms beside the rates
r = run(["--json", "--repeat", "2", "--filter", "init + pool create", "startup"])
check(r.returncode == 0, "startup run: exit %d: %s" % (r.returncode, r.stderr))
if r.returncode == 0:
    rows = json.loads(r.stdout)
    check([x["phase"] for x in rows] == ["init_pool", "init_pool_cpu"],
          "--filter picks the two rows: %r" % [x["label"] for x in rows])
    for row in rows:
        check(row["repeat"] == 2 and len(row["reps"]) == 2, "2 repetitions: %r" % row)
        for x in row["reps"]:
            check(x["tarn_ms"] > 0 and abs(x["tarn_ms"] * x["tarn_ops_per_s"] - 1000) < 1,
                  "tarn_ms is 1000 / tarn_ops_per_s: %r" % x)
            if x["dpdk_ms"] is not None:
                check(abs(x["ratio"] - x["dpdk_ms"] / x["tarn_ms"]) < 2e-3,
                      "a start-up ratio is DPDK's time over tarn's: %r" % x)

# the table: the spread columns and the summary's wording
r = run(["--repeat", "2", "--seconds", "0.01", "--filter", "spsc bulk 32, 1 lcore", "ring"])
check(r.returncode == 0, "table run: exit %d: %s" % (r.returncode, r.stderr))
if "DPDK side by side" in r.stdout:
    check("min-max" in r.stdout and "verdict" in r.stdout, "table has min-max and verdict: " + r.stdout)
    check("rows below 1.0 in all 2 repetitions" in r.stdout, "summary wording: " + r.stdout)

if failed:
    sys.exit(1)
print("ok")
