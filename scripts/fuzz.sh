#!/usr/bin/env bash
# fuzz.sh: run tarn's libFuzzer targets (tests/fuzz: options, spec, mbuf,
# telemetry, pcap, fwd, top).
#
#   scripts/fuzz.sh [-B BUILD] [-t SECONDS] [-j JOBS] [TARGET...]
#       long runs: each target for SECONDS (default 300); new inputs that
#       add coverage are kept in tests/fuzz/corpus/TARGET (commit them), a
#       crash is saved to tests/fuzz/regressions/TARGET/ (commit it: every
#       test run replays it) and reported. BUILD must be a clang build with
#       the fuzz targets (default build-test-clang-asan, what
#       scripts/test.sh builds).
#   scripts/fuzz.sh --ci --bin BINARY TARGET
#       what the meson test runs: replay the regressions and the corpus,
#       then fuzz for 5 seconds into a scratch directory.
#
# Prints "fuzz TARGET: N executions in S s, 0 crashes" per target; exit 0
# when no target crashed, 1 when one did, 2 for a bad option.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build=build-test-clang-asan secs=300 jobs=1 ci=0 bin= targets=()
while [ $# -gt 0 ]; do
	case "$1" in
	-B) build=${2:?}; shift ;;
	-t) secs=${2:?}; shift ;;
	-j) jobs=${2:?}; shift ;;
	--ci) ci=1 ;;
	--bin) bin=${2:?}; shift ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) targets+=("$1") ;;
	esac
	shift
done
for v in secs jobs; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: ${v}: expected a whole number > 0, got '${!v}'" >&2; exit 2; }
done
explicit=${#targets[@]}
[ "$explicit" -gt 0 ] || targets=(options spec mbuf telemetry pcap fwd top)
for t in "${targets[@]}"; do
	[ -d "$root/tests/fuzz/corpus/$t" ] || { echo "fuzz.sh: no target '$t' (options, spec, mbuf, telemetry, pcap, fwd, top)" >&2; exit 2; }
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

crashes=0
for t in "${targets[@]}"; do
	exe=${bin:-$build/tests/fuzz/fuzz_$t}
	if [ ! -x "$exe" ] && [ "$explicit" = 0 ] && [ -x "$build/tests/fuzz/fuzz_options" ]; then
		echo "fuzz $t: skipped (not in this build: fuzz_pcap needs the pcap driver)"
		continue
	fi
	[ -x "$exe" ] || { echo "fuzz.sh: $exe not found: a clang build with the fuzz targets is needed (scripts/test.sh --configs clang-asan)" >&2; exit 1; }
	corpus=$root/tests/fuzz/corpus/$t
	regress=$root/tests/fuzz/regressions/$t
	scratch=$(mktemp -d /tmp/tarn-fuzz-$t.XXXXXX)
	log=$scratch/log
	# 1. Every kept crash and every corpus input, once.
	mapfile -t inputs < <(find "$regress" "$corpus" -type f ! -name README | sort)
	if [ ${#inputs[@]} -gt 0 ] && ! "$exe" -runs=0 "${inputs[@]}" >"$log" 2>&1; then
		echo "fuzz $t: a regression or corpus input fails:"
		tail -30 "$log"
		crashes=$((crashes + 1))
		rm -rf "$scratch"
		continue
	fi
	# 2. Fuzz: new inputs go to the scratch dir (CI) or the corpus (long run).
	if [ "$ci" = 1 ]; then
		run_secs=5 out=$scratch/new
		mkdir -p "$out"
	else
		run_secs=$secs out=$corpus
	fi
	"$exe" -max_total_time="$run_secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$scratch/" -print_final_stats=1 "$out" "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
	found=$(find "$scratch" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | head -1)
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		crashes=$((crashes + 1))
		echo "fuzz $t: CRASH after ${execs:-?} executions:"
		grep -E "ERROR|SUMMARY|==[0-9]+==" "$log" | head -20
		if [ -n "$found" ]; then
			mkdir -p "$regress"
			cp "$found" "$regress/"
			echo "fuzz $t: input saved as tests/fuzz/regressions/$t/$(basename "$found"): fix the bug, keep the file"
		fi
	else
		echo "fuzz $t: ${execs:-0} executions in ${run_secs} s, 0 crashes (${#inputs[@]} kept inputs replayed)"
	fi
	rm -rf "$scratch"
done
[ $crashes -eq 0 ]
