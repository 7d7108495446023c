#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check that the include graph of lib/ is layered (meson test 'layers').

  scripts/check-layers.py [LIBDIR]     check LIBDIR (default: lib/ beside
                                       this script's folder)
  scripts/check-layers.py --self-test  check that a tree with an upward
                                       include is refused

The components of libtarn, bottom to top:

    env < mem < pci < ring < mempool < mbuf < ethdev < telemetry < tarn

env is the bottom layer (options, logging, errors, lcores, topology); tarn
(lib/tarn/init.c: tarn_init()/tarn_cleanup()) is the top, and the umbrella
header lib/tarn.h belongs to it. A file of a component may include headers
of its own component and of the components below it, never above: every
arrow points down. Every quoted include and every <tarn/...> include must
name a header that exists in lib/ (so lib/ includes nothing of drivers/ or
apps/). System headers (<...>) are not looked at.

Exit status: 0 when layered, 1 with one line per upward or unknown include,
2 for bad usage.
"""
import os
import re
import sys
import tempfile

LAYERS = ["env", "mem", "pci", "ring", "mempool", "mbuf", "ethdev", "telemetry", "tarn"]
INCLUDE = re.compile(r'^\s*#\s*include\s*(?:"([^"]+)"|<tarn/([^>]+)>)', re.M)


def component_of(libdir, path):
    """The component a file under libdir belongs to (lib/tarn.h: tarn)."""
    rel = os.path.relpath(path, libdir)
    first = rel.split(os.sep)[0]
    return "tarn" if first == "tarn.h" else first


def headers_by_name(libdir):
    """Basename -> [paths] of every header under libdir."""
    found = {}
    for root, _, files in os.walk(libdir):
        for f in files:
            if f.endswith(".h"):
                found.setdefault(f, []).append(os.path.join(root, f))
    return found


def sources(libdir):
    for root, _, files in os.walk(libdir):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(root, f)


def check(libdir):
    """Problems found in libdir, one string each."""
    headers = headers_by_name(libdir)
    problems = []
    for path in sources(libdir):
        comp = component_of(libdir, path)
        if comp not in LAYERS:
            problems.append(f"{path}: in '{comp}', which is not a known layer of lib/")
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            name = m.group(1) or m.group(2)
            line = text.count("\n", 0, m.start()) + 1
            where = f"{os.path.relpath(path, libdir)}:{line}"
            # A quoted include is found beside the includer first.
            local = os.path.join(os.path.dirname(path), name)
            if m.group(1) and os.path.exists(local):
                target = local
            else:
                cands = headers.get(os.path.basename(name), [])
                if len(cands) != 1:
                    problems.append(
                        f"{where}: includes {name}, which is not "
                        f"{'one header' if cands else 'a header'} of lib/")
                    continue
                target = cands[0]
            tcomp = component_of(libdir, target)
            if tcomp not in LAYERS:
                problems.append(f"{where}: includes {name} of unknown layer '{tcomp}'")
            elif LAYERS.index(tcomp) > LAYERS.index(comp):
                problems.append(
                    f"{where}: {comp} includes {name} of {tcomp}, a layer above it "
                    f"(layers, bottom to top: {' < '.join(LAYERS)})")
    return problems


def self_test():
    """A tree with a downward include passes; one upward include fails."""
    with tempfile.TemporaryDirectory() as d:
        def write(rel, text):
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        write("env/tarn_env.h", "#include <stdio.h>\n")
        write("env/env.c", '#include "tarn_env.h"\n')
        write("mem/tarn_mem.h", '#include "tarn_env.h"\n')
        write("tarn/init.c", '#include "tarn_mem.h"\n#include <tarn/tarn_env.h>\n')
        write("tarn.h", '#include "tarn_mem.h"\n')
        if check(d):
            print("self-test: a layered tree was refused:", check(d), file=sys.stderr)
            return 1
        write("env/env.c", '#include "tarn_env.h"\n#include "tarn_mem.h"\n')
        p = check(d)
        if len(p) != 1 or "env includes tarn_mem.h of mem" not in p[0]:
            print("self-test: an upward include was not refused:", p, file=sys.stderr)
            return 1
        write("env/env.c", '#include "drivers_priv.h"\n')
        p = check(d)
        if len(p) != 1 or "not a header of lib/" not in p[0]:
            print("self-test: an unknown header was not refused:", p, file=sys.stderr)
            return 1
    print("self-test: ok")
    return 0


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    libdir = argv[1] if len(argv) == 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "lib")
    libdir = os.path.normpath(libdir)
    if not os.path.isdir(libdir):
        print(f"check-layers: {libdir}: not a folder", file=sys.stderr)
        return 2
    problems = check(libdir)
    for p in problems:
        print(f"check-layers: {p}", file=sys.stderr)
    if problems:
        return 1
    n = sum(1 for _ in sources(libdir))
    print(f"check-layers: {n} files of {libdir}: every include points down "
          f"({' < '.join(LAYERS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
