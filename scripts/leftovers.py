#!/usr/bin/env python3
"""What a test run left behind.

    scripts/leftovers.py snapshot FILE            before the run
    scripts/leftovers.py check FILE [--grace S]   after it: one line per leftover

A test leaves nothing behind. `check` compares the machine with the snapshot
and prints, one per line as `LEFTOVER<TAB>what`, everything that appeared
during the run and is still there:

- a file in a hugetlbfs mount (tarn's `<prefix>.tarnseg.<pid>.*`, DPDK's
  `*map_*`, anything else);
- a runtime directory of tarn or DPDK (`dpdk/<prefix>` under /var/run,
  $XDG_RUNTIME_DIR or /tmp);
- a network namespace, or a network interface of this namespace (veth, tap);
- a PCI device whose driver binding changed (bound to vfio-pci or uio, or
  unbound from its kernel driver);
- a process of the run still alive: one whose environment holds the
  TARN_TEST_RUN value the snapshot saw (the test command sets it; daemons
  such as a tmux server keep it).

Others may use the machine at the same time (this machine is shared): a
name that carries the pid of a process still alive that is not part of this
run (tv<pid>h0, tarn-ns-<pid>, <prefix>.tarnseg.<pid>.*), or a file or
runtime directory that such a process holds (open, mapped, or a UNIX socket
bound in it), belongs to that process and is not counted; the rest counts
if it is still there after --grace seconds (default 10), unless its name
says its process is gone. Exit: 0 nothing
left, 1 something left, 2 bad usage.
"""
import json
import os
import re
import sys
import time

RUN_VAR = "TARN_TEST_RUN"


def hugetlbfs_mounts():
    out = []
    try:
        with open("/proc/mounts") as fh:
            for line in fh:
                f = line.split()
                if len(f) >= 3 and f[2] == "hugetlbfs":
                    out.append(f[1].replace("\\040", " "))
    except OSError:
        pass
    return out


def listdir(d):
    try:
        return sorted(os.listdir(d))
    except OSError:
        return []


def runtime_bases():
    bases = ["/var/run/dpdk", "/run/dpdk", "/tmp/dpdk"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        bases.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "dpdk"))
    seen, out = set(), []
    for b in bases:
        r = os.path.realpath(b)
        if r not in seen:
            seen.add(r)
            out.append(b)
    return out


def pci_bindings():
    out = {}
    for dev in listdir("/sys/bus/pci/devices"):
        drv = os.path.join("/sys/bus/pci/devices", dev, "driver")
        out[dev] = os.path.basename(os.readlink(drv)) if os.path.islink(drv) else ""
    return out


def state():
    s = {"huge": [], "runtime": [], "netns": [], "ifaces": [], "pci": pci_bindings()}
    for m in hugetlbfs_mounts():
        s["huge"] += [os.path.join(m, f) for f in listdir(m)]
    for b in runtime_bases():
        s["runtime"] += [os.path.join(b, f) for f in listdir(b)]
    s["netns"] = listdir("/run/netns")
    s["ifaces"] = listdir("/sys/class/net")
    return s


def environ_has(pid, token):
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return f"{RUN_VAR}={token}".encode() in fh.read().split(b"\0")
    except OSError:
        return False


def ancestors(pid):
    out = set()
    while pid > 1 and pid not in out:
        out.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def run_processes(token):
    """Live processes of this run, not counting this check and its callers."""
    if not token:
        return []
    mine = ancestors(os.getpid())
    out = []
    for p in listdir("/proc"):
        if not p.isdigit() or int(p) in mine:
            continue
        if environ_has(int(p), token):
            try:
                with open(f"/proc/{p}/cmdline", "rb") as fh:
                    cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            out.append((int(p), cmd[:120]))
    return out


# Names that carry the pid of the process that made them, and the modulus
# the pid was taken by (0: whole).
PID_NAMES = [
    (re.compile(r"\.tarnseg\.(\d+)\."), 0),
    (re.compile(r"^tarn-ns-(\d+)$"), 0),
    (re.compile(r"^tarn-tap-(\d+)-"), 0),
    (re.compile(r"^tv(\d+)[hp]\d+$"), 0),
    (re.compile(r"^tt(\d+)[a-z]$"), 1000000),
    (re.compile(r"^tpv(\d+)[ab]$"), 1000000),
    (re.compile(r"^tarnflt(\d+)$"), 10000000),
    (re.compile(r"^tarn-dpdk-test-(\d+)$"), 0),
    (re.compile(r"^tarn-plugin-test-(\d+)$"), 0),
]


