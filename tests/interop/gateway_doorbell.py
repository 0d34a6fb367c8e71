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
     doorbells again.

Exit 0 pass, 1 fail (77 skipped only with UVTEST_ALLOW_SKIP=1).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "system"))
sys.path.insert(0, os.path.join(HERE, ".."))
import run_system as rs  # noqa: E402
import uvtest_env  # noqa: E402
from vsock_host import LineClient, VsockDevice  # noqa: E402

PORT = 5000
WIN = 16 * 1024 * 1024
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
    with open(win, "wb") as f:
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
    print("PASS" if not failures else "FAIL: %s" % failures)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
