"""The interop rig with the service VM as the back-end, through uvhost-gw.

    run_interop.py SCENARIO --backend gateway [--gw build/host/uvhost-gw]
                   [--vm-image build/aarch64/uvhost.elf]

Three processes serve the guest's device (docs/gateway.md):

    uvhostd --device vsock          the service VM's virtio-vsock device (hybrid vsock)
    qemu-system-aarch64 uvhost.elf  the service VM: vhost=5000:blk:<disk>:q<n> or 5001:rng,
                                    the guest's RAM file as ivshmem window 0 (and the
                                    hot-plug DIMM's file as window 1)
    uvhost-gw                       QEMU's vhost-user socket <-> the VM's listener

The guest's QEMU gets `memory-backend-file,mem-path=<window 0 file>,share=on`, so the
service VM reads and writes the guest's rings and buffers directly; the gateway relays the
control plane and the notifications only.

With --doorbell the service VM also gets an ivshmem-doorbell whose server is the gateway
(`uvhost-gw --doorbell SOCK`, started first: QEMU waits for the server), kicks and calls
go through doorbell vectors (docs/vsock-transport.md §4.1), and the VM's control `stats`
must show doorbell interrupts and rings and no in-band kick or call.

The disk is the service VM's RAM disk: it is checked by the guest's own read-back
(every guest script verifies what it wrote), not on the host. In blk_vdisk it is the
rig's disk image instead, given to the service VM as its virtio-blk disk vd0
(vhost=5000:blk:vd0:q<n>, docs/service-vm-disk.md), and the host re-checks the image. `reconnect` kills and
restarts the gateway (the service VM, and so the disk, stays up); a service-VM reboot
is covered by tests/system (gateway_vm_reboot).
"""
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import run_interop as ri

sys.path.insert(0, os.path.join(ri.ROOT, "tests", "system"))
import run_system as rs  # noqa: E402
from vsock_host import LineClient, VsockDevice  # noqa: E402

BLK_PORT, RNG_PORT = 5000, 5001
VM_MEMORY = "256M"
GUEST_RAM = 256 * ri.MiB
DIMM = 256 * ri.MiB


