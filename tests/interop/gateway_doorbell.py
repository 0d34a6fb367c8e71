#!/usr/bin/env python3
"""uvhost-gw --doorbell across a front-end reconnect and a service-VM reboot.

    gateway_doorbell.py --uvhostd B --gw B --bench B --vm-image IMG

The gateway starts first (it is the ivshmem server the service VM's QEMU waits for), then
the service VM (QEMU aarch64, vhost=5000:blk:16M:q2, its window and an ivshmem-doorbell
with 16 vectors), then uvhost-bench as the VMM (eventfd kicks and calls, RAM in the window
file), three times:

  1. verified I/O: the VM's stats show doorbell interrupts and rings, no in-band kick or call;
  2. the VMM reconnects (a new session, new eventfds: new own vectors and peers): the
     same, with the counters moving on;
  3. the service VM is SIGKILLed and booted again: its new QEMU connects to the gateway's
     server (vectors start over), the gateway reconnects, and verified I/O goes through
     doorbells again;
  4. a kick storm: a scripted VMM sets up a ring with doorbells and writes its kick eventfd
     a million times, while uvhost-bench --vsock runs verified I/O on the VM's other
     session (window 1) and the control service is asked for its stats: both are served,
     and the storm shows up as doorbell interrupts, far fewer than the kicks.

Exit 0 pass, 1 fail (77 skipped only with UVTEST_ALLOW_SKIP=1).
"""
import argparse
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "system"))
sys.path.insert(0, os.path.join(HERE, ".."))
import run_system as rs  # noqa: E402
import uvtest_env  # noqa: E402
from daemon_lifecycle import (ADD_MEM_REG, GET_FEATURES, GET_PROTOCOL_FEATURES,  # noqa: E402
                              NEED_REPLY, SET_FEATURES, SET_OWNER, SET_PROTOCOL_FEATURES,
                              recv, send, u64)
from vsock_host import LineClient, VsockDevice  # noqa: E402

PORT = 5000
WIN = 16 * 1024 * 1024
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE = 8, 9, 10
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ENABLE = 12, 13, 18
PF_WANT = (1 << 3) | (1 << 15) | (1 << 5)  # REPLY_ACK, CONFIGURE_MEM_SLOTS, BACKEND_REQ
STORM_KICKS = 1000000
KEYS = ("vhost_doorbell_irqs", "vhost_doorbell_rings", "vhost_inband_kicks", "vhost_inband_calls")
failures = []


def check(cond, what):
    print("%s %s" % ("ok " if cond else "BAD", what), flush=True)
    if not cond:
        failures.append(what)


def stats(dev):
    c = LineClient(dev.connect(rs.CTL_PORT))
    try:
        st = c.stats()
    finally:
        c.close()
    return {k: st[k] for k in KEYS}


def acked(s, req, payload, fds=()):
    send(s, req, payload, fds=fds, flags=1 | NEED_REPLY)
    return struct.unpack("<Q", recv(s, req))[0]


