"""A minimal vhost-user front-end over the fd-less vsock transport
(docs/vsock-transport.md), for the system tests: messages without fds,
window-addressed regions (mmap_offset = window << 40 | offset), NOFD rings
the service VM polls, and a split virtqueue laid out in a window file the
host maps with mmap. Python standard library only.
"""
import mmap
import os
import select
import socket
import struct
import time

# Requests (vu/wire.h).
GET_FEATURES = 1
SET_FEATURES = 2
SET_OWNER = 3
SET_VRING_NUM = 8
SET_VRING_ADDR = 9
SET_VRING_BASE = 10
GET_VRING_BASE = 11
SET_VRING_KICK = 12
SET_VRING_CALL = 13
GET_PROTOCOL_FEATURES = 15
SET_PROTOCOL_FEATURES = 16
SET_VRING_ENABLE = 18
SET_BACKEND_REQ_FD = 21
GET_CONFIG = 24
GET_MAX_MEM_SLOTS = 36
ADD_MEM_REG = 37
REM_MEM_REG = 38
GET_SHMEM_CONFIG = 44

# Back-end requests, on the backend channel (vu/wire.h).
BREQ_CONFIG_CHANGE_MSG = 2
BREQ_VRING_CALL = 4
BREQ_VRING_ERR = 5
BREQ_SHMEM_MAP = 9
BREQ_SHMEM_UNMAP = 10
SHMEM_MAP_RW = 1

F_RING_INDIRECT_DESC = 1 << 28
F_PROTOCOL_FEATURES = 1 << 30
F_VERSION_1 = 1 << 32
PF_REPLY_ACK = 1 << 3
PF_BACKEND_REQ = 1 << 5
PF_CONFIG = 1 << 9
PF_INFLIGHT_SHMFD = 1 << 12
PF_INBAND_NOTIFICATIONS = 1 << 14
PF_CONFIGURE_MEM_SLOTS = 1 << 15
PF_SHMEM = 1 << 22
PF_WINDOW_ADDR = 1 << 63

FLAG_VERSION = 0x1
FLAG_REPLY = 0x4
FLAG_NEED_REPLY = 0x8
VRING_NOFD = 1 << 8
WINDOW_SHIFT = 40

VRING_DESC_F_NEXT = 1
VRING_DESC_F_WRITE = 2


class FrontendError(Exception):
    pass


def u64(v):
    return struct.pack("<Q", v)


def region(gpa, size, uaddr, window, offset):
    """ADD/REM_MEM_REG payload: padding, then one window-addressed region."""
    return u64(0) + struct.pack("<QQQQ", gpa, size, uaddr, (window << WINDOW_SHIFT) | offset)


