#!/usr/bin/env python3
"""The same uvhost-bench workloads served two ways, measured in one run:

  unix   uvhostd --device blk --ram-size 16M, vhost-user over a Unix socket
         (fds, eventfd kicks and calls), native on this machine;
  vsock  the service VM (QEMU aarch64 virt, TCG) serving vhost=5000:blk:16M
         over virtio-vsock through uvhostd --device vsock: no fds, RAM in
         ivshmem windows, NOFD kicks (the VM polls), and either in-band calls
         (BACKEND_VRING_CALL wakes the front-end) or the front-end polling its
         used rings (--poll).

Both RAM disks are 16 MiB, so the data path is memcpy on both sides.

    bench/vsock_compare.py [--time 3] [--build build]

Prints a Markdown table for bench/RESULTS.md. Run it by hand on a quiet
machine; nothing here is asserted. Python standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
import run_system as rs  # noqa: E402

WORKLOADS = [
    ("randread 4k qd1", ["--rw", "randread", "--bs", "4096", "--qd", "1"]),
    ("randread 4k qd32", ["--rw", "randread", "--bs", "4096", "--qd", "32"]),
    ("randwrite 4k qd32", ["--rw", "randwrite", "--bs", "4096", "--qd", "32"]),
    ("randread 64k qd8", ["--rw", "randread", "--bs", "65536", "--qd", "8"]),
    ("randwrite 4k qd32, 32 regions", ["--rw", "randwrite", "--qd", "32", "--slots", "32"]),
]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time", type=float, default=3.0)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    o = ap.parse_args()
    bench = os.path.join(o.build, "host", "uvhost-bench")
    uvhostd = os.path.join(o.build, "host", "uvhostd")
    args = argparse.Namespace(image=os.path.join(o.build, "aarch64", "uvhost.elf"),
                              uvhostd=uvhostd, keep=False)
    tmp = tempfile.mkdtemp(prefix="uvhost-vscmp-")
    sock = os.path.join(tmp, "blk.sock")
    d = subprocess.Popen([uvhostd, "--socket-path", sock, "--device", "blk", "--ram-size",
                          "16M"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    windows = [rs.ShmWindow("w0", 4 << 20, 61), rs.ShmWindow("w1", 4 << 20, 62)]
    rows = []
    try:
        while not os.path.exists(sock):
            time.sleep(0.02)
        with rs.vsock_vm(args, windows, echo=False,
                         append="log=info ctl=%d vhost=5000:blk:16M" % rs.CTL_PORT) as (vm, dev):
            for name, w in WORKLOADS:
                common = ["--time", str(o.time), "--json", "--quiet"] + w
                vs = [bench, "--vsock", "%s:5000" % dev.uds_path, "--window-file",
                      windows[0].path, "--window-file", windows[1].path] + common
                u = run([bench, "--socket", sock] + common)
                v = run(vs)
                p = run(vs + ["--poll"])
                rows.append((name, u, v, p))
                print("%-30s unix %8.0f IOPS   vsock %8.0f IOPS   vsock polled %8.0f IOPS"
                      % (name, u["iops"], v["iops"], p["iops"]), file=sys.stderr)
    finally:
        d.terminate()
        d.wait()
        for w in windows:
            w.remove()
    load = os.getloadavg()
    print("\nuvhost-bench, %.0f s per point, load average %.2f %.2f %.2f, %d CPUs\n"
          % (o.time, load[0], load[1], load[2], os.cpu_count()))
    print("| workload | uvhostd, Unix socket: IOPS | p50 us | service VM, vsock, in-band "
          "calls: IOPS | p50 us | service VM, vsock, front-end polls: IOPS | p50 us |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, u, v, p in rows:
        print("| %s | %.0f | %.0f | %.0f (%.2fx) | %.0f | %.0f (%.2fx) | %.0f |"
              % (name, u["iops"], u["lat_p50_us"], v["iops"], v["iops"] / u["iops"],
                 v["lat_p50_us"], p["iops"], p["iops"] / u["iops"], p["lat_p50_us"]))


if __name__ == "__main__":
    main()
