"""`make demo`, first half: the service VM's whole story on one screen.

The unikernel boots under QEMU (aarch64 virt, TCG) with uvhostd as its
virtio-vsock device and two ivshmem windows; the host checks the windows
through the control service; then uvhost-bench, the library's front-end
over the fd-less hybrid-vsock transport, connects to the VM's vhost-user
blk listener, hot-adds 64 memory regions spread over both windows, removes
and re-adds half of them while verified I/O runs, and measures throughput.

Called by run_system.py (--demo) with that module as `rs`.
"""
import json
import re
import shlex
import subprocess

BLK_PORT = 5000
RNG_PORT = 5001
WINDOW = 2 << 20
# Console lines worth showing from the boot, by prefix after the level.
BOOT_LINES = (r"uvhost service VM", r"I: cpu", r"I: ram", r"I: window \d", r"I: vsock: guest",
              r"I: vhost: ", r"I: budget: ", r"I: ready in")
# The service VM's static memory with the demo's listeners (image plus every
# pool set up at boot, RAM disks excluded): the footprint target.
MEM_STATIC_MAX = 1 << 20


def section(title):
    print("\n== %s %s" % (title, "=" * max(0, 72 - len(title))))


def run_bench(rs, args, dev, windows, extra):
    cmd = [args.bench, "--vsock", "%s:%d" % (dev.uds_path, BLK_PORT)]
    for w in windows:
        cmd += ["--window-file", w.path]
    cmd += extra
    print("  $ uvhost-bench --vsock %s:%d %s %s" % (dev.uds_path, BLK_PORT,
                                                  " ".join("--window-file " + w.path
                                                           for w in windows),
                                                  " ".join(extra)))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise rs.TestFailure("uvhost-bench exited %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
    return r.stdout


def run(args, rs):
    windows = [rs.ShmWindow("w0", WINDOW, 21), rs.ShmWindow("w1", WINDOW, 22)]
    try:
        with rs.vsock_vm(args, windows, echo=False,
                         append="log=info ctl=%d vhost=%d:blk:16M,%d:rng"
                         % (rs.CTL_PORT, BLK_PORT, RNG_PORT)) as (vm, dev):
            vm.drain(0.3)
            section("1. the service VM boots (QEMU aarch64 virt, TCG; console)")
            for ln in vm.lines:
                if any(re.search(p, ln) for p in BOOT_LINES):
                    print("  " + ln.strip())
            n_boot = len(vm.lines)

            section("2. control service over vsock (port %d)" % rs.CTL_PORT)
            c = rs.ctl(dev)
            print("  > version -> %s" % c.cmd("version"))
            for (i, base, size, crc), w in zip(c.windows(), windows):
                print("  > windows -> #%d at %#x, %d KiB, crc %08x; host file %s crc %08x: %s"
                      % (i, base, size >> 10, crc, w.path, w.crc,
                         "match" if crc == w.crc else "MISMATCH"))
                rs.check(crc == w.crc, "window %d differs from the host" % i)
            c.close()

            section("3. vhost-user over vsock: the library front-end, no fds")
            print("  negotiation: WINDOW_ADDR (bit 63), REPLY_ACK, CONFIGURE_MEM_SLOTS, "
                  "BACKEND_REQ, INBAND_NOTIFICATIONS\n  regions: mmap_offset = window << 40 "
                  "| offset; kicks NOFD (the VM polls), calls in-band")
            # Half-way, the control service asks the VM to announce a config
            # change: it arrives on the front-end's backend channel.
            with rs.ctl_later(dev, 2.0, "vhost %d config" % BLK_PORT) as asked:
                out = run_bench(rs, args, dev, windows, ["--slots", "64", "--qd", "64",
                                                         "--verify", "--time", "4",
                                                         "--half-churn", "2"])
            for ln in out.splitlines():
                print("    " + ln)
            print("  (control: > vhost %d config -> %s, while that ran)"
                  % (BLK_PORT, asked[0] if asked else "not sent"))
            vm.drain(0.3)
            session = vm.lines[n_boot:]
            mapped = [ln for ln in session if "mapped region" in ln and "unmapped" not in ln]
            unmapped = [ln for ln in session if "unmapped region" in ln]
            print("  the VM's console for that session (%d lines):" % len(session))
            for ln in session[:2]:
                print("    " + ln.strip())
            for what, lines in (("mapped", mapped), ("unmapped", unmapped)):
                if lines:
                    print("    %s  ... %d '%s region' lines in all"
                          % (lines[0].strip(), len(lines), what))
            for ln in session:
                if "disconnected" in ln:
                    print("    " + ln.strip())
            rs.check(len(mapped) >= 64 and unmapped, "the VM logged the hot-plug")

            section("4. throughput, the same front-end (4 KiB random reads, qd 32, 3 s)")
            out = run_bench(rs, args, dev, windows, ["--qd", "32", "--time", "3", "--json",
                                                 "--quiet"])
            res = json.loads(out.strip().splitlines()[-1])
            print("    %.0f IOPS, %.1f MiB/s, p50 %.0f us, p99 %.0f us, %d in-band calls"
                  % (res["iops"], res["mibps"], res["lat_p50_us"], res["lat_p99_us"],
                     res["vring_calls"]))

            st = rs.stats_now(dev)
            vm.drain()
            rs.check(0 < st.get("mem_static_bytes", 0) <= MEM_STATIC_MAX,
                     "mem_static_bytes %d, the target is at most %d"
                     % (st.get("mem_static_bytes", 0), MEM_STATIC_MAX))
            text, data, bss = rs.image_sizes(args.image)
            section("summary")
            print("  image      text %d, data %d, bss %d bytes (%s)" % (text, data, bss,
                                                                        args.image))
            print("  memory     mem_static_bytes %d (%d KiB; image plus every pool, RAM disk "
                  "excluded)" % (st["mem_static_bytes"], st["mem_static_bytes"] >> 10))
            print("  boot       ready in %d ms (guest clock), %d ms wall clock"
                  % (vm.ready_ms, vm.ready_wall_ms))
            print("  vhost      %d messages served, %d refused; sessions in use now %d of %d"
                  % (st.get("vhost_messages", 0), st.get("vhost_rejected", 0),
                     st.get("pool_vhost_sessions_used", 0),
                     st.get("pool_vhost_sessions_max", 0)))
            print("  I/O        verified, 64 regions over 2 windows, half removed and re-added "
                  "under load; %.0f IOPS (TCG)" % res["iops"])
            print("  vsock      %d packets in, %d out, %d protocol errors"
                  % (st["vsock_rx_packets"], st["vsock_tx_packets"], st["vsock_errors"]))
            print("  uvhostd    " + " ".join(shlex.quote(x) for x in dev.argv))
            print("  qemu       " + " ".join(shlex.quote(x) for x in vm.argv))
    finally:
        for w in windows:
            w.remove()
