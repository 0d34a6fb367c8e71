#!/usr/bin/env python3
"""uvhost-gw when either side misbehaves or goes away, with a scripted front-end.

    gateway_failover.py --uvhostd B --gw B --bench B --vm-image IMG

The real service VM (QEMU aarch64, vhost=5000:blk:16M:q2) sits behind the real gateway; the
front-end is a few lines of Python speaking vhost-user with fds, so each step is exact:

  0. --print-capabilities (block; exit 1 for a port nobody listens on) and --fd (one
     session over an inherited socket, exit 0 when it closes);
  1. a session: negotiation, a region in the window file (accepted, in window form),
     a region in a file that is no window (refused, ENOENT, the gateway names the file),
     a region past the window's end (refused, ERANGE);
  2. a hostile front-end (garbage, then an fd on a request that takes none): dropped or
     refused, and the next session still works;
  3. the service VM SIGKILLed: the gateway closes the front-end's connection and its
     socket (a reconnecting VMM is refused at once instead of hanging), then boots
     again: the socket comes back and a new session negotiates and adds its region;
  4. uvhost-bench as the VMM (eventfd kicks and calls, RAM in the window file, 2 queues):
     verified I/O through the gateway into the rebooted VM.

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
from vsock_host import VsockDevice  # noqa: E402

PORT = 5000
WIN = 16 * 1024 * 1024
PF_WANT = (1 << 3) | (1 << 15) | (1 << 5)  # REPLY_ACK, CONFIGURE_MEM_SLOTS, BACKEND_REQ
SET_VRING_NUM = 8
failures = []


def check(cond, what):
    print("%s %s" % ("ok " if cond else "BAD", what), flush=True)
    if not cond:
        failures.append(what)


def connect(path, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.settimeout(30)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def negotiate(s):
    send(s, GET_FEATURES)
    feats = struct.unpack("<Q", recv(s, GET_FEATURES))[0]
    send(s, GET_PROTOCOL_FEATURES)
    pf = struct.unpack("<Q", recv(s, GET_PROTOCOL_FEATURES))[0]
    check(pf & PF_WANT == PF_WANT and not pf & ((1 << 63) | (1 << 14) | (1 << 22)),
          "protocol features offered 0x%x: REPLY_ACK, MEM_SLOTS, BACKEND_REQ; no "
          "WINDOW_ADDR, INBAND or SHMEM" % pf)
    send(s, SET_PROTOCOL_FEATURES, u64(PF_WANT))
    send(s, SET_OWNER)
    send(s, SET_FEATURES, u64(feats & ~(1 << 28)), flags=1 | NEED_REPLY)
    return struct.unpack("<Q", recv(s, SET_FEATURES))[0]


def add_region(s, fd, gpa, size, off=0):
    payload = u64(0) + struct.pack("<QQQQ", gpa, size, 0x7F0000000000 + gpa, off)
    send(s, ADD_MEM_REG, payload, fds=[fd], flags=1 | NEED_REPLY)
    return struct.unpack("<Q", recv(s, ADD_MEM_REG))[0]


def session(sock_path, win_path, what):
    s = connect(sock_path)
    check(negotiate(s) == 0, "%s: SET_FEATURES acked by the service VM" % what)
    fd = os.open(win_path, os.O_RDWR)
    check(add_region(s, fd, 0x100000000, 4 * 1024 * 1024, 0x100000) == 0,
          "%s: region in window 0 accepted" % what)
    os.close(fd)
    return s


def closed_within(s, secs):
    s.settimeout(secs)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
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
    work = tempfile.mkdtemp(prefix="uvgw-failover-")
    win = "/dev/shm/uvgw-failover-%d" % os.getpid()
    with open(win, "wb") as f:
        f.truncate(WIN)
    sock_path = os.path.join(work, "vhost.sock")
    dev = VsockDevice(args.uvhostd, work, cid=rs.VSOCK_CID)
    extra = None
    vm = gw = None
    glog = open(os.path.join(work, "gw.log"), "w+")

    def boot():
        v = rs.UvhostVM(args.vm_image, "log=info ctl=%d vhost=%d:blk:16M:q2" % (rs.CTL_PORT, PORT),
                        extra, echo=False)
        v.start()
        v.wait_for(r"ready in (\d+) ms", 90)
        return v

    try:
        dev.start()
        extra = dev.qemu_args() + [
            "-object", "memory-backend-file,id=w0,mem-path=%s,size=%d,share=on" % (win, WIN),
            "-device", "ivshmem-plain,memdev=w0"]
        vm = boot()
        gw = subprocess.Popen([args.gw, "--socket-path", sock_path,
                               "--vsock", "%s:%d" % (dev.uds_path, PORT),
                               "--window", "0=%s" % win, "-v"], stderr=glog)

        # 0. the back-end program conventions: --print-capabilities asks the
        #    listener; --fd serves one connected socket and exits when it closes
        r = subprocess.run([args.gw, "--print-capabilities", "--vsock",
                            "%s:%d" % (dev.uds_path, PORT)], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 0 and '"type": "block"' in r.stdout,
              "--print-capabilities: %s" % (r.stdout.strip().replace("\n", " ") or r.stderr))
        r = subprocess.run([args.gw, "--print-capabilities", "--vsock",
                            "%s:%d" % (dev.uds_path, PORT + 7)], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 1 and ":%d" % (PORT + 7) in r.stderr,
              "--print-capabilities for a port nobody listens on: exit %d, %s"
              % (r.returncode, r.stderr.strip()))
        a, b = socket.socketpair()
        fdgw = subprocess.Popen([args.gw, "--fd", str(b.fileno()), "--vsock",
                                 "%s:%d" % (dev.uds_path, PORT), "--window", "0=%s" % win],
                                pass_fds=[b.fileno()], stderr=glog)
        b.close()
        a.settimeout(30)
        check(negotiate(a) == 0, "--fd: a session over the inherited socket")
        a.close()
        try:
            check(fdgw.wait(15) == 0, "--fd: exit 0 when the VMM closes")
        except subprocess.TimeoutExpired:
            fdgw.kill()
            check(False, "--fd: still running 15 s after the VMM closed")

        # 1. a session, and regions the gateway must refuse
        s = session(sock_path, win, "session 1")
        other = os.memfd_create("not-a-window-file")
        os.ftruncate(other, WIN)
        check(add_region(s, other, 0x200000000, 4096) == 2,
              "session 1: region in a memfd that is no window refused with ENOENT")
        os.close(other)
        fd = os.open(win, os.O_RDWR)
        check(add_region(s, fd, 0x300000000, 2 * 1024 * 1024, WIN - 1024 * 1024) == 34,
              "session 1: region past the window's end refused with ERANGE")
        os.close(fd)
        s.close()

        # 2. hostile front-ends
        s = connect(sock_path)
        s.sendall(os.urandom(64))
        check(closed_within(s, 10), "garbage: the gateway dropped the front-end")
        s.close()
        s = connect(sock_path)
        negotiate(s)
        r, w = os.pipe()
        send(s, SET_VRING_NUM, struct.pack("<II", 0, 256), fds=[r], flags=1 | NEED_REPLY)
        ack = struct.unpack("<Q", recv(s, SET_VRING_NUM))[0]
        check(ack == 22, "fd on SET_VRING_NUM refused with EINVAL (got %d)" % ack)
        os.close(r)
        os.close(w)
        s.close()
        s = session(sock_path, win, "session after the hostile ones")

        # 3. the service VM goes away, and comes back
        t = time.monotonic()
        vm.proc.kill()
        vm.proc.wait()
        check(closed_within(s, 15), "service VM killed: the gateway closed the front-end "
              "(%.1f s)" % (time.monotonic() - t))
        time.sleep(0.5)
        check(not os.path.exists(sock_path), "and removed its socket while the VM is down")
        s.close()
        vm = boot()
        s = session(sock_path, win, "after the reboot")
        s.close()
        # 4. the data path: uvhost-bench as the VMM (eventfds, its RAM in the
        #    window file), verified I/O through the gateway into the VM
        r = subprocess.run([args.bench, "--socket", sock_path, "--ram-file", win, "--verify",
                            "--num-queues", "2", "--qd", "8", "--time", "1", "--size", "4M"],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "uvhost-bench --verify through the gateway: %s"
              % (r.stdout.strip().splitlines() or r.stderr.strip().splitlines() or ["?"])[-1])
        check(gw.poll() is None, "the gateway is still running")
        gw.terminate()
        check(gw.wait(10) == 0, "the gateway exits 0 on SIGTERM")
        check(not os.path.exists(sock_path), "and removes its socket")
        glog.seek(0)
        text = glog.read()
        check(re.search(r"not-a-window-file.*not a declared --window", text) is not None,
              "the gateway's log names the file that is no window")
        check("service VM connection lost" in text, "the gateway logged the VM's loss")
        if failures:
            print(text[-4000:])
    except Exception as e:  # noqa: BLE001 - every rig error is a failure with its log
        failures.append("%s: %s" % (type(e).__name__, e))
        glog.seek(0)
        print(glog.read()[-3000:])
    finally:
        for p in (gw, vm.proc if vm else None):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        dev.stop()
        os.unlink(win)
    print("PASS" if not failures else "FAIL: %s" % failures)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
