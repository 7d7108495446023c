#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# netns-run.sh: run a command with veth pairs of its own whose far ends live in
# a network namespace of its own, and remove them all afterwards.
#
#   scripts/netns-run.sh [-n N] [--] COMMAND [ARG...]
#   scripts/netns-run.sh --cleanup
#   scripts/netns-run.sh --help
#
#     -n N        veth pairs to create, 1-16 (default 1)
#     --cleanup   remove what runs that no longer exist left behind (after a
#                 kill -9 or a crash of this script), then exit
#     -h, --help  this text
#
# For a run with process id PID it creates the namespace tarn-ns-PID and the
# pairs tvPIDhI (in the caller's namespace) <-> tvPIDpI (in tarn-ns-PID), I =
# 0..N-1, with IPv6 off on both ends (so the kernel sends nothing on them by
# itself: no router or neighbour solicitations) and both ends up, and runs
# COMMAND (not exec'd: this script stays to clean up) with:
#
#   TARN_NETNS       the namespace (ip netns exec $TARN_NETNS ..., or
#                    setns() on /run/netns/$TARN_NETNS)
#   TARN_VETH_COUNT  N
#   TARN_VETHi       the caller-side end of pair i (i = 0..N-1)
#   TARN_VETHi_PEER  its peer, inside $TARN_NETNS
#
# Every argument after COMMAND is passed as is (meson's --gtest_output=...).
# The namespace and the interfaces are removed when COMMAND ends, fails or is
# killed, and when this script gets SIGINT, SIGTERM or SIGHUP (it passes the
# signal on to COMMAND first). Interfaces COMMAND deleted itself are fine;
# pairs it made itself named tvPIDhK / tvPIDpK (K a number) go too.
#
# When the namespace or the pairs cannot be made, it prints why on stderr,
# leaves the variables above unset and still runs COMMAND, with the reason in
#
#   TARN_NETNS_SKIP   when this machine cannot do it: not root, root without
#                     CAP_NET_ADMIN, a kernel without network namespaces or
#                     veth; the tests skip, saying why (GTEST_SKIP);
#   TARN_NETNS_ERROR  otherwise (root on a machine that can: `ip` missing,
#                     `ip netns add` or `ip link add` failing): a broken
#                     environment; the tests fail with the reason, and this
#                     script exits 1 even if COMMAND exits 0.
#
# Exit: COMMAND's exit status (128 + signal when it was killed), or 1 after a
# TARN_NETNS_ERROR; 2 for a bad option.
set -uo pipefail

usage() { sed -n '3,45p' "$0" | sed 's/^# \{0,1\}//'; }

alive() { [ -d "/proc/$1" ]; }

cleanup_stale() {
	local n=0 name pid
	command -v ip >/dev/null || { echo "netns-run: ip not found" >&2; return 1; }
	for name in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		[[ $name =~ ^tarn-ns-([0-9]+)$ ]] || continue
		pid=${BASH_REMATCH[1]}
		alive "$pid" && continue
		ip netns del "$name" 2>/dev/null && { echo "netns-run: removed namespace $name"; n=$((n + 1)); }
	done
	for name in $(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
		[[ $name =~ ^tv([0-9]+)[hp][0-9]+$ ]] || continue
		pid=${BASH_REMATCH[1]}
		alive "$pid" && continue
		ip link del "$name" 2>/dev/null && { echo "netns-run: removed interface $name"; n=$((n + 1)); }
	done
	echo "netns-run: $n leftover(s) removed"
}

pairs=1
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--cleanup) cleanup_stale; exit $? ;;
	-n)
		[ $# -ge 2 ] || { echo "netns-run: -n needs a number" >&2; exit 2; }
		[[ $2 =~ ^([1-9]|1[0-6])$ ]] || { echo "netns-run: -n '$2': expected 1 to 16" >&2; exit 2; }
		pairs=$2
		shift 2
		;;
	--) shift; break ;;
	-*) echo "netns-run: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "netns-run: no command to run (see --help)" >&2; exit 2; }

id=$$
ns=tarn-ns-$id
made_ns=0
cmd_pid=

