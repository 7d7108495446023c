#!/usr/bin/env bash
# The test command. Installs what is missing (scripts/setup.sh), reserves
# hugepages when root, builds tarn in each configuration with every component
# that setup installs forced on, runs every test meson registers there, runs
# the numa suite in the two-node VM (../shared/numa-vm, or $NUMA_VM) and the
# virtio suite on that VM's NICs (scripts/virtio-vm-test.sh; skipped, saying
# so, where there is no numa-vm), checks that nothing was left behind, and
# ends with one line:
#   N passed, N failed, N skipped
# counting GoogleTest cases, each other test (a plain program or script) as
# one case, and each failure of the command itself as one failed case: a
# configuration whose meson setup or build failed, a registered test that
# did not run, a GoogleTest binary that ran no case, a VM run that failed or
# was not found, hugepages that root could not reserve, and each thing a run
# left behind (scripts/leftovers.py). Exit 0 only when that line says 0 failed.
#
# Configurations (each in build-test-NAME), all with -Werror:
#   gcc         gcc, debugoptimized (-O2 -g), every suite plus the install test
#   clang-asan  clang, ASan + UBSan, -O1, with the fault-injection suite
#   clang-tsan  clang, TSan, -O1 (with the TSan-sized stress tests)
#   clang       clang, debugoptimized            (only with --full or --configs)
#   asan, tsan  the same sanitizers built by gcc  (only with --full or --configs)
#
#   scripts/test.sh                 gcc clang-asan clang-tsan, and the VM
#   scripts/test.sh --full          all six configurations
#   scripts/test.sh --quick         gcc only (and the VM)
#   scripts/test.sh --configs "gcc asan"
#   scripts/test.sh --suites "mem ring"   only these meson suites (numa: the VM too)
#   scripts/test.sh --no-vm         no VM run: the numa and virtio cases count as skipped
#
# A new suite: add its directory to tests/meson.build and register its test()
# with a suite name; this command runs it and expects it from then on (the
# list comes from `meson introspect --tests` of each configuration). If the
# suite belongs to a component this command forces on, also name it in
# `required` below, so that it cannot silently drop out of the build. A
# suite that needs the VM: add a run like the numa one at "VM runs" below.
set -uo pipefail
cd "$(dirname "$0")/.."

configs="gcc clang-asan clang-tsan"
vm=1 suites=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) configs="gcc" ;;
	--full) configs="gcc clang-asan clang-tsan clang asan tsan" ;;
	--configs)
		[ $# -ge 2 ] || { echo "test.sh: --configs needs a list, e.g. --configs \"gcc asan\"" >&2; exit 2; }
		configs="$2"; shift ;;
	--suites)
		[ $# -ge 2 ] || { echo "test.sh: --suites needs a list, e.g. --suites \"mem ring\"" >&2; exit 2; }
		suites="$2"; shift ;;
	--no-vm) vm=0 ;;
	-h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
wanted() { [ -z "$suites" ] || [[ " $suites " == *" $1 "* ]]; }

# The ledger: what no build directory shows (scripts/count-gtest.py).
ledger=build-test.ledger
: >"$ledger"
failed() { printf 'failed\t%s\t%s\n' "$1" "$2" >>"$ledger"; echo "test.sh: FAILED: $2"; }
skipped() { printf 'skipped\t%s\t%s\n' "$1" "$2" >>"$ledger"; echo "test.sh: skipped: $2"; }

# The last line, always: from count-gtest.py, or, if that cannot run, from
# the ledger alone (never a line without the failures).
finish() {
	local out="" crc=127 last n
	if command -v python3 >/dev/null; then
		out=$(python3 scripts/count-gtest.py --ledger "$ledger" 2>&1)
		crc=$?
	fi
	[ -n "$out" ] && printf '%s\n' "$out"
	last=$(printf '%s\n' "$out" | tail -1)
	if [[ ! $last =~ ^[0-9]+\ passed,\ [0-9]+\ failed,\ [0-9]+\ skipped$ ]] || [ $crc -gt 1 ]; then
		n=$(awk -F'\t' '$1 == "failed" { n += $2 } END { print n + 1 }' "$ledger")
		echo "test.sh: scripts/count-gtest.py could not count (exit $crc): one more failure"
		echo "0 passed, $n failed, 0 skipped"
		exit 1
	fi
	[[ $last =~ \ 0\ failed, ]] && [ $crc -eq 0 ] && exit 0
	exit 1
}

# Everything this run starts carries TARN_TEST_RUN (the leftover check finds
# processes by it).
export TARN_TEST_RUN="test.sh-$$-$(date +%s)"
if ! scripts/setup.sh; then
	failed 1 "scripts/setup.sh could not install what the tests need"
	finish
fi
snap=build-test.leftovers.json
python3 scripts/leftovers.py snapshot "$snap" || failed 1 "scripts/leftovers.py snapshot failed"
# As root, the pids of this run (every fork under this script), so that what
# others leave on a shared machine meanwhile is not counted as ours.
tracker=
if [ "$(id -u)" -eq 0 ]; then
	python3 scripts/leftovers.py track "$snap" $$ &
	tracker=$!
	for _ in $(seq 100); do [ -s "$snap.pids" ] && break; sleep 0.1; done
