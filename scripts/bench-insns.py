#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Instructions per operation of tarn-bench's rows, tarn against DPDK, from
callgrind: repeatable on a machine too busy for timings.

    scripts/bench-insns.py [-B BUILD] [-o DIR] [--json] -- TARN-BENCH-ARGS...
    scripts/bench-insns.py [--json] FILE...

The first form runs `valgrind --tool=callgrind` on
BUILD/apps/tarn-bench/tarn-bench with TARN-BENCH-ARGS (add `--huge none`:
DPDK's EAL finds no hugepages under valgrind), keeping the callgrind files in
DIR (a temporary directory removed afterwards when -o is not given); the
second reads callgrind files written before. tarn-bench zeroes callgrind's
counters right before each single-threaded measured loop and dumps them
right after it ("tarn-bench insns SIDE|FAMILY|LABEL|ops=N", see
apps/tarn-bench/bench.h), so every dump holds one loop of one side: the
script sums instructions and operations per row and side and prints
instructions per operation and their ratio dpdk/tarn (above 1.0: tarn runs
fewer). Rows of several threads are not dumped (callgrind runs one thread at
a time). The loop's own bookkeeping (a clock read per round, a flag load per
iteration) is counted on both sides alike.

Example: the single-lcore ring rows and the uncached one-lcore mempool rows:

    scripts/bench-insns.py -- --huge none --seconds 0.2 --filter ", 1 lcore" ring
    scripts/bench-insns.py -- --huge none --seconds 0.2 --filter "cache=0   lcores=1" mempool
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TRIGGER = re.compile(r"^desc: Trigger: Client Request: tarn-bench insns (\w+)\|([^|]*)\|(.*)\|ops=(\d+)\s*$")


def read_dump(path):
    """(side, family, label, ops, instructions) of a tarn-bench dump, or None."""
    trig = None
    total = None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("desc: Trigger:"):
                m = TRIGGER.match(line)
                if m is None:
                    return None
                trig = m.groups()
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    if trig is None or total is None:
        return None
    side, family, label, ops = trig
    return side, family, label, int(ops), total


def collect(files):
    rows = {}  # (family, label) -> {side: [ops, insns]}
    order = []
    for path in sorted(files, key=lambda p: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p)]):
        d = read_dump(path)
        if d is None:
            continue
        side, family, label, ops, insns = d
        if label == "warm-up":
            continue
        key = (family, label)
        if key not in rows:
            rows[key] = {}
            order.append(key)
        acc = rows[key].setdefault(side, [0, 0])
        acc[0] += ops
        acc[1] += insns
    out = []
    for key in order:
        r = {"family": key[0], "label": key[1]}
        for side in ("tarn", "dpdk"):
            ops, insns = rows[key].get(side, [0, 0])
            r[side + "_ops"] = ops
            r[side + "_insns_per_op"] = insns / ops if ops else None
        t, d = r["tarn_insns_per_op"], r["dpdk_insns_per_op"]
        r["ratio"] = d / t if t and d else None
        out.append(r)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-B", dest="build", default="build", help="tarn build directory (default: build)")
    ap.add_argument("-o", dest="outdir", help="keep the callgrind files in this directory")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("rest", nargs="*", help="callgrind files, or -- and tarn-bench's arguments")
    args, extra = ap.parse_known_args()
    rest = args.rest + extra
    if "--" in sys.argv:
        bench = os.path.join(args.build, "apps", "tarn-bench", "tarn-bench")
        if not os.access(bench, os.X_OK):
            sys.exit("bench-insns: %s not found: build tarn first or give -B" % bench)
        if shutil.which("valgrind") is None:
            sys.exit("bench-insns: valgrind not found (apt-get install valgrind)")
        tmp = None
        outdir = args.outdir
        if outdir is None:
            outdir = tmp = tempfile.mkdtemp(prefix="bench-insns.")
        os.makedirs(outdir, exist_ok=True)
        cmd = ["valgrind", "--tool=callgrind",
               "--callgrind-out-file=" + os.path.join(outdir, "callgrind.out.%p"), bench] + rest
        print("bench-insns: " + " ".join(cmd), file=sys.stderr)
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-4000:])
            sys.exit("bench-insns: tarn-bench under callgrind failed (exit %d)" % r.returncode)
        files = glob.glob(os.path.join(outdir, "callgrind.out.*"))
        rows = collect(files)
        if tmp is not None:
            shutil.rmtree(tmp)
    else:
        if not rest:
            ap.error("give callgrind files, or -- and tarn-bench's arguments")
        rows = collect(rest)
    if not rows:
        sys.exit("bench-insns: no tarn-bench dumps found (single-threaded rows only)")
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return
    print("%-56s %12s %12s %8s" % ("row", "tarn insn/op", "dpdk insn/op", "dpdk/tarn"))
    for r in rows:
        f = lambda v, p: ("%12.*f" % (p, v)) if v is not None else "%12s" % "-"
        print("%-56s %s %s %s" % (r["label"], f(r["tarn_insns_per_op"], 2), f(r["dpdk_insns_per_op"], 2),
                                  ("%8.3f" % r["ratio"]) if r["ratio"] else "%8s" % "-"))


if __name__ == "__main__":
    main()
