#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# devbind.sh: hand PCI network devices to user space (vfio-pci or
# uio_pci_generic) and give them back to their kernel driver: what
# dpdk-devbind.py does for a DPDK user, for tarn's PCI drivers.
#
#   scripts/devbind.sh --status                 network devices and devices
#                                               bound to vfio-pci or uio: driver,
#                                               NUMA node, IOMMU group, interface
#   scripts/devbind.sh --bind DRIVER ADDR...    bind to vfio-pci, uio_pci_generic
#                                               or any driver by name
#   scripts/devbind.sh --unbind ADDR...         unbind from its driver (bound to none)
#   scripts/devbind.sh --kernel ADDR...         back to the kernel's own driver
#                                               (driver_override cleared, probed)
#   options: --force  bind even a device whose interface is up
#            -h, --help
#
# ADDR is DDDD:BB:DD.F or BB:DD.F. Binding loads the driver's module when it
# is missing (modprobe), unbinds the device from its driver, sets its
# driver_override and probes it, then checks that it landed on DRIVER.
# A device whose network interface is up (in use by the kernel: addresses,
# routes, a connection you may be using) is refused unless --force. vfio-pci
# needs the IOMMU on (intel_iommu=on or amd_iommu=on on the kernel command
# line) and every device of the IOMMU group bound to vfio-pci or to none:
# --status shows the group, tarn-doctor says what blocks it.
#
# Exit status: 0 done, 1 a device could not be (un)bound (each says why), 2
# bad usage. Needs root for everything but --status. TARN_SYSFS=DIR reads
# another sysfs tree (tests).
set -uo pipefail

sysfs=${TARN_SYSFS:-/sys}
pci=$sysfs/bus/pci
force=0

usage() { sed -n '3,29p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "devbind: $*" >&2; exit 2; }

# Normalise an address to DDDD:BB:DD.F (lower case); empty if malformed.
norm() {
	local a=${1,,}
	[[ $a =~ ^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ ]] && a=0000:$a
	[[ $a =~ ^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$ ]] && echo "$a"
}

# Bash builtins only in what --status runs: in a VM under full emulation
# every program started costs tens of milliseconds.
# rd VAR FILE: the first line of FILE into VAR ("" if unreadable).
rd() {
	local -n _v=$1
	_v=""
	[ -r "$2" ] && IFS= read -r _v <"$2" 2>/dev/null
	return 0
}
# link_base VAR LINK: the last component of the directory LINK points to.
link_base() {
	local -n _l=$1
	_l=""
	[ -L "$2" ] || return 0
	local here=$PWD
	if cd -P "$2" 2>/dev/null; then
		_l=${PWD##*/}
		cd "$here" || true
	fi
}

# The network interface of a device: net/IF, or virtioN/net/IF.
iface_of() {
	local -n _i=$1
	local d=$pci/devices/$2 n
	_i=""
	for n in "$d"/net/* "$d"/virtio*/net/*; do
		[ -e "$n" ] && { _i=${n##*/}; return 0; }
	done
	return 0
}

iommu_state() {
	local g=("$sysfs"/kernel/iommu_groups/*)
	if [ -e "${g[0]}" ]; then
		echo "on (${#g[@]} groups)"
	else
		echo "off (no IOMMU groups: vfio-pci cannot be used; boot with intel_iommu=on or amd_iommu=on, or use uio_pci_generic)"
	fi
}

status() {
	[ -d "$pci/devices" ] || { echo "no PCI bus here ($pci/devices missing)"; return 0; }
	printf '%-13s %-10s %-7s %-16s %-5s %-6s %s\n' ADDRESS VENDOR:DEV CLASS DRIVER NODE GROUP INTERFACE
	local d a cls drv node grp ven dev ifc n=0
	for d in "$pci"/devices/*; do
		[ -e "$d" ] || continue
		a=${d##*/}
		rd cls "$d/class"
		link_base drv "$d/driver"
		case "$cls:$drv" in
		0x02*:* | *:vfio-pci | *:uio_pci_generic | *:igb_uio) ;;
		*) continue ;;
		esac
		rd node "$d/numa_node"
		link_base grp "$d/iommu_group"
		rd ven "$d/vendor"
		rd dev "$d/device"
		iface_of ifc "$a"
		printf '%-13s %-10s %-7s %-16s %-5s %-6s %s\n' "$a" "${ven#0x}:${dev#0x}" \
			"${cls#0x}" "${drv:--}" "${node:--1}" "${grp:--}" "$ifc"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || echo "(no network device, and none bound to vfio-pci or uio)"
	echo "IOMMU: $(iommu_state)"
	[ -d "$pci/drivers/vfio-pci" ] && echo "vfio-pci: loaded" || echo "vfio-pci: not loaded (modprobe vfio-pci)"
	[ -d "$pci/drivers/uio_pci_generic" ] && echo "uio_pci_generic: loaded" || echo "uio_pci_generic: not loaded (modprobe uio_pci_generic)"
}

