#!/usr/bin/env bash
# dpdk-safe-plugin.sh PLUGIN COMMAND [ARG...]
#
# DPDK's EAL loads a -d plugin only when no directory on its path is
# world-writable ("EAL: Error, directory path /tmp is world-writable and
# insecure"), and a checkout under /tmp has one. When PLUGIN's path has such
# a directory, this copies the plugin into a private directory that has none
# (/run as root, else $XDG_RUNTIME_DIR or $HOME), runs COMMAND with every
# argument equal to PLUGIN replaced by the copy and TARN_DPDK_PLUGIN set to
# it, and removes the copy afterwards. Otherwise it runs COMMAND with
# TARN_DPDK_PLUGIN=PLUGIN. With TARN_DPDK_CLEAN_PREFIX=NAME set, the EAL's
# runtime directory of file prefix NAME (which DPDK leaves behind) is
# removed when COMMAND ends. Exit: COMMAND's, or 77 (skip) when no safe
# directory can be found.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: dpdk-safe-plugin.sh PLUGIN COMMAND [ARG...]" >&2; exit 2; }
plugin=$1; shift

# Does this path (or a directory above it) have the world-write bit?
unsafe() {
	local p
	p=$(dirname "$(realpath "$1")")
	while :; do
		[ -n "$(find "$p" -maxdepth 0 -perm -o+w 2>/dev/null)" ] && return 0
		[ "$p" = / ] && return 1
		p=$(dirname "$p")
	done
}

use=$plugin dir=
if unsafe "$plugin"; then
	for base in /run "${XDG_RUNTIME_DIR:-}" "${HOME:-}"; do
		[ -n "$base" ] && [ -d "$base" ] && [ -w "$base" ] || continue
		d=$(mktemp -d "$base/tarn-dpdk-plugin.XXXXXX" 2>/dev/null) || continue
		if unsafe "$d/x"; then rmdir "$d"; continue; fi
		dir=$d
		break
	done
	if [ -z "$dir" ]; then
		echo "dpdk-safe-plugin: $plugin is under a world-writable directory, which DPDK refuses, and no private directory was found to copy it to: skipped" >&2
		exit 77
	fi
	trap 'rm -rf "$dir"' EXIT
	use=$dir/$(basename "$plugin")
	cp "$plugin" "$use"
fi
if [ -n "${TARN_DPDK_CLEAN_PREFIX:-}" ]; then
	case $TARN_DPDK_CLEAN_PREFIX in
	*/* | . | ..) echo "dpdk-safe-plugin: TARN_DPDK_CLEAN_PREFIX must be a file prefix" >&2; exit 2 ;;
	esac
	if [ -n "${RUNTIME_DIRECTORY:-}" ]; then rundir=$RUNTIME_DIRECTORY/dpdk
	elif [ "$(id -u)" = 0 ]; then rundir=/var/run/dpdk
	else rundir=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi
	trap 'rm -rf "$rundir/$TARN_DPDK_CLEAN_PREFIX"; [ -z "$dir" ] || rm -rf "$dir"' EXIT
fi
args=()
for a in "$@"; do
	if [ "$a" = "$plugin" ]; then args+=("$use"); else args+=("$a"); fi
done
TARN_DPDK_PLUGIN=$use "${args[@]}"
