#!/usr/bin/env python3
"""Write the seed corpus of fuzz_msg (tests/fuzz/corpus/fuzz_msg/).

Each seed is a front-end session in fuzz_msg's input format (see the comment
at the top of fuzz_msg.c): one config byte, then records of
    u32 request, u32 flags, u16 size, u8 fdspec, payload
Seeds that negotiate everything, map guest memory, set up rings inside it and
put virtio-blk requests on them (FUZZ_POKE) let the fuzzer start mutating
from deep states instead of rediscovering the handshake.

Run: python3 tests/fuzz/gen_corpus.py   (rewrites the directory's seeds)
"""
import os
import struct
import sys

CORPUS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_msg")

# Request codes (vu/wire.h).
GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM = 15, 16, 17
SET_VRING_ENABLE, SET_BACKEND_REQ_FD = 18, 21
GET_CONFIG, SET_CONFIG = 24, 25
GET_INFLIGHT_FD, SET_INFLIGHT_FD, RESET_DEVICE, VRING_KICK = 31, 32, 34, 35
GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG, SET_STATUS, GET_STATUS = 36, 37, 38, 39, 40

# Harness requests (fuzz_msg.c).
FUZZ_POKE, FUZZ_KICK, FUZZ_CONFIG, FUZZ_DISCONNECT = 0xF0000001, 0xF0000002, 0xF0000003, 0xF0000004

VERSION, NEED_REPLY = 0x1, 0x8
NOFD = 1 << 8
DOORBELL = 1 << 9  # with PF_DOORBELL: vector in bits 16-31, peer 32-47, device 48-55

F_EVENT_IDX, F_INDIRECT, F_PROTOCOL, F_VERSION_1 = 1 << 29, 1 << 28, 1 << 30, 1 << 32
PF_MQ, PF_REPLY_ACK, PF_BACKEND_REQ, PF_CONFIG = 1 << 0, 1 << 3, 1 << 5, 1 << 9
PF_INFLIGHT, PF_RESET_DEVICE, PF_INBAND, PF_MEM_SLOTS, PF_STATUS = 1 << 12, 1 << 13, 1 << 14, 1 << 15, 1 << 16
PF_FDS = PF_MQ | PF_REPLY_ACK | PF_BACKEND_REQ | PF_CONFIG | PF_INFLIGHT | PF_RESET_DEVICE | PF_MEM_SLOTS | PF_STATUS
PF_NOFDS = PF_MQ | PF_REPLY_ACK | PF_BACKEND_REQ | PF_CONFIG | PF_RESET_DEVICE | PF_MEM_SLOTS | PF_STATUS | PF_INBAND
PF_DOORBELL, PF_WINDOW_ADDR = 1 << 62, 1 << 63
FEATURES = F_VERSION_1 | F_PROTOCOL | F_INDIRECT

# fdspec: one 64 KiB file (size class 4), or n of them.
FD64K = 0x41
FD8 = 0x01  # one 4 KiB file (eventfd stand-in)


def fds64k(n):
    return 0x40 | n


# Guest memory: one 64 KiB region (fake file 0 in most seeds).
MEM_GPA, MEM_SIZE, MEM_UADDR = 0x0, 0x10000, 0x7F0000000000
QSZ = 16
RING = {0: (0x0000, 0x0100, 0x0200), 1: (0x0400, 0x0500, 0x0600)}  # desc, avail, used offsets

IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES = 0, 1, 4, 8, 11, 13
D_NEXT, D_WRITE, D_INDIRECT = 1, 2, 4


