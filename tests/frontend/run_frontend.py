#!/usr/bin/env python3
"""Run uvhost-bench --verify against a vhost-user-blk back-end in several
configurations and fail on any error, verify mismatch or protocol failure.

  run_frontend.py uvhostd --bench B --uvhostd U   # uvhostd on a /dev/shm disk
  run_frontend.py qsd --bench B                   # qemu-storage-daemon 7.2
  run_frontend.py faults --bench B --uvhostd U    # verify catches uvhostd --fault
  run_frontend.py uring --bench B --uvhostd U     # --aio io_uring --direct, disk on ext4

Exit 0 when every case passed, 1 on a failure. qemu-storage-daemon missing
(qsd mode) is a failure too, or a skip (77) with UVTEST_ALLOW_SKIP=1
(tests/uvtest_env.py)."""
import argparse
import ctypes
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import platform
import struct
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import uvtest_env  # noqa: E402

DISK_BYTES = 32 << 20


def wait_socket(path, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"back-end exited with {proc.returncode}")
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                s.close()
                return
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.05)
    raise RuntimeError(f"{path} never accepted a connection")


class Backend:
    """One back-end process serving a fresh disk file on /dev/shm."""

    def __init__(self, argv, sock, log, preexec_fn=None):
        self.sock = sock
        self.log_path = log
        self.log = open(log, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=preexec_fn)
        wait_socket(sock, self.proc)

    def log_text(self):
        if not self.log.closed:  # stop() closes it; the file stays
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def start_uvhostd(args, tmp, disk, extra, preexec_fn=None):
    sock = os.path.join(tmp, "uvhostd.sock")
    argv = [args.uvhostd, "--socket-path", sock, "--disk", disk, "--num-queues", "4", "-v"]
    return Backend(argv + extra, sock, os.path.join(tmp, "uvhostd.log"), preexec_fn)


# A kernel without io_uring, for one process: a seccomp filter (installed in
# the child before exec) that answers io_uring_setup with ENOSYS, as a
# kernel built without it, or with kernel.io_uring_disabled=2, does.
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
NR_IO_URING_SETUP = 425  # the same number on every architecture
ENOSYS = 38


def without_io_uring():
    arch = AUDIT_ARCH[platform.machine()]

    def insn(code, jt, jf, k):
        return struct.pack("=HBBI", code, jt, jf, k)

    prog = b"".join((
        insn(0x20, 0, 0, 4),                    # ld [arch]
        insn(0x15, 0, 3, arch),                 # jeq arch ? next : allow
        insn(0x20, 0, 0, 0),                    # ld [nr]
        insn(0x15, 0, 1, NR_IO_URING_SETUP),    # jeq io_uring_setup ? next : allow
        insn(0x06, 0, 0, 0x00050000 | ENOSYS),  # ret ERRNO(ENOSYS)
        insn(0x06, 0, 0, 0x7FFF0000),           # ret ALLOW
    ))
    buf = ctypes.create_string_buffer(prog, len(prog))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Fprog(len(prog) // 8, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)

    def install(keep=buf):  # the filter must outlive this factory
        if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0):
            os.write(2, b"seccomp: cannot install the io_uring filter\n")
            os._exit(126)  # PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP(FILTER) refused
    return install


def start_qsd(args, tmp, disk, extra):
    sock = os.path.join(tmp, "qsd.sock")
    argv = ["qemu-storage-daemon",
            "--blockdev", f"driver=file,filename={disk},node-name=d0",
            "--export", "type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,"
            f"addr.path={sock},writable=on,num-queues=4"]
    return Backend(argv + extra, sock, os.path.join(tmp, "qsd.log"))


def run_bench(args, sock, opts):
    argv = [args.bench, "--socket", sock, "--verify", "--json", "--quiet", "--time",
            str(args.time)] + opts
    print("$ " + " ".join(argv), flush=True)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        raise RuntimeError(f"uvhost-bench exited {p.returncode}")
    res = json.loads(p.stdout)
    print(f"  iops {res['iops']:.0f} p99 {res['lat_p99_us']:.1f} us, "
          f"ADD {res['add_mem_reg']} REM {res['rem_mem_reg']} "
          f"SET_MEM_TABLE {res['set_mem_table']}", flush=True)
    if res["errors"] or res["mismatches"] or res["ios"] == 0:
        raise RuntimeError(f"bad result {res}")
    return res