fi

if [ "$(id -u)" -eq 0 ]; then
	scripts/hugepages.sh 256
	case $? in
	0) ;;
	3) echo "test.sh: the kernel offers no 2 MiB hugepages: the hugepage tests skip, saying so" ;;
	*) failed 1 "scripts/hugepages.sh could not reserve 256 hugepages per node (root)" ;;
	esac
else
	echo "test.sh: not root: tests that need root or hugepages skip, saying why"
fi

# Expedited RCU grace periods while the tests run (as root; restored on the
# way out). Closing an AF_PACKET socket, setting up its ring and tearing
# down a veth pair each wait for a grace period (synchronize_net()), which
# this kernel's normal RCU makes about 12 ms: the af_packet fault walk
# (hundreds of sockets) took 60 s instead of 0.6 s. It changes how long the
# kernel waits, not what it does; docs/reliability.md has the figures.
rcu_knob=/sys/kernel/rcu_expedited rcu_was=
if [ "$(id -u)" -eq 0 ] && [ -w "$rcu_knob" ] && rcu_was=$(cat "$rcu_knob" 2>/dev/null) &&
	[ "$rcu_was" = 0 ]; then
	if echo 1 >"$rcu_knob" 2>/dev/null; then
		trap 'echo 0 >"$rcu_knob" 2>/dev/null' EXIT
		echo "test.sh: $rcu_knob set to 1 for the run (restored to 0 at the end)"
	fi
fi

# Every component scripts/setup.sh installs is forced on: a missing one stops
# the configuration (a failure) instead of dropping its suites.
forced=(-Dtests=enabled -Ddpdk=enabled -Daf_packet=enabled -Daf_xdp=enabled -Dpcap=enabled -Dtap=enabled)
# Suites that must be registered in every configuration (their components
# are forced on), and per configuration.
required="env mem ring mempool mbuf ethdev telemetry numa examples docs dpdk af_packet af_xdp tap pcap"
meson_suites=() built=""
for s in $suites; do meson_suites+=(--suite "$s"); done

for c in $configs; do
	dir="build-test-$c"
	asan_opts=(-Db_sanitize=address,undefined -Db_lundef=false)
	tsan_opts=(-Db_sanitize=thread -Db_lundef=false -Dtsan_tests=true)
	need="$required"
	case "$c" in
	gcc) env=(CC=gcc CXX=g++); opts=(-Dwerror=true); need+=" install valgrind scripts" ;;
	clang) env=(CC=clang CXX=clang++); opts=(-Dwerror=true); need+=" install valgrind scripts" ;;
	asan) env=(CC=gcc CXX=g++); opts=(-Dwerror=true "${asan_opts[@]}") ;;
	tsan) env=(CC=gcc CXX=g++); opts=(-Dwerror=true "${tsan_opts[@]}") ;;
	clang-asan) env=(CC=clang CXX=clang++); opts=(-Dwerror=true -Doptimization=1 -Dfault_injection=true "${asan_opts[@]}"); need+=" fault fuzz" ;;
	clang-tsan) env=(CC=clang CXX=clang++); opts=(-Dwerror=true -Doptimization=1 "${tsan_opts[@]}") ;;
	esac
	echo "=== $c: build ($dir)"
	t0=$SECONDS
	if [ -d "$dir" ]; then
		env "${env[@]}" meson setup --reconfigure "$dir" "${opts[@]}" "${forced[@]}" >"$dir.setup.log" 2>&1
	else
		env "${env[@]}" meson setup "$dir" "${opts[@]}" "${forced[@]}" >"$dir.setup.log" 2>&1
	fi || { tail -30 "$dir.setup.log"; failed 1 "$c: meson setup failed ($dir.setup.log)"; continue; }
	if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
		tail -50 "$dir.build.log"; failed 1 "$c: build failed ($dir.build.log)"; continue
	fi
	built+=" $c "
	echo "=== $c: built in $((SECONDS - t0)) s"
	t0=$SECONDS
	find "$dir" -maxdepth 1 -name '*.xml' -delete
	rm -f "$dir/meson-logs/testlog.json"
	echo "=== $c: test"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
	# meson's own status is not needed: count-gtest.py reads every result
	meson test -C "$dir" --num-processes 2 --print-errorlogs "${meson_suites[@]}"
	echo "=== $c: tested in $((SECONDS - t0)) s"
	printf 'build\t%s\t%s\n' "$dir" "${suites// /,}" >>"$ledger"
	printf 'require\t%s\t%s\n' "$dir" "${need// /,}" >>"$ledger"
done

