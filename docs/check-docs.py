#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checks that keep tarn's documentation true (meson test suite 'docs').

  check-docs.py doxygen DOXYGEN DOXYFILE WORKDIR
      Run Doxygen on the public headers (the configured docs/Doxyfile, with
      XML output in WORKDIR instead of HTML) and fail, listing every warning,
      when there is any: an undocumented function, struct, member, macro,
      typedef or enumerator, a broken reference, a parameter documented
      under the wrong name. Doxygen 1.9.4 does not warn about undocumented
      enumerators, so they are found in the XML output.

  check-docs.py man GROFF PAGE...
      Render each man page with groff -man -Tutf8 -ww and fail on any
      diagnostic (bad macro, bad escape, unknown request).

  check-docs.py options PROGRAM PAGE
      Run `PROGRAM --help` and fail unless every long option it prints
      (--name) appears in the man page PAGE.

  check-docs.py installed BUILD_DIR MAN_DIR
      Fail unless every program meson installs into the bindir (from
      BUILD_DIR/meson-info/intro-installed.json) has MAN_DIR/<name>.1.

  check-docs.py help PROGRAM
      Run `PROGRAM --help` and fail unless it exits 0 with a usage text on
      stdout ("usage:") and nothing on stderr (no getopt complaint).

Exit status: 0 when the check passes, 1 when it fails, 2 for bad usage.
"""
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

INTERNAL = re.compile(r"^(tarn__|TARN__)")


def fail(msg):
    print(msg, file=sys.stderr)
    return 1


# ---------------------------------------------------------------------------
# doxygen


def has_doc(elem):
    """True when a Doxygen XML memberdef has a brief or detailed description."""
    for tag in ("briefdescription", "detaileddescription"):
        d = elem.find(tag)
        if d is not None and "".join(d.itertext()).strip():
            return True
    return False


def undocumented_enumerators(xml_dir):
    """Warnings, in Doxygen's format, for enumerators without a description."""
    out = []
    for name in sorted(os.listdir(xml_dir)):
        if not name.endswith(".xml") or name in ("index.xml", "Doxyfile.xml"):
            continue
        root = ET.parse(os.path.join(xml_dir, name)).getroot()
        for enum in root.iter("memberdef"):
            if enum.get("kind") != "enum":
                continue
            ename = enum.findtext("name", "")
            if INTERNAL.match(ename):
                continue
            loc = enum.find("location")
            for ev in enum.findall("enumvalue"):
                vname = ev.findtext("name", "")
                if INTERNAL.match(vname) or has_doc(ev):
                    continue
                where = "%s:%s" % (loc.get("file"), loc.get("line")) if loc is not None else name
                out.append("%s: warning: enumerator %s of enum %s is not documented."
                           % (where, vname, ename or "(anonymous)"))
    return sorted(set(out))


