#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# compare-testpmd.sh: io forwarding on two ports, tarn-fwd against
# dpdk-testpmd, same lcores, burst, packet length and duration.
#
#   scripts/compare-testpmd.sh [options]
#     -m MODE      ring (default): two in-memory ports; af_packet or af_xdp:
#                  the two ends of a veth pair (needs root; see "af_packet
#                  mode" and "af_xdp mode" below); virtio: the cabled
#                  virtio-net pair of the test VM, on vfio-pci (see "virtio
#                  mode")
#     -d SECONDS   run time of each tool (default 10)
#     -l LCORES    lcores, "A-B" or "A,B": the first prints, the others forward
#                  (default 0-1; a single lcore makes tarn-fwd forward on its
#                  main lcore, and testpmd needs at least two)
#     -b BURST     packets per burst (default 32)
#     -s LEN       packet length (default 64)
#     -r N         repetitions (default 1): each runs every tool once, tarn-fwd
#                  first in odd repetitions and testpmd first in even ones;
#                  every figure is the median over the repetitions with its
#                  min-max, every ratio the median of the N per-repetition
#                  ratios with their min-max, and a verdict: "below" only
#                  when every repetition's ratio is below 1.0, "above" when
#                  every one is at or above 1.0, else "undecided" (use -r 5
#                  or more to tell a gap from noise)
#     -B DIR       tarn build directory (default: build)
#     -x KEYS      af_packet/af_xdp mode: extra keys for tarn's ports (e.g.
#                  rxring=v3, mode=generic)
#     -c           af_packet/af_xdp mode: count, over each run's window, what
#                  each tool asks of the kernel per forwarded packet: system
#                  calls (all, and the packet ones by name), wakeups its
#                  threads issue, and its threads' voluntary and involuntary
#                  context switches (perf stat on tracepoints, and
#                  /proc/PID/task/*/status), and the kernel's work done in
#                  its threads: NAPI polls, softirq runs, skbs consumed and
#                  dropped, page allocations, IPv4 route lookups, skbs into
#                  the stack, XDP redirects; printed as medians over the runs
#                  (needs perf; each tool runs 3 s longer, so that it
#                  outlasts perf's window; the tracepoints slow both tools,
#                  so the rates of a -c run are not figures to keep)
#     -P           virtio mode: after the runs, one more run of each tool
#                  under perf record (cpu-clock, in the guest): the shares of
#                  the samples in the doorbell (where the device model runs),
#                  in the rest of the driver's own code, in the rest of the
#                  library and app, in the kernel, and the top symbols
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
# start-up). Prints the rates in Mpps and the ratios tarn/testpmd, per
# repetition and as medians with their spread.
#
# Both use pools of 8192 mbufs (2176-byte buffers) with a 256-mbuf cache.
# testpmd runs with hugepages (-m 64) when at least 128 MiB of them are free,
# else with --no-huge -m 256. Exit: 0 when both ran, 1 when one failed, 2 for a
# bad option.
#
# af_packet mode: a veth pair tcmpPIDa/tcmpPIDb is made in this namespace (IPv6
# off, so the kernel sends nothing on it by itself) and deleted at the end,
# even on failure or Ctrl-C. A packet sent on one end arrives at the other:
# port 0 transmits what port 1 received and the other way round, so the
# seeded bursts go round and round. tarn-fwd runs `--port af_packet:iface=A
# --port af_packet:iface=B` twice: with the driver's defaults (TPACKET_V2
# receive ring, sendmmsg() transmit) and with tx=ring (TPACKET_V2 transmit
# ring + one sendto() per burst, the mechanism of DPDK's net_af_packet).
# testpmd runs on --vdev=net_af_packet0,iface=A --vdev=net_af_packet1,iface=B
# with framecnt=1024 (as tarn's 1024 descriptors) and qdisc_bypass=1 (as
# tarn), and --eth-peer set to the interface MACs: tarn-fwd addresses its
# seeded packets to the peer port's MAC, which is the interface's, so both
# tools send packets to the same addresses and the kernel does the same work
# with them (they go up to IPv4 and are dropped there, for both).
#
# af_xdp mode: the same veth pair, the same --eth-peer and the same window
# figures. tarn-fwd runs `--port af_xdp:iface=A --port af_xdp:iface=B` twice:
# with the driver's defaults (queue 0, XDP in native mode on veth, copy mode
# since veth has no zero-copy AF_XDP; the UMEM is the mbuf pool) and with
# mode=generic (the program run on the skb: on veth one skb per packet
# instead of two; testpmd cannot choose it). testpmd runs on
# --vdev=net_af_xdp0,iface=A --vdev=net_af_xdp1,iface=B (queue 0; libxdp
# attaches its program in native mode on veth too, copy mode) with
# busy_budget=0: no preferred busy polling, as tarn's default busy_poll=0.
# TARN_XDP_BUSY_BUDGET=N gives testpmd busy_budget=N instead (DPDK's
# default is 64; give tarn busy_poll=USECS with -x to match).
#
# virtio mode: the whole comparison runs in one boot of the test VM
# (../shared/numa-vm/numa-vm or $NUMA_VM: --nics 2 --iommu, one node, two
# CPUs, 512 hugepages; TCG: slow); wrap it in flock /tmp/tarn-vm.lock, as
# every numa-vm run. Inside, the cabled pair 0000:00:10.0 <-> 0000:00:11.0
# is bound to vfio-pci (scripts/devbind.sh) and given back to virtio-pci at
# the end. tarn-fwd runs `--port virtio:pci=0000:00:10.0 --port
# virtio:pci=0000:00:11.0` (IOVA mode auto: VA); testpmd runs net_virtio on
# the same two devices (-a ADDR, --iova-mode=va). Both with 256 descriptors
# per queue (the device's queue size), one forwarding lcore; the figures are
# each tool's own rates, as in ring mode, and each rate per second of the
# CPU time qemu used over that window (measured on the host at marks the
# guest writes into a file of this directory): under TCG on a shared
# machine the rates follow how much of the cores qemu gets, the rates per
# CPU-second much less. The emulated device costs far more than either
# driver: compare the two on the same pair, as ratios, never the rates with
# a real NIC. -P adds a profile of each tool in the
# guest. -k keeps the raw outputs in this directory (the guest's /tmp goes
# with the VM).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10 lcores=0-1 burst=32 len=64 runs=1 build=build keep=0 mode=ring extra='' count=0
xdp_budget=${TARN_XDP_BUSY_BUDGET:-0}
usage() { awk 'NR >= 3 && !/^#/ { exit } NR >= 3' "$0" | sed 's/^# \{0,1\}//'; }
profile=0
args=("$@")
while getopts "m:d:l:b:s:r:B:x:ckPh" o; do
	case "$o" in
	m) mode=$OPTARG ;;
	x) extra=$OPTARG ;;
	d) duration=$OPTARG ;;
	l) lcores=$OPTARG ;;
	b) burst=$OPTARG ;;
	s) len=$OPTARG ;;
	r) runs=$OPTARG ;;
	B) build=$OPTARG ;;
	c) count=1 ;;
	P) profile=1 ;;
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
[[ $xdp_budget =~ ^[0-9]+$ ]] || { echo "compare-testpmd: TARN_XDP_BUSY_BUDGET '$xdp_budget': expected a whole number" >&2; exit 2; }
[[ $mode =~ ^(ring|af_packet|af_xdp|virtio)$ ]] || { echo "compare-testpmd: -m '$mode': expected ring, af_packet, af_xdp or virtio" >&2; exit 2; }
[ "$profile" = 0 ] || [ "$mode" = virtio ] || { echo "compare-testpmd: -P profiles the virtio mode only (-m virtio)" >&2; exit 2; }
[[ $extra =~ ^([a-z_]+=[^,= ]+(,[a-z_]+=[^,= ]+)*)?$ ]] || { echo "compare-testpmd: -x '$extra': expected KEY=VALUE[,KEY=VALUE...]" >&2; exit 2; }
[ "$count" = 0 ] || [ "$mode" = af_packet ] || [ "$mode" = af_xdp ] || { echo "compare-testpmd: -c counts on af_packet and af_xdp only (-m)" >&2; exit 2; }
# virtio mode, on the host: the same command again inside the VM.
if [ "$mode" = virtio ] && [ "${TARN_CMP_IN_VM:-}" != 1 ]; then
	vm=${NUMA_VM:-../shared/numa-vm/numa-vm}
	[ -x "$vm" ] || { echo "compare-testpmd: -m virtio needs the test VM: numa-vm not found at $vm (set NUMA_VM)" >&2; exit 1; }
	[ -x "$build/apps/tarn-fwd/tarn-fwd" ] || { echo "compare-testpmd: $build/apps/tarn-fwd/tarn-fwd not found: build tarn first or give -B" >&2; exit 1; }
	case "$(realpath "$build")/" in
	"$(realpath .)"/*) ;;
	*) echo "compare-testpmd: -B $build must be below $(realpath .) (the VM sees the host's files read-only, this directory read-write)" >&2; exit 1 ;;
	esac
	echo "compare-testpmd: booting numa-vm --nics 2 --iommu (TCG: slow; about $(((runs + profile) * 2 * (duration + 10) + 60)) s)"
	# The guest marks the start and end of each measured window in a file
	# of this directory (shared with the VM); a watcher here records, at
	# each mark, the clock and the CPU time qemu has used (all its threads:
	# the vCPUs, the device model). A tool's rate per second of qemu's CPU
	# time does not depend on how much of the 2 cores qemu got meanwhile.
	marks=$PWD/.compare-testpmd-marks.$$
	: >"$marks"
	: >"$marks.host"
	find_qemu() {
		local c q
		for c in $(pgrep -P "$1"); do
			case "$(cat "/proc/$c/comm" 2>/dev/null)" in qemu-system*) echo "$c"; return 0 ;; esac
			q=$(find_qemu "$c") && { echo "$q"; return 0; }
		done
		return 1
	}
	watch_marks() {
		local n=0 q='' i st lines
		while kill -0 "$1" 2>/dev/null; do
			[ -n "$q" ] || q=$(find_qemu "$1") || q=''
			mapfile -t lines <"$marks"
			for ((i = n; i < ${#lines[@]}; i++)); do
				[[ ${lines[i]} == mark\ * ]] || continue
				st=$(cat "/proc/$q/stat" 2>/dev/null) || st=''
				st=${st##*) }
				set -- "$1" $st
				echo "${lines[i]#mark } $(date +%s%N) $(( ${13:-0} + ${14:-0} ))" >>"$marks.host"
			done
			n=${#lines[@]}
			sleep 0.05
		done
	}
	# no_timer_check: see scripts/virtio-vm-test.sh (a busy host under TCG
	# otherwise panics the guest at boot with the IOMMU's interrupt remapping).
	NUMA_VM_APPEND="${NUMA_VM_APPEND:+$NUMA_VM_APPEND }no_timer_check" "$vm" --nodes 1 --cpus-per-node 2 --mem-per-node 2G --hugepages-per-node 512 --nics 2 --iommu \
		--timeout $(((runs + profile) * 2 * (duration + 30) + 200)) -- env TARN_CMP_IN_VM=1 TARN_CMP_MARKS="$marks" "$PWD/scripts/compare-testpmd.sh" "${args[@]}" &
	vmpid=$!
	trap 'kill "$vmpid" 2>/dev/null' INT TERM
	watch_marks "$vmpid" &
	wpid=$!
	wait "$vmpid"
	rc=$?
	wait "$wpid" 2>/dev/null
	# The guest's rates ("rate TAG MPPS") and the host's marks ("start|stop
	# TAG NS TICKS"): each run's rate per second of qemu's CPU time.
	if grep -q '^rate ' "$marks" && [ -s "$marks.host" ]; then
		awk -v hz="$(getconf CLK_TCK)" -v runs="$runs" '
			FNR == NR { if ($1 == "start" || $1 == "stop") { ns[$1, $2] = $3; tk[$1, $2] = $4 }; next }
			$1 == "rate" && (("start", $2) in ns) && (("stop", $2) in ns) {
				w = (ns["stop", $2] - ns["start", $2]) / 1e9; c = (tk["stop", $2] - tk["start", $2]) / hz
				if (w > 0 && c > 0) { per[$2] = $3 / (c / w); util[$2] = c / w }
			}
			END {
				print "per second of qemu'"'"'s CPU time (its CPU time over each window, the vCPUs and the device model; the host had 2 cores):"
				for (i = 1; i <= runs; i++) {
					t = "t" i; p = "p" i
					if ((t in per) && (p in per)) {
						printf "  run %d: tarn-fwd %.4f Mpps/CPU-s (qemu at %.2f CPUs); dpdk-testpmd %.4f Mpps/CPU-s (%.2f CPUs); ratio %.3f\n", i, per[t], util[t], per[p], util[p], per[t] / per[p]
						r[n++] = per[t] / per[p]
					} else printf "  run %d: no figure (a mark is missing)\n", i
				}
				if (n) { for (i = 1; i < n; i++) for (j = i; j > 0 && r[j - 1] > r[j]; j--) { x = r[j]; r[j] = r[j - 1]; r[j - 1] = x }
					printf "ratio tarn/testpmd per CPU-second:   %.3f (%.3f-%.3f)\n", (n % 2 ? r[int(n / 2)] : (r[n / 2 - 1] + r[n / 2]) / 2), r[0], r[n - 1] }
			}' "$marks.host" "$marks"
	fi
	rm -f "$marks" "$marks.host"
	exit $rc
fi
[ "$count" = 0 ] || command -v perf >/dev/null || { echo "compare-testpmd: -c needs perf (apt-get install linux-perf)" >&2; exit 1; }
vdevs=(--vdev=net_ring0 --vdev=net_ring1)
pci=(--no-pci)
nic_a=0000:00:10.0 nic_b=0000:00:11.0
if [ "$mode" = virtio ]; then
	vdevs=()
	pci=(-a "$nic_a" -a "$nic_b" --iova-mode=va)
fi

fwd=$build/apps/tarn-fwd/tarn-fwd
[ -x "$fwd" ] || { echo "compare-testpmd: $fwd not found: build tarn first (meson setup $build && ninja -C $build) or give -B" >&2; exit 1; }
testpmd=$(command -v dpdk-testpmd || true)
[ -n "$testpmd" ] || { echo "compare-testpmd: dpdk-testpmd not found (apt-get install dpdk)" >&2; exit 1; }

# Number of lcores in the list, and so of forwarding cores (all but the first).
nlc=$(echo "$lcores" | tr ',' '\n' | awk -F- '{ n += (NF == 2 ? $2 - $1 + 1 : 1) } END { print n }')
[ "$nlc" -ge 2 ] || { echo "compare-testpmd: testpmd needs two lcores or more (-l)" >&2; exit 2; }

free_mb=$(awk '/HugePages_Free/ { f = $2 } /Hugepagesize/ { s = $2 } END { print int(f * s / 1024) }' /proc/meminfo)
if [ "${free_mb:-0}" -ge 128 ]; then
	# --huge-unlink: testpmd's hugepage files go at once (DPDK otherwise
	# leaves them in the hugetlbfs mount, their pages taken).
	mem=(-m 64 --huge-unlink)
	memdesc="hugepages, -m 64"
else
	mem=(--no-huge -m 256)
	memdesc="--no-huge -m 256"
fi

tmpbase=/tmp
[ "${TARN_CMP_IN_VM:-}" = 1 ] && [ "$keep" = 1 ] && tmpbase=$PWD
tmp=$(mktemp -d "$tmpbase/compare-testpmd.XXXXXX")
mkdir "$tmp/counts"
veth_a='' veth_b=''
bound=0
# The EAL's runtime directory of testpmd's file prefix (DPDK leaves it
# behind), and tarn's of tarn-fwd's (its telemetry directory, in case a run
# died before removing it): both removed at exit.
if [ -n "${RUNTIME_DIRECTORY:-}" ]; then rundir=$RUNTIME_DIRECTORY/dpdk
elif [ "$(id -u)" = 0 ]; then rundir=/var/run/dpdk
else rundir=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi
cleanup() {
	[ -z "$veth_a" ] || ip link del "$veth_a" 2>/dev/null || true
	[ "$bound" = 0 ] || scripts/devbind.sh --kernel "$nic_a" "$nic_b" >/dev/null || true
	rm -rf "${rundir:?}/tpmd-cmp-$$" "${rundir:?}/tarn-cmp-$$"
	# and the hugepage files of a testpmd that was killed before it unlinked
	# them (by its file prefix, in every hugetlbfs mount)
	local m
	for m in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts); do
		rm -f "$m"/tpmd-cmp-$$map_*
	done
	[ "$keep" = 1 ] || rm -rf "$tmp"
}
# On SIGINT/SIGTERM, the tools still running go too (found by parent id:
# this script's descendants only).
kill_tree() {
	local c
	for c in $(pgrep -P "$1"); do
		kill_tree "$c"
		kill -TERM "$c" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'kill_tree $$; exit 130' INT
trap 'kill_tree $$; exit 143' TERM
peers=()
if [ "$mode" = af_packet ] || [ "$mode" = af_xdp ]; then
	[ "$(id -u)" = 0 ] || { echo "compare-testpmd: -m $mode needs root (a veth pair, $mode sockets)" >&2; exit 1; }
	veth_a=tcmp$$a veth_b=tcmp$$b
	ip link add "$veth_a" type veth peer name "$veth_b" ||
		{ veth_a=; echo "compare-testpmd: cannot create the veth pair $veth_a/$veth_b" >&2; exit 1; }
	for i in "$veth_a" "$veth_b"; do
		sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1" >/dev/null 2>&1 || true
		ip link set "$i" up
	done
	mac_a=$(cat "/sys/class/net/$veth_a/address") mac_b=$(cat "/sys/class/net/$veth_b/address")
	vdevs=(--vdev="net_af_packet0,iface=$veth_a,framecnt=1024,qdisc_bypass=1"
		--vdev="net_af_packet1,iface=$veth_b,framecnt=1024,qdisc_bypass=1")
	peers=(--eth-peer="0,$mac_b" --eth-peer="1,$mac_a")
	[ "$mode" = af_packet ] || vdevs=(--vdev="net_af_xdp0,iface=$veth_a,start_queue=0,queue_count=1,busy_budget=$xdp_budget"
		--vdev="net_af_xdp1,iface=$veth_b,start_queue=0,queue_count=1,busy_budget=$xdp_budget")
fi

# -c: the tools run 3 s longer than -d, so that they outlast perf's window
# (which starts late on a busy machine) and the window's closing figures.
slack=0
[ "$count" = 0 ] || slack=3

# Mean of the per-second totals after the first, in Mpps.
mean_mpps() { awk 'NR > 1 { s += $1; n++ } END { if (n) printf "%.3f", s / n / 1e6; else print "nan" }'; }

# af_packet mode: "ns cpu-ticks packets" now, for process $1: the clock, the
# process's CPU time (user + system, all threads) and the packets the two
# veth ends received (each forwarded packet is received by one of them).
snap() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "0 0 0"; return; }
	st=${st##*) }
	set -- $st
	echo "$(date +%s%N) $((${12} + ${13})) $(($(cat "/sys/class/net/$veth_a/statistics/rx_packets") + $(cat "/sys/class/net/$veth_b/statistics/rx_packets")))"
}

# The system calls -c counts by name (the others only in the total).
count_calls=(sendto sendmsg sendmmsg recvfrom recvmsg recvmmsg poll ppoll getsockopt ioctl)
# The kernel's work -c counts, as "tracepoint=name": NAPI polls and softirq
# runs (net_rx_action and the others) in the tool's threads, skbs freed
# after use (consume) and dropped (kfree: the IPv4 stack's drops of the
# packets addressed to the interfaces), pages allocated (skb_copy_ubufs of
# a mapped TX ring's frames, page-pool refills), IPv4 route lookups, skbs
# into the stack's receive path, XDP redirects (af_xdp).
count_events=(napi:napi_poll=napi_polls irq:softirq_entry=softirqs skb:consume_skb=skbs_consumed
	skb:kfree_skb=skbs_dropped kmem:mm_page_alloc=page_allocs fib:fib_table_lookup=route_lookups
	net:netif_receive_skb=stack_receives xdp:xdp_redirect=xdp_redirects)

# window PID OUT PATTERN [TAG]: once OUT has a statistics line (PATTERN) and
# half a second more has passed, measure over duration - 2.5 seconds the
# packets forwarded per second and per second of the tool's CPU time; prints
# both in Mpps. The second figure does not depend on how much of its core
# the tool got (the machine may be shared): the tools poll, so their CPU
# time is their time on the core. With -c, the same window counts what the
# tool asks of the kernel (perf stat -p on its threads) into
# $tmp/counts/TAG.pp: "name value" lines, per forwarded packet.
window() {
	local pid=$1 out=$2 pat=$3 tag=${4:-} i t0 c0 p0 t1 c1 p1 w ev pk v n
	for ((i = 0; i < 300; i++)); do
		grep -q "$pat" "$out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	sleep 0.5
	w=$(awk -v d="$duration" 'BEGIN { print d - 2.5 }')
	read -r t0 c0 p0 < <(snap "$pid")
	if [ "$count" = 1 ] && [ -n "$tag" ]; then
		ev=raw_syscalls:sys_enter,sched:sched_wakeup
		for i in "${count_calls[@]}"; do ev+=,syscalls:sys_enter_$i; done
		for i in "${count_events[@]}"; do ev+=,${i%%=*}; done
		# The per-packet figures are taken over perf's own window: the
		# command it runs reads the packet and context switch counters
		# after perf has enabled its counters and before it stops them
		# (perf takes a while to start on a busy machine: its window is
		# 1.5 s shorter, so that it ends before the tool does).
		# shellcheck disable=SC2016 # the inner script's own arguments
		perf stat -x, -o "$tmp/counts/$tag.perf" -e "$ev" -p "$pid" -- bash -c '
			snapc() { cat "$1" "$2"; cat /proc/"$3"/task/*/status 2>/dev/null | grep ctxt_switches; }
			snapc "$@" >"$4.in0"; sleep "$5"; snapc "$@" >"$4.in1"' _ \
			"/sys/class/net/$veth_a/statistics/rx_packets" "/sys/class/net/$veth_b/statistics/rx_packets" \
			"$pid" "$tmp/counts/$tag" "$(awk -v w="$w" 'BEGIN { print (w > 2.5 ? w - 1.5 : 1) }')" 2>/dev/null || true
	else
		sleep "$w"
	fi
	read -r t1 c1 p1 < <(snap "$pid")
	if [ "$count" = 1 ] && [ -n "$tag" ]; then
		# packets, voluntary and involuntary switches in perf's window
		read -r pk v n < <(awk 'FNR == 1 { f = NR > 1 }
			/^nonvoluntary_ctxt_switches/ { n[f] += $2 } /^voluntary_ctxt_switches/ { v[f] += $2 }
			/^[0-9]+$/ { p[f] += $1 }
			END { print p[1] - p[0], v[1] - v[0], n[1] - n[0] }' "$tmp/counts/$tag.in0" "$tmp/counts/$tag.in1" 2>/dev/null)
		{
			awk -F, -v p="${pk:-0}" -v names="${count_events[*]}" 'BEGIN {
					k = split(names, a, " ")
					for (i = 1; i <= k; i++) { split(a[i], b, "="); alias[b[1]] = b[2] } }
				$3 ~ /:/ && p > 0 {
				n = $3; sub(/^raw_syscalls:sys_enter$/, "syscalls", n); sub(/^syscalls:sys_enter_/, "", n)
				sub(/^sched:sched_wakeup$/, "wakeups", n); if (n in alias) n = alias[n]
				printf "%s %.6f\n", n, $1 / p }' "$tmp/counts/$tag.perf"
			awk -v p="${pk:-0}" -v v="${v:-0}" -v n="${n:-0}" \
				'BEGIN { if (p > 0) printf "ctxsw_voluntary %.5f\nctxsw_involuntary %.5f\npackets %d\n", v / p, n / p, p }'
		} >"$tmp/counts/$tag.pp"
	fi
	awk -v t="$((t1 - t0))" -v c="$((c1 - c0))" -v p="$((p1 - p0))" -v hz="$(getconf CLK_TCK)" \
		-v t0="$t0" -v t1="$t1" \
		'BEGIN { if (t0 > 0 && t1 > 0 && c > 0) printf "%.3f %.3f\n", p / (t / 1e9) / 1e6, p / (c / hz) / 1e6; else print "nan nan" }'
}

