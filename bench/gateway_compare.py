#!/usr/bin/env python3
"""What uvhost-gw costs: the same workload three ways, in one run.

  uvhostd   uvhost-bench --socket to uvhostd --device blk --ram-size 16M (native, fds,
            eventfd kicks and calls);
  vsock     uvhost-bench --vsock straight to the service VM (QEMU aarch64, TCG,
            vhost=5000:blk:16M): window-addressed regions, NOFD kicks, in-band calls;
  gateway   uvhost-bench --socket --ram-file to uvhost-gw, which relays to the same VM:
            the bench is a VMM with eventfds, as QEMU would be; the gateway turns each
            kick into an in-band VRING_KICK and each BACKEND_VRING_CALL into an eventfd
            write. The bench's RAM is the VM's window file.

Then the control plane alone: N GET_FEATURES round trips (a message the back-end answers
at once) to uvhostd, to the VM over vsock, and to the VM through the gateway; the
difference between the last two is what the relay adds.

    bench/gateway_compare.py [--time 3] [--rounds 500] [--build build]

Prints Markdown tables for bench/RESULTS.md. By hand only; nothing is asserted.
"""
import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
import run_system as rs  # noqa: E402
from vsock_host import hybrid_connect  # noqa: E402

WORKLOADS = [
    ("randread 4k qd1", ["--rw", "randread", "--bs", "4096", "--qd", "1"]),
    ("randwrite 4k qd1", ["--rw", "randwrite", "--bs", "4096", "--qd", "1"]),
    ("randread 4k qd32", ["--rw", "randread", "--bs", "4096", "--qd", "32"]),
    ("randread 64k qd8", ["--rw", "randread", "--bs", "65536", "--qd", "8"]),
]
WIN = 32 << 20


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])


def round_trips(sock, n):
    """Microseconds per GET_FEATURES request/reply, median and p99."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        sock.sendall(struct.pack("<III", 1, 1, 0))
        got = b""
        while len(got) < 20:
            got += sock.recv(20 - len(got))
        out.append((time.perf_counter() - t) * 1e6)
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.99) - 1]


def unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(200):
        try:
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.05)
    raise SystemExit("cannot connect to %s" % path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    o = ap.parse_args()
    host = os.path.join(o.build, "host")
    bench, uvhostd, gw = (os.path.join(host, x) for x in ("uvhost-bench", "uvhostd", "uvhost-gw"))
    args = argparse.Namespace(image=os.path.join(o.build, "aarch64", "uvhost.elf"),
                              uvhostd=uvhostd, keep=False)
    tmp = tempfile.mkdtemp(prefix="uvhost-gwcmp-")
    dsock, gsock = os.path.join(tmp, "blk.sock"), os.path.join(tmp, "gw.sock")
    d = subprocess.Popen([uvhostd, "--socket-path", dsock, "--device", "blk", "--ram-size",
                          "16M"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    window = rs.ShmWindow("w0", WIN, 7)
    rows, ctl = [], {}
    g = None
    try:
        with rs.vsock_vm(args, [window], echo=False,
                         append="log=info ctl=%d vhost=5000:blk:16M,5001:blk:16M"
                         % rs.CTL_PORT) as (vm, dev):
            # The gateway gets its own listener, so the direct vsock runs never
            # wait for a session it holds.
            g = subprocess.Popen([gw, "--socket-path", gsock, "--vsock",
                                  "%s:5001" % dev.uds_path, "--window", "0=%s" % window.path],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, w in WORKLOADS:
                common = ["--time", str(o.time), "--json", "--quiet"] + w
                u = run([bench, "--socket", dsock] + common)
                v = run([bench, "--vsock", "%s:5000" % dev.uds_path, "--window-file",
                         window.path] + common)
                x = run([bench, "--socket", gsock, "--ram-file", window.path] + common)
                rows.append((name, u, v, x))
                print("%-20s uvhostd %8.0f  vsock %8.0f  gateway %8.0f IOPS"
                      % (name, u["iops"], v["iops"], x["iops"]), file=sys.stderr)
            with unix(dsock) as s:
                ctl["uvhostd"] = round_trips(s, o.rounds)
            s = hybrid_connect(dev.uds_path, 5000, 30)
            ctl["vsock"] = round_trips(s, o.rounds)
            s.close()
            with unix(gsock) as s:
                ctl["gateway"] = round_trips(s, o.rounds)
    finally:
        if g:
            g.terminate()
            g.wait()
        d.terminate()
        d.wait()
        window.remove()
    load = os.getloadavg()
    print("\nuvhost-bench, %.0f s per point, load average %.2f %.2f %.2f, %d CPUs; service VM "
          "under TCG\n" % (o.time, load[0], load[1], load[2], os.cpu_count()))
    print("| workload | uvhostd (Unix socket): IOPS | p50 us | service VM over vsock: IOPS "
          "| p50 us | service VM through uvhost-gw: IOPS | p50 us | gateway / vsock |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, u, v, x in rows:
        print("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f |"
              % (name, u["iops"], u["lat_p50_us"], v["iops"], v["lat_p50_us"], x["iops"],
                 x["lat_p50_us"], x["iops"] / v["iops"] if v["iops"] else 0))
    print("\nControl plane: GET_FEATURES round trip, %d rounds\n" % o.rounds)
    print("| path | median us | p99 us |")
    print("|---|---:|---:|")
    for k, label in (("uvhostd", "uvhostd, Unix socket"), ("vsock", "service VM, vsock"),
                     ("gateway", "service VM through uvhost-gw")):
        print("| %s | %.0f | %.0f |" % ((label,) + ctl[k]))
    print("\nrelay adds %.0f us (median) per control message"
          % (ctl["gateway"][0] - ctl["vsock"][0]))


if __name__ == "__main__":
    main()
