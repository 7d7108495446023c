#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# dpdk-plugin-test.sh: the unmodified dpdk-testpmd on tarn's mempool plugin.
#
#   scripts/dpdk-plugin-test.sh [options]
#     -B DIR      tarn build directory (default: build); the plugin is
#                 DIR/drivers/dpdk/librte_mempool_tarn.so
#     -p PATH     the plugin itself (instead of -B)
#     -o OPS      mempool ops: tarn (default) or tarn_stack
#     -d SECONDS  forwarding time (default 2)
#     -H          no hugepages even when some are free (--no-huge -m 256)
#     -k          keep testpmd's output (its path is printed)
#
# Runs testpmd interactively (commands written to its stdin once it shows
# its prompt) on two net_ring vdevs, with EAL options only:
#   --no-pci --vdev=net_ring0 --vdev=net_ring1 -d PLUGIN --mbuf-pool-ops-name OPS
#   -- -i --total-num-mbufs=8192 --mbcache=256
# then: `start tx_first`, io forwarding for the given time, `stop`; txonly
# forwarding for a second (an mbuf allocated per packet, freed when the
# port's ring is full: the pool's get and put at full rate); io forwarding
# started and stopped again (starting flushes the RX queues, so the mbufs
# left in the net_ring queues go back to the pool); `dump_mempool`; `quit`.
# Checks:
#   - testpmd chose the ops ("preferred mempool ops selected: OPS") and its
#     pool uses them (dump_mempool: "ops_name: <OPS>"); the plugin made a
#     tarn store for it (its pmd.mempool.tarn log);
#   - while it forwards, tarn-top (DIR/apps/tarn-top/tarn-top) finds the
#     process by its EAL file prefix (DPDK's socket answers /tarn/socket)
#     and by its pid, and shows mb_pool_0: size, cache size, its two lcore
#     caches, in use + available == size (--once --json);
#   - packets flowed: testpmd's forward statistics show RX-packets > 0 on
#     both ports after io forwarding and TX-total > 0 after txonly;
#   - none leaked: with everything drained, dump_mempool shows, for every
#     pool, total_cache_count + common_pool_count (the plugin's get_count)
#     == size == populated_size;
#   - at quit the plugin freed the store (log: "N objects populated" with
#     N == size, no foreign put refused) and stopped tarn, and testpmd
#     exited with status 0.
# The runtime directory the EAL makes for its file prefix is removed at the
# end.
# testpmd uses hugepages (-m 64 --in-memory) when at least 128 MiB of them
# are free, else --no-huge -m 256. DPDK_TESTPMD names another testpmd
# binary. TARN_DPDK_TEST_PRELOAD, when set, is put in testpmd's LD_PRELOAD
# (the sanitizer runtime of a sanitized plugin; LeakSanitizer is then off
# for testpmd, whose own allocations at exit are not the plugin's).
# Exit: 0 all checks passed, 1 a check failed, 2 bad usage, 77 dpdk-testpmd
# is not installed (a skip for meson and the gtest wrapper).
set -uo pipefail
cd "$(dirname "$0")/.."

build=build plugin="" ops=tarn duration=2 nohuge=0 keep=0
usage() { awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; }
while getopts "B:p:o:d:Hkh" o; do
	case "$o" in
	B) build=$OPTARG ;;
	p) plugin=$OPTARG ;;
	o) ops=$OPTARG ;;
	d) duration=$OPTARG ;;
	H) nohuge=1 ;;
	k) keep=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { echo "dpdk-plugin-test: unexpected argument '$1'" >&2; exit 2; }
[[ $duration =~ ^[1-9][0-9]*$ ]] || { echo "dpdk-plugin-test: -d '$duration': expected a whole number of seconds > 0" >&2; exit 2; }
case "$ops" in
tarn|tarn_stack) ;;
*) echo "dpdk-plugin-test: -o '$ops': expected tarn or tarn_stack" >&2; exit 2 ;;
esac
[ -n "$plugin" ] || plugin=$build/drivers/dpdk/librte_mempool_tarn.so
[ -f "$plugin" ] || { echo "dpdk-plugin-test: $plugin not found: build tarn with libdpdk-dev installed, or give -B/-p" >&2; exit 1; }
plugin=$(realpath "$plugin")
testpmd=${DPDK_TESTPMD:-$(command -v dpdk-testpmd || true)}
[ -n "$testpmd" ] && [ -x "$testpmd" ] ||
	{ echo "dpdk-plugin-test: SKIP: dpdk-testpmd not found${DPDK_TESTPMD:+ at $DPDK_TESTPMD} (apt-get install dpdk)"; exit 77; }

# The first two CPUs we may run on (both lcores on one CPU if there is one).
cpus=($(awk '/^Cpus_allowed_list:/ { n = split($2, r, ","); for (i = 1; i <= n; i++) {
	k = split(r[i], ab, "-"); for (c = ab[1]; c <= (k == 2 ? ab[2] : ab[1]); c++) print c } }' /proc/self/status | head -2))
