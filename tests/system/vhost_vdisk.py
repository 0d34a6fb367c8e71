"""system_vhost_vdisk: the service VM serving its own virtio-blk disks.

The VM boots with three disks on raw image files, vd0 writable, vd1
read-only (QEMU readonly=on) and vd2 failing some reads, and listeners
vhost=5000:blk:vd0:q2, 5002:blk:vd1 and 5004:blk:vd2. uvhost-bench (the library front-end over hybrid vsock) then:

  1. fills the first 4 MiB of vd0 with its --verify pattern over 2 queues,
     reads at random with every read checked, reads everything back and
     ends with a FLUSH (which must answer OK);
  2. the control service's stats show the disk's work (vd0_requests,
     vd0_write_bytes, vd0_read_bytes, latency) and nothing in flight;
  3. vd1: the pattern the host wrote into its image reads back through the
     VM (--check-only), and every write fails with an error status, the
     image left unchanged;
  4. vd2 (QEMU blkdebug) fails every read of sector 8 on the host: those
     reads answer IOERR, the rest data, nothing hangs, the disk stays up;
  5. QEMU is SIGKILLed; the image file on the host already holds the
     pattern (read here, block by block); the VM boots again on the same
     images, now with disk_bounce_kib=256 (data copied through a pool in
     the VM's RAM), and uvhost-bench --check-only reads the same data
     back; verified writes through the pool reach the image too.
A vd<N> the VM does not have is refused at boot with a line naming it; on
that boot a second disk, throttled on the host to one request a second,
with disk_timeout_ms=300: the requests it sits on fail with IOERR and the
disk is reset (vd1_timeouts). The host then lifts the throttle over QMP, the
VM restarts the disk (vd1_ok 1, vd1_recoveries), verified data written
through it reaches the image, and vd0 beside it is served throughout. A
last boot kills a front-end while the throttled disk sits on its requests:
the VM resets the disk rather than leave them there, and brings it back;
a second front-end reading that disk all along gets every answer, its
requests parked across the reset and submitted again (vd1_resubmitted).

Called from run_system.py (TESTS["vhost_vdisk"]) with that module as `rs`.
"""
import hashlib
import json
import os
import socket
import struct
import subprocess
import tempfile
import time

RW_PORT = 5000
RO_PORT = 5002
MiB = 1 << 20
SIZE = 4 * MiB  # of each disk the bench uses
BS = 4096
DISK_BYTES = 16 * MiB
FAIL_PORT = 5004


# vd0 with two queues (VIRTIO_BLK_F_MQ), vd1 read-only with one, vd2 a disk
# whose reads of sector 8 fail on the host (QEMU's blkdebug: EIO, which
# virtio-blk reports as IOERR).
def DISKS(rw, ro):
    d = os.path.dirname(rw)
    return ((rw, False, ",num-queues=2"), (ro, True, ""),
            ("blkdebug:%s:%s" % (os.path.join(d, "blkdebug.conf"), os.path.join(d, "vd2.img")),
             False, ""))


APPEND = "log=info ctl=1024 vhost=%d:blk:vd0:q2,%d:blk:vd1,%d:blk:vd2" % (RW_PORT, RO_PORT,
                                                                          FAIL_PORT)


