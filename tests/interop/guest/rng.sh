# Guest part of interop_rng: read /dev/hwrng served by a virtio-rng device.
. /tests/lib.sh

HW=/sys/class/misc/hw_random
wait_for 20 grep -q virtio "$HW/rng_current" 2>/dev/null ||
    fail "no virtio hwrng (rng_available: '$(cat $HW/rng_available 2>/dev/null)', rng_current: '$(cat $HW/rng_current 2>/dev/null)')"
log "rng_current=$(cat $HW/rng_current), rng_available='$(cat $HW/rng_available)'"

KB=${uvkb:-64}
t=$(uptime_s)
dd if=/dev/hwrng of=/tmp/r1 bs=1024 count="$KB" iflag=fullblock status=none || fail "read from /dev/hwrng failed"
dt=$(since "$t")
dd if=/dev/hwrng of=/tmp/r2 bs=1024 count=4 iflag=fullblock status=none || fail "second read from /dev/hwrng failed"
size=$(wc -c </tmp/r1)
[ "$size" -eq $((KB * 1024)) ] || fail "short read from /dev/hwrng: $size bytes"
log "read $KB KiB from /dev/hwrng in ${dt}s"

dd if=/dev/zero of=/tmp/z bs=1024 count="$KB" status=none
cmp -s /tmp/r1 /tmp/z && fail "/dev/hwrng returned only zero bytes"
# random data does not compress; a repeating pattern does
gz=$(gzip -9 -c /tmp/r1 | wc -c)
[ "$gz" -ge $((size * 99 / 100)) ] || fail "hwrng data compresses to $gz of $size bytes: not random"
lines=$(od -An -tx1 -v -w16 /tmp/r1 | sort -u | wc -l)
[ "$lines" -eq $((size / 16)) ] || fail "hwrng data has repeated 16-byte blocks ($lines distinct of $((size / 16)))"
head -c 4096 /tmp/r1 | cmp -s - /tmp/r2 && fail "two reads from /dev/hwrng returned identical data"
log "entropy checks: not zero, gzip -9 size $gz/$size bytes, $lines/$((size / 16)) distinct 16-byte blocks, consecutive reads differ"
log "sample: $(head -c 16 /tmp/r1 | od -An -tx1 | tr -d ' \n')"
