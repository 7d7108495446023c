#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# compare-testpmd.sh: io forwarding on two in-memory ports, tarn-fwd against
# dpdk-testpmd, same lcores, burst, packet length and duration.
#
#   scripts/compare-testpmd.sh [options]
#     -d SECONDS   run time of each tool (default 10)
#     -l LCORES    lcores, "A-B" or "A,B": the first prints, the others forward
#                  (default 0-1; a single lcore makes tarn-fwd forward on its
#                  main lcore, and testpmd needs at least two)
#     -b BURST     packets per burst (default 32)
#     -s LEN       packet length (default 64)
#     -r N         runs of each tool, alternating; the best run of each counts
#                  (default 1)
#     -B DIR       tarn build directory (default: build)
#     -k           keep the raw outputs (printed paths)
#
# tarn-fwd runs `--port ring:name=p0 --port ring:name=p1,peer=p0 --fwd io
# --tx-first` twice: as is (the ring ports count packets and bytes) and with
# `bytes=0` on both ports (packets only). testpmd runs `--forward-mode=io
# --tx-first` on two net_ring vdevs (--vdev=net_ring0 --vdev=net_ring1: each
# port's TX feeds its own RX; with the paired topology every forwarded packet
# is one dequeue and one enqueue, as on a tarn cable). DPDK's net_ring counts
# packets only (its RX-bytes/TX-bytes stay 0), so the like-for-like figure is
# tarn with bytes=0; the other is printed too. Two net_ring vdevs cannot be
# cabled in one process: nodeaction=NAME:0:CREATE/ATTACH names the ethdev
# after NAME, so the second port fails with "Ethernet device with name NAME
# already allocated".
#
# Every tool seeds one burst per port, prints per-port rates every second,
# and is stopped after the run time (tarn-fwd by --duration, testpmd by
# SIGINT). The rate of a run is the mean over its seconds of the sum over both
# ports of the received packets per second (the first second left out:
# start-up). Prints the rates in Mpps and the ratios tarn/testpmd.
#
# Both use pools of 8192 mbufs (2176-byte buffers) with a 256-mbuf cache.
# testpmd runs with hugepages (-m 64) when at least 128 MiB of them are free,
# else with --no-huge -m 256. Exit: 0 when both ran, 1 when one failed, 2 for a
# bad option.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10 lcores=0-1 burst=32 len=64 runs=1 build=build keep=0
usage() { sed -n '3,39p' "$0" | sed 's/^# \{0,1\}//'; }
while getopts "d:l:b:s:r:B:kh" o; do
	case "$o" in
	d) duration=$OPTARG ;;
	l) lcores=$OPTARG ;;
	b) burst=$OPTARG ;;
	s) len=$OPTARG ;;
	r) runs=$OPTARG ;;
	B) build=$OPTARG ;;
	k) keep=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { echo "compare-testpmd: unexpected argument '$1'" >&2; exit 2; }
for v in duration burst len runs; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "compare-testpmd: -${v:0:1} '${!v}': expected a whole number > 0" >&2; exit 2; }
done
[ "$duration" -ge 3 ] || { echo "compare-testpmd: -d: at least 3 seconds" >&2; exit 2; }
[[ $lcores =~ ^[0-9]+([-,][0-9]+)*$ ]] || { echo "compare-testpmd: -l '$lcores': expected e.g. 0-1 or 0,2" >&2; exit 2; }
vdevs=(--vdev=net_ring0 --vdev=net_ring1)

fwd=$build/apps/tarn-fwd/tarn-fwd
[ -x "$fwd" ] || { echo "compare-testpmd: $fwd not found: build tarn first (meson setup $build && ninja -C $build) or give -B" >&2; exit 1; }
testpmd=$(command -v dpdk-testpmd || true)
[ -n "$testpmd" ] || { echo "compare-testpmd: dpdk-testpmd not found (apt-get install dpdk)" >&2; exit 1; }

# Number of lcores in the list, and so of forwarding cores (all but the first).
nlc=$(echo "$lcores" | tr ',' '\n' | awk -F- '{ n += (NF == 2 ? $2 - $1 + 1 : 1) } END { print n }')
[ "$nlc" -ge 2 ] || { echo "compare-testpmd: testpmd needs two lcores or more (-l)" >&2; exit 2; }

