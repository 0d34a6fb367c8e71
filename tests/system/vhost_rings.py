"""Many started rings on the service VM's blk sessions: helpers shared by the
system test `vhost_rings` (run_system.py) and bench/turn_time.py, and the
test itself. Python standard library only.

Ring j of a layout lives at window offset j * RING_STRIDE: the SplitRing's
descriptors, avail and used rings, then its own buffers, so no two rings
share memory. Rings are NOFD (the VM polls them), enabled, 8 entries.

The test boots `vhost=5000:blk:4M:q16`, checks that the listener, the config
space and GET_QUEUE_NUM all say 16 queues, starts all 16 rings, and moves data
between the last ring and the first one (written through one, read back
through the other, both ways): that only works if every started ring is
polled. A ring index past the 16th must end the connection.
"""
import random
import struct
import time

import vhost_frontend as vf
from vsock_host import CTL_PORT, MiB

GET_QUEUE_NUM = 17
PF_MQ = 1 << 0
F_RING_EVENT_IDX = 1 << 29
RING_STRIDE = 0x8000
QUEUES = 16
T_IN, T_OUT, T_GET_ID = 0, 1, 8

PORT = 5000
DISK = 4 * MiB
GPA = 0x40000000
UADDR = 0x7f0000000000


def negotiate(fe, want_pf, features=vf.F_VERSION_1 | vf.F_PROTOCOL_FEATURES):
    """As vf.Frontend.negotiate, with a choice of virtio features (EVENT_IDX
    for bench/turn_time.py). Returns (features offered, protocol features
    offered)."""
    feats = fe.call_u64(vf.GET_FEATURES)
    if not feats & vf.F_PROTOCOL_FEATURES:
        raise vf.FrontendError("PROTOCOL_FEATURES not offered: %#x" % feats)
    if features & ~feats:
        raise vf.FrontendError("features %#x not offered (%#x)" % (features & ~feats, feats))
    pf = fe.call_u64(vf.GET_PROTOCOL_FEATURES)
    fe.send(vf.SET_PROTOCOL_FEATURES, vf.u64(pf & want_pf))
    fe.send(vf.SET_OWNER)
    fe.send(vf.SET_FEATURES, vf.u64(features))
    return feats, pf


def add_window(fe, win_size, window=0):
    """The whole window as one region at GPA/UADDR; REPLY_ACK must be on."""
    ack = fe.ack(vf.ADD_MEM_REG, vf.region(GPA, win_size, UADDR, window, 0))
    if ack:
        raise vf.FrontendError("ADD_MEM_REG of window %d refused (%d)" % (window, ack))


def start_ring(fe, win, slot, index):
    """Start queue `index` of this session in layout slot `slot`."""
    woff = slot * RING_STRIDE
    ring = vf.SplitRing(win, woff, GPA + woff, UADDR + woff)
    ring.setup(fe, index)
    return ring


def blk_request(ring, win, kind, sector, data=b"", nbytes=0):
    """One virtio-blk request through `ring`; buffers in the ring's own
    slot. Returns (status, bytes written by the device, data read)."""
    hdr_g, hdr_o = ring.buf(0x0000)
    dat_g, dat_o = ring.buf(0x1000)
    st_g, st_o = ring.buf(0x3000)
    win.write(hdr_o, struct.pack("<IIQ", kind, 0, sector))
    win.write(st_o, b"\xee")
    chain = [(hdr_g, 16, False)]
    if kind == T_OUT:
        win.write(dat_o, data)
        chain.append((dat_g, len(data), False))
    elif nbytes:
        win.write(dat_o, bytes(nbytes))
        chain.append((dat_g, nbytes, True))
    chain.append((st_g, 1, True))
    head = ring.post(chain)
    uid, ulen = ring.wait_used()
    if uid != head:
        raise vf.FrontendError("used id %d, posted head %d" % (uid, head))
    return win.read(st_o, 1)[0], ulen, win.read(dat_o, nbytes) if nbytes else b""