# print_counts TOOL...: the -c table, one column per TOOL (a tag without its
# run number), each figure the median over the runs, per forwarded packet.
print_counts() {
	[ "$count" = 1 ] || return 0
	local t k f
	echo "per forwarded packet (-c; medians over $runs run(s)):"
	printf '  %-20s' ""
	for t in "$@"; do printf ' %14s' "$t"; done
	echo
	for k in syscalls "${count_calls[@]}" wakeups ctxsw_voluntary ctxsw_involuntary "${count_events[@]#*=}" packets; do
		printf '  %-20s' "$k"
		for t in "$@"; do
			f=$(cat "$tmp"/counts/"$t".*.pp 2>/dev/null | awk -v k="$k" '$1 == k { print $2 }' | sort -g |
				awk -v k="$k" '{ v[n++] = $1 } END {
					if (!n) { print "-"; exit }
					m = n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
					printf(k == "packets" ? "%d\n" : "%.5f\n", m) }')
			printf ' %14s' "$f"
		done
		echo
	done
}

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

# run_tarn_afp RUN VARIANT: one tarn-fwd run on the veth pair, VARIANT mmsg
# (the driver's defaults) or ring (tx=ring) for af_packet, xdp (af_xdp's
# defaults) for af_xdp. Prints "MEAN WIN CPU": its own mean rate and
# window's two figures, in Mpps.
run_tarn_afp() {
	local out=$tmp/tarn-afp-$1-$2.json keys='' pid w drv=af_packet
	[ "$2" = ring ] && keys=,tx=ring
	[ "$2" = xdp ] && drv=af_xdp
	# (a mode= of -x wins: then both af_xdp rows run with it)
	[ "$2" = xdpg ] && drv=af_xdp && [[ ,$extra, != *,mode=* ]] && keys=,mode=generic
	[ -z "$extra" ] || keys="$keys,$extra"
	"$fwd" --lcores "$lcores" --file-prefix tarn-cmp-$$ \
		--port "$drv:iface=$veth_a$keys" --port "$drv:iface=$veth_b$keys" \
		--fwd io --tx-first --burst "$burst" --pkt-len "$len" --rxd 1024 --txd 1024 \
		--mbufs 8192 --mbuf-cache 256 --duration "$((duration + slack))" --stats-period 1 --json \
		>"$out" 2>"$out.err" &
	pid=$!
	w=$(window "$pid" "$out" '"event":"stats"' "tarn-$2.$1")
	wait "$pid" || { echo "compare-testpmd: tarn-fwd failed:" >&2; cat "$out.err" >&2; return 1; }
	echo "$(grep '"event":"stats"' "$out" | sed 's/.*"rx_pps":\([0-9.]*\)}$/\1/' | mean_mpps) $w"
}