class Frontend:
    """One vhost-user connection on a socket already connected to the VM."""

    def __init__(self, sock, timeout=20):
        self.sock = sock
        self.sock.settimeout(timeout)

    def send(self, req, payload=b"", flags=FLAG_VERSION):
        self.sock.sendall(struct.pack("<III", req, flags, len(payload)) + payload)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            b = self.sock.recv(n - len(buf))
            if not b:
                raise FrontendError("the VM closed the connection (%d of %d bytes read)"
                                    % (len(buf), n))
            buf += b
        return buf

    def recv(self, req):
        req_got, flags, size = struct.unpack("<III", self._read(12))
        payload = self._read(size)
        if req_got != req or not flags & FLAG_REPLY:
            raise FrontendError("reply to %d: got request %d flags %#x" % (req, req_got, flags))
        return payload

    def call_u64(self, req, payload=b""):
        self.send(req, payload)
        p = self.recv(req)
        if len(p) != 8:
            raise FrontendError("reply to %d has %d bytes, not 8" % (req, len(p)))
        return struct.unpack("<Q", p)[0]

    def ack(self, req, payload=b""):
        """Send with NEED_REPLY (REPLY_ACK negotiated): the u64 status."""
        self.send(req, payload, FLAG_VERSION | FLAG_NEED_REPLY)
        return struct.unpack("<Q", self.recv(req))[0]

    def get_config(self, offset, size):
        self.send(GET_CONFIG, struct.pack("<III", offset, size, 0) + bytes(size))
        p = self.recv(GET_CONFIG)
        off, sz, _ = struct.unpack("<III", p[:12])
        if off != offset or sz != size or len(p) != 12 + size:
            raise FrontendError("GET_CONFIG answered offset %d size %d (%d bytes)"
                                % (off, sz, len(p)))
        return p[12:]

    def get_shmem_config(self):
        """GET_SHMEM_CONFIG: the list of region sizes, nregions long."""
        self.send(GET_SHMEM_CONFIG)
        p = self.recv(GET_SHMEM_CONFIG)
        if len(p) != 8 + 8 * 256:
            raise FrontendError("GET_SHMEM_CONFIG answered %d bytes, not 2056" % len(p))
        n = struct.unpack("<I", p[:4])[0]
        if n > 256:
            raise FrontendError("GET_SHMEM_CONFIG: %d regions" % n)
        return list(struct.unpack("<%dQ" % n, p[8:8 + 8 * n]))

    def negotiate(self, want_pf, want_features=0):
        """GET_FEATURES, GET/SET_PROTOCOL_FEATURES, SET_OWNER, SET_FEATURES
        (VERSION_1 and PROTOCOL_FEATURES, plus `want_features` if offered).
        Returns (features offered, protocol features offered)."""
        feats = self.call_u64(GET_FEATURES)
        if not feats & F_PROTOCOL_FEATURES:
            raise FrontendError("PROTOCOL_FEATURES not offered: %#x" % feats)
        pf = self.call_u64(GET_PROTOCOL_FEATURES)
        self.send(SET_PROTOCOL_FEATURES, u64(pf & want_pf))
        self.send(SET_OWNER)
        self.send(SET_FEATURES, u64(feats & (F_VERSION_1 | F_PROTOCOL_FEATURES |
                                             want_features)))
        return feats, pf


class WindowFile:
    """The host's view of a window: the /dev/shm file QEMU shares, mmapped."""

    def __init__(self, path, size):
        self.fd = os.open(path, os.O_RDWR)
        self.mm = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.size = size

    def write(self, off, data):
        self.mm[off:off + len(data)] = data

    def read(self, off, n):
        return bytes(self.mm[off:off + n])

    def close(self):
        self.mm.close()
        os.close(self.fd)


class SplitRing:
    """A split virtqueue in a window region: descriptors, avail and used
    rings at fixed offsets, buffers after them. `gpa`/`uaddr` are what the
    region was registered with; the window offset of gpa is `woff`."""

    DESC, AVAIL, USED, BUF = 0x0000, 0x1000, 0x2000, 0x4000

    def __init__(self, win, woff, gpa, uaddr, num=8):
        self.win, self.woff, self.gpa, self.uaddr, self.num = win, woff, gpa, uaddr, num
        self.next_desc = 0
        self.avail_idx = 0
        self.used_seen = 0
        win.write(woff, bytes(self.BUF))

    def setup(self, fe, index=0):
        fe.send(SET_VRING_NUM, struct.pack("<II", index, self.num))
        fe.send(SET_VRING_BASE, struct.pack("<II", index, 0))
        fe.send(SET_VRING_ADDR, struct.pack("<IIQQQQ", index, 0, self.uaddr + self.DESC,
                                            self.uaddr + self.USED, self.uaddr + self.AVAIL,
                                            0))
        fe.send(SET_VRING_CALL, u64(index | VRING_NOFD))
        fe.send(SET_VRING_KICK, u64(index | VRING_NOFD))
        fe.send(SET_VRING_ENABLE, struct.pack("<II", index, 1))

    def buf(self, off):
        """Guest address and window offset of buffer space at `off`."""
        return self.gpa + self.BUF + off, self.woff + self.BUF + off

    def post(self, chain):
        """chain: [(gpa, len, writable)]. Returns the head descriptor."""
        head = self.next_desc
        for i, (addr, ln, wr) in enumerate(chain):
            d = (head + i) % self.num
            flags = (VRING_DESC_F_WRITE if wr else 0) | (
                VRING_DESC_F_NEXT if i + 1 < len(chain) else 0)
            self.win.write(self.woff + self.DESC + 16 * d,
                           struct.pack("<QIHH", addr, ln, flags, (d + 1) % self.num))
        self.next_desc = (head + len(chain)) % self.num
        a = self.woff + self.AVAIL
        self.win.write(a + 4 + 2 * (self.avail_idx % self.num), struct.pack("<H", head))
        self.avail_idx = (self.avail_idx + 1) & 0xffff
        self.win.write(a + 2, struct.pack("<H", self.avail_idx))  # publish last
        return head

    def wait_used(self, timeout=10):
        """Poll the used ring for the next element: (id, len)."""
        u = self.woff + self.USED
        deadline = time.monotonic() + timeout
        while struct.unpack("<H", self.win.read(u + 2, 2))[0] == self.used_seen:
            if time.monotonic() > deadline:
                raise FrontendError("no used element after %ds (used idx %d)"
                                    % (timeout, self.used_seen))
            time.sleep(0.005)
        e = self.win.read(u + 4 + 8 * (self.used_seen % self.num), 8)
        self.used_seen = (self.used_seen + 1) & 0xffff
        return struct.unpack("<II", e)


