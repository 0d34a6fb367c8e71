"""The service VM's rng sessions hand out the hypervisor's entropy: the
system test `vhost_rng` (run_system.py). Python standard library only.

With a virtio-rng device (vsock_vm adds one): one rng session keeps
INFLIGHT requests of REQ bytes in its ring until it has read TOTAL bytes,
four times the VM's pool, so the pool must refill from the device on the
way. Every used element must carry 1..REQ bytes (a short read is allowed,
0 is not: a request waits in the ring for entropy instead). The VM's stats
must account for every byte: rng_bytes_out grows by exactly what the ring
delivered, rng_bytes_in by at least what the pool did not already hold, and
in - out is what the pool holds. The bytes must look like entropy: zlib
cannot shrink them, no 16-byte block repeats, every byte value occurs.

Without one: the rng listener is refused with an error line (never a
made-up stream), its port takes no connection, and stats have no rng_*.
"""
import struct
import time
import zlib

import vhost_frontend as vf
from vsock_host import CTL_PORT, VsockError

BLK_PORT = 5000
PORT = 5001
GPA = 0x40000000
UADDR = 0x7f0000000000
REQ = 1024
INFLIGHT = 8
TOTAL = 16 * 1024
RNG_KEYS = ("rng_pool_bytes", "rng_pool_size", "rng_bytes_in", "rng_bytes_out",
            "rng_device_answers", "rng_device_rejected", "rng_in_flight", "rng_device_ok",
            "rng_requests_waiting")


def read_entropy(rs, win, ring):
    """Keep INFLIGHT requests posted until TOTAL bytes came back, then
    collect the rest. Returns (bytes, used lengths)."""
    posted = {}  # head -> window offset of its buffer
    data, lens = bytearray(), []

    def post(slot):
        rs.check(ring.next_desc not in posted, "test bug: descriptor %d reused" % ring.next_desc)
        g, o = ring.buf(slot * REQ)
        win.write(o, bytes(REQ))
        posted[ring.post([(g, REQ, True)])] = (slot, o)

    for slot in range(INFLIGHT):
        post(slot)
    while posted:
        uid, ulen = ring.wait_used()
        rs.check(uid in posted, "used id %d was not posted (%s)" % (uid, sorted(posted)))
        slot, o = posted.pop(uid)
        rs.check(0 < ulen <= REQ, "used length %d for a %d-byte request" % (ulen, REQ))
        data += win.read(o, ulen)
        lens.append(ulen)
        if len(data) + REQ * len(posted) < TOTAL:
            post(slot)
    return bytes(data), lens


def check_random(rs, data):
    packed = len(zlib.compress(data, 9))
    rs.check(packed >= len(data), "zlib packs %d bytes into %d: not entropy" % (len(data), packed))
    blocks = [data[i:i + 16] for i in range(0, len(data) - 15, 16)]
    rs.check(len(set(blocks)) == len(blocks), "%d of %d 16-byte blocks repeat"
             % (len(blocks) - len(set(blocks)), len(blocks)))
    rs.check(len(set(data)) == 256, "only %d byte values in %d bytes" % (len(set(data)),
                                                                       len(data)))
    return packed