need_root() {
	[ -w "$pci/drivers_probe" ] || die "needs root (cannot write $pci/drivers_probe)"
}

# Load the module of a driver when sysfs does not know it yet.
load_driver() {
	[ -d "$pci/drivers/$1" ] && return 0
	modprobe "$1" 2>/dev/null
	[ -d "$pci/drivers/$1" ] || { echo "devbind: driver $1 is not available (modprobe $1 failed)" >&2; return 1; }
}

unbind_one() {
	local a=$1 drv
	link_base drv "$pci/devices/$a/driver"
	[ -z "$drv" ] && return 0
	echo "$a" >"$pci/devices/$a/driver/unbind" 2>/dev/null || {
		echo "devbind: $a: cannot unbind from $drv" >&2
		return 1
	}
}

bind_one() {
	local want=$1 a=$2 d=$pci/devices/$2 cur ifc grp
	link_base cur "$d/driver"
	if [ "$cur" = "$want" ]; then
		echo "$a: already bound to $want"
		return 0
	fi
	iface_of ifc "$a"
	if [ -n "$ifc" ] && [ "$force" = 0 ] && ip -o link show dev "$ifc" 2>/dev/null | grep -q '[<,]UP[,>]'; then
		echo "devbind: $a: its interface $ifc is up (the kernel is using it): take it down first (ip link set $ifc down) or use --force" >&2
		return 1
	fi
	load_driver "$want" || return 1
	unbind_one "$a" || return 1
	echo "$want" >"$d/driver_override" || { echo "devbind: $a: cannot set driver_override" >&2; return 1; }
	echo "$a" >"$pci/drivers_probe" 2>/dev/null
	link_base cur "$d/driver"
	if [ "$cur" != "$want" ]; then
		echo "devbind: $a: $want did not take the device (bound to ${cur:-none}; dmesg says why)" >&2
		link_base grp "$d/iommu_group"
		if [ "$want" = vfio-pci ] && [ -z "$grp" ]; then
			echo "devbind: $a: it has no IOMMU group: IOMMU is $(iommu_state)" >&2
		fi
		return 1
	fi
	echo "$a: bound to $want (was $3)"
}

kernel_one() {
	local a=$1 d=$pci/devices/$1 cur now
	link_base cur "$d/driver"
	unbind_one "$a" || return 1
	# An empty line clears the override: the kernel picks its own driver.
	echo >"$d/driver_override" 2>/dev/null
	echo "$a" >"$pci/drivers_probe" 2>/dev/null
	link_base now "$d/driver"
	echo "$a: ${now:+bound to $now}${now:-bound to no driver (the kernel has none for it)} (was ${cur:-none})"
}

[ $# -gt 0 ] || { usage; exit 2; }
action="" driver=""
addrs=()
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	-s | --status) action=status ;;
	-b | --bind)
		[ $# -ge 2 ] || die "--bind needs a driver (vfio-pci or uio_pci_generic)"
		action=bind driver=$2; shift ;;
	--bind=*) action=bind driver=${1#--bind=} ;;
	-u | --unbind) action=unbind ;;
	-k | --kernel) action=kernel ;;
	--force) force=1 ;;
	-*) die "unknown option '$1' (see --help)" ;;
	*)
		a=$(norm "$1")
		[ -n "$a" ] || die "'$1' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)"
		addrs+=("$a") ;;
	esac
	shift
done
[ -n "$action" ] || die "say what to do: --status, --bind DRIVER, --unbind or --kernel"

if [ "$action" = status ]; then
	status
	exit 0
fi
[ ${#addrs[@]} -gt 0 ] || die "--$action needs at least one device address"
[[ $driver =~ ^[A-Za-z0-9_.-]*$ ]] || die "'$driver' is not a driver name"
need_root
rc=0
for a in "${addrs[@]}"; do
	if [ ! -d "$pci/devices/$a" ]; then
		echo "devbind: $a: no such PCI device (see --status)" >&2
		rc=1
		continue
	fi
	link_base cur_before "$pci/devices/$a/driver"
	case "$action" in
	bind) bind_one "$driver" "$a" "${cur_before:-none}" || rc=1 ;;
	unbind)
		unbind_one "$a" && echo >"$pci/devices/$a/driver_override" 2>/dev/null
		link_base now "$pci/devices/$a/driver"
		if [ -z "$now" ]; then
			echo "$a: bound to no driver (was ${cur_before:-none})"
		else
			rc=1
		fi ;;
	kernel) kernel_one "$a" || rc=1 ;;
	esac
done
exit $rc
