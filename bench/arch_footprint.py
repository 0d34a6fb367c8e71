#!/usr/bin/env python3
"""Image size, static memory and boot-to-ready of the service VM per port and C library.

    bench/arch_footprint.py [--uvhostd build/host/uvhostd] [--runs 5]
                            [--builds aarch64:build/aarch64,arm32:build/arm32,...]

For each build (arch:dir, default aarch64+picolibc, arm32+newlib and
arm32+picolibc) it reads text/data/bss with the toolchain's `size`, then
boots the image --runs times under QEMU (TCG) with the demo's configuration
(uvhostd as the vsock device, two 4 MiB ivshmem windows, virtio-rng,
`vhost=5000:blk:16M,5001:rng`) and reads the VM's own numbers: the image
bytes of the `budget` line, `mem_static_bytes` from the control service's
`stats` (image plus every pool, RAM disk excluded), and "ready in N ms" (the
guest's counter since reset), with the host's wall clock from QEMU's start
to that line beside it. Medians over the runs; a markdown table for
bench/RESULTS.md. Reuses tests/system/run_system.py (arch table, vsock_vm).
"""
import argparse
import os
import statistics
import sys
import types

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
import run_system as rs  # noqa: E402

DEFAULT_BUILDS = "aarch64:build/aarch64,arm32:build/arm32,arm32:build/arm32-picolibc"
APPEND = "log=info ctl=%d vhost=5000:blk:16M,5001:rng" % rs.CTL_PORT


def one_boot(args, image):
    windows = [rs.ShmWindow("w0", 4 << 20, 1), rs.ShmWindow("w1", 4 << 20, 2)]
    try:
        with rs.vsock_vm(args, windows, echo=False, append=APPEND) as (vm, dev):
            st = rs.stats_now(dev)
            m = vm.find_all(r"budget: image (\d+) bytes")
            banner = vm.find_all(r"uvhost service VM \S+ \((\S+), (\S+)\)")[0]
            return {"ready_ms": vm.ready_ms, "wall_ms": vm.ready_wall_ms,
                    "static": st["mem_static_bytes"], "image": int(m[0].group(1)),
                    "name": "%s + %s" % (banner.group(1), banner.group(2))}
    finally:
        for w in windows:
            w.remove()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uvhostd", default=os.path.join(ROOT, "build", "host", "uvhostd"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--builds", default=DEFAULT_BUILDS)
    a = ap.parse_args()
    rows = []
    for spec in a.builds.split(","):
        arch, d = spec.split(":")
        image = os.path.join(ROOT, d, "uvhost.elf")
        rs.ARCH = rs.ARCHES[arch]
        args = types.SimpleNamespace(image=image, uvhostd=a.uvhostd, keep=False)
        text, data, bss = rs.image_sizes(image)
        boots = [one_boot(args, image) for _ in range(a.runs)]
        r = boots[0]
        rows.append((r["name"], text, data, bss, r["image"],
                     statistics.median(b["static"] for b in boots),
                     statistics.median(b["ready_ms"] for b in boots),
                     min(b["ready_ms"] for b in boots), max(b["ready_ms"] for b in boots),
                     statistics.median(b["wall_ms"] for b in boots)))
        print("%s: %d boots done" % (r["name"], a.runs), file=sys.stderr)
    print("| port + C library | text | data | bss | image (symbols) | `mem_static_bytes` "
          "| ready (guest, median [min-max]) | QEMU start to ready (wall, median) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n, t, d, b, img, st, rm, lo, hi, wm in rows:
        print("| %s | %s | %s | %s | %s | %s (%d KiB) | %d ms [%d-%d] | %d ms |"
              % (n, f"{t:,}", f"{d:,}", f"{b:,}", f"{img:,}", f"{int(st):,}", int(st) >> 10,
                 rm, lo, hi, wm))
    return 0


if __name__ == "__main__":
    sys.exit(main())