class BackendChannel:
    """The front-end's end of the backend channel on this transport: the
    back-end connects to a vsock port we listen on (SET_BACKEND_REQ_FD
    carries it as a u64). Over uvhostd's hybrid vsock, the VM connecting to
    host port P reaches the Unix socket PATH_P, so we listen there.
    BACKEND_VRING_CALLs (no reply wanted) are counted and skipped."""

    def __init__(self, uds_path, port, timeout=10):
        self.port = port
        self.path = "%s_%d" % (uds_path, port)
        self.timeout = timeout
        self.calls = 0
        self.sock = None
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(self.path)
        self.lsock.listen(2)
        self.lsock.settimeout(timeout)

    def accept(self):
        """Wait for the back-end's connection (after SET_BACKEND_REQ_FD)."""
        try:
            self.sock, _ = self.lsock.accept()
        except socket.timeout:
            raise FrontendError("the back-end did not connect to %s in %ds"
                                % (self.path, self.timeout))
        self.sock.settimeout(self.timeout)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            try:
                b = self.sock.recv(n - len(buf))
            except socket.timeout:
                raise FrontendError("backend channel: nothing for %ds (%d of %d bytes)"
                                    % (self.timeout, len(buf), n))
            if not b:
                raise FrontendError("backend channel closed by the back-end")
            buf += b
        return buf

    def _one(self):
        req, flags, size = struct.unpack("<III", self._read(12))
        if size > 4096:
            raise FrontendError("backend request %d announces %d bytes" % (req, size))
        payload = self._read(size)
        if flags & FLAG_REPLY or flags & 0x3 != FLAG_VERSION:
            raise FrontendError("backend request %d with flags %#x" % (req, flags))
        if req == BREQ_VRING_CALL:
            self.calls += 1
            return None
        return req, flags, payload

    def next(self):
        """The next request other than VRING_CALL: (request, flags, payload)."""
        while True:
            m = self._one()
            if m:
                return m

    def expect(self, req):
        got, flags, payload = self.next()
        if got != req:
            raise FrontendError("backend channel: request %d, expected %d" % (got, req))
        return flags, payload

    def reply(self, req, status):
        self.sock.sendall(struct.pack("<IIIQ", req, FLAG_VERSION | FLAG_REPLY, 8, status))

    def quiet(self, wait=0.3):
        """None when nothing but VRING_CALLs arrives for `wait` seconds, else
        the request that did: (request, flags, payload)."""
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            m = self._one()
            if m:
                return m

    def close(self):
        for s in (self.sock, self.lsock):
            if s:
                s.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def shmem_map_fields(payload):
    """SHMEM_MAP/UNMAP payload: (shmid, fd_offset, shm_offset, len, flags)."""
    if len(payload) != 40:
        raise FrontendError("SHMEM payload of %d bytes, not 40" % len(payload))
    shmid = payload[0]
    if payload[1:8] != bytes(7):
        raise FrontendError("SHMEM payload padding is not zero: %s" % payload[1:8].hex())
    return (shmid,) + struct.unpack("<QQQQ", payload[8:])
