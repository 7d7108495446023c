#!/usr/bin/env bash
# soak.sh: the long form of tarn-fwd's soak test (docs/tarn-fwd.md, "Soak
# test"; the short form is Fwd.Soak* in tests/ethdev/test_fwd.cc).
#
#   scripts/soak.sh [-B BUILD] [-d SECONDS] [-l LCORES] [-c CPUS] [-q QUEUES]
#                   [-s SEED] [-p SECONDS] [-- TARN-FWD OPTIONS...]
#
#   -B BUILD    build directory with apps/tarn-fwd/tarn-fwd (default: build)
#   -d SECONDS  how long to run (default 300)
#   -l LCORES   forwarding lcores, threads (default 4)
#   -c CPUS     CPUs they share: the first CPUS this shell may use
#               (default 2; fewer CPUs than lcores is the point)
#   -q QUEUES   RX and TX queues per port (default 2)
#   -s SEED     random seed (default: tarn-fwd takes one from the clock and
#               prints it; give it back with -s to repeat the random choices)
#   -p SECONDS  packet rate printed every SECONDS (default 10)
#   after --     more tarn-fwd options (e.g. --rxd 256 --txd 256, --fwd mac)
#
# Runs tarn-fwd --soak on its four cabled ring ports and prints the command,
# the rates, and at the end the figures: duration, packets moved, lost
# (must be 0) and mbufs in use after the ports closed (must be 0). Exit
# status: tarn-fwd's (0: nothing lost; 1: a check failed, see stderr; 2: a
# bad option).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build=build secs=300 lcores=4 ncpus=2 queues=2 seed= period=10 extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	-B) build=${2:?}; shift ;;
	-d) secs=${2:?}; shift ;;
	-l) lcores=${2:?}; shift ;;
	-c) ncpus=${2:?}; shift ;;
	-q) queues=${2:?}; shift ;;
	-s) seed=${2:?}; shift ;;
	-p) period=${2:?}; shift ;;
	-h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; extra=("$@"); break ;;
	*) echo "soak.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for v in secs lcores ncpus queues period; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "soak.sh: ${v}: expected a whole number > 0, got '${!v}'" >&2; exit 2; }
done
[ -z "$seed" ] || [[ $seed =~ ^[0-9]+$ ]] || { echo "soak.sh: seed: expected a whole number, got '$seed'" >&2; exit 2; }
case "$build" in /*) ;; *) build=$root/$build ;; esac
fwd=$build/apps/tarn-fwd/tarn-fwd
[ -x "$fwd" ] || { echo "soak.sh: $fwd not found: build tarn first (meson setup build && ninja -C build), or give -B" >&2; exit 1; }

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
out=$(mktemp /tmp/tarn-soak.XXXXXX)
trap 'rm -f "$out"' EXIT
"${cmd[@]}" | tee "$out"
rc=${PIPESTATUS[0]}
echo
echo "soak.sh: figures ($lcores forwarding lcores + the main one on $ncpus CPU(s), exit $rc):"
grep '^soak: ' "$out" | sed 's/^/  /'
exit "$rc"
