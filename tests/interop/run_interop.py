#!/usr/bin/env python3
"""uvhost interop test runner: vhost-user back-end + QEMU guest.

usage: run_interop.py SCENARIO [--backend uvhostd|qsd|builtin] [options]

Scenarios: blk, blk_nomemslots, hotplug, rng, reconnect, resize, vsock (see
SCENARIOS).  --demo prints a readable summary of the run at the end
(commands, the vhost-user conversation, the guest's I/O, a verdict).

The runner creates a scratch directory and a raw disk image, starts the
back-end (uvhostd, or qemu-storage-daemon to validate the rig, or nothing
for "builtin" where QEMU's own virtio device is used), boots the busybox
guest built by scripts/setup.sh, follows its serial console, performs host
actions the guest asks for (QMP memory hot-plug, back-end kill/restart),
re-checks the data the guest wrote against the disk image, and exits 0 only
if the guest printed "UVTEST-RESULT: PASS" and every host check held.

Exit status: 0 pass, 1 fail, also when the environment or the back-end
lacks what the scenario needs (QEMU, the guest from scripts/setup.sh, a
back-end that can serve it); that case is 77, skipped, only with
UVTEST_ALLOW_SKIP=1 (tests/uvtest_env.py).  Python standard library only.
"""

import argparse
import ctypes
import hashlib
import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import uvtest_env  # noqa: E402

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77
MiB = 1024 * 1024

SCENARIOS = {
    # name: guest script, device kind, queues, extra behaviour
    "blk": dict(guest="blk", device="blk", num_queues=4, smp=4,
                desc="4-queue O_DIRECT write/read-back, parallel jobs"),
    "notify": dict(guest="notify", device="blk", num_queues=4, smp=4, bench_only=True,
                   desc="notification cost: qd 1 latency, qd 32 IOPS, idle (bench/notify.sh)"),
    "blk_vdisk": dict(guest="blk", device="blk", num_queues=2, smp=2, vm_disk=True,
                      host_data=True,
                      desc="as blk (gateway only): the service VM serves its own virtio-blk "
                      "disk; the guest reads data the host put on it, and the host "
                      "re-checks the guest's writes in the image"),
    "blk_vdisk_bounce": dict(guest="blk", device="blk", num_queues=2, smp=2, vm_disk=True,
                             host_data=True, svm_args="disk_bounce_kib=512",
                             desc="as blk_vdisk, with the disk's data copied through a "
                             "bounce pool in the service VM's RAM (disk_bounce_kib=512): "
                             "the guest's requests must fit the size_max and seg_max it "
                             "is offered"),
    "blk_nomemslots": dict(guest="blk", device="blk", num_queues=4, smp=4,
                           no_mem_slots=True,
                           desc="as blk, back-end without CONFIGURE_MEM_SLOTS"),
    "hotplug": dict(guest="hotplug", device="blk", num_queues=2, smp=2,
                    hotplug=True,
                    desc="I/O through a hot-added and then hot-removed DIMM"),
    "rng": dict(guest="rng", device="rng", smp=2,
                desc="/dev/hwrng served by vhost-user-rng"),
    "reconnect": dict(guest="reconnect", device="blk", num_queues=2, smp=2,
                      reconnect=True,
                      desc="back-end SIGKILLed and restarted during guest I/O"),
    "resize": dict(guest="resize", device="blk", num_queues=2, smp=2,
                   resize_grow_mib=32, uvhostd_only=True,
                   desc="disk image grown, SIGHUP -> CONFIG_CHANGE_MSG -> guest capacity"),
    "vsock": dict(guest="vsock", device="vsock", smp=2, uvhostd_only=True,
                  vsock_mib=8, vsock_conns=4,
                  desc="AF_VSOCK both ways through hybrid vsock, slow readers, line echo"),
}
VSOCK_CID = 3
VSOCK_MODS = "vsock,vmw_vsock_virtio_transport_common,vmw_vsock_virtio_transport"
VSOCK_G2H_PORT = 6000

# vhost-user front-end message names, for summarising a back-end trace
VU_MSGS = (
    "GET_FEATURES SET_FEATURES SET_OWNER RESET_OWNER SET_MEM_TABLE SET_LOG_BASE "
    "SET_LOG_FD SET_VRING_NUM SET_VRING_ADDR SET_VRING_BASE GET_VRING_BASE "
    "SET_VRING_KICK SET_VRING_CALL SET_VRING_ERR GET_PROTOCOL_FEATURES "
    "SET_PROTOCOL_FEATURES GET_QUEUE_NUM SET_VRING_ENABLE SEND_RARP NET_SET_MTU "
    "SET_BACKEND_REQ_FD SET_SLAVE_REQ_FD IOTLB_MSG SET_VRING_ENDIAN GET_CONFIG "
    "SET_CONFIG POSTCOPY_ADVISE POSTCOPY_LISTEN POSTCOPY_END GET_INFLIGHT_FD "
    "SET_INFLIGHT_FD RESET_DEVICE VRING_KICK GET_MAX_MEM_SLOTS ADD_MEM_REG "
    "REM_MEM_REG SET_STATUS GET_STATUS"
).split()
# request numbers as traced by QEMU's vhost_user_write trace event
VU_REQ = dict(enumerate(
    "- GET_FEATURES SET_FEATURES SET_OWNER RESET_OWNER SET_MEM_TABLE SET_LOG_BASE "
    "SET_LOG_FD SET_VRING_NUM SET_VRING_ADDR SET_VRING_BASE GET_VRING_BASE "
    "SET_VRING_KICK SET_VRING_CALL SET_VRING_ERR GET_PROTOCOL_FEATURES "
    "SET_PROTOCOL_FEATURES GET_QUEUE_NUM SET_VRING_ENABLE SEND_RARP NET_SET_MTU "
    "SET_BACKEND_REQ_FD IOTLB_MSG SET_VRING_ENDIAN GET_CONFIG SET_CONFIG "
    "CREATE_CRYPTO_SESSION CLOSE_CRYPTO_SESSION POSTCOPY_ADVISE POSTCOPY_LISTEN "
    "POSTCOPY_END GET_INFLIGHT_FD SET_INFLIGHT_FD GPU_SET_SOCKET RESET_DEVICE "
    "VRING_KICK GET_MAX_MEM_SLOTS ADD_MEM_REG REM_MEM_REG SET_STATUS GET_STATUS".split()))
VU_TRACE_RE = re.compile(r"vhost_user_write req:(\d+)")
VU_RE = re.compile(r"\b(?:VHOST_USER_)?(" + "|".join(VU_MSGS) + r")\b")

T0 = time.monotonic()


def story(who, msg):
    print("[%6.1fs] %-6s %s" % (time.monotonic() - T0, who, msg), flush=True)


class Skip(Exception):
    """The scenario cannot run here: a failure unless UVTEST_ALLOW_SKIP=1."""


class Fail(Exception):
    pass


try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


def _pdeathsig():
    """preexec_fn: children die with the runner even if it is SIGKILLed."""
    if _PRCTL is not None:
        _PRCTL(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


ANSI_RE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[A-Za-z])")


def tail(path, n=25):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return ANSI_RE.sub("", text).splitlines()[-n:]


def sha256_range(path, off, length):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(off)
        left = length
        while left:
            b = f.read(min(left, 4 * MiB))
            if not b:
                break
            h.update(b)
            left -= len(b)
    return h.hexdigest()


def cpio_files(path, names):
    """{name: content} for the wanted names in a gzipped newc cpio archive."""
    import gzip
    with gzip.open(path, "rb") as f:
        data = f.read()
    out, pos = {}, 0
    while pos + 110 <= len(data):
        if data[pos:pos + 6] != b"070701":
            raise ValueError("not a newc cpio archive")
        size = int(data[pos + 54:pos + 62], 16)
        namesize = int(data[pos + 94:pos + 102], 16)
        name = data[pos + 110:pos + 110 + namesize - 1].decode("utf-8", "replace")
        pos = (pos + 110 + namesize + 3) & ~3
        if name == "TRAILER!!!":
            break
        name = name[2:] if name.startswith("./") else name
        if name in names:
            out[name] = data[pos:pos + size]
        pos = (pos + size + 3) & ~3
    return out


