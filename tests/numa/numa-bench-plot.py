#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""numa-bench-plot.py SOURCE_ROOT: scripts/numa-bench.sh -p (plot only) on
made-up results: the title says "local pools only" when every pair is local
(a one-node machine) and "local vs remote" otherwise, and each panel's x
ticks are exactly the bulk sizes it has points for. Exit 77 (skip) without
gnuplot (the script installs it only for a full run)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HEADER = "family,label,cache,get_bulk,put_bulk,lcore_socket,pool_socket,placement,cpu,rate,unit\n"


def results(pairs):
    rows = []
    for ls, ps in pairs:
        place = "local" if ls == ps else "remote"
        for cache in (0, 512):
            for b in (1, 4, 32):
                rows.append('mempool,"cache %d bulk %d",%d,%d,%d,%d,%d,%s,0,%d,ops'
                            % (cache, b, cache, b, b, ls, ps, place, 1000000 * b))
        for b in (1, 8, 32):
            rows.append('mbuf,"alloc_bulk+free_bulk %d, cache 256",256,%d,%d,%d,%d,%s,0,%d,ops'
                        % (b, b, b, ls, ps, place, 2000000 * b))
        rows.append('fwd,"io 2 null ports burst 32",0,32,32,%d,%d,%s,0,20000000,pps' % (ls, ps, place))
    return HEADER + "\n".join(rows) + "\n"


def run(src, pairs):
    d = tempfile.mkdtemp(prefix="numa-bench-plot.")
    try:
        with open(os.path.join(d, "results.csv"), "w") as f:
            f.write(results(pairs))
        with open(os.path.join(d, "machine.txt"), "w") as f:
            f.write("test machine")
        r = subprocess.run([os.path.join(src, "scripts", "numa-bench.sh"), "-p", d],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        if r.returncode != 0:
            print(r.stdout)
            return None, "numa-bench.sh -p exited with %d" % r.returncode
        if not os.path.getsize(os.path.join(d, "numa-bench.png")):
            return None, "empty numa-bench.png"
        return open(os.path.join(d, "numa-bench.gp")).read(), None
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    if shutil.which("gnuplot") is None:
        print("SKIP: gnuplot is not installed (apt-get install gnuplot-nox)")
        return 77
    src = sys.argv[1]
    bad = 0
    for pairs, title in (([(0, 0)], "local pools only"),
                         ([(0, 0), (0, 1), (1, 0), (1, 1)], "local vs remote pools")):
        gp, err = run(src, pairs)
        if err:
            print("FAIL: %s: %s" % (pairs, err))
            bad += 1
            continue
        m = re.search(r'set multiplot .*title "numa-bench: ([^"\\]*)', gp)
        got = m.group(1) if m else "(no title)"
        if not got.startswith(title):
            print("FAIL: pairs %s: title '%s', expected '%s...'" % (pairs, got, title))
            bad += 1
        ticks = re.findall(r"set xtics \(([^)]*)\)", gp)
        want = ["1, 4, 32", "1, 4, 32", "1, 8, 32"]
        if ticks != want:
            print("FAIL: pairs %s: x ticks %s, expected %s (one per point)" % (pairs, ticks, want))
            bad += 1
        if not bad:
            print("ok: pairs %s: title '%s', ticks %s" % (pairs, got, ticks))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