run_testpmd() {
	local out=$tmp/testpmd-$1.txt rc=0 pid w=
	# testpmd needs a second or two to start: give it that on top of the run.
	local desc=1024 limit=$((duration + 3 + slack))
	# In the VM testpmd takes many seconds to start: its run is timed
	# from its first statistics line (below), this only bounds it.
	[ "$mode" = virtio ] && desc=256 limit=$((duration + 90))
	timeout -s INT $limit "$testpmd" -l "$lcores" "${pci[@]}" "${mem[@]}" \
		--file-prefix tpmd-cmp-$$ --log-level=lib.eal:error "${vdevs[@]}" -- \
		--forward-mode=io --tx-first --burst="$burst" --txpkts="$len" "${peers[@]}" \
		--rxd=$desc --txd=$desc --total-num-mbufs=8192 --mbcache=256 --nb-cores=$((nlc - 1)) \
		--stats-period 1 --no-lsc-interrupt </dev/null >"$out" 2>&1 &
	pid=$!
	if [ "$mode" = virtio ]; then
		local i
		for ((i = 0; i < 900; i++)); do
			grep -q 'Rx-pps' "$out" 2>/dev/null && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if [ -n "${2:-}" ]; then
			profile_window "$(pgrep -n -P "$pid" || echo "$pid")" "$2"
			sleep 3
		else
			mark start "p$1"
			sleep "$duration"
			mark stop "p$1"
		fi
		pkill -INT -P "$pid" 2>/dev/null || true
	elif [ "$mode" = af_packet ] || [ "$mode" = af_xdp ]; then
		sleep 0.2
		w=$(window "$(pgrep -n -P "$pid" || echo "$pid")" "$out" 'Rx-pps' "testpmd.$1")
	fi
	wait "$pid" || rc=$?
	# timeout exits 124 after it sent SIGINT; testpmd then printed its final stats.
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 130 ]; then
		echo "compare-testpmd: dpdk-testpmd failed (exit $rc):" >&2
		tail -20 "$out" >&2
		return 1
	fi
	grep -q "Rx-pps" "$out" || { echo "compare-testpmd: no statistics from dpdk-testpmd:" >&2; tail -20 "$out" >&2; return 1; }
	# One "Rx-pps:" line per port per second: sum them per second.
	local rate
	rate=$(tr -d '\033' <"$out" | awk '/Rx-pps:/ { s += $2; if (++k % 2 == 0) { print s; s = 0 } }' | mean_mpps)
	[ "$mode" != virtio ] || [ -n "${2:-}" ] || mark_rate "p$1" "$rate"
	echo "$rate${w:+ $w}"
}