def with_device(rs, args):
    windows = [rs.ShmWindow("w0", 1 << 20, 41)]
    win = None
    try:
        with rs.vsock_vm(args, windows, append="log=info ctl=%d vhost=%d:rng %s"
                         % (CTL_PORT, PORT, rs.VHOST_POOLS),
                         allow=rs.VHOST_ALLOWED) as (vm, dev):
            rs.check(vm.find_all(r"I: virtio-rng: request done, \d+ random bytes"),
                     "the pool's first fill at boot")
            rs.check(vm.find_all(r"I: vhost: rng on port %d" % PORT), "the rng listener")
            s0 = rs.stats_now(dev)
            for k in RNG_KEYS:
                rs.check(k in s0, "stats has no %s" % k)
            rs.check(s0["rng_device_ok"] == 1, "rng_device_ok %d" % s0["rng_device_ok"])
            rs.check(s0["rng_pool_bytes"] <= s0["rng_pool_size"] < TOTAL,
                     "pool %d of %d bytes (the test reads %d)" % (s0["rng_pool_bytes"],
                                                                  s0["rng_pool_size"], TOTAL))
            win = vf.WindowFile(windows[0].path, windows[0].size)
            fe = vf.Frontend(dev.connect(PORT))
            fe.negotiate(vf.PF_REPLY_ACK | vf.PF_WINDOW_ADDR | vf.PF_CONFIGURE_MEM_SLOTS)
            rs.check(fe.ack(vf.ADD_MEM_REG, vf.region(GPA, windows[0].size, UADDR, 0, 0)) == 0,
                     "ADD_MEM_REG refused")
            ring = vf.SplitRing(win, 0, GPA, UADDR, num=INFLIGHT)
            ring.setup(fe)
            t0 = time.monotonic()
            data, lens = read_entropy(rs, win, ring)
            dt = time.monotonic() - t0
            s1 = rs.stats_now(dev)
            fe.sock.close()
            vm.wait_for(r"I: vhost %d#\d: disconnected: end of stream" % PORT)

            out = s1["rng_bytes_out"] - s0["rng_bytes_out"]
            got_in = s1["rng_bytes_in"] - s0["rng_bytes_in"]
            rs.check(out == len(data), "rng_bytes_out grew by %d, the ring delivered %d"
                     % (out, len(data)))
            rs.check(got_in > 0 and got_in >= len(data) - s0["rng_pool_bytes"],
                     "rng_bytes_in grew by %d for %d bytes out of a pool holding %d: no refill"
                     % (got_in, len(data), s0["rng_pool_bytes"]))
            for s in (s0, s1):
                rs.check(s["rng_bytes_in"] - s["rng_bytes_out"] == s["rng_pool_bytes"],
                         "in %d - out %d != pool %d" % (s["rng_bytes_in"], s["rng_bytes_out"],
                                                        s["rng_pool_bytes"]))
            rs.check(s1["rng_requests_waiting"] == 0, "%d requests still waiting"
                     % s1["rng_requests_waiting"])
            packed = check_random(rs, data)
            short = sum(1 for n in lens if n < REQ)
            print("rng: %d bytes in %d requests (%d short) in %.0f ms; pool refilled with %d "
                  "bytes (%d device answers, %d rejected); zlib: %d -> %d bytes"
                  % (len(data), len(lens), short, dt * 1000, got_in,
                     s1["rng_device_answers"] - s0["rng_device_answers"],
                     s1["rng_device_rejected"], len(data), packed))
    finally:
        if win:
            win.close()
        for w in windows:
            w.remove()


def without_device(rs, args):
    with rs.vsock_vm(args, append="log=info ctl=%d vhost=%d:blk:1M,%d:rng %s"
                     % (CTL_PORT, BLK_PORT, PORT, rs.VHOST_POOLS),
                     allow=(r"E: vhost %d: rng refused: no entropy source" % PORT,),
                     rng=False) as (vm, dev):
        rs.check(vm.find_all(r"I: virtio-rng: no device"), "no virtio-rng logged")
        rs.check(vm.find_all(r"E: vhost %d: rng refused: no entropy source" % PORT),
                 "the rng listener refused with an error line")
        rs.check(vm.find_all(r"I: vhost: 1 listeners"), "only the blk listener opened")
        try:
            dev.connect(PORT, timeout=10).close()
            raise rs.TestFailure("port %d took a connection without an entropy source" % PORT)
        except VsockError:
            pass
        st = rs.stats_now(dev)
        rs.check("vhost_%d_accepted" % BLK_PORT in st, "the blk listener's stats")
        rs.check(not [k for k in st if k.startswith("rng_")],
                 "rng stats without a device: %s" % [k for k in st if k.startswith("rng_")])
        print("rng: no virtio-rng: listener %d refused, port closed, no rng_* stats" % PORT)


def test(args, rs):
    with_device(rs, args)
    without_device(rs, args)