class Seed:
    """A session under construction. It counts the fake files the harness
    will create, in order, so that pokes can name the file holding guest
    memory (`mem_file`) or an inflight region."""

    def __init__(self, cfg=0x00):
        self.b = bytearray([cfg])
        self.nfiles = 0
        self.mem_file = 0

    def rec(self, request, payload=b"", flags=VERSION, fdspec=0, size=None):
        self.b += struct.pack("<IIHB", request, flags, len(payload) if size is None else size, fdspec)
        self.b += payload
        if request not in (FUZZ_POKE, FUZZ_KICK, FUZZ_CONFIG, FUZZ_DISCONNECT):
            self.nfiles += min(fdspec & 0x0F, 8)
        return self

    def empty(self, request, **kw):
        return self.rec(request, b"", **kw)

    def u64(self, request, v, **kw):
        return self.rec(request, struct.pack("<Q", v), **kw)

    def state(self, request, index, num, **kw):
        return self.rec(request, struct.pack("<II", index, num), **kw)

    def region(self, request, gpa, size, uaddr, off=0, fdspec=FD64K, **kw):
        return self.rec(request, struct.pack("<QQQQQ", 0, gpa, size, uaddr, off), fdspec=fdspec, **kw)

    def addr(self, index, desc, avail, used, **kw):
        return self.rec(SET_VRING_ADDR, struct.pack("<IIQQQQ", index, 0, desc, used, avail, 0), **kw)

    def config(self, request, offset, size, data=None, **kw):
        data = data if data is not None else bytes(size)
        return self.rec(request, struct.pack("<III", offset, size, 0) + data, **kw)

    def inflight(self, request, mmap_size, mmap_off, nq, qs, fdspec=0, **kw):
        self.rec(request, struct.pack("<QQHH4x", mmap_size, mmap_off, nq, qs), fdspec=fdspec, **kw)
        if request == GET_INFLIGHT_FD:
            self.nfiles += 1  # the back-end's alloc_shared
        return self

    def poke(self, offset, data, file=None):
        """Write into guest memory, or into fake file number `file`;
        file == self.nfiles is the next file a message will bring."""
        return self.rec(FUZZ_POKE, bytes(data), flags=offset, fdspec=self.mem_file if file is None else file)

    # -- sessions ---------------------------------------------------------

    def handshake(self, pf=PF_FDS, call_err=True):
        """QEMU 7.2's connect sequence (PROTOCOL-NOTES)."""
        self.empty(GET_FEATURES).empty(GET_PROTOCOL_FEATURES).u64(SET_PROTOCOL_FEATURES, pf)
        self.empty(GET_QUEUE_NUM).empty(GET_MAX_MEM_SLOTS)
        self.rec(SET_BACKEND_REQ_FD, fdspec=FD8)
        self.empty(SET_OWNER).empty(GET_FEATURES)
        if call_err:
            for q in (0, 1):
                self.u64(SET_VRING_CALL, q, fdspec=FD8).u64(SET_VRING_ERR, q, fdspec=FD8)
        return self.config(GET_CONFIG, 0, 60)

    def memory(self):
        self.mem_file = self.nfiles
        return self.region(ADD_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR)

    def mem_table(self, regions):
        """SET_MEM_TABLE of (gpa, size, uaddr); the first holds the rings."""
        self.mem_file = self.nfiles
        t = struct.pack("<II", len(regions), 0)
        for gpa, size, uaddr in regions:
            t += struct.pack("<QQQQ", gpa, size, uaddr, 0)
        return self.rec(SET_MEM_TABLE, t, fdspec=fds64k(len(regions)))

    def ring(self, q, base=0, kick_fdspec=None, enable=True, qsz=QSZ):
        d, a, u = RING[q]
        self.state(SET_VRING_NUM, q, qsz).state(SET_VRING_BASE, q, base)
        self.addr(q, MEM_UADDR + d, MEM_UADDR + a, MEM_UADDR + u)
        if kick_fdspec is None:
            self.u64(SET_VRING_KICK, q | NOFD)
        else:
            self.u64(SET_VRING_KICK, q, fdspec=kick_fdspec)
        if enable:
            self.state(SET_VRING_ENABLE, q, 1)
        return self

    def session(self, features=FEATURES, **ring_kw):
        self.handshake().u64(SET_FEATURES, features).u64(SET_STATUS, 0x0F)
        return self.memory().ring(0, **ring_kw)

    # -- driver side: descriptors in guest memory, via FUZZ_POKE -------------

    def desc(self, q, i, addr, length, flags=0, nxt=0, table=None):
        base = table if table is not None else RING[q][0]
        return self.poke(base + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def avail(self, q, idx, heads):
        """avail->ring[] entries for `heads`, then avail->idx = idx."""
        a = RING[q][1]
        first = (idx - len(heads)) % 65536
        for k, h in enumerate(heads):
            self.poke(a + 4 + 2 * ((first + k) % QSZ), struct.pack("<H", h))
        return self.poke(a + 2, struct.pack("<H", idx))

    def blk_req(self, q, head, rtype, sector, data_len, write_data=True, at=0x1000, status_at=None):
        """hdr | data | status at consecutive descriptors head, head+1, head+2."""
        hdr, dat = at, at + 0x40
        st = status_at if status_at is not None else dat + max(data_len, 1) + 0x10
        self.poke(hdr, struct.pack("<IIQ", rtype, 0, sector))
        if rtype == OUT:
            self.poke(dat, bytes((i * 13) & 0xFF for i in range(data_len)))
        n = head
        self.desc(q, n, hdr, 16, D_NEXT, n + 1)
        if data_len:
            self.desc(q, n + 1, dat, data_len, D_NEXT | (0 if write_data else D_WRITE), n + 2)
            n += 1
        return self.desc(q, n + 1, st, 1, D_WRITE, 0)


def seeds():
    s = {}

    s["handshake"] = Seed().handshake()

    x = Seed().session()
    x.blk_req(0, 0, OUT, 1, 512).avail(0, 1, [0])
    x.state(GET_VRING_BASE, 0, 0)
    s["session_out"] = x

    x = Seed().session()
    x.blk_req(0, 0, OUT, 2, 1024, at=0x1000)
    x.blk_req(0, 3, IN, 2, 1024, write_data=False, at=0x2000)
    x.blk_req(0, 6, GET_ID, 0, 20, write_data=False, at=0x3000)
    x.blk_req(0, 9, FLUSH, 0, 0, at=0x3800)
    x.avail(0, 4, [0, 3, 6, 9])
    x.poke(0x4000, struct.pack("<IIQ", DISCARD, 0, 0) + struct.pack("<QII", 4, 2, 0))
    x.desc(0, 11, 0x4000, 32, D_NEXT, 12).desc(0, 12, 0x4100, 1, D_WRITE)
    x.poke(0x4200, struct.pack("<IIQ", WRITE_ZEROES, 0, 0) + struct.pack("<QII", 8, 1, 1))
    x.desc(0, 13, 0x4200, 32, D_NEXT, 14).desc(0, 14, 0x4300, 1, D_WRITE)
    x.avail(0, 6, [11, 13])
    x.state(GET_VRING_BASE, 0, 0)
    s["session_mixed"] = x

    x = Seed().session(kick_fdspec=FD8)
    x.blk_req(0, 0, IN, 0, 512, write_data=False).avail(0, 1, [0])
    x.rec(FUZZ_KICK, flags=0)
    x.blk_req(0, 4, OUT, 3, 512, at=0x2000).avail(0, 2, [4])
    x.rec(FUZZ_KICK, flags=0)
    s["session_kickfd"] = x

    x = Seed().handshake().u64(SET_FEATURES, FEATURES)
    x.mem_table([(MEM_GPA, MEM_SIZE, MEM_UADDR), (0x100000, 0x4000, 0x7F0000100000)])
    x.ring(0).blk_req(0, 0, OUT, 0, 512).avail(0, 1, [0])
    s["session_mem_table"] = x

    x = Seed().handshake().u64(SET_FEATURES, FEATURES)
    x.inflight(GET_INFLIGHT_FD, 0, 0, 2, QSZ)
    x.memory().ring(0).ring(1)
    x.blk_req(0, 0, OUT, 5, 512).avail(0, 1, [0])
    x.state(GET_VRING_BASE, 0, 0).state(GET_VRING_BASE, 1, 0)
    x.inflight(SET_INFLIGHT_FD, 2 * 320, 0, 2, QSZ, fdspec=0x41)
    x.ring(0, base=1)
    s["session_inflight"] = x

    # An inflight record left by a "crashed" back-end: heads 2 and 5 pending.
    x = Seed().handshake().u64(SET_FEATURES, FEATURES)
    x.memory()
    rec = bytearray(320)
    struct.pack_into("<QHHHH", rec, 0, 0, 1, QSZ, 0, 0)
    struct.pack_into("<B5xHQ", rec, 16 + 16 * 2, 1, 0, 7)
    struct.pack_into("<B5xHQ", rec, 16 + 16 * 5, 1, 0, 3)
    x.poke(0, rec, file=x.nfiles)  # the region exists before SET_INFLIGHT_FD
    x.inflight(SET_INFLIGHT_FD, 320, 0, 1, QSZ, fdspec=0x41)
    x.blk_req(0, 2, OUT, 1, 512, at=0x1000).blk_req(0, 5, IN, 1, 512, write_data=False, at=0x2000)
    x.avail(0, 2, [5, 2])
    x.ring(0, base=0)
    s["session_inflight_resubmit"] = x

    # Regression: an unaligned inflight offset (refused), then an aligned one.
    x = Seed().handshake().u64(SET_FEATURES, FEATURES)
    x.inflight(SET_INFLIGHT_FD, 320, 1, 1, QSZ, fdspec=0x41, flags=VERSION | NEED_REPLY)
    x.inflight(SET_INFLIGHT_FD, 320, 64, 1, QSZ, fdspec=0x41, flags=VERSION | NEED_REPLY)
    x.memory().ring(0).blk_req(0, 0, OUT, 1, 512).avail(0, 1, [0])
    s["inflight_offsets"] = x

    # A region recorded by a run with another queue size (refused), and a
    # ring larger than the region's queues (start refused).
    x = Seed().handshake().u64(SET_FEATURES, FEATURES)
    x.poke(0, struct.pack("<QHH", 0, 1, 8), file=x.nfiles)
    x.inflight(SET_INFLIGHT_FD, 320, 0, 1, QSZ, fdspec=0x41, flags=VERSION | NEED_REPLY)
    x.inflight(SET_INFLIGHT_FD, 192, 0, 1, 8, fdspec=0x41, flags=VERSION | NEED_REPLY)
    x.memory()
    d, a, u = RING[0]
    x.state(SET_VRING_NUM, 0, QSZ).addr(0, MEM_UADDR + d, MEM_UADDR + a, MEM_UADDR + u)
    x.u64(SET_VRING_KICK, NOFD, flags=VERSION | NEED_REPLY)
    x.blk_req(0, 12, OUT, 1, 512).avail(0, 1, [12])
    s["inflight_shapes"] = x

    x = Seed().session()
    x.blk_req(0, 0, OUT, 1, 512).avail(0, 1, [0])
    x.region(REM_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, fdspec=0)
    x.blk_req(0, 4, OUT, 1, 512, at=0x2000).avail(0, 2, [4])
    # The ring broke on the next poll; the front-end stops it, re-adds the
    # same memory (a fresh file: the ring is written again) and restarts.
    x.state(GET_VRING_BASE, 0, 0).memory()
    x.blk_req(0, 4, OUT, 1, 512, at=0x2000).avail(0, 2, [0, 4])
    x.ring(0, base=1)
    s["session_rem_under_ring"] = x

    x = Seed().session()
    x.blk_req(0, 0, OUT, 1, 512).avail(0, 1, [0])
    x.empty(RESET_DEVICE).u64(SET_FEATURES, FEATURES).ring(0, base=1)
    x.blk_req(0, 4, IN, 1, 512, write_data=False, at=0x2000).avail(0, 2, [4])
    x.empty(RESET_OWNER).rec(FUZZ_DISCONNECT)
    # A new front-end, new (zeroed) guest memory.
    x.handshake().u64(SET_FEATURES, FEATURES).memory().ring(0)
    x.blk_req(0, 0, OUT, 1, 512).avail(0, 1, [0])
    s["session_reset"] = x

    x = Seed(cfg=0x01)  # fd-less transport: in-band kicks
    x.empty(GET_FEATURES).empty(GET_PROTOCOL_FEATURES).u64(SET_PROTOCOL_FEATURES, PF_NOFDS)
    x.empty(SET_OWNER).u64(SET_FEATURES, FEATURES)
    x.mem_table([(MEM_GPA, MEM_SIZE, MEM_UADDR)])
    d, a, u = RING[0]
    x.state(SET_VRING_NUM, 0, QSZ).state(SET_VRING_BASE, 0, 0)
    x.addr(0, MEM_UADDR + d, MEM_UADDR + a, MEM_UADDR + u).state(SET_VRING_ENABLE, 0, 1)
    x.blk_req(0, 0, OUT, 1, 512).avail(0, 1, [0])
    x.state(VRING_KICK, 0, 0, flags=VERSION | NEED_REPLY)
    x.blk_req(0, 4, IN, 1, 512, write_data=False, at=0x2000).avail(0, 2, [4])
    x.state(VRING_KICK, 0, 0)
    s["nofds_inband"] = x

    # fd-less with doorbells (docs/vsock-transport.md §4.1): window memory,
    # ring 0 kicked by own vector 3 and calling peer 7 vector 0, then the
    # forms a VM must refuse, then back to in-band.
    x = Seed(cfg=0x01)
    x.empty(GET_FEATURES).empty(GET_PROTOCOL_FEATURES)
    x.u64(SET_PROTOCOL_FEATURES, PF_NOFDS | PF_WINDOW_ADDR | PF_DOORBELL)
    x.empty(SET_OWNER).u64(SET_FEATURES, FEATURES | F_EVENT_IDX)
    x.region(ADD_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, off=0, fdspec=0, flags=VERSION | NEED_REPLY)
    d, a, u = RING[0]
    x.state(SET_VRING_NUM, 0, QSZ).state(SET_VRING_BASE, 0, 0)
    x.addr(0, MEM_UADDR + d, MEM_UADDR + a, MEM_UADDR + u)
    x.u64(SET_VRING_CALL, 0 | NOFD | DOORBELL | 7 << 32, flags=VERSION | NEED_REPLY)
    x.u64(SET_VRING_KICK, 0 | NOFD | DOORBELL | 3 << 16, flags=VERSION | NEED_REPLY)
    x.state(SET_VRING_ENABLE, 0, 1)
    x.blk_req(0, 0, OUT, 1, 512).avail(0, 1, [0])
    x.rec(FUZZ_KICK, flags=0)
    for bad in (0 | NOFD | DOORBELL | 16 << 16, 0 | NOFD | DOORBELL | 3 << 16 | 1 << 32,
                0 | DOORBELL | 3 << 16, 0 | NOFD | DOORBELL | 1 << 48):
        x.u64(SET_VRING_KICK, bad, flags=VERSION | NEED_REPLY)
    x.u64(SET_VRING_CALL, 0 | NOFD | DOORBELL | 256 << 16, flags=VERSION | NEED_REPLY)
    x.u64(SET_VRING_ERR, 0 | NOFD | DOORBELL, flags=VERSION | NEED_REPLY)
    x.u64(SET_VRING_CALL, 0 | NOFD | DOORBELL | 9 << 32 | 2 << 16, flags=VERSION | NEED_REPLY)
    x.u64(SET_VRING_CALL, 0 | NOFD, flags=VERSION | NEED_REPLY)
    x.state(VRING_KICK, 0, 0)
    x.rec(FUZZ_DISCONNECT)
    s["nofds_doorbell"] = x

    x = Seed(cfg=0x02)  # trace on
    x.handshake().u64(SET_FEATURES, FEATURES)
    for req, pl in ((SET_VRING_NUM, struct.pack("<II", 0, 3)), (SET_VRING_NUM, struct.pack("<II", 9, 16)),
                    (SET_VRING_BASE, struct.pack("<II", 0, 0x10000)), (SET_STATUS, struct.pack("<Q", 0x100)),
                    (SET_VRING_ENABLE, struct.pack("<II", 0, 2)), (46, b""), (SET_CONFIG, struct.pack("<III", 0, 4, 0) + bytes(4))):
        x.rec(req, pl, flags=VERSION | NEED_REPLY)
    x.region(ADD_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, flags=VERSION | NEED_REPLY)
    x.region(ADD_MEM_REG, MEM_GPA, MEM_SIZE, MEM_UADDR, flags=VERSION | NEED_REPLY)
    x.region(ADD_MEM_REG, MEM_GPA + 0x8000, MEM_SIZE, 0x10000, flags=VERSION | NEED_REPLY)
    x.region(REM_MEM_REG, 0x5000, 0x1000, 0x5000, fdspec=FD8, flags=VERSION | NEED_REPLY)
    x.empty(GET_STATUS, flags=VERSION | NEED_REPLY)
    s["reply_ack_rejections"] = x

    x = Seed().session()
    # One descriptor pointing at an indirect table of three.
    x.poke(0x3000, struct.pack("<QIHH", 0x1000, 16, D_NEXT, 1) + struct.pack("<QIHH", 0x1100, 512, D_NEXT, 2)
           + struct.pack("<QIHH", 0x1400, 1, D_WRITE, 0))
    x.poke(0x1000, struct.pack("<IIQ", OUT, 0, 7))
    x.desc(0, 0, 0x3000, 48, D_INDIRECT).avail(0, 1, [0])
    s["session_indirect"] = x

    x = Seed().session(features=FEATURES | F_EVENT_IDX)
    x.ring(1)
    x.blk_req(0, 0, OUT, 1, 512).avail(0, 1, [0])
    x.desc(1, 0, 0x5000, 16, D_NEXT, 1).desc(1, 1, 0x5100, 1, D_WRITE)
    x.poke(0x5000, struct.pack("<IIQ", FLUSH, 0, 0))
    x.avail(1, 1, [0])
    x.poke(RING[0][1] + 4 + 2 * QSZ, struct.pack("<H", 0))  # used_event
    s["two_rings_event_idx"] = x

    x = Seed().handshake()
    x.rec(FUZZ_CONFIG).config(GET_CONFIG, 0, 256).config(GET_CONFIG, 34, 2)
    x.empty(GET_STATUS).u64(SET_STATUS, 0xFF).empty(GET_STATUS)
    s["config_and_status"] = x

    # Every request code once, with its minimal envelope (vhost/src/msg.c),
    # after a handshake; NEED_REPLY keeps the connection through refusals.
    min_size = {2: 8, 5: 8, 6: 16, 8: 8, 9: 40, 10: 8, 11: 8, 12: 8, 13: 8, 14: 8, 16: 8, 18: 8, 19: 8,
                20: 8, 22: 32, 23: 8, 24: 12, 25: 12, 27: 8, 31: 24, 32: 24, 35: 8, 37: 40, 38: 40,
                39: 8, 41: 16, 42: 8, 45: 8}
    need_fd = (21, 32, 33, 37, 42)
    unimplemented = (6, 7, 19, 20, 22, 23, 26, 27, 28, 29, 30, 33, 41, 42, 43, 44, 45)
    x = Seed(cfg=0x32).handshake().u64(SET_FEATURES, FEATURES).memory()
    # Served ones first: a refused request that has a reply of its own
    # closes the connection, and the rest would land on a fresh one.
    order = [r for r in range(1, 46) if r not in unimplemented] + list(unimplemented)
    for req in order:
        if req in (4, 16):
            continue  # RESET_OWNER / SET_PROTOCOL_FEATURES(0) would end the session early
        x.rec(req, bytes(min_size.get(req, 0)), flags=VERSION | NEED_REPLY,
              fdspec=FD8 if req in need_fd else 0)
    s["all_codes"] = x

    x = Seed().handshake()
    # Bad envelopes: versions, reserved flags, sizes, fd counts.
    x.rec(GET_FEATURES, flags=0).rec(GET_FEATURES, flags=VERSION | 4).rec(GET_FEATURES, flags=VERSION | 0x10)
    x.rec(GET_FEATURES, size=5000).rec(SET_VRING_NUM, bytes(4)).rec(SET_VRING_NUM, bytes(12))
    x.rec(GET_FEATURES, fdspec=FD8).rec(SET_MEM_TABLE, struct.pack("<II", 9, 0) + bytes(256), fdspec=fds64k(8))
    s["bad_envelopes"] = x

    return s


def main():
    os.makedirs(CORPUS_DIR, exist_ok=True)
    for name in os.listdir(CORPUS_DIR):
        if name.startswith("seed_"):
            os.remove(os.path.join(CORPUS_DIR, name))
    all_seeds = seeds()
    for name, seed in sorted(all_seeds.items()):
        with open(os.path.join(CORPUS_DIR, "seed_" + name), "wb") as f:
            f.write(seed.b)
    print("wrote %d seeds to %s" % (len(all_seeds), CORPUS_DIR), file=sys.stderr)


if __name__ == "__main__":
    main()
