"""system_vhost_session: a whole blk session against the service VM in the
real rig (QEMU aarch64 running the unikernel, uvhostd as the vsock device,
two ivshmem windows on /dev/shm files), driven by uvhost-bench: the
library's front-end over the fd-less hybrid-vsock transport.

  1. 64 regions spread over 2 windows, I/O with --verify touching every
     region, while the upper half of the regions is removed (one
     REM_MEM_REG per loop turn, I/O running on the lower half) and re-added,
     several times; in-band BACKEND_VRING_CALL wakes the front-end, and
     CONFIG_CHANGE_MSG reaches it when the control service asks for one.
  2. The SET_MEM_TABLE path (--no-mem-slots) with --verify.
  3. NOFD both ways, no backend channel traffic (--poll --no-inband).
  4. GET_MAX_MEM_SLOTS, then every slot filled and one more refused, on the
     default listener (509) and on one configured with s16
     (Python front-end, tests/system/vhost_frontend.py).
  5. SHMEM over windows: the VM exports its RAM disk (control command
     `vhost 5000 shmem map`) while uvhost-bench writes it; the bench maps the
     VM's RAM file (--vm-ram-file) and reads every block back through it.
  6. REM of the region under a started ring: the ring stops with an error
     that also arrives in-band (BACKEND_VRING_ERR on the backend channel),
     the session still answers, and the VM keeps serving a new session
     (driven with in-band VRING_KICK messages besides polling).
Then the control service's pools are back at their baseline.

Called from run_system.py (TESTS["vhost_session"]) with that module as
`rs`, so the rig helpers are shared rather than copied.
"""
import json
import os
import struct
import subprocess
import threading
import time

import vhost_frontend as vf

BLK_PORT = 5000
RNG_PORT = 5001
SMALL_PORT = 5002  # a listener configured with 16 memory slots
WINDOW = 1 << 20
SLOTS = 64
# What this test provokes on purpose: the over-the-limit ADD_MEM_REG and the
# ring whose memory it removes.
ALLOWED = (r"[EW]: vhost 500[02]#\d: ADD_MEM_REG .* refused",
           r"[EW]: vhost 5000#\d: ring 0: [^;]*; ring stopped")


def bench(rs, args, dev, windows, extra, what, timeout=120):
    cmd = [args.bench, "--vsock", "%s:%d" % (dev.uds_path, BLK_PORT), "--json", "--quiet"]
    for w in windows:
        cmd += ["--window-file", w.path]
    cmd += extra
    print("$ uvhost-bench --vsock ...:%d %s" % (BLK_PORT, " ".join(extra)))
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise rs.TestFailure("%s: uvhost-bench exited %d\n%s%s" % (what, r.returncode,
                                                                  r.stdout, r.stderr))
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise rs.TestFailure("%s: no JSON from uvhost-bench: %r" % (what, r.stdout))
    rs.check(res["errors"] == 0 and res["mismatches"] == 0,
             "%s: %d errors, %d mismatches" % (what, res["errors"], res["mismatches"]))
    rs.check(res["transport"] == "vsock", "%s: transport %s" % (what, res["transport"]))
    rs.check(res["ios"] > 0, "%s: no I/O" % what)
    print("  %s: %d IOPS, %.1f MiB/s, p50 %.0f us, %d of %d regions carried I/O (%.1f s)"
          % (what, res["iops"], res["mibps"], res["lat_p50_us"], res["regions_with_io"],
             res["regions"], time.monotonic() - t0))
    return res


def control_config_change(rs, dev, stop, sent):
    """Ask the VM for CONFIG_CHANGE_MSG on the blk sessions until stopped."""
    c = rs.ctl(dev)
    try:
        while not stop.wait(0.3):
            line = c.cmd("vhost %d config" % BLK_PORT)
            if line.startswith("OK ") and int(line.split()[1]) > 0:
                sent.append(int(line.split()[1]))
    finally:
        c.close()


