#!/usr/bin/env python3
"""Count what a test run did, and print `N passed, N failed, N skipped` last.

    scripts/count-gtest.py [--ledger FILE] [--suites LIST] [--quiet] [BUILD_DIR...]

For each meson build directory (given as an argument or on a `build` line of
the ledger) every test meson registered there (meson-info/intro-tests.json,
what `meson introspect --tests` prints) must have run in its last `meson
test` (meson-logs/testlog.json):

- a GoogleTest binary (protocol gtest) counts its cases from the XML meson
  had it write (<builddir>/<test name>.xml): passed, failed, skipped. A
  binary meson saw fail (crash, timeout, sanitizer report after the last
  case) whose XML shows no failed case counts as one failed case; a binary
  whose XML is missing or holds no case at all is one failed case;
- any other test (a plain program, a script) counts as one case: passed,
  failed, or skipped when it exited 77 (meson's SKIP), a gtest wrapper
  that exited 77 included;
- a registered test that did not run is one failed case; so is a suite
  that a `require` line names and that is not registered (a component the
  test command forced on whose tests are missing).

The ledger (written by scripts/test.sh) adds what no build directory shows,
one tab-separated line each:

    build    DIR  [SUITES]     count DIR (only SUITES, comma-separated, if given)
    require  DIR  SUITES       these suites must be registered in DIR
    failed   N    WHY          N failed cases (a meson setup or build that
                               failed, a VM run that failed, a leftover, ...)
    skipped  N    WHY          N skipped cases (a suite that could not run
                               here, and why)
    xml      FILE WHAT         a GoogleTest XML written outside meson (the
                               numa suite in the VM); missing: one failure

Exit 0 when nothing failed, 1 otherwise, 2 for bad usage. The last line is
always the count, whatever went wrong before it.
"""
import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET


class Tally:
    def __init__(self, quiet):
        self.passed = self.failed = self.skipped = 0
        self.problems = []  # (count, text): each failure, said once
        self.skips = {}  # reason -> count
        self.quiet = quiet

    def fail(self, n, why):
        self.failed += n
        self.problems.append((n, why))

    def skip(self, n, why):
        self.skipped += n
        self.skips[why] = self.skips.get(why, 0) + n

    def line(self, text):
        if not self.quiet:
            print(text)