# Figures of every repetition, by key: all[KEY]="v1 v2 ...".
declare -A all
record() { local v; for v in "$@"; do all[$v]+="${!v} "; done; }
# spread KEY: "MEDIAN MIN MAX" of the repetitions' figures (nan left out).
spread() {
	tr ' ' '\n' <<<"${all[$1]}" | awk 'NF && $1 != "nan" { v[n++] = $1 } END {
		if (!n) { print "nan nan nan"; exit }
		for (i = 1; i < n; i++) for (j = i; j > 0 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		m = n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
		printf "%.3f %.3f %.3f\n", m, v[0], v[n - 1] }'
}
# fig KEY: "MEDIAN (MIN-MAX)" of KEY's figures (the median alone for one run).
fig() {
	local m lo hi
	read -r m lo hi <<<"$(spread "$1")"
	[ "$runs" -gt 1 ] && echo "$m ($lo-$hi)" || echo "$m"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "nan" && b > 0) printf "%.3f", a / b; else print "nan" }'; }
# ratios OUT A B: all[OUT] = the per-repetition ratios all[A]/all[B].
ratios() {
	local -a a b
	local i
	read -ra a <<<"${all[$2]}"
	read -ra b <<<"${all[$3]}"
	all[$1]=
	for i in "${!a[@]}"; do all[$1]+="$(ratio "${a[$i]}" "${b[$i]}") "; done
}
# rfig A B: the median of the per-repetition ratios A/B, their min-max and
# the verdict ("below": every one below 1.0; "above": every one at or above).
rfig() {
	local m lo hi v
	ratios "r_$1_$2" "$1" "$2"
	read -r m lo hi <<<"$(spread "r_$1_$2")"
	v=$(awk -v lo="$lo" -v hi="$hi" 'BEGIN { if (lo == "nan") print "no figure"; else if (hi < 1) print "below"; else if (lo >= 1) print "above"; else print "undecided" }')
	[ "$runs" -gt 1 ] && echo "$m ($lo-$hi, $v)" || echo "$m"
}
# order I: the tools' order in repetition I: tarn-fwd first in odd ones.
tarn_first() { [ $(($1 % 2)) = 1 ]; }
spread_note() {
	[ "$runs" -gt 1 ] && echo "  medians over $runs repetitions (min-max); a ratio's verdict is \"below\" only when all $runs were below 1.0"
	return 0
}
# run_tarn_virtio RUN [PERF]: one tarn-fwd run on the NIC pair, its mean rate
# in Mpps; with PERF, under perf record into that file.
run_tarn_virtio() {
	local out=$tmp/tarn-virtio-$1.json pid i rate
	"$fwd" --lcores "$lcores" --file-prefix tarn-cmp-$$ --no-telemetry \
		--port "virtio:pci=$nic_a" --port "virtio:pci=$nic_b" \
		--fwd io --tx-first --burst "$burst" --pkt-len "$len" --rxd 256 --txd 256 \
		--mbufs 8192 --mbuf-cache 256 --duration "$duration" --stats-period 1 --json \
		>"$out" 2>"$out.err" &
	pid=$!
	for ((i = 0; i < 900; i++)); do
		grep -q '"event":"stats"' "$out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "${2:-}" ]; then
		profile_window "$pid" "$2"
	else
		# The window: from its first statistics line to about its last
		# but one. Nothing polls meanwhile (a program started in the guest
		# would take CPU from the forwarding lcore), as for testpmd.
		mark start "t$1"
		sleep $((duration - 2))
		mark stop "t$1"
	fi
	wait "$pid" || { echo "compare-testpmd: tarn-fwd failed:" >&2; cat "$out.err" >&2; return 1; }
	rate=$(grep '"event":"stats"' "$out" | sed 's/.*"rx_pps":\([0-9.]*\)}$/\1/' | mean_mpps)
	[ -n "${2:-}" ] || mark_rate "t$1" "$rate"
	echo "$rate"
}

