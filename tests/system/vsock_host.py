"""Host side of the service VM's vsock: uvhostd as the vhost-user-vsock
device, hybrid-vsock connections to the VM, and the control-protocol
clients the system tests, the demo and echo_compare.py share.

Hybrid vsock (see docs/cli.md): connect to the Unix socket PATH, write
"CONNECT <port>\\n", read "OK <hostport>\\n"; the stream is then the guest's
port. Python standard library only.
"""
import os
import random
import socket
import stat
import subprocess
import threading
import time
import zlib

MiB = 1024 * 1024
CTL_PORT = 1024
# "echo " + text must fit the control service's 4096-byte line (kern/control.h).
ECHO_LINE = 4090


class VsockError(Exception):
    pass


class VsockDevice:
    """One uvhostd --device vsock; its log goes to WORKDIR/uvhostd.log."""

    def __init__(self, uvhostd, workdir, cid=3, verbose=True):
        self.workdir = workdir
        self.vu_path = os.path.join(workdir, "vu.sock")
        self.uds_path = os.path.join(workdir, "v.sock")
        self.log_path = os.path.join(workdir, "uvhostd.log")
        self.cid = cid
        self.argv = [uvhostd, "--socket-path", self.vu_path, "--device", "vsock",
                     "--guest-cid", str(cid), "--uds-path", self.uds_path]
        if verbose:
            self.argv.append("-v")
        self.proc = None

    def start(self, timeout=10):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise VsockError("uvhostd exited (%s) before listening: %s"
                                 % (self.proc.returncode, self.log_tail()))
            try:
                if stat.S_ISSOCK(os.stat(self.vu_path).st_mode):
                    return
            except FileNotFoundError:
                pass
            if time.monotonic() > deadline:
                raise VsockError("uvhostd did not create %s" % self.vu_path)
            time.sleep(0.02)

    def qemu_args(self, memory="128M", mem_path=None):
        """vhost-user needs the guest RAM shareable: a memfd backend, or with
        `mem_path` a file there (SHMEM over windows maps the VM's RAM)."""
        ram = ("memory-backend-file,id=uvmem,mem-path=%s,size=%s,share=on" % (mem_path, memory)
               if mem_path else "memory-backend-memfd,id=uvmem,size=%s,share=on" % memory)
        return ["-object", ram,
                "-machine", "memory-backend=uvmem",
                "-chardev", "socket,id=uvvs,path=%s" % self.vu_path,
                "-device", "vhost-user-vsock-pci,chardev=uvvs"]

    def connect(self, port=CTL_PORT, timeout=30):
        return hybrid_connect(self.uds_path, port, timeout)

    def log_tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def hybrid_connect(uds_path, port, timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(uds_path)
    s.sendall(b"CONNECT %d\n" % port)
    line = b""
    while not line.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            raise VsockError("uvhostd closed the connection instead of OK (port %d refused?)"
                             % port)
        line += b
    if not line.startswith(b"OK "):
        raise VsockError("hybrid handshake answered %r" % line)
    return s


class LineClient:
    """A control-service connection: one-line and dot-terminated replies."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def readline(self):
        while b"\n" not in self.buf:
            b = self.sock.recv(65536)
            if not b:
                raise VsockError("the VM closed the connection (buffered %r)" % self.buf[:80])
            self.buf += b
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self.readline()

    def block(self, line):
        """Send a command whose reply is lines up to a lone "."."""
        self.sock.sendall(line.encode() + b"\n")
        out = []
        while True:
            ln = self.readline()
            if ln == ".":
                return out
            out.append(ln)

    def stats(self):
        d = {}
        for ln in self.block("stats"):
            k, _, v = ln.partition(" ")
            if not v.isdigit():
                raise VsockError("stats line %r is not '<key> <number>'" % ln)
            d[k] = int(v)
        return d

    def windows(self):
        """[(index, base, size, crc32)] from `windows`."""
        out = []
        for ln in self.block("windows"):
            f = ln.split()
            if len(f) != 4:
                raise VsockError("windows line %r is not 'i base size crc'" % ln)
            out.append((int(f[0]), int(f[1], 16), int(f[2]), int(f[3], 16)))
        return out

    def close(self):
        self.sock.close()


class EchoLines:
    """Deterministic, distinct lines: line i starts with its number, so a
    lost, duplicated or reordered reply is named by index."""

    def __init__(self, line_len=ECHO_LINE, seed=7):
        rnd = random.Random(seed)
        self.line_len = line_len
        self.pool = [rnd.randbytes(line_len // 2 + 8).hex().encode() for _ in range(64)]

    def text(self, i, length=None):
        n = self.line_len if length is None else length
        return (b"%08d:" % i + self.pool[i % 64])[:n]


def first_diff(got, want):
    n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    return "%d bytes, want %d; first difference at byte %d: got %r, want %r" % (
        len(got), len(want), n, got[n:n + 16], want[n:n + 16])


def echo_stream(sock, total, line_len=ECHO_LINE, slow_s=0.0, slow_chunk=1024,
                slow_sleep=0.005, seed=7, corrupt_expect=False):
    """Send `total` bytes of text as pipelined "echo <text>" lines (a sender
    thread; the socket buffers and the VM's backpressure bound what is in
    flight) while this thread reads and checks every reply in order. For the
    first `slow_s` seconds the reader takes `slow_chunk` bytes per
    `slow_sleep`. Returns a dict: lines, bytes, seconds, crc_sent, crc_recv,
    mib_s, lines_s. Raises VsockError on any difference."""
    lines = EchoLines(line_len, seed)
    nlines = max(1, total // line_len)
    err = []
    crc_sent = [0]

    def sender():
        try:
            batch = []
            for i in range(nlines):
                t = lines.text(i)
                crc_sent[0] = zlib.crc32(t + b"\n", crc_sent[0])
                batch.append(b"echo " + t + b"\n")
                if len(batch) == 16 or i == nlines - 1:
                    sock.sendall(b"".join(batch))
                    batch = []
        except OSError as e:
            err.append("sender: %s" % e)

    buf = b""
    got = 0
    nbytes = 0
    crc_recv = 0
    t0 = time.monotonic()
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    try:
        while got < nlines:
            slow = time.monotonic() - t0 < slow_s
            b = sock.recv(slow_chunk if slow else 262144)
            if not b:
                raise VsockError("the VM closed after %d of %d replies" % (got, nlines))
            if slow:
                time.sleep(slow_sleep)
            nbytes += len(b)
            crc_recv = zlib.crc32(b, crc_recv)
            buf += b
            start = 0
            while True:
                nl = buf.find(b"\n", start)
                if nl < 0:
                    break
                want = lines.text(got)
                if corrupt_expect and got == nlines // 2:
                    want = want[:-1] + b"?"  # one-off: proves a wrong reply fails
                if buf[start:nl] != want:
                    raise VsockError("reply %d differs: %s" % (got, first_diff(buf[start:nl],
                                                                               want)))
                got += 1
                start = nl + 1
            buf = buf[start:]
    except socket.timeout:
        raise VsockError("no reply for %ss after %d of %d lines" % (sock.gettimeout(), got,
                                                                   nlines))
    dt = time.monotonic() - t0
    th.join(10)
    if err:
        raise VsockError(err[0])
    if buf:
        raise VsockError("%d bytes after the last reply" % len(buf))
    if crc_recv != crc_sent[0]:
        raise VsockError("crc32 of the replies %08x, of what was sent %08x"
                         % (crc_recv, crc_sent[0]))
    return dict(lines=nlines, bytes=nbytes, seconds=dt, crc_sent=crc_sent[0],
                crc_recv=crc_recv, mib_s=nbytes / MiB / dt, lines_s=nlines / dt)
