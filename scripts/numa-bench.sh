#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# numa-bench.sh: what remote memory costs on this machine. For every pair
# (socket of the lcore, socket of the pool) it runs, on one CPU of the lcore's
# socket (taskset) with the pools on the pool's socket:
#   - tarn-bench mempool, keep=32 rows: cache 0 and 512, get/put bulk 1, 4, 32
#     (the plot uses get = put);
#   - tarn-bench mbuf, cache 256 rows: alloc/free bulk 1, 8, 32, single,
#     bulk with a 64-byte append;
#   - tarn-fwd, io forwarding between two null ports (RX allocates from the
#     queue's pool, TX frees: every packet is a pool get and put), one
#     forwarding lcore, --pool-socket set to the pool's socket;
# and writes, in the output directory:
#   results.csv   one line per row and pair
#   summary.csv   per row: local rate, remote rate, remote/local
#   summary.md    the same as a Markdown table, with the machine and settings
#   numa-bench.png  (gnuplot) ops/s per bulk size and Mpps, local vs remote
# A pair is "local" when both sockets are the same. On a one-node machine it
# says so and measures the one pair (local only).
#
#   scripts/numa-bench.sh [options]
#     -B DIR       tarn build directory, relative to the source tree
#                  (default: build)
#     -o DIR       output directory, relative to the current directory
#                  (default: numa-bench-out, created)
#     -s SECONDS   tarn-bench measuring time per row (default 0.2)
#     -d SECONDS   tarn-fwd run time per pair (default 1)
#     -P           no plot: CSV and tables only
#     -p DIR       plot only: make DIR/numa-bench.png from DIR/results.csv
#                  (e.g. on the host after a run in numa-vm without gnuplot)
#     -h, --help   this text
#
# In the two-node VM (../shared/numa-vm), with the output under the current
# directory so that it comes back:
#   ../shared/numa-vm/numa-vm -- scripts/numa-bench.sh -B b -o numa-vm-out
# Figures from the VM show that the script and the placement work; they are
# not NUMA costs (its nodes are emulated, one CPU each, under TCG).
#
# gnuplot: when it is missing, the script says so before the runs and, as
# root outside the VM, installs it then (apt-get install gnuplot-nox, saying
# so); otherwise the CSV and tables are written, and the script says how to
# plot them and exits 1. On a one-node machine the plot's title says that
# only local pools were measured.
# Build the binaries without -march=native to run them in the VM.
# Exit: 0 done, 1 a run or the plot failed, 2 bad usage.
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/.."