cleanup() {
	local name
	[ "$made_ns" = 1 ] || return 0
	# Deleting the namespace deletes the peers and so the pairs; the
	# caller-side ends go explicitly too, with any tv<id>h*/p* pair COMMAND
	# made itself in this namespace (the af_packet tests do).
	ip netns del "$ns" 2>/dev/null
	for name in $(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
		[[ $name =~ ^tv${id}[hp][0-9]+$ ]] && ip link del "$name" 2>/dev/null
	done
	made_ns=0
}

on_signal() {
	local sig=$1 code=$2
	trap - INT TERM HUP
	if [ -n "$cmd_pid" ] && kill -0 "$cmd_pid" 2>/dev/null; then
		kill "-$sig" "$cmd_pid" 2>/dev/null
		wait "$cmd_pid" 2>/dev/null
	fi
	cleanup
	exit "$code"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

clear_vars() {
	local i
	unset TARN_NETNS TARN_VETH_COUNT TARN_NETNS_SKIP TARN_NETNS_ERROR
	for ((i = 0; i < 16; i++)); do unset "TARN_VETH$i" "TARN_VETH${i}_PEER"; done
}

# Why this machine cannot make the namespace and veth pairs, or nothing.
machine_cannot() {
	local eff
	[ "$(id -u)" = 0 ] || { echo "not root (creating a network namespace and veth pairs needs CAP_NET_ADMIN; run as root)"; return; }
	eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
	(( (16#${eff:-0} >> 12) & 1 )) || { echo "root without CAP_NET_ADMIN (a container without it?)"; return; }
	[ -e /proc/self/ns/net ] || { echo "the kernel has no network namespaces (CONFIG_NET_NS)"; return; }
	if [ ! -d /sys/module/veth ] && ! grep -q ' veth_newlink$' /proc/kallsyms 2>/dev/null &&
		! grep -qs '/veth\.ko' "/lib/modules/$(uname -r)/modules.dep" "/lib/modules/$(uname -r)/modules.builtin"; then
		echo "the kernel has no veth driver (CONFIG_VETH)"
	fi
}

netns_error=0
# Cannot make them: a skip when the machine cannot, else an error.
fail_setup() {
	local cannot
	cleanup
	clear_vars
	cannot=$(machine_cannot)
	if [ -n "$cannot" ]; then
		echo "netns-run: $cannot; running the command without veth pairs (its tests skip)" >&2
		export TARN_NETNS_SKIP="$cannot"
	else
		echo "netns-run: $1 (root, and this machine can: a broken environment; the tests fail)" >&2
		export TARN_NETNS_ERROR="netns-run.sh: $1 (root, and this machine has network namespaces and veth: a broken environment, not a skip)"
		netns_error=1
	fi
}

setup() {
	local i h p out cannot
	cannot=$(machine_cannot)
	[ -z "$cannot" ] || { fail_setup "$cannot"; return 1; }
	command -v ip >/dev/null || { fail_setup "the ip command (iproute2) is missing"; return 1; }
	out=$(ip netns add "$ns" 2>&1) || { fail_setup "cannot create network namespace $ns: $out"; return 1; }
	made_ns=1
	ip -n "$ns" link set lo up 2>/dev/null
	for ((i = 0; i < pairs; i++)); do
		h=tv${id}h$i
		p=tv${id}p$i
		out=$(ip link add "$h" type veth peer name "$p" netns "$ns" 2>&1) ||
			{ fail_setup "cannot create veth pair $h/$p: $out"; return 1; }
		if [ -e "/proc/sys/net/ipv6/conf/$h" ]; then
			sysctl -qw "net.ipv6.conf.$h.disable_ipv6=1" >/dev/null 2>&1
			ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$p.disable_ipv6=1" >/dev/null 2>&1
		fi
		ip link set "$h" up && ip -n "$ns" link set "$p" up ||
			{ fail_setup "cannot bring up veth pair $h/$p"; return 1; }
		export "TARN_VETH$i=$h" "TARN_VETH${i}_PEER=$p"
	done
	export TARN_NETNS="$ns" TARN_VETH_COUNT="$pairs"
	return 0
}

clear_vars
setup

"$@" <&0 &
cmd_pid=$!
wait "$cmd_pid"
rc=$?
cmd_pid=
cleanup
[ "$netns_error" = 1 ] && [ "$rc" = 0 ] && rc=1
exit "$rc"
