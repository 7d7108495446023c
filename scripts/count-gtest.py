#!/usr/bin/env python3
"""Sum GoogleTest XML results of meson build dirs.

For each build dir, reads the XML that meson's gtest protocol writes per test
binary (<builddir>/<test>.xml) and meson's own log (meson-logs/testlog.json).
A binary that meson saw fail (crash, timeout, sanitizer report after the last
case) but whose XML shows no failed case counts as one failed case, so a
crash is never read as a pass. Last line: `N passed, N failed, N skipped`.
"""
import json
import argparse
import glob
import os
import sys
import xml.etree.ElementTree as ET


def count(path):
    passed = failed = skipped = 0
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return None
    for tc in root.iter("testcase"):
        if tc.find("failure") is not None or tc.find("error") is not None:
            failed += 1
        elif tc.get("result") == "skipped" or tc.find("skipped") is not None \
                or tc.get("status") == "notrun":
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--extra-failed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    tp = tf = ts = 0
    for d in a.dirs:
        results = {}
        for f in sorted(glob.glob(os.path.join(d, "*.xml"))):
            r = count(f)
            if r is None:
                continue
            results[os.path.basename(f)[:-4]] = r
            p, fl, s = r
            tp, tf, ts = tp + p, tf + fl, ts + s
            if not a.quiet:
                print(f"  {os.path.relpath(f)}: {p} passed, {fl} failed, {s} skipped")
        log = os.path.join(d, "meson-logs", "testlog.json")
        if os.path.exists(log):
            with open(log) as fh:
                for line in fh:
                    try:
                        t = json.loads(line)
                    except ValueError:
                        continue
                    if t.get("result") in ("OK", "SKIP", "EXPECTEDFAIL"):
                        continue
                    # meson names a test "project:suite / name"
                    name = t.get("name", "").split(" / ")[-1]
                    r = results.get(name)
                    if r is None or r[1] == 0:
                        tf += 1
                        print(f"  {d}: {t.get('name')}: {t.get('result')} "
                              "(no failed case in its XML: counted as one failure)")
    tf += a.extra_failed
    print(f"{tp} passed, {tf} failed, {ts} skipped")
    return 0 if tf == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
