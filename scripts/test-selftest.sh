#!/usr/bin/env bash
# test-selftest.sh: the test command's own test. Runs scripts/test.sh (a copy,
# in a temporary directory) against fake meson, ninja, setup, hugepages and
# numa-vm programs whose suites pass, fail, skip, vanish or leave things
# behind, and checks that its last line counts every failure and that its
# exit status agrees; then scripts/count-gtest.py's corner cases, and
# scripts/netns-run.sh with an `ip` that fails (root: a failure, not a skip).
# Takes a few seconds; meson runs it as the test 'test-command' (suite
# 'scripts').
#
#   scripts/test-selftest.sh [-v]     -v: show each run's output
#
# Prints one line per check and ends with "test-selftest: N passed, N failed,
# N skipped"; exit 0 when none failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
verbose=0
[ "${1:-}" = -v ] && verbose=1
[ "${1:-}" = -h ] || [ "${1:-}" = --help ] && { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

tmp=$(mktemp -d /tmp/tarn-test-selftest.XXXXXX)
[ -n "${SELFTEST_KEEP:-}" ] && echo "test-selftest: in $tmp"
leaked_pids=()
cleanup() {
	local p
	for p in "${leaked_pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
	[ -n "${huge_leak:-}" ] && rm -f "$huge_leak"
}
trap cleanup EXIT

npass=0 nfail=0 nskip=0
pass() { npass=$((npass + 1)); echo "  ok    $*"; }
fail() { nfail=$((nfail + 1)); echo "  FAIL  $*"; }
skip() { nskip=$((nskip + 1)); echo "  skip  $*"; }

# ---------------------------------------------------------------------------
# A repository of the test command's scripts with fake tools.
root=$tmp/repo
mkdir -p "$root/scripts" "$tmp/bin"
cp "$here/test.sh" "$here/count-gtest.py" "$here/leftovers.py" "$here/numa-vm-test.sh" \
	"$here/netns-run.sh" "$root/scripts/"
chmod 755 "$tmp" "$root" "$root/scripts" # the non-root run of netns-run.sh below
cat >"$root/scripts/setup.sh" <<'EOF'
#!/usr/bin/env bash
[ -z "${FAKE_SETUP_FAIL:-}" ] || { echo "setup: apt-get failed (fake)"; exit 1; }
echo "setup: all packages present (fake)"
EOF
cat >"$root/scripts/hugepages.sh" <<'EOF'
#!/usr/bin/env bash
exit "${FAKE_HUGEPAGES_RC:-0}"
EOF
# meson: `setup [--reconfigure] DIR OPTS...` writes the registered tests of
# $FAKE_PLAN (unless it says setup fails) and records the options;
# `test -C DIR [--suite S]...` writes testlog.json and the XMLs.
cat >"$tmp/bin/meson" <<'EOF'
#!/usr/bin/env python3
import json, os, subprocess, sys
plan = json.load(open(os.environ["FAKE_PLAN"]))
a = sys.argv[1:]
if a[0] == "setup":
    a = [x for x in a[1:] if x != "--reconfigure"]
    d = a[0]
    with open(os.environ["FAKE_PLAN"] + ".setup-args", "a") as fh:
        fh.write(" ".join(a[1:]) + "\n")
    if plan.get("setup_fail"):
        print("meson.build:46:2: ERROR: Dependency \"gtest\" not found (fake)")
        sys.exit(1)
    os.makedirs(os.path.join(d, "meson-info"), exist_ok=True)
    os.makedirs(os.path.join(d, "meson-logs"), exist_ok=True)
    os.makedirs(os.path.join(d, "tests", "numa"), exist_ok=True)
    reg = [{"name": t["name"], "suite": ["tarn:" + t["suite"]],
            "protocol": t.get("protocol", "gtest")} for t in plan["tests"]]
    json.dump(reg, open(os.path.join(d, "meson-info", "intro-tests.json"), "w"))
    numa = os.path.join(d, "tests", "numa", "test_numa")
    with open(numa, "w") as fh:
        fh.write("#!/bin/sh\n"
                 "case \"$1\" in --gtest_list_tests) printf 'Numa.\\n  A\\n  B\\n  C\\n' ;;\n"
                 "--gtest_output=xml:*) f=${1#--gtest_output=xml:}; printf '<testsuites><testsuite>"
                 "<testcase name=\"A\"/><testcase name=\"B\"/><testcase name=\"C\"/>"
                 "</testsuite></testsuites>' > \"$f\" ;; esac\n")
    os.chmod(numa, 0o755)
    sys.exit(0)
if a[0] == "test":
    d = a[a.index("-C") + 1]
    only = [a[i + 1] for i, x in enumerate(a) if x == "--suite"]
    with open(os.path.join(d, "meson-logs", "testlog.json"), "w") as log:
        for t in plan["tests"]:
            if only and t["suite"] not in only or not t.get("runs", True):
                continue
            log.write(json.dumps({"name": "tarn:%s / %s" % (t["suite"], t["name"]),
                                  "result": t.get("result", "OK"),
                                  "stdout": t.get("stdout", "")}) + "\n")
            c = t.get("cases")
            if c is not None:
                x = "<testsuites><testsuite>"
                x += "<testcase name=\"p\"/>" * c.get("pass", 0)
                x += "<testcase name=\"f\"><failure message=\"boom\"/></testcase>" * c.get("fail", 0)
                x += ("<testcase name=\"s\" result=\"skipped\"><skipped message=\"x.cc:1\n%s\"/>"
                      "</testcase>" % c.get("why", "no veth")) * c.get("skip", 0)
                x += "</testsuite></testsuites>"
                open(os.path.join(d, t["name"] + ".xml"), "w").write(x)
    if plan.get("leak_process"):
        p = subprocess.Popen(["sleep", "60"], start_new_session=True, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open(os.environ["FAKE_PLAN"] + ".leaked", "w").write(str(p.pid))
    if plan.get("leak_huge"):
        # named after a process of the run that is gone, as a killed one's
        p = subprocess.Popen(["true"])
        p.wait()
        name = plan["leak_huge"].replace("PID", str(p.pid))
        open(name, "w").close()
        open(os.environ["FAKE_PLAN"] + ".leaked-huge", "w").write(name)
    if plan.get("other_huge"):
        open(plan["other_huge"], "w").close()
    sys.exit(1 if any(t.get("result", "OK") not in ("OK", "SKIP") for t in plan["tests"]) else 0)
sys.exit(2)
EOF
cat >"$tmp/bin/ninja" <<'EOF'
#!/bin/sh
[ -z "${FAKE_BUILD_FAIL:-}" ] || { echo "FAILED: lib/env/env.c.o (fake)"; exit 1; }
exit 0
EOF
# numa-vm: runs the command (the fake test_numa writes its XML) and exits
# $FAKE_VM_RC, or, with FAKE_VM_RC=125, fails before running it.
cat >"$tmp/bin/numa-vm" <<'EOF'
#!/bin/sh
while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
shift
[ "${FAKE_VM_RC:-0}" = 125 ] && { echo "numa-vm: the guest died (fake)"; exit 125; }
"$@"
exit "${FAKE_VM_RC:-0}"
EOF
chmod +x "$root/scripts/"*.sh "$tmp/bin/"*

# The suites of a healthy gcc configuration: one per suite the test command
# requires there (read from test.sh), two passing cases each; numa has one
# passing and two skipping (one NUMA node), and the VM runs its 3 cases.
# MODS changes some: SUITE=drop (not registered), zero (no case), skip77
# (the wrapper exits 77), crash (FAIL after passing cases), norun (registered,
# did not run), fail2 (two failed cases of three).
req=$(sed -n 's/^required="\(.*\)"$/\1/p' "$here/test.sh")
req+=" $(sed -n 's/^\tgcc) .*need+=" \(.*\)" ;;$/\1/p' "$here/test.sh")"
nreq=$(wc -w <<<"$req")
[ "$nreq" -gt 10 ] || { echo "test-selftest: cannot read the required suites from test.sh ($req)"; exit 1; }
P=$((2 * (nreq - 1) + 1)) # passed on the host
plan() {
	python3 - "$1" "$2" "$req" "${MODS:-}" <<'PY'
import json, sys
out, extra, req, mods = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
mods = dict(m.split("=") for m in mods)
tests = []
for s in req:
    t = {"name": s, "suite": s, "cases": {"pass": 2}}
    if s == "numa":
        t["cases"] = {"pass": 1, "skip": 2, "why": "needs 2 NUMA nodes"}
    m = mods.get(s)
    if m == "drop":
        continue
    if m == "zero":
        t["cases"] = {}
    if m == "skip77":
        t = {"name": s, "suite": s, "result": "SKIP", "stdout": "no private directory: skipped"}
    if m == "crash":
        t["result"] = "FAIL"
    if m == "norun":
        t["runs"] = False
    if m == "fail2":
        t.update(result="FAIL", cases={"pass": 1, "fail": 2})
    tests.append(t)
plan = {"tests": tests}
plan.update(json.loads("{" + extra.lstrip(", ") + "}"))
json.dump(plan, open(out, "w"))
PY
}

# Leftovers the runs below count: their own (others may use this machine
# meanwhile and leave things of theirs).
only='sleep 60|tarn-selftest\.'

# run_case NAME WANT_LINE WANT_RC [PLAN_EXTRA] [ENV...]: run the copied
# test.sh --quick with the plan; check its last line and exit status.
run_case() {
	local name=$1 want=$2 want_rc=$3 extra=${4:-} out rc last
	shift 4 2>/dev/null || shift $#
	rm -rf "$root/build-test-gcc" "$root"/build-test.*
	plan "$tmp/plan" "$extra" || { fail "$name: cannot write the plan"; return; }
	rm -f "$tmp/plan.setup-args" "$tmp/plan.leaked"
	out=$(cd "$root" && env PATH="$tmp/bin:$PATH" FAKE_PLAN="$tmp/plan" NUMA_VM="$tmp/bin/numa-vm" \
		TARN_VM_LOCK="$tmp/vm.lock" TARN_LEFTOVER_GRACE=0.5 TARN_LEFTOVER_ONLY="$only" "$@" \
		scripts/test.sh --quick 2>&1)
	rc=$?
	[ -f "$tmp/plan.leaked" ] && leaked_pids+=("$(cat "$tmp/plan.leaked")")
	last=$(printf '%s\n' "$out" | tail -1)
	[ "$verbose" = 1 ] && printf '%s\n' "$out" | sed 's/^/      | /'
	if [ "$last" = "$want" ] && [ "$rc" = "$want_rc" ]; then
		pass "$name: \"$last\", exit $rc"
	else
		fail "$name: got \"$last\", exit $rc; want \"$want\", exit $want_rc"
		[ "$verbose" = 1 ] || printf '%s\n' "$out" | tail -25 | sed 's/^/      | /'
	fi
	last_out=$out
}

echo "test-selftest: scripts/test.sh against fake suites"
run_case "healthy run" "$((P + 3)) passed, 0 failed, 2 skipped" 0 ""
if grep -q -- "-Dtests=enabled" "$tmp/plan.setup-args" && grep -q -- "-Ddpdk=enabled" "$tmp/plan.setup-args" &&
	grep -q -- "-Dpcap=enabled" "$tmp/plan.setup-args" && grep -q -- "-Daf_xdp=enabled" "$tmp/plan.setup-args" &&
	grep -q -- "-Daf_packet=enabled" "$tmp/plan.setup-args" && grep -q -- "-Dtap=enabled" "$tmp/plan.setup-args"; then
	pass "components forced on: $(tr ' ' '\n' <"$tmp/plan.setup-args" | grep -c -- '=enabled') -D...=enabled"
else
	fail "components not forced on: meson setup got: $(cat "$tmp/plan.setup-args")"
fi
run_case "no gtest (meson setup fails)" "0 passed, 1 failed, 0 skipped" 1 ', "setup_fail": true'
run_case "build fails" "0 passed, 1 failed, 0 skipped" 1 "" FAKE_BUILD_FAIL=1
run_case "setup.sh fails" "0 passed, 1 failed, 0 skipped" 1 "" FAKE_SETUP_FAIL=1
if [ "$(id -u)" = 0 ]; then
	run_case "no hugepages as root" "$((P + 3)) passed, 1 failed, 2 skipped" 1 "" FAKE_HUGEPAGES_RC=1
	run_case "kernel without hugepages (a skip)" "$((P + 3)) passed, 0 failed, 2 skipped" 0 "" FAKE_HUGEPAGES_RC=3
else
	skip "hugepage reservation failure: not root (test.sh reserves only as root)"
fi
run_case "VM fails" "$P passed, 1 failed, 5 skipped" 1 "" FAKE_VM_RC=125
run_case "VM test fails after writing results" "$((P + 3)) passed, 1 failed, 2 skipped" 1 "" FAKE_VM_RC=1
run_case "VM not found" "$P passed, 1 failed, 5 skipped" 1 "" NUMA_VM=/nonexistent/numa-vm
(cd "$root" && rm -rf build-test-gcc && env PATH="$tmp/bin:$PATH" FAKE_PLAN="$tmp/plan" TARN_LEFTOVER_GRACE=0.5 \
	TARN_LEFTOVER_ONLY="$only" scripts/test.sh --quick --no-vm 2>&1 | tail -1) >"$tmp/novm"
[ "$(cat "$tmp/novm")" = "$P passed, 0 failed, 5 skipped" ] &&
	pass "--no-vm: the numa VM cases counted as skipped" ||
	fail "--no-vm: got \"$(cat "$tmp/novm")\""

# A suite that vanished, ran zero cases, failed, crashed, did not run, or
# skipped as a whole (exit 77); then leftovers: a process of the run still
# alive, a hugetlbfs file of a gone process.
MODS="tap=drop"
run_case "forced suite missing (tap)" "$((P + 1)) passed, 1 failed, 2 skipped" 1 ""
MODS+=" pcap=zero"
run_case "+ a suite with zero cases (pcap)" "$((P - 1)) passed, 2 failed, 2 skipped" 1 ""
MODS+=" af_xdp=skip77"
run_case "+ a wrapper exiting 77 (af_xdp)" "$((P - 3)) passed, 2 failed, 3 skipped" 1 ""
MODS+=" af_packet=crash"
run_case "+ a crash after the last case (af_packet)" "$((P - 3)) passed, 3 failed, 3 skipped" 1 ""
MODS+=" dpdk=norun"
run_case "+ a registered test that did not run (dpdk)" "$((P - 5)) passed, 4 failed, 3 skipped" 1 ""
MODS+=" ethdev=fail2"
run_case "+ two failed cases (ethdev)" "$((P - 6)) passed, 6 failed, 3 skipped" 1 ""
MODS=""
run_case "a process left running" "$((P + 3)) passed, 1 failed, 2 skipped" 1 ', "leak_process": true'
grep -q "left behind: process .* sleep 60" <<<"$last_out" && pass "  ...named: $(grep -o 'left behind: process [0-9]* of this run still running: sleep 60' <<<"$last_out" | head -1)" ||
	fail "  the leaked process is not named"
huge=$(awk '$3 == "hugetlbfs" { print $2; exit }' /proc/mounts)
if [ "$(id -u)" = 0 ] && [ -n "$huge" ] && [ -w "$huge" ]; then
	run_case "a hugetlbfs file left" "$((P + 3)) passed, 1 failed, 2 skipped" 1 \
		", \"leak_huge\": \"$huge/tarn-selftest.tarnseg.PID.0.0\""
	huge_leak=$(cat "$tmp/plan.leaked-huge" 2>/dev/null)
	grep -q "left behind: hugetlbfs file $huge_leak" <<<"$last_out" && pass "  ...named: $huge_leak" ||
		fail "  the hugetlbfs file is not named"
	rm -f "$huge_leak"
	# The same name with the pid of a process that was never this run's
	# (another user's, gone): not counted.
	other=$(($(cat /proc/sys/kernel/pid_max) - 1))
	[ -d "/proc/$other" ] && other=$((other - 1))
	huge_leak="$huge/tarn-selftest.tarnseg.$other.0.0"
	run_case "another user's hugetlbfs file (not this run's)" "$((P + 3)) passed, 0 failed, 2 skipped" 0 \
		", \"other_huge\": \"$huge_leak\""
	rm -f "$huge_leak"
else
	skip "a hugetlbfs file left: needs root and a writable hugetlbfs mount"
fi

# ---------------------------------------------------------------------------
echo "test-selftest: scripts/count-gtest.py"
cg() { python3 "$here/count-gtest.py" "$@" 2>&1 | tail -1; }
printf 'failed\t2\tsomething\nskipped\t5\tno VM\n' >"$tmp/l1"
[ "$(cg --ledger "$tmp/l1")" = "0 passed, 2 failed, 5 skipped" ] && pass "ledger failed/skipped lines" ||
	fail "ledger lines: $(cg --ledger "$tmp/l1")"
printf 'bogus line\n' >"$tmp/l2"
[ "$(cg --ledger "$tmp/l2")" = "0 passed, 2 failed, 0 skipped" ] && pass "a line it does not understand is a failure (and nothing to count is another)" ||
	fail "bad ledger line: $(cg --ledger "$tmp/l2")"
printf 'xml\t%s\tVM\n' "$tmp/none.xml" >"$tmp/l3"
[ "$(cg --ledger "$tmp/l3")" = "0 passed, 1 failed, 0 skipped" ] && pass "a missing XML is a failure" ||
	fail "missing XML: $(cg --ledger "$tmp/l3")"
[ "$(cg "$tmp/no-such-build")" = "0 passed, 1 failed, 0 skipped" ] && pass "an unconfigured build directory is a failure" ||
	fail "unconfigured dir: $(cg "$tmp/no-such-build")"
python3 "$here/count-gtest.py" --ledger "$tmp/l1" >/dev/null 2>&1
[ $? = 1 ] && pass "exit 1 when something failed" || fail "exit status when something failed"

# ---------------------------------------------------------------------------
echo "test-selftest: scripts/netns-run.sh"
mkdir -p "$tmp/badip"
printf '#!/bin/sh\necho "ip: refused (fake)" >&2\nexit 1\n' >"$tmp/badip/ip"
chmod +x "$tmp/badip/ip"
show='echo "ERROR=${TARN_NETNS_ERROR:-} SKIP=${TARN_NETNS_SKIP:-} VETH=${TARN_VETH0:-}"'
if [ "$(id -u)" = 0 ]; then
	out=$(PATH="$tmp/badip:$PATH" "$root/scripts/netns-run.sh" sh -c "$show" 2>/dev/null)
	rc=$?
	if [ $rc = 1 ] && [[ $out == ERROR=netns-run.sh:* ]] && [[ $out == *"SKIP= VETH=" ]]; then
		pass "root, ip netns add fails: TARN_NETNS_ERROR set, exit 1"
	else
		fail "root, ip netns add fails: exit $rc, $out"
	fi
	out=$(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$root/scripts/netns-run.sh" sh -c "$show" 2>/dev/null)
	rc=$?
	[ $rc = 0 ] && [[ $out == "ERROR= SKIP=not root"* ]] && pass "not root: TARN_NETNS_SKIP says why, exit 0" ||
		fail "not root: exit $rc, $out"
else
	out=$("$root/scripts/netns-run.sh" sh -c "$show" 2>/dev/null)
	[[ $out == "ERROR= SKIP=not root"* ]] && pass "not root: TARN_NETNS_SKIP says why" || fail "not root: $out"
	skip "netns-run.sh with a failing ip as root: not root"
fi

echo "test-selftest: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" = 0 ]
