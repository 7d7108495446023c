#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check the symbols libtarn.so exports (meson test 'symbols').

  scripts/check-symbols.py READELF LIBTARN_SO

The version script lib/libtarn.map gives every public symbol (tarn_*,
no double underscore) the version TARN_0.1 and every internal one that
other objects must reach (tarn__*: the out-of-line slow paths of inline
calls, thread-local lcore ids, the fast-path tables) the version
INTERNAL, which carries no promise of stability. This fails when a symbol
is exported without a version, in the wrong node, or outside the tarn_
namespace, and when either node is empty.

Exit status: 0 when every exported symbol is where it belongs, 1 otherwise,
2 for bad usage.
"""
import re
import subprocess
import sys

# readelf --dyn-syms -W: Num: Value Size Type Bind Vis Ndx Name[@[@]VERSION]
ROW = re.compile(r"^\s*\d+:\s+\S+\s+\d+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)")


def exported(readelf, lib):
    """(name, version) of every global symbol the library defines."""
    out = subprocess.run([readelf, "--dyn-syms", "-W", lib], check=True,
                         capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        m = ROW.match(line)
        if not m:
            continue
        kind, bind, vis, ndx, name = m.groups()
        if ndx == "UND" or bind not in ("GLOBAL", "WEAK") or kind == "FILE":
            continue
        base, _, version = name.partition("@")
        syms.append((base, version.lstrip("@")))
    return syms


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    problems = []
    counts = {"TARN_0.1": 0, "INTERNAL": 0}
    for name, version in exported(argv[1], argv[2]):
        if version == "" and name in ("TARN_0.1", "INTERNAL"):
            continue  # the version definitions themselves (ABS)
        if name.startswith("tarn__"):
            want = "INTERNAL"
        elif name.startswith("tarn_"):
            want = "TARN_0.1"
        else:
            problems.append(f"{name}@{version}: exported outside the tarn_ namespace")
            continue
        if version != want:
            problems.append(f"{name}: version '{version}', expected {want}")
        else:
            counts[want] += 1
    for node, n in counts.items():
        if n == 0:
            problems.append(f"no symbol has the version {node}")
    for p in problems:
        print(f"check-symbols: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check-symbols: {counts['TARN_0.1']} public symbols (TARN_0.1), "
          f"{counts['INTERNAL']} internal (INTERNAL)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