def check_doxygen(doxygen, doxyfile, workdir):
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    log = os.path.join(workdir, "warnings.log")
    cfg = os.path.join(workdir, "Doxyfile.check")
    with open(cfg, "w") as f:
        f.write('@INCLUDE = "%s"\n' % doxyfile)
        f.write('OUTPUT_DIRECTORY = "%s"\n' % workdir)
        f.write("GENERATE_HTML = NO\nGENERATE_XML = YES\nXML_OUTPUT = xml\n")
        f.write("XML_PROGRAMLISTING = NO\nQUIET = YES\n")
        f.write('WARN_LOGFILE = "%s"\n' % log)
    r = subprocess.run([doxygen, cfg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode != 0:
        return fail("doxygen failed (exit %d):\n%s" % (r.returncode, r.stdout))
    with open(log) as f:
        warnings = [l.rstrip("\n") for l in f if l.strip()]
    warnings += undocumented_enumerators(os.path.join(workdir, "xml"))
    if not warnings:
        print("doxygen: no warnings in the public headers")
        return 0
    # A warning may continue on indented lines ("  parameter 'x'").
    heads = [l for l in warnings if not l.startswith(" ")]
    per_file = {}
    for l in heads:
        m = re.match(r"^(.*?):\d+:", l)
        key = os.path.basename(m.group(1)) if m else "(no file)"
        per_file[key] = per_file.get(key, 0) + 1
    print("doxygen: %d warning(s) in the public headers (%s); document every public "
          "symbol (internal ones are named tarn__*/TARN__* and left out):"
          % (len(heads), ", ".join("%s: %d" % kv for kv in sorted(per_file.items()))))
    for l in warnings:
        print(l)
    return 1


# ---------------------------------------------------------------------------
# man pages


def check_man(groff, pages):
    bad = 0
    for page in pages:
        r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", page],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if r.returncode != 0 or r.stderr.strip():
            print("%s: groff -man -Tutf8 -ww (exit %d):\n%s" % (page, r.returncode, r.stderr))
            bad += 1
            continue
        with open(page) as f:
            src = f.read()
        missing = [s for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO")
                   if not re.search(r"^\.SH \"?%s\"?\s*$" % s, src, re.M)]
        if not re.search(r"^\.TH ", src, re.M) or missing:
            print("%s: missing .TH or section(s): %s" % (page, " ".join(missing) or ".TH"))
            bad += 1
            continue
        print("%s: renders without warnings" % page)
    return 1 if bad else 0


def roff_text(src):
    """The roff source with font changes and escapes that split words removed."""
    src = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", src)
    src = src.replace("\\-", "-").replace("\\&", "").replace("\\%", "")
    return src


def check_options(program, page):
    try:
        r = subprocess.run([program, "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return fail("%s --help: %s" % (program, e))
    if r.returncode != 0:
        return fail("%s --help exited with %d:\n%s" % (program, r.returncode, r.stderr))
    opts = sorted(set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*[a-z0-9])", r.stdout)))
    if not opts:
        return fail("%s --help printed no long option" % program)
    with open(page) as f:
        text = roff_text(f.read())
    missing = [o for o in opts
               if not re.search(r"(?<![\w-])--%s(?![\w-])" % re.escape(o), text)]
    name = os.path.basename(program)
    if missing:
        return fail("%s: %d option(s) of `%s --help` missing from the page: %s"
                    % (page, len(missing), name, " ".join("--" + o for o in missing)))
    print("%s: all %d long options of `%s --help` are documented" % (page, len(opts), name))
    return 0


def check_installed(build_dir, man_dir):
    import json
    intro = os.path.join(build_dir, "meson-info", "intro-installed.json")
    try:
        with open(intro) as f:
            installed = json.load(f)
    except (OSError, ValueError) as e:
        return fail("%s: %s" % (intro, e))
    bindir = None
    try:
        with open(os.path.join(build_dir, "meson-info", "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
        bindir = os.path.join(opts["prefix"], opts["bindir"])
    except (OSError, ValueError, KeyError) as e:
        return fail("build options: %s" % e)
    progs = sorted(os.path.basename(dst) for dst in installed.values()
                   if os.path.dirname(dst) == bindir)
    if not progs:
        return fail("no program is installed into %s" % bindir)
    missing = [p for p in progs if not os.path.isfile(os.path.join(man_dir, p + ".1"))]
    if missing:
        return fail("installed program(s) without a man page in %s: %s"
                    % (man_dir, " ".join(missing)))
    print("every installed program has its man page: %s" % " ".join(progs))
    return 0


def check_help(program):
    try:
        r = subprocess.run([program, "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return fail("%s --help: %s" % (program, e))
    name = os.path.basename(program)
    if r.returncode != 0:
        return fail("%s --help exited with %d" % (name, r.returncode))
    if r.stderr.strip():
        return fail("%s --help wrote to stderr:\n%s" % (name, r.stderr))
    if "usage:" not in r.stdout.lower():
        return fail("%s --help printed no usage line" % name)
    print("%s --help: usage on stdout, status 0, stderr empty" % name)
    return 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "doxygen":
        return check_doxygen(argv[2], argv[3], argv[4])
    if len(argv) >= 4 and argv[1] == "man":
        return check_man(argv[2], argv[3:])
    if len(argv) == 4 and argv[1] == "options":
        return check_options(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "installed":
        return check_installed(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "help":
        return check_help(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
