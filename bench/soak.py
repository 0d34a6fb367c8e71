#!/usr/bin/env python3
"""Soak: memory churn, verified I/O and reconnects, for minutes, against uvhostd and the
service VM; what must stay flat is sampled after every round.

    bench/soak.py [--minutes 10] [--target uvhostd|vm|both] [--build build]

One round (about 20 s):
  - uvhost-bench --verify with memory churn (uvhostd: --churn 50, an extra region added and
    removed 50 times a second; the VM: --half-churn 3 over 32 regions in 2 windows), 2 queues;
  - 40 sessions that connect, negotiate, add a region, and close (some mid-message).
Sampled after each round:
  - uvhostd: RSS (VmRSS), open fds, mappings;
  - the service VM: its pools (sessions, vsock connections, control clients) from `stats`,
    and the RSS and fds of the uvhostd that is its vsock device.
Prints a Markdown table (first round, last round, min, max) for bench/RESULTS.md and exits
1 if a verified run failed or a sampled value grew from the first round to the last (RSS
may move within 1 MiB: the allocator's own slack). By hand; not part of make check.
"""
import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
import run_system as rs  # noqa: E402
import vhost_corpus  # noqa: E402
import vhost_frontend as vf  # noqa: E402
from daemon_lifecycle import negotiate as uds_negotiate  # noqa: E402

RSS_SLACK_KB = 1024


def proc_sample(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:"))
    fds = len(os.listdir("/proc/%d/fd" % pid))
    with open("/proc/%d/maps" % pid) as f:
        maps = sum(1 for _ in f)
    return {"rss_kb": rss, "fds": fds, "maps": maps}


def bench(cmd):
    r = subprocess.run(cmd + ["--json", "--quiet"], capture_output=True, text=True,
                       timeout=300)
    res = None
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        pass
    ok = r.returncode == 0 and res and res["errors"] == 0 and res["mismatches"] == 0
    return ok, res, r.stderr.strip()[-300:]


def uds_sessions(path, n):
    for i in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.settimeout(10)
        uds_negotiate(s)
        fd = os.memfd_create("soak")
        os.ftruncate(fd, 1 << 20)
        payload = struct.pack("<QQQQQ", 0, 0x100000000, 1 << 20, 0x7f0000000000, 0)
        socket.send_fds(s, [struct.pack("<III", 37, 1 | 8, len(payload)) + payload], [fd])
        os.close(fd)
        s.recv(20)
        if i % 3 == 2:
            s.sendall(struct.pack("<III", 9, 1, 40))  # half a message, then gone
        s.close()
        time.sleep(0.01)


def vm_sessions(dev, port, win_index, n):
    for i in range(n):
        while True:
            try:
                fe = vf.Frontend(dev.connect(port))
                fe.negotiate(vhost_corpus.WANT_PF)
                break
            except (OSError, vf.FrontendError):
                time.sleep(0.05)  # the pool is 4: a close may not have been seen yet
        fe.ack(vf.ADD_MEM_REG, vf.region(0x100000000, 1 << 16, 0x7f0000000000, win_index, 0))
        if i % 3 == 2:
            fe.sock.sendall(struct.pack("<III", 9, 1, 40))
        fe.sock.close()


def report(name, samples, failures):
    keys = sorted(samples[0])
    print("\n%s: %d rounds\n" % (name, len(samples)))
    print("| value | first round | last round | min | max |")
    print("|---|---:|---:|---:|---:|")
    for k in keys:
        col = [s[k] for s in samples]
        print("| %s | %d | %d | %d | %d |" % (k, col[0], col[-1], min(col), max(col)))
        grew = col[-1] - col[0]
        if grew > (RSS_SLACK_KB if k.endswith("rss_kb") else 0):
            failures.append("%s: %s grew from %d to %d" % (name, k, col[0], col[-1]))


def soak_uvhostd(o, tools, failures):
    tmp = tempfile.mkdtemp(prefix="uvsoak-")
    sock = os.path.join(tmp, "blk.sock")
    d = subprocess.Popen([tools["uvhostd"], "--socket-path", sock, "--device", "blk",
                          "--ram-size", "64M", "--num-queues", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples, rounds, ios = [], 0, 0
    try:
        while not os.path.exists(sock):
            time.sleep(0.02)
        end = time.monotonic() + o.minutes * 60
        while time.monotonic() < end:
            ok, res, err = bench([tools["bench"], "--socket", sock, "--verify", "--churn", "50",
                                  "--num-queues", "2", "--qd", "16", "--time", "15"])
            if not ok:
                failures.append("uvhostd round %d: verify failed: %s" % (rounds, err))
                break
            ios += res["ios"]
            uds_sessions(sock, 40)
            time.sleep(0.2)
            samples.append(proc_sample(d.pid))
            rounds += 1
            print("uvhostd round %d: %s, %d verified I/Os so far" % (rounds, samples[-1], ios),
                  file=sys.stderr)
    finally:
        d.terminate()
        d.wait()
    print("\nuvhostd: %d verified I/Os with churn, %d reconnect sessions" % (ios, 40 * rounds))
    if samples:
        report("uvhostd", samples, failures)


def soak_vm(o, tools, failures):
    args = argparse.Namespace(image=tools["image"], uvhostd=tools["uvhostd"], keep=False)
    windows = [rs.ShmWindow("w0", 8 << 20, 3), rs.ShmWindow("w1", 8 << 20, 4)]
    samples, rounds, ios = [], 0, 0
    try:
        with rs.vsock_vm(args, windows, echo=False, allow=rs.VHOST_ALLOWED,
                         append="log=info ctl=%d vhost=5000:blk:16M:q2" % rs.CTL_PORT) \
                as (vm, dev):
            c = rs.ctl(dev)
            end = time.monotonic() + o.minutes * 60
            while time.monotonic() < end:
                cmd = [tools["bench"], "--vsock", "%s:5000" % dev.uds_path, "--verify",
                       "--slots", "32", "--qd", "32", "--half-churn", "3", "--num-queues", "2",
                       "--time", "15"]
                for w in windows:
                    cmd += ["--window-file", w.path]
                ok, res, err = bench(cmd)
                if not ok:
                    failures.append("VM round %d: verify failed: %s" % (rounds, err))
                    break
                ios += res["ios"]
                vm_sessions(dev, 5000, 1, 40)
                time.sleep(0.5)
                st = c.stats()
                s = {k: st[k] for k in rs.POOL_KEYS}
                s.update({"uvhostd_" + k: v for k, v in proc_sample(dev.proc.pid).items()})
                samples.append(s)
                rounds += 1
                print("VM round %d: %s, %d verified I/Os so far" % (rounds, s, ios),
                      file=sys.stderr)
            c.close()
    finally:
        for w in windows:
            w.remove()
    print("\nservice VM: %d verified I/Os with half-churn over 32 regions, %d reconnect "
          "sessions" % (ios, 40 * rounds))
    if samples:
        report("service VM", samples, failures)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--target", choices=("uvhostd", "vm", "both"), default="both")
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    o = ap.parse_args()
    tools = {"uvhostd": os.path.join(o.build, "host", "uvhostd"),
             "bench": os.path.join(o.build, "host", "uvhost-bench"),
             "image": os.path.join(o.build, "aarch64", "uvhost.elf")}
    failures = []
    if o.target in ("uvhostd", "both"):
        soak_uvhostd(o, tools, failures)
    if o.target in ("vm", "both"):
        soak_vm(o, tools, failures)
    print("\n" + ("PASS: everything sampled stayed flat" if not failures
                  else "FAIL: " + "; ".join(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