# mark start|stop TAG: tell the host (the watcher of -m virtio) that a
# measured window starts or ends now; mark_rate TAG MPPS: that window's rate.
mark() { [ -z "${TARN_CMP_MARKS:-}" ] || echo "mark $1 $2" >>"$TARN_CMP_MARKS"; }
mark_rate() { [ -z "${TARN_CMP_MARKS:-}" ] || echo "rate $1 $2" >>"$TARN_CMP_MARKS"; }

# profile_window PID DATA: perf record of PID into DATA over the forwarding
# window (from its first statistics line, for duration - 3 seconds), so that
# neither start-up nor exit is in the profile.
profile_window() {
	perf record -q -F 999 -p "$1" -o "$2" -- sleep $((duration - 3)) >/dev/null 2>&1 || true
}

# The -P report of one tool's profile (perf record -F 999, cpu-clock, in the
# guest, over the forwarding window): the shares of the samples (by period) in the driver, in the rest of
# the tool (library and app), in the kernel and elsewhere; and, within the
# driver, its hottest instruction apart. Under TCG a vCPU takes its timer
# interrupt only between translated blocks, and a vCPU held up by the device
# model (a doorbell, the device busy with the queue) has that time counted
# at the next block it starts: in both tools nearly all of the driver's
# samples land on one instruction of the doorbell path (tarn: just after the
# publish fence, testpmd: the return from its notify call). The rest of the
# driver's samples are its own code: descriptor writes, RX parsing and
# refill, TX reclaim, and polling empty rings. DRIVER is an awk regular
# expression on "dso symbol" (net_virtio has no symbols in Debian).
profile_report() {
	local name=$1 data=$2 driver=$3 rep=$tmp/perf-$1.txt
	perf script -i "$data" -F ip,sym,dso,period 2>/dev/null >"$rep" || true
	[ -s "$rep" ] || { echo "profile: perf script gave nothing for $name"; return 0; }
	awk -v name="$name" -v drv="$driver" '
		NF >= 4 { per = $1; dso = $NF; gsub(/[()]/, "", dso); n = split(dso, parts, "/"); dso = parts[n]
		  sym = $3; for (i = 4; i < NF; i++) sym = sym " " $i
		  key = dso " " sym
		  tot += per
		  if (key ~ drv) { d += per; ip[sym " at 0x" $2] += per }
		  else if (dso ~ /kernel/) k += per
		  else if (dso ~ /libtarn|tarn-fwd|librte|dpdk-testpmd/) lib += per
		  else o += per
		  bysym[key] += per }
		END {
			if (tot == 0) { print "profile: no samples for " name; exit }
			for (i in ip) if (ip[i] > hot) { hot = ip[i]; where = i }
			printf "profile of %s in the guest: driver %.1f%% (its hottest instruction %.1f%%: %s; the rest of the driver %.1f%%), rest of the library and app %.1f%%, kernel %.1f%%, other %.1f%%\n",
				name, 100 * d / tot, 100 * hot / tot, where, 100 * (d - hot) / tot, 100 * lib / tot, 100 * k / tot, 100 * o / tot
			for (s in bysym) printf "%.1f %s\n", 100 * bysym[s] / tot, s | "sort -rn | head -6 | sed \"s/^/    /\""
		}' "$rep"
}

