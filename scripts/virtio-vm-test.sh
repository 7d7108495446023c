#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run the virtio suite (tests/virtio/test_virtio) on the NICs of the test VM
# (../shared/numa-vm/numa-vm, or $NUMA_VM), one boot per pass:
#
#   vfio  numa-vm --nodes 2 --nics 2 --iommu --nic-numa: the cabled pair
#         (0000:00:10.0 on no node, 0000:41:00.0 on node 1) bound to vfio-pci
#         behind the virtual IOMMU, IOVA mode auto (VA), every case; then,
#         with --asan BUILD, that build's traffic, lifecycle and error cases
#         with --iova-mode pa (ASan's shadow holds the low addresses that
#         IOVA as VA needs under the 39-bit IOMMU);
#   uio   numa-vm --nics 2: the pair bound to uio_pci_generic, no IOMMU,
#         IOVA mode auto (PA), both register layouts (transitional NICs):
#         the cases whose path differs without the IOMMU (DMA to physical
#         addresses, the legacy layout, the uio claim, a device left running
#         by a killed process); not those that need the IOMMU or node 1, nor
#         those that test nothing of the transport (the control queue, MTU,
#         queue sizes, address parsing), which the vfio pass runs.
#
# Each boot binds the NICs with scripts/devbind.sh, runs the suite (its XML
# goes to BUILD/virtio-vm-MODE.xml) and gives every device back to its
# driver, checking that the devices are as they were (a failure otherwise).
#
#   scripts/virtio-vm-test.sh BUILD_DIR [--asan ASAN_BUILD_DIR] [--only vfio|uio]
#   scripts/virtio-vm-test.sh --count BUILD_DIR [--asan ASAN_BUILD_DIR] [--only vfio|uio]
#
# --count prints the number of cases the passes run, and runs nothing.
# BUILD_DIR is a meson build made on the host (no -march=native: the VM's CPU
# has no AVX-512), below the current directory (numa-vm shares it
# read-write). Exit 0 when every run passed; numa-vm's 124 (timeout) or 125
# (VM failure) otherwise; 2 for bad usage. Wrap it in flock /tmp/tarn-vm.lock.
# Environment: NUMA_VM, VIRTIO_VM_TIMEOUT (seconds per boot, default 240).
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '3,33p' "$0" | sed 's/^# \{0,1\}//'; }

# The cases of each pass (a gtest filter).
filter_vfio='*'
filter_uio='-Pair.Promiscuous*:Pair.Mtu*:Pair.PoolTooSmall*:Pair.QueueSizes*:Errors.WrongAddresses:Errors.LayoutTheDeviceDoesNotHave:Errors.GroupWith*:Numa.*'
filter_asan='Pair.BytesBothWaysInBursts:Pair.ChainsAreSentWhole:Pair.LargeFrames*:Pair.Clones*:Pair.StopStart*:Errors.*'

# ---------------------------------------------------------------------------
# In the guest: bind, run, restore.
if [ "${1:-}" = --guest ]; then
	mode=$2 build=$3 asan=${4:-}
	VT_T0=${VT_T0:-$EPOCHREALTIME}
	# Where the time goes: seconds since numa-vm was started (VT_T0).
	stamp() {
		local t=$(((${EPOCHREALTIME/./} - ${VT_T0/./}) / 100000))
		echo "virtio-vm-test: $mode: $*: $((t / 10)).$((t % 10)) s"
	}
	stamp "booted"
	devbind=$PWD/scripts/devbind.sh
	nic0=0000:00:10.0
	nic1=0000:00:11.0
	[ -d /sys/bus/pci/devices/0000:41:00.0 ] && nic1=0000:41:00.0
	drv=vfio-pci
	[ "$mode" = uio ] && drv=uio_pci_generic
	before=$("$devbind" --status)
	stamp "devices listed"
	rc=0
	"$devbind" --bind "$drv" "$nic0" "$nic1" || { echo "virtio-vm-test: cannot bind the NICs to $drv"; exit 1; }
	stamp "NICs bound"
	export VT_NIC0=$nic0 VT_NIC1=$nic1 VT_DRIVER=$drv
	# A device the kernel drives: the VM's 9p transport.
	export VT_KERNEL_DEV=0000:00:01.0
	if [ "$mode" = vfio ]; then
		# ICH9's SATA and SMBus functions share an IOMMU group, unbound.
		export VT_GROUP_DEV=0000:00:1f.2 VT_GROUP_PEER=0000:00:1f.3 VT_LAYOUTS=modern
	else
		export VT_LAYOUTS="modern legacy"
	fi
	echo "virtio-vm-test: $mode: $nic0 <-> $nic1 on $drv"
	f=filter_$mode
	"$build/tests/virtio/test_virtio" --gtest_filter="${!f}" --gtest_output="xml:$build/virtio-vm-$mode.xml" || rc=1
	stamp "suite run"
	if [ -n "$asan" ]; then
		echo "virtio-vm-test: $mode: the ASan build, --iova-mode pa"
		TARN_IOVA_MODE=pa ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			"$asan/tests/virtio/test_virtio" --gtest_output="xml:$asan/virtio-vm-$mode-asan.xml" \
			--gtest_filter="$filter_asan" ||
			rc=1
	fi
	# Everything back to its driver: the NICs to virtio-pci, the group's
	# devices (the test unbinds them itself) to none.
	"$devbind" --kernel "$nic0" "$nic1" >/dev/null || rc=1
	# (the group case leaves them as they were unless it failed half-way).
	for g in 0000:00:1f.2 0000:00:1f.3; do
		[ "$mode" = vfio ] && { [ -e /sys/bus/pci/devices/$g/driver ] ||
			[ "$(</sys/bus/pci/devices/$g/driver_override)" != "(null)" ]; } &&
			"$devbind" --kernel "$g" >/dev/null
	done
	after=$("$devbind" --status)
	stamp "devices given back"
	if [ "$before" != "$after" ]; then
		echo "virtio-vm-test: the devices are not as they were:"
		diff <(echo "$before") <(echo "$after")
		rc=1
	else
		echo "virtio-vm-test: $mode: devices restored"
	fi
	exit $rc