def read_xml(path):
    """(passed, failed, skipped, {skip reason: count}) of a GoogleTest XML,
    or None when it is missing or unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    passed = failed = skipped = 0
    reasons = {}
    for tc in root.iter("testcase"):
        if tc.find("failure") is not None or tc.find("error") is not None:
            failed += 1
        elif tc.get("result") == "skipped" or tc.find("skipped") is not None \
                or tc.get("status") == "notrun":
            skipped += 1
            s = tc.find("skipped")
            msg = (s.get("message") if s is not None else "") or "(no reason given)"
            # GoogleTest puts "file:line\n" before the message
            msg = msg.strip().split("\n")[-1].strip() or "(no reason given)"
            reasons[msg] = reasons.get(msg, 0) + 1
        else:
            passed += 1
    return passed, failed, skipped, reasons


def add_xml(t, label, path):
    r = read_xml(path)
    if r is None:
        return None
    p, f, s, reasons = r
    t.passed += p
    t.failed += f
    for why, n in reasons.items():
        t.skip(n, why)
    t.line(f"  {label}: {p} passed, {f} failed, {s} skipped")
    if f:
        t.problems.append((0, f"{label}: {f} failed case(s) (see its log)"))
    return r


def suite_names(test):
    # meson names suites "project:suite"; keep the suite
    return [s.split(":", 1)[-1] for s in test.get("suite", [])]


def count_dir(t, d, only, required):
    intro = os.path.join(d, "meson-info", "intro-tests.json")
    try:
        with open(intro) as fh:
            tests = json.load(fh)
    except (OSError, ValueError) as e:
        t.fail(1, f"{d}: no list of registered tests ({e}): not configured?")
        return
    if only:
        tests = [x for x in tests if set(suite_names(x)) & only]
    registered = set()
    for x in tests:
        registered.update(suite_names(x))
    for s in sorted(required - registered):
        if not only or s in only:
            t.fail(1, f"{d}: suite '{s}' is not registered: the test command forces "
                      "its component on, so its tests must exist")

    results = {}
    log = os.path.join(d, "meson-logs", "testlog.json")
    try:
        with open(log) as fh:
            for line in fh:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                # meson names a test "project:suite / name"
                results[r.get("name", "").split(" / ")[-1]] = r
    except OSError:
        pass

    for x in tests:
        name = x["name"]
        label = f"{d}/{name}"
        r = results.get(name)
        if r is None:
            t.fail(1, f"{label}: registered but did not run")
            continue
        res = r.get("result")
        ok = res in ("OK", "EXPECTEDFAIL")
        if res == "SKIP":
            out = (r.get("stdout") or "").strip().splitlines()
            why = out[-1] if out else "exit status 77"
            t.skip(1, f"{name}: the whole test skipped (exit 77): {why[:200]}")
            t.line(f"  {label}: skipped (exit 77)")
            continue
        if x.get("protocol") == "gtest":
            xr = add_xml(t, label, os.path.join(d, name + ".xml"))
            if xr is None:
                t.fail(1, f"{label}: {res}, and no GoogleTest XML ({name}.xml)")
            elif sum(xr[:3]) == 0:
                t.fail(1, f"{label}: {res}, but it ran zero test cases")
            elif not ok and xr[1] == 0:
                t.fail(1, f"{label}: {res} (no failed case in its XML: "
                          "counted as one failure)")
        elif ok:
            t.passed += 1
            t.line(f"  {label}: passed")
        else:
            t.fail(1, f"{label}: {res}")


def main():
    ap = argparse.ArgumentParser(
        description="Sum the results of scripts/test.sh's runs (see the source's "
                    "docstring); the last line is `N passed, N failed, N skipped`.")
    ap.add_argument("dirs", nargs="*", help="meson build directories")
    ap.add_argument("--ledger", help="the test command's ledger (see above)")
    ap.add_argument("--suites", default="",
                    help="count only these suites of the directories given as arguments")
    ap.add_argument("--extra-failed", type=int, default=0,
                    help="add N failed cases (kept for old callers; use a ledger)")
    ap.add_argument("--quiet", action="store_true", help="only the summary")
    a = ap.parse_args()
    t = Tally(a.quiet)
    try:
        builds = [(d, set(x for x in a.suites.split(",") if x)) for d in a.dirs]
        required = {}
        extra = []
        if a.ledger:
            try:
                with open(a.ledger) as fh:
                    lines = [ln.rstrip("\n").split("\t") for ln in fh if ln.strip()]
            except OSError as e:
                lines = []
                t.fail(1, f"ledger {a.ledger}: {e}")
            for f in lines:
                kind = f[0]
                if kind == "build" and len(f) >= 2:
                    builds.append((f[1], set(x for x in (f[2] if len(f) > 2 else "")
                                              .split(",") if x)))
                elif kind == "require" and len(f) >= 3:
                    required.setdefault(f[1], set()).update(x for x in f[2].split(",") if x)
                elif kind in ("failed", "skipped", "xml") and len(f) >= 3:
                    extra.append(f)
                else:
                    t.fail(1, f"ledger line not understood: {f!r}")
        for d, only in builds:
            count_dir(t, d, only, required.get(d, set()))
        for f in extra:
            kind = f[0]
            if kind == "xml":
                if add_xml(t, f[2], f[1]) is None:
                    t.fail(1, f"{f[2]}: no GoogleTest XML at {f[1]}")
            else:
                try:
                    n = int(f[1])
                except ValueError:
                    t.fail(1, f"ledger line not understood: {f!r}")
                    continue
                (t.fail if kind == "failed" else t.skip)(n, f[2])
        if a.extra_failed:
            t.fail(a.extra_failed, "failures counted by the caller (--extra-failed)")
        if not builds and not extra and not a.extra_failed:
            t.fail(1, "nothing to count: no build directory and no ledger entry")
    except Exception as e:  # the last line must come, whatever happened
        t.fail(1, f"count-gtest.py: {type(e).__name__}: {e}")
    if t.skips:
        print("skipped, and why:")
        for why, n in sorted(t.skips.items(), key=lambda kv: -kv[1]):
            print(f"  {n:5d}  {why}")
    if t.problems:
        print("FAILED:")
        for n, why in t.problems:
            print(f"  {why}" + (f" [{n} counted]" if n > 1 else ""))
    print(f"{t.passed} passed, {t.failed} failed, {t.skipped} skipped")
    return 0 if t.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
