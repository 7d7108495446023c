#!/usr/bin/env python3
"""What a test run left behind.

    scripts/leftovers.py snapshot FILE            before the run
    scripts/leftovers.py track FILE PID           during it (root): the run's pids
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

Others may use the machine at the same time (this machine is shared). A
name that carries a pid (tv<pid>h0, tarn-ns-<pid>, <prefix>.tarnseg.<pid>.*,
a runtime directory ending in -<pid>) is this run's when that pid is a live
process with the run's TARN_TEST_RUN or, once gone, when `track` saw it
forked inside the run (as root, `track FILE PID` follows every fork under
PID through the kernel's process events connector and writes the pids to
FILE.pids; without it a gone pid counts as this run's). A file or runtime
directory without a pid belongs to whoever holds it (open, mapped, or a
UNIX socket bound in it); the rest counts if it is still there after
--grace seconds (default 10). Exit: 0 nothing left, 1 something left, 2 bad
usage.
"""
import json
import os
import re
import signal
import socket
import struct
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
    # a DPDK or tarn runtime directory named after its process
    (re.compile(r"-(\d{3,})$"), 0),
]


def owner(name, token, live, tracked):
    """Whose is `name`: None (no pid in it), "dead" (its process, one of
    this run's, is gone), "ours" (a live process of this run) or "other"
    (of someone else, live or, when `tracked` is the run's pid set, gone)."""
    for rx, mod in PID_NAMES:
        m = rx.search(name)
        if not m:
            continue
        n = int(m.group(1))
        pids = [p for p in live if (p % mod if mod else p) == n]
        if not pids:
            if tracked is not None and not any((p % mod if mod else p) == n for p in tracked):
                return "other"
            return "dead"
        return "ours" if all(environ_has(p, token) for p in pids) else "other"
    return None


# The kernel's process events (linux/cn_proc.h), as root.
NETLINK_CONNECTOR, CN_IDX_PROC, CN_VAL_PROC = 11, 1, 1
PROC_CN_MCAST_LISTEN, PROC_EVENT_FORK = 1, 1


def track(path, root):
    """Write to `path` every pid forked under `root` (one a line) until
    `root` is gone or a signal; "lost" if events were dropped, "unavailable"
    if the connector cannot be used."""
    out = open(path, "w", buffering=1)
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
        try:
            s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        s.bind((0, CN_IDX_PROC))
        op = struct.pack("I", PROC_CN_MCAST_LISTEN)
        cn = struct.pack("IIIIHH", CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(op), 0) + op
        s.send(struct.pack("IHHII", 16 + len(cn), 3, 0, 0, 0) + cn)  # NLMSG_DONE
    except OSError as e:
        out.write(f"unavailable {e}\n")
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    mine = {root}
    out.write(f"{root}\n")
    s.settimeout(1.0)
    while os.path.exists(f"/proc/{root}"):
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:  # ENOBUFS: events dropped, the set may miss pids
            out.write("lost\n")
            continue
        off = 0
        while off + 16 <= len(d):  # one or more netlink messages
            ln = struct.unpack_from("I", d, off)[0]
            if ln < 16:
                break
            if ln >= 36 + 32 and struct.unpack_from("I", d, off + 36)[0] == PROC_EVENT_FORK:
                ppid, ptgid, cpid, ctgid = struct.unpack_from("IIII", d, off + 52)
                if (ptgid in mine or ppid in mine) and ctgid not in mine:
                    mine.add(ctgid)
                    out.write(f"{ctgid}\n")
            off += (ln + 3) & ~3
    return 0


def tracked_pids(path):
    """The run's pids from `track`, or None when it did not follow them all."""
    try:
        with open(path) as fh:
            lines = fh.read().split()
    except OSError:
        return None
    if not lines or "lost" in lines or lines[0] == "unavailable":
        return None
    return {int(x) for x in lines if x.isdigit()}


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


def leftovers(before, token, only, tracked):
    now = state()
    live = [int(p) for p in listdir("/proc") if p.isdigit()]
    cand = []  # (kind, path, owner by name)
    for f in sorted(set(now["huge"]) - set(before["huge"])):
        cand.append(("hugetlbfs file", f, owner(os.path.basename(f), token, live, tracked)))
    for f in sorted(set(now["runtime"]) - set(before["runtime"])):
        cand.append(("runtime directory", f,
                     owner(os.path.basename(f), token, live, tracked)))
    for n in sorted(set(now["netns"]) - set(before["netns"])):
        cand.append(("network namespace", n, owner(n, token, live, tracked)))
    for n in sorted(set(now["ifaces"]) - set(before["ifaces"])):
        cand.append(("network interface", n, owner(n, token, live, tracked)))
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
    if len(sys.argv) < 3 or sys.argv[1] not in ("snapshot", "check", "track"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    path = sys.argv[2]
    if sys.argv[1] == "snapshot":
        s = state()
        s["token"] = os.environ.get(RUN_VAR, "")
        with open(path, "w") as fh:
            json.dump(s, fh)
        return 0
    if sys.argv[1] == "track":
        if len(sys.argv) != 4 or not sys.argv[3].isdigit():
            print("leftovers.py track FILE PID", file=sys.stderr)
            return 2
        return track(path + ".pids", int(sys.argv[3]))
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
    tracked = tracked_pids(path + ".pids")
    end = time.monotonic() + grace
    while True:
        found = leftovers(before, token, only, tracked)
        # what carries a dead pid is left for sure; the rest may be on its way out
        if all(certain for certain, _ in found) or time.monotonic() >= end:
            break
        time.sleep(0.5)
    for _, text in found:
        print(f"LEFTOVER\t{text}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
