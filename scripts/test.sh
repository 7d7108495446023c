#!/usr/bin/env bash
# The test command. Installs what is missing (scripts/setup.sh), reserves
# hugepages when root, builds tarn in each configuration and runs every
# GoogleTest suite in it, runs the numa suite in the two-node VM when
# ../shared/numa-vm is there, and ends with one line:
#   N passed, N failed, N skipped
#
# Configurations (each in build-test-NAME), all with -Werror:
#   gcc         gcc, debugoptimized (-O2 -g), every suite plus the install test
#   clang-asan  clang, ASan + UBSan, -O1, with the fault-injection suite
#   clang-tsan  clang, TSan, -O1 (with the TSan-sized stress tests)
#   clang       clang, debugoptimized            (only with --full or --configs)
#   asan, tsan  the same sanitizers built by gcc  (only with --full or --configs)
#
#   scripts/test.sh                 gcc clang-asan clang-tsan
#   scripts/test.sh --full          all six configurations
#   scripts/test.sh --quick         gcc only
#   scripts/test.sh --configs "gcc asan"
#   scripts/test.sh --no-vm         skip the two-node VM run
set -uo pipefail
cd "$(dirname "$0")/.."

configs="gcc clang-asan clang-tsan"
vm=1
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) configs="gcc" ;;
	--full) configs="gcc clang-asan clang-tsan clang asan tsan" ;;
	--configs)
		[ $# -ge 2 ] || { echo "test.sh: --configs needs a list, e.g. --configs \"gcc asan\"" >&2; exit 2; }
		configs="$2"; shift ;;
	--no-vm) vm=0 ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for c in $configs; do
	case "$c" in
	gcc|clang|asan|tsan|clang-asan|clang-tsan) ;;
	*) echo "test.sh: unknown configuration '$c' (gcc clang asan tsan clang-asan clang-tsan)" >&2; exit 2 ;;
	esac
done

scripts/setup.sh || exit 1
if [ "$(id -u)" -eq 0 ] && [ -x scripts/hugepages.sh ]; then
	scripts/hugepages.sh 256 || echo "test.sh: could not reserve hugepages; hugepage tests will skip"
else
	echo "test.sh: not root: tests that need root or hugepages will say they skip"
fi

dirs=()
rc=0
for c in $configs; do
	dir="build-test-$c"
	asan_opts=(-Db_sanitize=address,undefined -Db_lundef=false)
	tsan_opts=(-Db_sanitize=thread -Db_lundef=false -Dtsan_tests=true)
	case "$c" in
	gcc) env=(CC=gcc CXX=g++); opts=(-Dwerror=true) ;;
	clang) env=(CC=clang CXX=clang++); opts=(-Dwerror=true) ;;
	asan) env=(CC=gcc CXX=g++); opts=(-Dwerror=true "${asan_opts[@]}") ;;
	tsan) env=(CC=gcc CXX=g++); opts=(-Dwerror=true "${tsan_opts[@]}") ;;
	clang-asan) env=(CC=clang CXX=clang++); opts=(-Dwerror=true -Doptimization=1 -Dfault_injection=true "${asan_opts[@]}") ;;
	clang-tsan) env=(CC=clang CXX=clang++); opts=(-Dwerror=true -Doptimization=1 "${tsan_opts[@]}") ;;
	esac
	echo "=== $c: build ($dir)"
	if [ -d "$dir" ]; then
		env "${env[@]}" meson setup --reconfigure "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1
	else
		env "${env[@]}" meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1
	fi || { cat "$dir.setup.log"; echo "test.sh: $c: meson setup failed"; rc=1; continue; }
	if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
		tail -50 "$dir.build.log"; echo "test.sh: $c: build failed"; rc=1; continue
	fi
	find "$dir" -maxdepth 1 -name '*.xml' -delete
	echo "=== $c: test"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
	meson test -C "$dir" --num-processes 2 --print-errorlogs || rc=1
	dirs+=("$dir")
done

if [ "$vm" = 1 ] && [ -d build-test-gcc ] && [ -x scripts/numa-vm-test.sh ]; then
	echo "=== numa: two-node VM"
	scripts/numa-vm-test.sh build-test-gcc || rc=1
fi

echo "=== results"
python3 scripts/count-gtest.py "${dirs[@]}" || rc=1
exit $rc
