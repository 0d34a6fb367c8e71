#!/usr/bin/env python3
"""System tests of the uvhost service-VM unikernel under QEMU (aarch64 or arm32 virt, TCG).

    run_system.py [--arch aarch64|arm32] [--image build/<arch>/uvhost.elf]
                  [--uvhostd build/host/uvhostd] TEST
    run_system.py --demo      (the same as TEST = demo)

Tests: boot, crash_report, vsock_control, vsock_echo, vsock_many, vhost_basic, vhost_robust,
vhost_rings, vhost_rng, vhost_shmem; demo boots the VM with the vsock device and two windows
and tells what happens.

Exit codes: 0 pass, 1 fail (also when qemu-system-aarch64 or the image is
missing), 77 skipped (only with UVTEST_ALLOW_SKIP=1, see tests/uvtest_env.py).

What QEMU runs (see apps/uvhost-vm/main.c for the boot sequence):

    qemu-system-aarch64 -M virt -cpu cortex-a57 -m 128M -nographic \
      -kernel build/aarch64/uvhost.elf -append "log=info ..." \
      -object memory-backend-file,id=w0,mem-path=/dev/shm/<f0>,size=1M,share=on \
      -device ivshmem-plain,memdev=w0 \
      -object memory-backend-file,id=w1,mem-path=/dev/shm/<f1>,size=4M,share=on \
      -device ivshmem-plain,memdev=w1 \
      -device virtio-rng-pci,disable-legacy=on

Memory map of the guest (QEMU virt; the unikernel reads it from the DTB):
    0x0800_0000     GICv2 (distributor, then CPU interface at 0x0801_0000)
    0x0900_0000     PL011 UART: the console this harness reads
    0x1000_0000     PCI 32-bit MMIO window
    0x4000_0000     RAM, DTB first; image at 0x4020_0000
    0x40_1000_0000  PCIe ECAM
    0x80_0000_0000  PCI 64-bit MMIO window: ivshmem BAR2 = window i (PCI order)

Reuse: UvhostVM launches the image with any extra QEMU arguments and waits
for console lines; ShmWindow makes a /dev/shm file with a known pattern and
CRC-32 and gives the matching -object/-device arguments. A new test is a
function taking the parsed args and returning nothing (raise TestFailure).
"""
import argparse
import contextlib
import os
import queue
import random
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import struct
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import uvtest_env  # noqa: E402
import vhost_corpus
import vhost_frontend as vf
import vhost_isolation
import vhost_rings
import vhost_rng
import vhost_session
import vhost_vdisk
import vhost_shmem
import demo_story
from vsock_host import (CTL_PORT, ECHO_LINE, MiB, EchoLines, LineClient, VsockDevice,
                        VsockError, echo_stream)

# The ports the tests run (--arch): QEMU binary, machine, CPU, the size tool
# of the image's toolchain. arm32 keeps every device below 4 GiB
# (highmem=off): the 32-bit VM identity-maps physical memory and refuses
# what it cannot address (docs/arm32.md).
ARCHES = {
    "aarch64": {"qemu": "qemu-system-aarch64", "machine": "virt", "cpu": "cortex-a57",
                "size": "aarch64-linux-gnu-size"},
    "arm32": {"qemu": "qemu-system-arm", "machine": "virt,highmem=off", "cpu": "cortex-a15",
              "size": "arm-none-eabi-size"},
}
ARCH = ARCHES["aarch64"]  # main() sets the one --arch names
QEMU = ARCH["qemu"]  # the binary, for modules that check it is installed (gateway_rig)


class TestFailure(Exception):
    pass