class QMP:
    """Minimal QMP client over a unix socket."""

    def __init__(self, path, timeout=30.0, alive=lambda: True):
        deadline = time.monotonic() + timeout
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                break
            except OSError:
                s.close()
                if not alive():
                    raise Fail("QEMU exited during start-up")
                if time.monotonic() > deadline:
                    raise Fail("cannot connect to QMP socket %s" % path)
                time.sleep(0.05)
        self.sock = s
        self.buf = b""
        self.events = []
        self._recv(10.0)  # greeting
        self.cmd("qmp_capabilities")

    def _recv(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not data:
                raise Fail("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, timeout=30.0, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        deadline = time.monotonic() + timeout
        while True:
            r = self._recv(max(0.0, deadline - time.monotonic()))
            if r is None:
                raise Fail("QMP %s: no answer in %.0f s" % (name, timeout))
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise Fail("QMP %s failed: %s" % (name, r["error"].get("desc", r["error"])))
            return r.get("return")

    def wait_event(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if pred(ev):
                    del self.events[i]
                    return ev
            r = self._recv(max(0.0, deadline - time.monotonic()))
            if r is None:
                return None
            if "event" in r:
                self.events.append(r)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class VsockHost:
    """Host side of interop_vsock, speaking hybrid vsock to uvhostd: a
    listener on PATH_6000 for guest connections (one read slowly), CONNECT
    clients for host -> guest transfers, and a pipelined line-echo client."""

    def __init__(self, rig):
        self.rig = rig
        self.mib = rig.sc["vsock_mib"]
        self.conns = rig.sc["vsock_conns"]
        self.failures = []
        self.results = {}       # what -> MiB/s
        self.listener = None
        self.g2h = []           # (bytes, crc, seconds, slow)
        self.lock = threading.Lock()
        self.threads = []

    def fail(self, why):
        with self.lock:
            self.failures.append(why)
        story("host", "vsock FAIL: " + why)

    # guest -> host: guest connects to host port 6000 = Unix socket PATH_6000
    def start(self):
        path = "%s_%d" % (self.rig.vsock_path, VSOCK_G2H_PORT)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        story("host", "vsock: listening on %s for guest connections to host port %d"
              % (path, VSOCK_G2H_PORT))

    def _accept_loop(self):
        for i in range(self.conns):
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            t = threading.Thread(target=self._g2h_conn, args=(s, i == 0), daemon=True)
            t.start()
            self.threads.append(t)

    def _g2h_conn(self, s, slow):
        n, crc, t0 = 0, 0, time.monotonic()
        try:
            s.settimeout(60)
            while True:
                b = s.recv(4096 if slow else 262144)
                if not b:
                    break
                n += len(b)
                crc = zlib.crc32(b, crc)
                if slow:
                    time.sleep(0.0005)  # a slow reader: uvhostd must hold back, not drop
            s.sendall(b"%d %08x\n" % (n, crc))
        except OSError as e:
            self.fail("g2h connection: %s after %d bytes" % (e, n))
        finally:
            s.close()
        dt = time.monotonic() - t0
        with self.lock:
            self.g2h.append((n, crc, dt, slow))
        story("host", "vsock g2h: received %d bytes crc32 %08x in %.2fs (%.1f MiB/s)%s"
              % (n, crc, dt, n / MiB / max(dt, 1e-6), " [slow reader]" if slow else ""))

    def connect(self, port, timeout=30):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.rig.vsock_path)
        s.sendall(b"CONNECT %d\n" % port)
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(1)
            if not b:
                raise OSError("uvhostd closed the connection instead of OK (guest refused?)")
            line += b
        if not line.startswith(b"OK "):
            raise OSError("handshake answer %r" % line)
        return s, int(line.split()[1])

    def on_wait(self, words):
        try:
            if words[0] == "vsock-h2g":
                self.h2g(int(words[1]), int(words[2]), int(words[3]))
            elif words[0] == "vsock-echo":
                self.echo(int(words[1]))
        except (OSError, ValueError, IndexError) as e:
            self.fail("%s: %s" % (words[0], e))

    # host -> guest: CONNECT to the guest's sink, send random data, half-close,
    # read the guest's "<bytes> <crc32>" answer
    def h2g(self, port, nconn, mib):
        out = [None] * nconn

        def one(i):
            data = os.urandom(mib * MiB)
            want = zlib.crc32(data)
            try:
                s, hp = self.connect(port)
                t0 = time.monotonic()
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                ans = b""
                while True:
                    b = s.recv(256)
                    if not b:
                        break
                    ans += b
                dt = time.monotonic() - t0
                s.close()
                f = ans.split()
                if len(f) != 2 or int(f[0]) != len(data) or int(f[1], 16) != want:
                    self.fail("h2g conn %d (host port %d): sent %d bytes crc32 %08x, guest "
                              "answered %r" % (i, hp, len(data), want, ans))
                    return
                out[i] = (len(data), dt)
                story("host", "vsock h2g: conn %d via host port %d: %d bytes crc32 %08x "
                      "verified by the guest in %.2fs (%.1f MiB/s)"
                      % (i, hp, len(data), want, dt, len(data) / MiB / max(dt, 1e-6)))
            except OSError as e:
                self.fail("h2g conn %d: %s" % (i, e))

        t0 = time.monotonic()
        ts = [threading.Thread(target=one, args=(i,)) for i in range(nconn)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        dt = time.monotonic() - t0
        done = [o for o in out if o]
        if len(done) == nconn:
            self.results["h2g"] = sum(o[0] for o in done) / MiB / dt
            story("host", "vsock h2g: %d x %d MiB in %.2fs: %.1f MiB/s aggregate"
                  % (nconn, mib, dt, self.results["h2g"]))

    # "echo <text>" -> "<text>", 4 KiB lines, a window of lines in flight
    def echo(self, port, total=16 * MiB, line_len=4096, window=32):
        s, hp = self.connect(port)
        payload = [(b"%08d" % i + os.urandom(line_len // 2).hex().encode())[:line_len]
                   for i in range(64)]
        nlines = total // line_len
        sent = recvd = 0
        buf = b""
        t0 = time.monotonic()
        while recvd < nlines:
            while sent < nlines and sent - recvd < window:
                s.sendall(b"echo " + payload[sent % 64] + b"\n")
                sent += 1
            b = s.recv(262144)
            if not b:
                raise OSError("echo server closed after %d of %d lines" % (recvd, nlines))
            buf += b
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line != payload[recvd % 64]:
                    raise OSError("echo line %d came back wrong (%d bytes)" % (recvd, len(line)))
                recvd += 1
        dt = time.monotonic() - t0
        s.close()
        self.results["echo"] = nlines * line_len / MiB / dt
        story("host", "vsock echo: %d lines of %d bytes through guest port %d in %.2fs: "
              "%.1f MiB/s, %.0f lines/s" % (nlines, line_len, port, dt, self.results["echo"],
                                             nlines / dt))

    def check(self):
        for t in self.threads:
            t.join(5)
        with self.lock:
            fails, g2h = list(self.failures), list(self.g2h)
        if len(g2h) != self.conns:
            fails.append("host saw %d of %d guest connections" % (len(g2h), self.conns))
        bad = [x for x in g2h if x[0] != self.mib * MiB]
        if bad:
            fails.append("guest -> host byte counts %s, expected %d each"
                         % ([x[0] for x in bad], self.mib * MiB))
        for w in ("h2g", "echo"):
            if w not in self.results:
                fails.append("the %s phase did not complete" % w)
        # uvhostd's closing counters: a well-behaved Linux guest commits no violation
        stats = [ln for ln in tail(self.rig.backend_log, 100000) if "vsock: connections" in ln]
        if stats:
            story("host", "uvhostd: " + stats[-1].split("uvhostd: ", 1)[-1])
            m = re.search(r"violations (\d+)", stats[-1])
            if m and int(m.group(1)):
                fails.append("uvhostd counted %s protocol violations" % m.group(1))
        else:
            fails.append("uvhostd printed no vsock counters")
        if g2h:
            slow = [x for x in g2h if x[3]]
            fast = [x for x in g2h if not x[3]]
            story("host", "vsock g2h: fastest %.1f MiB/s, slow reader %.1f MiB/s"
                  % (max((x[0] / MiB / x[2] for x in fast), default=0),
                     max((x[0] / MiB / x[2] for x in slow), default=0)))
        story("host", "vsock throughput: host->guest %s MiB/s aggregate, line echo %s MiB/s"
              % (("%.1f" % self.results["h2g"]) if "h2g" in self.results else "-",
                 ("%.1f" % self.results["echo"]) if "echo" in self.results else "-"))
        self.rig.host_failures += fails

    def close(self):
        if self.listener:
            self.listener.close()
            self.listener = None


class Rig:
    def __init__(self, scenario, args):
        self.name = scenario
        self.sc = SCENARIOS[scenario]
        self.args = args
        self.backend_kind = args.backend
        self.procs = []
        self.shm_files = []
        self.qmp = None
        self.qemu = None
        self.backend = None
        self.backend_expected_down = False
        self.backend_starts = 0
        self.backend_cmd = None
        self.host_failures = []
        self.data = []  # (off, len, sha) reported by the guest, latest wins
        self.host_data = None  # (off, len, sha) the host put on the disk first
        self.host_data_seen = False  # ... and the guest read back intact
        self.result = None
        self.workdir = tempfile.mkdtemp(prefix="uvtest-%s-" % scenario,
                                        dir=args.tmpdir)
        self.disk = os.path.join(self.workdir, "disk.img")
        self.sock = os.path.join(self.workdir, "vhost.sock")
        self.qmp_path = os.path.join(self.workdir, "qmp.sock")
        self.console_log = os.path.join(self.workdir, "console.log")
        self.backend_log = os.path.join(self.workdir, "backend.log")
        self.qemu_log = os.path.join(self.workdir, "qemu.stderr")
        self.qemu_trace = os.path.join(self.workdir, "qemu-vhost-user.trace")
        self.lines = queue.Queue()
        self.qemu_cmd = None
        self.guest_log = []     # UVTEST-LOG texts, in order
        self.checked = None     # (ranges matching, ranges) from verify_disk
        self.resize_sighup = None
        self.vsock_path = os.path.join(self.workdir, "v.sock")
        self.vsock = VsockHost(self) if self.sc["device"] == "vsock" else None

    # ------------------------------------------------------------ checks --
    def preflight(self):
        g = self.args.guest_dir
        for f in ("vmlinuz", "initramfs.cpio.gz"):
            if not os.path.exists(os.path.join(g, f)):
                raise Skip("%s/%s missing: run scripts/setup.sh" % (g, f))
        self.warn_stale_initramfs()
        if not shutil.which(self.args.qemu):
            raise Skip("%s not found: run scripts/setup.sh" % self.args.qemu)
        kind = self.backend_kind
        if kind == "uvhostd":
            b = self.args.uvhostd
            if not (os.path.isfile(b) and os.access(b, os.X_OK)):
                raise Fail("uvhostd binary %s not found or not executable (build it first)" % b)
        elif self.sc.get("uvhostd_only"):
            raise Skip("scenario %s needs uvhostd" % self.name)
        elif kind == "qsd":
            if self.sc["device"] != "blk":
                raise Skip("qemu-storage-daemon has no vhost-user %s export" % self.sc["device"])
            if not shutil.which(self.args.qsd):
                raise Skip("%s not found" % self.args.qsd)
        elif kind == "builtin":
            if self.sc.get("reconnect"):
                raise Skip("reconnect needs a vhost-user back-end")

    def warn_stale_initramfs(self):
        """scripts/setup.sh builds the initramfs; say so if the guest scripts
        in it differ from tests/interop (a new scenario would otherwise fail
        with 'no guest script')."""
        here = os.path.dirname(os.path.abspath(__file__))
        want = {"init": os.path.join(here, "guest-init.sh")}
        gdir = os.path.join(here, "guest")
        for f in os.listdir(gdir):
            if f.endswith(".sh"):
                want["tests/" + f] = os.path.join(gdir, f)
        try:
            have = cpio_files(os.path.join(self.args.guest_dir, "initramfs.cpio.gz"), want)
            stale = sorted(os.path.relpath(src, ROOT) for name, src in want.items()
                           if have.get(name) != open(src, "rb").read())
        except (OSError, ValueError, EOFError):
            return
        if stale:
            story("host", "warning: the initramfs does not hold the current %s: run scripts/setup.sh"
                  % ", ".join(stale))

    # ----------------------------------------------------------- backend --
    def backend_argv(self):
        sc, kind = self.sc, self.backend_kind
        if kind == "uvhostd":
            argv = [self.args.uvhostd, "--socket-path", self.sock, "--device", sc["device"]]
            if sc["device"] == "blk":
                argv += ["--disk", self.disk, "--num-queues", str(sc["num_queues"])]
                if sc.get("no_mem_slots"):
                    argv.append("--no-mem-slots")
                if self.args.aio:
                    argv += ["--aio", self.args.aio]
                if self.args.direct:
                    argv.append("--direct")
            if sc["device"] == "vsock":
                argv += ["--guest-cid", str(VSOCK_CID), "--uds-path", self.vsock_path]
            if not self.args.no_trace:
                argv.append("-v")
            return argv
        if kind == "qsd":
            return [self.args.qsd,
                    "--blockdev", "driver=file,node-name=file0,filename=%s" % self.disk,
                    "--export", "type=vhost-user-blk,id=exp0,addr.type=unix,"
                    "addr.path=%s,node-name=file0,writable=on,num-queues=%d"
                    % (self.sock, sc["num_queues"])]
        return None

    def backend_spawned(self):
        """Hook: the back-end runs, its socket may not exist yet."""

    def start_backend(self):
        argv = self.backend_argv()
        if argv is None:
            return
        self.backend_cmd = argv
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.backend_starts += 1
        with open(self.backend_log, "ab") as log:
            if self.backend_starts > 1:
                log.write(b"==== uvtest: back-end restart #%d ====\n" % (self.backend_starts - 1))
            log.flush()
            self.backend = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT,
                                            preexec_fn=_pdeathsig)
        self.procs.append(self.backend)
        self.backend_spawned()
        deadline = time.monotonic() + 15
        while True:
            if self.backend.poll() is not None:
                raise Fail("back-end exited with status %s before listening; log:\n  %s"
                           % (self.backend.returncode, "\n  ".join(tail(self.backend_log))))
            try:
                if stat.S_ISSOCK(os.stat(self.sock).st_mode):
                    break
            except FileNotFoundError:
                pass
            if time.monotonic() > deadline:
                raise Fail("back-end did not create %s in time" % self.sock)
            time.sleep(0.02)

    def stop_backend(self, sig=signal.SIGTERM, timeout=5.0):
        p = self.backend
        if p is None or p.poll() is not None:
            return
        try:
            p.send_signal(sig)
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    # -------------------------------------------------------------- qemu --
    def qemu_argv(self):
        sc, a = self.sc, self.args
        g = a.guest_dir
        smp = a.smp or sc.get("smp", 2)
        mem = "256M"
        if sc.get("hotplug"):
            mem = "256M,slots=4,maxmem=2G"
        cmdline = ["console=ttyS0", "uvtest=%s" % sc["guest"], "panic=-1",
                   "uvtimeout=%d" % max(30, a.timeout - 10)]
        if not a.kernel_verbose:
            cmdline.append("quiet")
        if sc["device"] == "blk":
            cmdline += ["uvdisk=%d" % (a.disk_mib * MiB), "uvnq=%d" % sc["num_queues"]]
        if self.host_data:
            cmdline.append("uvhostdata=%d:%d:%s" % self.host_data)
        if sc.get("resize_grow_mib"):
            cmdline.append("uvnewdisk=%d" % self.resized_bytes())
        if sc.get("hotplug"):
            cmdline.append("memhp_default_state=online_movable")
        if sc["device"] == "vsock":
            cmdline += ["uvmods=" + VSOCK_MODS, "uvvsmib=%d" % sc["vsock_mib"],
                        "uvvsconns=%d" % sc["vsock_conns"]]
        cmdline += a.append
        argv = [a.qemu, "-machine", "q35,accel=tcg", "-cpu", "max", "-smp", str(smp),
                "-m", mem, "-nographic", "-no-reboot", "-nic", "none",
                "-kernel", os.path.join(g, "vmlinuz"),
                "-initrd", os.path.join(g, "initramfs.cpio.gz"),
                "-append", " ".join(cmdline),
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        if sc.get("hotplug"):
            path = "/dev/shm/uvtest-%d-%s-mem0" % (os.getpid(), os.path.basename(self.workdir))
            self.shm_files.append(path)
            argv += ["-object", "memory-backend-file,id=mem,size=256M,mem-path=%s,share=on" % path]
        else:
            argv += ["-object", "memory-backend-memfd,id=mem,size=256M,share=on"]
        argv += ["-numa", "node,memdev=mem"]
        if self.backend_kind == "builtin":
            if sc["device"] == "blk":
                argv += ["-drive", "file=%s,if=none,id=d0,format=raw,cache=none" % self.disk,
                         "-device", "virtio-blk-pci,drive=d0,num-queues=%d" % sc["num_queues"]]
            else:
                argv += ["-device", "virtio-rng-pci"]
        else:
            chardev = "socket,id=char0,path=%s" % self.sock
            if sc.get("reconnect"):
                chardev += ",reconnect=1"
            argv += ["-chardev", chardev,
                     "-trace", "enable=vhost_user_write,file=%s" % self.qemu_trace]
            if sc["device"] == "blk":
                argv += ["-device", "vhost-user-blk-pci,chardev=char0,num-queues=%d"
                         % sc["num_queues"]]
            elif sc["device"] == "vsock":
                argv += ["-device", "vhost-user-vsock-pci,chardev=char0"]
            else:
                argv += ["-device", "vhost-user-rng-pci,chardev=char0"]
        return argv

    def resized_bytes(self):
        return (self.args.disk_mib + self.sc["resize_grow_mib"]) * MiB

    def start_qemu(self):
        argv = self.qemu_argv()
        self.qemu_cmd = argv
        if not self.args.demo:
            story("host", "qemu: " + " ".join(shlex.quote(x) for x in argv))
        self.qemu_stderr = open(self.qemu_log, "wb")
        self.qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.qemu_stderr, preexec_fn=_pdeathsig)
        self.procs.append(self.qemu)
        t = threading.Thread(target=self._reader, daemon=True)
        t.start()
        self.qmp = QMP(self.qmp_path, alive=lambda: self.qemu.poll() is None)

    def _reader(self):
        with open(self.console_log, "wb") as log:
            buf = b""
            fd = self.qemu.stdout.fileno()
            while True:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                log.write(data)
                log.flush()
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.lines.put(line.decode("utf-8", "replace").rstrip("\r"))
            if buf:
                self.lines.put(buf.decode("utf-8", "replace").rstrip("\r"))
        self.lines.put(None)

    # ---------------------------------------------------- host actions --
    def on_wait(self, tag):
        if tag == "hotadd" and self.sc.get("hotplug"):
            self.hotadd()
        elif tag == "hotdel" and self.sc.get("hotplug"):
            self.hotdel()
        elif tag == "kill" and self.sc.get("reconnect"):
            self.kill_restart()
        elif tag == "resize" and self.sc.get("resize_grow_mib"):
            self.resize()
        elif tag.startswith("vsock-") and self.vsock:
            self.vsock.on_wait(tag.split())
        else:
            story("host", "ignoring unexpected request %r" % tag)

    def hotadd(self):
        path = "/dev/shm/uvtest-%d-%s-dimm1" % (os.getpid(), os.path.basename(self.workdir))
        self.shm_files.append(path)
        self.qmp.cmd("object-add", **{"qom-type": "memory-backend-file", "id": "memdimm1",
                                      "size": 256 * MiB, "mem-path": path, "share": True})
        self.qmp.cmd("device_add", driver="pc-dimm", id="dimm1", memdev="memdimm1")
        dimms = self.qmp.cmd("query-memory-devices")
        for d in dimms:
            dd = d.get("data", {})
            if dd.get("id") == "dimm1":
                story("host", "QMP: hot-added pc-dimm 'dimm1' (256 MiB, %s) at guest phys 0x%x"
                      % (path, dd.get("addr", 0)))
                break
        else:
            story("host", "QMP: hot-added pc-dimm 'dimm1' (256 MiB, %s)" % path)

    def hotdel(self):
        self.qmp.cmd("device_del", id="dimm1")
        story("host", "QMP: device_del dimm1, waiting for the guest to offline it")
        ev = self.qmp.wait_event(
            lambda e: e.get("event") == "DEVICE_DELETED" and e.get("data", {}).get("device") == "dimm1",
            60.0)
        osts = [e for e in self.qmp.events if e.get("event") == "ACPI_DEVICE_OST"]
        for e in osts:
            story("host", "QMP event ACPI_DEVICE_OST %s" % json.dumps(e.get("data")))
        if ev is None:
            self.host_failures.append("no DEVICE_DELETED for dimm1 within 60 s "
                                      "(guest did not offline the memory)")
            story("host", "FAIL: no DEVICE_DELETED for dimm1 within 60 s")
            return
        story("host", "QMP: DEVICE_DELETED dimm1 (guest offlined and ejected it)")
        self.qmp.cmd("object-del", id="memdimm1")
        story("host", "QMP: object-del memdimm1")

    def kill_restart(self):
        pid = self.backend.pid
        self.backend_expected_down = True
        # freeze first so that guest requests are certainly pending in the
        # rings when the back-end dies
        self.backend.send_signal(signal.SIGSTOP)
        time.sleep(self.args.freeze)
        self.backend.send_signal(signal.SIGKILL)
        self.backend.wait()
        t_kill = time.monotonic()
        story("host", "back-end pid %d frozen (SIGSTOP) for %.1f s during guest I/O, then SIGKILLed"
              % (pid, self.args.freeze))
        time.sleep(self.args.downtime)
        self.start_backend()
        self.backend_expected_down = False
        story("host", "back-end restarted as pid %d on the same socket after %.1f s"
              % (self.backend.pid, time.monotonic() - t_kill))

    def resize(self):
        old = os.path.getsize(self.disk)
        new = self.resized_bytes()
        try:
            pos = os.path.getsize(self.backend_log)
        except OSError:
            pos = 0
        os.truncate(self.disk, new)
        story("host", "grew the disk image %d -> %d MiB (truncate; %d -> %d sectors)"
              % (old // MiB, new // MiB, old // 512, new // 512))
        self.backend.send_signal(signal.SIGHUP)
        self.resize_sighup = time.monotonic()
        story("host", "SIGHUP to uvhostd pid %d" % self.backend.pid)
        # show the daemon's reaction; check_protocol() judges the whole log
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with open(self.backend_log, "rb") as f:
                f.seek(pos)
                new_lines = f.read().decode("utf-8", "replace").splitlines()
            hit = [ln for ln in new_lines if "CONFIG_CHANGE_MSG" in ln or "SIGHUP" in ln]
            if hit:
                story("host", "uvhostd: " + hit[0].split("uvhostd: ", 1)[-1])
                return
            time.sleep(0.05)
        story("host", "uvhostd logged nothing about the resize within 5 s of SIGHUP")

    def put_host_data(self):
        """The last MiB of the image gets random bytes before the guest boots
        (beyond what the guest's own test writes); the guest must read the
        same sha256 through its disk (guest lib.sh check_host_data)."""
        off = (self.args.disk_mib - 1) * MiB
        if off < 32 * MiB:  # the guest's own test writes [0, 32 MiB)
            raise Fail("--disk-mib %d leaves no room after the guest's 32 MiB for host data"
                       % self.args.disk_mib)
        data = os.urandom(MiB)
        with open(self.disk, "r+b") as f:
            f.seek(off)
            f.write(data)
        self.host_data = (off, MiB, hashlib.sha256(data).hexdigest())
        story("host", "put 1 MiB of random data at %d MiB of the image (sha256 %s...)"
              % (off // MiB, self.host_data[2][:16]))

    # -------------------------------------------------------------- run --
    def handle_line(self, line):
        i = line.find("UVTEST-")
        if i < 0:
            if self.args.console:
                story("con", line)
            elif "Kernel panic" in line or "BUG:" in line or "Call Trace" in line:
                story("guest", "kernel: " + line.strip())
            return
        body = line[i:]
        if body.startswith("UVTEST-LOG:"):
            self.guest_log.append(body[len("UVTEST-LOG:"):].strip())
            story("guest", self.guest_log[-1])
        elif body.startswith("UVTEST-WAIT"):
            tag = body[len("UVTEST-WAIT"):].strip()
            story("guest", "asks the host: %s" % tag)
            self.on_wait(tag)
        elif body.startswith("UVTEST-DATA"):
            f = body.split()
            if len(f) >= 5 and f[1] == "sha256":
                off, ln, h = int(f[2]), int(f[3]), f[4]
                self.data = [d for d in self.data if d[0] + d[1] <= off or off + ln <= d[0]]
                self.data.append((off, ln, h))
        elif body.startswith("UVTEST-HOSTDATA"):
            self.host_data_seen = body.split()[1:2] == ["ok"]
        elif body.startswith("UVTEST-RESULT:"):
            self.result = body[len("UVTEST-RESULT:"):].strip()
            story("guest", "result: %s" % self.result)

    def run(self):
        a = self.args
        story("host", "scenario %s (%s), back-end %s, workdir %s"
              % (self.name, self.sc["desc"], self.backend_kind, self.workdir))
        if self.sc["device"] == "blk":
            with open(self.disk, "wb") as f:
                f.truncate(a.disk_mib * MiB)
            story("host", "disk image %s: %d MiB raw (sparse)" % (self.disk, a.disk_mib))
            if self.sc.get("host_data"):
                self.put_host_data()
        if self.backend_kind == "qsd" and self.sc.get("no_mem_slots"):
            story("host", "note: qemu-storage-daemon has no --no-mem-slots; this run equals 'blk'")
        if self.backend_kind != "builtin":
            self.start_backend()
            if not a.demo:
                story("host", "back-end: " + " ".join(shlex.quote(x) for x in self.backend_cmd))
            story("host", "back-end pid %d listening on %s" % (self.backend.pid, self.sock))
        else:
            story("host", "back-end: none (QEMU built-in virtio device, rig check only)")
        if self.vsock:
            self.vsock.start()
        self.start_qemu()

        deadline = time.monotonic() + a.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("timed out after %d s waiting for UVTEST-RESULT" % a.timeout)
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                line = ""
            if line is None:
                break  # console closed: QEMU is gone
            if line:
                self.handle_line(line)
            if self.result is not None:
                break
            if (self.backend is not None and not self.backend_expected_down
                    and self.backend.poll() is not None):
                raise Fail("back-end exited unexpectedly with status %s"
                           % self.backend.returncode)
        if self.result is None:
            try:
                rc = self.qemu.wait(10)
            except subprocess.TimeoutExpired:
                rc = "(still running)"
            raise Fail("QEMU exited with status %s without a UVTEST-RESULT line" % rc)
        try:
            rc = self.qemu.wait(30)
            story("host", "guest powered off, QEMU exit status %d" % rc)
        except subprocess.TimeoutExpired:
            story("host", "QEMU did not exit after the result line; terminating it")
        self.qmp.close()
        self.stop_qemu()
        self.stop_backend()

    def verify_aio(self):
        """--aio/--direct asked for: the back-end must have said it serves
        that way (not fallen back), or the run proved nothing about it."""
        if self.backend_kind != "uvhostd" or not (self.args.aio or self.args.direct):
            return
        with open(self.backend_log, errors="replace") as f:
            log = f.read()
        want = []
        if self.args.aio == "io_uring" or self.args.direct:
            want.append("--aio io_uring")
        if self.args.direct:
            want.append("O_DIRECT")
        for w in want:
            if w not in log:
                self.host_failures.append("uvhostd never said it serves with %s" % w)
        if not self.host_failures:
            story("host", "uvhostd served the disk with %s" % " + ".join(want))

    def verify_disk(self):
        self.verify_aio()
        if self.host_data and self.result == "PASS" and not self.host_data_seen:
            self.host_failures.append("the guest never confirmed the host's data (UVTEST-HOSTDATA)")
        elif self.host_data_seen:
            story("host", "the guest read the host's 1 MiB back intact")
        if self.sc["device"] != "blk" or not self.data:
            return
        ok = 0
        for off, ln, h in sorted(self.data):
            got = sha256_range(self.disk, off, ln)
            if got != h:
                self.host_failures.append("disk image [%d MiB, +%d MiB) sha256 %s, guest wrote %s"
                                          % (off // MiB, ln // MiB, got[:16], h[:16]))
            else:
                ok += 1
        self.checked = (ok, len(self.data))
        story("host", "disk image re-checked on the host: %d/%d ranges match the guest's sha256"
              % (ok, len(self.data)))
        if self.sc.get("resize_grow_mib"):
            self.verify_resized()

    def verify_resized(self):
        """The guest must have written (and the host now re-checked) data
        beyond the old end of the disk, i.e. in the range the resize added."""
        old_end, new_end = self.args.disk_mib * MiB, self.resized_bytes()
        size = os.path.getsize(self.disk)
        if size != new_end:
            self.host_failures.append("disk image is %d bytes after the run, expected %d"
                                      % (size, new_end))
        grown = [(o, n, h) for o, n, h in self.data if o + n > old_end]
        if not grown:
            if self.result != "PASS":
                return  # the guest failed earlier; its reason says why
            self.host_failures.append("the guest reported no data beyond the old end (%d MiB)"
                                      % (old_end // MiB))
            return
        covered = sum(min(o + n, new_end) - max(o, old_end) for o, n, _ in grown)
        good = all(sha256_range(self.disk, o, n) == h for o, n, h in grown)
        story("host", "added range [%d, %d) MiB: the guest's %d MiB there %s on the image"
              % (old_end // MiB, new_end // MiB, covered // MiB,
                 "match its sha256" if good else "DO NOT match its sha256"))

    def check_protocol(self):
        """Host-side protocol expectations, from QEMU's own trace."""
        fe = self.frontend_counts()
        if self.backend_kind == "uvhostd" and self.sc.get("no_mem_slots"):
            if fe.get("ADD_MEM_REG", 0) or not fe.get("SET_MEM_TABLE", 0):
                self.host_failures.append(
                    "with --no-mem-slots QEMU should use SET_MEM_TABLE only, but it sent "
                    "SET_MEM_TABLE x%d, ADD_MEM_REG x%d"
                    % (fe.get("SET_MEM_TABLE", 0), fe.get("ADD_MEM_REG", 0)))
        if self.backend_kind == "uvhostd" and self.sc.get("resize_grow_mib"):
            self.check_resize_log(fe)
        if self.vsock:
            self.vsock.check()

    def check_resize_log(self, fe):
        """uvhostd must have sent CONFIG_CHANGE_MSG, and QEMU must have
        answered it by reading the config space again (GET_CONFIG)."""
        lines = tail(self.backend_log, 1000000)
        sent = [i for i, ln in enumerate(lines) if "CONFIG_CHANGE_MSG sent" in ln]
        if not sent:
            said = [ln for ln in lines if "SIGHUP" in ln or "CONFIG_CHANGE_MSG" in ln]
            self.host_failures.append("uvhostd never logged 'CONFIG_CHANGE_MSG sent'%s"
                                      % (" (it logged: %s)" % said[0] if said else ""))
            return
        i = sent[0]
        after = [j for j in range(i + 1, len(lines))
                 if re.search(r"<- GET_CONFIG\b", lines[j])]
        if self.args.no_trace:
            ok = fe.get("GET_CONFIG", 0) >= 2
            story("host", "uvhostd: 'CONFIG_CHANGE_MSG sent'; QEMU sent GET_CONFIG x%d in all "
                  "(no -v log to order them)" % fe.get("GET_CONFIG", 0))
            if not ok:
                self.host_failures.append("QEMU sent no second GET_CONFIG after the resize")
            return
        if not after:
            self.host_failures.append("uvhostd logged 'CONFIG_CHANGE_MSG sent' but received no "
                                      "GET_CONFIG after it (QEMU did not re-read the config)")
            return
        story("host", "uvhostd log: 'CONFIG_CHANGE_MSG sent' (line %d), then <- GET_CONFIG "
              "(line %d)%s; QEMU's trace: GET_CONFIG x%d in all"
              % (i + 1, after[0] + 1,
                 "" if len(after) == 1 else " and %d more" % (len(after) - 1),
                 fe.get("GET_CONFIG", 0)))

    def frontend_counts(self):
        """What QEMU sent, from its vhost_user_write trace events."""
        if getattr(self, "_fe_counts", None) is not None:
            return self._fe_counts
        counts = {}
        for ln in tail(self.qemu_trace, 1000000):
            m = VU_TRACE_RE.search(ln)
            if m:
                name = VU_REQ.get(int(m.group(1)), "REQ_%s" % m.group(1))
                counts[name] = counts.get(name, 0) + 1
        self._fe_counts = counts
        return counts

    def frontend_report(self):
        counts = self.frontend_counts()
        if counts:
            story("host", "QEMU (front-end) sent %d vhost-user messages: %s" % (
                sum(counts.values()),
                ", ".join("%s x%d" % (k, v) for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))))
        return counts

    def backend_report(self):
        if self.backend_kind == "builtin":
            return
        fe = self.frontend_report() or {}
        lines = tail(self.backend_log, 100000)
        counts = {}
        for ln in lines:
            m = VU_RE.search(ln)
            if m:
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        if counts and counts == fe:
            story("host", "back-end trace agrees with QEMU: the same %d messages received"
                  % sum(counts.values()))
        elif counts:
            story("host", "back-end trace: %d vhost-user messages: %s" % (
                sum(counts.values()),
                ", ".join("%s x%d" % (k, v) for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))))
            diff = sorted(k for k in set(fe) | set(counts) if fe.get(k, 0) != counts.get(k, 0))
            story("host", "note: back-end trace differs from QEMU's for %s"
                  % ", ".join("%s (%d sent, %d traced)" % (k, fe.get(k, 0), counts.get(k, 0))
                              for k in diff))
        if self.sc.get("hotplug") or self.sc.get("no_mem_slots"):
            for m in ("ADD_MEM_REG", "REM_MEM_REG", "SET_MEM_TABLE"):
                story("host", "%s: QEMU sent it %d time(s), back-end log shows it %d time(s)"
                      % (m, fe.get(m, 0), counts.get(m, 0)))
        if self.sc.get("reconnect"):
            story("host", "back-end started %d time(s)" % self.backend_starts)
        excerpt = tail(self.backend_log, self.args.log_lines)
        print("---- back-end log (%s, last %d lines) ----" % (self.backend_log, len(excerpt)))
        for ln in excerpt:
            print("  " + ln)
        if not excerpt:
            print("  (empty: this back-end logs nothing unless something goes wrong)")
        print("---- end of back-end log ----", flush=True)

    def stop_qemu(self):
        p = self.qemu
        if p is None or p.poll() is not None:
            return
        try:
            if self.qmp is not None:
                self.qmp.sock.sendall(b'{"execute": "quit"}\n')
            p.wait(5)
        except Exception:
            pass
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def cleanup(self, success):
        if self.qmp is not None:
            self.qmp.close()
        self.stop_qemu()
        self.stop_backend(timeout=3.0)
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.vsock:
            self.vsock.close()
        for f in self.shm_files:
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
        if success and not self.args.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            try:
                os.unlink(self.disk)  # keep the logs, not the image
            except FileNotFoundError:
                pass
            print("logs kept in %s" % self.workdir, flush=True)


# ------------------------------------------------------------------ demo --
# --demo: the closing output is a story for a person, built from the same
# material as the normal report (uvhostd's -v log, QEMU's trace, the guest's
# UVTEST-LOG lines, the host's re-check).

DEMO_WIDTH = 100
# per-ring messages whose -v trace line does not name the ring
RING_MSGS_NO_INDEX = ("SET_VRING_ADDR",)
VIRTIO_STATUS = ((0x4, "DRIVER_OK"), (0x8, "FEATURES_OK"), (0x2, "DRIVER"), (0x1, "ACKNOWLEDGE"))
LOG_MSG_RE = re.compile(r"<- ([A-Z_]+)(.*)$")
LOG_REGION_RE = re.compile(r"\b(mapped|unmapped) region gpa=(0x[0-9a-f]+) size=(0x[0-9a-f]+)")


def human_size(n):
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            v = n / div
            return ("%d %s" if v == int(v) else "%.1f %s") % (v, unit)
    return "%d B" % n


def parse_backend_log(lines):
    """uvhostd -v log -> events: dicts with kind msg|mem|conn|disc|note."""
    ev = []
    for ln in lines:
        text = ln.split("uvhostd: ", 1)[-1]
        if text.startswith("info: "):
            text = text[6:]
        m = LOG_MSG_RE.search(text)
        if text.startswith("<- ") and m:
            name, rest = m.group(1), m.group(2)
            e = dict(kind="msg", name=name, ring=None, label=name)
            r = re.search(r"\bring=(\d+)", rest)
            num = re.search(r"\bnum=(\d+)", rest)
            val = re.match(r"\s+(0x[0-9a-f]+)\s*$", rest)
            if r:
                e["ring"] = int(r.group(1))
            elif name in RING_MSGS_NO_INDEX and ev and ev[-1].get("ring") is not None:
                # QEMU sets a ring up as NUM, BASE, ADDR, KICK: ADDR belongs
                # to the ring of the message before it
                e["ring"] = ev[-1]["ring"]
            if name in ("SET_VRING_NUM", "SET_VRING_BASE", "SET_VRING_ENABLE") and num:
                e["label"] = "%s %s" % (name, num.group(1))
            elif val:
                e["value"] = int(val.group(1), 16)
                e["label"] = "%s %s" % (name, val.group(1))
                if name == "SET_STATUS":
                    bits = [b for v, b in VIRTIO_STATUS if e["value"] & v]
                    e["label"] += " (%s)" % ("reset" if not bits else bits[0])
            if name in ("ADD_MEM_REG", "REM_MEM_REG", "SET_MEM_TABLE"):
                e["kind"] = "mem"
            if "nofd" in rest:
                e["label"] += " (nofd)"
            ev.append(e)
            continue
        m = LOG_REGION_RE.search(text)
        if m:
            ev.append(dict(kind="mem", name=m.group(1), gpa=int(m.group(2), 16),
                           size=int(m.group(3), 16)))
        elif text.startswith("front-end connected"):
            ev.append(dict(kind="conn", text=text))
        elif text.startswith("front-end disconnected"):
            ev.append(dict(kind="disc", text=text))
        elif "CONFIG_CHANGE_MSG" in text or "back-end restart" in text:
            ev.append(dict(kind="note", text=text.strip("= ")))
        elif text.startswith(("error", "warn")) or ": error" in text:
            ev.append(dict(kind="note", text=text))
    return ev


def split_phases(events):
    """Cut the conversation where the device is started and stopped.  With
    F_STATUS (QEMU 7.2) a start ends with SET_STATUS carrying DRIVER_OK and
    a stop begins with SET_STATUS 0."""
    phases = []
    cur = None

    def begin(kind):
        nonlocal cur
        cur = dict(kind=kind, events=[])
        phases.append(cur)

    for e in events:
        if e["kind"] == "conn":
            begin("connect")
            cur["text"] = e["text"]
            continue
        if e["kind"] == "disc":
            begin("disconnect")
            cur["text"] = e["text"]
            continue
        if cur is None:
            begin("connect")
        name = e.get("name")
        if name == "SET_FEATURES" and cur["kind"] in ("connect", "stop", "running", "disconnect"):
            begin("start")
        elif name == "SET_STATUS" and e.get("value") == 0 and cur["kind"] != "stop":
            begin("stop")
        cur["events"].append(e)
        if name == "SET_STATUS" and cur["kind"] == "start" and e.get("value", 0) & 0x4:
            begin("running")  # DRIVER_OK: the device is live
    return [p for p in phases if p["events"] or p["kind"] in ("connect", "disconnect")]


def fold_rings(msgs):
    """[msg events] -> display items.  Per-ring runs whose pattern repeats
    over consecutive rings become one item ("rings 0-3: A, B"); a run of
    events on one ring becomes "ring N: A, B"."""
    items = []
    i, n = 0, len(msgs)

    def key(e):
        return e["label"]

    def group(prefix, block):
        """one item; a tuple of parts when it is a bracketed group, which
        wrap_items keeps on one line if it can"""
        if len(block) == 1:
            return [prefix + key(block[0])]
        parts = [key(x) for x in block]
        parts[0] = prefix + "[" + parts[0]
        parts[-1] += "]"
        return [tuple(parts)]

    def repeat_at(i):
        """(k, count) of the best ring-repeat block starting at i."""
        best = (0, 0)
        r0 = msgs[i]["ring"]
        if r0 is None:
            return best
        k = 0
        while i + k < n and msgs[i + k]["ring"] == r0:
            k += 1
            pat = [key(e) for e in msgs[i:i + k]]
            c = 1
            while (i + (c + 1) * k <= n
                   and all(msgs[i + c * k + j]["ring"] == r0 + c for j in range(k))
                   and [key(e) for e in msgs[i + c * k:i + (c + 1) * k]] == pat):
                c += 1
            if c >= 2 and c * k > best[0] * best[1]:
                best = (k, c)
        return best

    while i < n:
        e = msgs[i]
        if e["ring"] is None:
            items.append(e["label"])
            i += 1
            continue
        k, c = repeat_at(i)
        if c >= 2:
            items += group("rings %d-%d: " % (e["ring"], e["ring"] + c - 1), msgs[i:i + k])
            i += k * c
            continue
        j = i + 1
        while j < n and msgs[j]["ring"] == e["ring"] and repeat_at(j)[1] < 2:
            j += 1
        items += group("ring %d: " % e["ring"], msgs[i:j])
        i = j
    out = []
    for it in items:  # consecutive repeats -> "xN"
        if out and out[-1][0] == it:
            out[-1][1] += 1
        else:
            out.append([it, 1])
    return [(it if c == 1 else
             it[:-1] + ("%s x%d" % (it[-1], c),) if isinstance(it, tuple) else "%s x%d" % (it, c))
            for it, c in out]


def wrap_items(items, indent, width=DEMO_WIDTH):
    """Join items with ", " into lines of at most width columns; continuation
    lines are indented two more columns."""
    flat = []
    for it in items:  # a group that cannot fit on a line of its own is split
        if isinstance(it, tuple):
            whole = ", ".join(it)
            flat += [whole] if len(indent) + 2 + len(whole) <= width else list(it)
        else:
            flat.append(it)
    lines, cur = [], ""
    for it in flat:
        ind = indent if not lines else indent + "  "
        if cur and len(ind) + len(cur) + 2 + len(it) > width:
            lines.append(ind + cur + ",")
            cur = it
        else:
            cur = it if not cur else cur + ", " + it
    if cur:
        lines.append((indent if not lines else indent + "  ") + cur)
    return lines


def render_phase_body(events, indent="      "):
    """Messages folded and wrapped; memory-table changes on their own line."""
    out, run, i = [], [], 0
    while i < len(events):
        e = events[i]
        if e["kind"] == "msg":
            run.append(e)
            i += 1
            continue
        out += wrap_items(fold_rings(run), indent)
        run = []
        if e["kind"] == "mem":
            j = i
            while j < len(events) and events[j]["kind"] == "mem":
                j += 1
            block = events[i:j]
            names = fold_rings([dict(label=x["label"].split()[0], ring=None) for x in block
                                if x["name"] not in ("mapped", "unmapped")])
            regs, verb = [], None
            for x in block:
                if x["name"] not in ("mapped", "unmapped"):
                    continue
                regs.append("%sgpa=0x%x size=0x%x (%s)" % (
                    "" if x["name"] == verb else x["name"] + " ", x["gpa"], x["size"],
                    human_size(x["size"])))
                verb = x["name"]
            head = "memory: %s" % ", ".join(names)
            if regs:
                regs[0] = head + " -> " + regs[0]
            else:
                regs = [head + " (nothing mapped)"]
            out += wrap_items(regs, indent)
            i = j
        else:
            out.append(indent + "(uvhostd: %s)" % e["text"])
            i += 1
    out += wrap_items(fold_rings(run), indent)
    return out


def kicked_rings(phase):
    return sorted({e["ring"] for e in phase["events"] if e.get("name") == "SET_VRING_KICK"})


def ring_span(rings):
    if not rings:
        return "no rings"
    if rings == list(range(rings[0], rings[-1] + 1)) and len(rings) > 1:
        return "rings %d-%d" % (rings[0], rings[-1])
    return "ring" + ("s " if len(rings) > 1 else " ") + ",".join(map(str, rings))


def conversation(rig):
    """Section 2: the vhost-user conversation from uvhostd's -v log."""
    lines = tail(rig.backend_log, 1000000)
    events = parse_backend_log(lines)
    msgs = [e for e in events if e["kind"] in ("msg", "mem") and "label" in e]
    if not msgs:
        return ["  (no -v trace in %s)" % rig.backend_log]
    phases = split_phases(events)
    starts = [p for p in phases if p["kind"] == "start"]
    out = []
    for idx, p in enumerate(phases):
        kind = p["kind"]
        later = phases[idx + 1:]
        if kind == "connect":
            title = "QEMU connects (%s): negotiation before the guest runs" % (
                p.get("text", "front-end connected").split("(", 1)[-1].rstrip(")"))
        elif kind == "start":
            n = starts.index(p) + 1
            rings = kicked_rings(p)
            if n == 1 and len(rings) == 1 and len(starts) > 1:
                who = "SeaBIOS probes the disk"
            elif n >= 2 or len(starts) == 1:
                who = "the Linux virtio_%s driver" % rig.sc["device"]
            else:
                who = "the guest"
            live = any(e.get("name") == "SET_STATUS" and e.get("value", 0) & 0x4
                       for e in p["events"])
            title = "start %d: %s - %s set up%s" % (n, who, ring_span(rings),
                                                   ", DRIVER_OK" if live else "")
        elif kind == "stop":
            nxt = [q for q in later if q["kind"] in ("start", "disconnect", "connect")]
            if nxt and nxt[0]["kind"] == "start":
                title = "stop: the guest resets the device (Linux takes over from SeaBIOS)" \
                    if starts and starts.index(nxt[0]) == 1 else "stop: the guest resets the device"
            else:
                title = "stop: the guest powers off"
        elif kind == "running":
            title = "while the guest runs"
        else:
            out.append("    QEMU disconnects " + p.get("text", "").replace(
                "front-end disconnected ", "").replace("; ", ": ", 1))
            continue
        out.append("    " + title)
        out += render_phase_body(p["events"])
    return out


def guest_io(rig):
    """Section 3: the guest's results, from its UVTEST-LOG lines."""
    out = []
    for ln in rig.guest_log:
        m = re.match(r"guest up: kernel (\S+), (\d+) cpus", ln)
        if m:
            dev = rig.sc["device"]
            out.append("    guest          Linux %s, %s vCPUs, virtio_%s on %s-pci"
                       % (m.group(1), m.group(2), dev,
                          ("virtio-" if rig.backend_kind == "builtin" else "vhost-user-") + dev))
            continue
        m = re.match(r"(/dev/\w+): (\d+) sectors \((\d+) MiB\), (\d+) request queues", ln)
        if m:
            out.append("    disk           %s: %s sectors = %s MiB, %s blk-mq hardware queues"
                       % m.groups())
            continue
        m = re.match(r"(\w+): (\d+) MiB at offset (\d+) MiB in (\d+) parallel jobs: write "
                     r"([\d.]+) MiB/s, read ([\d.]+) MiB/s, sha256 ([0-9a-f]+) verified", ln)
        if m:
            tag, mb, off, jobs, w, r, h = m.groups()
            out.append("    write, read    %s MiB of random data at %s MiB, %s parallel O_DIRECT "
                       "dd jobs: %s / %s MiB/s" % (mb, off, jobs, w, r))
            out.append("    sha256         %s... identical per chunk and in total"
                       % h[:32])
            continue
        m = re.match(r"(\d+) of (\d+) virtqueues carried I/O", ln)
        if m:
            runs = [x for x in rig.guest_log if x.startswith("blk-mq queue runs")]
            out.append("    queues used    %s of %s virtqueues carried I/O%s" % (
                m.group(1), m.group(2),
                " (blk-mq runs %s)" % runs[-1].split(": ", 1)[1].replace("hctx", "")
                if runs else ""))
            continue
        if ln.startswith("FAIL"):
            out.append("    guest failure  " + ln)
    if len(out) <= 1:  # nothing this summary knows how to read: quote the guest
        out += ["    guest said     " + ln for ln in rig.guest_log
                if not ln.startswith(("guest up:", "modules loaded:"))]
    if rig.checked:
        ok, total = rig.checked
        out.append("    host re-check  after power-off the host hashed the image: "
                   "%d/%d range%s the guest's sha256"
                   % (ok, total, " matches" if total == 1 else "s match"))
    elif rig.sc["device"] == "blk" and rig.backend_kind == "gateway":
        out.append("    host re-check  none: the disk is the service VM's RAM disk; the guest "
                   "read back and hashed what it wrote")
    elif rig.sc["device"] == "blk":
        out.append("    host re-check  not done (no data reported)")
    return out or ["    (the guest reported nothing)"]


def shell_cmd(argv, rig, indent="    $ ", cont="          "):
    """A command line, $W for the work directory, wrapped at option
    boundaries with backslashes."""
    cwd = os.getcwd() + os.sep
    words = []
    for a in argv:
        if a.startswith(cwd):
            a = a[len(cwd):]
        q = shlex.quote(a)
        if q == a:
            q = q.replace(rig.workdir, "$W")
        words.append(q)
    groups, i = [], 0
    while i < len(words):  # keep "-opt value" together
        if words[i].startswith("-") and i + 1 < len(words) and not words[i + 1].startswith("-"):
            groups.append(words[i] + " " + words[i + 1])
            i += 2
        else:
            groups.append(words[i])
            i += 1
    lines, cur = [], indent
    for g in groups:
        if cur.strip() not in ("$", "") and len(cur) + 1 + len(g) > DEMO_WIDTH - 2:
            lines.append(cur + " \\")
            cur = cont + g
        else:
            cur += ("" if cur.endswith(("$ ", " ")) and cur.strip() in ("$", "") else " ") + g
    lines.append(cur)
    return lines


def demo_report(rig, status, why):
    print("=" * DEMO_WIDTH)
    try:
        qv = subprocess.run([rig.args.qemu, "--version"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, timeout=10).stdout.decode()
        rig.qemu_version = re.search(r"version (\S+)", qv).group(1)
    except Exception:
        rig.qemu_version = None
    print("uvhost demo: scenario %s (%s) - %s, QEMU %s"
          % (rig.name, rig.sc["desc"], rig.backend_kind, rig.qemu_version or "?"))
    print("1. Commands  (W=%s, the scratch directory)" % rig.workdir)
    if not (rig.backend_cmd or rig.qemu_cmd):
        print("    (nothing was started)")
    elif rig.sc["device"] == "blk" and rig.backend_kind != "gateway":
        print("    $ truncate -s %dM $W/disk.img" % rig.args.disk_mib)
    for ln in getattr(rig, "demo_commands", list)():
        print(ln)
    if rig.backend_cmd:
        for ln in shell_cmd(rig.backend_cmd, rig):
            print(ln)
    if rig.qemu_cmd:
        for ln in shell_cmd(rig.qemu_cmd, rig):
            print(ln)
    if rig.backend_kind == "uvhostd" and os.path.exists(rig.backend_log):
        fe = rig.frontend_counts()
        be = {}
        for ln in tail(rig.backend_log, 1000000):
            m = VU_RE.search(ln)
            if m and "<-" in ln:
                be[m.group(1)] = be.get(m.group(1), 0) + 1
        total = sum(be.values())
        agree = ("QEMU's own trace agrees" if be == fe else
                 "QEMU's trace differs for %s" % ", ".join(
                     "%s (%d sent, %d logged)" % (k, fe.get(k, 0), be.get(k, 0))
                     for k in sorted(set(fe) | set(be)) if fe.get(k, 0) != be.get(k, 0)))
        print("2. vhost-user messages uvhostd received, in order (%d; %s)" % (total, agree))
        for ln in conversation(rig):
            print(ln)
    for ln in getattr(rig, "demo_sections", list)():
        print(ln)
    print("%d. Guest I/O" % (4 if rig.backend_kind == "gateway" else 3))
    for ln in guest_io(rig):
        print(ln)


def demo_verdict(rig, word, why):
    secs = time.monotonic() - T0
    n = 5 if rig.backend_kind == "gateway" else 4
    if word != "PASS":
        return "%d. Verdict: %s - %s (%.1f s; logs kept in %s)" % (word, why, secs, rig.workdir)
    io = [ln for ln in rig.guest_log if re.match(r"\w+: \d+ MiB at offset", ln)]
    q = [ln for ln in rig.guest_log if "virtqueues carried I/O" in ln]
    what = ""
    if io:
        what = ": %d MiB" % sum(int(ln.split(": ", 1)[1].split()[0]) for ln in io)
        if q:
            what += " over %s virtqueues" % q[-1].split()[0]
        if rig.checked:
            what += ", sha256 verified in guest and on host"
    qemu = "QEMU" + (" " + rig.qemu_version if getattr(rig, "qemu_version", None) else "")
    who = rig.backend_kind
    if who == "gateway":
        who = "uvhost-gw + the bare-metal service VM"
        if io:
            what += ", sha256 verified by the guest"
    return "%d. Verdict: PASS - %s + %s%s (%.1f s)" % (n, qemu, who, what, secs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--backend", choices=("uvhostd", "qsd", "builtin", "gateway"),
                    default=os.environ.get("UVTEST_BACKEND", "uvhostd"),
                    help="vhost-user back-end to test (default uvhostd; qsd = "
                         "qemu-storage-daemon, builtin = QEMU's own virtio device)")
    ap.add_argument("--uvhostd", default=os.environ.get(
        "UVHOSTD_BIN", os.path.join(ROOT, "build", "host", "uvhostd")))
    ap.add_argument("--qsd", default="qemu-storage-daemon")
    ap.add_argument("--gw", default=os.path.join(ROOT, "build", "host", "uvhost-gw"),
                    help="gateway: the uvhost-gw binary")
    ap.add_argument("--vm-image", default=os.path.join(ROOT, "build", "aarch64", "uvhost.elf"),
                    help="gateway: the service VM image")
    ap.add_argument("--qemu", default=os.environ.get("UVTEST_QEMU", "qemu-system-x86_64"))
    ap.add_argument("--guest-dir", default=os.environ.get(
        "UVTEST_GUEST_DIR", os.path.join(ROOT, "build", "guest")))
    ap.add_argument("--timeout", type=int, default=240,
                    help="seconds to wait for the guest's result (default 240)")
    ap.add_argument("--disk-mib", type=int, default=64)
    ap.add_argument("--smp", type=int, default=0, help="override guest vCPU count")
    ap.add_argument("--downtime", type=float, default=1.0,
                    help="reconnect: seconds the back-end stays dead (default 1)")
    ap.add_argument("--freeze", type=float, default=0.3,
                    help="reconnect: seconds the back-end is SIGSTOPped before SIGKILL")
    ap.add_argument("--append", action="append", default=[],
                    help="extra kernel command line word (repeatable)")
    ap.add_argument("--no-trace", action="store_true", help="do not pass -v to uvhostd")
    ap.add_argument("--doorbell", action="store_true",
                    help="gateway: kicks and calls through an ivshmem-doorbell")
    ap.add_argument("--poll-kicks", action="store_true",
                    help="gateway: relay no kick, the service VM polls (bench/notify.sh)")
    ap.add_argument("--aio", choices=("io_uring", "sync"), default=None,
                    help="uvhostd --aio (blk); checked in uvhostd's log")
    ap.add_argument("--direct", action="store_true",
                    help="uvhostd --direct (blk, O_DIRECT); the disk image is then created "
                    "in --tmpdir, which must not be tmpfs")
    ap.add_argument("--console", action="store_true", help="echo the whole guest console")
    ap.add_argument("--kernel-verbose", action="store_true", help="boot without 'quiet'")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--tmpdir", default=None, help="parent of the work directory")
    ap.add_argument("--log-lines", type=int, default=15,
                    help="back-end log lines to print at the end")
    ap.add_argument("--demo", action="store_true",
                    help="end with a readable story of the run (commands, vhost-user "
                         "conversation, guest I/O, verdict) instead of the log tail")
    args = ap.parse_args()

    def on_signal(signum, _frame):
        raise SystemExit("interrupted by signal %d" % signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    if args.backend == "gateway":
        from gateway_rig import GatewayRig  # the service VM behind uvhost-gw
        rig = GatewayRig(args.scenario, args)
    else:
        rig = Rig(args.scenario, args)
    status, why = EXIT_FAIL, "unknown"
    never_ran = False  # preflight refused: no logs to show
    try:
        rig.preflight()
        rig.run()
        rig.verify_disk()
        rig.check_protocol()
        if rig.result != "PASS":
            status, why = EXIT_FAIL, "guest: %s" % rig.result
            if rig.host_failures:
                why += "; host: " + "; ".join(rig.host_failures)
        elif rig.host_failures:
            status, why = EXIT_FAIL, "; ".join(rig.host_failures)
        else:
            status, why = EXIT_PASS, "guest and host checks passed"
    except Skip as e:
        status, why = uvtest_env.cannot_run(str(e))
        never_ran = True
    except Fail as e:
        status, why = EXIT_FAIL, str(e)
    except SystemExit as e:
        status, why = EXIT_FAIL, str(e)
    except Exception as e:  # keep cleanup and diagnostics for rig bugs too
        import traceback
        traceback.print_exc()
        status, why = EXIT_FAIL, "runner error: %r" % e
    finally:
        try:
            if args.demo:
                demo_report(rig, status, why)
            elif not never_ran:
                rig.backend_report()
            if status == EXIT_FAIL and not never_ran:
                print("---- guest console (%s, last 40 lines) ----" % rig.console_log)
                for ln in tail(rig.console_log, 40):
                    print("  " + ln)
                qe = tail(rig.qemu_log, 20)
                if qe:
                    print("---- qemu stderr ----")
                    for ln in qe:
                        print("  " + ln)
        finally:
            rig.cleanup(status != EXIT_FAIL or never_ran)
    word = {EXIT_PASS: "PASS", EXIT_FAIL: "FAIL", EXIT_SKIP: "SKIP"}[status]
    if args.demo:
        print(demo_verdict(rig, word, why), flush=True)
        return status
    print("interop_%s [%s]: %s - %s (%.1f s)" % (args.scenario, args.backend, word, why,
                                                time.monotonic() - T0), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
