#!/usr/bin/env python3
"""System tests of the uvhost service-VM unikernel under QEMU (aarch64 virt, TCG).

    run_system.py [--image build/aarch64/uvhost.elf] boot|crash_report

Exit codes: 0 pass, 1 fail, 77 skipped (no qemu-system-aarch64 or no image).

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
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import zlib

SKIP = 77
QEMU = "qemu-system-aarch64"


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

    def remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class UvhostVM:
    """One QEMU running the unikernel; the console is collected line by line
    by a reader thread so that wait_for() can time out."""

    def __init__(self, image, append="", extra=(), memory="128M", echo=True):
        self.argv = [QEMU, "-M", "virt", "-cpu", "cortex-a57", "-m", memory, "-nographic",
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
    """text, data, bss of the image (aarch64-linux-gnu-size, Berkeley format)."""
    tool = shutil.which("aarch64-linux-gnu-size") or shutil.which("size")
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
            vm.wait_for(r"virtio-rng: request done, 16 random bytes")
            for i, w in enumerate(windows):
                m = vm.wait_for(r"window %d: base (0x[0-9a-f]+) size (\d+) crc32 ([0-9a-f]{8})"
                                % i)
                check(int(m.group(2)) == w.size,
                      "window %d size %s, host made %d" % (i, m.group(2), w.size))
                check(int(m.group(3), 16) == w.crc,
                      "window %d crc32 %s, host computed %08x" % (i, m.group(3), w.crc))
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


def test_crash_report(args):
    with UvhostVM(args.image, "crashtest=1") as vm:
        vm.wait_for(r"crashtest: reading 0xdead000", 30)
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


TESTS = {"boot": test_boot, "crash_report": test_crash_report}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--image", default=os.path.join(here, "..", "..", "build", "aarch64",
                                                   "uvhost.elf"))
    ap.add_argument("test", choices=sorted(TESTS))
    args = ap.parse_args()
    if not shutil.which(QEMU):
        print("SKIP: %s not installed" % QEMU)
        return SKIP
    if not os.path.isfile(args.image):
        print("SKIP: no image at %s (cmake --preset aarch64 && cmake --build build/aarch64)"
              % args.image)
        return SKIP
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
