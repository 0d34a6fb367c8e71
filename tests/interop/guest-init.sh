#!/bin/sh
# /init of the uvhost interop-test initramfs (busybox).
#
# Kernel command line parameters read here:
#   uvtest=NAME      run /tests/NAME.sh (required)
#   uvmods=a,b,...   extra kernel modules to modprobe (e.g. vsock ones)
#   uvtimeout=SECS   guest-side time limit for the test script (default 600)
# Every uv*=VALUE parameter is exported to the test script as a shell
# variable of the same name.
#
# Console protocol (parsed by tests/interop/run_interop.py):
#   UVTEST-LOG: text         progress story
#   UVTEST-WAIT tag          guest asks the host to do something (hotadd,
#                            hotdel, kill, resize)
#   UVTEST-DATA sha256 OFF LEN HASH   host re-checks the disk image
#   UVTEST-RESULT: PASS | FAIL reason   last line, then power-off
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
exec </dev/console >/dev/console 2>&1

finish() {
    echo "UVTEST-RESULT: $*"
    sync
    poweroff -f
    sleep 5
    echo o >/proc/sysrq-trigger
}

uvtest=""
uvmods=""
uvtimeout=600
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        uv*=*)
            name="${arg%%=*}"
            case "$name" in
                *[!a-z0-9_]*) continue ;;
            esac
            eval "$name=\"\${arg#*=}\""
            # shellcheck disable=SC2163  # export the variable named by $name
            export "$name"
            ;;
    esac
done

echo "UVTEST-LOG: guest up: kernel $(uname -r), $(nproc) cpus, test '$uvtest'"

# Modules: virtio-pci transport and the drivers the tests use.  Built-in
# ones are simply not in modules.dep and are skipped.
moddep="/lib/modules/$(uname -r)/modules.dep"
loaded=""
for m in virtio_pci virtio_blk virtio_rng $(echo "$uvmods" | tr ',' ' '); do
    alt=$(echo "$m" | tr '_' '-')
    if [ -f "$moddep" ] && grep -qE "/($m|$alt)\.ko:" "$moddep"; then
        if modprobe "$m"; then
            loaded="$loaded $m"
        else
            echo "UVTEST-LOG: modprobe $m failed"
        fi
    fi
done
[ -n "$loaded" ] && echo "UVTEST-LOG: modules loaded:$loaded"

case "$uvtest" in
    "" | *[!a-z0-9_]*) finish "FAIL no valid uvtest= on the kernel command line" ;;
esac
[ -f "/tests/$uvtest.sh" ] || finish "FAIL no guest script /tests/$uvtest.sh"

rm -f /run/uvtest-reason
timeout "$uvtimeout" sh "/tests/$uvtest.sh"
rc=$?
if [ "$rc" -eq 0 ]; then
    finish "PASS"
elif [ -s /run/uvtest-reason ]; then
    finish "FAIL $(head -n1 /run/uvtest-reason)"
elif [ "$rc" -eq 143 ] || [ "$rc" -eq 137 ]; then
    finish "FAIL guest test timed out after ${uvtimeout}s"
else
    finish "FAIL /tests/$uvtest.sh exited with status $rc"
fi
