#!/usr/bin/env python3
"""Echo throughput: the uvhost service VM next to a Linux guest, same rig.

    echo_compare.py [--mib 16] [--runs 2] [--image ...] [--uvhostd ...]

Both guests sit behind the same uvhostd vsock device (vhost-user-vsock-pci,
hybrid vsock on the host) and answer the same line protocol on port 1024
("echo <text>" -> "<text>"); the host runs the same pipelined echo client
(tests/system/vsock_host.py: echo_stream, 4090-byte lines, every reply
checked) against each:
  - unikernel: build/aarch64/uvhost.elf, qemu-system-aarch64 virt, TCG, 1 vCPU;
  - Linux: the interop rig's guest (tests/interop/run_interop.py, scenario
    vsock with 1 MiB for its other phases): Debian's kernel and the busybox
    initramfs of scripts/setup.sh, qemu-system-x86_64 q35, TCG, 2 vCPUs,
    tests/interop/guest/uvvsock.c's echo server.
Both run under TCG, so the numbers compare software paths on this machine,
not hardware. Run by hand; never from ctest. Prints a table at the end.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))

import run_interop  # noqa: E402
import run_system  # noqa: E402
from vsock_host import CTL_PORT, ECHO_LINE, MiB, VsockError, echo_stream  # noqa: E402


def run_unikernel(a):
    out = []
    ns = argparse.Namespace(image=a.image, uvhostd=a.uvhostd, keep=False)
    with run_system.vsock_vm(ns, echo=False) as (vm, dev):
        for i in range(a.runs):
            s = dev.connect(CTL_PORT)
            r = echo_stream(s, a.mib * MiB, line_len=a.line_len, seed=i)
            s.close()
            print("unikernel run %d: %.1f MiB/s, %.0f lines/s" % (i, r["mib_s"], r["lines_s"]),
                  flush=True)
            out.append(r)
    return out


def run_linux(a):
    """The interop rig's vsock scenario, with its echo phase replaced by
    echo_stream (the guest's echo server serves one connection: one run)."""
    sc = dict(run_interop.SCENARIOS["vsock"], vsock_mib=1, vsock_conns=1)
    run_interop.SCENARIOS["vsock_echo_compare"] = sc
    args = argparse.Namespace(
        backend="uvhostd", uvhostd=a.uvhostd, qsd="qemu-storage-daemon", qemu=a.qemu_x86,
        guest_dir=a.guest_dir, timeout=300, disk_mib=64, smp=0, downtime=1.0, freeze=0.3,
        append=[], no_trace=True, console=False, kernel_verbose=False, keep=False, tmpdir=None,
        log_lines=15, demo=False)
    rig = run_interop.Rig("vsock_echo_compare", args)
    out = []

    def echo(port, *_):
        s, _hp = rig.vsock.connect(port)
        try:
            r = echo_stream(s, a.mib * MiB, line_len=a.line_len, seed=0)
        except VsockError as e:
            rig.vsock.fail("echo: %s" % e)
            return
        finally:
            s.close()
        print("linux run 0: %.1f MiB/s, %.0f lines/s" % (r["mib_s"], r["lines_s"]), flush=True)
        out.append(r)

    rig.vsock.echo = echo
    ok = False
    try:
        rig.preflight()
        rig.run()
        ok = rig.result == "PASS" and not rig.host_failures
        if not ok:
            print("linux guest: result %s, host failures %s" % (rig.result, rig.host_failures))
    finally:
        rig.cleanup(ok)
    return out if ok else []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "aarch64", "uvhost.elf"))
    ap.add_argument("--uvhostd", default=os.path.join(ROOT, "build", "host", "uvhostd"))
    ap.add_argument("--guest-dir", default=os.path.join(ROOT, "build", "guest"))
    ap.add_argument("--qemu-x86", default="qemu-system-x86_64")
    ap.add_argument("--mib", type=int, default=16, help="MiB echoed per run")
    ap.add_argument("--runs", type=int, default=2, help="unikernel runs (Linux: one)")
    ap.add_argument("--line-len", type=int, default=ECHO_LINE)
    ap.add_argument("--skip-linux", action="store_true")
    a = ap.parse_args()

    rows = []
    t0 = time.monotonic()
    uk = run_unikernel(a)
    rows.append(("uvhost unikernel (aarch64 TCG, 1 vCPU)", uk))
    if not a.skip_linux:
        try:
            lx = run_linux(a)
        except (run_interop.Skip, run_interop.Fail) as e:
            print("linux guest: %s" % e)
            lx = []
        rows.append(("Linux 6.1 guest (x86_64 TCG, 2 vCPUs)", lx))

    print("\necho through uvhostd's vsock device, %d MiB per run, %d-byte lines, pipelined"
          % (a.mib, a.line_len))
    print("%-40s %5s %10s %10s" % ("guest", "runs", "MiB/s", "lines/s"))
    for name, rs in rows:
        if not rs:
            print("%-40s %5s %10s %10s" % (name, 0, "-", "-"))
            continue
        best = max(rs, key=lambda r: r["mib_s"])
        print("%-40s %5d %10.1f %10.0f" % (name, len(rs), best["mib_s"], best["lines_s"]))
    print("(best run each; total %.0f s)" % (time.monotonic() - t0))
    return 0 if all(rs for _, rs in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
