#!/usr/bin/env python3
"""What a notification costs between the guest and the service VM (issue 13).

One guest workload (tests/interop/guest/notify.sh: 4 KiB O_DIRECT reads at queue depth 1
and 32, then an idle spell), the real rig (QEMU x86_64 guest -> uvhost-gw -> service VM
under QEMU aarch64, TCG), three ways of notifying:

  doorbell  uvhost-gw --doorbell: the kick eventfd is one of the VM's ivshmem-doorbell
            vectors (an MSI-X interrupt, no process in between), the VM rings the call
            eventfd through the doorbell register (docs/vsock-transport.md 4.1);
  inband    kicks as VRING_KICK and calls as BACKEND_VRING_CALL over vsock (the default);
  polling   uvhost-gw --poll-kicks: no kick at all, the VM finds requests by polling
            (vm poll_us=100000: it keeps spinning 100 ms after the last work); calls in-band.

The idle spell is measured on the VM's own counters (control `stats`, sampled by the rig
at the guest's idle-start / idle-end): loop turns per second, and the share of time
outside the loop's turns (the VM is in WFI then).

    bench/notify.py [--runs 2] [--build build]

Runs the modes interleaved, prints each run and the load, then a Markdown table of medians
for bench/RESULTS.md. By hand only; nothing is asserted.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")

MODES = [
    ("doorbell", ["--doorbell"], ""),
    ("inband", [], ""),
    ("polling", ["--poll-kicks"], "poll_us=100000"),
]


def run(mode, flags, svm_args, build):
    argv = [sys.executable, os.path.join(ROOT, "tests", "interop", "run_interop.py"), "notify",
            "--backend", "gateway", "--no-trace", "--timeout", "300",
            "--uvhostd", os.path.join(build, "host", "uvhostd"),
            "--gw", os.path.join(build, "host", "uvhost-gw"),
            "--vm-image", os.path.join(build, "aarch64", "uvhost.elf"),
            "--guest-dir", os.path.join(build, "guest")] + flags
    env = dict(os.environ, UVTEST_SVM_ARGS=svm_args)
    out = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=400).stdout
    r = {}
    m = re.search(r"bench qd1: .*: (\d+) us per read", out)
    r["qd1_us"] = int(m.group(1)) if m else None
    m = re.search(r"bench qd32: .*: (\d+) IOPS", out)
    r["qd32_iops"] = int(m.group(1)) if m else None
    m = re.search(r"idle [\d.]+ s: (\d+) turns/s, ([\d.]+)% of the time outside turns", out)
    r["idle_turns"] = int(m.group(1)) if m else None
    r["idle_wfi"] = float(m.group(2)) if m else None
    m = re.search(r"notifications: vhost_doorbell_irqs (\d+), vhost_doorbell_rings (\d+), "
                  r"vhost_inband_kicks (\d+), vhost_inband_calls (\d+)", out)
    r["counters"] = tuple(int(x) for x in m.groups()) if m else None
    r["pass"] = "result: PASS" in out
    if not r["pass"] or None in r.values():
        print("---- %s: incomplete run ----\n%s" % (mode, out[-3000:]), file=sys.stderr)
    return r


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    # Interleaved (doorbell, inband, polling, doorbell, ...): on a shared
    # machine the load drifts, and it should not favour one mode.
    got = {name: [] for name, _, _ in MODES}
    for i in range(a.runs):
        for name, flags, svm in MODES:
            r = run(name, flags, svm, a.build)
            print("%s run %d: %s (load %.1f)" % (name, i + 1, r, os.getloadavg()[0]),
                  file=sys.stderr)
            got[name].append(r)
    rows = []
    for name, _, _ in MODES:
        rs = got[name]
        c = rs[-1]["counters"] or (0, 0, 0, 0)
        rows.append((name, med(r["qd1_us"] for r in rs), med(r["qd32_iops"] for r in rs),
                     med(r["idle_turns"] for r in rs), med(r["idle_wfi"] for r in rs), c))
    print("| mode | qd 1 latency (us/read) | qd 32 IOPS | idle: turns/s | idle: time in WFI "
          "| VM counters: doorbell irqs / rings, in-band kicks / calls |")
    print("|---|---:|---:|---:|---:|---|")
    for name, lat, iops, turns, wfi, c in rows:
        print("| %s | %.0f | %.0f | %.0f | %.1f%% | %d / %d, %d / %d |"
              % ((name, lat, iops, turns, wfi) + c))


if __name__ == "__main__":
    main()
