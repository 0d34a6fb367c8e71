"""uvtest_env.py - whether a test that cannot run here may call it a skip.

Owns: the one rule the system, interop and front-end rigs share. A test
whose environment lacks something it needs (qemu-system-*, the guest
kernel and initramfs, the service-VM image, qemu-storage-daemon, a back-end
that can serve the scenario) FAILS: `make check` runs scripts/setup.sh,
which installs all of it, so a missing piece is a broken setup, not a
reason to pass. Only when the caller asks for it with UVTEST_ALLOW_SKIP=1
does the rig exit 77, which ctest (SKIP_RETURN_CODE 77) reports as
skipped, still counted in "N tests" but listed as not run.
Never: decides what a test needs (each rig checks that), and never turns a
test that ran and failed into a skip.
Used by: tests/interop/run_interop.py, tests/system/run_system.py,
tests/frontend/run_frontend.py.
"""
import os

EXIT_FAIL, EXIT_SKIP = 1, 77
ALLOW_SKIP_VAR = "UVTEST_ALLOW_SKIP"


def skip_allowed():
    """True only for UVTEST_ALLOW_SKIP=1 exactly: an empty, "0" or
    misspelt value must not quietly weaken make check."""
    return os.environ.get(ALLOW_SKIP_VAR) == "1"


def cannot_run(why):
    """(exit status, one-line reason) for a test that cannot run: a skip
    with UVTEST_ALLOW_SKIP=1, a failure otherwise."""
    if skip_allowed():
        return EXIT_SKIP, "cannot run: %s (skipped: %s=1)" % (why, ALLOW_SKIP_VAR)
    return EXIT_FAIL, ("cannot run: %s. make check's setup (scripts/setup.sh) installs "
                       "everything these tests need, so this is a failure; set %s=1 to "
                       "report it as a skip instead" % (why, ALLOW_SKIP_VAR))