def fill_slots(rs, dev, port=BLK_PORT, want=None):
    fe = vf.Frontend(dev.connect(port))
    fe.negotiate(vf.PF_REPLY_ACK | vf.PF_CONFIGURE_MEM_SLOTS | vf.PF_WINDOW_ADDR)
    n = fe.call_u64(vf.GET_MAX_MEM_SLOTS)
    rs.check(2 <= n <= 2 * WINDOW // 4096 - 1 and (want is None or n == want),
             "port %d: GET_MAX_MEM_SLOTS %d, want %s" % (port, n, want))
    regs = []
    t0 = time.monotonic()
    for k in range(n + 1):
        # 4 KiB each, alternating windows, guest addresses and uaddrs apart.
        regs.append(vf.region(0x100000000 + k * 0x10000, 4096, 0x7f0000000000 + k * 0x10000,
                              k % 2, (k // 2) * 4096))
    for k in range(n):
        rs.check(fe.ack(vf.ADD_MEM_REG, regs[k]) == 0, "ADD_MEM_REG %d of %d refused" % (k, n))
    rs.check(fe.ack(vf.ADD_MEM_REG, regs[n]) != 0,
             "ADD_MEM_REG %d accepted with every one of %d slots in use" % (n + 1, n))
    rs.check(fe.call_u64(vf.GET_MAX_MEM_SLOTS) == n, "the full session still answers")
    rs.check(fe.ack(vf.REM_MEM_REG, regs[0]) == 0, "REM_MEM_REG in a full table refused")
    rs.check(fe.ack(vf.ADD_MEM_REG, regs[n]) == 0, "the freed slot cannot be used")
    print("  slots on port %d: GET_MAX_MEM_SLOTS %d, all %d filled over 2 windows in %.1f s, "
          "one more refused, a freed slot reused" % (port, n, n, time.monotonic() - t0))
    fe.sock.close()


def rem_under_ring(rs, vm, dev, w0):
    """With a backend channel and INBAND_NOTIFICATIONS, the ring error also
    arrives in-band as BACKEND_VRING_ERR for ring 0."""
    fe = vf.Frontend(dev.connect(BLK_PORT))
    feats, _ = fe.negotiate(vf.PF_REPLY_ACK | vf.PF_CONFIGURE_MEM_SLOTS | vf.PF_WINDOW_ADDR |
                            vf.PF_BACKEND_REQ | vf.PF_INBAND_NOTIFICATIONS)
    bc = vf.BackendChannel(dev.uds_path, 47000)
    try:
        rs.check(fe.ack(vf.SET_BACKEND_REQ_FD, struct.pack("<Q", bc.port)) == 0,
                 "SET_BACKEND_REQ_FD (port) refused")
        bc.accept()
        gpa, uaddr = 0x40000000, 0x7f0000000000
        reg = vf.region(gpa, 0x10000, uaddr, 0, 0)
        rs.check(fe.ack(vf.ADD_MEM_REG, reg) == 0, "ADD_MEM_REG for the ring refused")
        ring = vf.SplitRing(w0, 0, gpa, uaddr)
        ring.setup(fe)
        hdr, hdr_o = ring.buf(0)
        dat, dat_o = ring.buf(0x1000)
        st, st_o = ring.buf(0x2000)

        def read_sector():
            w0.write(hdr_o, struct.pack("<IIQ", 0, 0, 8))
            w0.write(st_o, b"\xee")
            return ring.post([(hdr, 16, False), (dat, 512, True), (st, 1, True)])

        head = read_sector()
        uid, ulen = ring.wait_used()
        rs.check(uid == head and ulen == 513 and w0.read(st_o, 1) == b"\x00",
                 "the ring works before the REM")
        rs.check(fe.ack(vf.REM_MEM_REG, reg) == 0, "REM_MEM_REG under a started ring refused")
        read_sector()
        flags, payload = bc.expect(vf.BREQ_VRING_ERR)
        index = struct.unpack("<I", payload[:4])[0] if len(payload) == 8 else -1
        rs.check(index == 0 and not flags & vf.FLAG_NEED_REPLY,
                 "BACKEND_VRING_ERR for ring %d, flags %#x" % (index, flags))
        vm.wait_for(r"[EW]: vhost %d#\d: ring 0: [^;]*; ring stopped" % BLK_PORT,
                    10)
        try:
            ring.wait_used(timeout=1)
            raise rs.TestFailure("a ring whose memory was removed still completed a request")
        except vf.FrontendError:
            pass
        rs.check(fe.call_u64(vf.GET_FEATURES) == feats,
                 "the session answers after its ring error")
        print("  REM under a started ring: BACKEND_VRING_ERR for ring 0 arrived in-band, the "
              "ring stopped (%d in-band calls before), the session still answered" % bc.calls)
    finally:
        fe.sock.close()
        bc.close()


def shmem_through_bench(rs, args, dev, windows, ram):
    """SHMEM over windows with the library front-end: the VM exports its RAM
    disk (`vhost <port> shmem map`) while uvhost-bench --verify writes it;
    the bench maps the VM's RAM file at the SHMEM_MAP's fd_offset and reads
    every block it wrote back through that mapping."""
    with rs.ctl_later(dev, 1.5, "vhost %d shmem map" % BLK_PORT) as asked:
        res = bench(rs, args, dev, windows, ["--vm-ram-file", ram, "--slots", "2", "--qd", "8",
                                             "--verify", "--time", "3"], "SHMEM over windows")
    rs.check(asked and asked[0].startswith("OK 1"), "shmem map asked: %s" % asked)
    rs.check(res["shmem_maps"] == 1 and res["shmem_blocks_checked"] == 16 * 1024 * 1024 // 4096
             and res["shmem_mismatches"] == 0,
             "SHMEM: %d maps, %d blocks read through it, %d differ"
             % (res["shmem_maps"], res["shmem_blocks_checked"], res["shmem_mismatches"]))
    print("  SHMEM over windows: SHMEM_MAP of the VM's RAM disk from its RAM file, all %d "
          "written blocks read back through the mapping, none differ"
          % res["shmem_blocks_checked"])


def run(args, rs):
    windows = [rs.ShmWindow("w0", WINDOW, 51), rs.ShmWindow("w1", WINDOW, 52)]
    ram = "/dev/shm/uvhost-sys-%d-ram" % os.getpid()
    w0 = None
    try:
        with rs.vsock_vm(args, windows,
                         append="log=info ctl=%d vhost=%d:blk:16M,%d:rng,%d:blk:1M:s16 %s"
                         % (rs.CTL_PORT, BLK_PORT, RNG_PORT, SMALL_PORT, rs.VHOST_POOLS),
                         allow=ALLOWED,
                         ram_file=ram) as (vm, dev):
            base = rs.stats_now(dev)

            stop, sent = threading.Event(), []
            t = threading.Thread(target=control_config_change, args=(rs, dev, stop, sent))
            t.start()
            try:
                res = bench(rs, args, dev, windows,
                            ["--slots", str(SLOTS), "--qd", str(SLOTS), "--verify", "--time",
                             "4", "--half-churn", "3"], "64 regions, 2 windows, half-churn")
            finally:
                stop.set()
                t.join()
            rs.check(res["regions"] == SLOTS and res["regions_with_io"] == SLOTS,
                     "I/O in %d of %d regions" % (res["regions_with_io"], res["regions"]))
            rs.check(res["half_rems"] >= 2 and res["half_adds"] >= 2,
                     "half-churn: %d removals, %d re-adds" % (res["half_rems"],
                                                              res["half_adds"]))
            rs.check(res["rem_mem_reg"] >= 2 * SLOTS // 2 and
                     res["add_mem_reg"] >= SLOTS + 2 * SLOTS // 2,
                     "memory messages: ADD %d REM %d" % (res["add_mem_reg"],
                                                         res["rem_mem_reg"]))
            rs.check(res["backend_accepts"] == 1 and res["vring_calls"] > 0 and
                     not res["poll"], "in-band calls: %d (backend channel %d)"
                     % (res["vring_calls"], res["backend_accepts"]))
            rs.check(sent and res["config_changes"] >= 1,
                     "CONFIG_CHANGE_MSG: %d asked, %d arrived" % (len(sent),
                                                                res["config_changes"]))
            print("  %d ADD_MEM_REG, %d REM_MEM_REG (p50 %.0f / %.0f us), %d in-band calls, "
                  "%d CONFIG_CHANGE_MSG" % (res["add_mem_reg"], res["rem_mem_reg"],
                                            res["add_p50_us"], res["rem_p50_us"],
                                            res["vring_calls"], res["config_changes"]))

            res = bench(rs, args, dev, windows, ["--slots", "8", "--no-mem-slots", "--verify",
                                                 "--time", "1"], "SET_MEM_TABLE, 8 regions")
            rs.check(res["set_mem_table"] >= 1 and res["add_mem_reg"] == 0,
                     "SET_MEM_TABLE %d, ADD_MEM_REG %d" % (res["set_mem_table"],
                                                          res["add_mem_reg"]))
            res = bench(rs, args, dev, windows, ["--poll", "--no-inband", "--slots", "4",
                                                 "--qd", "16", "--verify", "--time", "1"],
                        "polled, no in-band calls")
            rs.check(res["poll"] and res["vring_calls"] == 0, "polling: %d calls"
                     % res["vring_calls"])

            shmem_through_bench(rs, args, dev, windows, ram)
            fill_slots(rs, dev)
            fill_slots(rs, dev, SMALL_PORT, 16)  # vhost=...:s16
            w0 = vf.WindowFile(windows[0].path, windows[0].size)
            rem_under_ring(rs, vm, dev, w0)
            res = bench(rs, args, dev, windows, ["--slots", "2", "--qd", "4", "--verify",
                                                 "--time", "0.5", "--inband-kick"],
                        "a new session after the ring error, in-band kicks")
            rs.check(res["kicks"] > 0, "no VRING_KICK sent with --inband-kick")

            deadline = time.monotonic() + 10
            while True:
                now = rs.stats_now(dev)
                if all(now[k] == base[k] for k in rs.POOL_KEYS) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            for k in rs.POOL_KEYS:
                rs.check(now[k] == base[k], "%s %d, baseline %d" % (k, now[k], base[k]))
            print("  pools back at baseline: %s" % ", ".join("%s %d" % (k, now[k])
                                                             for k in rs.POOL_KEYS))
    finally:
        if w0:
            w0.close()
        for w in windows:
            w.remove()
        if os.path.exists(ram):
            os.unlink(ram)
