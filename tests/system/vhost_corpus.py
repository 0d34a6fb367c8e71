"""Hostile vhost-user input for the service VM (test vhost_robust): malformed
messages sent on a fresh connection each, and split rings whose descriptors
(written in the window file the host maps) break the rules. Every entry is
what a broken or malicious front-end could send; the VM must end or refuse
that one session and go on serving. Python standard library only.
"""
import struct

import vhost_frontend as vf

SET_MEM_TABLE = 5
SET_VRING_ERR = 14
VRING_DESC_F_INDIRECT = 4
BAD_RING = 4000

# Protocol features the corpus negotiates before ring and memory messages.
WANT_PF = vf.PF_REPLY_ACK | vf.PF_CONFIGURE_MEM_SLOTS | vf.PF_WINDOW_ADDR


def hdr(req, size, flags=vf.FLAG_VERSION):
    return struct.pack("<III", req, flags, size)


def msg(req, payload=b"", flags=vf.FLAG_VERSION):
    return hdr(req, len(payload), flags) + payload


def mem_table(n, entries=None):
    """SET_MEM_TABLE payload announcing `n` regions with `entries` of them."""
    entries = n if entries is None else entries
    body = b"".join(struct.pack("<QQQQ", 0x40000000 + i * 0x1000, 0x1000,
                                0x7f0000000000 + i * 0x1000, i * 0x1000)
                    for i in range(entries))
    return struct.pack("<II", n, 0) + body


def ring_msgs(index):
    """Every ring message, addressed to ring `index`."""
    nofd = vf.VRING_NOFD
    return [
        msg(vf.SET_VRING_NUM, struct.pack("<II", index, 8)),
        msg(vf.SET_VRING_BASE, struct.pack("<II", index, 0)),
        msg(vf.GET_VRING_BASE, struct.pack("<II", index, 0)),
        msg(vf.SET_VRING_ADDR, struct.pack("<IIQQQQ", index, 0, 0x7f0000000000,
                                           0x7f0000002000, 0x7f0000001000, 0)),
        msg(vf.SET_VRING_KICK, vf.u64(index | nofd)),
        msg(vf.SET_VRING_CALL, vf.u64(index | nofd)),
        msg(SET_VRING_ERR, vf.u64(index | nofd)),
        msg(vf.SET_VRING_ENABLE, struct.pack("<II", index, 1)),
    ]


# (name, needs negotiation first, bytes). Raw entries go out on a brand-new
# connection; negotiated ones after GET_FEATURES .. SET_FEATURES.
def messages(region):
    out = [
        ("truncated header (6 of 12 bytes)", False, hdr(vf.GET_FEATURES, 0)[:6]),
        ("size over the maximum (4097)", False, hdr(vf.GET_FEATURES, 4097)),
        ("size 0xffffffff", False, hdr(vf.GET_FEATURES, 0xffffffff)),
        ("request code 0", False, msg(0)),
        ("request code 46 (past the last)", False, msg(46)),
        ("request code 1000", False, msg(1000, vf.u64(0))),
        ("request code 0xffffffff", False, msg(0xffffffff)),
        ("version flags 0", False, msg(vf.GET_FEATURES, flags=0)),
        ("version flags 2", False, msg(vf.GET_FEATURES, flags=2)),
        ("flags 0xffffffff", False, msg(vf.GET_FEATURES, flags=0xffffffff)),
        ("a reply flag on a request", False,
         msg(vf.GET_FEATURES, flags=vf.FLAG_VERSION | vf.FLAG_REPLY)),
        ("SET_MEM_TABLE nregions 9", True, msg(SET_MEM_TABLE, mem_table(9))),
        ("SET_MEM_TABLE nregions 0", True, msg(SET_MEM_TABLE, mem_table(0))),
        ("SET_MEM_TABLE nregions 2, one region sent", True,
         msg(SET_MEM_TABLE, mem_table(2, 1))),
        ("ADD_MEM_REG window 7", True,
         msg(vf.ADD_MEM_REG, vf.region(0x80000000, 0x1000, 0x7e0000000000, 7, 0))),
        ("ADD_MEM_REG past the window end", True,
         msg(vf.ADD_MEM_REG, vf.region(0x80000000, 0x2000, 0x7e0000000000, 0, (1 << 20) - 0x1000))),
        ("ADD_MEM_REG offset wraps", True,
         msg(vf.ADD_MEM_REG, vf.region(0x80000000, 0x1000, 0x7e0000000000, 0,
                                       (1 << 40) - 0x800))),
        ("ADD_MEM_REG size 2^64-1", True,
         msg(vf.ADD_MEM_REG, vf.region(0x80000000, (1 << 64) - 1, 0x7e0000000000, 0, 0))),
        ("ADD_MEM_REG short payload", True, msg(vf.ADD_MEM_REG, vf.u64(0))),
    ]
    for i, m in enumerate(ring_msgs(BAD_RING)):
        out.append(("ring message %d to ring %d" % (i, BAD_RING), True, m))
    for num in (0, 3, 65536):
        out.append(("SET_VRING_NUM %d" % num, True,
                    msg(vf.SET_VRING_NUM, struct.pack("<II", 0, num))))
    # Ring addresses outside every region, then started: refused when set or
    # when the ring starts, never dereferenced.
    out.append(("SET_VRING_ADDR outside memory, ring started", True,
                msg(vf.ADD_MEM_REG, region) +
                msg(vf.SET_VRING_NUM, struct.pack("<II", 0, 8)) +
                msg(vf.SET_VRING_BASE, struct.pack("<II", 0, 0)) +
                msg(vf.SET_VRING_ADDR, struct.pack("<IIQQQQ", 0, 0, 0x10, 0x7ff000000000,
                                                   0xffffffffffff0000, 0)) +
                msg(vf.SET_VRING_KICK, vf.u64(vf.VRING_NOFD)) +
                msg(vf.SET_VRING_CALL, vf.u64(vf.VRING_NOFD)) +
                msg(vf.SET_VRING_ENABLE, struct.pack("<II", 0, 1))))
    return out