if [ "$mode" = virtio ]; then
	[ "$(id -u)" = 0 ] || { echo "compare-testpmd: -m virtio binds PCI devices: root" >&2; exit 1; }
	scripts/devbind.sh --bind vfio-pci "$nic_a" "$nic_b" >/dev/null ||
		{ echo "compare-testpmd: cannot bind $nic_a and $nic_b to vfio-pci" >&2; exit 1; }
	bound=1
	echo "compare-testpmd: io forwarding between two virtio-net NICs ($nic_a <-> $nic_b, emulated by qemu under TCG, vfio-pci, IOVA as VA), lcores $lcores ($((nlc - 1)) forwarding), burst $burst, $len-byte packets, ${duration}s per run, $runs repetition(s)"
	echo "  tarn-fwd: 2 virtio ports;  dpdk-testpmd: net_virtio on the same devices (-a), $memdesc; 256 descriptors per queue"
	for i in $(seq 1 "$runs"); do
		if tarn_first "$i"; then
			t=$(run_tarn_virtio "$i") || exit 1
			p=$(run_testpmd "$i") || exit 1
		else
			p=$(run_testpmd "$i") || exit 1
			t=$(run_tarn_virtio "$i") || exit 1
		fi
		echo "  run $i: tarn-fwd $t Mpps; dpdk-testpmd $p Mpps; ratio $(ratio "$t" "$p")"
		record t p
	done
	spread_note
	echo "tarn-fwd (virtio):                   $(fig t) Mpps"
	echo "dpdk-testpmd (net_virtio):           $(fig p) Mpps"
	echo "ratio tarn/testpmd:                  $(rfig t p)"
	if [ "$profile" = 1 ]; then
		if ! command -v perf >/dev/null; then
			echo "profile: no perf in the guest (apt-get install linux-perf on the host)"
		else
			if run_tarn_virtio P "$tmp/perf-tarn.data" >/dev/null; then
				profile_report tarn-fwd "$tmp/perf-tarn.data" '^libtarn[^ ]* tarn__vt_|^libtarn[^ ]* (post|reclaim|refill|take|gather)$'
			else
				echo "profile: perf record of tarn-fwd failed"
			fi
			if run_testpmd P "$tmp/perf-testpmd.data" >/dev/null; then
				profile_report dpdk-testpmd "$tmp/perf-testpmd.data" '^librte_net_virtio'
			else
				echo "profile: perf record of dpdk-testpmd failed"
			fi
		fi
	fi
	[ "$keep" = 0 ] || echo "raw outputs in $tmp"
	exit 0