def run_bench_faulty(args, sock, opts):
    """uvhost-bench --verify against a back-end that lies: it must exit 1 and
    say FAILED verify. Returns (stderr, the JSON report)."""
    argv = [args.bench, "--socket", sock, "--verify", "--json", "--quiet", "--time",
            str(args.time)] + opts
    print("$ " + " ".join(argv), flush=True)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    sys.stderr.write("".join(p.stderr.splitlines(True)[:4]))
    check(p.returncode == 1, f"uvhost-bench exited {p.returncode}, not 1: verify was fooled")
    check("FAILED verify" in p.stderr, "uvhost-bench did not say FAILED verify")
    return p.stderr, json.loads(p.stdout)


def fault_hits(be, kind):
    """Stop the back-end and read how often its --fault fired."""
    be.stop()
    m = re.search(r"--fault %s hit (\d+) of (\d+) reads and (\d+) writes" % kind,
                  be.log_text())
    check(m, f"uvhostd did not report its --fault {kind} hits")
    hits = int(m.group(1))
    check(hits > 0, f"--fault {kind} never fired: the case proves nothing")
    return hits


def fault_cases(args, tmp, disk):
    """uvhostd --fault (tests only) lies in three ways; uvhost-bench --verify
    must catch every lie, name the request and exit 1; without a fault the
    same runs pass. Counts are compared with uvhostd's own tally of the lies
    it told, so a verifier that catches only some of them fails here too."""
    small = ["--size", "1M", "--rw", "randread"]

    def fresh(extra):
        with open(disk, "wb") as f:
            f.truncate(DISK_BYTES)
        return start_uvhostd(args, tmp, disk, extra)

    be = fresh([])
    try:
        run_bench(args, be.sock, small)
        run_bench(args, be.sock, ["--size", "4096", "--qd", "1"])
    finally:
        be.stop()

    # Every 16th write is not stored: the block still holds zeroes when the
    # check phase reads it back.
    be = fresh(["--fault", "drop-writes"])
    try:
        err, r = run_bench_faulty(args, be.sock, small)
    finally:
        hits = fault_hits(be, "drop-writes")
    check(re.search(r"read sector \d+ len 4096: data differs from version 1 at byte 0: "
                    r"expected 0x[0-9a-f]{16}, got 0x0{16}$", err, re.M),
          "drop-writes: no message naming the read that found zeroes")
    check(r["mismatches"] >= hits and r["errors"] == 0,
          f"drop-writes: {hits} writes dropped, {r['mismatches']} mismatches")

    # Every 16th read fills only the first half: the second half must still
    # hold the poison uvhost-bench put there, and each such read is caught.
    be = fresh(["--fault", "short-read"])
    try:
        err, r = run_bench_faulty(args, be.sock, small)
    finally:
        hits = fault_hits(be, "short-read")
    check(re.search(r"read sector \d+ len 4096: data differs from version 1 at byte 2048: "
                    r".*\(our poison: the back-end never wrote it\)", err),
          "short-read: no message naming the read and its untouched half")
    check(r["mismatches"] == hits and r["errors"] == 0,
          f"short-read: {hits} short reads, {r['mismatches']} mismatches")

    # A one-block disk read by one request slot: its buffer holds exactly
    # the expected data from the fill, so only the poison can catch reads
    # that fill half the buffer (every one, here).
    be = fresh(["--fault", "short-read:1"])
    try:
        err, r = run_bench_faulty(args, be.sock, ["--size", "4096", "--qd", "1"])
    finally:
        hits = fault_hits(be, "short-read")
    check(r["mismatches"] == hits, f"short-read:1: {hits} short reads, "
          f"{r['mismatches']} mismatches")

    # Every 16th read or write fails: each is an IOERR status, reported.
    be = fresh(["--fault", "bad-status"])
    try:
        err, r = run_bench_faulty(args, be.sock, small)
    finally:
        hits = fault_hits(be, "bad-status")
    check(re.search(r"(read|write) sector \d+ len 4096: status 1 \(IOERR\), expected 0 "
                    r"\(OK\)", err), "bad-status: no message naming the failed request")
    check(r["errors"] == hits, f"bad-status: {hits} IOERRs, {r['errors']} errors")

    # A null disk stores nothing and leaves read buffers alone: a one-block
    # run whose buffer already holds the data must still fail.
    sock = os.path.join(tmp, "null.sock")
    be = Backend([args.uvhostd, "--socket-path", sock, "--null-size", "1M"], sock,
                 os.path.join(tmp, "null.log"))
    try:
        err, r = run_bench_faulty(args, be.sock, ["--size", "4096", "--qd", "1"])
        check("(our poison: the back-end never wrote it)" in err,
              "null disk: the reads were not reported as never written")
    finally:
        be.stop()

    # Unknown faults and fault counts are refused before serving.
    for bad, want in ((["--fault", "flip-bits"], "unknown --fault 'flip-bits'"),
                      (["--fault", "short-read:0"], "--fault N must be"),
                      (["--fault", "drop-writes:x"], "--fault N must be")):
        p = subprocess.run([args.uvhostd, "--socket-path", os.path.join(tmp, "no.sock"),
                            "--disk", disk] + bad, capture_output=True, text=True, timeout=10)
        check(p.returncode == 2 and want in p.stderr,
              f"uvhostd {' '.join(bad)}: exit {p.returncode}, stderr {p.stderr!r}")
    p = subprocess.run([args.uvhostd, "--socket-path", os.path.join(tmp, "no.sock"),
                        "--device", "rng", "--fault", "bad-status"],
                       capture_output=True, text=True, timeout=10)
    check(p.returncode == 2 and "are for --device blk" in p.stderr, "--fault with rng")
    p = subprocess.run([args.uvhostd, "--help"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 0 and re.search(r"--fault KIND\[:N\] +FOR TESTING ONLY", p.stdout),
          "uvhostd --help does not list --fault as for testing only")
    print("  every fault caught, bad --fault values refused", flush=True)


def check(cond, what):
    if not cond:
        raise RuntimeError(what)


def uvhostd_cases(args, tmp, disk):
    be = start_uvhostd(args, tmp, disk, [])
    try:
        run_bench(args, be.sock, [])
        run_bench(args, be.sock, ["--rw", "write", "--num-queues", "4"])
        r = run_bench(args, be.sock, ["--rw", "randwrite", "--num-queues", "4", "--slots", "32"])
        check(r["add_mem_reg"] == 32 and r["regions"] == 32, "32 regions by ADD_MEM_REG")
        r = run_bench(args, be.sock, ["--rw", "randwrite", "--slots", "8", "--churn", "50"])
        check(r["rem_mem_reg"] > 10 and r["add_mem_reg"] > 18, "churn sent ADD and REM")
        run_bench(args, be.sock, ["--rw", "randwrite", "--poll", "--num-queues", "4"])
        run_bench(args, be.sock, ["--rw", "read", "--poll", "--slots", "32", "--churn", "50"])
        r = run_bench(args, be.sock, ["--rw", "randread", "--slots", "509", "--qd", "64",
                                      "--num-queues", "2"])
        check(r["add_mem_reg"] == 509, "509 regions")
        # The upper half of the regions goes and comes back while I/O runs
        # on the lower half; every region still carries I/O.
        r = run_bench(args, be.sock, ["--rw", "randwrite", "--slots", "16", "--qd", "16",
                                      "--half-churn", "20"])
        check(r["half_rems"] >= 2 and r["half_adds"] >= 2 and r["regions_with_io"] == 16,
              f"half-churn: {r['half_rems']} removals, {r['half_adds']} re-adds, "
              f"I/O in {r['regions_with_io']} regions")
        log = be.log_text()
        check("<- REM_MEM_REG" in log and "<- ADD_MEM_REG" in log, "uvhostd saw ADD/REM")
        check("<- SET_MEM_TABLE" not in log, "no SET_MEM_TABLE with CONFIGURE_MEM_SLOTS")
    finally:
        be.stop()
    # Without CONFIGURE_MEM_SLOTS the front-end must fall back to SET_MEM_TABLE.
    be = start_uvhostd(args, tmp, disk, ["--no-mem-slots"])
    try:
        r = run_bench(args, be.sock, ["--rw", "randwrite", "--slots", "7", "--churn", "20",
                                      "--num-queues", "2"])
        check(r["set_mem_table"] > 5 and r["add_mem_reg"] == 0, "SET_MEM_TABLE fallback")
        log = be.log_text()
        check("<- SET_MEM_TABLE nregions=7" in log and "<- SET_MEM_TABLE nregions=8" in log,
              "uvhostd log shows SET_MEM_TABLE with 7 and 8 regions")
        check("<- ADD_MEM_REG" not in log, "uvhostd saw no ADD_MEM_REG")
    finally:
        be.stop()
    # The front-end may decline CONFIGURE_MEM_SLOTS itself.
    be = start_uvhostd(args, tmp, disk, [])
    try:
        r = run_bench(args, be.sock, ["--rw", "randwrite", "--slots", "8", "--no-mem-slots"])
        check(r["set_mem_table"] == 1 and r["add_mem_reg"] == 0, "bench --no-mem-slots")
    finally:
        be.stop()
    bad_command_lines(args, tmp)


def bad_command_lines(args, tmp):
    """Every refused combination exits 2 with a message, before connecting."""
    w = os.path.join(tmp, "window")
    with open(w, "wb") as f:
        f.truncate(1 << 20)
    cases = [
        ([], "usage: uvhost-bench"),
        (["--socket", "x", "--vsock", "p:5000", "--window-file", w], "exactly one"),
        (["--vsock", "p:5000"], "needs at least one --window-file"),
        (["--vsock", "nocolon", "--window-file", w], "PATH:PORT"),
        (["--vsock", "p:4294967295", "--window-file", w], "--vsock PORT must be"),
        (["--vsock", "p:5", "--window-file", w, "--window-file", "0=" + w], "given twice"),
        (["--vsock", "p:5", "--window-file", "16777216=" + w], "--window-file N must be"),
        (["--socket", "x", "--window-file", w], "go with --vsock"),
        (["--socket", "x", "--vm-ram-file", w], "go with --vsock"),
        (["--socket", "x", "--inband-kick"], "go with --vsock"),
        (["--vsock", "p:5", "--window-file", w, "--no-inband", "--inband-kick"],
         "exclude each other"),
        (["--socket", "x", "--churn", "1", "--half-churn", "1"], "exclude each other"),
        (["--socket", "x", "--half-churn", "1"], "needs --slots 2"),
        (["--socket", "x", "--no-mem-slots", "--slots", "9"], "at most 8 regions"),
        (["--socket", "x", "--backend-port", "0"], "--backend-port must be"),
    ]
    for argv, want in cases:
        p = subprocess.run([args.bench] + argv, capture_output=True, text=True, timeout=10)
        check(p.returncode == 2 and want in p.stderr,
              f"uvhost-bench {' '.join(argv)}: exit {p.returncode}, stderr {p.stderr!r}")
    print(f"  {len(cases)} bad command lines refused with exit 2", flush=True)


def qsd_cases(args, tmp, disk):
    be = start_qsd(args, tmp, disk, [])
    try:
        run_bench(args, be.sock, [])
        run_bench(args, be.sock, ["--rw", "write", "--num-queues", "4"])
        r = run_bench(args, be.sock, ["--rw", "randwrite", "--num-queues", "4", "--slots", "32"])
        check(r["add_mem_reg"] == 32, "32 regions by ADD_MEM_REG")
        r = run_bench(args, be.sock, ["--rw", "randwrite", "--slots", "31", "--churn", "50"])
        check(r["rem_mem_reg"] > 10, "churn sent REM")
        # libvhost-user never polls a NOFD kick, but a NOFD call is fine:
        # here only the eventfd mode is meaningful.
        run_bench(args, be.sock, ["--rw", "randread", "--num-queues", "4", "--qd", "8"])
    finally:
        be.stop()


def direct_disk_dir(tmp):
    """A directory whose file system takes O_DIRECT (tmpfs does not): the
    build directory, else /var/tmp. None if neither does."""
    for d in (os.getcwd(), "/var/tmp"):
        probe = os.path.join(d, f"uvfe-probe-{os.getpid()}")
        try:
            with open(probe, "wb") as f:
                f.truncate(4096)
            fd = os.open(probe, os.O_RDWR | os.O_DIRECT)
            os.close(fd)
            return d
        except OSError:
            pass
        finally:
            if os.path.exists(probe):
                os.unlink(probe)
    return None


def uring_cases(args, tmp, _shm_disk):  # same signature as the other modes
    """uvhostd --aio io_uring --direct on a file on a real file system, 1
    and 4 queues, every read verified; then the refusals of bad values."""
    d = direct_disk_dir(tmp)
    check(d is not None, "no directory here takes O_DIRECT (cwd, /var/tmp): cannot test "
          "--direct (tmpfs has no O_DIRECT)")
    disk = os.path.join(d, f"uvfe-uring-{os.getpid()}.img")
    with open(disk, "wb") as f:
        f.truncate(DISK_BYTES)
    try:
        for nq in ("1", "4"):
            # The last --num-queues wins over start_uvhostd's 4.
            be = start_uvhostd(args, tmp, disk, ["--aio", "io_uring", "--direct",
                                                 "--num-queues", nq])
            try:
                log = be.log_text()
                check(f"--aio io_uring, {nq} ring(s), O_DIRECT" in log,
                      f"uvhostd did not say it serves io_uring + O_DIRECT: {log!r}")
                run_bench(args, be.sock, ["--rw", "randwrite", "--num-queues", nq, "--qd", "32"])
                run_bench(args, be.sock, ["--rw", "randread", "--num-queues", nq, "--qd", "1"])
                run_bench(args, be.sock, ["--rw", "read", "--num-queues", nq, "--qd", "32",
                                          "--bs", "65536"])
                run_bench(args, be.sock, ["--rw", "randwrite", "--num-queues", nq, "--qd", "256",
                                          "--bs", "512"])
                run_bench(args, be.sock, ["--rw", "randwrite", "--num-queues", nq, "--qd", "8",
                                          "--churn", "50", "--slots", "8"])
            finally:
                be.stop()
        sock = os.path.join(tmp, "no.sock")
        for bad, want in ((["--aio", "posix"], "unknown --aio 'posix' (io_uring or sync)"),
                          (["--aio", "sync", "--direct"], "--direct needs --aio io_uring"),
                          (["--aio", "io_uring", "--fault", "bad-status"],
                           "--fault works on --aio sync only")):
            p = subprocess.run([args.uvhostd, "--socket-path", sock, "--disk", disk] + bad,
                               capture_output=True, text=True, timeout=10)
            check(p.returncode == 2 and want in p.stderr,
                  f"uvhostd {' '.join(bad)}: exit {p.returncode}, stderr {p.stderr!r}")
        p = subprocess.run([args.uvhostd, "--socket-path", sock, "--ram-size", "1M", "--direct"],
                           capture_output=True, text=True, timeout=10)
        check(p.returncode == 2 and "are for --device blk --disk FILE" in p.stderr,
              f"--direct with --ram-size: exit {p.returncode}, stderr {p.stderr!r}")
        no_uring_fallback(args, tmp, disk)
        p = subprocess.run([args.uvhostd, "--print-capabilities"], capture_output=True,
                           text=True, timeout=10)
        caps = json.loads(p.stdout)
        check("aio-io_uring" in caps["features"] and "direct" in caps["features"],
              f"--print-capabilities: {caps}")
        p = subprocess.run([args.uvhostd, "--help"], capture_output=True, text=True, timeout=10)
        check(p.returncode == 0 and "--aio io_uring|sync" in p.stdout and "--direct" in p.stdout,
              "uvhostd --help does not document --aio and --direct")
        print("  io_uring + O_DIRECT verified at 1 and 4 queues; bad values refused", flush=True)
    finally:
        os.unlink(disk)


def no_uring_fallback(args, tmp, disk):
    """On a kernel without io_uring (seccomp here), the default and an
    explicit --aio io_uring --direct both fall back to sync with one clear
    line, and the data is still right."""
    for extra in ([], ["--aio", "io_uring", "--direct"]):
        be = start_uvhostd(args, tmp, disk, extra + ["--num-queues", "2"], without_io_uring())
        try:
            log = be.log_text()
            want = ("uvhostd: io_uring unavailable (io_uring_queue_init: Function not "
                    "implemented); falling back to --aio sync"
                    + (" without --direct" if extra else ""))
            check(want in log, f"uvhostd {' '.join(extra)} without io_uring: {log!r}")
            check("ring(s)" not in log, f"uvhostd claims io_uring without it: {log!r}")
            run_bench(args, be.sock, ["--rw", "randwrite", "--num-queues", "2", "--qd", "8"])
        finally:
            be.stop()
        check(be.proc.returncode == 0, f"uvhostd exited {be.proc.returncode} on SIGTERM")
    print("  without io_uring: sync fallback said once, data verified", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["uvhostd", "qsd", "faults", "uring"])
    ap.add_argument("--bench", required=True)
    ap.add_argument("--uvhostd")
    ap.add_argument("--time", type=float, default=2)
    args = ap.parse_args()
    if args.mode == "qsd" and not shutil.which("qemu-storage-daemon"):
        status, why = uvtest_env.cannot_run("qemu-storage-daemon is not installed")
        print(("SKIP: " if status == uvtest_env.EXIT_SKIP else "FAIL: ") + why)
        return status
    if args.mode in ("uvhostd", "faults", "uring") and not args.uvhostd:
        ap.error("--uvhostd is required")
    tmp = tempfile.mkdtemp(prefix="uvfe-")
    disk = f"/dev/shm/uvfe-{os.getpid()}.img"
    with open(disk, "wb") as f:
        f.truncate(DISK_BYTES)
    try:
        cases = {"uvhostd": uvhostd_cases, "qsd": qsd_cases, "faults": fault_cases,
                 "uring": uring_cases}
        cases[args.mode](args, tmp, disk)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
        print(f"FAIL: {e}")
        for name in os.listdir(tmp):
            if name.endswith(".log"):
                with open(os.path.join(tmp, name)) as f:
                    print(f"--- {name} (tail)\n" + "".join(f.readlines()[-30:]))
        return 1
    finally:
        os.unlink(disk)
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