def pattern_block(block, version=1, bs=BS):
    """uvhost-bench's --verify pattern (apps/uvhost-bench/verify.c)."""
    m = (1 << 64) - 1
    words = [((((block << 24) ^ (version << 4) ^ i) * 0x9E3779B97F4A7C15) + 1) & m
             for i in range(bs // 8)]
    return struct.pack("<%dQ" % len(words), *words)


def bench(rs, args, dev, windows, port, extra, what, expect_fail=False, timeout=120):
    cmd = [args.bench, "--vsock", "%s:%d" % (dev.uds_path, port), "--json", "--quiet",
           "--bs", str(BS), "--size", str(SIZE)]
    for w in windows:
        cmd += ["--window-file", w.path]
    cmd += extra
    print("$ uvhost-bench --vsock ...:%d %s" % (port, " ".join(cmd[-len(extra):] if extra
                                                              else [])))
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise rs.TestFailure("%s: no JSON from uvhost-bench (exit %d): %r %r"
                             % (what, r.returncode, r.stdout, r.stderr))
    if expect_fail:
        rs.check(r.returncode == 1, "%s: uvhost-bench exited %d, expected 1"
                 % (what, r.returncode))
    else:
        rs.check(r.returncode == 0 and res["errors"] == 0 and res["mismatches"] == 0,
                 "%s: exit %d, %d errors, %d mismatches\n%s"
                 % (what, r.returncode, res["errors"], res["mismatches"], r.stderr))
    print("  %s: %d IOPS, %.1f MiB/s, %d errors, %d mismatches (%.1f s)"
          % (what, res["iops"], res["mibps"], res["errors"], res["mismatches"],
             time.monotonic() - t0))
    return res, r.stderr


def check_image(rs, path, what, size=SIZE):
    """The image file on the host holds the pattern in its first `size` bytes."""
    bad = []
    with open(path, "rb") as f:
        for block in range(size // BS):
            if f.read(BS) != pattern_block(block):
                bad.append(block)
    rs.check(not bad, "%s: %d of %d blocks of the image lack the pattern (first %s)"
             % (what, len(bad), size // BS, bad[:5]))
    print("  %s: all %d blocks of the image file hold the pattern" % (what, size // BS))


def qmp(path, command, arguments):
    """One QMP command to the VM's QEMU; returns its answer or fails."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    f = s.makefile("rw")
    try:
        json.loads(f.readline())  # the greeting
        answers = []
        for cmd in ({"execute": "qmp_capabilities"},
                    {"execute": command, "arguments": arguments}):
            f.write(json.dumps(cmd) + "\n")
            f.flush()
            while True:
                a = json.loads(f.readline())
                if "event" not in a:
                    break
            if "return" not in a:
                raise RuntimeError("QMP %s: %r" % (cmd["execute"], a))
            answers.append(a["return"])
        return answers[-1]
    finally:
        f.close()
        s.close()


def make_images(workdir):
    rw = os.path.join(workdir, "vd0.img")
    ro = os.path.join(workdir, "vd1.img")
    with open(rw, "wb") as f:
        f.truncate(DISK_BYTES)
    with open(ro, "wb") as f:
        for block in range(SIZE // BS):
            f.write(pattern_block(block))
        f.truncate(DISK_BYTES)
    with open(os.path.join(workdir, "vd2.img"), "wb") as f:
        f.truncate(DISK_BYTES)
    with open(os.path.join(workdir, "blkdebug.conf"), "w") as f:
        f.write('[inject-error]\nevent = "none"\niotype = "read"\nerrno = "5"\n'
                'sector = "8"\n')
    return rw, ro


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def first_boot(rs, args, windows, rw, ro):
    with rs.vsock_vm(args, windows, append=APPEND, disks=DISKS(rw, ro)) as (vm, dev):
        rs.check(vm.find_all(r"I: vd0: 32768 sectors .*2 queues x 256.*flush"), "vd0 not brought up")
        rs.check(vm.find_all(r"I: vd1: 32768 sectors .*read-only"), "vd1 not read-only")
        bench(rs, args, dev, windows, RW_PORT,
              ["--verify", "--flush", "--num-queues", "2", "--qd", "16", "--time", "1"],
              "vd0: fill, verified random reads, read-back, flush")
        st = rs.stats_now(dev)
        print("  stats: " + ", ".join("%s %d" % (k, v) for k, v in sorted(st.items())
                                      if k.startswith("vd")))
        rs.check(st["vd0_requests"] > SIZE // BS, "vd0_requests %d" % st["vd0_requests"])
        rs.check(st["vd0_write_bytes"] >= SIZE, "vd0_write_bytes %d" % st["vd0_write_bytes"])
        rs.check(st["vd0_read_bytes"] >= SIZE, "vd0_read_bytes %d" % st["vd0_read_bytes"])
        rs.check(st["vd0_inflight"] == 0, "vd0_inflight %d after the run" % st["vd0_inflight"])
        rs.check(st["vd0_errors"] == 0, "vd0_errors %d" % st["vd0_errors"])
        rs.check(st["vd0_lat_avg_us"] > 0 and st["vd0_lat_max_us"] >= st["vd0_lat_avg_us"],
                 "vd0 latency avg %d max %d" % (st["vd0_lat_avg_us"], st["vd0_lat_max_us"]))
        rs.check(st["vd0_capacity_bytes"] == DISK_BYTES and st["vd0_ok"] == 1,
                 "vd0 capacity %d ok %d" % (st["vd0_capacity_bytes"], st["vd0_ok"]))

        before = sha(ro)
        bench(rs, args, dev, windows, RO_PORT, ["--check-only"],
              "vd1 (read-only): the host's pattern reads back")
        res, err = bench(rs, args, dev, windows, RO_PORT, ["--rw", "write", "--time", "1"],
                         "vd1 (read-only): writes", expect_fail=True)
        # ios counts the measured second only; errors also the writes after it.
        rs.check(res["ios"] > 0 and res["errors"] >= res["ios"] and res["mismatches"] == 0,
                 "vd1: %d errors for %d writes, expected every write to fail"
                 % (res["errors"], res["ios"]))
        rs.check("status 1 (IOERR)" in err, "vd1: writes did not fail with IOERR: %r"
                 % err[-300:])
        rs.check(sha(ro) == before, "vd1: the read-only image changed")
        st = rs.stats_now(dev)
        rs.check(st["vd1_read_bytes"] >= SIZE and st["vd1_write_bytes"] == 0,
                 "vd1 read %d write %d bytes" % (st["vd1_read_bytes"], st["vd1_write_bytes"]))

        failing_disk(rs, args, dev, windows)

        print("SIGKILL of the service VM's QEMU")
        vm.proc.kill()
        vm.proc.wait()
        check_image(rs, rw, "vd0 after SIGKILL")


def failing_disk(rs, args, dev, windows):
    """vd2 fails every read of sector 8: those reads get IOERR, most others
    data, nothing hangs, and the disk stays in service."""
    res, err = bench(rs, args, dev, windows, FAIL_PORT,
                     ["--rw", "read", "--time", "1", "--size", "256K", "--qd", "8"],
                     "vd2 (reads of sector 8 fail on the host)", expect_fail=True)
    rs.check(0 < res["errors"] < res["ios"] and res["mismatches"] == 0,
             "vd2: %d errors in %d reads, expected some" % (res["errors"], res["ios"]))
    rs.check("read sector 8 len 4096: status 1 (IOERR)" in err,
             "vd2: no IOERR for sector 8: %r" % err[-300:])
    # (Neighbours may fail with it: QEMU merges adjacent requests into one.)
    st = rs.stats_now(dev)
    rs.check(st["vd2_errors"] >= res["errors"] and st["vd2_ok"] == 1 and
             st["vd2_inflight"] == 0 and st["vd2_read_bytes"] > 0,
             "vd2: errors %d ok %d inflight %d read %d" % (st["vd2_errors"], st["vd2_ok"],
                                                           st["vd2_inflight"],
                                                           st["vd2_read_bytes"]))
    print("  vd2: %d disk errors answered as IOERR, %d bytes read, disk still ok"
          % (st["vd2_errors"], st["vd2_read_bytes"]))


def second_boot(rs, args, windows, rw, ro):
    """Booted again on the same images, this time with disk_bounce_kib=256:
    the disks' DMA only ever touches the VM's own RAM (as on a hypervisor
    whose virtio-blk cannot reach the windows), the data is copied."""
    append = APPEND + " disk_bounce_kib=256"
    with rs.vsock_vm(args, windows, append=append, disks=DISKS(rw, ro)) as (vm, dev):
        rs.check(vm.find_all(r"I: vd0: data copied through a bounce pool of 2 x 128 KiB"),
                 "vd0: no bounce pool at boot")
        bench(rs, args, dev, windows, RW_PORT, ["--check-only", "--num-queues", "2"],
              "vd0 after reboot: the flushed data reads back (bounced)")
        st = rs.stats_now(dev)
        rs.check(st["vd0_write_bytes"] == 0 and st["vd0_read_bytes"] >= SIZE,
                 "vd0 after reboot: read %d write %d bytes"
                 % (st["vd0_read_bytes"], st["vd0_write_bytes"]))
        rs.check(st["vdisk_bounced_bytes"] >= SIZE,
                 "vd0: %d bytes bounced, expected at least %d" % (st["vdisk_bounced_bytes"], SIZE))
        bench(rs, args, dev, windows, RW_PORT,
              ["--verify", "--flush", "--num-queues", "2", "--qd", "16", "--time", "1"],
              "vd0 through the bounce pool: verified writes and reads")
        st2 = rs.stats_now(dev)
        rs.check(st2["vdisk_bounced_bytes"] - st["vdisk_bounced_bytes"] >= 2 * SIZE,
                 "vd0: only %d more bytes bounced"
                 % (st2["vdisk_bounced_bytes"] - st["vdisk_bounced_bytes"]))
        print("  vdisk_bounced_bytes %d" % st2["vdisk_bounced_bytes"])
    check_image(rs, rw, "vd0 after bounced writes")


def missing_disk_and_timeout(rs, args, windows, rw, workdir):
    """vd3 with two disks: a boot error that names it. vd1 is throttled on
    the host to one request a second and the VM times requests out after
    300 ms: the late ones fail with IOERR and the disk is reset before
    anyone hears of it. Once the host lifts the throttle (QMP), the VM
    brings the disk back up and a front-end's verified data reaches the
    image; vd0 next to it is served throughout."""
    slow = os.path.join(workdir, "slow.img")
    with open(slow, "wb") as f:
        f.truncate(DISK_BYTES)
    qmp_path = os.path.join(workdir, "qmp.sock")
    append = ("log=info ctl=1024 disk_timeout_ms=300 vhost=%d:blk:vd0,%d:blk:vd3,%d:blk:vd1"
              % (RW_PORT, RO_PORT, FAIL_PORT))
    allow = (r"E: vhost %d: disk vd3 refused" % RO_PORT,
             r"E: vd1: a request timed out: disk stopped", r"E: vd1: device reset")
    disks = ((rw, False, ""), (slow + ",throttling.iops-total=1", False, ""))
    with rs.vsock_vm(args, windows, append=append, disks=disks, allow=allow,
                     qemu_extra=["-qmp", "unix:%s,server=on,wait=off" % qmp_path]) as (vm, dev):
        m = vm.find_all(r"E: vhost %d: disk vd3 refused: no such virtio-blk disk \(2 "
                        r"virtio-blk disk\(s\) found\)" % RO_PORT)
        rs.check(m, "no boot error naming vd3")
        t0 = time.monotonic()
        res, err = bench(rs, args, dev, windows, FAIL_PORT,
                         ["--rw", "read", "--time", "2", "--size", "256K", "--qd", "8"],
                         "vd1 (one request a second on the host, 300 ms timeout)",
                         expect_fail=True)
        rs.check(res["errors"] > 0 and "status 1 (IOERR)" in err,
                 "vd1: no IOERR for the requests the disk sat on: %d errors %r"
                 % (res["errors"], err[-300:]))
        rs.check(time.monotonic() - t0 < 30, "vd1: the front-end waited %.1f s"
                 % (time.monotonic() - t0))
        reset = r"E: vd1: device reset: it no longer touches the requests' buffers"
        deadline = time.monotonic() + 10
        while not vm.find_all(reset) and time.monotonic() < deadline:
            vm.drain(0.2)
        rs.check(vm.find_all(reset), "vd1: the VM never said it reset the disk")
        st = rs.stats_now(dev)
        rs.check(st["vd1_timeouts"] >= 1 and st["vd1_inflight"] == 0,
                 "vd1: timeouts %d inflight %d" % (st["vd1_timeouts"], st["vd1_inflight"]))
        print("  vd1: %d request(s) timed out, %d errors in all, %d reset(s) so far"
              % (st["vd1_timeouts"], st["vd1_errors"], len(vm.find_all(reset))))
        # The host's disk is healthy again: the VM's next restart brings vd1
        # back (1 s after a break, doubling while it keeps breaking).
        lift_throttle(qmp_path, "vd1")
        st = wait_back_up(rs, dev, "vd1")
        rs.check(vm.find_all(r"I: vd1: back up after its reset \(recovery \d+\)"),
                 "vd1: no 'back up' line on the console")
        print("  vd1: back up after %d restart(s)" % st["vd1_recoveries"])
        res, _ = bench(rs, args, dev, windows, FAIL_PORT,
                       ["--verify", "--flush", "--qd", "8", "--time", "1", "--size", "256K"],
                       "vd1 after its restart (verified writes and reads)")
        check_image(rs, slow, "vd1 after its restart", 256 * 1024)
        bench(rs, args, dev, windows, RW_PORT, ["--check-only"],
              "vd0 next to a missing vd3 and a restarted vd1")


def lift_throttle(qmp_path, drive):
    qmp(qmp_path, "block_set_io_throttle",
        {"device": drive, "bps": 0, "bps_rd": 0, "bps_wr": 0,
         "iops": 0, "iops_rd": 0, "iops_wr": 0})
    print("$ QMP block_set_io_throttle %s: no limits" % drive)


def wait_back_up(rs, dev, disk, at_least=1, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        st = rs.stats_now(dev)
        ok = st[disk + "_ok"] == 1 and st[disk + "_recoveries"] >= at_least
        if ok or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    rs.check(ok, "%s never came back: ok %d recoveries %d"
             % (disk, st[disk + "_ok"], st[disk + "_recoveries"]))
    return st


def cut_off_on_disconnect(rs, args, windows, rw, workdir):
    """A front-end that goes away (SIGKILL) while the disk sits on its
    requests: the VM waits 100 ms for them, then resets the disk rather
    than leave them to land later, and brings the disk back at once. A
    second front-end reading the same disk meanwhile loses nothing: its
    requests are parked across the reset and submitted again. The disk's
    own timeout (5 s here) never fires."""
    slow = os.path.join(workdir, "slow2.img")
    with open(slow, "wb") as f:
        f.truncate(DISK_BYTES)
    qmp_path = os.path.join(workdir, "qmp2.sock")
    append = "log=info ctl=1024 disk_timeout_ms=5000 vhost=%d:blk:vd1" % FAIL_PORT
    # The killed front-end's two connections close in either order: when its
    # back-end channel goes first, the session says so before it ends.
    allow = (r"W: vhost %d#\d+: ring 0: \d+ pending requests dropped by reset" % FAIL_PORT,
             r"W: vhost %d#\d+: backend channel lost \(-104\)" % FAIL_PORT,
             r"W: vd1: \d+ request\(s\) still on the disk after 100 ms: resetting it",
             r"W: vd1: a front-end could not wait for it: resetting the disk")
    disks = ((rw, False, ""), (slow + ",throttling.iops-total=1", False, ""))
    with rs.vsock_vm(args, windows, append=append, disks=disks, allow=allow,
                     qemu_extra=["-qmp", "unix:%s,server=on,wait=off" % qmp_path]) as (vm, dev):
        def bench_cmd(extra, window):
            # One window each: two front-ends' rings must not share memory.
            return [args.bench, "--vsock", "%s:%d" % (dev.uds_path, FAIL_PORT), "--json",
                    "--quiet", "--rw", "read", "--size", "256K",
                    "--window-file", "%d=%s" % (window, windows[window].path)] + extra

        print("$ uvhost-bench --vsock ...:%d --rw read --qd 2 --time 5 (the bystander)"
              % FAIL_PORT)
        bystander = subprocess.Popen(bench_cmd(["--qd", "2", "--time", "5"], 1),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        vm.wait_for(r"I: vhost %d#\d+: connected" % FAIL_PORT, 10)
        time.sleep(0.5)
        print("$ uvhost-bench --vsock ...:%d --rw read --qd 8 (SIGKILLed after 1.5 s)"
              % FAIL_PORT)
        p = subprocess.Popen(bench_cmd(["--qd", "8", "--time", "30"], 0),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        p.kill()
        p.wait()
        cut = vm.wait_for(r"W: vd1: (\d+) request\(s\) still on the disk after 100 ms: "
                          r"resetting it", 10)
        vm.wait_for(r"I: vd1: device reset: it no longer touches the requests' buffers", 5)
        back = vm.wait_for(r"I: vd1: back up after its reset \(recovery \d+\), (\d+) "
                           r"request\(s\) submitted again", 5)
        lift_throttle(qmp_path, "vd1")
        st = wait_back_up(rs, dev, "vd1")
        rs.check(st["vd1_timeouts"] == 0,
                 "vd1: %d request(s) timed out" % st["vd1_timeouts"])
        print("  vd1: %s request(s) of the killed front-end cut off by the reset, back up "
              "after %d restart(s), %s of the bystander's submitted again"
              % (cut.group(1), st["vd1_recoveries"], back.group(1)))
        out, err = bystander.communicate(timeout=60)
        try:
            res = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise rs.TestFailure("bystander: no JSON from uvhost-bench (exit %d): %r %r"
                                 % (bystander.returncode, out, err))
        rs.check(bystander.returncode == 0 and res["errors"] == 0,
                 "bystander: exit %d, %d errors across the other front-end's reset\n%s"
                 % (bystander.returncode, res["errors"], err))
        st = rs.stats_now(dev)
        rs.check(st["vd1_resubmitted"] >= 1 and int(back.group(1)) >= 1,
                 "vd1: %d request(s) submitted again (console %s): the bystander had none "
                 "on the disk" % (st["vd1_resubmitted"], back.group(1)))
        print("  bystander: %d reads, 0 errors across the reset; vd1_resubmitted %d"
              % (res["ios"], st["vd1_resubmitted"]))
        bench(rs, args, dev, windows, FAIL_PORT,
              ["--verify", "--flush", "--qd", "8", "--time", "1", "--size", "256K"],
              "vd1 after the cut-off (verified writes and reads)")
        check_image(rs, slow, "vd1 after the cut-off", 256 * 1024)


def test(args, rs):
    workdir = tempfile.mkdtemp(prefix="uvhost-sys-vdisk-")
    windows = [rs.ShmWindow("w0", MiB, 1), rs.ShmWindow("w1", MiB, 2)]
    try:
        rw, ro = make_images(workdir)
        first_boot(rs, args, windows, rw, ro)
        second_boot(rs, args, windows, rw, ro)
        missing_disk_and_timeout(rs, args, windows, rw, workdir)
        cut_off_on_disconnect(rs, args, windows, rw, workdir)
    finally:
        for w in windows:
            w.remove()
        if not args.keep:
            for f in os.listdir(workdir):
                os.unlink(os.path.join(workdir, f))
            os.rmdir(workdir)