fi
if [ "$mode" = af_xdp ]; then
	echo "compare-testpmd: io forwarding over a veth pair ($veth_a, $veth_b), lcores $lcores ($((nlc - 1)) forwarding), burst $burst, $len-byte packets, ${duration}s per run, $runs repetition(s)"
	echo "  tarn-fwd: 2 af_xdp ports${extra:+ (+$extra)}, defaults and mode=generic;  dpdk-testpmd: 2 net_af_xdp vdevs (queue 0, busy_budget=$xdp_budget, --eth-peer = interface MACs), $memdesc"
	echo "  each figure: the tool's own mean rate [the veth pair's received packets over ${duration}-2.5 s: per second / per second of the tool's CPU time]"
	for i in $(seq 1 "$runs"); do
		if tarn_first "$i"; then
			read -r t tw tc < <(run_tarn_afp "$i" xdp) && [ -n "$t" ] || exit 1
			read -r p pw pc < <(run_testpmd "$i") && [ -n "$p" ] || exit 1
			read -r g gw gc < <(run_tarn_afp "$i" xdpg) && [ -n "$g" ] || exit 1
		else
			read -r g gw gc < <(run_tarn_afp "$i" xdpg) && [ -n "$g" ] || exit 1
			read -r p pw pc < <(run_testpmd "$i") && [ -n "$p" ] || exit 1
			read -r t tw tc < <(run_tarn_afp "$i" xdp) && [ -n "$t" ] || exit 1
		fi
		echo "  run $i: tarn-fwd $t Mpps [$tw, $tc] (defaults: native XDP), $g Mpps [$gw, $gc] (mode=generic); dpdk-testpmd $p Mpps [$pw, $pc]; ratio $(ratio "$t" "$p") [$(ratio "$tw" "$pw"), $(ratio "$tc" "$pc")], mode=generic $(ratio "$g" "$p") [$(ratio "$gw" "$pw"), $(ratio "$gc" "$pc")]"
		record t tw tc p pw pc g gw gc
	done
	spread_note
	echo "tarn-fwd, af_xdp defaults (native):  $(fig t) Mpps [$(fig tw), $(fig tc) per CPU-second]"
	echo "tarn-fwd, af_xdp mode=generic:       $(fig g) Mpps [$(fig gw), $(fig gc) per CPU-second]"
	echo "dpdk-testpmd (net_af_xdp):           $(fig p) Mpps [$(fig pw), $(fig pc) per CPU-second]"
	echo "ratio tarn/testpmd, defaults:        $(rfig t p) [$(rfig tw pw), per CPU-second $(rfig tc pc)]"
	echo "ratio tarn/testpmd, mode=generic:    $(rfig g p) [$(rfig gw pw), per CPU-second $(rfig gc pc)]"
	print_counts tarn-xdp tarn-xdpg testpmd
	[ "$keep" = 0 ] || echo "raw outputs in $tmp"
	exit 0