[ ${#cpus[@]} -ge 1 ] || cpus=(0)
if [ ${#cpus[@]} -ge 2 ]; then
	lcores="0@${cpus[0]},1@${cpus[1]}"
else
	lcores="0@${cpus[0]},1@${cpus[0]}"
fi
free_mb=$(awk '/HugePages_Free/ { f = $2 } /Hugepagesize/ { s = $2 } END { print int(f * s / 1024) }' /proc/meminfo)
if [ "$nohuge" = 0 ] && [ "${free_mb:-0}" -ge 128 ]; then
	mem=(-m 64 --in-memory)
else
	mem=(--no-huge -m 256 --no-shconf)
fi

tmp=$(mktemp -d /tmp/dpdk-plugin-test.XXXXXX)
out=$tmp/testpmd.out
pid=""
eal_prefix=tarn-plugin-test-$$
# The EAL's runtime directory for the prefix (DPDK leaves it behind).
if [ -n "${RUNTIME_DIRECTORY:-}" ]; then rundir=$RUNTIME_DIRECTORY/dpdk
elif [ "$(id -u)" = 0 ]; then rundir=/var/run/dpdk
else rundir=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi
cleanup() {
	local base
	exec 3>&- 2>/dev/null
	[ -z "$pid" ] || { kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
	rm -rf "${rundir:?}/$eal_prefix"
	if [ "$keep" = 1 ]; then echo "dpdk-plugin-test: testpmd output in $out"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
mkfifo "$tmp/in"

cmd=("$testpmd" --lcores "$lcores" --no-pci "${mem[@]}" --file-prefix "$eal_prefix"
	--log-level=lib.eal:error --log-level=pmd.mempool.tarn:info
	--vdev=net_ring0 --vdev=net_ring1 -d "$plugin" --mbuf-pool-ops-name "$ops"
	-- -i --total-num-mbufs=8192 --mbcache=256 --burst=32 --no-lsc-interrupt)
echo "dpdk-plugin-test: ${cmd[*]}"
if [ -n "${TARN_DPDK_TEST_PRELOAD:-}" ]; then
	LD_PRELOAD=$TARN_DPDK_TEST_PRELOAD ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0" \
		"${cmd[@]}" <"$tmp/in" >"$out" 2>&1 &
else
	"${cmd[@]}" <"$tmp/in" >"$out" 2>&1 &
fi
pid=$!
exec 3>"$tmp/in"

# tarn-top's JSON: mb_pool_0 of 8192 objects, 2 lcore caches of 256, and
# in use + available == size.
topcheck='
import json, sys
j = json.loads(sys.stdin.read())
p = [p for p in j["pools"] if p["name"] == "mb_pool_0"]
assert p, "no mb_pool_0"
p = p[0]
assert p["size"] == 8192, p
assert p["cache_size"] == 256, p
assert p["in_use"] + p["avail"] == 8192, p
assert len(p["caches"]) == 2, p
'
fail=0
ok() { echo "  ok: $*"; }
bad() { echo "  FAIL: $*"; fail=1; }
# wait_for PATTERN COUNT SECONDS: until testpmd's output holds PATTERN COUNT times.
wait_for() {
	local t=0
	while [ "$(grep -c -- "$1" "$out" 2>/dev/null)" -lt "$2" ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		[ $t -lt $(($3 * 10)) ] || return 1
		sleep 0.1
		t=$((t + 1))
	done
}
send() { echo "$1" >&3; }
abort() {
	bad "$1"
	echo "--- last lines of testpmd's output:"
	tail -30 "$out" | tr -d '\033'
	exit 1
}

# testpmd writes its prompt straight to the terminal but buffers the rest
# of its output when it is not a terminal: wait for the prompt, then give
# the commands in order (testpmd runs them one after the other; `stop`
# returns once forwarding has stopped).
wait_for "testpmd> " 1 60 || abort "testpmd did not reach its prompt within 60 s"
send "start tx_first"
sleep "$duration"
# tarn-top finds the DPDK process by its EAL prefix and shows the pool.
top=$build/apps/tarn-top/tarn-top
topjson=""
if [ -x "$top" ]; then
	topjson=$("$top" -f "$eal_prefix" --once --json 2>&1)
	topjson_pid=$("$top" --pid "$pid" --once --json 2>&1)
fi
send "stop"
send "set fwd txonly"
send "start"
sleep 1
send "stop"
send "set fwd io"
send "start"
sleep 0.2
send "stop"
send "dump_mempool"
send "quit"
exec 3>&-
rc=0
for _ in $(seq 1 600); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	bad "testpmd did not exit within 60 s of quit"
else
	wait "$pid"
	rc=$?
fi
pid=""
clean=$(tr -d '\033\r' <"$out")

echo "dpdk-plugin-test: ops $ops, lcores $lcores, ${mem[*]}, ${duration}s of io forwarding"
grep -q "preferred mempool ops selected: $ops\$" <<<"$clean" &&
	ok "testpmd selected mempool ops $ops" || bad "testpmd did not select mempool ops $ops"
if [ "$ops" = tarn ]; then store="tarn ring"; else store="tarn's lock-free stack"; fi
grep -q "pool mb_pool_0 (8192 objects, cache 256) is backed by $store" <<<"$clean" &&
	ok "the plugin made a tarn store for mb_pool_0 ($store)" || bad "no 'pool mb_pool_0 (...) is backed by $store' line from the plugin"
if [ ! -x "$top" ]; then
	echo "  (tarn-top not built in $build: its check is left out)"
elif python3 -c "$topcheck" <<<"$topjson"; then
	ok "tarn-top -f $eal_prefix shows mb_pool_0 (size, cache size, its 2 lcore caches, in use + available == size)"
else
	bad "tarn-top -f $eal_prefix: $(head -c 300 <<<"$topjson")"
fi
if [ -x "$top" ] && python3 -c "$topcheck" <<<"$topjson_pid"; then
	ok "tarn-top --pid shows mb_pool_0 too"
elif [ -x "$top" ]; then
	bad "tarn-top --pid: $(head -c 300 <<<"$topjson_pid")"
fi

# RX-packets of each port in the first statistics block (io forwarding),
# TX-total in the second (txonly: an mbuf taken from the pool for each, and
# put back at once for the TX-dropped ones).
read -r rx0 rx1 tx0 tx1 <<<"$(awk '
	/Forward statistics for port/ { port = $6; if (port == 0) blk++ }
	/RX-packets:/ && port != "" { rx[blk, port] = $2 }
	/TX-packets:/ && port != "" { tx[blk, port] = $6; port = "" }
	function n(v) { return v ~ /^[0-9]+$/ ? v : 0 } # the digits as printed: mawk
	# writes a number above 2^31 as 2.16747e+09
	END { print n(rx[1, 0]), n(rx[1, 1]), n(tx[2, 0]), n(tx[2, 1]) }' <<<"$clean")"
if [ "${rx0:-0}" -gt 0 ] && [ "${rx1:-0}" -gt 0 ]; then
	ok "io forwarding: RX-packets port 0 $rx0, port 1 $rx1"
else
	bad "no packets forwarded (RX-packets port 0 ${rx0:-?}, port 1 ${rx1:-?})"
fi
if [ "${tx0:-0}" -gt 0 ] && [ "${tx1:-0}" -gt 0 ]; then
	ok "txonly: TX-total (mbufs got from the pool) port 0 $tx0, port 1 $tx1"
else
	bad "txonly sent nothing (TX-total port 0 ${tx0:-?}, port 1 ${tx1:-?})"
fi
# Every pool in dump_mempool: caches + store == size == populated_size.
pools=$(awk '
	/^mempool </ { name = $2; sub(/@.*/, "", name); gsub(/[<>]/, "", name) }
	/^  size=/ { split($0, a, "="); size[name] = a[2] }
	/populated_size=/ { split($0, a, "="); pop[name] = a[2] }
	/ops_name:/ { ops[name] = $2 }
	/total_cache_count=/ { split($0, a, "="); cache[name] = a[2] }
	/common_pool_count=/ { split($0, a, "="); common[name] = a[2] }
	END { for (n in size) printf "%s %s %s %s %d %d\n", n, ops[n], size[n], pop[n], cache[n], common[n] }' <<<"$clean")
[ -n "$pools" ] || bad "dump_mempool listed no pool"
while read -r name pops size pop cache common; do
	[ -n "$name" ] || continue
	[ "$pops" = "<$ops>" ] && ok "$name uses ops $pops" || bad "$name uses ops $pops, not <$ops>"
	if [ "$((cache + common))" -eq "$size" ] && [ "$pop" -eq "$size" ]; then
		ok "$name: no mbuf leaked: $cache in lcore caches + $common in the tarn store == size $size"
	else
		bad "$name: $cache in lcore caches + $common in the store != size $size (populated $pop)"
	fi
done <<<"$pools"
freed=$(grep -o "pool mb_pool_0: store [^ ]* freed: [0-9]* objects populated.*refused" <<<"$clean" | head -1)
if grep -q "freed: 8192 objects populated.* 0 foreign put(s) refused" <<<"$freed"; then
	ok "at quit the plugin freed the store (${freed#*freed: })"
else
	bad "no free of mb_pool_0's store with 8192 objects populated and no foreign put (got: '${freed:-nothing}')"
fi
grep -q "the last pool on the tarn ops was freed: stopping tarn" <<<"$clean" &&
	ok "the plugin stopped tarn after the last pool" || bad "the plugin did not say it stopped tarn"
if grep -qE "ERROR|AddressSanitizer|runtime error|ThreadSanitizer" <<<"$clean"; then
	bad "errors in testpmd's output:"
	grep -E "ERROR|AddressSanitizer|runtime error|ThreadSanitizer" <<<"$clean" | head -5
fi
[ "$rc" -eq 0 ] && ok "testpmd exited with status 0" || bad "testpmd exited with status $rc"
if [ "$fail" != 0 ]; then
	echo "--- last lines of testpmd's output:"
	tail -30 <<<"$clean"
	echo "dpdk-plugin-test: FAILED"
	exit 1
fi
echo "dpdk-plugin-test: PASSED"
