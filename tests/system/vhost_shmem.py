"""System test `vhost_shmem` (run_system.py): SHMEM over windows, and the
control service's `vhost` commands (apps/uvhost-vm/vhost_commands.h).

The VM boots with its RAM in a /dev/shm file (docs/vsock-transport.md
section 6: SHMEM_MAP's fd_offset is an offset into that file). A front-end
negotiates SHMEM and a backend channel with the blk listener, writes known
data to the RAM disk through a ring, asks `vhost 5000 shmem map` on the
control port, receives SHMEM_MAP on its backend channel, maps the RAM file at
fd_offset and compares the bytes with what it wrote; then a write made after
the mapping is seen through it without any message (the region is the disk,
not a copy). Then CONFIG_CHANGE_MSG by `vhost 5000 config`, SHMEM_UNMAP, a
map the front-end refuses, and every refusal of the command: unknown port,
bad syntax, a device without a region, no session, SHMEM not negotiated, no
backend channel, already mapped, not mapped. Python standard library only.
"""
import mmap
import os
import random
import re
import struct
import time

import vhost_frontend as vf
from vsock_host import CTL_PORT, MiB, first_diff

BLK, RNG = 5000, 5001
DISK = 16 * MiB
RAM = 128 * MiB
BACKEND_PORT = 6000
PAGE = 4096
GPA, UADDR = 0x40000000, 0x7f0000000000
T_IN, T_OUT = 0, 1
WANT_PF = (vf.PF_REPLY_ACK | vf.PF_BACKEND_REQ | vf.PF_SHMEM | vf.PF_WINDOW_ADDR |
           vf.PF_CONFIGURE_MEM_SLOTS | vf.PF_CONFIG | vf.PF_INBAND_NOTIFICATIONS)
# The refused map at the end is answered with EINVAL on purpose.
ALLOWED = (r"W: vhost 5000#\d: SHMEM_MAP shmid 0 0x0\+0x1000000: front-end answered -22",)


class Blk:
    """Sector I/O on a blk ring in window 0 (as test_vhost_basic does)."""

    def __init__(self, fe, w0, check):
        self.w0, self.check = w0, check
        self.ring = vf.SplitRing(w0, 0, GPA, UADDR)
        self.ring.setup(fe)

    def io(self, typ, sector, data=None, n=0):
        ring, w0 = self.ring, self.w0
        n = len(data) if data is not None else n
        hdr_g, hdr_o = ring.buf(0)
        st_g, st_o = ring.buf(0x100)
        dat_g, dat_o = ring.buf(0x1000)
        w0.write(hdr_o, struct.pack("<IIQ", typ, 0, sector))
        w0.write(dat_o, data if data is not None else bytes(n))
        w0.write(st_o, b"\xee")
        head = ring.post([(hdr_g, 16, False), (dat_g, n, typ == T_IN), (st_g, 1, True)])
        uid, ulen = ring.wait_used()
        self.check(uid == head and w0.read(st_o, 1) == b"\x00",
                   "blk %s at sector %d: used (%d, %d), status %r"
                   % ("read" if typ == T_IN else "write", sector, uid, ulen, w0.read(st_o, 1)))
        return w0.read(dat_o, n)


def expect(rs, c, line, pattern):
    got = c.cmd(line)
    rs.check(re.fullmatch(pattern, got), "%r answered %r, want /%s/" % (line, got, pattern))
    print("control: %-28s -> %s" % (line, got))
    return got


def wait_status(rs, c, want, timeout=10):
    """Poll `vhost 5000 shmem status` until it reads `want`: the VM settles
    the front-end's answer on its session poller, not on the control port."""
    deadline = time.monotonic() + timeout
    while True:
        got = c.cmd("vhost %d shmem status" % BLK)
        if got == want:
            return
        rs.check(time.monotonic() < deadline, "shmem status %r after %ds, want %r"
                 % (got, timeout, want))
        time.sleep(0.05)


