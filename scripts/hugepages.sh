#!/usr/bin/env bash
# Reserve 2 MiB hugepages on every NUMA node and mount hugetlbfs for tarn.
#
#   scripts/hugepages.sh [PAGES_PER_NODE]   reserve (default 256 per node), as root
#   scripts/hugepages.sh --status           show per-node counts and mounts
#
# Idempotent: a node that already has PAGES_PER_NODE or more keeps its count
# (never lowered). Mounts hugetlbfs (pagesize=2M) at /dev/hugepages when it is
# not mounted there. Says what it did; exits 1 if a node got fewer pages than
# asked (memory too fragmented or too small: try again early after boot, or
# reserve on the kernel command line: hugepagesz=2M hugepages=N) or anything
# else failed, 3 when the kernel offers no 2 MiB hugepages at all.
set -euo pipefail

size_kb=2048
mnt=/dev/hugepages

node_dirs() {
	local d found=0
	for d in /sys/devices/system/node/node[0-9]*; do
		if [ -d "$d/hugepages/hugepages-${size_kb}kB" ]; then
			echo "$d/hugepages/hugepages-${size_kb}kB"
			found=1
		fi
	done
	if [ $found = 0 ] && [ -d /sys/kernel/mm/hugepages/hugepages-${size_kb}kB ]; then
		echo /sys/kernel/mm/hugepages/hugepages-${size_kb}kB
	fi
}

node_name() {
	case "$1" in
	*/node[0-9]*/*) echo "$1" | sed 's|.*/\(node[0-9]*\)/.*|\1|' ;;
	*) echo "system" ;;
	esac
}

is_mounted() {
	awk -v m="$1" '$2 == m && $3 == "hugetlbfs" { f = 1 } END { exit !f }' /proc/mounts
}

status() {
	local d
	echo "2 MiB hugepages:"
	for d in $(node_dirs); do
		printf '  %-7s %6s reserved, %6s free\n' "$(node_name "$d"):" \
			"$(cat "$d/nr_hugepages")" "$(cat "$d/free_hugepages")"
	done
	echo "hugetlbfs mounts:"
	awk '$3 == "hugetlbfs" { print "  " $2 " (" $4 ")"; n++ } END { if (!n) print "  (none)" }' \
		/proc/mounts
}

case "${1:-}" in
-h | --help)
	sed -n '2,12p' "$0"
	exit 0
	;;
--status)
	status
	exit 0
	;;
esac

want=${1:-256}
if ! [[ "$want" =~ ^[0-9]+$ ]]; then
	echo "hugepages.sh: PAGES_PER_NODE must be a number, got '$want' (see --help)" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "hugepages.sh: must run as root (sudo $0 $want)" >&2
	exit 1
fi
dirs=$(node_dirs)
if [ -z "$dirs" ]; then
	echo "hugepages.sh: the kernel offers no 2 MiB hugepages" >&2
	exit 3
fi

rc=0
for d in $dirs; do
	n=$(node_name "$d")
	have=$(cat "$d/nr_hugepages")
	if [ "$have" -ge "$want" ]; then
		echo "$n: $have pages reserved already (>= $want), unchanged"
		continue
	fi
	if ! echo "$want" 2>/dev/null >"$d/nr_hugepages"; then
		echo "$n: cannot write $d/nr_hugepages" >&2
		rc=1
		continue
	fi
	got=$(cat "$d/nr_hugepages")
	if [ "$got" -lt "$want" ]; then
		echo "$n: asked for $want pages, the kernel gave $got (was $have): memory too fragmented or too small" >&2
		rc=1
	else
		echo "$n: reserved $got pages (was $have)"
	fi
done

if is_mounted "$mnt"; then
	echo "hugetlbfs: already mounted at $mnt"
else
	if mkdir -p "$mnt" && mount -t hugetlbfs -o pagesize=2M none "$mnt"; then
		echo "hugetlbfs: mounted at $mnt (pagesize=2M)"
	else
		echo "hugetlbfs: cannot mount it at $mnt" >&2
		rc=1
	fi
fi
exit $rc