# VM runs: the numa suite on two NUMA nodes, from the gcc build.
if wanted numa && [[ " $configs " == *" gcc "* ]]; then
	bin=build-test-gcc/tests/numa/test_numa
	cases=0
	[ -x "$bin" ] && cases=$("$bin" --gtest_list_tests | grep -c '^  ')
	vmbin=${NUMA_VM:-../shared/numa-vm/numa-vm}
	if [ "$vm" = 0 ]; then
		skipped "$cases" "numa in the two-node VM: not run (--no-vm)"
	elif [[ $built != *" gcc "* ]] || [ ! -x "$bin" ]; then
		echo "test.sh: the gcc build failed: no VM run (its cases are not counted)"
	elif [ ! -x "$vmbin" ]; then
		skipped "$cases" "numa in the two-node VM: not run, no numa-vm at $vmbin"
		failed 1 "numa-vm not found at $vmbin (set NUMA_VM, or --no-vm to run without the VM)"
	else
		echo "=== numa: two-node VM"
		t0=$SECONDS
		# one VM at a time on this machine
		flock "${TARN_VM_LOCK:-/tmp/tarn-vm.lock}" scripts/numa-vm-test.sh build-test-gcc
		vrc=$?
		echo "=== numa: VM run in $((SECONDS - t0)) s"
		if [ -f build-test-gcc/numa-vm.xml ]; then
			printf 'xml\t%s\t%s\n' build-test-gcc/numa-vm.xml "build-test-gcc/numa (two-node VM)" >>"$ledger"
			[ $vrc -eq 0 ] || failed 1 "numa in the two-node VM: exit $vrc"
		else
			skipped "$cases" "numa in the two-node VM: the VM run wrote no results"
			failed 1 "numa in the two-node VM: exit $vrc, no results"
		fi
	fi
fi

# VM runs: the virtio suite on the VM's NICs (scripts/virtio-vm-test.sh: a
# boot with the IOMMU and vfio-pci, the clang-asan build's cases there too
# when it was built, and a boot without it on uio_pci_generic). Where there
# is no numa-vm its cases count as skipped, saying so (the NICs exist only
# in the VM).
if wanted virtio && [[ " $configs " == *" gcc "* ]]; then
	bin=build-test-gcc/tests/virtio/test_virtio
	vargs=()
	[[ $built == *" clang-asan "* ]] && [ -x build-test-clang-asan/tests/virtio/test_virtio ] &&
		vargs=(--asan build-test-clang-asan)
	cases=0
	[ -x "$bin" ] && cases=$(scripts/virtio-vm-test.sh --count build-test-gcc "${vargs[@]}")
	vmbin=${NUMA_VM:-../shared/numa-vm/numa-vm}
	if [ "$vm" = 0 ]; then
		skipped "$cases" "virtio on the VM's NICs: not run (--no-vm)"
	elif [[ $built != *" gcc "* ]] || [ ! -x "$bin" ]; then
		echo "test.sh: the gcc build failed: no virtio VM run (its cases are not counted)"
	elif [ ! -x "$vmbin" ]; then
		skipped "$cases" "virtio on the VM's NICs: SKIPPED, no numa-vm at $vmbin (its emulated NICs are the only ones this suite can drive; set NUMA_VM)"
	else
		echo "=== virtio: the VM's NICs (vfio-pci with the IOMMU, uio_pci_generic without)"
		t0=$SECONDS
		flock "${TARN_VM_LOCK:-/tmp/tarn-vm.lock}" scripts/virtio-vm-test.sh build-test-gcc "${vargs[@]}"
		vrc=$?
		echo "test.sh: virtio VM runs took $((SECONDS - t0)) s"
		n=0
		for x in build-test-gcc/virtio-vm-vfio.xml build-test-gcc/virtio-vm-uio.xml \
			build-test-clang-asan/virtio-vm-vfio-asan.xml; do
			[ -f "$x" ] || continue
			printf 'xml\t%s\t%s\n' "$x" "${x%.xml} (VM)" >>"$ledger"
			n=$((n + 1))
		done
		if [ $n -lt 2 ]; then
			skipped "$cases" "virtio on the VM's NICs: a VM run wrote no results"
			failed 1 "virtio on the VM's NICs: exit $vrc, results missing"
		elif [ $vrc -ne 0 ]; then
			failed 1 "virtio on the VM's NICs: exit $vrc"
		fi
	fi
fi

echo "=== leftovers"
[ -z "$tracker" ] || { kill "$tracker" 2>/dev/null; wait "$tracker" 2>/dev/null; }
if [ -f "$snap" ]; then
	left=$(python3 scripts/leftovers.py check "$snap" --grace "${TARN_LEFTOVER_GRACE:-10}")
	lrc=$?
	while IFS=$'\t' read -r tag what; do
		[ "$tag" = LEFTOVER ] && failed 1 "left behind: $what"
	done <<<"$left"
	case $lrc in
	0) echo "test.sh: nothing left behind" ;;
	1) ;;
	*) failed 1 "scripts/leftovers.py check failed (exit $lrc)" ;;
	esac
	rm -f "$snap" "$snap.pids"
fi

echo "=== results (the whole command: $SECONDS s)"
finish
