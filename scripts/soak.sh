#!/usr/bin/env bash
# soak.sh: the long forms of the soak tests: the mempool store harness under
# preemption (docs/reliability.md, "The stores under preemption"; the short
# form is the test mempool-harness) and tarn-fwd's soak (docs/tarn-fwd.md,
# "Soak test"; the short form is Fwd.Soak* in tests/ethdev/test_fwd.cc).
#
#   scripts/soak.sh [-B BUILD] [-S SECONDS] [-d SECONDS] [-l LCORES] [-c CPUS]
#                   [-q QUEUES] [-s SEED] [-p SECONDS] [-- TARN-FWD OPTIONS...]
#
#   -B BUILD    build directory with apps/tarn-fwd/tarn-fwd and
#               tests/mempool/test_mempool_harness (default: build)
#   -S SECONDS  store harness first: SECONDS per store kind, six kinds
#               (ring_mp_mc, ring_sp_sc, ring_sp_mc, ring_mp_sc, ring_rts,
#               stack; default 30, i.e. 3 minutes; 0: no store harness)
#   -d SECONDS  how long tarn-fwd's soak runs (default 300; 0: no tarn-fwd
#               soak, the store harness only)
#   -l LCORES   forwarding lcores, threads (default 4)
#   -c CPUS     CPUs they share: the first CPUS this shell may use
#               (default 2; fewer CPUs than lcores is the point)
#   -q QUEUES   RX and TX queues per port (default 2)
#   -s SEED     random seed of both (default: each takes one from the clock
#               and prints it; give it back with -s to repeat the random
#               choices, not the threads' timing)
#   -p SECONDS  packet rate printed every SECONDS (default 10)
#   after --     more tarn-fwd options (e.g. --rxd 256 --txd 256, --fwd mac)
#
# The store harness: more threads than CPUs get and put random bulks on
# small pools of every store kind, exit, unregister and flush their caches,
# stall at the ring's ordering points, and every ~50 ms the pool is checked
# (tarn_mempool_check(): no object lost) against what the threads hold; it
# prints one line of figures per kind.
# tarn-fwd's soak: tarn-fwd --soak on its four cabled ring ports; prints the
# command, the rates, and at the end the figures: duration, packets moved,
# lost (must be 0) and mbufs in use after the ports closed (must be 0).
# Exit status: 0 when both passed; 1 when a check failed (see stderr);
# 2: a bad option.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build=build stores=30 secs=300 lcores=4 ncpus=2 queues=2 seed= period=10 extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	-B) build=${2:?}; shift ;;
	-S) stores=${2:?}; shift ;;
	-d) secs=${2:?}; shift ;;
	-l) lcores=${2:?}; shift ;;
	-c) ncpus=${2:?}; shift ;;
	-q) queues=${2:?}; shift ;;
	-s) seed=${2:?}; shift ;;
	-p) period=${2:?}; shift ;;
	-h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; extra=("$@"); break ;;
	*) echo "soak.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for v in lcores ncpus queues period; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "soak.sh: ${v}: expected a whole number > 0, got '${!v}'" >&2; exit 2; }
done
[[ $stores =~ ^(0|[1-9][0-9]{0,5})$ ]] || { echo "soak.sh: -S: expected whole seconds per store kind, 0 to 999999, got '$stores'" >&2; exit 2; }
[[ $secs =~ ^(0|[1-9][0-9]{0,8})$ ]] || { echo "soak.sh: -d: expected whole seconds, 0 to 999999999, got '$secs'" >&2; exit 2; }
[ "$stores" -gt 0 ] || [ "$secs" -gt 0 ] || { echo "soak.sh: -S 0 and -d 0: nothing to run" >&2; exit 2; }
[ -z "$seed" ] || [[ $seed =~ ^[0-9]+$ ]] || { echo "soak.sh: seed: expected a whole number, got '$seed'" >&2; exit 2; }
case "$build" in /*) ;; *) build=$root/$build ;; esac
fwd=$build/apps/tarn-fwd/tarn-fwd
harness=$build/tests/mempool/test_mempool_harness
[ "$secs" -eq 0 ] || [ -x "$fwd" ] || { echo "soak.sh: $fwd not found: build tarn first (meson setup build && ninja -C build), or give -B" >&2; exit 1; }
[ "$stores" -eq 0 ] || [ -x "$harness" ] || { echo "soak.sh: $harness not found: build tarn with its tests (meson setup build -Dtests=enabled && ninja -C build), or give -B, or -S 0" >&2; exit 1; }
out=$(mktemp /tmp/tarn-soak.XXXXXX)
trap 'rm -f "$out" "$out.h"' EXIT

# The store harness (the test mempool-harness, longer).
hrc=0
if [ "$stores" -gt 0 ]; then
	echo "soak.sh: TARN_HARNESS_SECS=$stores${seed:+ TARN_HARNESS_SEED=$seed} $harness"
	env TARN_HARNESS_SECS=$stores ${seed:+TARN_HARNESS_SEED=$seed} "$harness" | tee "$out.h"
	hrc=${PIPESTATUS[0]}
	[ "$hrc" -eq 0 ] || hrc=1
	echo
	echo "soak.sh: store harness figures ($stores s per store kind, exit $hrc):"
	grep '^harness ' "$out.h" | sed 's/^/  /'
	[ "$secs" -gt 0 ] || exit "$hrc"
	echo
fi

# The CPUs this shell may use, from Cpus_allowed_list (e.g. 0-3,8).
cpus=()
IFS=, read -ra ranges < <(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)
for r in "${ranges[@]}"; do
	a=${r%-*} b=${r#*-}
	for ((c = a; c <= b; c++)); do cpus+=("$c"); done
done
[ ${#cpus[@]} -gt 0 ] || cpus=(0)
[ "$ncpus" -le ${#cpus[@]} ] || ncpus=${#cpus[@]}
# lcore 0 is the main lcore; 1..LCORES forward; all spread over the CPUs.
list=
for ((i = 0; i <= lcores; i++)); do
	list+="${list:+,}$i@${cpus[i % ncpus]}"
done

cmd=("$fwd" --file-prefix "tarn-soak-$$" --lcores "$list" --soak --duration "$secs"
	--rxq "$queues" --txq "$queues" --stats-period "$period")
[ -z "$seed" ] || cmd+=(--seed "$seed")
cmd+=("${extra[@]}")
echo "soak.sh: ${cmd[*]}"
"${cmd[@]}" | tee "$out"
rc=${PIPESTATUS[0]}
echo
[ "$stores" -eq 0 ] || { echo "soak.sh: store harness figures ($stores s per store kind, exit $hrc):"; grep '^harness ' "$out.h" | sed 's/^/  /'; }
echo "soak.sh: figures ($lcores forwarding lcores + the main one on $ncpus CPU(s), exit $rc):"
grep '^soak: ' "$out" | sed 's/^/  /'
[ "$rc" -ne 0 ] || rc=$hrc
exit "$rc"