def storm_vmm(sock_path, win_path):
    """A VMM with one ring (empty, in window 0) whose kick and call are
    eventfds: the gateway makes them doorbells. Returns (socket, kick fd)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock_path)
    send(s, GET_FEATURES)
    feats = struct.unpack("<Q", recv(s, GET_FEATURES))[0]
    send(s, GET_PROTOCOL_FEATURES)
    recv(s, GET_PROTOCOL_FEATURES)
    send(s, SET_PROTOCOL_FEATURES, u64(PF_WANT))
    send(s, SET_OWNER)
    check(acked(s, SET_FEATURES, u64(feats & ~(1 << 28))) == 0, "storm VMM: features")
    gpa, uaddr = 0x100000000, 0x7F0000000000 + 0x100000000
    fd = os.open(win_path, os.O_RDWR)
    check(acked(s, ADD_MEM_REG, u64(0) + struct.pack("<QQQQ", gpa, 1 << 20, uaddr, 8 << 20),
                fds=[fd]) == 0, "storm VMM: its ring memory in window 0")
    os.close(fd)
    kick, call = os.eventfd(0, os.EFD_CLOEXEC), os.eventfd(0, os.EFD_CLOEXEC)
    check(acked(s, SET_VRING_NUM, struct.pack("<II", 0, 16)) == 0, "storm VMM: ring size")
    check(acked(s, SET_VRING_BASE, struct.pack("<II", 0, 0)) == 0, "storm VMM: ring base")
    check(acked(s, SET_VRING_ADDR, struct.pack("<IIQQQQ", 0, 0, uaddr, uaddr + 0x2000,
                                               uaddr + 0x1000, 0)) == 0,
          "storm VMM: ring addresses")
    check(acked(s, SET_VRING_CALL, u64(0), fds=[call]) == 0, "storm VMM: call eventfd")
    check(acked(s, SET_VRING_KICK, u64(0), fds=[kick]) == 0, "storm VMM: kick eventfd")
    check(acked(s, SET_VRING_ENABLE, struct.pack("<II", 0, 1)) == 0, "storm VMM: ring on")
    os.close(call)
    return s, kick


def wait_socket(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uvhostd", required=True)
    ap.add_argument("--gw", required=True)
    ap.add_argument("--vm-image", required=True)
    ap.add_argument("--bench", required=True)
    args = ap.parse_args()
    for p in (args.uvhostd, args.gw, args.vm_image, args.bench):
        if not os.path.isfile(p):
            status, why = uvtest_env.cannot_run("%s not found (build it first)" % p)
            print(why)
            return status
    work = tempfile.mkdtemp(prefix="uvgw-doorbell-")
    win = "/dev/shm/uvgw-doorbell-%d" % os.getpid()
    win1 = win + "-w1"
    for path in (win, win1):
        with open(path, "wb") as f:
            f.truncate(WIN)
    sock_path = os.path.join(work, "vhost.sock")
    db_path = os.path.join(work, "db.sock")
    dev = VsockDevice(args.uvhostd, work, cid=rs.VSOCK_CID)
    vm = gw = None
    glog = open(os.path.join(work, "gw.log"), "w+")

    def boot():
        extra = dev.qemu_args() + [
            "-object", "memory-backend-file,id=w0,mem-path=%s,size=%d,share=on" % (win, WIN),
            "-device", "ivshmem-plain,memdev=w0",
            "-object", "memory-backend-file,id=w1,mem-path=%s,size=%d,share=on" % (win1, WIN),
            "-device", "ivshmem-plain,memdev=w1",
            "-chardev", "socket,id=db0,path=%s" % db_path,
            "-device", "ivshmem-doorbell,chardev=db0,vectors=16"]
        v = rs.UvhostVM(args.vm_image, "log=info ctl=%d vhost=%d:blk:16M:q2" % (rs.CTL_PORT, PORT),
                        extra, echo=False)
        v.start()
        v.wait_for(r"ready in (\d+) ms", 90)
        check(any("doorbell 0: ivshmem-doorbell" in ln for ln in v.lines),
              "the service VM wired its ivshmem-doorbell")
        return v

    def io(what):
        r = subprocess.run([args.bench, "--socket", sock_path, "--ram-file", win, "--verify",
                            "--num-queues", "2", "--qd", "8", "--time", "1", "--size", "4M"],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "%s: uvhost-bench --verify through the gateway: %s"
              % (what, (r.stdout.strip().splitlines() or r.stderr.strip().splitlines()
                        or ["?"])[-1]))

    try:
        dev.start()
        gw = subprocess.Popen([args.gw, "--socket-path", sock_path,
                               "--vsock", "%s:%d" % (dev.uds_path, PORT),
                               "--window", "0=%s" % win, "--doorbell", db_path, "-v"],
                              stderr=glog)
        check(wait_socket(db_path, 15), "the gateway's ivshmem server is up before the VM")
        vm = boot()
        check(wait_socket(sock_path, 30), "the gateway listens for the VMM")

        io("session 1")
        s1 = stats(dev)
        check(s1["vhost_doorbell_irqs"] > 0 and s1["vhost_doorbell_rings"] > 0 and
              s1["vhost_inband_kicks"] == 0 and s1["vhost_inband_calls"] == 0,
              "session 1: doorbells only: %s" % s1)

        io("session 2 (the VMM reconnected)")
        s2 = stats(dev)
        check(s2["vhost_doorbell_irqs"] > s1["vhost_doorbell_irqs"] and
              s2["vhost_doorbell_rings"] > s1["vhost_doorbell_rings"] and
              s2["vhost_inband_kicks"] == 0 and s2["vhost_inband_calls"] == 0,
              "session 2: doorbells only, counters moved on: %s" % s2)

        vm.proc.kill()
        vm.proc.wait()
        vm = boot()
        check(wait_socket(sock_path, 30), "after the reboot the gateway listens again")
        io("after the service VM's reboot")
        s3 = stats(dev)
        check(s3["vhost_doorbell_irqs"] > 0 and s3["vhost_doorbell_rings"] > 0 and
              s3["vhost_inband_kicks"] == 0 and s3["vhost_inband_calls"] == 0,
              "after the reboot: doorbells only (a new VM, counters from 0): %s" % s3)

        # 4. a kick storm on one session; the other session and the control
        #    service must still be served
        s, kick = storm_vmm(sock_path, win)
        before = stats(dev)
        other = subprocess.Popen([args.bench, "--vsock", "%s:%d" % (dev.uds_path, PORT),
                                  "--window-file", "1=%s" % win1, "--verify", "--num-queues",
                                  "2", "--qd", "8", "--time", "3", "--size", "4M"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        one = struct.pack("<Q", 1)
        t0 = time.monotonic()
        for i in range(STORM_KICKS):
            os.write(kick, one)
            if i == STORM_KICKS // 2:
                mid = stats(dev)  # the control service, mid-storm
        t_storm = time.monotonic() - t0
        t0 = time.monotonic()
        after = stats(dev)
        t_ctl = time.monotonic() - t0
        out, _ = other.communicate(timeout=120)
        check(other.returncode == 0, "the other session's verified I/O during the storm: %s"
              % (out.strip().splitlines() or ["?"])[-1])
        irqs = after["vhost_doorbell_irqs"] - before["vhost_doorbell_irqs"]
        check(mid["vhost_doorbell_irqs"] >= before["vhost_doorbell_irqs"],
              "the control service answered mid-storm")
        check(0 < irqs < STORM_KICKS, "%d kicks in %.1f s became %d doorbell interrupts; "
              "stats answered %.3f s after it" % (STORM_KICKS, t_storm, irqs, t_ctl))
        s.close()
        os.close(kick)
        check(gw.poll() is None, "the gateway is still running")
        gw.terminate()
        check(gw.wait(10) == 0, "the gateway exits 0 on SIGTERM")
        check(not os.path.exists(db_path), "and removes its doorbell socket")
        glog.seek(0)
        text = glog.read()
        check(len(re.findall(r"doorbell: ivshmem client \d+ connected", text)) == 2,
              "the gateway served two ivshmem clients (boot and reboot)")
        check(re.search(r"\d+ in-band fallbacks", text) is not None and
              not re.search(r"[1-9]\d* in-band fallbacks", text),
              "no ring fell back to in-band")
        if failures:
            print(text[-4000:])
    except Exception as e:  # noqa: BLE001 - every rig error is a failure with its log
        failures.append("%s: %s" % (type(e).__name__, e))
        glog.seek(0)
        print(glog.read()[-3000:])
        if vm:
            print("\n".join(vm.lines[-30:]))
    finally:
        for p in (gw, vm.proc if vm else None):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        dev.stop()
        os.unlink(win)
        os.unlink(win1)
    print("PASS" if not failures else "FAIL: %s" % failures)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
