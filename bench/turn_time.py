#!/usr/bin/env python3
"""Turn time of the service VM's poll loop against the number of started rings.

    bench/turn_time.py [--image build/aarch64/uvhost.elf] [--uvhostd build/host/uvhostd]
                       [--host-bench build/host/tests/bench/bench_ring_poll]
                       [--counts 0,1,2,4,8,16,32,64] [--interval 1] [--samples 7]
                       [--modes plain,event_idx]

The pollers poll every started ring, so an idle ring still costs something on
every scheduler turn. This boots the unikernel under QEMU (aarch64 virt, TCG)
with `vhost=5000:blk:1M:q16`, connects all 4 sessions (the pool's size) and
starts 4 x 16 = 64 rings: NOFD kick and call, enabled, 8 entries, each in its
own 32 KiB of one ivshmem window. A ring count k is then made by leaving the
first k rings enabled and disabling the others (vu_backend_poll() skips a
disabled ring by the same test as a ring never started). For each k it reads
`stats` twice, --interval seconds apart: the mean turn time over that interval
is delta sched_turn_ns_total / delta sched_turns. The counts are visited in
--samples rounds, up then down, so that a slow drift of the host's load
cancels out. Per count it reports the lowest interval mean (the least
disturbed one: TCG shares the host with everything else, and a disturbance
only adds time), the median and the highest, turns per second, busy turns,
ns per ring and the least-squares slope. A row with no session connected
comes first: what the loop costs before any vhost work. Before and after the
rounds a GET_ID request on the first and on the last ring must complete, or
the numbers would describe rings nobody polls.

Modes: `plain` negotiates VERSION_1 only (what the system tests do);
`event_idx` adds VIRTIO_RING_F_EVENT_IDX, as a Linux driver would.

Then it runs the native micro-benchmark (tests/bench/bench_ring_poll.c, the
same rings around vu_backend_poll() on the host test platform) and prints its
table. Results and their reading: bench/RESULTS.md, "Turn time vs started
rings". Standard library only; reuses tests/system (run_system.py's
UvhostVM, vsock_vm and ShmWindow, vhost_frontend.py, vhost_rings.py).
"""
import argparse
import os
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))

import run_system as rs  # noqa: E402
import vhost_frontend as vf  # noqa: E402
import vhost_rings as vr  # noqa: E402
from vsock_host import CTL_PORT  # noqa: E402

SESSIONS = 4
PORT = 5000
MODES = {"plain": vf.F_VERSION_1 | vf.F_PROTOCOL_FEATURES,
         "event_idx": vf.F_VERSION_1 | vf.F_PROTOCOL_FEATURES | vr.F_RING_EVENT_IDX}
PF = vf.PF_REPLY_ACK | vf.PF_WINDOW_ADDR | vf.PF_CONFIGURE_MEM_SLOTS | vr.PF_MQ


def interval(c, seconds):
    """One interval between two `stats`: (mean turn ns, turns/s, busy turns,
    sched_turn_ns_max since boot)."""
    a = c.stats()
    t0 = time.monotonic()
    time.sleep(seconds)
    b = c.stats()
    dt = time.monotonic() - t0
    turns = b["sched_turns"] - a["sched_turns"]
    if turns <= 0:
        raise rs.TestFailure("the scheduler did not turn in %.1f s" % dt)
    return ((b["sched_turn_ns_total"] - a["sched_turn_ns_total"]) / turns, turns / dt,
            b["sched_busy_turns"] - a["sched_busy_turns"], b["sched_turn_ns_max"])


def summary(samples):
    """The row of a list of interval() results: the lowest mean (the row's
    figure), the median and the highest, turns/s, busy turns."""
    means = [x[0] for x in samples]
    return {"mean": min(means), "med": statistics.median(means), "hi": max(means),
            "rate": statistics.median(x[1] for x in samples),
            "busy": sum(x[2] for x in samples), "max": samples[-1][3]}