# hostile_ring() registers this many bytes of the window as the region, from
# REGION_OFFSET, and keeps the rest of the window as canary.
REGION_OFFSET = 0x10000
REGION_BYTES = 0xe0000


def desc(addr, ln, flags, nxt):
    return struct.pack("<QIHH", addr, ln, flags, nxt)


def hostile_chains(ring):
    """(name, [(slot, descriptor bytes)], head, [(buffer offset, bytes)], features,
    reason): descriptors for the ring's table, the avail head, indirect tables written in
    the ring's buffer space, the virtio features to negotiate, and the reason the VM must
    give when it stops the ring (vhost/src/vq.c). Every chain is malformed: the only
    right outcome is that ring error, nothing completed, and no byte written outside the
    region."""
    b0, _ = ring.buf(0)
    tbl_g, _ = ring.buf(0x800)
    N, W, I = vf.VRING_DESC_F_NEXT, vf.VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT
    IND = vf.F_RING_INDIRECT_DESC
    LOOP = "descriptor chain loops or is longer than the table"
    OUTSIDE = "buffer not in mapped memory"
    return [
        ("a loop in the chain (0 -> 1 -> 0)",
         [(0, desc(b0, 16, N, 1)), (1, desc(b0 + 16, 16, N, 0))], 0, [], 0, LOOP),
        ("a chain pointing at itself", [(2, desc(b0, 16, N, 2))], 2, [], 0, LOOP),
        ("next past the ring size", [(3, desc(b0, 16, N, 200))], 3, [], 0,
         "descriptor index beyond the table"),
        ("indirect inside indirect",
         [(4, desc(tbl_g, 32, I, 0))], 4,
         [(0x800, desc(tbl_g, 32, I, 0) + desc(b0, 16, W, 0))], IND,
         "indirect table inside an indirect table"),
        ("an indirect table whose chain loops",
         [(5, desc(tbl_g, 32, I, 0))], 5,
         [(0x800, desc(b0, 16, N | W, 1) + desc(b0, 16, N | W, 0))], IND, LOOP),
        ("indirect without INDIRECT_DESC negotiated",
         [(5, desc(tbl_g, 16, I, 0))], 5, [(0x800, desc(b0, 16, W, 0))], 0,
         "indirect descriptor but RING_INDIRECT_DESC not negotiated"),
        ("length overflow (addr + 0xffffffff)",
         [(6, desc(b0, 0xffffffff, N, 7)), (7, desc(b0, 1, W, 0))], 6, [], 0, OUTSIDE),
        ("an address outside every region",
         [(0, desc(0x10, 16, N, 1)), (1, desc(0xfffffffffffff000, 0x2000, W, 0))], 0, [], 0,
         OUTSIDE),
        ("a buffer that ends 1 byte past the region",
         [(0, desc(b0, 16, N, 1)), (1, desc(ring.gpa - 0x40000 + REGION_BYTES - 8, 9, W, 0))],
         0, [], 0, OUTSIDE),
        ("a head index past the ring size", [], 0xfff0, [], 0,
         "avail ring names a head beyond the ring size"),
    ]
