#!/usr/bin/env python3
"""The service VM's RAM disk against its own virtio-blk disk, in one boot:

  ram    vhost=5000:blk:64M     the data path is a memcpy inside the VM;
  vd0    vhost=5001:blk:vd0:qN  requests pass through to a virtio-blk-pci
         disk (raw image file, QEMU's default cache=writeback) with the
         front-end's ivshmem buffers as the disk's DMA buffers (no copy in
         the VM); the disk has N queues, the listener as many.

Both under TCG (QEMU aarch64 virt), driven by uvhost-bench over hybrid
vsock. After each vd0 point the VM's own counters give the disk's latency
(vd0_lat_avg_us: submit to used-ring answer, as the VM sees it).

    bench/vdisk_compare.py [--time 3] [--queues 2] [--bounce KIB] [--build build]

--bounce KIB boots with disk_bounce_kib=KIB: vd0's data is then copied
through a bounce pool in the VM's RAM (docs/service-vm-disk.md), as on a
hypervisor whose disk DMA cannot reach the windows.

Prints a Markdown table for bench/RESULTS.md. Run it by hand on a quiet
machine; nothing here is asserted. Python standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
import run_system as rs  # noqa: E402

WORKLOADS = [
    ("randread 4k qd1", ["--rw", "randread", "--bs", "4096", "--qd", "1"]),
    ("randread 4k qd32", ["--rw", "randread", "--bs", "4096", "--qd", "32"]),
    ("randwrite 4k qd32", ["--rw", "randwrite", "--bs", "4096", "--qd", "32"]),
    ("randread 64k qd8", ["--rw", "randread", "--bs", "65536", "--qd", "8"]),
    ("write 64k qd8", ["--rw", "write", "--bs", "65536", "--qd", "8"]),
]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time", type=float, default=3.0)
    ap.add_argument("--queues", type=int, default=2)
    ap.add_argument("--bounce", type=int, default=0, metavar="KIB")
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    o = ap.parse_args()
    bench = os.path.join(o.build, "host", "uvhost-bench")
    args = argparse.Namespace(image=os.path.join(o.build, "aarch64", "uvhost.elf"),
                              uvhostd=os.path.join(o.build, "host", "uvhostd"), keep=False)
    tmp = tempfile.mkdtemp(prefix="uvhost-vdcmp-")
    img = os.path.join(tmp, "vd0.img")
    with open(img, "wb") as f:
        f.truncate(64 << 20)
    windows = [rs.ShmWindow("w0", 4 << 20, 71), rs.ShmWindow("w1", 4 << 20, 72)]
    append = "log=info ctl=%d vhost=5000:blk:64M:q%d,5001:blk:vd0:q%d" % (
        rs.CTL_PORT, o.queues, o.queues)
    if o.bounce:
        append += " disk_bounce_kib=%d" % o.bounce
    rows = []
    try:
        with rs.vsock_vm(args, windows, echo=False, append=append,
                         disks=((img, False, ",num-queues=%d" % o.queues),)) as (vm, dev):
            for name, w in WORKLOADS:
                common = ["--time", str(o.time), "--json", "--quiet", "--num-queues",
                          str(o.queues), "--window-file", windows[0].path, "--window-file",
                          windows[1].path] + w
                ram = run([bench, "--vsock", "%s:5000" % dev.uds_path] + common)
                before = rs.stats_now(dev)
                vd = run([bench, "--vsock", "%s:5001" % dev.uds_path] + common)
                after = rs.stats_now(dev)
                n = after["vd0_requests"] - before["vd0_requests"]
                rows.append((name, ram, vd, n, after["vd0_lat_avg_us"]))
                print("%-20s ram %8.0f IOPS %7.1f MiB/s   vd0 %8.0f IOPS %7.1f MiB/s"
                      % (name, ram["iops"], ram["mibps"], vd["iops"], vd["mibps"]),
                      file=sys.stderr)
    finally:
        for w in windows:
            w.remove()
        os.unlink(img)
        os.rmdir(tmp)
    load = os.getloadavg()
    print("\nuvhost-bench over vsock, %.0f s per point, %d queue(s), load average %.2f %.2f "
          "%.2f, %d CPUs\n" % (o.time, o.queues, load[0], load[1], load[2], os.cpu_count()))
    print("| workload | RAM disk: IOPS | MiB/s | p50 us | vd0 (virtio-blk%s): IOPS | MiB/s | "
          "p50 us | disk requests | disk latency avg us (since boot) |"
          % (", bounce pool %d KiB" % o.bounce if o.bounce else ""))
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r, v, n, lat in rows:
        print("| %s | %.0f | %.1f | %.0f | %.0f (%.2fx) | %.1f | %.0f | %d | %d |"
              % (name, r["iops"], r["mibps"], r["lat_p50_us"], v["iops"], v["iops"] / r["iops"],
                 v["mibps"], v["lat_p50_us"], n, lat))


if __name__ == "__main__":
    main()