def test(args, rs):
    """System test `vhost_rings`; rs is the run_system module (its
    TestFailure, check, ShmWindow, vsock_vm, ctl)."""
    check = rs.check
    windows = [rs.ShmWindow("w0", max(1 * MiB, QUEUES * RING_STRIDE), 41)]
    w0 = None
    t0 = time.monotonic()
    try:
        with rs.vsock_vm(args, windows, append="log=info ctl=%d vhost=%d:blk:4M:q%d %s"
                         % (CTL_PORT, PORT, QUEUES, rs.VHOST_POOLS),
                         allow=(r"W: vhost %d#\d: " % PORT,)) as (vm, dev):
            check(vm.find_all(r"I: vhost: blk on port %d, %d KiB RAM disk, %d queues"
                              % (PORT, DISK >> 10, QUEUES)), "the q%d listener at boot" % QUEUES)
            c = rs.ctl(dev)
            st0 = c.stats()
            w0 = vf.WindowFile(windows[0].path, windows[0].size)
            fe = vf.Frontend(dev.connect(PORT))
            _, pf = negotiate(fe, vf.PF_REPLY_ACK | vf.PF_WINDOW_ADDR | vf.PF_CONFIG |
                              vf.PF_CONFIGURE_MEM_SLOTS | PF_MQ)
            check(pf & PF_MQ, "MQ offered: %#x" % pf)
            nq = fe.call_u64(GET_QUEUE_NUM)
            check(nq == QUEUES, "GET_QUEUE_NUM %d, want %d" % (nq, QUEUES))
            cfg_nq = struct.unpack("<H", fe.get_config(34, 2))[0]  # virtio_blk_config
            check(cfg_nq == QUEUES, "config num_queues %d, want %d" % (cfg_nq, QUEUES))
            add_window(fe, windows[0].size)
            rings = [start_ring(fe, w0, q, q) for q in range(QUEUES)]
            # A reply comes after every earlier message was handled.
            check(fe.call_u64(GET_QUEUE_NUM) == QUEUES, "GET_QUEUE_NUM after the rings")
            first, last = rings[0], rings[-1]
            rnd = random.Random(16)
            for wr, rd, sector in ((last, first, 100), (first, last, 200)):
                data = rnd.randbytes(4096)
                st, ulen, _ = blk_request(wr, w0, T_OUT, sector, data)
                check(st == 0 and ulen == 1, "write through a ring: status %d, used len %d "
                      "(want 0 and 1: only the status byte is written)" % (st, ulen))
                st, ulen, got = blk_request(rd, w0, T_IN, sector, nbytes=4096)
                check(st == 0 and ulen == 4097, "read: status %d, %d bytes" % (st, ulen))
                check(got == data, "sector %d read through one ring differs from what the "
                      "other wrote" % sector)
            for q in range(1, QUEUES - 1):
                used = struct.unpack("<H", w0.read(q * RING_STRIDE + vf.SplitRing.USED + 2,
                                                   2))[0]
                check(used == 0, "idle ring %d has used idx %d" % (q, used))
            print("blk: %d rings started; 4 KiB written through ring %d and read through "
                  "ring 0, and the other way round" % (QUEUES, QUEUES - 1))
            st1 = c.stats()
            check("sched_turn_ns_total" in st1, "stats has no sched_turn_ns_total")
            dturns = st1["sched_turns"] - st0["sched_turns"]
            dns = st1["sched_turn_ns_total"] - st0["sched_turn_ns_total"]
            check(dturns > 0 and dns > 0, "scheduler counters did not move: %d turns, %d ns"
                  % (dturns, dns))
            check(st1["sched_turn_ns_total"] // st1["sched_turns"] ==
                  st1["sched_turn_ns_mean"], "sched_turn_ns_total / sched_turns is not the "
                  "mean: %d / %d vs %d" % (st1["sched_turn_ns_total"], st1["sched_turns"],
                                           st1["sched_turn_ns_mean"]))
            print("stats: %d turns, mean %d ns over the I/O (since boot %d ns)"
                  % (dturns, dns // dturns, st1["sched_turn_ns_mean"]))
            fe.sock.close()
            vm.wait_for(r"I: vhost %d#\d: disconnected: end of stream" % PORT)
            # Queue 16 does not exist: the session ends, the VM goes on.
            fe = vf.Frontend(dev.connect(PORT))
            negotiate(fe, vf.PF_REPLY_ACK | vf.PF_WINDOW_ADDR | PF_MQ)
            fe.send(vf.SET_VRING_NUM, struct.pack("<II", QUEUES, 8))
            rs.expect_closed(fe.sock, "SET_VRING_NUM for queue %d" % QUEUES)
            fe.sock.close()
            vm.wait_for(r"I: vhost %d#\d: disconnected: request refused" % PORT)
            check(c.cmd("echo ok") == "ok", "control port answers after the refusal")
            c.close()
            print("queue %d refused: connection closed (%.1f s in all)"
                  % (QUEUES, time.monotonic() - t0))
    finally:
        if w0:
            w0.close()
        for w in windows:
            w.remove()