build=build out=$caller_dir/numa-bench-out secs=0.2 fwd_secs=1 plot=1 plot_only=
usage() { sed -n '3,45p' "$0" | sed 's/^# \{0,1\}//'; }
die() {
	echo "numa-bench: $*" >&2
	exit 1
}
bad() {
	echo "numa-bench: $* (see --help)" >&2
	exit 2
}
for a in "$@"; do [ "$a" = "--help" ] && { usage; exit 0; }; done
while getopts ":B:o:s:d:Pp:h" o; do
	case "$o" in
	B) build=$OPTARG ;;
	o) out=$OPTARG; [[ $out = /* ]] || out=$caller_dir/$out ;;
	s) secs=$OPTARG ;;
	d) fwd_secs=$OPTARG ;;
	P) plot=0 ;;
	p) plot_only=$OPTARG; [[ $plot_only = /* ]] || plot_only=$caller_dir/$plot_only ;;
	h) usage; exit 0 ;;
	:) bad "option -$OPTARG needs a value" ;;
	*) bad "unknown option -$OPTARG" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || bad "unexpected argument '$1'"
is_seconds() { [[ $1 =~ ^[0-9]*\.?[0-9]+$ ]] && awk -v s="$1" 'BEGIN { exit !(s > 0 && s <= 3600) }'; }
is_seconds "$secs" || bad "-s '$secs': expected seconds above 0 (at most 3600)"
is_seconds "$fwd_secs" || bad "-d '$fwd_secs': expected seconds above 0 (at most 3600)"
# The system's python3 (a pyenv shim in front of it takes ~30 s to start in
# the VM's emulated CPU).
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
command -v "$py" >/dev/null || die "python3 is needed (apt-get install python3)"

# ---------------------------------------------------------------------------
# gnuplot

have_gnuplot() {
	command -v gnuplot >/dev/null && return 0
	if [ -n "${NUMA_VM:-}" ]; then
		echo "numa-bench: gnuplot is not installed (the VM sees the host's: install it there)" >&2
		return 1
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "numa-bench: gnuplot is not installed and this is not root: run" \
			"'apt-get install gnuplot-nox' as root (or scripts/numa-bench.sh -P)" >&2
		return 1
	fi
	echo "numa-bench: installing gnuplot-nox now with apt-get (as root; -P runs without a plot)" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get update -q && apt-get install -y -q --no-install-recommends gnuplot-nox; } >&2; then
		echo "numa-bench: apt-get could not install gnuplot-nox" >&2
		return 1
	fi
	command -v gnuplot >/dev/null
}

# make_plot DIR: DIR/numa-bench.png from DIR/results.csv.
make_plot() {
	local dir=$1
	[ -f "$dir/results.csv" ] || die "$dir/results.csv not found"
	have_gnuplot || die "plot not made; the CSV is in $dir: plot it later with scripts/numa-bench.sh -p $dir"
	"$py" - "$dir" <<'EOF'
import csv, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "results.csv"))))
pairs = sorted({(int(r["lcore_socket"]), int(r["pool_socket"])) for r in rows})
def name(p):
    return "lcore s%d, pool s%d (%s)" % (p[0], p[1], "local" if p[0] == p[1] else "remote")
series = []  # (panel, title, file, local, x values)
def dat(panel, fname, sel, xkey):
    for p in pairs:
        pts = sorted((int(r[xkey]), float(r["rate"]))
                     for r in rows if sel(r) and (int(r["lcore_socket"]), int(r["pool_socket"])) == p)
        if not pts:
            continue
        f = "%s-s%d-s%d.dat" % (fname, p[0], p[1])
        with open(os.path.join(d, f), "w") as o:
            for x, y in pts:
                o.write("%d %.6g\n" % (x, y / 1e6))
        series.append((panel, name(p), f, p[0] == p[1], [x for x, _ in pts]))
dat(0, "mempool-c0", lambda r: r["family"] == "mempool" and r["cache"] == "0" and r["get_bulk"] == r["put_bulk"], "get_bulk")
dat(1, "mempool-c512", lambda r: r["family"] == "mempool" and r["cache"] == "512" and r["get_bulk"] == r["put_bulk"], "get_bulk")
dat(2, "mbuf-c256", lambda r: r["family"] == "mbuf" and r["label"].startswith("alloc_bulk+free_bulk "), "get_bulk")
with open(os.path.join(d, "fwd.dat"), "w") as o:
    for p in pairs:
        v = [float(r["rate"]) for r in rows if r["family"] == "fwd" and (int(r["lcore_socket"]), int(r["pool_socket"])) == p]
        if v:
            o.write('"s%d/s%d\\n%s" %.6g\n' % (p[0], p[1], "local" if p[0] == p[1] else "remote", v[0] / 1e6))
host = open(os.path.join(d, "machine.txt")).read().strip() if os.path.exists(os.path.join(d, "machine.txt")) else ""
titles = ["tarn-bench mempool, cache 0, get = put = bulk (Mops/s)",
          "tarn-bench mempool, cache 512, get = put = bulk (Mops/s)",
          "tarn-bench mbuf, alloc_bulk + free_bulk, cache 256 (Mops/s)"]
g = []
g.append('set terminal pngcairo noenhanced size 1400,1000 font ",10"')
g.append('set output "%s"' % os.path.join(d, "numa-bench.png"))
# One node (or only local pairs measured): nothing remote to compare.
what = ("local vs remote pools" if any(a != b for a, b in pairs)
        else "local pools only (one NUMA node: nothing remote to measure)")
g.append('set multiplot layout 2,2 title "numa-bench: %s\\n%s"' % (what, host.replace('"', "'")))
g.append("set grid; set key bottom right; set logscale x 2; set xlabel 'bulk size'")
for panel in range(3):
    s = [x for x in series if x[0] == panel]
    g.append('set title "%s"' % titles[panel])
    # ticks only where the panel has points
    xs = sorted({x for e in s for x in e[4]})
    g.append("set ylabel 'Mops/s'; set yrange [0:*]; set xtics (%s)" % ", ".join(str(x) for x in xs or [1]))
    if not s:
        g.append("unset key; plot 0 notitle; set key")
        continue
    if len(xs) > 1:
        g.append("set xrange [%g:%g]" % (xs[0] / 1.5, xs[-1] * 1.5))
    g.append("plot " + ", ".join("'%s' using 1:2 with linespoints lw 2 dt %d title '%s'"
                                  % (os.path.join(d, f), 1 if local else 2, t)
                                  for _, t, f, local, _ in s))
    g.append("set xrange [*:*]")
g.append("unset logscale x; unset xlabel; set xtics auto")
g.append('set title "tarn-fwd io, 2 null ports, 1 forwarding lcore (Mpps, RX summed over ports)"')
g.append("set ylabel 'Mpps'; set style fill solid 0.6; set boxwidth 0.6; unset key; set bmargin 4")
g.append("stats '%s' using 2 nooutput; set yrange [0:STATS_max * 1.2]; set xrange [-0.6:STATS_records - 0.4]" % os.path.join(d, "fwd.dat"))
g.append("plot '%s' using 0:2:xtic(1) with boxes, '' using 0:2:(sprintf('%%.2f', $2)) with labels offset 0,1 notitle" % os.path.join(d, "fwd.dat"))
g.append("unset multiplot")
open(os.path.join(d, "numa-bench.gp"), "w").write("\n".join(g) + "\n")
EOF
	if ! gnuplot "$dir/numa-bench.gp" 2>"$dir/gnuplot.log"; then
		# pngcairo may be missing (gnuplot built without cairo): plain png
		make_plot_retry "$dir" || die "gnuplot failed: see $dir/gnuplot.log"
	fi
	echo "numa-bench: plot: $dir/numa-bench.png"
}
make_plot_retry() {
	sed -i 's/^set terminal pngcairo.*/set terminal png noenhanced size 1400,1000/' "$1/numa-bench.gp"
	gnuplot "$1/numa-bench.gp" 2>>"$1/gnuplot.log"
}

if [ -n "$plot_only" ]; then
	make_plot "$plot_only"
	exit 0
fi
# The plot needs gnuplot: find out now, before the runs, and say what
# happens (have_gnuplot() installs it as root, saying so; else the run still
# writes the CSV and tables).
if [ "$plot" = 1 ] && ! command -v gnuplot >/dev/null; then
	echo "numa-bench: gnuplot is needed for the plot (-P: no plot)" >&2
	if ! have_gnuplot; then
		echo "numa-bench: going on without a plot: the CSV and tables are written;" \
			"plot them later with scripts/numa-bench.sh -p DIR" >&2
		plot=0
		plot_missing=1
	fi
fi

# ---------------------------------------------------------------------------
# The machine

bench=$build/apps/tarn-bench/tarn-bench
fwd=$build/apps/tarn-fwd/tarn-fwd
for b in "$bench" "$fwd"; do
	[ -x "$b" ] || bad "$b not found: build first (meson setup $build && ninja -C $build) or give -B"
done
command -v taskset >/dev/null || die "taskset is needed (apt-get install util-linux)"
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)

