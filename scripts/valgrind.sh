#!/usr/bin/env bash
# valgrind.sh: run the GoogleTest suites of a build under valgrind memcheck
# and fail on any memcheck error or definite leak. Hugepages work under
# valgrind; without them the suites run on normal pages, as they do anyway.
#
#   scripts/valgrind.sh [-B BUILD] [--long] [SUITE...]
#     -B BUILD   build directory (default build-test-gcc; a sanitizer build
#                cannot run under valgrind)
#     --long     also the stress tests (minutes) and the suites that mostly
#                drive other programs (exporter, telemetry_apps,
#                adversarial); default: the short form, with tests named
#                *Stress* / *Soak* filtered out (named SUITEs always run)
#     SUITE      suites to run (default: every tests/*/test_* binary there)
#
# The af_packet, af_xdp and fault-drivers suites run through scripts/netns-run.sh (their
# veth pairs). A suite that ran no test is not clean: it counts as an error,
# except without root where a suite whose every case skipped (needs root)
# is listed as skipped.
#
# Prints one line per suite and ends with "valgrind: N suites clean, N with
# errors, N skipped"; exit 0 only when none has errors, 2 for a bad option.
set -uo pipefail
cd "$(dirname "$0")/.."

build=build-test-gcc long=0 suites=()
while [ $# -gt 0 ]; do
	case "$1" in
	-B) [ $# -ge 2 ] || { echo "valgrind.sh: -B needs a directory" >&2; exit 2; }
	    build=$2; shift ;;
	--long) long=1 ;;
	-h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "valgrind.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) suites+=("$1") ;;
	esac
	shift
done
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not installed (apt-get install valgrind)" >&2; exit 1; }
[ -d "$build/tests" ] || { echo "valgrind.sh: $build/tests not found: build first (scripts/test.sh --quick)" >&2; exit 1; }
opts=$build/meson-info/intro-buildoptions.json
if [ -f "$opts" ] && ! python3 -c "import json,sys; o={x['name']: x['value'] for x in json.load(open(sys.argv[1]))}; sys.exit(0 if o.get('b_sanitize', 'none') == 'none' else 1)" "$opts"; then
	echo "valgrind.sh: $build is a sanitizer build: valgrind needs a plain one (-B build-test-gcc)" >&2
	exit 2
fi

bins=()
if [ ${#suites[@]} -eq 0 ]; then
	while IFS= read -r b; do bins+=("$b"); done < <(find "$build/tests" -maxdepth 2 -type f -name 'test_*' -perm -u+x | sort)
else
	for s in "${suites[@]}"; do
		found=0
		while IFS= read -r b; do bins+=("$b"); found=1; done < <(find "$build/tests/$s" -maxdepth 1 -type f -name 'test_*' -perm -u+x 2>/dev/null | sort)
		[ "$found" = 1 ] || { echo "valgrind.sh: no suite '$s' in $build/tests" >&2; exit 2; }
	done
fi

filter='-*Stress*:*Soak*'
[ "$long" = 1 ] && filter='*'
clean=0 dirty=0 skipped=0
log=$(mktemp -d /tmp/tarn-valgrind.XXXXXX)
for b in "${bins[@]}"; do
	name=$(basename "$b")
	case "$name" in
	# test_fwd, test_install and test_dpdk_testpmd run other programs (and
	# need meson's LD_LIBRARY_PATH); test_numa needs two nodes; test_fault
	# counts file descriptors (valgrind opens its own); test_virtio drives
	# the VM's NICs (scripts/virtio-vm-test.sh), none here. test_exporter,
	# test_telemetry_apps and test_adversarial mostly drive other programs
	# (tarn-fwd, tarn-top, tarn-exporter), which valgrind does not follow:
	# a minute of the test command for little; --long runs them too.
	test_fwd|test_install|test_dpdk_testpmd|test_numa|test_fault|test_virtio) continue ;;
	test_exporter|test_telemetry_apps|test_adversarial) [ "$long" = 1 ] || [ ${#suites[@]} -gt 0 ] || continue ;;
	esac
	start=$(date +%s)
	wrap=()
	case "$name" in
	test_dpdk_*) wrap=(scripts/dpdk-safe-plugin.sh "$build/drivers/dpdk/librte_mempool_tarn.so") ;;
	test_af_packet|test_af_xdp|test_fault_drivers) wrap=(scripts/netns-run.sh -n 1) ;;
	esac
	"${wrap[@]}" valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--suppressions=scripts/valgrind.supp "$b" --gtest_filter="$filter" >"$log/$name.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	tests=$(grep -o '\[  PASSED  \] [0-9]* test' "$log/$name.log" | grep -o '[0-9][0-9]*' || echo 0)
	skips=$(grep -o '\[  SKIPPED \] [0-9]* test' "$log/$name.log" | grep -o '[0-9][0-9]*' || echo 0)
	if [ $rc -eq 0 ] && [ "${tests:-0}" -eq 0 ] && [ "${skips:-0}" -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
		skipped=$((skipped + 1))
		printf '  %-22s skipped (all %s tests skipped: not root, %ss)\n' "$name" "$skips" "$secs"
	elif [ $rc -eq 0 ] && [ "${tests:-0}" -eq 0 ]; then
		dirty=$((dirty + 1))
		printf '  %-22s ERRORS (ran zero tests, %ss): %s\n' "$name" "$secs" "$log/$name.log"
		tail -5 "$log/$name.log"
	elif [ $rc -eq 0 ]; then
		clean=$((clean + 1))
		printf '  %-22s clean  (%s tests, %ss)\n' "$name" "$tests" "$secs"
	else
		dirty=$((dirty + 1))
		printf '  %-22s ERRORS (exit %s, %ss): %s\n' "$name" "$rc" "$secs" "$log/$name.log"
		grep -E "^==[0-9]+== (Invalid|Conditional|Use of|[0-9,]+ bytes in)" "$log/$name.log" | head -5
	fi
done
echo "valgrind: $clean suites clean, $dirty with errors, $skipped skipped"
[ "$dirty" -eq 0 ] && rm -rf "$log"
[ "$dirty" -eq 0 ]