class ShmWindow:
    """A /dev/shm file filled with a seeded random pattern, shared with the VM
    through ivshmem-plain. `crc` is zlib's CRC-32 of its whole contents."""

    def __init__(self, name, size, seed):
        self.id = name
        self.size = size
        self.path = "/dev/shm/uvhost-sys-%d-%s" % (os.getpid(), name)
        data = random.Random(seed).randbytes(size)
        with open(self.path, "wb") as f:
            f.write(data)
        self.crc = zlib.crc32(data)

    def qemu_args(self):
        return ["-object",
                "memory-backend-file,id=%s,mem-path=%s,size=%d,share=on"
                % (self.id, self.path, self.size),
                "-device", "ivshmem-plain,memdev=%s" % self.id]

    def rewrite(self, seed):
        """New contents, written through the file the VM maps."""
        data = random.Random(seed).randbytes(self.size)
        with open(self.path, "r+b") as f:
            f.write(data)
        self.crc = zlib.crc32(data)

    def remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class UvhostVM:
    """One QEMU running the unikernel; the console is collected line by line
    by a reader thread so that wait_for() can time out."""

    def __init__(self, image, append="", extra=(), memory="128M", echo=True, machine=None):
        self.argv = [ARCH["qemu"], "-M", machine or ARCH["machine"], "-cpu", ARCH["cpu"],
                     "-m", memory,
                     "-nographic",
                     "-no-reboot", "-kernel", image, "-append", append] + list(extra)
        self.echo = echo
        self.lines = []
        self._q = queue.Queue()
        self.proc = None
        self.t0 = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, pattern, timeout=60):
        """Return the re.Match of the first new console line matching
        `pattern`; raise TestFailure on timeout or if QEMU exits."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("timed out after %ds waiting for /%s/" % (timeout, pattern))
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise TestFailure("QEMU exited (%s) before /%s/" % (self.proc.poll(), pattern))
            self.lines.append(line)
            if self.echo:
                print("  | " + line)
            m = rx.search(line)
            if m:
                return m

    def drain(self, settle=0.2):
        """Collect the console lines printed so far (waiting `settle`
        seconds for stragglers) without expecting any."""
        deadline = time.monotonic() + settle
        while True:
            try:
                line = self._q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            if line is None:
                self._q.put(None)  # wait_for() must still see the exit
                return
            self.lines.append(line)
            if self.echo:
                print("  | " + line)

    def find_all(self, pattern):
        rx = re.compile(pattern)
        return [m for m in (rx.search(line) for line in self.lines) if m]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def image_sizes(image):
    """text, data, bss of the image (the toolchain's size, Berkeley format)."""
    tool = shutil.which(ARCH["size"]) or shutil.which("size")
    out = subprocess.run([tool, image], check=True, capture_output=True, text=True).stdout
    text, data, bss = out.splitlines()[1].split()[:3]
    return int(text), int(data), int(bss)


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def test_boot(args):
    windows = [ShmWindow("w0", 1 << 20, 1), ShmWindow("w1", 4 << 20, 2)]
    extra = []
    for w in windows:
        extra += w.qemu_args()
    extra += ["-device", "virtio-rng-pci,disable-legacy=on"]
    try:
        with UvhostVM(args.image, "log=info ctl=1024 vhost=5000:blk:64M,5001:rng bogus=1",
                      extra) as vm:
            vm.wait_for(r"uvhost service VM \S+", 30)
            vm.wait_for(r"W: bootargs: 'bogus=1' ignored: unknown key")
            m = vm.wait_for(r"I: bootargs: .*\(ctl port (\d+), (\d+) vhost listeners")
            check(m.group(1) == "1024" and m.group(2) == "2", "bootargs parsed: " + m.group(0))
            vm.wait_for(r"I: memory: 128 MiB at 0x40000000")
            vm.wait_for(r"I: pci: \d+ functions")
            for i, w in enumerate(windows):
                check(vm.find_all(r"pci 00:0%d\.0 1af4:1110 class 050000 .*BAR2=0x[0-9a-f]+\+%#x/64/pf"
                                  % (i + 2, w.size)), "ivshmem %d BAR2 of %d bytes assigned"
                      % (i, w.size))
            m = vm.wait_for(r"virtio-rng: negotiated features (0x[0-9a-f]+) \(VERSION_1\), "
                            r"queue 0 max (\d+)")
            check(int(m.group(1), 16) & (1 << 32), "VERSION_1 negotiated")
            check(int(m.group(2)) > 0, "queue 0 has a size")
            check(vm.find_all(r"virtio \S+: device 0x1044, 1 queues, notify x4"),
                  "virtio-rng probed through its capabilities")
            m = vm.wait_for(r"virtio-rng: request done, (\d+) random bytes")
            check(int(m.group(1)) > 0, "the entropy pool's first fill: " + m.group(0))
            for i, w in enumerate(windows):
                m = vm.wait_for(r"window %d: base (0x[0-9a-f]+) size (\d+)(.*)" % i)
                check(int(m.group(2)) == w.size,
                      "window %d size %s, host made %d" % (i, m.group(2), w.size))
                # The VM does not read guest memory at boot: checksums are
                # the `windows` command's (system_vsock_control).
                check(m.group(3).strip() == "", "window %d: the boot log read the window: %r"
                      % (i, m.group(3)))
            vm.wait_for(r"windows: 2")
            m = vm.wait_for(r"ready in (\d+) ms")
            ready_ms = int(m.group(1))
            host_ms = (time.monotonic() - vm.t0) * 1000
            errors = vm.find_all(r"\] E: |PANIC|CRASH")
            check(not errors, "errors on the console: %s" % [e.string for e in errors])
    finally:
        for w in windows:
            w.remove()
    print("boot-to-ready: %d ms (guest counter), %d ms wall clock on the host"
          % (ready_ms, host_ms))


def crash_report_arm32(vm):
    """The arm32 report: DFSR/DFAR (LPAE format), PC, CPSR, r0-r12."""
    vm.wait_for(r"\*\*\* CRASH: data abort exception from SVC mode")
    m = vm.wait_for(r"DFSR ([0-9a-f]{8})  FS 0x([0-9a-f]{2}): translation fault \(level [123]\)")
    check(int(m.group(1), 16) & (1 << 9), "DFSR in the long-descriptor (LPAE) format")
    vm.wait_for(r"DFAR 0dead000")
    m = vm.wait_for(r"PC   ([0-9a-f]{8})")
    check(0x40200000 <= int(m.group(1), 16) < 0x40600000, "PC points into the image text")
    m = vm.wait_for(r"CPSR ([0-9a-f]{8})")
    check(int(m.group(1), 16) & 0x1f == 0x13, "the fault came from SVC mode")
    vm.wait_for(r"SP   [0-9a-f]{8}  LR   [0-9a-f]{8}")
    for r in range(0, 12, 2):
        vm.wait_for(r"r%-2d [0-9a-f]{8}  r%-2d [0-9a-f]{8}" % (r, r + 1))
    vm.wait_for(r"r12 [0-9a-f]{8}")
    vm.wait_for(r"\*\*\* halted \*\*\*")
    check(not vm.find_all(r"ready in"), "a crashing boot never reports ready")


def test_crash_report(args):
    with UvhostVM(args.image, "crashtest=1") as vm:
        vm.wait_for(r"crashtest: reading 0xdead000", 30)
        if ARCH is ARCHES["arm32"]:
            crash_report_arm32(vm)
            return
        vm.wait_for(r"\*\*\* CRASH: synchronous exception from EL1")
        m = vm.wait_for(r"ESR  ([0-9a-f]{16})  EC 0x25: data abort")
        check(int(m.group(1), 16) >> 26 == 0x25, "ESR class is a data abort")
        vm.wait_for(r"ISS 0x[0-9a-f]+: translation fault")
        vm.wait_for(r"FAR  000000000dead000")
        m = vm.wait_for(r"ELR  ([0-9a-f]{16})")
        check(0x40200000 <= int(m.group(1), 16) < 0x40600000, "ELR points into the image text")
        vm.wait_for(r"SPSR [0-9a-f]{16}")
        for r in range(0, 30, 2):
            vm.wait_for(r"x%-2d [0-9a-f]{16}  x%-2d [0-9a-f]{16}" % (r, r + 1))
        vm.wait_for(r"x30 [0-9a-f]{16}")
        vm.wait_for(r"\*\*\* halted \*\*\*")
        check(not vm.find_all(r"ready in"), "a crashing boot never reports ready")


def test_highmem(args):
    """QEMU virt with its devices above 4 GiB (highmem=on: ECAM at
    0x40_1000_0000, 64-bit PCI window at 0x80_0000_0000). aarch64 reaches
    them; the 32-bit VM must refuse them with a clear error, never truncate
    the addresses, and still come up."""
    w = ShmWindow("w0", 1 << 20, 3)
    try:
        with UvhostVM(args.image, "log=info", w.qemu_args(), machine="virt,highmem=on") as vm:
            m = vm.wait_for(r"I: pci: ECAM (0x[0-9a-f]+)\+", 30)
            check(int(m.group(1), 16) >= 1 << 32, "ECAM above 4 GiB: " + m.group(0))
            if ARCH is ARCHES["arm32"]:
                vm.wait_for(r"E: pci: ECAM at %s is beyond this VM's 32-bit address space"
                            % m.group(1))
                vm.wait_for(r"windows: 0")
            else:
                vm.wait_for(r"I: pci: \d+ functions")
                vm.wait_for(r"windows: 1")
            vm.wait_for(r"ready in \d+ ms")
            crashes = vm.find_all(r"PANIC|CRASH")
            check(not crashes, "crashed: %s" % [c.string for c in crashes])
    finally:
        w.remove()


# ------------------------------------------------------------------ vsock --
# The VM's control service over virtio-vsock: uvhostd serves the device
# (vhost-user-vsock-pci) and its hybrid-vsock Unix socket is the host end.

VSOCK_CID = 3


@contextlib.contextmanager
def vsock_vm(args, windows=(), echo=True, append="log=info ctl=%d" % CTL_PORT, allow=(),
             ram_file=None, rng=True, disks=(), qemu_extra=()):
    """uvhostd --device vsock, then the VM with the vsock device and the
    given ShmWindows; yields (vm, dev) once the VM printed "ready". Console
    warnings matching a regex in `allow` (the test provoked them) pass.
    With `ram_file` the VM's RAM is that file (QEMU creates it; the caller
    removes it), not a memfd. With `rng` the VM gets a virtio-rng device:
    its rng listeners need one (kernel/include/kern/virtio_rng.h). `disks`:
    (image path, read_only, ",device=options") each a virtio-blk-pci disk
    (vd0 first), its QEMU drive id vd<N>. `qemu_extra`: more QEMU arguments
    (a QMP socket, say)."""
    if not args.uvhostd or not os.access(args.uvhostd, os.X_OK):
        raise TestFailure("no uvhostd binary at %r (build the host tree, or --uvhostd)"
                          % args.uvhostd)
    workdir = tempfile.mkdtemp(prefix="uvhost-sys-vsock-")
    dev = VsockDevice(args.uvhostd, workdir, cid=VSOCK_CID)
    vm = None
    try:
        dev.start()
        extra = dev.qemu_args(mem_path=ram_file)
        for w in windows:
            extra += w.qemu_args()
        if rng:
            extra += ["-device", "virtio-rng-pci,disable-legacy=on"]
        for k, (path, ro, opts) in enumerate(disks):
            extra += ["-drive", "file=%s,if=none,format=raw,id=vd%d%s"
                      % (path, k, ",readonly=on" if ro else ""),
                      "-device", "virtio-blk-pci,drive=vd%d,disable-legacy=on%s" % (k, opts)]
        extra += list(qemu_extra)
        vm = UvhostVM(args.image, append, extra, echo=echo)
        vm.start()
        vm.wait_for(r"uvhost service VM \S+", 30)
        m = vm.wait_for(r"I: vsock: guest cid (\d+), queues rx (\d+) tx (\d+)")
        check(int(m.group(1)) == VSOCK_CID, "guest cid %s, uvhostd gives %d"
              % (m.group(1), VSOCK_CID))
        vm.wait_for(r"I: vsock: listening on port %d" % CTL_PORT)
        m = vm.wait_for(r"ready in (\d+) ms")
        vm.ready_ms = int(m.group(1))
        vm.ready_wall_ms = (time.monotonic() - vm.t0) * 1000
        print("boot-to-ready: %d ms (guest counter), %d ms wall clock on the host"
              % (vm.ready_ms, vm.ready_wall_ms))
        yield vm, dev
        vm.drain()
        errors = [e for e in vm.find_all(r"\] E: |\] W: |PANIC|CRASH")
                  if not any(re.search(a, e.string) for a in allow)]
        check(not errors, "errors on the console: %s" % [e.string for e in errors])
        check(dev.proc.poll() is None, "uvhostd died: %s" % dev.log_tail())
    except (VsockError, OSError) as e:
        raise TestFailure("%s: %s\nuvhostd log tail:\n%s" % (type(e).__name__, e,
                                                              dev.log_tail()))
    finally:
        if vm:
            vm.stop()
        dev.stop()
        if args.keep:
            print("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def ctl(dev):
    return LineClient(dev.connect(CTL_PORT))


@contextlib.contextmanager
def ctl_later(dev, delay, line):
    """Send one control command `delay` seconds into the block (from a timer
    thread, while the caller runs something); yields the list its answer is
    appended to."""
    answers = []

    def send():
        c = ctl(dev)
        try:
            answers.append(c.cmd(line))
        finally:
            c.close()

    t = threading.Timer(delay, send)
    t.start()
    try:
        yield answers
    finally:
        t.cancel()
        t.join()


def check_stats_sane(st, where):
    for k in ("sched_turns", "vsock_rx_packets", "vsock_tx_packets", "vsock_conns_total",
              "vsock_errors", "pool_vsock_conns_used", "pool_vsock_conns_max",
              "pool_control_clients_used", "pool_control_clients_max", "control_lines",
              "control_stalls", "windows"):
        check(k in st, "%s: stats has no %s (%s)" % (where, k, sorted(st)))
    check(st["sched_turns"] > 0 and st["sched_busy_turns"] <= st["sched_turns"],
          "%s: scheduler counters %d busy of %d turns" % (where, st["sched_busy_turns"],
                                                          st["sched_turns"]))
    check(1 <= st["pool_vsock_conns_used"] <= st["pool_vsock_conns_max"],
          "%s: vsock pool %d of %d" % (where, st["pool_vsock_conns_used"],
                                       st["pool_vsock_conns_max"]))
    check(1 <= st["pool_control_clients_used"] <= st["pool_control_clients_max"],
          "%s: control pool %d of %d" % (where, st["pool_control_clients_used"],
                                         st["pool_control_clients_max"]))
    check(st["vsock_conns_total"] >= st["pool_vsock_conns_used"],
          "%s: %d connections ever, %d open" % (where, st["vsock_conns_total"],
                                                st["pool_vsock_conns_used"]))
    check(st["vsock_errors"] == 0, "%s: %d vsock protocol errors" % (where, st["vsock_errors"]))
    check(st["vsock_rx_packets"] > 0 and st["vsock_tx_packets"] > 0,
          "%s: packet counters %d rx %d tx" % (where, st["vsock_rx_packets"],
                                               st["vsock_tx_packets"]))


def check_windows(c, windows, where):
    got = c.windows()
    check(len(got) == len(windows), "%s: %d windows reported, host made %d"
          % (where, len(got), len(windows)))
    for (i, base, size, crc), w in zip(got, windows):
        check(size == w.size, "%s: window %d size %d, host made %d" % (where, i, size, w.size))
        check(crc == w.crc, "%s: window %d crc32 %08x, host computes %08x"
              % (where, i, crc, w.crc))
        print("window %d: base %#x size %d crc32 %08x (host %08x)" % (i, base, size, crc, w.crc))
    return got


def test_vsock_control(args):
    windows = [ShmWindow("w0", 1 << 20, 11), ShmWindow("w1", 2 << 20, 12)]
    try:
        with vsock_vm(args, windows) as (vm, dev):
            c = ctl(dev)
            banner = vm.find_all(r"uvhost service VM (\S+)")[0].group(1)
            v = c.cmd("version")
            check(v == "uvhost " + banner, "version %r, the banner says %r" % (v, banner))
            print("version: %s" % v)
            st = c.stats()
            check_stats_sane(st, "stats")
            check(st["windows"] == 2, "stats: %d windows" % st["windows"])
            check(st["control_lines"] >= 2, "stats: %d lines counted after version and stats"
                  % st["control_lines"])
            check_windows(c, windows, "windows")
            # The scheduler's pollers, with SPDK-style busy/idle accounting:
            # the vsock timeouts and the heartbeat are timed pollers.
            pollers = {}
            for ln in c.block("pollers"):
                name, period, runs, busy, busy_ns, idle_ns = ln.split()
                pollers[name] = (int(period), int(runs), int(busy), int(busy_ns), int(idle_ns))
            check(pollers.get("vsock-timeouts", (0,))[0] == 50000 and
                  pollers.get("heartbeat", (0,))[0] == 60000000,
                  "timed pollers: %s" % sorted(pollers.items()))
            check(pollers.get("vsock", (0, 0, 0))[1] > 0 and pollers["vsock"][2] > 0 and
                  pollers["vsock"][0] == 0, "the vsock poller runs every turn: %s"
                  % (pollers.get("vsock"),))
            print("pollers: " + ", ".join("%s (period %d us, %d runs, %d busy)"
                                          % (k, v[0], v[1], v[2])
                                          for k, v in sorted(pollers.items())))
            # The host rewrites window 1 through its file; the VM must see it.
            windows[1].rewrite(99)
            check_windows(c, windows, "windows after the host rewrote window 1")
            check(c.cmd("echo hello") == "hello", "echo hello")
            check(c.cmd("echo") == "", "a bare echo answers an empty line")
            r = c.cmd("frobnicate now")
            check(r.startswith("ERR "), "unknown command answered %r" % r)
            r = c.cmd("echo " + "x" * 6000)
            check(r == "ERR line too long", "a 6005-byte line answered %r" % r[:40])
            # Exactly the limit (4096 bytes before the newline) still works.
            t = "y" * (4096 - 5)
            check(c.cmd("echo " + t) == t, "a 4096-byte line is echoed")
            check(c.cmd("version") == v, "the connection works after a too-long line")
            st2 = c.stats()
            check_stats_sane(st2, "stats again")
            check(st2["control_lines"] >= st["control_lines"] + 7,
                  "control_lines %d -> %d after 7 more lines" % (st["control_lines"],
                                                                  st2["control_lines"]))
            check(st2["vsock_rx_bytes"] > st["vsock_rx_bytes"], "rx bytes grew")
            c.close()
    finally:
        for w in windows:
            w.remove()


def stats_now(dev):
    c = ctl(dev)
    try:
        return c.stats()
    finally:
        c.close()


def test_vsock_echo(args):
    total = args.echo_mib * MiB
    with vsock_vm(args) as (vm, dev):
        base = stats_now(dev)
        s = dev.connect(CTL_PORT)
        r = echo_stream(s, total, corrupt_expect=args.inject_mismatch)
        s.close()
        print("echo, full speed: %d lines of %d bytes, %d bytes back, crc32 %08x = %08x, "
              "%.2f s: %.2f MiB/s, %.0f lines/s"
              % (r["lines"], ECHO_LINE, r["bytes"], r["crc_recv"], r["crc_sent"], r["seconds"],
                 r["mib_s"], r["lines_s"]))
        mid = stats_now(dev)
        s = dev.connect(CTL_PORT)
        r2 = echo_stream(s, total, slow_s=args.slow_s, seed=8)
        s.close()
        print("echo, slow reader for %.1f s: %d lines, crc32 %08x = %08x, %.2f s: %.2f MiB/s"
              % (args.slow_s, r2["lines"], r2["crc_recv"], r2["crc_sent"], r2["seconds"],
                 r2["mib_s"]))
        end = stats_now(dev)
        check_stats_sane(end, "stats after echo")
        check(end["control_stalls"] > mid["control_stalls"],
              "control_stalls %d -> %d: the slow reader never backed the replies up"
              % (mid["control_stalls"], end["control_stalls"]))
        moved = end["vsock_rx_bytes"] - base["vsock_rx_bytes"]
        check(moved >= 2 * total, "vsock_rx_bytes grew by %d, sent %d" % (moved, 2 * total))
        print("stalls: control %d (slow phase %d), vsock credit %d; vsock rx %d tx %d bytes"
              % (end["control_stalls"], end["control_stalls"] - mid["control_stalls"],
                 end["vsock_credit_stalls"], end["vsock_rx_bytes"], end["vsock_tx_bytes"]))


# The pools the tests that hold many connections or sessions at once ask
# for: the build's defaults are sized for the demo (docs/cli.md, "Footprint").
# The vhost tests were written for a pool of 4 sessions, and open sessions
# back to back faster than the VM may see the last one end.
MANY_CONNS = "vsock_conns=32 ctl_clients=20"
VHOST_POOLS = "vhost_sessions=4 vsock_conns=32"


def test_vsock_many(args, nconn=16, nlines=300):
    with vsock_vm(args, append="log=info ctl=%d %s" % (CTL_PORT, MANY_CONNS)) as (vm, dev):
        base = stats_now(dev)
        check_stats_sane(base, "baseline stats")
        socks = [dev.connect(CTL_PORT) for _ in range(nconn)]
        errors = []
        start = threading.Barrier(nconn)
        done = [0] * nconn

        def one(k):
            rnd = random.Random(100 + k)
            lines = EchoLines(3000, seed=200 + k)
            c = LineClient(socks[k])
            try:
                start.wait(10)
                sent = got = 0
                lens = [rnd.randint(1, 3000) for _ in range(nlines)]
                while got < nlines:
                    while sent < nlines and sent - got < 8:
                        c.sock.sendall(b"echo " + lines.text(sent, lens[sent]) + b"\n")
                        sent += 1
                    ln = c.readline().encode()
                    if ln != lines.text(got, lens[got]):
                        raise VsockError("conn %d reply %d differs (%d bytes, want %d)"
                                         % (k, got, len(ln), lens[got]))
                    got += 1
                done[k] = got
            except (OSError, VsockError, threading.BrokenBarrierError) as e:
                errors.append("conn %d: %s" % (k, e))
            finally:
                c.close()

        t0 = time.monotonic()
        ts = [threading.Thread(target=one, args=(k,)) for k in range(nconn)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        dt = time.monotonic() - t0
        check(not errors, "; ".join(errors))
        check(sum(done) == nconn * nlines, "%d of %d replies" % (sum(done), nconn * nlines))
        print("%d connections x %d echo lines (1..3000 bytes), all verified in %.2f s"
              % (nconn, nlines, dt))
        clean = stats_now(dev)
        check_stats_sane(clean, "stats after the echo connections")
        # Peers that vanish with replies pending: the host closes while the VM
        # still has data for it (uvhostd resets the connection). Late packets
        # of such a connection may cross the reset, so vsock_errors is only
        # reported from here on, not required to stay 0.
        for k in range(4):
            s = dev.connect(CTL_PORT)
            s.settimeout(1)
            try:
                s.sendall((b"echo " + b"z" * 4000 + b"\n") * 200)
            except socket.timeout:
                pass  # backpressure: the VM stopped reading, as it should
            s.close()
        # Closes take a round trip (SHUTDOWN, RST): poll for the baseline.
        deadline = time.monotonic() + 10
        while True:
            st = stats_now(dev)
            back = (st["pool_vsock_conns_used"] == base["pool_vsock_conns_used"] and
                    st["pool_control_clients_used"] == base["pool_control_clients_used"])
            if back or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check_stats_sane(dict(st, vsock_errors=0), "stats after the connections closed")
        check(back, "pools not back at baseline: vsock %d (baseline %d), control %d "
              "(baseline %d)" % (st["pool_vsock_conns_used"], base["pool_vsock_conns_used"],
                                 st["pool_control_clients_used"],
                                 base["pool_control_clients_used"]))
        check(st["vsock_conns_total"] >= base["vsock_conns_total"] + nconn + 6,
              "vsock_conns_total %d -> %d" % (base["vsock_conns_total"],
                                             st["vsock_conns_total"]))
        print("pools back at baseline: vsock conns %d, control clients %d; %d connections "
              "so far, peak control clients %d of %d; after 4 abrupt closes: %d RST received, "
              "%d sent, %d late packets refused"
              % (st["pool_vsock_conns_used"], st["pool_control_clients_used"],
                 st["vsock_conns_total"], nconn + 1, st["pool_control_clients_max"],
                 st["vsock_rst_received"], st["vsock_rst_sent"], st["vsock_errors"]))


# ------------------------------------------------------------------ vhost --
# vhost-user over vsock (docs/vsock-transport.md): the VM's blk and rng
# back-ends driven by tests/system/vhost_frontend.py through the hybrid socket,
# client memory in an ivshmem window the host maps from its /dev/shm file.

VHOST_BLK_PORT = 5000
VHOST_RNG_PORT = 5001
VHOST_DISK = 16 * MiB
# What the test provokes on purpose: a region outside the window, hostile
# bytes on new connections (the library's refusals are logged as warnings).
VHOST_ALLOWED = (r"W: vhost 500[01]#\d: ",
                 r"W: vhost 500[01]: connection refused: all 4 sessions busy")


def test_vsock_wake(args, idle_us=1000, rounds=300, idle_s=2.0):
    """An idle VM (poll_us=0: it sleeps as soon as a turn finds nothing)
    wakes on the vsock device's INTx, not on its idle_us timer: control
    round trips take well under idle_us, and with no traffic the VM still
    sleeps (turns at about 1/idle_us, not a spin on a stuck interrupt)."""
    append = "log=info ctl=%d idle_us=%d poll_us=0" % (CTL_PORT, idle_us)
    with vsock_vm(args, append=append) as (vm, dev):
        m = vm.find_all(r"I: vsock: idle wake-up on INTx pin ([A-D]), GIC SPI (\d+) "
                        r"\(intid (\d+)\)")
        check(len(m) == 1, "no boot line saying the vsock interrupt is wired")
        spi, intid = int(m[0].group(2)), int(m[0].group(3))
        check(intid == spi + 32 and spi < 988, "SPI %d, intid %d" % (spi, intid))
        print("vsock INTx pin %s wired to GIC SPI %d" % (m[0].group(1), spi))
        c = ctl(dev)
        for _ in range(10):
            c.cmd("echo w")
        lat = []
        for i in range(rounds):
            t = time.perf_counter()
            check(c.cmd("echo %d" % i) == str(i), "echo %d" % i)
            lat.append((time.perf_counter() - t) * 1e6)
        lat.sort()
        p50, p90 = lat[len(lat) // 2], lat[len(lat) * 9 // 10]
        print("control round trip over %d echoes: p50 %.0f us, p90 %.0f us (idle_us %d)"
              % (rounds, p50, p90, idle_us))
        # A timer wake costs idle_us/2 on average per direction the VM
        # waits for; an interrupt wake costs a few tens of us under TCG.
        check(p50 < idle_us / 2, "round trip p50 %.0f us is not well under idle_us %d: the VM "
              "waits for its timer" % (p50, idle_us))
        s0 = c.stats()
        t0 = time.monotonic()
        time.sleep(idle_s)
        s1 = c.stats()
        rate = (s1["sched_turns"] - s0["sched_turns"]) / (time.monotonic() - t0)
        print("idle: %.0f scheduler turns/s (timer alone: at most %d/s)" % (rate, 1e6 / idle_us))
        check(rate < 1.5 * 1e6 / idle_us, "idle VM turns %.0f times a second: a wake-up source "
              "stays pending" % rate)
        check(rate > 0.2 * 1e6 / idle_us, "idle VM turns only %.0f times a second" % rate)
        c.close()


def vhost_connect(dev, port):
    return vf.Frontend(dev.connect(port))


def expect_closed(sock, what, timeout=10):
    """The VM must close this connection: EOF (or a reset) within timeout."""
    sock.settimeout(timeout)
    try:
        while True:
            b = sock.recv(4096)
            if not b:
                return
    except ConnectionResetError:
        return
    except socket.timeout:
        raise TestFailure("%s: the VM kept the connection open for %ds" % (what, timeout))


def test_vhost_basic(args):
    windows = [ShmWindow("w0", 1 << 20, 31), ShmWindow("w1", 2 << 20, 32)]
    w0 = None
    try:
        with vsock_vm(args, windows, append="log=info ctl=%d vhost=%d:blk:16M,%d:rng %s"
                      % (CTL_PORT, VHOST_BLK_PORT, VHOST_RNG_PORT, VHOST_POOLS),
                      allow=VHOST_ALLOWED) \
                as (vm, dev):
            check(vm.find_all(r"I: vhost: 2 listeners"), "2 vhost listeners at boot")
            check(vm.find_all(r"I: vhost: blk on port %d, %d KiB RAM disk"
                              % (VHOST_BLK_PORT, VHOST_DISK >> 10)), "the blk listener")
            w0 = vf.WindowFile(windows[0].path, windows[0].size)
            fe = vhost_connect(dev, VHOST_BLK_PORT)
            feats, pf = fe.negotiate(vf.PF_REPLY_ACK | vf.PF_CONFIGURE_MEM_SLOTS |
                                     vf.PF_WINDOW_ADDR | vf.PF_CONFIG)
            check(feats & vf.F_VERSION_1, "VERSION_1 offered: %#x" % feats)
            check(pf & vf.PF_WINDOW_ADDR, "WINDOW_ADDR (bit 63) offered: %#x" % pf)
            check(pf & vf.PF_INBAND_NOTIFICATIONS, "INBAND_NOTIFICATIONS offered: %#x" % pf)
            check(not pf & vf.PF_INFLIGHT_SHMFD, "INFLIGHT_SHMFD not offered: %#x" % pf)
            slots = fe.call_u64(vf.GET_MAX_MEM_SLOTS)
            check(slots >= 1, "GET_MAX_MEM_SLOTS %d" % slots)
            cap = struct.unpack("<Q", fe.get_config(0, 8))[0]
            check(cap == VHOST_DISK // 512, "capacity %d sectors, want %d" % (cap,
                                                                          VHOST_DISK // 512))
            print("blk: features %#x, protocol features %#x, %d mem slots, capacity %d sectors"
                  % (feats, pf, slots, cap))
            gpa, uaddr, size = 0x40000000, 0x7f0000000000, windows[0].size
            reg = vf.region(gpa, size, uaddr, 0, 0)
            check(fe.ack(vf.ADD_MEM_REG, reg) == 0, "ADD_MEM_REG of window 0 refused")
            bad = [vf.region(0x80000000, 0x2000, 0x7e0000000000, 0, size - 0x1000),
                   vf.region(0x80000000, 0x1000, 0x7e0000000000, 7, 0),
                   vf.region(0x80000000, 0x1000, 0x7e0000000000, 0, (1 << 40) - 0x800)]
            for i, b in enumerate(bad):
                check(fe.ack(vf.ADD_MEM_REG, b) != 0, "out-of-range region %d accepted" % i)
            check(fe.call_u64(vf.GET_MAX_MEM_SLOTS) == slots,
                  "the session still answers after refused regions")
            check(fe.ack(vf.REM_MEM_REG, reg) == 0, "REM_MEM_REG refused")
            check(fe.ack(vf.ADD_MEM_REG, reg) == 0, "ADD_MEM_REG again refused")

            ring = vf.SplitRing(w0, 0, gpa, uaddr)
            ring.setup(fe)
            hdr_w, hdr_wo = ring.buf(0x0000)
            dat_w, dat_wo = ring.buf(0x1000)
            st_w, st_wo = ring.buf(0x2000)
            hdr_r, hdr_ro = ring.buf(0x3000)
            dat_r, dat_ro = ring.buf(0x4000)
            st_r, st_ro = ring.buf(0x5000)
            sector = 2048
            data = random.Random(5).randbytes(4096)
            w0.write(hdr_wo, struct.pack("<IIQ", 1, 0, sector))  # VIRTIO_BLK_T_OUT
            w0.write(dat_wo, data)
            w0.write(st_wo, b"\xee")
            t0 = time.monotonic()
            head = ring.post([(hdr_w, 16, False), (dat_w, 4096, False), (st_w, 1, True)])
            uid, ulen = ring.wait_used()
            check(uid == head and ulen == 1, "write: used (%d, %d), want (%d, 1)"
                  % (uid, ulen, head))
            check(w0.read(st_wo, 1) == b"\x00", "write status %r" % w0.read(st_wo, 1))
            w0.write(hdr_ro, struct.pack("<IIQ", 0, 0, sector))  # VIRTIO_BLK_T_IN
            w0.write(dat_ro, bytes(4096))
            w0.write(st_ro, b"\xee")
            head = ring.post([(hdr_r, 16, False), (dat_r, 4096, True), (st_r, 1, True)])
            uid, ulen = ring.wait_used()
            dt = time.monotonic() - t0
            check(uid == head and ulen == 4097, "read: used (%d, %d), want (%d, 4097)"
                  % (uid, ulen, head))
            check(w0.read(st_ro, 1) == b"\x00", "read status %r" % w0.read(st_ro, 1))
            check(w0.read(dat_ro, 4096) == data, "the sector read back differs")
            print("blk: 4 KiB written at sector %d and read back through a NOFD ring in "
                  "window 0 (%.0f ms for both, polled)" % (sector, dt * 1000))
            # Past the end of the disk: an I/O error, not a crash.
            w0.write(hdr_wo, struct.pack("<IIQ", 1, 0, VHOST_DISK // 512))
            w0.write(st_wo, b"\xee")
            head = ring.post([(hdr_w, 16, False), (dat_w, 4096, False), (st_w, 1, True)])
            uid, ulen = ring.wait_used()
            check(uid == head and ulen == 1 and w0.read(st_wo, 1) == b"\x01",
                  "write past the end: used (%d, %d), status %r (want head %d, 1, IOERR)"
                  % (uid, ulen, w0.read(st_wo, 1), head))
            fe.sock.close()
            vm.wait_for(r"I: vhost %d#\d: disconnected: end of stream" % VHOST_BLK_PORT)

            # Hostile bytes on new connections: that connection ends, the VM
            # goes on serving.
            for what, junk in (("a header announcing 64 KiB",
                                struct.pack("<III", vf.GET_FEATURES, 1, 0x10000)),
                               ("12 bytes of 0xff", b"\xff" * 12)):
                s = dev.connect(VHOST_BLK_PORT)
                s.sendall(junk)
                expect_closed(s, what)
                s.close()
                print("blk: %s: connection closed by the VM" % what)
            fe = vhost_connect(dev, VHOST_BLK_PORT)
            feats2, _ = fe.negotiate(vf.PF_REPLY_ACK | vf.PF_WINDOW_ADDR | vf.PF_CONFIG |
                                     vf.PF_CONFIGURE_MEM_SLOTS)
            check(feats2 == feats, "a new connection after junk negotiates")
            check(struct.unpack("<Q", fe.get_config(0, 8))[0] == cap,
                  "a new connection after junk reads the config")
            # The disk outlives the connection: read the sector back again.
            check(fe.ack(vf.ADD_MEM_REG, reg) == 0, "ADD_MEM_REG on the new connection")
            ring = vf.SplitRing(w0, 0, gpa, uaddr)
            ring.setup(fe)
            w0.write(hdr_ro, struct.pack("<IIQ", 0, 0, sector))
            w0.write(dat_ro, bytes(4096))
            w0.write(st_ro, b"\xee")
            head = ring.post([(hdr_r, 16, False), (dat_r, 4096, True), (st_r, 1, True)])
            uid, ulen = ring.wait_used()
            check(uid == head and ulen == 4097 and w0.read(st_ro, 1) == b"\x00",
                  "read on the new connection: used (%d, %d), status %r (want head %d, 4097, "
                  "OK)" % (uid, ulen, w0.read(st_ro, 1), head))
            check(w0.read(dat_ro, 4096) == data, "the RAM disk kept the sector across "
                  "connections")
            fe.sock.close()

            # rng: 64 bytes through a ring.
            fe = vhost_connect(dev, VHOST_RNG_PORT)
            fe.negotiate(vf.PF_REPLY_ACK | vf.PF_WINDOW_ADDR | vf.PF_CONFIGURE_MEM_SLOTS)
            check(fe.ack(vf.ADD_MEM_REG, reg) == 0, "rng: ADD_MEM_REG refused")
            ring = vf.SplitRing(w0, 0x80000, gpa + 0x80000, uaddr + 0x80000)
            ring.setup(fe)
            outs = []
            for k in range(2):
                b_g, b_o = ring.buf(0x100 * k)
                w0.write(b_o, bytes(64))
                head = ring.post([(b_g, 64, True)])
                uid, ulen = ring.wait_used()
                check(uid == head and ulen == 64, "rng: used (%d, %d), want (%d, 64)"
                      % (uid, ulen, head))
                outs.append(w0.read(b_o, 64))
            check(outs[0] != bytes(64) and outs[0] != outs[1] and len(set(outs[0])) > 16,
                  "rng bytes look random: %s / %s" % (outs[0].hex(), outs[1].hex()))
            print("rng: 2 x 64 bytes: %s..." % outs[0][:16].hex())
            fe.sock.close()

            # The session pool (4): a fifth connection is closed at once, a
            # freed slot serves the next one.
            vm.wait_for(r"I: vhost %d#\d: disconnected" % VHOST_RNG_PORT)
            held = [vhost_connect(dev, VHOST_BLK_PORT if k % 2 else VHOST_RNG_PORT)
                    for k in range(4)]
            for f in held:
                check(f.call_u64(vf.GET_FEATURES) & vf.F_VERSION_1, "4 sessions at once")
            s = dev.connect(VHOST_BLK_PORT)
            expect_closed(s, "a fifth connection")
            s.close()
            vm.wait_for(r"W: vhost %d: connection refused: all 4 sessions busy"
                        % VHOST_BLK_PORT)
            held.pop().sock.close()
            vm.wait_for(r"I: vhost \d+#\d: disconnected: end of stream")
            held.append(vhost_connect(dev, VHOST_BLK_PORT))
            check(held[-1].call_u64(vf.GET_FEATURES) == feats, "a freed slot serves again")
            for f in held:
                f.sock.close()
            print("sessions: 4 at once, the fifth closed, a freed slot reused")

            c = ctl(dev)
            banner = vm.find_all(r"uvhost service VM (\S+)")[0].group(1)
            check(c.cmd("version") == "uvhost " + banner, "control port still answers")
            c.close()
            vm.drain(0.5)
            check(len(vm.find_all(r"I: vhost %d#\d: connected" % VHOST_BLK_PORT)) == 7,
                  "7 blk connections logged")
            m = vm.find_all(r"vhost: \d+ listeners, (\d+) sessions x (\d+) bytes")[0]
            print("sessions: %s x %s bytes static" % (m.group(1), m.group(2)))
    finally:
        if w0:
            w0.close()
        for w in windows:
            w.remove()


def test_vhost_rings(args):
    """A q16 blk listener: 16 started rings, every one polled (vhost_rings.py)."""
    vhost_rings.test(args, sys.modules[__name__])


# Pools that must return to their baseline once every test connection closed.
POOL_KEYS = ("pool_vhost_sessions_used", "pool_vsock_conns_used", "pool_control_clients_used")


def vhost_alive(vm, dev, c, feats, what):
    """After hostile input: a new blk connection still negotiates and the
    control port still answers `version`."""
    try:
        fe = vhost_connect(dev, VHOST_BLK_PORT)
        got = fe.call_u64(vf.GET_FEATURES)
        fe.sock.close()
    except (vf.FrontendError, OSError) as e:
        raise TestFailure("after %s: a new connection does not negotiate: %s" % (what, e))
    check(got == feats, "after %s: GET_FEATURES %#x, was %#x" % (what, got, feats))
    v = c.cmd("version")
    check(v.startswith("uvhost "), "after %s: version answered %r" % (what, v))
    check(vm.proc.poll() is None, "after %s: QEMU exited" % what)


def send_hostile(dev, port, data, negotiate, timeout=3):
    """Send `data` on a fresh connection (after negotiating, if asked), then
    read until the VM closes it or `timeout` passes. Returns "closed" or
    "kept open" (the session refused the request and goes on)."""
    s = dev.connect(port)
    try:
        if negotiate:
            vf.Frontend(s).negotiate(vhost_corpus.WANT_PF)
        s.sendall(data)
        s.settimeout(timeout)
        try:
            while s.recv(4096):
                pass
            return "closed"
        except ConnectionResetError:
            return "closed"
        except socket.timeout:
            return "kept open"
    finally:
        s.close()


CANARY = bytes(range(251)) * 4  # 1004 bytes, no run a stray write could match by chance


def fill_canary(w0, size):
    """Everything of window 0 outside the hostile rings' region."""
    for lo, hi in ((0, vhost_corpus.REGION_OFFSET),
                   (vhost_corpus.REGION_OFFSET + vhost_corpus.REGION_BYTES, size)):
        for off in range(lo, hi, len(CANARY)):
            w0.write(off, CANARY[:min(len(CANARY), hi - off)])


def canary_intact(w0, size):
    for lo, hi in ((0, vhost_corpus.REGION_OFFSET),
                   (vhost_corpus.REGION_OFFSET + vhost_corpus.REGION_BYTES, size)):
        for off in range(lo, hi, len(CANARY)):
            n = min(len(CANARY), hi - off)
            if w0.read(off, n) != CANARY[:n]:
                return off
    return None


def hostile_ring(vm, dev, w0, size, reg, ring_at, chain):
    """A started blk ring whose next avail entry is a hostile chain. The only
    right outcome: the VM stops the ring with the chain's own reason in its
    log line, completes nothing, writes no byte of the window outside the
    region, and the session goes on answering."""
    name, descs, head, tables, features, reason = chain
    gpa, uaddr, woff = ring_at
    fe = vhost_connect(dev, VHOST_BLK_PORT)
    fe.negotiate(vhost_corpus.WANT_PF, features)
    check(fe.ack(vf.ADD_MEM_REG, reg) == 0, "%s: ADD_MEM_REG refused" % name)
    fill_canary(w0, size)
    ring = vf.SplitRing(w0, woff, gpa, uaddr)
    ring.setup(fe)
    check(fe.call_u64(vf.GET_FEATURES) & vf.F_VERSION_1, "%s: ring set up" % name)
    for slot, d in descs:
        w0.write(ring.woff + ring.DESC + 16 * slot, d)
    for off, t in tables:
        w0.write(ring.woff + ring.BUF + off, t)
    vm.drain(0.05)
    pattern = r"ring 0: (.*); ring stopped"
    seen = len(vm.find_all(pattern))
    a = ring.woff + ring.AVAIL
    w0.write(a + 4, struct.pack("<H", head))
    w0.write(a + 2, struct.pack("<H", 1))
    u = ring.woff + ring.USED
    deadline = time.monotonic() + 10
    while True:
        vm.drain(0.05)
        stops = vm.find_all(pattern)
        if len(stops) > seen:
            said = stops[seen].group(1)
            break
        check(struct.unpack("<H", w0.read(u + 2, 2))[0] == 0,
              "%s: the VM completed a malformed chain" % name)
        check(time.monotonic() < deadline, "%s: no ring error in 10 s" % name)
    check(said.startswith(reason), "%s: the VM stopped the ring for %r, expected %r"
          % (name, said, reason))
    check(struct.unpack("<H", w0.read(u + 2, 2))[0] == 0,
          "%s: used index moved: something was completed" % name)
    bad = canary_intact(w0, size)
    check(bad is None, "%s: window byte 0x%x outside the region changed" % (name, bad or 0))
    check(fe.call_u64(vf.GET_FEATURES) & vf.F_VERSION_1,
          "%s: the session stopped answering after the ring error" % name)
    fe.sock.close()
    return "ring stopped: " + said


def test_vhost_robust(args, cycles=200):
    windows = [ShmWindow("w0", 1 << 20, 41)]
    w0 = None
    try:
        with vsock_vm(args, windows, append="log=info ctl=%d vhost=%d:blk:16M,%d:rng %s"
                      % (CTL_PORT, VHOST_BLK_PORT, VHOST_RNG_PORT, VHOST_POOLS),
                      allow=VHOST_ALLOWED) \
                as (vm, dev):
            w0 = vf.WindowFile(windows[0].path, windows[0].size)
            c = ctl(dev)
            base = c.stats()
            check_stats_sane(base, "baseline")
            for k in POOL_KEYS + ("pool_vhost_sessions_max", "vhost_messages", "vhost_rejected",
                                  "vhost_5000_accepted", "vhost_5000_refused",
                                  "vhost_5001_accepted", "vhost_5001_refused"):
                check(k in base, "baseline stats has no %s (%s)" % (k, sorted(base)))
            check(base["pool_vhost_sessions_used"] == 0 and
                  base["pool_vhost_sessions_max"] == 4,
                  "vhost pool at boot: %d of %d" % (base["pool_vhost_sessions_used"],
                                                    base["pool_vhost_sessions_max"]))
            print("baseline: " + ", ".join("%s %d" % (k, base[k]) for k in POOL_KEYS))
            fe = vhost_connect(dev, VHOST_BLK_PORT)
            feats = fe.call_u64(vf.GET_FEATURES)
            fe.sock.close()

            gpa, uaddr = 0x40000000, 0x7f0000000000
            reg = vf.region(gpa, windows[0].size, uaddr, 0, 0)
            t0 = time.monotonic()
            corpus = vhost_corpus.messages(reg)
            for name, negotiate, data in corpus:
                for port in (VHOST_BLK_PORT, VHOST_RNG_PORT):
                    how = send_hostile(dev, port, data, negotiate)
                    vhost_alive(vm, dev, c, feats, "%s on %d" % (name, port))
                print("corpus: %-48s VM %s, still serving" % (name, how))
            # The hostile rings get a region in the middle of window 0; the
            # rest of the window is canary.
            rgpa, ruaddr = 0x50000000, 0x7e0000000000
            ring_reg = vf.region(rgpa, vhost_corpus.REGION_BYTES, ruaddr, 0,
                                 vhost_corpus.REGION_OFFSET)
            ring_at = (rgpa + 0x40000, ruaddr + 0x40000, vhost_corpus.REGION_OFFSET + 0x40000)
            chains = vhost_corpus.hostile_chains(vf.SplitRing(w0, ring_at[2], ring_at[0],
                                                              ring_at[1]))
            for chain in chains:
                how = hostile_ring(vm, dev, w0, windows[0].size, ring_reg, ring_at, chain)
                vhost_alive(vm, dev, c, feats, chain[0])
                print("descriptors: %-45s %s, canary intact, still serving" % (chain[0], how))
            mid = c.stats()
            check(mid["vhost_rejected"] > base["vhost_rejected"],
                  "the corpus was refused: vhost_rejected %d -> %d"
                  % (base["vhost_rejected"], mid["vhost_rejected"]))
            print("corpus: %d messages x 2 ports, %d hostile rings, %.1f s; vhost_messages "
                  "%d, vhost_rejected %d" % (len(corpus), len(chains), time.monotonic() - t0,
                                             mid["vhost_messages"], mid["vhost_rejected"]))

            t0 = time.monotonic()
            retries = 0
            for k in range(cycles):
                while True:
                    try:
                        fe = vhost_connect(dev, VHOST_BLK_PORT if k % 2 else VHOST_RNG_PORT)
                        got = fe.call_u64(vf.GET_FEATURES)
                        fe.sock.close()
                        break
                    except (vf.FrontendError, OSError) as e:
                        # The pool is 4: a close the VM has not seen yet can
                        # refuse the next connection. Bounded, so a leak fails.
                        retries += 1
                        check(retries <= 20, "cycle %d: %d refusals: %s" % (k, retries, e))
                        time.sleep(0.05)
                check(got & vf.F_VERSION_1, "cycle %d: GET_FEATURES %#x" % (k, got))
            dt = time.monotonic() - t0
            print("cycles: %d connect/GET_FEATURES/close in %.1f s (%.0f ms each), %d retried"
                  % (cycles, dt, dt * 1000 / cycles, retries))

            deadline = time.monotonic() + 15
            while True:
                end = c.stats()
                if all(end[k] == base[k] for k in POOL_KEYS):
                    break
                check(time.monotonic() < deadline, "pools not back at baseline after 15 s: %s"
                      % ", ".join("%s %d (baseline %d)" % (k, end[k], base[k])
                                  for k in POOL_KEYS))
                time.sleep(0.2)
            acc = sum(end["vhost_%d_accepted" % p] - base["vhost_%d_accepted" % p]
                      for p in (VHOST_BLK_PORT, VHOST_RNG_PORT))
            check(acc >= cycles + 2 * len(corpus) + len(chains),
                  "%d vhost connections accepted, want at least %d"
                  % (acc, cycles + 2 * len(corpus) + len(chains)))
            check(end["vsock_errors"] == 0, "%d vsock protocol errors" % end["vsock_errors"])
            print("end: " + ", ".join("%s %d" % (k, end[k]) for k in POOL_KEYS) +
                  "; %d vhost connections accepted, %d refused" %
                  (acc, sum(end["vhost_%d_refused" % p] for p in (VHOST_BLK_PORT,
                                                                  VHOST_RNG_PORT))))
            c.close()
            vm.drain(0.5)
            check(not vm.find_all(r"PANIC|CRASH"), "a crash report on the console")
    finally:
        if w0:
            w0.close()
        for w in windows:
            w.remove()


def demo(args):
    """The story for `make demo` (tests/system/demo_story.py)."""
    demo_story.run(args, sys.modules[__name__])


TESTS = {"boot": test_boot, "crash_report": test_crash_report, "highmem": test_highmem,
         "vsock_control": test_vsock_control, "vsock_echo": test_vsock_echo,
         "vsock_many": test_vsock_many, "vsock_wake": test_vsock_wake, "vhost_basic": test_vhost_basic, "vhost_robust": test_vhost_robust,
         "vhost_session": lambda args: vhost_session.run(args, sys.modules[__name__]),
         "vhost_rings": test_vhost_rings,
         "vhost_rng": lambda args: vhost_rng.test(args, sys.modules[__name__]),
         "vhost_shmem": lambda args: vhost_shmem.test(args, sys.modules[__name__]),
         "vhost_isolation": lambda args: vhost_isolation.test(args, sys.modules[__name__]),
         "vhost_vdisk": lambda args: vhost_vdisk.test(args, sys.modules[__name__]),
         "demo": demo}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--arch", choices=sorted(ARCHES), default="aarch64",
                    help="the port the image is built for (QEMU binary, machine, CPU)")
    ap.add_argument("--image", help="unikernel image (default build/<arch>/uvhost.elf)")
    ap.add_argument("--uvhostd", default=os.path.join(here, "..", "..", "build", "host",
                                                     "uvhostd"),
                    help="uvhostd serving the vsock device (vsock tests)")
    ap.add_argument("--bench", default=os.path.join(here, "..", "..", "build", "host",
                                                   "uvhost-bench"),
                    help="uvhost-bench, the library front-end (vhost_session, demo)")
    ap.add_argument("--echo-mib", type=int, default=32, help="vsock_echo: MiB per run")
    ap.add_argument("--slow-s", type=float, default=3.0,
                    help="vsock_echo: seconds the host reads slowly")
    ap.add_argument("--inject-mismatch", action="store_true",
                    help="vsock_echo, vhost_shmem: expect one wrong byte (the test must "
                    "then fail)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--demo-echo-mib", type=int, default=8, help="demo: MiB echoed")
    ap.add_argument("--demo", action="store_true", help="same as the test name 'demo'")
    ap.add_argument("test", nargs="?", choices=sorted(TESTS))
    args = ap.parse_args()
    if args.demo:
        args.test = "demo"
    if not args.test:
        ap.error("name a test, or --demo")
    global ARCH, QEMU
    ARCH = ARCHES[args.arch]
    QEMU = ARCH["qemu"]
    if not args.image:
        args.image = os.path.join(here, "..", "..", "build", args.arch, "uvhost.elf")
    missing = None
    if not shutil.which(ARCH["qemu"]):
        missing = "%s is not installed" % ARCH["qemu"]
    elif not os.path.isfile(args.image):
        missing = ("no service-VM image at %s (cmake --preset %s && cmake --build "
                   "build/%s)" % (args.image, args.arch, args.arch))
    if missing:
        status, why = uvtest_env.cannot_run(missing)
        print(("SKIP: " if status == uvtest_env.EXIT_SKIP else "FAIL: ") + why)
        return status
    text, data, bss = image_sizes(args.image)
    print("image %s: text %d data %d bss %d bytes" % (args.image, text, data, bss))
    try:
        TESTS[args.test](args)
    except TestFailure as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS: %s" % args.test)
    return 0


if __name__ == "__main__":
    sys.exit(main())