# expand "0-3,8" into "0 1 2 3 8"
expand() {
	local part a b c res=() IFS=,
	for part in $1; do
		a=${part%-*} b=${part#*-}
		for ((c = a; c <= b; c++)); do res+=("$c"); done
	done
	echo "${res[*]}" | tr , ' '
}
# The CPUs this process may use.
allowed=$(expand "$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)")

# Nodes with memory (pool sockets) and, per node, the first allowed CPU.
declare -a nodes=() cpu_of=()
if [ -d /sys/devices/system/node/node0 ]; then
	for d in /sys/devices/system/node/node[0-9]*; do
		n=${d##*node}
		nodes+=("$n")
		cpu_of[n]=
		for c in $(expand "$(cat "$d/cpulist")"); do
			if [[ " $allowed " == *" $c "* ]]; then
				cpu_of[n]=$c
				break
			fi
		done
	done
else
	nodes=(0)
	cpu_of[0]=${allowed%% *}
fi
read -ra nodes <<<"$(printf '%s\n' "${nodes[@]}" | sort -n | tr '\n' ' ')"
lnodes=()
for n in "${nodes[@]}"; do [ -n "${cpu_of[$n]}" ] && lnodes+=("$n"); done
[ ${#lnodes[@]} -gt 0 ] || die "no allowed CPU on any node"

cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
machine="$(uname -n), ${#nodes[@]} node(s), ${cpu_model:-unknown CPU}${NUMA_VM:+ (numa-vm guest: emulated nodes)}"
echo "$machine" >"$out/machine.txt"
if [ ${#nodes[@]} -eq 1 ]; then
	echo "numa-bench: one NUMA node on this machine: measuring the one pair (lcore 0, pool 0), local only"
else
	echo "numa-bench: ${#nodes[@]} NUMA nodes (${nodes[*]}); lcores on node(s) ${lnodes[*]}:" \
		"$((${#lnodes[@]} * ${#nodes[@]})) pairs"
fi

# ---------------------------------------------------------------------------
# Runs

csv=$out/results.csv
echo "family,label,cache,get_bulk,put_bulk,lcore_socket,pool_socket,placement,cpu,rate,unit" >"$csv"
log=$out/runs.log
: >"$log"
fail=0
prefix=numa-bench-$$

# rows FAMILY L P CPU JSONFILE: tarn-bench JSON rows into the CSV.
rows() {
	"$py" - "$@" >>"$csv" <<'EOF'
import json, sys
fam, l, p, cpu, path = sys.argv[1:6]
for r in json.load(open(path)):
    if fam == "mempool":
        g, pu = r["get_bulk"], r["put_bulk"]
    else:
        g = pu = r.get("burst", 1)
    print('%s,"%s",%d,%d,%d,%s,%s,%s,%s,%.0f,ops/s' % (fam, r["label"], r["cache"], g, pu, l, p,
          "local" if l == p else "remote", cpu, r["tarn_ops_per_s"]))
EOF
}

for l in "${lnodes[@]}"; do
	cpu=${cpu_of[$l]}
	for p in "${nodes[@]}"; do
		where="lcore socket $l (CPU $cpu), pool socket $p"
		echo "numa-bench: $where: tarn-bench mempool, mbuf; tarn-fwd"
		for fam in mempool mbuf; do
			filter="keep=32"
			[ "$fam" = mbuf ] && filter="cache 256"
			j=$out/$fam-s$l-s$p.json
			if taskset -c "$cpu" "$bench" --no-dpdk --json --seconds "$secs" --socket "$p" \
				--filter "$filter" "$fam" >"$j" 2>>"$log"; then
				rows "$fam" "$l" "$p" "$cpu" "$j"
			else
				echo "numa-bench: $where: tarn-bench $fam failed (see $log)" >&2
				fail=1
			fi
		done
		j=$out/fwd-s$l-s$p.json
		if "$fwd" --file-prefix "$prefix" --lcores "0@$cpu,1@$cpu" --port null --port null \
			--fwd io --pool-socket "$p" --duration "$fwd_secs" --stats-period 0 --json \
			>"$j" 2>>"$log"; then
			"$py" - "$l" "$p" "$cpu" "$j" >>"$csv" <<'EOF' || { echo "numa-bench: $where: tarn-fwd output not understood (see $j)" >&2; fail=1; }
import json, sys
l, p, cpu, path = sys.argv[1:5]
start = summ = None
for line in open(path):
    e = json.loads(line)
    if e.get("event") == "start":
        start = e
    elif e.get("event") == "summary":
        summ = e
pools = start["pools"]
# The pool must really be where it was asked for (tarn-fwd asks the kernel).
if any(x["socket"] != int(p) or x["node"] != int(p) or x["off_node"] for x in pools):
    sys.exit("pool not on socket %s: %s" % (p, pools))
rx = sum(x["rx_mpps"] for x in summ["ports"]) * 1e6
print('fwd,"io 2 null ports burst %d",%d,%d,%d,%s,%s,%s,%s,%.0f,pps' % (
    summ["burst"], 256, summ["burst"], summ["burst"], l, p, "local" if l == p else "remote", cpu, rx))
EOF
		else
			echo "numa-bench: $where: tarn-fwd failed (see $log)" >&2
			fail=1
		fi
	done
done

# ---------------------------------------------------------------------------
# Summary: per row, local and remote rates (means over the pairs of each kind).

"$py" - "$out" "$secs" "$fwd_secs" <<'EOF'
import csv, os, sys
d, secs, fwd_secs = sys.argv[1:4]
rows = list(csv.DictReader(open(os.path.join(d, "results.csv"))))
keys = []
for r in rows:
    k = (r["family"], r["label"])
    if k not in keys:
        keys.append(k)
def mean(v):
    return sum(v) / len(v) if v else None
out = []
for k in keys:
    loc = [float(r["rate"]) for r in rows if (r["family"], r["label"]) == k and r["placement"] == "local"]
    rem = [float(r["rate"]) for r in rows if (r["family"], r["label"]) == k and r["placement"] == "remote"]
    unit = next(r["unit"] for r in rows if (r["family"], r["label"]) == k)
    ml, mr = mean(loc), mean(rem)
    out.append((k[0], k[1], unit, ml, mr, (mr / ml) if ml and mr else None))
with open(os.path.join(d, "summary.csv"), "w") as f:
    f.write("family,label,unit,local,remote,remote_over_local\n")
    for fam, lab, unit, ml, mr, ratio in out:
        f.write('%s,"%s",%s,%s,%s,%s\n' % (fam, lab, unit, "%.0f" % ml if ml else "",
                "%.0f" % mr if mr else "", "%.3f" % ratio if ratio else ""))
machine = open(os.path.join(d, "machine.txt")).read().strip()
pairs = sorted({(r["lcore_socket"], r["pool_socket"]) for r in rows})
with open(os.path.join(d, "summary.md"), "w") as f:
    f.write("Machine: %s. Pairs (lcore socket, pool socket): %s. tarn-bench %s s per row, "
            "tarn-fwd %s s per pair.\n\n" % (machine, ", ".join("(%s, %s)" % p for p in pairs), secs, fwd_secs))
    f.write("| family | row | local | remote | remote/local |\n|---|---|---|---|---|\n")
    for fam, lab, unit, ml, mr, ratio in out:
        u = "Mpps" if unit == "pps" else "Mops/s"
        f.write("| %s | %s | %s | %s | %s |\n" % (fam, " ".join(lab.split()),
                "%.2f %s" % (ml / 1e6, u) if ml else "-", "%.2f %s" % (mr / 1e6, u) if mr else "-",
                "%.3f" % ratio if ratio else "-"))
print(open(os.path.join(d, "summary.md")).read(), end="")
EOF
echo "numa-bench: results: $csv, $out/summary.csv, $out/summary.md"

if [ "$plot" = 1 ]; then
	( make_plot "$out" ) || fail=1
elif [ -n "${plot_missing:-}" ]; then
	echo "numa-bench: no plot: gnuplot is missing (scripts/numa-bench.sh -p $out once it is installed)" >&2
	fail=1
fi
exit $fail
