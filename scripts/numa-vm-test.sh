#!/usr/bin/env bash
# Run the numa GoogleTest suite inside a two-node qemu VM
# (../shared/numa-vm/numa-vm, or $NUMA_VM) and print its result: memzones,
# heaps, pools, mbufs and rings on the asked-for node with every memory tier,
# remote get/put from lcores on both nodes, and tarn-fwd's pool placement
# (tests/numa/test_numa_fwd.cc runs the build's tarn-fwd inside the VM).
# The exit status is the test's (numa-vm's own 124/125 on a VM failure).
#
#   scripts/numa-vm-test.sh BUILD_DIR [gtest options...]
#
# BUILD_DIR is a meson build of tarn made on the host (without -march=native:
# the VM's CPU has no AVX-512). Environment: NUMA_VM (path to numa-vm),
# NUMA_VM_TIMEOUT (seconds, default 300), NUMA_VM_HUGEPAGES (2 MiB pages per
# node, default 128).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	sed -n '2,14p' "$0"
	[ $# -ge 1 ] && exit 0 || exit 2
fi
build=$1
shift
bin="$build/tests/numa/test_numa"
if [ ! -x "$bin" ]; then
	echo "numa-vm-test: $bin not found: build first (meson setup $build && ninja -C $build)" >&2
	exit 2
fi
vm=${NUMA_VM:-../shared/numa-vm/numa-vm}
if [ ! -x "$vm" ]; then
	echo "numa-vm-test: numa-vm not found at $vm (set NUMA_VM)" >&2
	exit 2
fi
bin=$(realpath "$bin")
# The XML lands in the build directory (shared read-write with the VM when it
# is below the current directory).
xml="$(realpath "$build")/numa-vm.xml"
rm -f "$xml" # a failed run must not leave an earlier run's results

echo "numa-vm-test: running $bin in a 2-node VM (TCG: expect ~5 s to boot, slow CPU)"
set +e
"$vm" --nodes 2 --cpus-per-node 1 --mem-per-node 1G \
	--hugepages-per-node "${NUMA_VM_HUGEPAGES:-128}" --timeout "${NUMA_VM_TIMEOUT:-300}" -- \
	"$bin" --gtest_output="xml:$xml" "$@"
rc=$?
set -e
case $rc in
0) echo "numa-vm-test: PASSED" ;;
124) echo "numa-vm-test: the VM timed out" ;;
125) echo "numa-vm-test: the VM failed (not the test)" ;;
*) echo "numa-vm-test: FAILED (exit $rc)" ;;
esac
exit $rc