fi

# ---------------------------------------------------------------------------
# On the host: the boots.
[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in -h | --help) usage; exit 0 ;; esac
count=0
[ "$1" = --count ] && { count=1; shift; }
[ $# -ge 1 ] || { usage >&2; exit 2; }
build=$1
shift
asan="" only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--asan) [ $# -ge 2 ] || { echo "virtio-vm-test: --asan needs a build directory" >&2; exit 2; }
		asan=$2; shift ;;
	--only) [ $# -ge 2 ] && [[ $2 =~ ^(vfio|uio)$ ]] || { echo "virtio-vm-test: --only vfio or uio" >&2; exit 2; }
		only=$2; shift ;;
	*) echo "virtio-vm-test: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for b in "$build" ${asan:+"$asan"}; do
	[ -x "$b/tests/virtio/test_virtio" ] || { echo "virtio-vm-test: $b/tests/virtio/test_virtio not found: build first (ninja -C $b)" >&2; exit 2; }
	case "$(realpath "$b")/" in
	"$(realpath .)"/*) ;;
	*) echo "virtio-vm-test: $b is not below $(realpath .): the VM could not write its results there" >&2; exit 2 ;;
	esac
done
# ncases BIN FILTER: the cases BIN runs with FILTER.
ncases() { "$1" --gtest_list_tests --gtest_filter="$2" | grep -c '^  '; }
if [ "$count" = 1 ]; then
	n=0
	[ "$only" = uio ] || n=$((n + $(ncases "$build/tests/virtio/test_virtio" "$filter_vfio")))
	[ "$only" = uio ] || [ -z "$asan" ] || n=$((n + $(ncases "$asan/tests/virtio/test_virtio" "$filter_asan")))
	[ "$only" = vfio ] || n=$((n + $(ncases "$build/tests/virtio/test_virtio" "$filter_uio")))
	echo "$n"
	exit 0
fi
build=$(realpath --relative-to=. "$build")
[ -z "$asan" ] || asan=$(realpath --relative-to=. "$asan")
vm=${NUMA_VM:-../shared/numa-vm/numa-vm}
[ -x "$vm" ] || { echo "virtio-vm-test: numa-vm not found at $vm (set NUMA_VM)" >&2; exit 2; }
rm -f "$build"/virtio-vm-*.xml ${asan:+"$asan"/virtio-vm-*.xml}

tmo=${VIRTIO_VM_TIMEOUT:-240}
rc=0
run() {
	local mode=$1 t0 r
	shift
	t0=$(date +%s)
	echo "virtio-vm-test: $mode: booting numa-vm $* (TCG: slow)"
	# no_timer_check: with interrupt remapping (--iommu) the guest kernel
	# checks the timer through the IO-APIC early at boot and panics ("timer
	# doesn't work through Interrupt-remapped IO-APIC") when TCG on a busy
	# host is too slow for it; the check proves nothing about the NICs.
	VT_T0=$EPOCHREALTIME NUMA_VM_APPEND="${NUMA_VM_APPEND:+$NUMA_VM_APPEND }no_timer_check" \
		"$vm" "$@" --timeout "$tmo" -- "$PWD/scripts/virtio-vm-test.sh" --guest "$mode" "$build" \
		$([ "$mode" = vfio ] && echo "$asan")
	r=$?
	case $r in
	0) echo "virtio-vm-test: $mode: PASSED ($(($(date +%s) - t0)) s)" ;;
	124) echo "virtio-vm-test: $mode: the VM timed out after $tmo s" ;;
	125) echo "virtio-vm-test: $mode: the VM failed (not the test)" ;;
	*) echo "virtio-vm-test: $mode: FAILED (exit $r)" ;;
	esac
	[ $r -eq 0 ] || rc=$r
}
[ "$only" = uio ] || run vfio --nodes 2 --cpus-per-node 1 --nics 2 --iommu --nic-numa
[ "$only" = vfio ] || run uio --nodes 1 --cpus-per-node 2 --nics 2
exit $rc