def prove_polled(fe_ring_pairs, win):
    """GET_ID through each (frontend, ring): served only if the ring is polled."""
    for _, ring in fe_ring_pairs:
        st, ulen, got = vr.blk_request(ring, win, vr.T_GET_ID, 0, nbytes=20)
        if st != 0 or ulen != 21 or not got.startswith(b"uvhost-vm-%d" % PORT):
            raise rs.TestFailure("GET_ID through a started ring: status %d, %d bytes, %r"
                                 % (st, ulen, got))


def set_enabled(fes, rings, state, k):
    """Rings [0, k) enabled, the others disabled; returns when every session
    has handled its messages (a reply comes after all earlier requests)."""
    for j, (fe, _) in enumerate(rings):
        want = j < k
        if state[j] != want:
            fe.send(vf.SET_VRING_ENABLE, struct.pack("<II", j % vr.QUEUES, int(want)))
            state[j] = want
    for fe in fes:
        fe.call_u64(vr.GET_QUEUE_NUM)


def sweep(args, dev, c, win, win_size, features):
    """Connect the sessions, start every ring, then sample each count in
    interleaved rounds by enabling the first k rings (a disabled ring is
    skipped by the same test as one never started: started && enabled)."""
    fes = []
    samples = {k: [] for k in args.counts}
    try:
        for _ in range(SESSIONS):
            fe = vf.Frontend(dev.connect(PORT))
            vr.negotiate(fe, PF, features)
            if fe.call_u64(vr.GET_QUEUE_NUM) != vr.QUEUES:
                raise rs.TestFailure("GET_QUEUE_NUM is not %d" % vr.QUEUES)
            vr.add_window(fe, win_size)
            fes.append(fe)
        rings = []
        for j in range(max(args.counts)):
            fe = fes[j // vr.QUEUES]
            rings.append((fe, vr.start_ring(fe, win, j, j % vr.QUEUES)))
        state = [True] * len(rings)
        if rings:  # every started ring is polled, or the numbers mean nothing
            prove_polled([rings[0], rings[-1]], win)
        for rnd in range(args.samples):
            # Up, then down: slow drifts of the host's load cancel out.
            for k in (args.counts if rnd % 2 == 0 else args.counts[::-1]):
                set_enabled(fes, rings, state, k)
                time.sleep(args.settle)
                samples[k].append(interval(c, args.interval))
            print("  round %d of %d: %s" % (rnd + 1, args.samples, " ".join(
                "%d:%.0f" % (k, samples[k][-1][0]) for k in args.counts)), flush=True)
        set_enabled(fes, rings, state, len(rings))
        if rings:
            prove_polled([rings[0], rings[-1]], win)
    finally:
        for fe in fes:
            fe.sock.close()
    rows = []
    for k in args.counts:
        r = summary(samples[k])
        r["rings"] = k
        rows.append(r)
    return rows


def slope(rows):
    """Least-squares ns per ring over the rows."""
    xs = [r["rings"] for r in rows]
    ys = [r["mean"] for r in rows]
    n = len(xs)
    sx, sy = sum(xs), sum(ys)
    sxx = sum(x * x for x in xs)
    sxy = sum(x * y for x, y in zip(xs, ys))
    den = n * sxx - sx * sx
    return (n * sxy - sx * sy) / den if den else float("nan")


def print_table(title, base, rows):
    print("\n%s\n" % title)
    print("| rings | turns/s | mean turn ns, best sample | median | worst | ns/ring over 0 rings "
          "| busy turns | max turn ns since boot |")
    print("|------:|--------:|--------------------------:|-------:|------:|--------------------:"
          "|-----------:|-----------------------:|")
    if base:
        print("| no session | %.0f | %.0f | %.0f | %.0f | - | %d | %d |"
              % (base["rate"], base["mean"], base["med"], base["hi"], base["busy"], base["max"]))
    zero = next((r["mean"] for r in rows if r["rings"] == 0), None)
    for r in rows:
        per = "-" if not r["rings"] or zero is None else "%.0f" % ((r["mean"] - zero) / r["rings"])
        print("| %d | %.0f | %.0f | %.0f | %.0f | %s | %d | %d |"
              % (r["rings"], r["rate"], r["mean"], r["med"], r["hi"], per, r["busy"], r["max"]))
    print("\nleast-squares slope: %.1f ns per started ring" % slope(rows))


def measure_vm(args):
    top = max(args.counts)
    win_size = 1 << 20
    while win_size < top * vr.RING_STRIDE:
        win_size <<= 1
    windows = [rs.ShmWindow("w0", win_size, 51)]
    win = None
    results = {}
    append = "log=info ctl=%d idle_us=%d vhost=%d:blk:1M:q%d" % (CTL_PORT, args.idle_us, PORT,
                                                                vr.QUEUES)
    try:
        with rs.vsock_vm(args, windows, echo=args.verbose, append=append) as (vm, dev):
            win = vf.WindowFile(windows[0].path, windows[0].size)
            c = rs.ctl(dev)
            print("VM: %s; %d sessions x %d queues, window %d KiB" % (append, SESSIONS,
                                                                      vr.QUEUES, win_size >> 10))
            print("no session:", flush=True)
            time.sleep(args.settle)
            base = summary([interval(c, args.interval) for _ in range(args.samples)])
            print("  %8.0f ns mean turn (median %.0f), %6.0f turns/s"
                  % (base["mean"], base["med"], base["rate"]))
            for mode in args.modes:
                print("%s:" % mode, flush=True)
                results[mode] = sweep(args, dev, c, win, win_size, MODES[mode])
                vm.drain(0.5)
            c.close()
    finally:
        if win:
            win.close()
        for w in windows:
            w.remove()
    for mode in args.modes:
        print_table("Service VM (QEMU aarch64 TCG), idle_us=%d, %s: %d x %.1f s samples per row"
                    % (args.idle_us, mode, args.samples, args.interval), base, results[mode])


def run_host_bench(args):
    if not args.host_bench:
        return
    if not os.access(args.host_bench, os.X_OK):
        print("\nno host micro-benchmark at %s (cmake --build build/host --target "
              "bench_ring_poll); skipped" % args.host_bench)
        return
    print("\nHost, native (%s):\n" % args.host_bench, flush=True)
    r = subprocess.run([args.host_bench] + ([str(args.host_rounds)] if args.host_rounds else []))
    if r.returncode:
        raise rs.TestFailure("%s failed (%d)" % (args.host_bench, r.returncode))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "aarch64", "uvhost.elf"))
    ap.add_argument("--uvhostd", default=os.path.join(ROOT, "build", "host", "uvhostd"))
    ap.add_argument("--host-bench", default=os.path.join(ROOT, "build", "host", "tests", "bench",
                                                         "bench_ring_poll"),
                    help="native micro-benchmark ('' to skip)")
    ap.add_argument("--host-rounds", type=int, default=0, help="rounds per run for it")
    ap.add_argument("--counts", default="0,1,2,4,8,16,32,64",
                    help="started ring counts, ascending, at most %d" % (SESSIONS * vr.QUEUES))
    ap.add_argument("--modes", default="plain,event_idx", help="of: %s" % ",".join(MODES))
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between two samples")
    ap.add_argument("--samples", type=int, default=7,
                    help="rounds: intervals per ring count, interleaved")
    ap.add_argument("--settle", type=float, default=0.2, help="seconds before sampling")
    ap.add_argument("--idle-us", type=int, default=500, help="the VM's idle_us boot argument")
    ap.add_argument("--no-vm", action="store_true", help="only the host micro-benchmark")
    ap.add_argument("--verbose", action="store_true", help="echo the VM console")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    args.counts = [int(x) for x in args.counts.split(",")]
    args.modes = args.modes.split(",")
    if (args.counts != sorted(args.counts) or args.counts[0] < 0
            or args.counts[-1] > SESSIONS * vr.QUEUES):
        ap.error("--counts: ascending, 0..%d" % (SESSIONS * vr.QUEUES))
    if any(m not in MODES for m in args.modes):
        ap.error("--modes: of %s" % ",".join(MODES))
    try:
        if not args.no_vm:
            if not os.path.isfile(args.image):
                ap.error("no image at %s" % args.image)
            measure_vm(args)
        run_host_bench(args)
    except (rs.TestFailure, vf.FrontendError, OSError) as e:
        print("FAIL: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