class GatewayRig(ri.Rig):
    def __init__(self, scenario, args):
        super().__init__(scenario, args)
        tag = "%d-%s" % (os.getpid(), os.path.basename(self.workdir))
        self.mem_path = "/dev/shm/uvtest-%s-mem0" % tag
        # run_interop.Rig.hotadd() names the DIMM's file this way.
        self.dimm_path = "/dev/shm/uvtest-%s-dimm1" % tag
        self.vm = None
        self.vsockdev = None
        self.gw_log = self.backend_log
        self.db_path = os.path.join(self.workdir, "doorbell.sock") if args.doorbell else None
        self.db_vectors = 16

    # ------------------------------------------------------------ checks --
    def preflight(self):
        super().preflight()
        for what, path in (("uvhost-gw", self.args.gw), ("uvhostd", self.args.uvhostd)):
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise ri.Fail("%s binary %s not found (build the host tree first)" % (what, path))
        if not os.path.isfile(self.args.vm_image):
            raise ri.Fail("service VM image %s not found (cmake --preset aarch64 && "
                          "cmake --build build/aarch64)" % self.args.vm_image)
        if not shutil.which(rs.QEMU):
            raise ri.Fail("%s not found: run scripts/setup.sh" % rs.QEMU)
        if self.sc["device"] not in ("blk", "rng"):
            raise ri.Skip("the gateway serves blk and rng; scenario %s uses %s"
                          % (self.name, self.sc["device"]))
        if self.sc.get("uvhostd_only"):
            raise ri.Skip("scenario %s needs uvhostd itself" % self.name)

    # ------------------------------------------------------- service VM --
    def windows(self):
        w = [(0, self.mem_path, GUEST_RAM)]
        if self.sc.get("hotplug"):
            w.append((1, self.dimm_path, DIMM))
        return w

    def listener(self):
        if self.sc["device"] == "blk" and self.sc.get("vm_disk"):
            return BLK_PORT, "%d:blk:vd0:q%d" % (BLK_PORT, self.sc["num_queues"])
        if self.sc["device"] == "blk":
            return BLK_PORT, "%d:blk:%dM:q%d" % (BLK_PORT, self.args.disk_mib,
                                               self.sc["num_queues"])
        return RNG_PORT, "%d:rng" % RNG_PORT

    def start_windows_and_vsock(self):
        """The window files (the guest's RAM among them) and uvhostd --device
        vsock: what the service VM's QEMU needs before it boots."""
        for _, path, size in self.windows():
            with open(path, "wb") as f:
                f.truncate(size)
            self.shm_files.append(path)
        self.vsockdev = VsockDevice(self.args.uvhostd, self.workdir, cid=rs.VSOCK_CID)
        self.vsockdev.start()
        self.procs.append(self.vsockdev.proc)

    def start_service_vm(self):
        self.start_windows_and_vsock()
        self.boot_service_vm()

    def boot_service_vm(self):
        port, entry = self.listener()
        extra = self.vsockdev.qemu_args(memory=VM_MEMORY)
        for i, path, size in self.windows():
            extra += ["-object", "memory-backend-file,id=gw%d,mem-path=%s,size=%d,share=on"
                      % (i, path, size),
                      "-device", "ivshmem-plain,memdev=gw%d" % i]
        if self.sc["device"] == "rng":
            extra += ["-device", "virtio-rng-pci,disable-legacy=on"]
        if self.db_path:
            # After the windows: a doorbell is not a window, and the
            # windows keep their numbers either way.
            extra += ["-chardev", "socket,id=db0,path=%s" % self.db_path,
                      "-device", "ivshmem-doorbell,chardev=db0,vectors=%d" % self.db_vectors]
        if self.sc.get("vm_disk"):
            extra += ["-drive", "file=%s,if=none,format=raw,id=vd0" % self.disk,
                      "-device", "virtio-blk-pci,drive=vd0,disable-legacy=on,num-queues=%d"
                      % self.sc["num_queues"]]
        append = "log=info ctl=%d vhost=%s %s %s" % (rs.CTL_PORT, entry, self.sc.get("svm_args", ""),
                                                     os.environ.get("UVTEST_SVM_ARGS", ""))
        self.vm = rs.UvhostVM(self.args.vm_image, append, extra, memory=VM_MEMORY,
                              echo=self.args.console)
        self.vm.start()
        try:
            self.vm.wait_for(r"ready in (\d+) ms", 90)
        except rs.TestFailure as e:
            raise ri.Fail("service VM did not boot: %s; console:\n  %s"
                          % (e, "\n  ".join(self.vm.lines[-20:])))
        wins = [ln for ln in self.vm.lines if re.search(r"ivshmem|window", ln)]
        ri.story("host", "service VM up (%s, vhost=%s); %s"
                 % (os.path.basename(self.args.vm_image), entry,
                    "; ".join(w.strip() for w in wins[:3]) or "no window lines"))
        self.procs.append(self.vm.proc)

    # ------------------------------------------------------ idle sample --
    def on_wait(self, tag):
        """notify.sh's idle spell: the service VM's loop over it."""
        if tag not in ("idle-start", "idle-end"):
            return super().on_wait(tag)
        c = LineClient(self.vsockdev.connect(rs.CTL_PORT))
        try:
            st = c.stats()
        finally:
            c.close()
        now = time.monotonic()
        if tag == "idle-start":
            self.idle0 = (now, st)
            return None
        t0, s0 = self.idle0
        wall = now - t0
        turns = st["sched_turns"] - s0["sched_turns"]
        busy_ns = st["sched_turn_ns_total"] - s0["sched_turn_ns_total"]
        irqs = st["vhost_doorbell_irqs"] - s0["vhost_doorbell_irqs"]
        ri.story("svm", "idle %.1f s: %.0f turns/s, %.1f%% of the time outside turns (WFI), "
                 "%d doorbell interrupts" % (wall, turns / wall, 100.0 - busy_ns / (wall * 1e7),
                                              irqs))
        return None

    # ---------------------------------------------------------- gateway --
    def backend_argv(self):
        port, _ = self.listener()
        argv = [self.args.gw, "--socket-path", self.sock,
                "--vsock", "%s:%d" % (self.vsockdev.uds_path, port)]
        for i, path, _ in self.windows():
            argv += ["--window", "%d=%s" % (i, path)]
        if self.db_path:
            argv += ["--doorbell", self.db_path]
        if self.args.poll_kicks:
            argv.append("--poll-kicks")
        if not self.args.no_trace:
            argv.append("-v")
        return argv

    def start_backend(self):
        if self.vm is not None:
            super().start_backend()
            return
        if not self.db_path:
            self.start_service_vm()
            super().start_backend()
            return
        # Doorbells: the gateway is the ivshmem server the VM's QEMU waits
        # for, so it starts first; it listens for the VMM once the VM is up
        # (backend_spawned boots the VM in between).
        self.start_windows_and_vsock()
        super().start_backend()

    def backend_spawned(self):
        if not self.db_path or self.vm is not None:
            return
        deadline = time.monotonic() + 15
        while not os.path.exists(self.db_path) and time.monotonic() < deadline:
            if self.backend.poll() is not None:
                break
            time.sleep(0.02)
        if not os.path.exists(self.db_path):
            raise ri.Fail("uvhost-gw did not create its doorbell socket %s" % self.db_path)
        self.boot_service_vm()

    # ------------------------------------------------------------- qemu --
    def qemu_argv(self):
        argv = super().qemu_argv()
        i = argv.index("-object")
        argv[i + 1] = ("memory-backend-file,id=mem,size=%d,mem-path=%s,share=on"
                       % (GUEST_RAM, self.mem_path))
        return argv

    # ------------------------------------------------------------- demo --
    def demo_commands(self):
        """The three processes that serve the guest, before its QEMU."""
        out = ["    $ truncate -s %dM %s   # guest RAM = the service VM's window %d" % (
            size // ri.MiB, path, i) for i, path, size in self.windows()]
        if self.vsockdev is not None:
            out += ri.shell_cmd(self.vsockdev.argv, self)
        if self.vm is not None:
            out += ri.shell_cmd(self.vm.argv, self)
        return out

    def demo_sections(self):
        """Section 2 of the demo: what crossed the gateway, and what the
        service VM did with it."""
        text = open(self.gw_log, errors="replace").read() if os.path.exists(self.gw_log) else ""
        names = {}
        for m in re.finditer(r"<- ([A-Z_]+)", text):
            names[m.group(1)] = names.get(m.group(1), 0) + 1
        fe = self.frontend_counts()
        agree = "QEMU's own trace agrees" if names == fe else "QEMU's trace: %s" % fe
        out = ["2. What uvhost-gw relayed (%d vhost-user messages from QEMU; %s)"
               % (sum(names.values()), agree)]
        out.append("    " + ", ".join("%s x%d" % kv for kv in
                                      sorted(names.items(), key=lambda kv: -kv[1])))
        for m in re.finditer(r"<- (ADD_MEM_REG|SET_MEM_TABLE) (gpa=\S+ size=\S+) fd offset "
                             r"(\S+) -> (window \d+ offset \S+)", text):
            out.append("    %s %s at file offset %s  ->  %s" % m.groups())
        for m in re.finditer(r"session \d+ ended \(([^)]*)\): .*?(\d+) kicks, (\d+) calls, "
                             r"(\d+) errs, (\d+) config changes.*?; relay round trip mean "
                             r"(\d+) us max (\d+) us", text):
            out.append("    notifications: %s kicks in-band to the VM, %s calls back to QEMU's "
                       "eventfds; control round trip through the VM: mean %s us, max %s us"
                       % (m.group(2), m.group(3), m.group(6), m.group(7)))
        out.append("    data: none of it: the guest's rings and buffers are read and written by "
                   "the service VM in window 0")
        if self.vm is not None:
            self.vm.drain()
            keep = [ln.strip() for ln in self.vm.lines
                    if re.search(r"ready in|window \d+:|vhost \d+|vhost:", ln)]
            out.append("3. What the service VM logged (its console, log=info)")
            out += ["    " + ln for ln in keep[:18]]
            if len(keep) > 18:
                out.append("    ... %d more lines" % (len(keep) - 18))
        return out

    # ----------------------------------------------------------- checks --
    def verify_disk(self):
        if self.sc.get("vm_disk"):
            return super().verify_disk()  # the image holds what the guest wrote
        if self.sc["device"] == "blk":
            ri.story("host", "the disk is the service VM's RAM disk: %d range(s) verified by "
                     "the guest's read-back (no host image to re-check)" % len(self.data))

    def check_protocol(self):
        super().check_protocol()
        text = open(self.gw_log, errors="replace").read() if os.path.exists(self.gw_log) else ""
        sessions = re.findall(r"session \d+ ended \([^)]*\): (\d+) messages from the VMM, "
                              r"(\d+) relayed, (\d+) refused, (\d+) regions as windows, "
                              r"(\d+) kicks, (\d+) calls", text)
        for s in sessions:
            ri.story("host", "uvhost-gw session: %s messages from QEMU, %s relayed, %s refused, "
                     "%s regions as windows, %s kicks, %s calls" % s)
        db_calls = [int(n) for n in re.findall(r"(\d+) doorbell calls", text)]
        if not sessions:
            self.host_failures.append("uvhost-gw logged no session summary")
        elif self.db_path:
            # Calls go from the VM's doorbell straight to QEMU's call
            # eventfd: the gateway only wired them.
            if not any(db_calls):
                self.host_failures.append("no call eventfd was wired as a doorbell")
        elif not any(int(s[5]) > 0 for s in sessions):
            self.host_failures.append("no call went through the gateway")
        if self.vm is not None:
            self.vm.drain()
            errs = [ln for ln in self.vm.lines if re.search(r"\] E: |PANIC|CRASH", ln)]
            mapped = [ln for ln in self.vm.lines if "region" in ln and "window" in ln]
            for ln in mapped[:6]:
                ri.story("svm", ln.strip())
            if errs:
                self.host_failures.append("service VM errors: %s" % errs[:3])
            self.check_notifications()

    def check_notifications(self):
        """The VM's own counters: doorbells used, and nothing in-band, with
        --doorbell; in-band and no doorbell without."""
        try:
            c = LineClient(self.vsockdev.connect(rs.CTL_PORT))
            try:
                st = c.stats()
            finally:
                c.close()
        except Exception as e:  # a VM that cannot answer is a failure
            self.host_failures.append("service VM control stats: %s" % e)
            return
        keys = ("vhost_doorbell_irqs", "vhost_doorbell_rings", "vhost_inband_kicks",
                "vhost_inband_calls")
        missing = [k for k in keys if k not in st]
        if missing:
            self.host_failures.append("service VM stats lack %s" % missing)
            return
        ri.story("svm", "notifications: " + ", ".join("%s %d" % (k, st[k]) for k in keys))
        self.vm_stats = st
        if self.db_path:
            for k in ("vhost_doorbell_irqs", "vhost_doorbell_rings"):
                if st[k] <= 0:
                    self.host_failures.append("doorbells on, but %s = %d" % (k, st[k]))
            for k in ("vhost_inband_kicks", "vhost_inband_calls"):
                if st[k] != 0:
                    self.host_failures.append("doorbells on, but %s = %d" % (k, st[k]))
        elif st["vhost_doorbell_rings"] != 0:
            self.host_failures.append("no doorbell device, but vhost_doorbell_rings = %d"
                                      % st["vhost_doorbell_rings"])
        if "disk_bounce_kib" in self.sc.get("svm_args", ""):
            # The guest wrote and read 32 MiB: all of it went through the pool.
            bounced = st.get("vdisk_bounced_bytes", 0)
            ri.story("svm", "vdisk_bounced_bytes %d" % bounced)
            if bounced < 64 << 20:
                self.host_failures.append("disk_bounce_kib set, but vdisk_bounced_bytes = %d"
                                          % bounced)

    def cleanup(self, success):
        if not success and self.vm is not None:
            self.vm.drain()
            print("---- service VM console (last 30 lines) ----")
            for ln in self.vm.lines[-30:]:
                print("  " + ln)
        super().cleanup(success)
        if self.vm is not None:
            self.vm.stop()
        if self.vsockdev is not None:
            self.vsockdev.stop()