free_mb=$(awk '/HugePages_Free/ { f = $2 } /Hugepagesize/ { s = $2 } END { print int(f * s / 1024) }' /proc/meminfo)
if [ "${free_mb:-0}" -ge 128 ]; then
	mem=(-m 64)
	memdesc="hugepages, -m 64"
else
	mem=(--no-huge -m 256)
	memdesc="--no-huge -m 256"
fi

tmp=$(mktemp -d /tmp/compare-testpmd.XXXXXX)
[ "$keep" = 1 ] || trap 'rm -rf "$tmp"' EXIT

# Mean of the per-second totals after the first, in Mpps.
mean_mpps() { awk 'NR > 1 { s += $1; n++ } END { if (n) printf "%.3f", s / n / 1e6; else print "nan" }'; }

# run_tarn RUN BYTES: one tarn-fwd run, its mean rate in Mpps.
run_tarn() {
	local out=$tmp/tarn-$1-bytes$2.json
	"$fwd" --lcores "$lcores" --file-prefix tarn-cmp-$$ \
		--port "ring:name=p0,bytes=$2" --port "ring:name=p1,peer=p0,bytes=$2" \
		--fwd io --tx-first --burst "$burst" --pkt-len "$len" --rxd 1024 --txd 1024 \
		--mbufs 8192 --mbuf-cache 256 --duration "$duration" --stats-period 1 --json \
		>"$out" 2>"$out.err" ||
		{ echo "compare-testpmd: tarn-fwd failed:" >&2; cat "$out.err" >&2; return 1; }
	grep '"event":"stats"' "$out" | sed 's/.*"rx_pps":\([0-9.]*\)}$/\1/' | mean_mpps
}

run_testpmd() {
	local out=$tmp/testpmd-$1.txt rc=0
	# testpmd needs a second or two to start: give it that on top of the run.
	timeout -s INT $((duration + 3)) "$testpmd" -l "$lcores" --no-pci "${mem[@]}" \
		--file-prefix tpmd-cmp-$$ --log-level=lib.eal:error "${vdevs[@]}" -- \
		--forward-mode=io --tx-first --burst="$burst" --txpkts="$len" \
		--rxd=1024 --txd=1024 --total-num-mbufs=8192 --mbcache=256 --nb-cores=$((nlc - 1)) \
		--stats-period 1 --no-lsc-interrupt </dev/null >"$out" 2>&1 || rc=$?
	# timeout exits 124 after it sent SIGINT; testpmd then printed its final stats.
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 130 ]; then
		echo "compare-testpmd: dpdk-testpmd failed (exit $rc):" >&2
		tail -20 "$out" >&2
		return 1
	fi
	grep -q "Rx-pps" "$out" || { echo "compare-testpmd: no statistics from dpdk-testpmd:" >&2; tail -20 "$out" >&2; return 1; }
	# One "Rx-pps:" line per port per second: sum them per second.
	tr -d '\033' <"$out" | awk '/Rx-pps:/ { s += $2; if (++k % 2 == 0) { print s; s = 0 } }' | mean_mpps
}

best() { sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
echo "compare-testpmd: io forwarding, 2 ports, lcores $lcores ($((nlc - 1)) forwarding), burst $burst, $len-byte packets, ${duration}s per run, $runs run(s) each"
echo "  tarn-fwd: 2 cabled ring ports;  dpdk-testpmd: 2 net_ring vdevs, $memdesc"
t_all=() u_all=() p_all=()
for i in $(seq 1 "$runs"); do
	t=$(run_tarn "$i" 1) || exit 1
	p=$(run_testpmd "$i") || exit 1
	u=$(run_tarn "$i" 0) || exit 1
	echo "  run $i: tarn-fwd $t Mpps (bytes counted), $u Mpps (bytes=0); dpdk-testpmd $p Mpps"
	t_all+=("$t")
	u_all+=("$u")
	p_all+=("$p")
done
t=$(printf '%s\n' "${t_all[@]}" | best)
u=$(printf '%s\n' "${u_all[@]}" | best)
p=$(printf '%s\n' "${p_all[@]}" | best)
echo "tarn-fwd, packets only (bytes=0):   $u Mpps"
echo "tarn-fwd, packets and bytes:        $t Mpps"
echo "dpdk-testpmd (net_ring, packets):   $p Mpps"
echo "ratio tarn/testpmd, like for like:  $(ratio "$u" "$p")"
echo "ratio tarn/testpmd, tarn with bytes: $(ratio "$t" "$p")"
[ "$keep" = 0 ] || echo "raw outputs in $tmp"
