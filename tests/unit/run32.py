#!/usr/bin/env python3
"""run32.py PROGRAM: run one i386 unit-test program of the -m32 tree (build/host32).

Natively when the kernel runs 32-bit x86 programs (CONFIG_IA32_EMULATION);
on a kernel without it (some cloud and microVM kernels) under qemu-i386 from
Debian's qemu-user, which runs the same binary with the same libraries. Under
qemu-user LeakSanitizer cannot stop the world (no ptrace of the emulated
threads) and would hang at exit, so leak checking is left to the native runs
(the 64-bit asan_* tests check every leak); ASan's memory checks and UBSan
still run. A missing program or a missing qemu-i386 is a failure, never a
skip. Exit status: the program's.
"""
import errno
import os
import shutil
import sys


def main():
    prog = sys.argv[1]
    if not os.path.isfile(prog):
        print("FAIL: no %s (make builds build/host32: cmake --preset host32)" % prog)
        return 1
    try:
        os.execv(prog, [prog])
    except OSError as e:
        if e.errno != errno.ENOEXEC:
            print("FAIL: cannot run %s: %s" % (prog, e))
            return 1
    qemu = shutil.which("qemu-i386")
    if not qemu:
        print("FAIL: this kernel cannot run i386 programs and qemu-i386 is missing "
              "(apt-get install qemu-user; scripts/setup.sh does)")
        return 1
    env = dict(os.environ)
    opts = [o for o in env.get("ASAN_OPTIONS", "").split(":")
            if o and not o.startswith("detect_leaks=")]
    env["ASAN_OPTIONS"] = ":".join(opts + ["detect_leaks=0"])
    sys.stdout.flush()
    os.execve(qemu, [qemu, prog], env)
    return 1


if __name__ == "__main__":
    sys.exit(main())