def owner(name, token, live):
    """Whose is `name`: None (no pid in it), "dead" (its process is gone),
    "ours" (a live process of this run) or "other" (of someone else)."""
    for rx, mod in PID_NAMES:
        m = rx.search(name)
        if not m:
            continue
        n = int(m.group(1))
        pids = [p for p in live if (p % mod if mod else p) == n]
        if not pids:
            return "dead"
        return "ours" if all(environ_has(p, token) for p in pids) else "other"
    return None


def holders(paths):
    """{path: pids} of the processes that hold one of `paths` (or something
    under it): open, mapped, or a UNIX socket bound there."""
    out = {p: set() for p in paths}
    if not paths:
        return out

    def which(path):
        for p in paths:
            if path == p or path.startswith(p.rstrip("/") + "/"):
                return p
        return None

    sockets = {}  # "socket:[inode]" -> path
    try:
        with open("/proc/net/unix") as fh:
            next(fh, None)
            for line in fh:
                f = line.split()
                if len(f) >= 8 and which(f[7]):
                    sockets[f"socket:[{f[6]}]"] = which(f[7])
    except OSError:
        pass
    for p in listdir("/proc"):
        if not p.isdigit():
            continue
        for fd in listdir(f"/proc/{p}/fd"):
            try:
                t = os.readlink(f"/proc/{p}/fd/{fd}")
            except OSError:
                continue
            hit = sockets.get(t) or which(t)
            if hit:
                out[hit].add(int(p))
        try:
            with open(f"/proc/{p}/maps") as fh:
                for ln in fh:
                    f = ln.split(None, 5)
                    hit = which(f[5].strip()) if len(f) == 6 else None
                    if hit:
                        out[hit].add(int(p))
        except OSError:
            pass
    return out


def leftovers(before, token, only):
    now = state()
    live = [int(p) for p in listdir("/proc") if p.isdigit()]
    cand = []  # (kind, path, owner by name)
    for f in sorted(set(now["huge"]) - set(before["huge"])):
        cand.append(("hugetlbfs file", f, owner(os.path.basename(f), token, live)))
    for f in sorted(set(now["runtime"]) - set(before["runtime"])):
        cand.append(("runtime directory", f, owner(os.path.basename(f), token, live)))
    for n in sorted(set(now["netns"]) - set(before["netns"])):
        cand.append(("network namespace", n, owner(n, token, live)))
    for n in sorted(set(now["ifaces"]) - set(before["ifaces"])):
        cand.append(("network interface", n, owner(n, token, live)))
    if only:
        cand = [c for c in cand if re.search(only, f"{c[0]} {c[1]}")]
    # no pid in the name: whoever holds the file or directory
    held = holders({c[1] for c in cand
                    if c[2] is None and c[0] in ("hugetlbfs file", "runtime directory")})
    found = []  # (certain, text): certain when its process is gone
    for kind, path, who in cand:
        pids = held.get(path)
        if who is None and pids:
            who = "ours" if all(environ_has(p, token) for p in pids) else "other"
        if who != "other":
            found.append((who == "dead", f"{kind} {path}"))
    for dev, drv in sorted(now["pci"].items()):
        was = before["pci"].get(dev)
        if was is not None and was != drv:
            found.append((False, f"PCI device {dev} bound to {drv or '(no driver)'}, "
                                 f"was {was or '(no driver)'}"))
    for pid, cmd in run_processes(token):
        found.append((False, f"process {pid} of this run still running: {cmd}"))
    if only:
        found = [f for f in found if re.search(only, f[1])]
    return found


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("snapshot", "check"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    path = sys.argv[2]
    if sys.argv[1] == "snapshot":
        s = state()
        s["token"] = os.environ.get(RUN_VAR, "")
        with open(path, "w") as fh:
            json.dump(s, fh)
        return 0
    grace = 10.0
    if len(sys.argv) == 5 and sys.argv[3] == "--grace":
        grace = float(sys.argv[4])
    elif len(sys.argv) != 3:
        print("leftovers.py check FILE [--grace S]", file=sys.stderr)
        return 2
    with open(path) as fh:
        before = json.load(fh)
    token = before.get("token", "")
    # The self-test (scripts/test-selftest.sh) counts only its own leftovers
    # on a machine others use: TARN_LEFTOVER_ONLY, a regular expression.
    only = os.environ.get("TARN_LEFTOVER_ONLY")
    end = time.monotonic() + grace
    while True:
        found = leftovers(before, token, only)
        # what carries a dead pid is left for sure; the rest may be on its way out
        if all(certain for certain, _ in found) or time.monotonic() >= end:
            break
        time.sleep(0.5)
    for _, text in found:
        print(f"LEFTOVER\t{text}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