fi
if [ "$mode" = af_packet ]; then
	echo "compare-testpmd: io forwarding over a veth pair ($veth_a, $veth_b), lcores $lcores ($((nlc - 1)) forwarding), burst $burst, $len-byte packets, ${duration}s per run, $runs repetition(s)"
	echo "  tarn-fwd: 2 af_packet ports${extra:+ (+$extra)};  dpdk-testpmd: 2 net_af_packet vdevs (framecnt=1024, qdisc_bypass=1, --eth-peer = interface MACs), $memdesc"
	echo "  each figure: the tool's own mean rate [the veth pair's received packets over ${duration}-2.5 s: per second / per second of the tool's CPU time]"
	for i in $(seq 1 "$runs"); do
		if tarn_first "$i"; then
			read -r t tw tc < <(run_tarn_afp "$i" mmsg) && [ -n "$t" ] || exit 1
			read -r p pw pc < <(run_testpmd "$i") && [ -n "$p" ] || exit 1
			read -r r rw rc < <(run_tarn_afp "$i" ring) && [ -n "$r" ] || exit 1
		else
			read -r r rw rc < <(run_tarn_afp "$i" ring) && [ -n "$r" ] || exit 1
			read -r p pw pc < <(run_testpmd "$i") && [ -n "$p" ] || exit 1
			read -r t tw tc < <(run_tarn_afp "$i" mmsg) && [ -n "$t" ] || exit 1
		fi
		echo "  run $i: tarn-fwd $t Mpps [$tw, $tc] (defaults: TX by sendmmsg), $r Mpps [$rw, $rc] (tx=ring); dpdk-testpmd $p Mpps [$pw, $pc]; ratio $(ratio "$t" "$p"), tx=ring $(ratio "$r" "$p")"
		record t tw tc p pw pc r rw rc
	done
	spread_note
	echo "tarn-fwd, af_packet defaults:        $(fig t) Mpps [$(fig tw), $(fig tc) per CPU-second]"
	echo "tarn-fwd, af_packet tx=ring:         $(fig r) Mpps [$(fig rw), $(fig rc) per CPU-second]"
	echo "dpdk-testpmd (net_af_packet):        $(fig p) Mpps [$(fig pw), $(fig pc) per CPU-second]"
	echo "ratio tarn/testpmd, defaults:        $(rfig t p) [$(rfig tw pw), per CPU-second $(rfig tc pc)]"
	echo "ratio tarn/testpmd, tx=ring:         $(rfig r p) [$(rfig rw pw), per CPU-second $(rfig rc pc)]"
	print_counts tarn-mmsg tarn-ring testpmd
	[ "$keep" = 0 ] || echo "raw outputs in $tmp"
	exit 0
fi
echo "compare-testpmd: io forwarding, 2 ports, lcores $lcores ($((nlc - 1)) forwarding), burst $burst, $len-byte packets, ${duration}s per run, $runs repetition(s)"
echo "  tarn-fwd: 2 cabled ring ports;  dpdk-testpmd: 2 net_ring vdevs, $memdesc"
for i in $(seq 1 "$runs"); do
	if tarn_first "$i"; then
		t=$(run_tarn "$i" 1) || exit 1
		p=$(run_testpmd "$i") || exit 1
		u=$(run_tarn "$i" 0) || exit 1
	else
		u=$(run_tarn "$i" 0) || exit 1
		p=$(run_testpmd "$i") || exit 1
		t=$(run_tarn "$i" 1) || exit 1
	fi
	echo "  run $i: tarn-fwd $t Mpps (bytes counted), $u Mpps (bytes=0); dpdk-testpmd $p Mpps; ratio like for like $(ratio "$u" "$p")"
	record t u p
done
spread_note
echo "tarn-fwd, packets only (bytes=0):   $(fig u) Mpps"
echo "tarn-fwd, packets and bytes:        $(fig t) Mpps"
echo "dpdk-testpmd (net_ring, packets):   $(fig p) Mpps"
echo "ratio tarn/testpmd, like for like:  $(rfig u p)"
echo "ratio tarn/testpmd, tarn with bytes: $(rfig t p)"
[ "$keep" = 0 ] || echo "raw outputs in $tmp"