def settled(fe):
    """A reply to a later message means the session handled the earlier
    ones: only then does a control command see what they negotiated."""
    fe.call_u64(vf.GET_FEATURES)


def refusals_without_a_channel(rs, vm, dev, c):
    """Sessions that cannot take SHMEM requests: the command says why."""
    fe = rs.vhost_connect(dev, RNG)
    pf = fe.call_u64(vf.GET_PROTOCOL_FEATURES)
    rs.check(not pf & vf.PF_SHMEM, "rng offers SHMEM: %#x" % pf)
    fe.sock.close()

    fe = rs.vhost_connect(dev, BLK)
    _, pf = fe.negotiate(vf.PF_REPLY_ACK | vf.PF_WINDOW_ADDR | vf.PF_CONFIG)
    rs.check(pf & vf.PF_SHMEM, "blk with a 16 MiB RAM disk does not offer SHMEM: %#x" % pf)
    settled(fe)
    expect(rs, c, "vhost %d shmem map" % BLK, r"ERR SHMEM not negotiated")
    expect(rs, c, "vhost %d config" % BLK, r"OK 0")
    fe.sock.close()
    wait_status(rs, c, "OK sessions 0 mapped 0 pending 0 failed 0")

    fe = rs.vhost_connect(dev, BLK)
    fe.negotiate(WANT_PF)
    settled(fe)
    expect(rs, c, "vhost %d shmem map" % BLK, r"ERR no backend channel")
    expect(rs, c, "vhost %d shmem unmap" % BLK, r"ERR no backend channel")
    expect(rs, c, "vhost %d config" % BLK, r"OK 0")
    fe.sock.close()
    wait_status(rs, c, "OK sessions 0 mapped 0 pending 0 failed 0")


def test(args, rs):
    ram = "/dev/shm/uvhost-sys-%d-ram" % os.getpid()
    windows = [rs.ShmWindow("w0", 1 << 20, 61)]
    w0 = bc = mm = None
    try:
        with rs.vsock_vm(args, windows, append="log=info ctl=%d vhost=%d:blk:16M,%d:rng %s"
                         % (CTL_PORT, BLK, RNG, rs.VHOST_POOLS),
                         allow=rs.VHOST_ALLOWED + ALLOWED,
                         ram_file=ram) as (vm, dev):
            rs.check(os.path.getsize(ram) == RAM, "the RAM file has %d bytes, want %d"
                     % (os.path.getsize(ram), RAM))
            m = vm.find_all(r"I: memory: \d+ MiB at (0x[0-9a-f]+)")
            rs.check(m and int(m[0].group(1), 16) == 0x40000000, "RAM base on the console")
            c = rs.ctl(dev)
            base = c.stats()

            # Refusals that need no session.
            expect(rs, c, "vhost 5999 config", r"ERR no vhost listener on port 5999")
            expect(rs, c, "vhost 5000x config", r"ERR bad port: .*")
            expect(rs, c, "vhost 99999999999 shmem map", r"ERR bad port: .*")
            expect(rs, c, "vhost %d frobnicate" % BLK, r"ERR usage: .*")
            expect(rs, c, "vhost %d shmem" % BLK, r"ERR usage: .*")
            expect(rs, c, "vhost", r"ERR usage: .*")
            expect(rs, c, "vhosts %d config" % BLK, r"ERR unknown command")
            expect(rs, c, "vhost %d shmem map" % RNG, r"ERR port 5001 \(rng\) has no shared "
                   r"memory region")
            expect(rs, c, "vhost %d config" % RNG, r"ERR port 5001 \(rng\) has no config space")
            expect(rs, c, "vhost %d shmem map" % BLK, r"ERR no session on port 5000")
            expect(rs, c, "vhost %d config" % BLK, r"OK 0")
            expect(rs, c, "vhost %d shmem status" % BLK,
                   r"OK sessions 0 mapped 0 pending 0 failed 0")
            refusals_without_a_channel(rs, vm, dev, c)

            # The front-end that maps: backend channel on PATH_6000.
            w0 = vf.WindowFile(windows[0].path, windows[0].size)
            bc = vf.BackendChannel(dev.uds_path, BACKEND_PORT)
            fe = rs.vhost_connect(dev, BLK)
            _, pf = fe.negotiate(WANT_PF)
            rs.check(pf & WANT_PF == WANT_PF, "offered %#x lacks %#x" % (pf, WANT_PF & ~pf))
            rs.check(fe.ack(vf.SET_BACKEND_REQ_FD, vf.u64(BACKEND_PORT)) == 0,
                     "SET_BACKEND_REQ_FD refused")
            bc.accept()
            sizes = fe.get_shmem_config()
            rs.check(sizes == [DISK], "GET_SHMEM_CONFIG %s, want [%d]" % (sizes, DISK))
            cap = struct.unpack("<Q", fe.get_config(0, 8))[0]
            rs.check(cap == DISK // 512, "capacity %d sectors" % cap)
            rs.check(fe.ack(vf.ADD_MEM_REG, vf.region(GPA, windows[0].size, UADDR, 0, 0)) == 0,
                     "ADD_MEM_REG of window 0 refused")
            blk = Blk(fe, w0, rs.check)
            rnd = random.Random(71)
            written = [(0, rnd.randbytes(4096)), (8192, rnd.randbytes(65536)),
                       (DISK // 512 - 8, rnd.randbytes(4096))]
            for sector, data in written:
                blk.io(T_OUT, sector, data)
            rs.check(blk.io(T_IN, 8192, n=65536) == written[1][1], "the disk reads back")
            print("blk: %d KiB written at sectors %s through a ring; SHMEM regions %s"
                  % (sum(len(d) for _, d in written) >> 10, [s for s, _ in written], sizes))
            expect(rs, c, "vhost %d shmem status" % BLK,
                   r"OK sessions 1 mapped 0 pending 0 failed 0")

            # Map: the bytes the back-end exported are the disk's.
            expect(rs, c, "vhost %d shmem map" % BLK, r"OK 1")
            flags, p = bc.expect(vf.BREQ_SHMEM_MAP)
            rs.check(flags & vf.FLAG_NEED_REPLY, "SHMEM_MAP without NEED_REPLY: %#x" % flags)
            shmid, fd_off, shm_off, ln, fl = vf.shmem_map_fields(p)
            rs.check(shmid == 0 and shm_off == 0 and ln == DISK and not fl & vf.SHMEM_MAP_RW,
                     "SHMEM_MAP shmid %d shm_offset %#x len %#x flags %#x" % (shmid, shm_off,
                                                                             ln, fl))
            rs.check(fd_off % PAGE == 0 and fd_off + ln <= RAM,
                     "fd_offset %#x + %#x is not whole pages of the RAM file" % (fd_off, ln))
            vm.drain(0.2)
            rs.check(vm.find_all(r"vhost 5000: SHMEM_MAP of the RAM disk \(16384 KiB at RAM "
                                 r"offset %#x\) to 1 of 1 sessions" % fd_off),
                     "the VM's log names RAM offset %#x" % fd_off)
            expect(rs, c, "vhost %d shmem status" % BLK,
                   r"OK sessions 1 mapped 0 pending 1 failed 0")
            with open(ram, "rb") as f:
                mm = mmap.mmap(f.fileno(), ln, mmap.MAP_SHARED, mmap.PROT_READ, offset=fd_off)
            for sector, data in written:
                want = data
                if args.inject_mismatch and sector == 8192:
                    want = data[:100] + bytes([data[100] ^ 1]) + data[101:]
                got = mm[sector * 512:sector * 512 + len(want)]
                rs.check(got == want, "sector %d through SHMEM: %s"
                         % (sector, first_diff(got, want)))
            rs.check(mm[4096:8192 * 512] == bytes(8192 * 512 - 4096),
                     "never-written sectors 8..8191 are not zero through SHMEM")
            print("SHMEM_MAP: shmid 0, fd_offset %#x (RAM %#x), %d MiB read-only; %d written "
                  "ranges equal through the RAM file, the rest zero"
                  % (fd_off, GPA + fd_off, ln >> 20, len(written)))
            bc.reply(vf.BREQ_SHMEM_MAP, 0)
            wait_status(rs, c, "OK sessions 1 mapped 1 pending 0 failed 0")
            expect(rs, c, "vhost %d shmem map" % BLK, r"ERR already mapped")

            # Live, not a copy: a write after the map shows through it.
            fresh = rnd.randbytes(4096)
            blk.io(T_OUT, 100, fresh)
            rs.check(mm[100 * 512:100 * 512 + 4096] == fresh,
                     "a write after SHMEM_MAP is not visible through the mapping")
            print("SHMEM: a 4 KiB write after the map is visible through it (no message)")

            # CONFIG_CHANGE_MSG: no NEED_REPLY, then the front-end reads the
            # config as QEMU would.
            expect(rs, c, "vhost %d config" % BLK, r"OK 1")
            flags, p = bc.expect(vf.BREQ_CONFIG_CHANGE_MSG)
            rs.check(not flags & vf.FLAG_NEED_REPLY and len(p) in (0, 8),
                     "CONFIG_CHANGE_MSG flags %#x, %d bytes" % (flags, len(p)))
            rs.check(struct.unpack("<Q", fe.get_config(0, 8))[0] == cap,
                     "config after CONFIG_CHANGE_MSG")

            # Unmap, then a map the front-end refuses.
            expect(rs, c, "vhost %d shmem unmap" % BLK, r"OK 1")
            flags, p = bc.expect(vf.BREQ_SHMEM_UNMAP)
            u = vf.shmem_map_fields(p)
            rs.check(flags & vf.FLAG_NEED_REPLY and u[0] == 0 and u[2] == 0 and u[3] == DISK,
                     "SHMEM_UNMAP flags %#x fields %s" % (flags, u))
            bc.reply(vf.BREQ_SHMEM_UNMAP, 0)
            wait_status(rs, c, "OK sessions 1 mapped 0 pending 0 failed 0")
            expect(rs, c, "vhost %d shmem unmap" % BLK, r"ERR not mapped")
            expect(rs, c, "vhost %d shmem map" % BLK, r"OK 1")
            bc.expect(vf.BREQ_SHMEM_MAP)
            bc.reply(vf.BREQ_SHMEM_MAP, 22)  # EINVAL: e.g. a front-end without the RAM file
            wait_status(rs, c, "OK sessions 1 mapped 0 pending 0 failed 1")
            extra = bc.quiet()
            rs.check(extra is None, "unexpected backend request %s" % (extra,))
            print("backend channel: SHMEM_MAP x2, SHMEM_UNMAP, CONFIG_CHANGE_MSG, "
                  "%d BACKEND_VRING_CALL" % bc.calls)
            rs.check(bc.calls > 0, "no in-band call for %d completions" % (len(written) + 3))

            # The session still serves I/O, and everything returns to baseline.
            rs.check(blk.io(T_IN, 0, n=4096) == written[0][1], "read after the SHMEM traffic")
            mm.close()
            mm = None
            fe.sock.close()
            bc.close()  # the VM's half of the channel closes only once ours has
            bc = None
            deadline = time.monotonic() + 10
            while True:
                end = c.stats()
                if all(end[k] == base[k] for k in rs.POOL_KEYS):
                    break
                rs.check(time.monotonic() < deadline, "pools not back at baseline: %s"
                         % ", ".join("%s %d (was %d)" % (k, end[k], base[k])
                                     for k in rs.POOL_KEYS))
                time.sleep(0.2)
            c.close()
    finally:
        if mm:
            mm.close()
        if bc:
            bc.close()
        if w0:
            w0.close()
        for w in windows:
            w.remove()
        try:
            os.unlink(ram)
        except FileNotFoundError:
            pass
